import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { ChargingProfileSpec, OcppVersion } from '../../src/contract.ts';
import type { ChargePointSimulatorOptions, EvSpec } from '../../src/simulator/index.ts';
import { ChargePointSimulator, SimulatorFleet } from '../../src/simulator/index.ts';
import { toV16Profile, toV201Profile } from '../../src/smart-charging/wire.ts';
import { FakeCsms, type FakeCsmsOptions, type RecordedCall } from './fake-csms.ts';

const BIG_EV: EvSpec = { energyNeedWh: 50_000, socPct: 20, capacityWh: 80_000, maxCurrentA: 32 };

async function setup(
  t: TestContext,
  version: OcppVersion,
  options: Partial<ChargePointSimulatorOptions> = {},
  csmsOptions: Partial<FakeCsmsOptions> = {},
): Promise<{ csms: FakeCsms; sim: ChargePointSimulator }> {
  const csms = await FakeCsms.start({ version, ...csmsOptions });
  t.after(() => csms.close());
  const sim = new ChargePointSimulator({
    url: csms.url,
    identity: 'CP1',
    version,
    meterIntervalS: 3600,
    speed: 60,
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
    ...options,
  });
  t.after(() => sim.close());
  return { csms, sim };
}

async function booted(t: TestContext, version: OcppVersion, options: Partial<ChargePointSimulatorOptions> = {}) {
  const ctx = await setup(t, version, options);
  assert.equal(await ctx.sim.start(), true);
  await ctx.sim.waitForBoot();
  return ctx;
}

/** The sampled values of a 1.6 MeterValues / StopTransaction or a 2.0.1 TransactionEvent / MeterValues. */
function sampled(call: RecordedCall, measurand: string, phase?: string): number | undefined {
  const values = (call.params.meterValue ?? call.params.transactionData) as
    | Array<{ sampledValue: Array<{ measurand?: string; phase?: string; value: string | number }> }>
    | undefined;
  const found = values?.[0]?.sampledValue.find(
    (v) => v.measurand === measurand && (phase === undefined || v.phase === phase),
  );
  return found === undefined ? undefined : Number(found.value);
}

function isMeter(version: OcppVersion) {
  return (c: RecordedCall): boolean =>
    version === '1.6'
      ? c.method === 'MeterValues'
      : c.method === 'TransactionEvent' && c.params.eventType === 'Updated';
}

function isStart(version: OcppVersion) {
  return (c: RecordedCall): boolean =>
    version === '1.6'
      ? c.method === 'StartTransaction'
      : c.method === 'TransactionEvent' && c.params.eventType === 'Started';
}

function isStop(version: OcppVersion) {
  return (c: RecordedCall): boolean =>
    version === '1.6'
      ? c.method === 'StopTransaction'
      : c.method === 'TransactionEvent' && c.params.eventType === 'Ended';
}

function setProfileParams(version: OcppVersion, evseId: number, spec: ChargingProfileSpec): unknown {
  return version === '1.6'
    ? { connectorId: evseId, csChargingProfiles: toV16Profile(spec) }
    : { evseId, chargingProfile: toV201Profile(spec) };
}

function txDefault(limitA: number, startPeriod = 0): ChargingProfileSpec {
  return {
    id: 7,
    stackLevel: 1,
    purpose: 'TxDefault',
    kind: 'Absolute',
    startSchedule: Date.now() - 60_000,
    unit: 'A',
    periods: [{ startPeriod, limit: limitA }],
  };
}

