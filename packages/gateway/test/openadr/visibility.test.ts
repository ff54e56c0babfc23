/**
 * An OpenADR event's effect on the fleet and the reports sent, on the operator API, over real sockets on
 * 127.0.0.1: a SunSpec simulator (PV, battery, site meter at noon), startGateway with an API token, and
 * - our OpenADR 3.1.0 VTN (createVtn): an EXPORT_CAPACITY_LIMIT event asking for reports;
 * - the 2.0b test VTN (packages/openadr/test/v2b/support): a SIMPLE level-2 event, periodic telemetry.
 * For each, GET /api/events/{id}/decisions shows the engine's decision with the devices' setpoints and
 * GET /api/events/{id}/reports the reports sent (name, span, values summary, the VTN's answer), newest
 * first, as the VTN recorded them. Every wait is a bounded poll.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Oadr2b, Vtn } from '@gridseam/openadr';
import type { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../seams/support.ts';
import { BL, oneSiteGatewayYaml, startOadr3Vtn, startSiteSimulator, VEN } from './support.ts';

const VIEWER = 'visibility-viewer-token';
const ADMIN = 'visibility-admin-token';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Row {
  seq: number;
  at: number;
  action: string;
  [key: string]: unknown;
}
interface ReportRow extends Row {
  protocol: string;
  reportName?: string;
  period?: { start: number; end: number };
  intervals: number;
  resources: string[];
  values: Record<string, { count: number; min?: number; max?: number; mean?: number; last?: unknown }>;
  sent: boolean;
  accepted: boolean;
  answer?: Record<string, unknown>;
}
interface DecisionRow extends Row {
  key: string;
  role: string;
  winner?: { ref?: string; value?: number };
  setpoints?: Array<{ deviceId: string; kind: string; value: number }>;
}

async function api<T>(address: string, path: string, token = VIEWER): Promise<{ status: number; body: T }> {
  const response = await fetch(`${address}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as T };
}

/** The one-site gateway with a viewer and an admin token. */
function gatewayYaml(modbusPort: number, utility: string): string {
  const api = `api:
  host: 127.0.0.1
  port: 0
  tokens:
    - { name: viewer, role: viewer, tokenSha256: ${sha256(VIEWER)} }
    - { name: admin, role: admin, tokenSha256: ${sha256(ADMIN)} }`;
  return oneSiteGatewayYaml(modbusPort, utility, api);
}

/** The decisions of an event until one won with device setpoints planned. */
async function decisionsWithSetpoints(gateway: Gateway, eventId: string): Promise<DecisionRow[]> {
  return waitFor(async () => {
    const { status, body } = await api<DecisionRow[]>(gateway.address, `/api/events/${eventId}/decisions`);
    assert.equal(status, 200);
    return body.some((d) => d.role === 'winner' && (d.setpoints?.length ?? 0) > 0) ? body : undefined;
  }, 'a winning decision with device setpoints');
}

/** The event's setpoints in the decision match the commands the engine issued for it (value per device). */
async function assertSetpointsAreCommands(gateway: Gateway, eventId: string, rows: readonly DecisionRow[]) {
  const won = rows.filter((d) => d.role === 'winner' && d.winner?.ref === eventId);
  assert.ok(won.length > 0, JSON.stringify(rows));
  const setpoints = won.flatMap((d) => d.setpoints ?? []);
  assert.ok(
    setpoints.every((s) => ['pv-1', 'bat-1'].includes(s.deviceId)),
    JSON.stringify(setpoints),
  );
  const commands = [
    ...(await gateway.store.commands.list({ deviceId: 'pv-1' })),
    ...(await gateway.store.commands.list({ deviceId: 'bat-1' })),
  ].filter((c) => c.setpoint.source.ref === eventId);
  for (const setpoint of setpoints)
    assert.ok(
      commands.some(
        (c) =>
          c.deviceId === setpoint.deviceId &&
          c.setpoint.kind === setpoint.kind &&
          Math.abs(c.setpoint.value - setpoint.value) < 1e-6,
      ),
      `a command for ${JSON.stringify(setpoint)}`,
    );
}

