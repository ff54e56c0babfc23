/**
 * The CSMS against the package's ChargePointSimulator (ocpp-rpc RPCClient underneath) in both
 * versions: boot, an EV session with meter values, a station limit confirmed by the simulator's own
 * composite schedule, and a remote stop.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OcppVersion } from '../../src/contract.ts';
import { ChargePointSimulator } from '../../src/simulator/index.ts';
import { endpointOf, startCsms } from './support.ts';

for (const version of ['1.6', '2.0.1'] as OcppVersion[]) {
  describe(`ChargePointSimulator ${version}`, () => {
    test('boot, session, readings, a confirmed limit, remote stop', async (t) => {
      const { csms, events } = await startCsms(t, { stations: { SIM: 'sim-pass' } }, { securityProfile: 1 });
      const sim = new ChargePointSimulator({
        url: endpointOf(csms),
        identity: 'SIM',
        version,
        password: 'sim-pass',
        evses: { count: 2, maxCurrentA: 32, phases: 3 },
        meterIntervalS: 1,
        speed: 60,
        seed: 7,
        retryFirstConnect: false,
      });
      sim.on('error', () => {});
      t.after(() => sim.close());
      assert.equal(await sim.start(), true);
      await sim.waitForBoot();
      const booted = await events.next('booted');
      assert.equal(booted.station.version, version);

      sim.plugIn(1, { energyNeedWh: 30_000, socPct: 20, capacityWh: 60_000, maxCurrentA: 32 });
      const started = await events.next('session', (e) => e.session.state === 'active' && e.session.evseId === 1);
      await events.next('readings', (e) => e.readings.some((r) => r.measurand === 'energyImported'));

      const start = Date.now();
      const outcome = await csms.setChargingLimit('SIM', {
        evseId: 0,
        value: 10,
        unit: 'A',
        start,
        expiry: start + 600_000,
      });
      assert.equal(outcome.readBack, 10);
      assert.equal(sim.limitNow(1), 10);

      const stopped = await csms.remoteStop('SIM', started.session.transactionId);
      assert.equal(stopped, 'Accepted');
      const ended = await events.next(
        'session',
        (e) => e.session.transactionId === started.session.transactionId && e.session.state === 'ended',
      );
      assert.ok((ended.session.energyWh ?? -1) >= 0);
      assert.equal(csms.sessions('SIM').find((s) => s.transactionId === started.session.transactionId)?.state, 'ended');
    });
  });
}
