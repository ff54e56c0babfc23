/**
 * The OpenADR benchmark's load generator, run as a child process (its own event loop and core), over
 * node:http with one keep-alive `http.Agent` per server (at most `clients` sockets, one request in flight each).
 *
 * Set-up of a VTN, all through its API (not timed as load):
 * - the BL client trades its credentials for a token (POST /auth/token, client credentials);
 * - BL creates one program and four events: three targeted at FLEET_GROUP (a SIMPLE level, four PRICE
 *   intervals, an EXPORT_CAPACITY_LIMIT; each asks for USAGE reports), one at OTHER_GROUP;
 * - BL creates the ven object of each of the N VENs (3.1.0 BL_VEN_REQUEST with the VEN's clientID; both
 *   versions with the target FLEET_GROUP), so each VEN is granted the fleet's events and not the other one;
 * - each VEN trades its own client id and secret for its own token;
 * - VEN 1 and VEN N read GET /events (they must see exactly the three fleet events, byte for byte the same)
 *   and VEN 1 posts one report: those answers are the floor's bytes.
 *
 * A round: `clients` loops, each taking the next VEN (one shared cursor, so the run cycles through every VEN's
 * token) and doing the VEN's next request: GET /events?skip=0&limit=50 (what the project's VEN sends) or, every
 * (pollsPerReport + 1)-th request overall, POST /reports with a small USAGE report for one of its events.
 * Latency is measured here, from the request call to the last byte of the answer. A poll must answer 200 with
 * exactly the captured bytes, a report 201; anything else is an error.
 */
import http from 'node:http';
import type { RecordableHistogram } from 'node:perf_hooks';
import { performance } from 'node:perf_hooks';
import { latencyHistogram, loopDelayMonitor, loopDelayOf, percentilesOf, serveParent } from '../ocpp/protocol.ts';
import {
  BL_CLIENT_ID,
  clientSecret,
  FLEET_GROUP,
  type LoadCommand,
  type LoadMessage,
  type LoadSettings,
  OTHER_GROUP,
  type RoundDone,
  type SetupDone,
  type TargetKind,
  VISIBLE_EVENTS,
  venClientId,
  venName,
} from './protocol.ts';

const settings = JSON.parse(process.argv[2] ?? '{}') as LoadSettings;
const version = settings.version;
const EVENTS_PATH = '/events?skip=0&limit=50';
type JsonObject = Record<string, unknown>;

interface Answer {
  status: number;
  body: Buffer;
  contentType: string;
}

class HttpError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

/** One server: where it is, its agent, and what every VEN sends to it. */
interface Target {
  url: URL;
  /** The base path without a trailing slash. */
  basePath: string;
  agent: http.Agent;
  /** Per VEN: the headers of a poll and of a report, and the report body. */
  pollHeaders: http.OutgoingHttpHeaders[];
  reportHeaders: http.OutgoingHttpHeaders[];
  reportBodies: string[];
  expectedEvents: Buffer;
  histograms: { all: RecordableHistogram; polls: RecordableHistogram; reports: RecordableHistogram };
}

const targets = new Map<TargetKind, Target>();

function newAgent(): http.Agent {
  const sockets = Math.max(settings.clients, settings.setupConcurrency);
  return new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

function send(
  target: { url: URL; agent: http.Agent; basePath: string },
  method: string,
  path: string,
  headers: http.OutgoingHttpHeaders,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent: target.agent,
        hostname: target.url.hostname,
        port: target.url.port,
        method,
        path: `${target.basePath}${path}`,
        headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
            contentType: String(response.headers['content-type'] ?? ''),
          }),
        );
        response.on('error', (error) => reject(new HttpError('network', error.message)));
      },
    );
    request.setTimeout(settings.requestTimeoutMs, () =>
      request.destroy(new HttpError('timeout', `no answer within ${settings.requestTimeoutMs} ms`)),
    );
    request.on('error', (error) =>
      reject(error instanceof HttpError ? error : new HttpError('network', `${error.message}`)),
    );
    request.end(body);
  });
}