function assertNewestFirst(rows: readonly Row[]): void {
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.seq > rows[i]!.seq, 'newest first');
}

describe('OpenADR 3.1.0 event on the operator API: decisions and reports', () => {
  const temp = useTempDir('gridseam-oadr-visibility3-');
  let vtn: Vtn;
  let url: string;
  let simulator: SunSpecSimulator;
  let gateway: Gateway;

  before(async () => {
    ({ vtn, url } = await startOadr3Vtn('3.1.0', 'visibility-test-secret-of-32-bytes-or-more'));
    let port: number;
    ({ simulator, port } = await startSiteSimulator());
    const config = parseConfig(
      gatewayYaml(
        port,
        `  openadr3:
    vtnUrl: ${url}
    version: '3.1.0'
    clientId: ${VEN.clientId}
    clientSecretEnv: OADR3_VISIBILITY_SECRET
    venName: ${VEN.venName}
    pollSeconds: 0.3
    maxBackoffSeconds: 1
    programs:
      DOE: { primacy: 10, siteIds: [site-1] }
    reportIntervalSeconds: 0.5
    sampleSeconds: 0.1
`,
      ),
      join(temp.dir(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, {
      logger: createLogger({ level: 'silent' }),
      env: { OADR3_VISIBILITY_SECRET: VEN.secret },
      controlPeriodMs: 1000,
    });
  });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
    await vtn?.close();
  });

  test("an export limit's device setpoints and its reports, as the VTN got them", async () => {
    const token = vtn.issueToken(BL.clientId).accessToken;
    const call = async (method: string, path: string, json: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(json),
      });
      const body = (await response.json()) as { id: string };
      assert.equal(response.status, 201, JSON.stringify(body));
      return body;
    };
    const program = await call('POST', '/programs', { programName: 'DOE' });
    await waitFor(async () => {
      for (const id of ['pv-1', 'bat-1', 'meter-1'])
        if (!(await gateway.store.telemetry.latest(id)).some((r) => r.measurand === 'activePower')) return undefined;
      return true;
    }, 'telemetry of the three devices');
    const created = await call('POST', '/events', {
      programID: program.id,
      eventName: 'export 200 W',
      intervalPeriod: { start: new Date().toISOString(), duration: 'PT10M' },
      payloadDescriptors: [
        { objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'EXPORT_CAPACITY_LIMIT', units: 'KW' },
      ],
      intervals: [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [0.2] }] }],
      reportDescriptors: [
        { payloadType: 'READING', readingType: 'DIRECT_READ', units: 'KW', frequency: 0 },
        { payloadType: 'STORAGE_CHARGE_LEVEL', frequency: 0 },
      ],
    });
    const event = await waitFor(
      () => gateway.store.events.getByExternalId('openadr3', created.id),
      'the canonical event',
    );

    // The effect: the engine's decision for the site, with the devices' setpoints the commands carry.
    const decisions = await decisionsWithSetpoints(gateway, event.id);
    const won = decisions.find((d) => d.role === 'winner' && d.winner?.ref === event.id);
    assert.equal(won?.key, 'site:site-1|exportLimit');
    assert.equal(won?.winner?.value, 200);
    await assertSetpointsAreCommands(gateway, event.id, decisions);

    // The reports: at least two, newest first, each the one the VTN stored.
    const reports = await waitFor(async () => {
      const { status, body } = await api<ReportRow[]>(gateway.address, `/api/events/${event.id}/reports`);
      assert.equal(status, 200);
      return body.filter((r) => r.accepted).length >= 2 ? body : undefined;
    }, 'two reports on the event');
    assertNewestFirst(reports);
    const atVtn = vtn.objects('report').filter((r) => r.eventID === created.id);
    for (const row of reports.filter((r) => r.accepted)) {
      assert.equal(row.action, 'openadr3.report');
      assert.equal(row.protocol, 'openadr3');
      assert.equal(row.sent, true);
      assert.equal(row.answer?.status, 201);
      const stored = atVtn.find((r) => r.id === row.answer?.reportID);
      assert.ok(stored, `report ${String(row.answer?.reportID)} is at the VTN`);
      assert.equal(row.reportName, stored.reportName);
      assert.deepEqual(row.resources, ['site-1']);
      assert.ok(row.period && row.period.start < row.period.end, JSON.stringify(row.period));
      // The summary is the values the VTN holds.
      const held = (
        stored as unknown as {
          resources: Array<{ intervals: Array<{ payloads: Array<{ type: string; values: number[] }> }> }>;
        }
      ).resources.flatMap((r) => r.intervals.flatMap((i) => i.payloads));
      for (const type of ['READING', 'STORAGE_CHARGE_LEVEL']) {
        const values = held.filter((p) => p.type === type).flatMap((p) => p.values);
        assert.equal(row.values[type]?.count, values.length, type);
        assert.equal(row.values[type]?.min, Math.min(...values), type);
        assert.equal(row.values[type]?.max, Math.max(...values), type);
      }
    }

    const one = await api<ReportRow[]>(gateway.address, `/api/events/${event.id}/reports?limit=1`);
    assert.equal(one.body.length, 1);
    assert.ok(one.body[0]!.seq >= reports[0]!.seq, 'the newest');
    assert.equal((await api(gateway.address, `/api/events/${event.id}/reports?limit=0`)).status, 400);
    assert.equal((await api(gateway.address, `/api/events/${event.id}/reports?limit=x`)).status, 400);
    assert.equal((await api(gateway.address, '/api/events/no-such-event/reports')).status, 404);
    const anonymous = await fetch(`${gateway.address}/api/events/${event.id}/reports`);
    assert.equal(anonymous.status, 401);
  });
});

