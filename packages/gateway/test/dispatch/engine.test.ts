/**
 * The control-engine path of issue 9, end to end over real sockets on 127.0.0.1: a SunSpec battery
 * simulator served over Modbus TCP, startGateway with the battery polled every 200 ms, the control
 * engine on a 1 s period, and a `dispatch` section that re-plans every 2 s over 10 s intervals
 * against inline prices with an obvious spread (cheap for 50 s, then dear).
 *
 * The battery is small (200 Wh at 2.4 kW) rather than accelerated: the simulator's speed option
 * would run its energy faster than the gateway's clock, so the plan and the battery would disagree
 * by the speed factor; a small battery keeps the test short in real time.
 *
 * Checked: the plan charges then discharges; its first interval reaches the battery as a fixedW
 * setpoint (a confirmed command and the 704 WSet register); the battery's measured SoC moves at the
 * plan's rate (least-squares slope of SoC readings while it holds the planned power, within the
 * one-way efficiency); a utility control (an IEEE 2030.5 event of primacy 10 through the engine)
 * wins over the plan's event and the next plan is solved around it: the battery's planned power in
 * the utility's window equals the utility's. No timing assertions: every wait is a bounded poll.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { type GatewayConfig, parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { apiGet, batteryWSet, waitFor } from '../seams/support.ts';
import {
  confirmedFixedW,
  dispatchGatewayYaml,
  latestPlan,
  measuredSocSlope,
  planAndSetpoint,
  plannedSocSlope,
  planOf,
  startBatterySimulator,
} from './support.ts';

const CAPACITY_WH = 200;
const POWER_W = 2400;
const INTERVAL_S = 10;
const CHEAP_S = 50;
/** The simulator's round-trip efficiency, and the plan's (configured the same). */
const ROUND_TRIP = 0.9;
const ONE_WAY_LOSS = 1 - Math.sqrt(ROUND_TRIP);

