/**
 * A small OpenADR 2.0b VTN for tests, written from the 2.0b Profile Specification (simple HTTP pull, §8 and
 * §9.1): it listens on 127.0.0.1 (plain HTTP or HTTPS with mutual certificates), answers every VEN message the
 * way the specification describes, queues VTN-initiated messages (oadrDistributeEvent, oadrCreateReport,
 * oadrCancelReport, oadrRequestReregistration, oadrCancelPartyRegistration) for the VEN's next oadrPoll, and
 * records everything the VEN sends, each message checked against the 2.0b XSDs by the `validate` hook.
 *
 * - EiRegisterParty: oadrQueryRegistration -> oadrCreatedPartyRegistration (vtnID, profile 2.0b/simpleHttp, poll
 *   frequency); oadrCreatePartyRegistration -> a venID and registrationID (the same ones when the VEN re-registers
 *   with its registrationID); oadrCancelPartyRegistration -> oadrCanceledPartyRegistration; oadrCanceledParty-
 *   Registration and oadrResponse (answers to VTN requests) -> oadrResponse.
 * - EiReport: oadrRegisterReport -> oadrRegisteredReport with the report requests `requestReports` picks (default:
 *   every rID of every metadata report, granularity = reportBack = `reportSeconds`); oadrUpdateReport ->
 *   oadrUpdatedReport; oadrCreatedReport, oadrCanceledReport -> oadrResponse.
 * - EiEvent: oadrRequestEvent -> oadrDistributeEvent with all the VEN's events; oadrCreatedEvent -> oadrResponse.
 * - EiOpt: oadrCreateOpt -> oadrCreatedOpt; oadrCancelOpt -> oadrCanceledOpt (452 for an unknown optID).
 * - OadrPoll: the next queued message, else oadrResponse; an unknown venID gets 463.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  emitOadr,
  type OadrEvent,
  type OadrMessage,
  type OadrMessageOf,
  type OadrReport,
  type OadrServiceName,
  parseOadr,
  type ReportRequest,
} from '../../../src/v2b/codec/index.ts';

const SERVICES: ReadonlySet<string> = new Set(['EiRegisterParty', 'EiEvent', 'EiReport', 'EiOpt', 'OadrPoll']);
const PATH_PREFIX = '/OpenADR2/Simple/2.0b/';
const MAX_BODY = 1024 * 1024;

export interface ReceivedMessage {
  service: OadrServiceName;
  type: OadrMessage['type'];
  message: OadrMessage;
  xml: string;
  /** XSD problems of the VEN's document (empty: valid, or no validator). */
  problems: readonly string[];
  /** The type of our answer. */
  answered: OadrMessage['type'] | `HTTP ${number}`;
}

export interface TestVen {
  venId: string;
  registrationId: string;
  venName?: string;
  /** The VEN's metadata reports (latest oadrRegisterReport). */
  metadata: OadrReport[];
  /** Report requests made to the VEN (by reportRequestID). */
  requests: Map<string, ReportRequest>;
  /** Data reports received (oadrUpdateReport). */
  updates: OadrReport[];
  /** Events as the VTN holds them (by eventID). */
  events: Map<string, OadrEvent>;
  /** eventResponses received, in order. */
  eventResponses: Array<{ eventID: string; modificationNumber: number; optType: string }>;
  /** Opts received and not cancelled (by optID). */
  opts: Map<string, OadrMessageOf<'oadrCreateOpt'>>;
  queue: OadrMessage[];
  /** The client certificate's subject CN over mutual TLS. */
  clientCn?: string;
  /** The TLS version and cipher suite the registration came over. */
  tls?: { version: string; cipher: string };
}

