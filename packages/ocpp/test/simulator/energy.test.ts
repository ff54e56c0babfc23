import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChargingProfileSpec } from '../../src/contract.ts';
import { ChargePointSimulator } from '../../src/simulator/index.ts';

/** Monday 2025-01-06T00:00:00Z. */
const T0 = Date.UTC(2025, 0, 6);

/** A station that never connects (its messages stay queued), on a clock the test moves. */
function offlineStation(version: '1.6' | '2.0.1', speed = 1) {
  let now = T0;
  const sim = new ChargePointSimulator({
    url: 'ws://127.0.0.1:9/ocpp',
    identity: 'CLOCKED',
    version,
    speed,
    now: () => now,
    evses: { count: 2, maxCurrentA: 32, phases: 3, voltage: 230 },
  });
  return {
    sim,
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

function profile(partial: Partial<ChargingProfileSpec>): ChargingProfileSpec {
  return {
    id: 1,
    stackLevel: 0,
    purpose: 'TxDefault',
    kind: 'Absolute',
    startSchedule: T0,
    unit: 'A',
    periods: [{ startPeriod: 0, limit: 32 }],
    ...partial,
  };
}

describe('simulated energy', () => {
  it('integrates energy over a schedule that changes between two samples', async (t) => {
    const { sim, advance } = offlineStation('2.0.1');
    t.after(() => sim.close());
    sim.plugIn(1, { energyNeedWh: 100_000, socPct: 10, capacityWh: 100_000, maxCurrentA: 32 });
    const outcome = sim.installProfile(
      1,
      profile({
        periods: [
          { startPeriod: 0, limit: 32 },
          { startPeriod: 600, limit: 16 },
        ],
      }),
    );
    assert.deepEqual(outcome, { accepted: true });
    advance(1200);
    // 10 min at 32 A x 230 V x 3 (22,080 W), then 10 min at 16 A (11,040 W).
    const [session] = sim.sessions();
    assert.equal(session!.energyWh, 3_680 + 1_840);
    assert.equal(sim.limitNow(1), 16);
    assert.equal(sim.powerNow(1), 11_040);
    assert.equal(sim.sample(1).energyWh, 5_520);
    assert.ok(Math.abs((session!.evSocPct ?? 0) - 15.52) < 1e-9);
  });

  it('speed multiplies the energy per unit of clock time', async (t) => {
    const { sim, advance } = offlineStation('1.6', 60);
    t.after(() => sim.close());
    sim.plugIn(1, { energyNeedWh: 100_000, socPct: 10, capacityWh: 100_000, maxCurrentA: 16 });
    advance(60);
    // One clock minute is one simulated hour at 16 A (the EV's own maximum) x 690 V.
    assert.equal(sim.sessions()[0]!.energyWh, 11_040);
  });

  it('stops at the instant the EV is full', async (t) => {
    const { sim, advance } = offlineStation('2.0.1');
    t.after(() => sim.close());
    sim.plugIn(1, { energyNeedWh: 1_104, socPct: 50, capacityWh: 60_000, maxCurrentA: 16 });
    advance(3600);
    const [session] = sim.sessions();
    assert.equal(session!.state, 'ended');
    assert.equal(session!.stopReason, 'EVFull');
    assert.equal(session!.energyWh, 1_104);
    // 1,104 Wh at 11,040 W takes six minutes.
    assert.equal(session!.endedAt, T0 + 360_000);
    assert.equal(sim.status(1), 'Finishing');
    assert.equal(sim.powerNow(1), 0);
  });

  it('honours a minimum charging current when asked (IEC 61851-1: 6 A)', async (t) => {
    let now = T0;
    const sim = new ChargePointSimulator({
      url: 'ws://127.0.0.1:9/ocpp',
      identity: 'MIN6',
      version: '2.0.1',
      now: () => now,
      minChargingCurrentA: 6,
    });
    t.after(() => sim.close());
    sim.plugIn(1, { energyNeedWh: 10_000, socPct: 10, capacityWh: 60_000, maxCurrentA: 32 });
    sim.installProfile(0, profile({ purpose: 'StationMax', unit: 'W', periods: [{ startPeriod: 0, limit: 4_000 }] }));
    now += 600_000;
    assert.equal(sim.powerNow(1), 0); // 4 kW is 5.8 A on three phases
    assert.equal(sim.status(1), 'SuspendedEVSE');
    assert.equal(sim.sessions()[0]!.energyWh, 0);
  });

  it('station-side checks beyond profileProblems: unknown EVSE, TxProfile without a transaction, stack level', async (t) => {
    const { sim } = offlineStation('2.0.1');
    t.after(() => sim.close());
    const rejected: string[][] = [];
    sim.on('profileRejected', (r) => rejected.push(r.reasons));
    assert.equal(sim.installProfile(3, profile({})).accepted, false);
    assert.equal(sim.installProfile(1, profile({ purpose: 'Tx', transactionId: 'x' })).accepted, false);
    assert.equal(sim.installProfile(1, profile({ stackLevel: 9 })).accepted, false);
    assert.match(rejected[0]!.join(), /K01\.FR\.28/);
    assert.match(rejected[1]!.join(), /K01\.FR\.09/);
    assert.match(rejected[2]!.join(), /ProfileStackLevel|MaxStackLevel/);
  });

  it('replaces a profile with the same id, or the same purpose and stack level on the EVSE', async (t) => {
    const { sim } = offlineStation('1.6');
    t.after(() => sim.close());
    sim.installProfile(1, profile({ id: 1, periods: [{ startPeriod: 0, limit: 20 }] }));
    sim.installProfile(1, profile({ id: 1, periods: [{ startPeriod: 0, limit: 10 }] }));
    assert.deepEqual(
      sim.installedProfiles().map((p) => [p.profile.id, p.profile.periods[0]!.limit]),
      [[1, 10]],
    );
    sim.installProfile(1, profile({ id: 2, periods: [{ startPeriod: 0, limit: 12 }] }));
    assert.deepEqual(
      sim.installedProfiles().map((p) => p.profile.id),
      [2],
    );
    sim.installProfile(2, profile({ id: 3 }));
    assert.equal(sim.installedProfiles().length, 2);
    assert.equal(sim.clearProfiles({ purpose: 'TxDefault', evseId: 2 }), 1);
    assert.equal(sim.limitNow(1), 12);
  });
});