function jsonHeaders(token: string, body: string): http.OutgoingHttpHeaders {
  return {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
}

async function expectJson(answer: Answer, status: number, what: string): Promise<JsonObject> {
  if (answer.status !== status)
    throw new Error(`${what}: expected ${status}, got ${answer.status}: ${answer.body.toString('utf8').slice(0, 500)}`);
  return JSON.parse(answer.body.toString('utf8')) as JsonObject;
}

/** Runs work(0..count-1) with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

function targetsOf(values: string[]): unknown[] {
  return version === '3.1.0' ? values : [{ type: 'GROUP', values }];
}

async function token(target: Pick<Target, 'url' | 'agent' | 'basePath'>, clientId: string): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret(settings.secret, clientId),
  }).toString();
  const answer = await send(
    target,
    'POST',
    '/auth/token',
    { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
    form,
  );
  const body = await expectJson(answer, 200, `token for ${clientId}`);
  if (typeof body.access_token !== 'string') throw new Error(`token for ${clientId}: no access_token`);
  return body.access_token;
}

function eventBodies(programID: string): JsonObject[] {
  const hour = 3600_000;
  const start = new Date(Math.ceil(Date.now() / hour) * hour);
  const at = (hours: number) => new Date(start.getTime() + hours * hour).toISOString().replace('.000Z', 'Z');
  const reportDescriptors = [{ payloadType: 'USAGE', readingType: 'DIRECT_READ', units: 'KWH' }];
  return [
    {
      programID,
      eventName: 'bench-level',
      priority: 1,
      targets: targetsOf([FLEET_GROUP]),
      reportDescriptors,
      intervalPeriod: { start: at(1), duration: 'PT2H' },
      intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: [2] }] }],
    },
    {
      programID,
      eventName: 'bench-price',
      priority: 2,
      targets: targetsOf([FLEET_GROUP]),
      reportDescriptors,
      payloadDescriptors: [
        { objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'PRICE', units: 'KWH', currency: 'USD' },
      ],
      intervalPeriod: { start: at(4), duration: 'PT15M' },
      intervals: [0.21, 0.34, 0.47, 0.29].map((price, id) => ({ id, payloads: [{ type: 'PRICE', values: [price] }] })),
    },
    {
      programID,
      eventName: 'bench-export-limit',
      priority: 3,
      targets: targetsOf([FLEET_GROUP]),
      reportDescriptors,
      intervalPeriod: { start: at(8), duration: 'PT1H' },
      intervals: [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [5] }] }],
    },
    {
      programID,
      eventName: 'bench-elsewhere',
      targets: targetsOf([OTHER_GROUP]),
      intervalPeriod: { start: at(1), duration: 'PT1H' },
      intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] }],
    },
  ];
}

function reportBody(index: number, event: JsonObject): string {
  const report: JsonObject = {
    ...(version === '3.0.1' ? { programID: event.programID } : {}),
    eventID: event.id,
    clientName: venName(index),
    reportName: 'bench-usage',
    resources: [
      {
        resourceName: 'site-meter',
        intervalPeriod: { start: (event.intervalPeriod as JsonObject).start, duration: 'PT15M' },
        intervals: [
          { id: 0, payloads: [{ type: 'USAGE', values: [Math.round((1 + (index % 97) / 10) * 100) / 100] }] },
        ],
      },
    ],
  };
  return JSON.stringify(report);
}

function newHistograms(): Target['histograms'] {
  return { all: latencyHistogram(), polls: latencyHistogram(), reports: latencyHistogram() };
}

async function setup(kind: TargetKind, url: string): Promise<SetupDone> {
  const parsed = new URL(url);
  const base = { url: parsed, agent: newAgent(), basePath: parsed.pathname.replace(/\/+$/, '') };
  const phases: SetupDone['phases'] = [];
  const phase = async <T>(name: string, requests: number, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    phases.push({ name, ms: performance.now() - started, requests });
    return result;
  };
  const blToken = await phase('BL token', 1, () => token(base, BL_CLIENT_ID));
  const blJson = (method: string, path: string, body: unknown) => {
    const text = JSON.stringify(body);
    return send(base, method, path, jsonHeaders(blToken, text), text);
  };
  const events = await phase('program and events', 5, async () => {
    const program = await expectJson(
      await blJson('POST', '/programs', { programName: 'bench-program', targets: targetsOf([FLEET_GROUP]) }),
      201,
      'POST /programs',
    );
    const created: JsonObject[] = [];
    for (const body of eventBodies(String(program.id)))
      created.push(await expectJson(await blJson('POST', '/events', body), 201, `POST /events ${body.eventName}`));
    return created;
  });
  const visible = events.slice(0, VISIBLE_EVENTS);
  await phase(`vens created by BL (${settings.setupConcurrency} at a time)`, settings.vens, () =>
    pool(settings.vens, settings.setupConcurrency, async (i) => {
      const body =
        version === '3.1.0'
          ? { objectType: 'BL_VEN_REQUEST', venName: venName(i), clientID: venClientId(i), targets: [FLEET_GROUP] }
          : { venName: venName(i), targets: targetsOf([FLEET_GROUP]) };
      await expectJson(await blJson('POST', '/vens', body), 201, `POST /vens ${venName(i)}`);
    }),
  );
  const tokens: string[] = new Array(settings.vens);
  await phase(`VEN tokens (${settings.setupConcurrency} at a time)`, settings.vens, () =>
    pool(settings.vens, settings.setupConcurrency, async (i) => {
      tokens[i] = await token(base, venClientId(i));
    }),
  );
  const pollHeaders = tokens.map((t) => ({ authorization: `Bearer ${t}` }));
  const reportBodies = tokens.map((_, i) => reportBody(i, visible[i % visible.length] as JsonObject));
  const reportHeaders = tokens.map((t, i) => jsonHeaders(t, reportBodies[i] as string));

  const captured = await phase('capture', 3, async () => {
    const first = await send(base, 'GET', EVENTS_PATH, pollHeaders[0] as http.OutgoingHttpHeaders);
    const seen = (await expectJson(first, 200, 'GET /events as VEN 1')) as unknown as JsonObject[];
    const seenIds = seen.map((event) => String(event.id));
    const wanted = visible.map((event) => String(event.id));
    if (seenIds.join() !== wanted.join())
      throw new Error(`VEN 1 sees events ${seenIds.join()} instead of the fleet's ${wanted.join()}`);
    const last = await send(base, 'GET', EVENTS_PATH, pollHeaders[settings.vens - 1] as http.OutgoingHttpHeaders);
    if (last.status !== 200 || !last.body.equals(first.body))
      throw new Error(`VEN ${settings.vens} does not see the bytes VEN 1 sees (status ${last.status})`);
    const report = await send(
      base,
      'POST',
      '/reports',
      reportHeaders[0] as http.OutgoingHttpHeaders,
      reportBodies[0] as string,
    );
    await expectJson(report, 201, 'POST /reports as VEN 1');
    return { events: first, report, wanted };
  });
  targets.set(kind, {
    ...base,
    pollHeaders,
    reportHeaders,
    reportBodies,
    expectedEvents: captured.events.body,
    histograms: newHistograms(),
  });
  return {
    type: 'setup-done',
    target: kind,
    phases,
    eventsBody: captured.events.body.toString('utf8'),
    reportBody: captured.report.body.toString('utf8'),
    contentType: captured.events.contentType,
    visibleEventIds: captured.wanted,
    basePath: base.basePath,
  };
}

async function round(kind: TargetKind, seconds: number, record: boolean): Promise<RoundDone> {
  const target = targets.get(kind);
  if (target === undefined) throw new Error(`no target ${kind} set up`);
  const cycle = settings.pollsPerReport + 1;
  const used = new Uint8Array(settings.vens);
  const errorKinds: Record<string, number> = {};
  let firstError: string | undefined;
  let polls = 0;
  let reports = 0;
  let errors = 0;
  let created = 0;
  let cursor = 0;
  let sequence = 0;
  const error = (what: string, message: string) => {
    errors++;
    errorKinds[what] = (errorKinds[what] ?? 0) + 1;
    firstError ??= `${what}: ${message.slice(0, 300)}`;
  };
  const loopDelay = loopDelayMonitor();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const ven = cursor;
      cursor = (cursor + 1) % settings.vens;
      used[ven] = 1;
      const isReport = sequence++ % cycle === settings.pollsPerReport;
      const sent = performance.now();
      try {
        const answer = isReport
          ? await send(
              target,
              'POST',
              '/reports',
              target.reportHeaders[ven] as http.OutgoingHttpHeaders,
              target.reportBodies[ven],
            )
          : await send(target, 'GET', EVENTS_PATH, target.pollHeaders[ven] as http.OutgoingHttpHeaders);
        const done = performance.now();
        if (answer.status !== (isReport ? 201 : 200)) {
          error(
            String(answer.status),
            `${isReport ? 'POST /reports' : 'GET /events'}: ${answer.body.toString('utf8')}`,
          );
          continue;
        }
        if (isReport) created++;
        if (!isReport && !answer.body.equals(target.expectedEvents)) {
          error('body', `GET /events as ${venName(ven)}: other bytes than VEN 1's (${answer.body.length} bytes)`);
          continue;
        }
        if (done > deadline) continue;
        if (isReport) reports++;
        else polls++;
        if (record) {
          const micros = Math.max(1, Math.round((done - sent) * 1000));
          target.histograms.all.record(micros);
          (isReport ? target.histograms.reports : target.histograms.polls).record(micros);
        }
      } catch (failure) {
        error(
          failure instanceof HttpError ? failure.kind : 'network',
          failure instanceof Error ? failure.message : String(failure),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: settings.clients }, client));
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuStart);
  let vensUsed = 0;
  for (const flag of used) vensUsed += flag;
  return {
    type: 'round-done',
    target: kind,
    ms: Math.min(performance.now(), deadline) - start,
    polls,
    reports,
    errors,
    reportsCreated: created,
    errorKinds,
    ...(firstError === undefined ? {} : { firstError }),
    loopDelay: loopDelayOf(loopDelay),
    cpuMicros: cpu.user + cpu.system,
    vensUsed,
  };
}

serveParent<LoadCommand, LoadMessage>(async (command) => {
  switch (command.type) {
    case 'setup':
      return setup(command.target, command.url);
    case 'alias': {
      const source = targets.get(command.as);
      if (source === undefined) throw new Error(`no target ${command.as} to alias`);
      const url = new URL(command.url);
      targets.set(command.target, {
        ...source,
        url,
        basePath: url.pathname.replace(/\/+$/, ''),
        agent: newAgent(),
        histograms: newHistograms(),
      });
      return undefined;
    }
    case 'round':
      return round(command.target, command.seconds, command.record);
    case 'summary': {
      const target = targets.get(command.target);
      if (target === undefined) throw new Error(`no target ${command.target}`);
      return {
        type: 'summary',
        target: command.target,
        all: percentilesOf(target.histograms.all),
        polls: percentilesOf(target.histograms.polls),
        reports: percentilesOf(target.histograms.reports),
      };
    }
    case 'close':
      for (const target of targets.values()) target.agent.destroy();
      return { type: 'closed' };
  }
});