export interface TestVtnOptions {
  vtnId?: string;
  /** oadrRequestedOadrPollFreq, seconds. Default 1. */
  pollSeconds?: number;
  /** HTTPS with mutual TLS. */
  tls?: { key: string; cert: string; ca: string; ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' };
  /** XSD problems of a document (the VEN's messages); default none checked. */
  validate?: (xml: string) => Promise<readonly string[]> | readonly string[];
  /** Report requests for a VEN's metadata; default every rID at `reportSeconds`. */
  requestReports?: (metadata: readonly OadrReport[]) => ReportRequest[];
  /** Granularity and reportBackDuration of the default report requests, seconds. Default 1. */
  reportSeconds?: number;
  /** Before the normal handling: an HTTP status to answer with, or a message, or undefined to go on. */
  intercept?: (service: OadrServiceName, message: OadrMessage) => number | OadrMessage | undefined;
  /** Signs every answer (signOadr from the codec is passed in by the test). */
  sign?: (xml: string) => string;
}

export interface StartedTestVtn {
  /** Base URL, e.g. http://127.0.0.1:43123 (the VEN appends the 2.0b path). */
  url: string;
  port: number;
  vtnId: string;
  received: ReceivedMessage[];
  vens: Map<string, TestVen>;
  /** The only (or first) registered VEN. */
  ven(): TestVen;
  /** All XSD problems seen, with the message type. */
  problems(): string[];
  /** Types the VEN sent, in order (optionally without oadrPoll). */
  sentTypes(options?: { withPolls?: boolean }): string[];
  /** Adds or replaces an event and queues an oadrDistributeEvent with all the VEN's events. */
  putEvent(venId: string, event: OadrEvent): void;
  /** Changes an event (modificationNumber + 1) and queues a distribution. */
  modifyEvent(venId: string, eventId: string, change: (event: OadrEvent) => void): OadrEvent;
  /** Cancels an event (status cancelled, modificationNumber + 1) and queues a distribution. */
  cancelEvent(venId: string, eventId: string): void;
  /** Removes an event without telling (the VEN sees it missing from the next distribution). */
  dropEvent(venId: string, eventId: string): void;
  queue(venId: string, message: OadrMessage): void;
  close(): Promise<void>;
}

interface PeerFacts {
  cn?: string;
  tls?: { version: string; cipher: string };
}

function problemText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An OpenADR event with one signal; times epoch ms, durations seconds. */
export function testEvent(input: {
  eventId?: string;
  start: number;
  durationS: number;
  signalName?: string;
  signalType?: OadrEvent['eiEventSignals'][number]['signalType'];
  values?: readonly number[];
  marketContext?: string;
  venId?: string;
  resourceIds?: readonly string[];
  priority?: number;
  responseRequired?: 'always' | 'never';
  startafterS?: number;
  itemBase?: OadrEvent['eiEventSignals'][number]['itemBase'];
  status?: OadrEvent['eventDescriptor']['eventStatus'];
}): OadrEvent {
  const values = input.values ?? [1];
  const each = Math.max(1, Math.floor(input.durationS / values.length));
  const now = Date.now();
  return {
    eventDescriptor: {
      eventID: input.eventId ?? randomUUID(),
      modificationNumber: 0,
      modificationDateTime: now,
      priority: input.priority ?? 0,
      marketContext: input.marketContext ?? 'http://vtn.example/programs/dr',
      createdDateTime: now,
      eventStatus: input.status ?? (input.start > now ? 'far' : 'active'),
      testEvent: 'false',
    },
    eiActivePeriod: {
      dtstart: input.start,
      duration: input.durationS,
      ...(input.startafterS === undefined ? {} : { startafter: input.startafterS }),
    },
    eiEventSignals: [
      {
        intervals: values.map((value, index) => ({
          duration: index === values.length - 1 ? input.durationS - each * (values.length - 1) : each,
          uid: String(index),
          signalPayload: value,
        })),
        signalName: (input.signalName ?? 'SIMPLE') as OadrEvent['eiEventSignals'][number]['signalName'],
        signalType: input.signalType ?? 'level',
        signalID: randomUUID(),
        ...(input.itemBase === undefined ? {} : { itemBase: input.itemBase }),
      },
    ],
    eiTarget: {
      ...(input.venId === undefined ? {} : { venID: [input.venId] }),
      ...(input.resourceIds === undefined ? {} : { resourceID: [...input.resourceIds] }),
    },
    oadrResponseRequired: input.responseRequired ?? 'always',
  };
}

export async function startTestVtn(options: TestVtnOptions = {}): Promise<StartedTestVtn> {
  const vtnId = options.vtnId ?? 'TEST_VTN';
  const pollSeconds = options.pollSeconds ?? 1;
  const received: ReceivedMessage[] = [];
  const vens = new Map<string, TestVen>();
  let counter = 0;

  const ok = (requestID: string) => ({ responseCode: 200, responseDescription: 'OK', requestID });
  const fail = (code: number, description: string, requestID: string) => ({
    responseCode: code,
    responseDescription: description,
    requestID,
  });
  const distribution = (ven: TestVen, requestID?: string): OadrMessageOf<'oadrDistributeEvent'> => ({
    type: 'oadrDistributeEvent',
    ...(requestID === undefined ? {} : { eiResponse: ok(requestID) }),
    requestID: randomUUID(),
    vtnID: vtnId,
    oadrEvent: [...ven.events.values()].map((e) => structuredClone(e)),
  });
  const defaultRequests = (metadata: readonly OadrReport[]): ReportRequest[] =>
    metadata.map((report) => ({
      reportRequestID: randomUUID(),
      reportSpecifier: {
        reportSpecifierID: report.reportSpecifierID,
        granularity: options.reportSeconds ?? 1,
        reportBackDuration: options.reportSeconds ?? 1,
        specifierPayload: (report.oadrReportDescription ?? []).map((d) => ({ rID: d.rID, readingType: d.readingType })),
      },
    }));

  function venOf(venID: string | undefined): TestVen | undefined {
    return venID === undefined ? undefined : vens.get(venID);
  }

  function handle(service: OadrServiceName, message: OadrMessage, peer: PeerFacts): OadrMessage {
    switch (message.type) {
      case 'oadrQueryRegistration':
        return {
          type: 'oadrCreatedPartyRegistration',
          eiResponse: ok(message.requestID),
          vtnID: vtnId,
          oadrProfiles: [{ oadrProfileName: '2.0b', oadrTransports: ['simpleHttp'] }],
          oadrRequestedOadrPollFreq: pollSeconds,
        };
      case 'oadrCreatePartyRegistration': {
        let ven = [...vens.values()].find(
          (v) => message.registrationID !== undefined && v.registrationId === message.registrationID,
        );
        if (ven === undefined) {
          counter++;
          const venId = `VEN_${String(counter).padStart(4, '0')}`;
          ven = {
            venId,
            registrationId: `REG_${String(counter).padStart(4, '0')}`,
            metadata: [],
            requests: new Map(),
            updates: [],
            events: new Map(),
            eventResponses: [],
            opts: new Map(),
            queue: [],
          };
          vens.set(venId, ven);
        } else ven.requests.clear(); // re-registration: report requests start again
        if (message.oadrVenName !== undefined) ven.venName = message.oadrVenName;
        if (peer.cn !== undefined) ven.clientCn = peer.cn;
        if (peer.tls !== undefined) ven.tls = peer.tls;
        return {
          type: 'oadrCreatedPartyRegistration',
          eiResponse: ok(message.requestID),
          registrationID: ven.registrationId,
          venID: ven.venId,
          vtnID: vtnId,
          oadrProfiles: [{ oadrProfileName: '2.0b', oadrTransports: ['simpleHttp'] }],
          oadrRequestedOadrPollFreq: pollSeconds,
        };
      }
      case 'oadrCancelPartyRegistration': {
        const ven = venOf(message.venID);
        if (ven === undefined || ven.registrationId !== message.registrationID)
          return {
            type: 'oadrCanceledPartyRegistration',
            eiResponse: fail(452, 'unknown registration', message.requestID),
          };
        vens.delete(ven.venId);
        return {
          type: 'oadrCanceledPartyRegistration',
          eiResponse: ok(message.requestID),
          registrationID: ven.registrationId,
          venID: ven.venId,
        };
      }
      case 'oadrPoll': {
        const ven = venOf(message.venID);
        if (ven === undefined)
          return { type: 'oadrResponse', eiResponse: fail(463, 'not registered', ''), venID: message.venID };
        return ven.queue.shift() ?? { type: 'oadrResponse', eiResponse: ok(''), venID: ven.venId };
      }
      case 'oadrRegisterReport': {
        const ven = venOf(message.venID);
        if (ven === undefined)
          return { type: 'oadrRegisteredReport', eiResponse: fail(463, 'not registered', message.requestID) };
        ven.metadata = message.oadrReport ?? [];
        const requests = (options.requestReports ?? defaultRequests)(ven.metadata);
        for (const request of requests) ven.requests.set(request.reportRequestID, request);
        return {
          type: 'oadrRegisteredReport',
          eiResponse: ok(message.requestID),
          ...(requests.length > 0 ? { oadrReportRequest: requests } : {}),
          venID: ven.venId,
        };
      }
      case 'oadrUpdateReport': {
        const ven = venOf(message.venID);
        if (ven === undefined)
          return { type: 'oadrUpdatedReport', eiResponse: fail(463, 'not registered', message.requestID) };
        ven.updates.push(...(message.oadrReport ?? []));
        return { type: 'oadrUpdatedReport', eiResponse: ok(message.requestID), venID: ven.venId };
      }
      case 'oadrRequestEvent': {
        const ven = venOf(message.venID);
        if (ven === undefined)
          return { type: 'oadrResponse', eiResponse: fail(463, 'not registered', message.requestID) };
        return distribution(ven, message.requestID);
      }
      case 'oadrCreatedEvent': {
        const ven = venOf(message.venID);
        if (ven === undefined)
          return { type: 'oadrResponse', eiResponse: fail(463, 'not registered', message.eiResponse.requestID) };
        for (const response of message.eventResponses ?? [])
          ven.eventResponses.push({ ...response.qualifiedEventID, optType: response.optType });
        return { type: 'oadrResponse', eiResponse: ok(message.eiResponse.requestID), venID: ven.venId };
      }
      case 'oadrCreateOpt': {
        const ven = venOf(message.venID);
        if (ven === undefined)
          return {
            type: 'oadrCreatedOpt',
            eiResponse: fail(463, 'not registered', message.requestID),
            optID: message.optID,
          };
        ven.opts.set(message.optID, message);
        return { type: 'oadrCreatedOpt', eiResponse: ok(message.requestID), optID: message.optID };
      }
      case 'oadrCancelOpt': {
        const ven = venOf(message.venID);
        if (ven === undefined || !ven.opts.delete(message.optID))
          return {
            type: 'oadrCanceledOpt',
            eiResponse: fail(452, 'unknown optID', message.requestID),
            optID: message.optID,
          };
        return { type: 'oadrCanceledOpt', eiResponse: ok(message.requestID), optID: message.optID };
      }
      case 'oadrCreatedReport':
      case 'oadrCanceledReport':
      case 'oadrCanceledPartyRegistration':
      case 'oadrResponse':
      case 'oadrRegisteredReport':
      case 'oadrUpdatedReport': {
        if (message.type === 'oadrCanceledPartyRegistration' && message.eiResponse.responseCode === 200) {
          const ven = venOf(message.venID);
          if (ven !== undefined) vens.delete(ven.venId);
        }
        const requestID = message.eiResponse.requestID;
        return { type: 'oadrResponse', eiResponse: ok(requestID), ...(message.venID ? { venID: message.venID } : {}) };
      }
      default:
        return { type: 'oadrResponse', eiResponse: fail(451, `${message.type} not allowed on ${service}`, '') };
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, body = '') => {
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const path = req.url ?? '';
    const service = path.startsWith(PATH_PREFIX) ? path.slice(PATH_PREFIX.length) : '';
    if (req.method !== 'POST' || !SERVICES.has(service)) return answer(404);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) return answer(413);
      chunks.push(chunk as Buffer);
    }
    const xml = Buffer.concat(chunks).toString('utf8');
    let message: OadrMessage;
    try {
      message = parseOadr(xml);
    } catch {
      return answer(400);
    }
    let problems: readonly string[] = [];
    try {
      problems = options.validate === undefined ? [] : await options.validate(xml);
    } catch (error) {
      problems = [problemText(error)];
    }
    const socket = req.socket as {
      getPeerCertificate?: () => { subject?: { CN?: string } };
      getCipher?: () => { name: string; version: string };
      getProtocol?: () => string | null;
    };
    const cipher = socket.getCipher?.();
    const peer: PeerFacts = {
      ...(socket.getPeerCertificate?.()?.subject?.CN === undefined
        ? {}
        : { cn: socket.getPeerCertificate?.()?.subject?.CN }),
      ...(cipher === undefined
        ? {}
        : { tls: { version: socket.getProtocol?.() ?? cipher.version, cipher: cipher.name } }),
    };
    const record: ReceivedMessage = {
      service: service as OadrServiceName,
      type: message.type,
      message,
      xml,
      problems,
      answered: 'oadrResponse',
    };
    received.push(record);
    const intercepted = options.intercept?.(service as OadrServiceName, message);
    if (typeof intercepted === 'number') {
      record.answered = `HTTP ${intercepted}`;
      return answer(intercepted);
    }
    const reply = intercepted ?? handle(service as OadrServiceName, message, peer);
    record.answered = reply.type;
    let body = emitOadr(reply);
    if (options.sign !== undefined) body = options.sign(body);
    answer(200, body);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const tls = options.tls;
  const server: Server = tls
    ? createHttpsServer(
        {
          key: tls.key,
          cert: tls.cert,
          ca: tls.ca,
          requestCert: true,
          rejectUnauthorized: true,
          ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
          ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
        },
        listener,
      )
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const venOrThrow = (venId: string): TestVen => {
    const ven = vens.get(venId);
    if (ven === undefined) throw new Error(`no VEN ${venId}`);
    return ven;
  };
  const queueDistribution = (ven: TestVen) => ven.queue.push(distribution(ven));

  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    vtnId,
    received,
    vens,
    ven() {
      const first = vens.values().next();
      if (first.done) throw new Error('no VEN registered');
      return first.value;
    },
    problems() {
      return received.flatMap((r) => r.problems.map((p) => `${r.type}: ${p}`));
    },
    sentTypes(opts = {}) {
      return received.map((r) => r.type).filter((t) => opts.withPolls === true || t !== 'oadrPoll');
    },
    putEvent(venId, event) {
      const ven = venOrThrow(venId);
      ven.events.set(event.eventDescriptor.eventID, structuredClone(event));
      queueDistribution(ven);
    },
    modifyEvent(venId, eventId, change) {
      const ven = venOrThrow(venId);
      const event = ven.events.get(eventId);
      if (event === undefined) throw new Error(`no event ${eventId}`);
      change(event);
      event.eventDescriptor.modificationNumber += 1;
      event.eventDescriptor.modificationDateTime = Date.now();
      queueDistribution(ven);
      return structuredClone(event);
    },
    cancelEvent(venId, eventId) {
      const ven = venOrThrow(venId);
      const event = ven.events.get(eventId);
      if (event === undefined) throw new Error(`no event ${eventId}`);
      event.eventDescriptor.eventStatus = 'cancelled';
      event.eventDescriptor.modificationNumber += 1;
      event.eventDescriptor.modificationDateTime = Date.now();
      queueDistribution(ven);
    },
    dropEvent(venId, eventId) {
      venOrThrow(venId).events.delete(eventId);
    },
    queue(venId, message) {
      venOrThrow(venId).queue.push(message);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
