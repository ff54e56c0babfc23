/**
 * The 2030.5 client against our utility server over real mutual TLS on loopback, with one injected clock shared
 * by server and client (timers disabled: the tests drive `sync()`): discovery with paging, controls and their
 * canonical setpoints, Responses 1/2/3, cancellation 6, supersession 7, DefaultDERControl fallback (nothing
 * active; server unreachable), restart without duplicate Responses, aggregator mode, DER reports and readings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ControlsUpdate,
  createSepClient,
  MemoryClientStateStore,
  type SepClient,
  type SepClientOptions,
} from '../../src/client/index.ts';
import { identity, startServer, type TestServer, watts } from '../server/helpers.ts';

interface Harness {
  client: SepClient;
  updates: ControlsUpdate[];
  latest(lfdi?: string): ControlsUpdate;
}

function makeClient(
  env: TestServer,
  name: string,
  overrides: Partial<SepClientOptions> = {},
  store = new MemoryClientStateStore(),
  clockSkew = 0,
): Harness {
  const id = identity(env.pki, name);
  const client = createSepClient(
    {
      dcapUrl: `https://127.0.0.1:${env.port}/dcap`,
      mode: 'direct',
      tls: { key: id.keyPem, cert: id.certificatePem, ca: env.pki.ca.certificatePem, timeoutMs: 5000 },
      pageSize: 1,
      ...overrides,
    },
    { now: () => env.clock.now - clockSkew, store, setTimer: () => () => undefined, random: () => 0.5 },
  );
  const updates: ControlsUpdate[] = [];
  client.on('controls', (update) => updates.push(update));
  return {
    client,
    updates,
    latest(lfdi) {
      const all = client.controls();
      const found = lfdi === undefined ? all[0] : all.find((update) => update.endDevice.lfdi === lfdi);
      assert.ok(found, 'no controls update');
      return found;
    },
  };
}

function exportLimit(update: ControlsUpdate): { value: number; kind: string; ref?: string } | undefined {
  const setpoint = update.setpoints.find((s) => s.kind === 'exportLimit');
  return setpoint === undefined
    ? undefined
    : {
        value: setpoint.value,
        kind: setpoint.source.kind,
        ...(setpoint.source.ref ? { ref: setpoint.source.ref } : {}),
      };
}

describe('2030.5 client against the utility server (direct mode)', () => {
  let env: TestServer;
  let deviceId: number;
  const harnesses: Harness[] = [];

  before(async () => {
    env = await startServer({ defaultListLimit: 1 });
    deviceId = (await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-1').lfdi })).id;
    await env.server.admin.createProgram({ id: 'doe', description: 'dynamic export', primacy: 1 });
    await env.server.admin.createProgram({ id: 'backup', description: 'backup', primacy: 5 });
    await env.server.admin.setDefaultControl({
      programId: 'doe',
      base: { opModExpLimW: watts(1500), opModImpLimW: watts(9000) },
    });
  });
  after(async () => {
    for (const harness of harnesses) await harness.client.stop();
    await env.close();
  });

  const responses = (mRID: string) =>
    env.server.admin.listResponses({ subject: mRID }).map((response) => response.status);

  test('discovers with paging, applies the default, then an export limit with Responses 1, 2, 3 in order', async () => {
    const harness = makeClient(env, 'device-1', {}, new MemoryClientStateStore(), 30);
    harnesses.push(harness);
    await harness.client.start();
    assert.equal(harness.client.clockOffset(), 30, 'offset = server time − local time');
    assert.equal(harness.client.endDevices().length, 1);
    assert.deepEqual(exportLimit(harness.latest()), {
      value: 1500,
      kind: 'default',
      ref: env.server.admin.listDefaultControls('doe')[0]?.mRID,
    });
    assert.equal(harness.latest().setpoints.find((s) => s.kind === 'importLimit')?.value, 9000);

    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now + 60,
      duration: 600,
      base: { opModExpLimW: { multiplier: 1, value: 250 } },
    });
    const mRID = controls[0]?.mRID as string;
    await harness.client.sync({ force: true });
    assert.deepEqual(responses(mRID), [1], 'Received on first retrieval');
    assert.equal(exportLimit(harness.latest())?.kind, 'default', 'not started yet');

    env.clock.advance(60);
    await harness.client.sync();
    assert.deepEqual(exportLimit(harness.latest()), { value: 2500, kind: 'program', ref: mRID });
    assert.equal(
      harness.latest().setpoints.find((s) => s.kind === 'importLimit')?.source.kind,
      'default',
      'per control type',
    );
    assert.deepEqual(responses(mRID), [1, 2]);
    const event = harness.client.programEvents(identity(env.pki, 'device-1').lfdi).find((e) => e.externalId === mRID);
    assert.equal(event?.intervals[0]?.signals[0]?.value, 2500);
    assert.equal(event?.source, 'ieee2030.5');

    env.clock.advance(600);
    await harness.client.sync();
    assert.deepEqual(responses(mRID), [1, 2, 3]);
    assert.equal(exportLimit(harness.latest())?.kind, 'default', 'default again after the end');
    await harness.client.sync({ force: true });
    assert.deepEqual(responses(mRID), [1, 2, 3], 'never duplicated');
    await harness.client.stop();
  });

  test('a cancelled control is answered with 6, a superseded one with 7', async () => {
    const harness = makeClient(env, 'device-1');
    harnesses.push(harness);
    await harness.client.start();
    const first = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now,
      duration: 600,
      base: { opModExpLimW: watts(3000) },
    });
    const cancelled = first.controls[0]?.mRID as string;
    await harness.client.sync({ force: true });
    assert.deepEqual(responses(cancelled), [1, 2], 'already running: Started at once');
    assert.equal(exportLimit(harness.latest())?.value, 3000);
    env.clock.advance(10);
    await env.server.admin.cancelControl(cancelled);
    await harness.client.sync({ force: true });
    assert.deepEqual(responses(cancelled), [1, 2, 6]);
    assert.equal(exportLimit(harness.latest())?.kind, 'default');

    const older = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now + 100,
      duration: 600,
      base: { opModExpLimW: watts(4000) },
    });
    await harness.client.sync({ force: true });
    env.clock.advance(1);
    const newer = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now + 50,
      duration: 600,
      base: { opModExpLimW: watts(5000) },
    });
    assert.equal(newer.superseded[0]?.mRID, older.controls[0]?.mRID);
    env.clock.advance(60);
    await harness.client.sync({ force: true });
    assert.deepEqual(responses(older.controls[0]?.mRID as string), [1, 7]);
    assert.deepEqual(responses(newer.controls[0]?.mRID as string), [1, 2]);
    assert.equal(exportLimit(harness.latest())?.value, 5000);
    await env.server.admin.cancelAllControls();
    await harness.client.sync({ force: true });
    await harness.client.stop();
  });

  test('a restart with the same store re-applies the control and sends no Response twice', async () => {
    const store = new MemoryClientStateStore();
    const firstRun = makeClient(env, 'device-1', {}, store);
    await firstRun.client.start();
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now + 5,
      duration: 300,
      randomizeStart: 60,
      base: { opModExpLimW: watts(700) },
    });
    const mRID = controls[0]?.mRID as string;
    await firstRun.client.sync({ force: true });
    env.clock.advance(70);
    await firstRun.client.sync({ force: true });
    assert.deepEqual(responses(mRID), [1, 2]);
    await firstRun.client.stop(); // as after kill -9: nothing else is flushed

    const secondRun = makeClient(env, 'device-1', {}, store);
    harnesses.push(secondRun);
    await secondRun.client.start();
    assert.equal(
      exportLimit(secondRun.updates[0] as ControlsUpdate)?.value,
      700,
      'the snapshot re-applies before polling',
    );
    assert.deepEqual(responses(mRID), [1, 2], 'no duplicate after the restart');
    env.clock.advance(400);
    await secondRun.client.sync({ force: true });
    assert.deepEqual(responses(mRID), [1, 2, 3]);
    await secondRun.client.stop();
  });

  test('server unreachable: the control runs on, then communication loss falls back to the default', async () => {
    const local = await startServer({}, undefined, env.clock);
    await local.server.admin.registerEndDevice({ lfdi: identity(local.pki, 'device-2').lfdi });
    await local.server.admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
    await local.server.admin.setDefaultControl({ programId: 'doe', base: { opModExpLimW: watts(1500) } });
    await local.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now,
      duration: 3600,
      base: { opModExpLimW: watts(8000) },
    });
    const harness = makeClient(local, 'device-2', { commsLossFallbackSeconds: 600, retrySeconds: 30 });
    await harness.client.start();
    assert.equal(exportLimit(harness.latest())?.value, 8000);
    await local.close();
    env.clock.advance(300);
    await harness.client.sync({ force: true });
    assert.equal(exportLimit(harness.latest())?.value, 8000, 'within the allowance the control continues');
    env.clock.advance(300);
    await harness.client.sync({ force: true });
    assert.equal(harness.latest().commsLost, true);
    assert.deepEqual(exportLimit(harness.latest())?.kind, 'default');
    assert.equal(exportLimit(harness.latest())?.value, 1500);
    await harness.client.stop();
  });

  test('DER reports and mirror readings reach the server', async () => {
    const harness = makeClient(env, 'device-1', { pen: 62223, connectionPointId: '4102345678' });
    harnesses.push(harness);
    await harness.client.start();
    const lfdi = identity(env.pki, 'device-1').lfdi;
    assert.equal(env.server.admin.getEndDevice(deviceId)?.connectionPoint?.connectionPointId, '4102345678');
    await harness.client.putDerReports(lfdi, {
      capability: {
        derType: 83,
        ratings: { maxW: 5000, maxVA: 5000 },
        storage: { capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000 },
        controls: ['exportLimit', 'generationLimit', 'fixedW', 'connect'],
      },
      settings: { updatedTime: env.clock.now, maxW: 5000, controls: ['exportLimit', 'generationLimit'] },
      status: {
        readingTime: env.clock.now,
        connected: true,
        operating: true,
        socPct: 55.5,
        storageMode: 'discharging',
      },
      availability: { readingTime: env.clock.now, availableW: 4000, reservePct: 10 },
    });
    const reports = env.server.admin.derReports(deviceId);
    const status = reports.find((report) => report.kind === 'DERStatus')?.doc as {
      stateOfChargeStatus?: { value: number };
    };
    assert.equal(status.stateOfChargeStatus?.value, 5550);
    const capability = reports.find((report) => report.kind === 'DERCapability')?.doc as {
      rtgMaxWh?: { multiplier: number; value: number };
      doeModesSupported?: string;
    };
    assert.deepEqual(capability.rtgMaxWh, { multiplier: 0, value: 13500 });
    assert.equal(capability.doeModesSupported, '05');
    assert.equal(reports.length, 4);

    await harness.client.postReadings(lfdi, {
      site: { realPowerW: 2000, reactivePowerVar: -300, voltageV: 231.4 },
      der: { realPowerW: 4500 },
      duration: 300,
    });
    const mups = env.server.admin.mirrorUsagePoints({ endDeviceId: deviceId });
    assert.deepEqual(mups.map((mup) => mup.roleFlags).sort(), ['03', '49']);
    const readings = env.server.admin.mirrorReadings({ endDeviceId: deviceId });
    assert.deepEqual(
      readings.map((reading) => reading.value).sort((a, b) => a - b),
      [-2000, 300, 2314, 4500],
    );
    await harness.client.postReadings(lfdi, { site: { realPowerW: 1000 } });
    assert.equal(env.server.admin.mirrorUsagePoints({ endDeviceId: deviceId }).length, 2, 'no duplicate usage point');
    await harness.client.stop();
  });
});

describe('2030.5 client in aggregator mode', () => {
  let env: TestServer;
  const managed = ['11'.repeat(20), '22'.repeat(20), '33'.repeat(20)];
  let client: SepClient | undefined;

  before(async () => {
    env = await startServer({ defaultListLimit: 1 });
    const aggregatorLfdi = identity(env.pki, 'aggregator-1').lfdi;
    await env.server.admin.registerEndDevice({ lfdi: aggregatorLfdi, role: 'aggregator' });
    for (const lfdi of managed) await env.server.admin.registerEndDevice({ lfdi, aggregatorLfdi });
    await env.server.admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
  });
  after(async () => {
    await client?.stop();
    await env.close();
  });

  test('one certificate, three EndDevices: each gets the control and answers for itself', async () => {
    const harness = makeClient(env, 'aggregator-1', { mode: 'aggregator', pageSize: 2 });
    client = harness.client;
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now,
      duration: 600,
      base: { opModGenLimW: watts(2000) },
    });
    await harness.client.start();
    assert.deepEqual(
      harness.client
        .endDevices()
        .map((device) => device.lfdi)
        .sort(),
      managed,
    );
    for (const lfdi of managed) {
      assert.equal(harness.latest(lfdi).setpoints.find((s) => s.kind === 'generationLimit')?.value, 2000);
    }
    const responses = env.server.admin.listResponses({ subject: controls[0]?.mRID as string });
    assert.equal(responses.length, 6);
    assert.deepEqual([...new Set(responses.map((r) => r.endDeviceLFDI))].sort(), managed);
    await harness.client.reportOutcome(controls[0]?.mRID as string, 'not-applicable', managed[0]);
    env.clock.advance(600);
    await harness.client.sync({ force: true });
    const byDevice = (lfdi: string) =>
      env.server.admin
        .listResponses({ subject: controls[0]?.mRID as string })
        .filter((r) => r.endDeviceLFDI === lfdi)
        .map((r) => r.status);
    assert.deepEqual(byDevice(managed[0] as string), [1, 2, 252]);
    assert.deepEqual(byDevice(managed[1] as string), [1, 2, 3]);
  });
});