for (const version of ['1.6', '2.0.1'] as const) {
  describe(`ChargePointSimulator, OCPP ${version}`, () => {
    it('boots (vendor Gridseam, model SimCharger) and reports every connector', async (t) => {
      const { csms, sim } = await booted(t, version, { evses: { count: 2 } });
      const boot = csms.callsOf('BootNotification')[0]!;
      if (version === '1.6') {
        assert.equal(boot.params.chargePointVendor, 'Gridseam');
        assert.equal(boot.params.chargePointModel, 'SimCharger');
        await csms.waitFor((c) => c.method === 'StatusNotification' && c.params.connectorId === 2);
        const connectors = csms.callsOf('StatusNotification').map((c) => c.params.connectorId);
        assert.deepEqual(connectors.slice(0, 3), [0, 1, 2]);
      } else {
        assert.equal(boot.params.reason, 'PowerUp');
        assert.deepEqual(boot.params.chargingStation, {
          vendorName: 'Gridseam',
          model: 'SimCharger',
          serialNumber: 'SIM-CP1',
          firmwareVersion: '0.1.0',
        });
        await csms.waitFor((c) => c.method === 'StatusNotification' && c.params.evseId === 2);
        assert.deepEqual(
          csms.callsOf('StatusNotification').map((c) => [c.params.evseId, c.params.connectorStatus]),
          [
            [1, 'Available'],
            [2, 'Available'],
          ],
        );
      }
      assert.equal(sim.registration, 'Accepted');
      assert.deepEqual(csms.strictFailures, []);
      assert.equal(sim.stats().validationFailures, 0);
    });

    it('retries a Pending boot after the interval, then sends heartbeats at the accepted interval', async (t) => {
      const { csms, sim } = await setup(t, version, { speed: 20 }, { bootStatus: 'Pending', heartbeatIntervalS: 1 });
      const pending = once(sim, 'registration');
      await sim.start();
      assert.deepEqual(await pending, ['Pending']);
      csms.bootStatus = 'Accepted';
      await sim.waitForBoot();
      assert.ok(csms.callsOf('BootNotification').length >= 2);
      await csms.waitFor((c) => c.method === 'Heartbeat');
    });

    it('runs a transaction with meter values and stops it on unplug', async (t) => {
      const { csms, sim } = await booted(t, version);
      const started = once(sim, 'sessionStarted');
      sim.plugIn(1, { ...BIG_EV, idTag: 'TAG42' });
      await started;
      const start = await csms.waitFor(isStart(version));
      let transactionId: string;
      if (version === '1.6') {
        assert.equal(start.params.idTag, 'TAG42');
        assert.equal(start.params.meterStart, 0);
        transactionId = '100';
      } else {
        const info = start.params.transactionInfo as { transactionId: string };
        transactionId = info.transactionId;
        assert.match(transactionId, /^[0-9a-f-]{36}$/);
        assert.deepEqual(start.params.idToken, { idToken: 'TAG42', type: 'ISO14443' });
        assert.equal(start.params.seqNo, 0);
      }
      await sim.flush();
      await new Promise((resolve) => setTimeout(resolve, 30));
      sim.sendMeterValues(1);
      const meter = await csms.waitFor(isMeter(version));
      if (version === '1.6') assert.equal(meter.params.transactionId, 100);
      else assert.equal((meter.params.transactionInfo as { transactionId: string }).transactionId, transactionId);
      assert.equal(sampled(meter, 'Current.Offered'), 32);
      assert.equal(sampled(meter, 'Power.Active.Import'), 32 * 230 * 3);
      assert.equal(sampled(meter, 'Current.Import', 'L3'), 32);
      assert.ok((sampled(meter, 'Energy.Active.Import.Register') ?? 0) > 0);
      assert.ok((sampled(meter, 'SoC') ?? 0) >= 20);
      assert.ok((sim.sessions()[0]!.evSocPct ?? 0) > 20);
      assert.equal(sim.sessions()[0]!.transactionId, transactionId);

      sim.unplug(1);
      const stop = await csms.waitFor(isStop(version));
      if (version === '1.6') {
        assert.equal(stop.params.transactionId, 100);
        assert.equal(stop.params.reason, 'EVDisconnected');
        assert.ok((stop.params.meterStop as number) > 0);
      } else {
        const info = stop.params.transactionInfo as { stoppedReason: string; transactionId: string };
        assert.equal(info.stoppedReason, 'EVDisconnected');
        assert.equal(info.transactionId, transactionId);
        assert.ok((sampled(stop, 'Energy.Active.Import.Register') ?? 0) > 0);
      }
      const [session] = sim.sessions();
      assert.equal(session!.state, 'ended');
      assert.ok((session!.energyWh ?? 0) > 0);
      assert.deepEqual(csms.strictFailures, []);
    });

    it('sends meter values every meterIntervalS / speed', async (t) => {
      const { csms, sim } = await booted(t, version, { meterIntervalS: 1, speed: 20 });
      sim.plugIn(1, BIG_EV);
      await csms.waitFor(isMeter(version));
      const from = csms.calls.length;
      await csms.waitFor(isMeter(version), { from });
    });

    it('lowers the charging power with a profile, visible in the next meter values and the composite', async (t) => {
      const { csms, sim } = await booted(t, version);
      sim.plugIn(1, BIG_EV);
      await csms.waitFor(isStart(version));
      await sim.flush();
      assert.equal(sim.limitNow(1), 32);
      const installed = once(sim, 'profileInstalled');
      const answer = await csms.call('CP1', 'SetChargingProfile', setProfileParams(version, 1, txDefault(8)));
      assert.equal(answer.status, 'Accepted');
      await installed;
      assert.equal(sim.limitNow(1), 8);
      assert.equal(sim.powerNow(1), 8 * 230 * 3);
      const from = csms.calls.length;
      sim.sendMeterValues(1);
      const meter = await csms.waitFor(isMeter(version), { from });
      assert.equal(sampled(meter, 'Current.Offered'), 8);
      assert.equal(sampled(meter, 'Power.Active.Import'), 5_520);

      const composite =
        version === '1.6'
          ? await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 1, duration: 600, chargingRateUnit: 'W' })
          : await csms.call('CP1', 'GetCompositeSchedule', { evseId: 1, duration: 600, chargingRateUnit: 'W' });
      assert.equal(composite.status, 'Accepted');
      const schedule = (version === '1.6' ? composite.chargingSchedule : composite.schedule) as {
        chargingSchedulePeriod: Array<{ startPeriod: number; limit: number }>;
      };
      assert.deepEqual(schedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 5_520 }]);

      const cleared = await csms.call(
        'CP1',
        'ClearChargingProfile',
        version === '1.6' ? { id: 7 } : { chargingProfileId: 7 },
      );
      assert.equal(cleared.status, 'Accepted');
      assert.equal(sim.limitNow(1), 32);
      assert.deepEqual(csms.strictFailures, []);
    });

    it('rejects a profile whose first period does not start at 0 (K01.FR.31)', async (t) => {
      const { csms, sim } = await booted(t, version);
      const rejected = once(sim, 'profileRejected');
      const answer = await csms.call('CP1', 'SetChargingProfile', setProfileParams(version, 1, txDefault(8, 60)));
      assert.equal(answer.status, 'Rejected');
      if (version === '2.0.1') {
        assert.match((answer.statusInfo as { additionalInfo: string }).additionalInfo, /K01\.FR\.31/);
      }
      const [rejection] = (await rejected) as [{ reasons: string[]; profileId: number }];
      assert.equal(rejection.profileId, 7);
      assert.ok(rejection.reasons.some((r) => r.startsWith('K01.FR.31')));
      assert.deepEqual(sim.installedProfiles(), []);
    });

    it('keeps charging offline, queues the transaction messages and replays them in order', async (t) => {
      const { csms, sim } = await booted(t, version);
      await sim.flush();
      const disconnected = once(sim, 'disconnected');
      await csms.takeOffline('CP1');
      await disconnected;
      const from = csms.calls.length;

      // Everything below happens while the CSMS refuses the station.
      sim.plugIn(1, BIG_EV);
      await new Promise((resolve) => setTimeout(resolve, 30));
      sim.sendMeterValues(1);
      await new Promise((resolve) => setTimeout(resolve, 30));
      sim.sendMeterValues(1);
      assert.ok(sim.powerNow(1) > 0, 'still charging offline');
      sim.unplug(1);
      assert.equal(sim.connected, false);
      assert.equal(sim.stats().queued, 4);

      csms.allow();
      await csms.waitFor(isStop(version), { from });
      const replayed = csms.calls
        .slice(from)
        .filter((c) => isStart(version)(c) || isMeter(version)(c) || isStop(version)(c));
      assert.deepEqual(
        replayed.map((c) => (version === '1.6' ? c.method : c.params.eventType)),
        version === '1.6'
          ? ['StartTransaction', 'MeterValues', 'MeterValues', 'StopTransaction']
          : ['Started', 'Updated', 'Updated', 'Ended'],
      );
      if (version === '1.6') {
        // The CSMS numbered the transaction on replay; the later messages use that number.
        assert.deepEqual(
          replayed.slice(1).map((c) => c.params.transactionId),
          [100, 100, 100],
        );
      } else {
        assert.deepEqual(
          replayed.map((c) => [c.params.seqNo, c.params.offline]),
          [
            [0, true],
            [1, true],
            [2, true],
            [3, true],
          ],
        );
      }
      const energies = replayed.slice(1).map((c) => sampled(c, 'Energy.Active.Import.Register') ?? 0);
      assert.ok(energies[0]! > 0 && energies[1]! > energies[0]!, `energy advanced offline: ${energies}`);
      await sim.flush();
      assert.equal(sim.stats().queued, 0);
      assert.deepEqual(csms.strictFailures, []);
    });

    it('sends the Basic-auth password (security profile 1)', async (t) => {
      const { csms, sim } = await setup(
        t,
        version,
        { password: 'correct horse 16' },
        { passwords: { CP1: 'correct horse 16' } },
      );
      assert.equal(await sim.start(), true);
      await sim.waitForBoot();
      assert.deepEqual(csms.passwordsSeen, ['correct horse 16']);
    });

    it('surfaces a wrong password as an error event, not a crash', async (t) => {
      const { csms, sim } = await setup(
        t,
        version,
        { password: 'wrong password!!' },
        { passwords: { CP1: 'correct horse 16' } },
      );
      const errors: unknown[] = [];
      sim.on('error', (error) => errors.push(error));
      assert.equal(await sim.start(), false);
      assert.equal(errors.length, 1);
      assert.ok(GridseamError.is(errors[0]) && errors[0].code === 'GW_ERR_UNAUTHORIZED');
      assert.equal(sim.connected, false);
      assert.equal(csms.callsOf('BootNotification').length, 0);
      // A refusal is final: no second attempt with the same wrong password.
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(csms.passwordsSeen.length, 1);
      assert.equal(errors.length, 1);
      // Without an 'error' listener nothing throws either.
      const quiet = new ChargePointSimulator({ url: csms.url, identity: 'CP1', version, password: 'nope' });
      t.after(() => quiet.close());
      assert.equal(await quiet.start(), false);
    });

    it('answers remote start and stop', async (t) => {
      const { csms, sim } = await booted(t, version);
      const params =
        version === '1.6'
          ? { connectorId: 1, idTag: 'REMOTE1' }
          : { evseId: 1, remoteStartId: 5, idToken: { idToken: 'REMOTE1', type: 'Central' } };
      const answer = await csms.call(
        'CP1',
        version === '1.6' ? 'RemoteStartTransaction' : 'RequestStartTransaction',
        params,
      );
      assert.equal(answer.status, 'Accepted');
      const start = await csms.waitFor(isStart(version));
      await sim.flush();
      const transactionId = sim.sessions()[0]!.transactionId;
      if (version === '2.0.1') {
        assert.equal(start.params.triggerReason, 'RemoteStart');
        assert.equal((start.params.transactionInfo as { remoteStartId: number }).remoteStartId, 5);
      }
      const stopAnswer =
        version === '1.6'
          ? await csms.call('CP1', 'RemoteStopTransaction', { transactionId: Number(transactionId) })
          : await csms.call('CP1', 'RequestStopTransaction', { transactionId });
      assert.equal(stopAnswer.status, 'Accepted');
      const stop = await csms.waitFor(isStop(version));
      if (version === '1.6') assert.equal(stop.params.reason, 'Remote');
      else assert.equal((stop.params.transactionInfo as { stoppedReason: string }).stoppedReason, 'Remote');
      const unknown =
        version === '1.6'
          ? await csms.call('CP1', 'RemoteStopTransaction', { transactionId: 999 })
          : await csms.call('CP1', 'RequestStopTransaction', { transactionId: 'nope' });
      assert.equal(unknown.status, 'Rejected');
    });

    it('stops the transaction when the EV is full', async (t) => {
      const { csms, sim } = await booted(t, version, { speed: 3600 });
      sim.plugIn(1, { energyNeedWh: 20, socPct: 50, capacityWh: 40_000, maxCurrentA: 16 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(sim.sessions()[0]!.state, 'ended');
      const stop = await csms.waitFor(isStop(version));
      if (version === '1.6') assert.equal(stop.params.reason, 'Other');
      else assert.equal((stop.params.transactionInfo as { stoppedReason: string }).stoppedReason, 'StoppedByEV');
      assert.ok(Math.abs((sim.sessions()[0]!.energyWh ?? 0) - 20) < 1e-6);
    });

    it('answers TriggerMessage, Reset and ChangeAvailability', async (t) => {
      const { csms, sim } = await booted(t, version);
      await sim.flush();
      let from = csms.calls.length;
      const trigger = await csms.call(
        'CP1',
        'TriggerMessage',
        version === '1.6'
          ? { requestedMessage: 'StatusNotification', connectorId: 1 }
          : { requestedMessage: 'StatusNotification', evse: { id: 1 } },
      );
      assert.equal(trigger.status, 'Accepted');
      await csms.waitFor((c) => c.method === 'StatusNotification', { from });

      const unavailable = await csms.call(
        'CP1',
        'ChangeAvailability',
        version === '1.6'
          ? { connectorId: 1, type: 'Inoperative' }
          : { evse: { id: 1 }, operationalStatus: 'Inoperative' },
      );
      assert.equal(unavailable.status, 'Accepted');
      await csms.waitFor(
        (c) =>
          c.method === 'StatusNotification' &&
          (version === '1.6' ? c.params.status === 'Unavailable' : c.params.connectorStatus === 'Unavailable'),
      );

      from = csms.calls.length;
      const reset = await csms.call('CP1', 'Reset', { type: version === '1.6' ? 'Soft' : 'Immediate' });
      assert.equal(reset.status, 'Accepted');
      const reboot = await csms.waitFor((c) => c.method === 'BootNotification', { from });
      if (version === '2.0.1') assert.equal(reboot.params.reason, 'RemoteReset');
      await sim.waitForBoot();
    });

    it('reads and writes its configuration', async (t) => {
      const { csms, sim } = await booted(t, version);
      if (version === '1.6') {
        const all = await csms.call('CP1', 'GetConfiguration', {});
        const keys = (all.configurationKey as Array<{ key: string; readonly: boolean; value: string }>).map(
          (k) => k.key,
        );
        assert.ok(keys.includes('ChargeProfileMaxStackLevel'));
        assert.ok(!keys.includes('AuthorizationKey'));
        const some = await csms.call('CP1', 'GetConfiguration', {
          key: ['MeterValueSampleInterval', 'AuthorizationKey', 'Nope'],
        });
        assert.deepEqual(some.configurationKey, [{ key: 'MeterValueSampleInterval', readonly: false, value: '3600' }]);
        assert.deepEqual(some.unknownKey, ['AuthorizationKey', 'Nope']);
        assert.equal(
          (await csms.call('CP1', 'ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '30' })).status,
          'Accepted',
        );
        assert.equal(
          (await csms.call('CP1', 'ChangeConfiguration', { key: 'ChargeProfileMaxStackLevel', value: '3' })).status,
          'Rejected',
        );
        assert.equal(
          (await csms.call('CP1', 'ChangeConfiguration', { key: 'Nope', value: '3' })).status,
          'NotSupported',
        );
        assert.equal(
          (await csms.call('CP1', 'ChangeConfiguration', { key: 'AuthorizationKey', value: 'new-key-0123456789' }))
            .status,
          'Accepted',
        );
        assert.equal(sim.settings.value('MeterValueSampleInterval'), '30');
      } else {
        const get = await csms.call('CP1', 'GetVariables', {
          getVariableData: [
            { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'Enabled' } },
            { component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' } },
            { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'Nope' } },
            { component: { name: 'NoSuchCtrlr' }, variable: { name: 'Enabled' } },
          ],
        });
        assert.deepEqual(
          (get.getVariableResult as Array<{ attributeStatus: string; attributeValue?: string }>).map((r) => [
            r.attributeStatus,
            r.attributeValue,
          ]),
          [
            ['Accepted', 'true'],
            ['Rejected', undefined],
            ['UnknownVariable', undefined],
            ['UnknownComponent', undefined],
          ],
        );
        const set = await csms.call('CP1', 'SetVariables', {
          setVariableData: [
            { component: { name: 'SampledDataCtrlr' }, variable: { name: 'TxUpdatedInterval' }, attributeValue: '30' },
            { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'RateUnit' }, attributeValue: 'W' },
            { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'Enabled' }, attributeValue: 'false' },
          ],
        });
        assert.deepEqual(
          (set.setVariableResult as Array<{ attributeStatus: string }>).map((r) => r.attributeStatus),
          ['Accepted', 'Rejected', 'Accepted'],
        );
        // Smart charging switched off: profiles are refused.
        const answer = await csms.call('CP1', 'SetChargingProfile', setProfileParams(version, 1, txDefault(8)));
        assert.equal(answer.status, 'Rejected');
      }
      assert.deepEqual(csms.strictFailures, []);
    });
  });
}

