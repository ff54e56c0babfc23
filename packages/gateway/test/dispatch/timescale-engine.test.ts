/**
 * The rolling horizon on a simulated clock, end to end over real sockets on 127.0.0.1: a SunSpec
 * battery simulator at x60 (its energy runs on simulated time, its reversion timers on real time,
 * as in the demo), startGateway with `dispatchTimeScale` at the same speed and origin, the battery
 * polled every 200 ms, the control engine on a 1 s period, and a `dispatch` section planning
 * 5-minute simulated intervals (5 real seconds) against inline prices written in simulated time
 * (cheap from 16:00 to 16:30, then dear), the battery
 * starting at 20 % so that its energy, not its power, limits what it can sell in the dear hour.
 *
 * Checked: the plan charges, then discharges when the simulated prices turn; the setpoints reach the
 * battery; its measured SoC moves at the plan's rate (least-squares slope of the readings while it
 * holds the planned power, per real ms, within the one-way efficiency): without the time scale the
 * plan would expect a 60 times slower SoC. The plan and the device-plan view carry real instants and
 * the speed; the events carry 5 real-second intervals. No timing assertions: every wait is a bounded
 * poll.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Reading } from '@gridseam/model';
import { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { BatteryPlanDocument, DispatchPlanDocument, DispatchTimeScale } from '../../src/dispatch/index.ts';
import { createLogger } from '../../src/log.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { apiGet, batteryWSet, VIEWER_TOKEN, waitFor } from '../seams/support.ts';

const SPEED = 60;
/** 16:00 on a simulated day: the simulator's time at its construction. */
const SIM_START = Date.UTC(2025, 0, 15, 16, 0);
const CAPACITY_WH = 10_000;
const POWER_W = 5000;
const INTERVAL_S = 300;
const ROUND_TRIP = 0.9;
const ONE_WAY_LOSS = 1 - Math.sqrt(ROUND_TRIP);

function planOf(plan: DispatchPlanDocument | undefined, deviceId: string): BatteryPlanDocument | undefined {
  return plan?.batteries.find((b) => b.deviceId === deviceId);
}

/** Least-squares slope of (t, y), per ms. */
function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return num / den;
}

