/**
 * End to end over real sockets on 127.0.0.1: our utility server (mutual TLS, a test PKI written to a
 * temp dir, a scenario registering the gateway's certificate as an EndDevice in a program), a SunSpec
 * simulator (PV, battery and the site meter, held at noon), and startGateway with both the sunspec
 * devices and a `utility.ieee2030_5` section. The utility's admin creates an export-limit control:
 * the control becomes a ProgramEvent, the control engine writes the devices (read back here with the
 * SunSpec scanner), Responses 1, 2 and 3 reach the server in order, and DERStatus (with SoC) and the
 * mirror readings appear at the server. No timing assertions: every wait is a bounded poll.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DERStatus } from '@gridseam/ieee2030-5';
import { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { type GatewayConfig, parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import type { RunningUtilityServer } from '../../src/utility/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { noonToday, readPoints, startTestUtility, waitFor } from './support.ts';

const CONTROL_MODELS = [123, 124, 704];

/** The writable control points of a unit, read with the SunSpec scanner: "model.point" -> value. */
function controlPoints(port: number, unit: number): Promise<Map<string, unknown>> {
  return readPoints(port, unit, CONTROL_MODELS);
}

function changedPoints(before: Map<string, unknown>, now: Map<string, unknown>): string[] {
  return [...now.keys()].filter((key) => JSON.stringify(before.get(key)) !== JSON.stringify(now.get(key)));
}