describe('ChargePointSimulator connection errors', () => {
  it('reports an unreachable CSMS as an error event and keeps trying', async (t) => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const sim = new ChargePointSimulator({
      url: `ws://127.0.0.1:${port}/ocpp`,
      identity: 'CP1',
      version: '1.6',
      reconnectMinMs: 10,
      reconnectMaxMs: 20,
    });
    t.after(() => sim.close());
    const errors: Error[] = [];
    sim.on('error', (error) => errors.push(error));
    assert.equal(await sim.start(), false);
    while (errors.length < 2) await once(sim, 'error');
    assert.ok(errors.every((e) => GridseamError.is(e) && e.code === 'GW_ERR_DEVICE_UNREACHABLE'));
  });

  it('refuses a url that is not ws:// or wss://', () => {
    assert.throws(
      () => new ChargePointSimulator({ url: 'http://127.0.0.1:1/ocpp', identity: 'CP1', version: '1.6' }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_CONFIG',
    );
  });
});

describe('SimulatorFleet', () => {
  it('connects N stations with bounded concurrency and counts their messages', async (t) => {
    const csms = await FakeCsms.start({ version: '2.0.1' });
    t.after(() => csms.close());
    const fleet = new SimulatorFleet({ url: csms.url, version: '2.0.1', prefix: 'SIM', count: 5, concurrency: 2 });
    t.after(() => fleet.close());
    assert.equal(await fleet.start(), 5);
    await Promise.all(fleet.stations.map((s) => s.waitForBoot()));
    const stats = fleet.stats();
    assert.equal(stats.stations, 5);
    assert.equal(stats.connected, 5);
    assert.equal(stats.booted, 5);
    assert.ok(stats.messagesSent >= 5);
    assert.deepEqual(
      csms
        .callsOf('BootNotification')
        .map((c) => c.identity)
        .sort(),
      ['SIM1', 'SIM2', 'SIM3', 'SIM4', 'SIM5'],
    );
    await fleet.close();
    assert.equal(fleet.stats().connected, 0);
  });

  it('draws the same random EVs for the same seed', async (t) => {
    const csms = await FakeCsms.start({ version: '1.6' });
    t.after(() => csms.close());
    const socs: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const sim = new ChargePointSimulator({
        url: csms.url,
        identity: `R${run}`,
        version: '1.6',
        seed: 42,
        speed: 3600,
        meterIntervalS: 3600,
        arrivals: { meanIntervalS: 60, meanStayS: 600 },
      });
      t.after(() => sim.close());
      const seen: number[] = [];
      sim.on('sessionStarted', (s) => seen.push(s.evSocPct ?? -1));
      await sim.start();
      while (seen.length < 2) await once(sim, 'sessionStarted');
      await sim.close();
      socs.push(seen.slice(0, 2));
    }
    assert.deepEqual(socs[0], socs[1]);
    assert.ok(socs[0]!.every((soc) => soc >= 10 && soc <= 60));
  });
});