describe(`dispatch on a simulated clock (x${SPEED}): the battery's SoC follows the plan`, () => {
  const temp = useTempDir('gridseam-dispatch-timescale-');
  let simulator: SunSpecSimulator;
  let gateway: Gateway;
  let modbusPort: number;
  let realStart: number | undefined;
  let timeScale: DispatchTimeScale;

  before(async () => {
    simulator = new SunSpecSimulator({
      port: 0,
      profile: 'battery',
      count: 1,
      speed: SPEED,
      startTime: SIM_START,
      // The simulator reads its clock first at construction: that instant is simulated SIM_START.
      clock: () => {
        const now = Date.now();
        realStart ??= now;
        return now;
      },
      realTimeTimers: true,
      physics: {
        capacityWh: CAPACITY_WH,
        maxChargeW: POWER_W,
        maxDischargeW: POWER_W,
        initialSocPct: 20,
        roundTripEfficiency: ROUND_TRIP,
        sohPct: 100,
      },
    });
    ({ port: modbusPort } = await simulator.start());
    const origin = realStart as number;
    timeScale = { speed: SPEED, simulatedAt: (realMs) => SIM_START + (realMs - origin) * SPEED };

    // Simulated 5-minute prices: rising while cheap (16:00-16:30), falling while dear, so acting
    // sooner is strictly better and the plan has no ties to postpone.
    const cheap = [10, 11, 12, 13, 14, 15];
    const dear = Array.from({ length: 40 }, (_, k) => 400 - k);
    const viewerDigest = createHash('sha256').update(VIEWER_TOKEN).digest('hex');
    const config = parseConfig(
      `
store: { kind: sqlite, path: gateway.sqlite }
bus: { kind: memory }
api:
  host: 127.0.0.1
  port: 0
  tokens: [{ name: viewer, role: viewer, tokenSha256: ${viewerDigest} }]
telemetry: { flushIntervalMs: 20, batchSize: 100 }
log: { level: silent }
fleet:
  sites: [{ id: site-1, name: Site one }]
sunspec:
  timeoutMs: 2000
  devices:
    - { id: bat-1, siteId: site-1, host: 127.0.0.1, port: ${modbusPort}, unit: 1, pollIntervalMs: 200 }
control: { periodSeconds: 1, marginSeconds: 2 }
dispatch:
  enrol: { deviceIds: [bat-1] }
  cadenceSeconds: 2
  minReplanSeconds: 0
  intervalSeconds: ${INTERVAL_S}
  horizonMinutes: 60
  terminal: free
  battery: { roundTripEfficiency: ${ROUND_TRIP} }
  prices:
    kind: inline
    start: ${new Date(SIM_START).toISOString()}
    intervalSeconds: ${INTERVAL_S}
    usdPerMwh: [${[...cheap, ...dear].join(', ')}]
`,
      join(temp.dir(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }), dispatchTimeScale: timeScale });
  });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
  });

  const latestPlan = () => apiGet(gateway.address, '/api/dispatch/plan') as Promise<DispatchPlanDocument>;

  /** Waits for a plan whose first interval for bat-1 has `netW`, and for that power on the battery's register. */
  async function planAndSetpoint(netW: number, what: string): Promise<DispatchPlanDocument> {
    const plan = await waitFor(async () => {
      const latest = await latestPlan();
      const first = planOf(latest, 'bat-1')?.intervals[0];
      return first !== undefined && Math.abs(first.netKw * 1000 - netW) < 1 ? latest : undefined;
    }, `a plan that ${what}`);
    await waitFor(async () => ((await batteryWSet(modbusPort, 1)) === netW ? true : undefined), `WSet ${netW} W`);
    return plan;
  }

  /** The battery's SoC slope (Wh per real ms) while its measured power is `powerW`; undefined until 25 readings. */
  async function measuredSlope(from: number, powerW: number, minPoints = 25): Promise<number | undefined> {
    const span = { deviceId: 'bat-1', from, to: Date.now() + 1 };
    const soc = await gateway.store.telemetry.query({ ...span, measurand: 'stateOfCharge' });
    const power = new Map(
      (await gateway.store.telemetry.query({ ...span, measurand: 'activePower' })).map((r: Reading) => [r.ts, r.value]),
    );
    const run: Array<[number, number]> = [];
    for (const reading of soc) {
      const w = power.get(reading.ts);
      if (typeof w !== 'number' || Math.abs(w - powerW) > Math.abs(powerW) * 0.01) {
        if (run.length < minPoints) run.length = 0;
        else break;
        continue;
      }
      run.push([reading.ts, ((reading.value as number) / 100) * CAPACITY_WH]);
    }
    return run.length >= minPoints ? slope(run) : undefined;
  }

  /** The plan's own SoC slope over its first interval, Wh per real ms (the document's instants are real). */
  function plannedSlope(plan: DispatchPlanDocument): number {
    const battery = planOf(plan, 'bat-1');
    assert.ok(battery);
    const first = battery.intervals[0];
    assert.ok(first);
    const startWh = (battery.soc0Pct / 100) * battery.usableKwh * 1000;
    return (first.energyKwh * 1000 - startWh) / (first.end - first.start);
  }

  test('the simulator and the gateway agree on simulated time', () => {
    const before = timeScale.simulatedAt(Date.now());
    const simulated = simulator.simTime();
    const after = timeScale.simulatedAt(Date.now());
    assert.ok(simulated >= before && simulated <= after, `${simulated} in [${before}, ${after}]`);
  });

  test('cheap simulated prices: the plan charges and the SoC rises at the planned rate', async (t) => {
    const plan = await planAndSetpoint(-POWER_W, 'charges at full power');
    assert.equal(plan.status, 'ok');
    const { horizon } = plan;
    assert.equal(horizon.speed, SPEED);
    assert.equal(horizon.intervalSeconds, INTERVAL_S);
    assert.equal(horizon.realIntervalSeconds, INTERVAL_S / SPEED);
    assert.equal(horizon.end - horizon.start, horizon.intervals * (INTERVAL_S / SPEED) * 1000, 'real instants');
    assert.equal(horizon.simulatedStart, timeScale.simulatedAt(horizon.start));
    const battery = planOf(plan, 'bat-1');
    assert.ok(battery?.eventId);
    assert.ok(
      battery.intervals.some((i) => i.dischargeKw > 4),
      'the same plan discharges later, when simulated prices are high',
    );
    const event = await gateway.store.events.get(battery.eventId);
    assert.ok(event && event.intervals.length > 0);
    for (const interval of event.intervals) assert.equal(interval.durationS, INTERVAL_S / SPEED, 'real seconds');

    const confirmed = await waitFor(async () => {
      const commands = await gateway.registry.listCommands('bat-1', { status: 'confirmed' });
      return commands.find((c) => c.setpoint.kind === 'fixedW' && c.setpoint.value === -POWER_W);
    }, 'a confirmed fixedW command at the planned power');
    const measured = await waitFor(() => measuredSlope(confirmed.createdAt, -POWER_W), 'SoC readings while charging');
    const planned = plannedSlope(plan);
    // 5 kW x sqrt(0.9) into the cells for 1 simulated hour per 60 real seconds.
    assert.ok(Math.abs(planned - (POWER_W * Math.sqrt(ROUND_TRIP) * SPEED) / 3.6e6) < 1e-9);
    t.diagnostic(
      `charging: measured ${(measured * 1000).toFixed(2)} Wh per real s, planned ${(planned * 1000).toFixed(2)}`,
    );
    assert.ok(
      Math.abs(measured - planned) <= ONE_WAY_LOSS * planned,
      `SoC rises at ${((measured * 3.6e6) / SPEED).toFixed(1)} W into the cells (simulated), the plan says ${((planned * 3.6e6) / SPEED).toFixed(1)} W`,
    );
  });

  test('dear simulated prices: the plan discharges and the SoC falls at the planned rate', async (t) => {
    const plan = await planAndSetpoint(POWER_W, 'discharges at full power');
    const since = Date.now();
    const measured = await waitFor(() => measuredSlope(since, POWER_W), 'SoC readings while discharging');
    const planned = plannedSlope(plan);
    assert.ok(planned < 0);
    t.diagnostic(
      `discharging: measured ${(measured * 1000).toFixed(2)} Wh per real s, planned ${(planned * 1000).toFixed(2)}`,
    );
    assert.ok(
      Math.abs(measured - planned) <= ONE_WAY_LOSS * -planned,
      `SoC falls at ${((measured * 3.6e6) / SPEED).toFixed(1)} W out of the cells (simulated), the plan says ${((planned * 3.6e6) / SPEED).toFixed(1)} W`,
    );
    // The console's view: real instants and the speed to label simulated time.
    const view = (await apiGet(gateway.address, '/api/devices/bat-1/plan')) as {
      horizon: DispatchPlanDocument['horizon'];
      planned: Array<{ start: number; end: number }>;
      actual: { socPct: unknown[] };
    };
    assert.equal(view.horizon.speed, SPEED);
    assert.ok(view.planned.length > 0 && view.actual.socPct.length > 0);
    assert.ok(Math.abs((view.planned[0]?.start ?? 0) - Date.now()) < 60_000, 'planned intervals are real instants');
  });
});