describe('dispatch through the control engine: plan -> setpoints -> SoC, and a utility override', () => {
  const temp = useTempDir('gridseam-dispatch-engine-');
  let simulator: SunSpecSimulator;
  let gateway: Gateway;
  let modbusPort: number;
  let config: GatewayConfig;
  let pricesStart: number;

  before(async () => {
    ({ simulator, port: modbusPort } = await startBatterySimulator({
      capacityWh: CAPACITY_WH,
      powerW: POWER_W,
      initialSocPct: 50,
      roundTripEfficiency: ROUND_TRIP,
    }));

    pricesStart = Math.floor(Date.now() / 10_000) * 10_000;
    // Rising while cheap and falling while dear: acting sooner is strictly better, so the plan has no
    // ties to postpone (with flat prices an LP may idle now and act later, and a rolling horizon
    // keeps postponing while the flat stretch outlasts the horizon).
    const cheap = Array.from({ length: CHEAP_S / 10 }, (_, k) => 10 + k);
    const dear = Array.from({ length: 60 }, (_, k) => 400 - k);
    config = parseConfig(
      dispatchGatewayYaml({
        modbusPort,
        intervalSeconds: INTERVAL_S,
        horizonMinutes: 3,
        roundTripEfficiency: ROUND_TRIP,
        prices: { start: pricesStart, intervalSeconds: 10, usdPerMwh: [...cheap, ...dear] },
      }),
      join(temp.dir(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }) });
  });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
  });

  const planAndSetpointW = (netW: number, what: string) => planAndSetpoint(gateway, modbusPort, netW, what);
  const measuredSlope = (from: number, powerW: number) => measuredSocSlope(gateway, CAPACITY_WH, from, powerW);

  test('the plan charges while prices are low; the setpoint reaches the battery and its SoC follows the plan', async () => {
    const plan = await planAndSetpointW(-POWER_W, 'charges at full power');
    assert.equal(plan.status, 'ok');
    assert.deepEqual(plan.leftOut, []);
    const battery = planOf(plan, 'bat-1');
    assert.ok(battery);
    assert.equal(battery.usableKwh, CAPACITY_WH / 1000);
    assert.equal(battery.socMinPct, 5);
    assert.equal(battery.socMaxPct, 95);
    assert.ok(battery.eventId, 'the plan wrote its event');
    assert.deepEqual(plan.events, [{ deviceId: 'bat-1', eventId: battery.eventId, intervals: 2 }]);
    assert.ok(plan.solver && plan.solver.columns > 0, 'solver figures are kept');
    assert.ok(plan.prices.energyUsdPerMwh[0] !== undefined && plan.prices.energyUsdPerMwh[0] < 400);
    assert.ok(
      battery.intervals.some((i) => i.dischargeKw > 2),
      'the same plan discharges later, when prices are high',
    );
    assert.ok(battery.wear.rainflowCycles > 0 && battery.wear.lifeConsumed > 0, 'wear of the planned SoC trace');

    // The engine's command for the plan's setpoint is confirmed by read-back.
    const confirmed = await confirmedFixedW(gateway, -POWER_W);
    assert.equal(confirmed.setpoint.source.kind, 'market');
    assert.equal(confirmed.setpoint.source.primacy, 200);

    const measured = await waitFor(() => measuredSlope(confirmed.createdAt, -POWER_W), 'SoC readings while charging');
    const planned = plannedSocSlope(plan);
    assert.ok(planned > 0);
    assert.ok(
      Math.abs(measured - planned) <= ONE_WAY_LOSS * planned,
      `SoC rises at ${(measured * 3.6e6).toFixed(1)} W into the cells, the plan says ${(planned * 3.6e6).toFixed(1)} W`,
    );
  });

  test('when prices are high the plan discharges and the SoC falls at the planned rate', async () => {
    const plan = await planAndSetpointW(POWER_W, 'discharges at full power');
    assert.equal(plan.solver?.warm, true, 'a re-plan with the same structure re-solves the kept model warm');
    const since = Date.now();
    const measured = await waitFor(() => measuredSlope(since, POWER_W), 'SoC readings while discharging');
    const planned = plannedSocSlope(plan);
    assert.ok(planned < 0);
    assert.ok(
      Math.abs(measured - planned) <= ONE_WAY_LOSS * -planned,
      `SoC falls at ${(measured * 3.6e6).toFixed(1)} W out of the cells, the plan says ${(planned * 3.6e6).toFixed(1)} W`,
    );
  });

  test('a utility control overrides the plan and the next plan is solved around it', async () => {
    await gateway.registry.createProgram(
      { id: 'utility', name: 'Utility DER program', kind: 'grid-support', source: 'ieee2030.5', primacy: 10 },
      'test',
    );
    const start = Date.now();
    const end = start + 40_000;
    const event = await gateway.control.submitEvent({
      id: 'utility-charge',
      programId: 'utility',
      source: 'ieee2030.5',
      primacy: 10,
      intervals: [{ start, durationS: 40, signals: [{ kind: 'fixedW', value: -1000 }] }],
      targets: { deviceIds: ['bat-1'] },
      status: 'scheduled',
      statusHistory: [],
      createdAt: start,
    });

    // The engine gives the battery the utility's power: it wins over the dispatch event.
    await waitFor(async () => ((await batteryWSet(modbusPort, 1)) === -1000 ? true : undefined), 'WSet -1000 W');
    const decision = gateway.control.decisions().find((d) => d.key === 'device:bat-1|fixedW');
    assert.equal(decision?.winner?.ref, event.id);
    assert.ok(
      decision?.losers.some((l) => l.intent.source === 'market'),
      'the dispatch event lost',
    );

    // The next plan holds the battery at the utility's power over the window and plans the rest around it.
    const plan = await waitFor(async () => {
      const latest = await latestPlan(gateway);
      return latest.createdAt >= start && planOf(latest, 'bat-1')?.overrides.some((o) => o.ref === event.id)
        ? latest
        : undefined;
    }, 'a plan solved around the utility control');
    const battery = planOf(plan, 'bat-1');
    assert.ok(battery);
    const inside = battery.intervals.filter((i) => i.start >= start && i.end <= end);
    assert.ok(inside.length >= 2, `intervals inside the window: ${inside.length}`);
    for (const interval of inside) {
      assert.equal(
        interval.netKw,
        -1,
        `planned power in the utility window at ${new Date(interval.start).toISOString()}`,
      );
      assert.equal(interval.chargeKw, 1);
      assert.equal(interval.dischargeKw, 0);
    }
    assert.equal(battery.overrides.filter((o) => o.ref === event.id).length, 1, 'listed once (intent and decision)');
    const override = battery.overrides.find((o) => o.ref === event.id);
    assert.deepEqual(
      override && { source: override.source, type: override.type, value: override.value, minKw: override.minKw },
      { source: 'ieee2030.5', type: 'fixedW', value: -1000, minKw: -1 },
    );
    assert.ok(
      battery.intervals.some((i) => i.start >= end && i.dischargeKw > 2),
      'after the window the plan discharges again (prices are still high)',
    );
    assert.ok(
      plan.triggers.some((t) => t === 'program-event' || t === 'overridden'),
      `re-planned on the event: ${plan.triggers.join(', ')}`,
    );

    // One battery's plan next to its actual SoC, for the console.
    const view = (await apiGet(gateway.address, '/api/devices/bat-1/plan')) as {
      planned: unknown[];
      executed: unknown[];
      actual: { socPct: unknown[]; powerW: unknown[] };
      battery: { deviceId: string };
    };
    assert.equal(view.battery.deviceId, 'bat-1');
    assert.ok(view.planned.length > 0 && view.executed.length > 2 && view.actual.socPct.length > 0);
  });
});