/** The parts of the openadr package's test VTN used here (loaded at run time: it lives in that package's tests). */
interface TestVtn {
  url: string;
  ven(): {
    venId: string;
    updates: Array<{
      eiReportID?: string;
      reportName?: string;
      intervals?: Array<{ oadrReportPayload: Array<{ rID: string; payload: { value?: number } }> }>;
    }>;
  };
  putEvent(venId: string, event: Oadr2b.OadrEvent): void;
  cancelEvent(venId: string, eventId: string): void;
  close(): Promise<void>;
}
interface TestVtnModule {
  startTestVtn(options: { reportSeconds?: number }): Promise<TestVtn>;
  testEvent(input: {
    eventId: string;
    start: number;
    durationS: number;
    values: number[];
    marketContext: string;
  }): Oadr2b.OadrEvent;
}

const SUPPORT = resolve(import.meta.dirname, '../../../openadr/test/v2b/support');
const PROGRAM = 'http://vtn.example/programs/dr';

describe('OpenADR 2.0b event on the operator API: decisions and the VEN reports during it', () => {
  const temp = useTempDir('gridseam-oadr-visibility2b-');
  let vtn: TestVtn;
  let support: TestVtnModule;
  let simulator: SunSpecSimulator;
  let gateway: Gateway;

  before(async () => {
    support = (await import(pathToFileURL(join(SUPPORT, 'test-vtn.ts')).href)) as TestVtnModule;
    vtn = await support.startTestVtn({ reportSeconds: 1 });
    const { simulator: started, port } = await startSiteSimulator();
    simulator = started;
    const config = parseConfig(
      gatewayYaml(
        port,
        `  openadr2b:
    vtnUrl: ${vtn.url}
    venName: gateway-1
    pollSeconds: 0.3
    retrySeconds: 0.5
    programs:
      - marketContext: ${PROGRAM}
        primacy: 20
        siteIds: [site-1]
        simpleLevels:
          '2': [{ kind: exportLimit, value: 200 }]
    reports: { minPeriodSeconds: 1, maxPeriodSeconds: 60 }
`,
      ),
      join(temp.dir(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }), controlPeriodMs: 1000 });
  });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
    await vtn?.close();
  });

  test("a SIMPLE event's device setpoints, and the telemetry reports sent while it runs", async () => {
    const venId = gateway.openadr2b?.ven.registration()?.venId;
    assert.ok(venId);
    await waitFor(async () => {
      for (const id of ['pv-1', 'bat-1', 'meter-1'])
        if (!(await gateway.store.telemetry.latest(id)).some((r) => r.measurand === 'activePower')) return undefined;
      return true;
    }, 'telemetry of the three devices');
    vtn.putEvent(
      venId,
      support.testEvent({ eventId: 'dr-1', start: Date.now(), durationS: 600, values: [2], marketContext: PROGRAM }),
    );
    const event = await waitFor(() => gateway.store.events.getByExternalId('openadr2b', 'dr-1'), 'the event');

    const decisions = await decisionsWithSetpoints(gateway, event.id);
    const won = decisions.find((d) => d.role === 'winner' && d.winner?.ref === event.id);
    assert.equal(won?.key, 'site:site-1|exportLimit');
    assert.equal(won?.winner?.value, 200);
    await assertSetpointsAreCommands(gateway, event.id, decisions);

    // Reports sent after the event started: both telemetry reports, each answered 200 by the VTN.
    const reports = await waitFor(async () => {
      const { status, body } = await api<ReportRow[]>(gateway.address, `/api/events/${event.id}/reports`);
      assert.equal(status, 200);
      const names = new Set(body.map((r) => r.reportName));
      return names.has('TELEMETRY_USAGE') && names.has('TELEMETRY_STATUS') ? body : undefined;
    }, 'a usage and a status report during the event');
    assertNewestFirst(reports);
    const sent = vtn.ven().updates;
    for (const row of reports) {
      assert.equal(row.action, 'openadr2b.report');
      assert.equal(row.protocol, 'openadr2b');
      assert.equal(row.accepted, true);
      assert.deepEqual(row.answer, { responseCode: 200, responseDescription: 'OK' });
      assert.deepEqual(row.resources, ['site-1']);
      assert.deepEqual(row.siteIds, ['site-1']);
      assert.ok(row.period && row.period.end > event.intervals[0]!.start, 'data from the event window');
      const update = sent.find((u) => u.eiReportID === row.eiReportID);
      assert.ok(update, `report ${String(row.eiReportID)} reached the VTN`);
      assert.equal(row.reportName, update.reportName);
      assert.equal(row.intervals, update.intervals?.length);
      if (row.reportName === 'TELEMETRY_USAGE') {
        const values = (update.intervals ?? []).flatMap((i) => i.oadrReportPayload.map((p) => p.payload.value ?? NaN));
        assert.equal(row.values['site-1:usage']?.count, values.length);
        assert.equal(row.values['site-1:usage']?.max, Math.max(...values));
      } else assert.deepEqual(Object.keys(row.values), ['site-1:status']);
    }

    // The same rows are the VEN's in the audit log (2.0b telemetry is the VEN's, not an event's).
    const audit = await api<Array<{ action: string; targetId: string }>>(
      gateway.address,
      '/api/audit?targetType=ven&targetId=gateway-1&limit=1000',
      ADMIN,
    );
    assert.equal(audit.status, 200);
    assert.ok(audit.body.length >= reports.length);
    assert.ok(audit.body.every((r) => r.action === 'openadr2b.report'));

    // An event cancelled before its start has no window: no report is its.
    vtn.putEvent(
      venId,
      support.testEvent({
        eventId: 'dr-2',
        start: Date.now() + 60_000,
        durationS: 600,
        values: [1],
        marketContext: PROGRAM,
      }),
    );
    const later = await waitFor(() => gateway.store.events.getByExternalId('openadr2b', 'dr-2'), 'the second event');
    vtn.cancelEvent(venId, 'dr-2');
    await waitFor(async () => {
      const stored = await gateway.store.events.get(later.id);
      return stored?.status === 'cancelled' ? stored : undefined;
    }, 'the second event cancelled');
    const none = await api<ReportRow[]>(gateway.address, `/api/events/${later.id}/reports`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, []);
  });
});