describe('IEEE 2030.5 seam: utility server -> gateway -> SunSpec devices, and back', () => {
  const temp = useTempDir('gridseam-seam-2030-5-');
  let utility: RunningUtilityServer;
  let simulator: SunSpecSimulator;
  let gateway: Gateway;
  let modbusPort: number;
  let gatewayLfdi: string;
  let config: GatewayConfig;

  before(async () => {
    ({ utility, gatewayLfdi } = await startTestUtility(temp.dir()));

    // PV (unit 1), battery (unit 2) and the site meter (unit 3), at noon so the PV exports.
    simulator = new SunSpecSimulator({
      port: 0,
      profile: 'pv-inverter,battery,meter',
      count: 3,
      startTime: noonToday(),
    });
    ({ port: modbusPort } = await simulator.start());

    const gatewayFile = join(temp.dir(), 'gateway.yaml');
    config = parseConfig(
      `
store: { kind: sqlite, path: gateway.sqlite }
bus: { kind: memory }
api: { port: 0 }
telemetry: { flushIntervalMs: 20, batchSize: 100 }
log: { level: silent }
fleet:
  sites: [{ id: site-1, name: Site one }]
sunspec:
  timeoutMs: 2000
  devices:
    - { id: pv-1, siteId: site-1, host: 127.0.0.1, port: ${modbusPort}, unit: 1, pollIntervalMs: 200 }
    - { id: bat-1, siteId: site-1, host: 127.0.0.1, port: ${modbusPort}, unit: 2, pollIntervalMs: 200 }
    - { id: meter-1, siteId: site-1, host: 127.0.0.1, port: ${modbusPort}, unit: 3, pollIntervalMs: 200 }
utility:
  ieee2030_5:
    dcapUrl: https://127.0.0.1:${utility.sepPort}/dcap
    certificate: pki/clients/gateway-1.cert.pem
    key: pki/clients/gateway-1.key.pem
    ca: pki/ca.cert.pem
    mode: direct
    profile: csip-aus
    siteId: site-1
    nmi: '4102345678'
    pen: 12345
    minPollSeconds: 1
    retrySeconds: 1
    postRateSeconds: 1
    reportIntervalSeconds: 1
    timeoutMs: 5000
`,
      gatewayFile,
    );
    gateway = await start();
  });

  const start = () => startGateway(config, { logger: createLogger({ level: 'silent' }), controlPeriodMs: 1000 });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
    await utility?.close();
  });

  test('an export-limit control reaches the registers; Responses 1, 2, 3 and the reports reach the utility', async () => {
    const admin = utility.server.admin;
    const endDevice = admin.getEndDevice(gatewayLfdi);
    assert.ok(endDevice, 'the scenario registered the gateway EndDevice');
    assert.deepEqual(
      gateway.ieee2030_5?.client.endDevices().map((e) => e.lfdi),
      [gatewayLfdi],
      'direct mode: the client found its own EndDevice',
    );
    assert.equal(gateway.ieee2030_5?.sites().get(gatewayLfdi), 'site-1');

    // Wait until the site is measured (the engine allocates a site limit from the meter and the DERs).
    await waitFor(async () => {
      const ids = ['pv-1', 'bat-1', 'meter-1'];
      for (const id of ids)
        if (!(await gateway.store.telemetry.latest(id)).some((r) => r.measurand === 'activePower')) return undefined;
      return true;
    }, 'telemetry of the PV, the battery and the meter');
    const before = new Map([
      [1, await controlPoints(modbusPort, 1)],
      [2, await controlPoints(modbusPort, 2)],
    ]);

    const start = Math.floor(Date.now() / 1000) + 2;
    const { controls } = await admin.createControl({
      programId: 'doe',
      start,
      duration: 12,
      description: 'export 200 W',
      base: { opModExpLimW: { multiplier: 0, value: 200 } },
    });
    const mRID = controls[0]?.mRID;
    assert.ok(mRID);

    // The control becomes a canonical event targeting the site.
    const event = await waitFor(
      () => gateway.store.events.getByExternalId('ieee2030.5', mRID),
      'the ProgramEvent of the control',
    );
    assert.equal(event.id, `sep.${mRID}`);
    assert.deepEqual(event.targets, { siteIds: ['site-1'] });
    assert.deepEqual(event.intervals[0]?.signals, [{ kind: 'exportLimit', value: 200, unit: 'W' }]);
    assert.ok(await gateway.store.programs.get(event.programId), 'its program exists in the registry');

    // The engine writes the devices; the registers read back with the scanner show it.
    const changed = await waitFor(async () => {
      const out: string[] = [];
      for (const unit of [1, 2]) {
        const diff = changedPoints(before.get(unit) ?? new Map(), await controlPoints(modbusPort, unit));
        out.push(...diff.map((key) => `unit ${unit}: ${key}`));
      }
      return out.length > 0 ? out : undefined;
    }, 'a control register of the PV or the battery to change');
    assert.ok(changed.length > 0);
    const commands = await waitFor(async () => {
      const all = [
        ...(await gateway.store.commands.list({ deviceId: 'pv-1' })),
        ...(await gateway.store.commands.list({ deviceId: 'bat-1' })),
      ].filter((c) => c.setpoint.source.ref === event.id || c.setpoint.source.ref === mRID);
      return all.some((c) => c.status === 'confirmed') ? all : undefined;
    }, 'a confirmed engine command for the event');
    assert.ok(commands.every((c) => c.setpoint.source.kind === 'program'));
    // The executor confirmed by read-back, and the scanner saw the point that carries such a write
    // (704: WSet for fixedW, WMaxLimPct for the limits).
    const confirmed = commands.filter((c) => c.status === 'confirmed');
    for (const command of confirmed) assert.equal(command.readBack?.matched, true, command.id);
    const carriers = confirmed.map(
      (c) => `unit ${c.deviceId === 'pv-1' ? 1 : 2}: ${c.setpoint.kind === 'fixedW' ? '704.WSet' : '704.WMaxLimPct'}`,
    );
    assert.ok(
      carriers.some((point) => changed.includes(point)),
      `scanner saw ${changed.join(', ')}; commands ${carriers.join(', ')}`,
    );

    // Responses 1 (received), 2 (started), 3 (completed), in this order, once each.
    const statuses = await waitFor(() => {
      const list = admin.listResponses({ subject: mRID }).map((r) => r.status);
      return list.includes(3) ? list : undefined;
    }, 'Response 3 (completed)');
    assert.deepEqual(statuses, [1, 2, 3]);

    // DERStatus with the battery's state of charge, and the other DER documents.
    const reports = await waitFor(() => {
      const list = admin.derReports(endDevice.id);
      return list.some((r) => r.kind === 'DERStatus') ? list : undefined;
    }, 'DERStatus at the server');
    const status = reports.find((r) => r.kind === 'DERStatus')?.doc as DERStatus;
    assert.ok(status.stateOfChargeStatus !== undefined, 'SoC reported for storage');
    assert.ok(status.stateOfChargeStatus.value > 0 && status.stateOfChargeStatus.value <= 10000);
    assert.deepEqual([...new Set(reports.map((r) => r.kind))].sort(), [
      'DERAvailability',
      'DERCapability',
      'DERSettings',
      'DERStatus',
    ]);

    // Mirror readings: site (the meter) and DER usage points, with readings posted into them.
    const mups = await waitFor(() => {
      const list = admin.mirrorUsagePoints({ ownerLfdi: gatewayLfdi });
      return list.length >= 2 ? list : undefined;
    }, 'the site and DER MirrorUsagePoints');
    assert.deepEqual(mups.map((m) => m.roleFlags).sort(), ['03', '49']);
    const readings = await waitFor(() => {
      const list = admin.mirrorReadings({});
      return mups.every((m) => list.some((r) => r.mupId === m.id)) ? list : undefined;
    }, 'mirror readings in both usage points');
    assert.ok(readings.length >= 2);

    // The engine's event history explains the decision.
    const audit = await gateway.store.audit.list({ targetId: event.id });
    assert.ok(
      audit.some((a) => a.action === 'control.decision'),
      'the decision is in the event history',
    );
  });

  test('a restart mid-control re-applies it without a duplicate Response; a cancellation ends the event', async () => {
    const admin = utility.server.admin;
    const { controls } = await admin.createControl({
      programId: 'doe',
      start: Math.floor(Date.now() / 1000),
      duration: 600,
      base: { opModExpLimW: { multiplier: 0, value: 300 } },
    });
    const mRID = controls[0]?.mRID;
    assert.ok(mRID);
    const responses = () => admin.listResponses({ subject: mRID }).map((r) => r.status);
    await waitFor(() => (responses().includes(2) ? true : undefined), 'Response 2 (started)');
    await waitFor(async () => {
      const event = await gateway.store.events.getByExternalId('ieee2030.5', mRID);
      return event?.status === 'active' ? event : undefined;
    }, 'the engine to mark the event active');

    await gateway.close();
    gateway = await start();
    const client = gateway.ieee2030_5?.client;
    assert.ok(client);
    await waitFor(
      () => (client.controls().some((u) => u.active.includes(mRID)) ? true : undefined),
      'the restarted client to apply the control again',
    );
    await client.sync({ force: true });
    assert.deepEqual(responses(), [1, 2], 'nothing re-sent after the restart');

    await admin.cancelControl(mRID);
    await waitFor(() => (responses().includes(6) ? true : undefined), 'Response 6 (cancelled)');
    assert.deepEqual(responses(), [1, 2, 6]);
    const cancelled = await waitFor(async () => {
      const event = await gateway.store.events.getByExternalId('ieee2030.5', mRID);
      return event?.status === 'cancelled' ? event : undefined;
    }, 'the event to be cancelled in the gateway');
    assert.equal(cancelled.statusHistory.at(-1)?.reason, 'the utility reports the DERControl cancelled');
  });
});
