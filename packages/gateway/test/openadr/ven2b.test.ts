/**
 * End to end over real sockets on 127.0.0.1: the 2.0b test VTN (packages/openadr/test/v2b/support, plain HTTP,
 * every VEN message checked against the XSDs when xmllint is there), a SunSpec simulator (PV, battery and the
 * site meter, held at noon) and startGateway with the sunspec devices and a `utility.openadr2b` section. A SIMPLE
 * level-2 event of the configured program (level 2 = site export limit 200 W) becomes a canonical ProgramEvent
 * for the enrolled site, is answered optIn once, and the control engine writes the devices (read back with the
 * SunSpec scanner); TELEMETRY_USAGE and TELEMETRY_STATUS reports of the site reach the VTN; an opt-out through
 * EiOpt makes the event 'opted-out'; a cancellation makes another 'cancelled'; a restart answers nothing twice.
 * Every wait is a bounded poll.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Oadr2b, OadrMessage } from '@gridseam/openadr';
import type { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { type GatewayConfig, parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { readPoints, waitFor } from '../seams/support.ts';
import { oneSiteGatewayYaml, startSiteSimulator } from './support.ts';

/** The parts of the openadr package's test VTN used here (loaded at run time: it lives in that package's tests). */
interface TestVen {
  venId: string;
  eventResponses: Array<{ eventID: string; modificationNumber: number; optType: string }>;
  updates: Array<{
    reportName?: string;
    intervals?: Array<{
      oadrReportPayload: Array<{ rID: string; payload: { kind: string; value?: number; oadrOnline?: boolean } }>;
    }>;
  }>;
  opts: Map<string, { optType: string; qualifiedEventID?: { eventID: string } }>;
}
interface TestVtn {
  url: string;
  received: Array<{ type: OadrMessage['type'] }>;
  ven(): TestVen;
  problems(): string[];
  putEvent(venId: string, event: Oadr2b.OadrEvent): void;
  cancelEvent(venId: string, eventId: string): void;
  close(): Promise<void>;
}
interface TestVtnModule {
  startTestVtn(options: {
    reportSeconds?: number;
    pollSeconds?: number;
    validate?: (xml: string) => readonly string[];
  }): Promise<TestVtn>;
  testEvent(input: {
    eventId: string;
    start: number;
    durationS: number;
    values: number[];
    marketContext: string;
  }): Oadr2b.OadrEvent;
}
interface XsdModule {
  xsdValidator(): Promise<((xml: string) => readonly string[]) | undefined>;
}

const SUPPORT = resolve(import.meta.dirname, '../../../openadr/test/v2b/support');
const PROGRAM = 'http://vtn.example/programs/dr';
const CONTROL_MODELS = [123, 124, 704];

function changed(before: Map<string, unknown>, now: Map<string, unknown>): string[] {
  return [...now.keys()].filter((key) => JSON.stringify(before.get(key)) !== JSON.stringify(now.get(key)));
}

