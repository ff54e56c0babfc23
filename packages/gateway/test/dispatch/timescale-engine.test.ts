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
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { DispatchPlanDocument, DispatchTimeScale } from '../../src/dispatch/index.ts';
import { createLogger } from '../../src/log.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { apiGet, waitFor } from '../seams/support.ts';
import {
  confirmedFixedW,
  dispatchGatewayYaml,
  measuredSocSlope,
  planAndSetpoint,
  plannedSocSlope,
  planOf,
  startBatterySimulator,
} from './support.ts';

const SPEED = 60;
/** 16:00 on a simulated day: the simulator's time at its construction. */
const SIM_START = Date.UTC(2025, 0, 15, 16, 0);
const CAPACITY_WH = 10_000;
const POWER_W = 5000;
const INTERVAL_S = 300;
const ROUND_TRIP = 0.9;
const ONE_WAY_LOSS = 1 - Math.sqrt(ROUND_TRIP);

describe(`dispatch on a simulated clock (x${SPEED}): the battery's SoC follows the plan`, () => {
  const temp = useTempDir('gridseam-dispatch-timescale-');
  let simulator: SunSpecSimulator;
  let gateway: Gateway;
  let modbusPort: number;
  let realStart: number | undefined;
  let timeScale: DispatchTimeScale;

  before(async () => {
    ({ simulator, port: modbusPort } = await startBatterySimulator(
      { capacityWh: CAPACITY_WH, powerW: POWER_W, initialSocPct: 20, roundTripEfficiency: ROUND_TRIP },
      {
        speed: SPEED,
        startTime: SIM_START,
        // The simulator reads its clock first at construction: that instant is simulated SIM_START.
        clock: () => {
          const now = Date.now();
          realStart ??= now;
          return now;
        },
      },
    ));
    const origin = realStart as number;
    timeScale = { speed: SPEED, simulatedAt: (realMs) => SIM_START + (realMs - origin) * SPEED };

    // Simulated 5-minute prices: rising while cheap (16:00-16:30), falling while dear, so acting
    // sooner is strictly better and the plan has no ties to postpone.
    const cheap = [10, 11, 12, 13, 14, 15];
    const dear = Array.from({ length: 40 }, (_, k) => 400 - k);
    const config = parseConfig(
      dispatchGatewayYaml({
        modbusPort,
        intervalSeconds: INTERVAL_S,
        horizonMinutes: 60,
        roundTripEfficiency: ROUND_TRIP,
        prices: { start: SIM_START, intervalSeconds: INTERVAL_S, usdPerMwh: [...cheap, ...dear] },
      }),
      join(temp.dir(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }), dispatchTimeScale: timeScale });
  });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
  });

  const planAndSetpointW = (netW: number, what: string) => planAndSetpoint(gateway, modbusPort, netW, what);
  /** The battery's SoC slope (Wh per real ms) while its measured power is `powerW`; undefined until 25 readings. */
  const measuredSlope = (from: number, powerW: number) => measuredSocSlope(gateway, CAPACITY_WH, from, powerW);

  test('the simulator and the gateway agree on simulated time', () => {
    const before = timeScale.simulatedAt(Date.now());
    const simulated = simulator.simTime();
    const after = timeScale.simulatedAt(Date.now());
    assert.ok(simulated >= before && simulated <= after, `${simulated} in [${before}, ${after}]`);
  });

  test('cheap simulated prices: the plan charges and the SoC rises at the planned rate', async (t) => {
    const plan = await planAndSetpointW(-POWER_W, 'charges at full power');
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

    const confirmed = await confirmedFixedW(gateway, -POWER_W);
    const measured = await waitFor(() => measuredSlope(confirmed.createdAt, -POWER_W), 'SoC readings while charging');
    const planned = plannedSocSlope(plan);
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
    const plan = await planAndSetpointW(POWER_W, 'discharges at full power');
    const since = Date.now();
    const measured = await waitFor(() => measuredSlope(since, POWER_W), 'SoC readings while discharging');
    const planned = plannedSocSlope(plan);
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