describe('OpenADR 2.0b seam: test VTN -> gateway -> SunSpec devices, reports back', () => {
  const temp = useTempDir('gridseam-oadr2b-');
  let vtn: TestVtn;
  let support: TestVtnModule;
  let simulator: SunSpecSimulator;
  let modbusPort: number;
  let gateway: Gateway;
  let config: GatewayConfig;

  const start = () => startGateway(config, { logger: createLogger({ level: 'silent' }), controlPeriodMs: 1000 });

  before(async () => {
    support = (await import(pathToFileURL(join(SUPPORT, 'test-vtn.ts')).href)) as TestVtnModule;
    const xsd = (await import(pathToFileURL(join(SUPPORT, 'xsd.ts')).href)) as XsdModule;
    const validate = await xsd.xsdValidator();
    vtn = await support.startTestVtn({ reportSeconds: 1, ...(validate ? { validate } : {}) });
    ({ simulator, port: modbusPort } = await startSiteSimulator());
    config = parseConfig(
      oneSiteGatewayYaml(
        modbusPort,
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
    gateway = await start();
  });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
    await vtn?.close();
  });

  test('a SIMPLE event reaches the registers, is answered once, reports reach the VTN; opt-out, cancel, restart', async () => {
    const seam = gateway.openadr2b;
    assert.ok(seam, 'the seam runs');
    const venId = seam.ven.registration()?.venId;
    assert.equal(venId, vtn.ven().venId, 'the VEN registered');
    const programId = seam.programs().get(PROGRAM);
    assert.ok(programId);
    const program = await gateway.store.programs.get(programId);
    assert.equal(program?.source, 'openadr2b');
    assert.equal(program?.primacy, 20);

    await waitFor(async () => {
      for (const id of ['pv-1', 'bat-1', 'meter-1'])
        if (!(await gateway.store.telemetry.latest(id)).some((r) => r.measurand === 'activePower')) return undefined;
      return true;
    }, 'telemetry of the PV, the battery and the meter');
    const before = new Map([
      [1, await readPoints(modbusPort, 1, CONTROL_MODELS)],
      [2, await readPoints(modbusPort, 2, CONTROL_MODELS)],
    ]);

    vtn.putEvent(
      venId,
      support.testEvent({
        eventId: 'dr-1',
        start: Date.now() + 1000,
        durationS: 600,
        values: [2],
        marketContext: PROGRAM,
      }),
    );
    const event = await waitFor(
      () => gateway.store.events.getByExternalId('openadr2b', 'dr-1'),
      'the ProgramEvent of the 2.0b event',
    );
    assert.equal(event.id, 'oadr2b.dr-1');
    assert.equal(event.programId, programId);
    assert.deepEqual(event.targets, {}, 'no target: the enrolled site');
    assert.deepEqual(event.intervals[0]?.signals, [
      { kind: 'simpleLevel', value: 2, unit: 'level' },
      { kind: 'exportLimit', value: 200 },
    ]);

    const diff = await waitFor(async () => {
      const out: string[] = [];
      for (const unit of [1, 2])
        out.push(
          ...changed(before.get(unit) ?? new Map(), await readPoints(modbusPort, unit, CONTROL_MODELS)).map(
            (key) => `unit ${unit}: ${key}`,
          ),
        );
      return out.length > 0 ? out : undefined;
    }, 'a control register of the PV or the battery to change');
    assert.ok(diff.length > 0);
    const commands = await waitFor(async () => {
      const all = [
        ...(await gateway.store.commands.list({ deviceId: 'pv-1' })),
        ...(await gateway.store.commands.list({ deviceId: 'bat-1' })),
      ].filter((c) => c.setpoint.source.ref === event.id);
      return all.some((c) => c.status === 'confirmed') ? all : undefined;
    }, 'a confirmed engine command for the event');
    assert.ok(commands.every((c) => c.setpoint.source.kind === 'program'));
    assert.deepEqual(
      vtn.ven().eventResponses.filter((r) => r.eventID === 'dr-1'),
      [{ eventID: 'dr-1', modificationNumber: 0, optType: 'optIn' }],
    );

    // Reports: the site's usage (W) and status.
    const usage = await waitFor(() => {
      const update = vtn.ven().updates.find((u) => u.reportName === 'TELEMETRY_USAGE');
      return update?.intervals?.[0]?.oadrReportPayload[0];
    }, 'a TELEMETRY_USAGE report');
    assert.equal(usage.rID, 'site-1:usage');
    assert.equal(usage.payload.kind, 'payloadFloat');
    assert.equal(typeof usage.payload.value, 'number');
    // The first status may have been sampled before the first poll of the devices: the latest counts.
    const status = await waitFor(() => {
      const update = vtn
        .ven()
        .updates.filter((u) => u.reportName === 'TELEMETRY_STATUS')
        .at(-1);
      const payload = update?.intervals?.[0]?.oadrReportPayload[0];
      return payload?.payload.kind === 'oadrPayloadResourceStatus' &&
        'oadrOnline' in payload.payload &&
        payload.payload.oadrOnline === true
        ? payload
        : undefined;
    }, 'a TELEMETRY_STATUS report of the site online');
    assert.equal(status.rID, 'site-1:status');
    assert.deepEqual(status.payload, {
      kind: 'oadrPayloadResourceStatus',
      oadrOnline: true,
      oadrManualOverride: false,
    });
    assert.ok(seam.reportsSent().length > 0);

    // Opt out through EiOpt: the event is opted out in the canonical model.
    const opt = await seam.ven.optEvent('dr-1', 'optOut', 'emergency');
    assert.equal(vtn.ven().opts.get(opt.optId)?.qualifiedEventID?.eventID, 'dr-1');
    const optedOut = await waitFor(async () => {
      const stored = await gateway.store.events.get(event.id);
      return stored?.status === 'opted-out' ? stored : undefined;
    }, 'the event to be opted out');
    assert.match(optedOut.statusHistory.at(-1)?.reason ?? '', /opted out/);

    // A second event, cancelled by the VTN.
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
    await waitFor(() => gateway.store.events.getByExternalId('openadr2b', 'dr-2'), 'the second event');
    vtn.cancelEvent(venId, 'dr-2');
    const cancelled = await waitFor(async () => {
      const stored = await gateway.store.events.getByExternalId('openadr2b', 'dr-2');
      return stored?.status === 'cancelled' ? stored : undefined;
    }, 'the second event to be cancelled');
    assert.match(cancelled.statusHistory.at(-1)?.reason ?? '', /cancelled/);
    await waitFor(
      () => (vtn.ven().eventResponses.filter((r) => r.eventID === 'dr-2').length === 2 ? true : undefined),
      'the cancellation answered',
    );

    // Restart: the VEN's state is in the store; nothing is answered twice.
    const answered = vtn.ven().eventResponses.length;
    await gateway.close();
    gateway = await start();
    const restarted = gateway.openadr2b;
    assert.ok(restarted);
    assert.equal(restarted.ven.registration()?.venId, venId, 'the same registration');
    await restarted.ven.pollNow();
    await restarted.ven.pollNow();
    assert.equal(vtn.ven().eventResponses.length, answered, 'no oadrCreatedEvent repeated after the restart');
    assert.equal(restarted.ven.event('dr-1')?.optType, 'optOut', 'the per-event opt survives the restart');
    assert.equal((await gateway.store.events.get(event.id))?.status, 'opted-out');
    assert.deepEqual(vtn.problems(), [], 'every VEN message is XSD-valid');
  });
});
