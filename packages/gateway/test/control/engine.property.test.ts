/**
 * Engine-level property test: seeded random fleets (PV and batteries with random SoC and limits,
 * some offline, some with stale telemetry, some batteries with only readings from before the
 * engine started) and random targets (a site export limit behind a meter, or a group fixedW /
 * exportLimit / importLimit) go through the real ControlEngine, store, bus and CommandExecutor
 * with fake adapters. Checked from outside the engine:
 * - no issued setpoint breaks a device's power limits, and holding a battery setpoint for its
 *   whole life (start to expiry) keeps the SoC between floor and ceiling;
 * - offline and stale devices get no setpoint and are named in the decision;
 * - whenever the fleet can meet the target (feasibility computed here from the devices' limits),
 *   the outputs the issued setpoints lead to meet it, and the decision says so.
 * A failure names its seed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeviceDescription, Setpoint } from '@gridseam/model';
import { HOUR, type Loop, loop, METER, T0 } from './engine-support.ts';
import { type Random, seededRandom } from './prng.ts';

const CASES = 60;
const STALE_AFTER_MS = 60_000;
const PERIOD_MS = 60_000;
const MARGIN_MS = 30_000;
const LIFETIME_H = (PERIOD_MS + MARGIN_MS) / HOUR;
/** The instant of the tick: the engine started at T0. */
const NOW = T0 + 5000;
/** Slack of one device's limit check, W and %. */
const EPS_W = 1e-6;
const EPS_SOC = 1e-6;

type Health = 'fresh' | 'offline' | 'stale' | 'before-start';

interface PvCase {
  kind: 'pv';
  id: string;
  ratingW: number;
  availableW: number;
  health: Health;
}

interface BatteryCase {
  kind: 'battery';
  id: string;
  maxW: number;
  maxChargeW: number;
  maxDischargeW: number;
  /** The BMS's present limits in telemetry, when it reports them. */
  derateChargeW?: number;
  derateDischargeW?: number;
  capacityWh: number;
  floorPct?: number;
  ceilingPct?: number;
  efficiency?: number;
  socPct: number;
  presentW: number;
  health: Health;
}

type DeviceCase = PvCase | BatteryCase;

type Target =
  | { scope: 'site'; kind: 'exportLimit'; valueW: number; loadW: number; meterFresh: boolean }
  | { scope: 'group'; kind: 'fixedW' | 'exportLimit' | 'importLimit'; valueW: number };

/** A battery's power range over one setpoint life, from its limits and SoC (generator convention). */
function batteryRange(b: BatteryCase): { low: number; high: number } {
  const floor = b.floorPct ?? 0;
  const ceiling = b.ceilingPct ?? 100;
  const chargePower = Math.min(b.maxChargeW, b.derateChargeW ?? Number.POSITIVE_INFINITY, b.maxW);
  const dischargePower = Math.min(b.maxDischargeW, b.derateDischargeW ?? Number.POSITIVE_INFINITY, b.maxW);
  const chargeEnergyW = ((Math.max(0, ceiling - b.socPct) / 100) * b.capacityWh) / LIFETIME_H;
  const dischargeEnergyW =
    ((Math.max(0, b.socPct - floor) / 100) * b.capacityWh * Math.sqrt(b.efficiency ?? 1)) / LIFETIME_H;
  return { low: -Math.min(chargePower, chargeEnergyW), high: Math.min(dischargePower, dischargeEnergyW) };
}

function randomPv(random: Random, id: string): PvCase {
  const ratingW = random.range(2000, 10_000);
  return {
    kind: 'pv',
    id,
    ratingW,
    availableW: random.chance(0.1) ? 0 : random.range(0, ratingW),
    health: random.pick<Health>(['fresh', 'fresh', 'fresh', 'fresh', 'fresh', 'offline', 'stale', 'before-start']),
  };
}

function randomBattery(random: Random, id: string): BatteryCase {
  const battery: BatteryCase = {
    kind: 'battery',
    id,
    maxW: random.range(2000, 8000),
    maxChargeW: random.chance(0.05) ? 0 : random.range(500, 8000),
    maxDischargeW: random.chance(0.05) ? 0 : random.range(500, 8000),
    capacityWh: random.range(1000, 20_000),
    socPct: random.pick([0, 100, random.range(0, 100), random.range(0, 100), random.range(0, 100)]),
    presentW: 0,
    health: random.pick<Health>(['fresh', 'fresh', 'fresh', 'fresh', 'fresh', 'offline', 'stale', 'before-start']),
  };
  if (random.chance(0.6)) battery.floorPct = random.range(0, 30);
  if (random.chance(0.6)) battery.ceilingPct = random.range(70, 100);
  if (random.chance(0.5)) battery.efficiency = random.range(0.8, 1);
  if (random.chance(0.2)) battery.derateChargeW = random.range(0, battery.maxChargeW);
  if (random.chance(0.2)) battery.derateDischargeW = random.range(0, battery.maxDischargeW);
  if (battery.socPct === battery.floorPct || random.chance(0.1)) battery.socPct = battery.floorPct ?? 0;
  if (random.chance(0.4)) {
    const { low, high } = batteryRange(battery);
    battery.presentW = random.range(low, high) * 0.9;
  }
  return battery;
}

function description(d: DeviceCase): DeviceDescription {
  if (d.kind === 'pv')
    return { class: 'pv-inverter', capabilities: { controls: ['generationLimit'], ratings: { maxW: d.ratingW } } };
  return {
    class: 'battery',
    capabilities: {
      controls: ['fixedW'],
      ratings: { maxW: d.maxW },
      storage: {
        capacityWh: d.capacityWh,
        maxChargeW: d.maxChargeW,
        maxDischargeW: d.maxDischargeW,
        ...(d.floorPct !== undefined ? { socMinPct: d.floorPct } : {}),
        ...(d.ceilingPct !== undefined ? { socMaxPct: d.ceilingPct } : {}),
        ...(d.efficiency !== undefined ? { roundTripEfficiency: d.efficiency } : {}),
      },
    },
  };
}

/** When a device's readings were taken, by its health: 'before-start' is fresh by age, but older than the engine. */
function readingTime(random: Random, health: Health): number {
  if (health === 'stale') return NOW - STALE_AFTER_MS - random.range(1000, 600_000);
  if (health === 'before-start') return T0 - random.range(1000, STALE_AFTER_MS - NOW + T0 - 1000);
  return NOW - random.range(0, NOW - T0);
}

/** What a device puts out now (generator convention). */
function actualW(d: DeviceCase): number {
  return d.kind === 'pv' ? d.availableW : d.presentW;
}

/** Whether the engine may plan with a device: online, and telemetry it counts. */
function usable(d: DeviceCase): boolean {
  if (d.health === 'fresh') return true;
  // A PV reading from before the start still counts while it is fresh by age: a cap is safe whatever
  // the batteries do. A battery's does not: its setpoint depends on its SoC.
  return d.health === 'before-start' && d.kind === 'pv';
}

function range(d: DeviceCase): { low: number; high: number } {
  return d.kind === 'pv' ? { low: 0, high: d.availableW } : batteryRange(d);
}

/** The output a device has after the tick: its last setpoint applied to what it does now. */
function outputAfter(d: DeviceCase, applied: readonly Setpoint[]): number {
  const last = applied.at(-1);
  if (last === undefined) return actualW(d);
  if (d.kind === 'pv') {
    assert.equal(last.kind, 'generationLimit');
    return Math.min(d.availableW, last.value);
  }
  assert.equal(last.kind, 'fixedW');
  return last.value;
}

function checkSetpoint(d: DeviceCase, setpoint: Setpoint, where: string): void {
  if (d.kind === 'pv') {
    assert.equal(setpoint.kind, 'generationLimit', where);
    assert.ok(setpoint.value >= 0 && setpoint.value <= d.ratingW + EPS_W, `${where}: PV cap ${setpoint.value}`);
    return;
  }
  assert.equal(setpoint.kind, 'fixedW', where);
  const v = setpoint.value;
  const chargePower = Math.min(d.maxChargeW, d.derateChargeW ?? Number.POSITIVE_INFINITY, d.maxW);
  const dischargePower = Math.min(d.maxDischargeW, d.derateDischargeW ?? Number.POSITIVE_INFINITY, d.maxW);
  assert.ok(v >= -chargePower - EPS_W, `${where}: charges ${-v} W over its ${chargePower} W limit`);
  assert.ok(v <= dischargePower + EPS_W, `${where}: discharges ${v} W over its ${dischargePower} W limit`);
  // Held from start to expiry, the setpoint moves this much energy through the cell.
  const hours = (setpoint.expiry - setpoint.start) / HOUR;
  if (v > 0) {
    const drawnWh = (v * hours) / Math.sqrt(d.efficiency ?? 1);
    const end = d.socPct - (drawnWh / d.capacityWh) * 100;
    assert.ok(end >= (d.floorPct ?? 0) - EPS_SOC, `${where}: SoC ${d.socPct} % would end at ${end} % below its floor`);
  } else if (v < 0) {
    const end = d.socPct + ((-v * hours) / d.capacityWh) * 100;
    assert.ok(
      end <= (d.ceilingPct ?? 100) + EPS_SOC,
      `${where}: SoC ${d.socPct} % would end at ${end} % above its ceiling`,
    );
  }
}

async function build(l: Loop, random: Random, devices: readonly DeviceCase[], target: Target): Promise<void> {
  await l.registry.createSite({ id: 's1', name: 'Site 1' }, 'test');
  await l.registry.createProgram(
    { id: 'p-utility', name: 'Utility', kind: 'dynamic-export', source: 'ieee2030.5', primacy: 1 },
    'test',
  );
  if (target.scope === 'group') await l.registry.createGroup({ id: 'g1', name: 'VPP', kind: 'group' }, 'test');
  for (const d of devices) {
    await l.addDevice(d.id, 's1', description(d));
    if (target.scope === 'group') await l.registry.addMember('g1', { deviceId: d.id, validFrom: T0 - HOUR }, 'test');
    const ts = readingTime(random, d.health);
    if (d.kind === 'pv') await l.feed(d.id, { activePower: d.availableW }, ts);
    else
      await l.feed(
        d.id,
        {
          activePower: d.presentW,
          stateOfCharge: d.socPct,
          ...(d.derateChargeW !== undefined ? { maxChargePower: d.derateChargeW } : {}),
          ...(d.derateDischargeW !== undefined ? { maxDischargePower: d.derateDischargeW } : {}),
        },
        ts,
      );
    if (d.health === 'offline')
      await l.bus.publish('device.state', { deviceId: d.id, at: T0, online: false }, { key: d.id });
  }
  if (target.scope === 'site') {
    await l.addDevice('m1', 's1', METER);
    const meterW = devices.reduce((sum, d) => sum + actualW(d), 0) - target.loadW;
    await l.feed('m1', { activePower: meterW }, target.meterFresh ? NOW - 1000 : NOW - STALE_AFTER_MS - 5000);
  }
  await l.engine.submitEvent(
    l.event('e1', {
      targets: target.scope === 'site' ? { siteIds: ['s1'] } : { groupIds: ['g1'] },
      intervals: [{ start: T0, durationS: 3600, signals: [{ kind: target.kind, value: target.valueW }] }],
    }),
  );
}

function randomTarget(random: Random): Target {
  if (random.chance(0.5))
    return {
      scope: 'site',
      kind: 'exportLimit',
      valueW: random.chance(0.1) ? 0 : random.range(0, 10_000),
      loadW: random.range(0, 8000),
      meterFresh: random.chance(0.85),
    };
  const kind = random.pick(['fixedW', 'exportLimit', 'importLimit'] as const);
  return { scope: 'group', kind, valueW: kind === 'fixedW' ? random.range(-15_000, 15_000) : random.range(0, 15_000) };
}

describe('ControlEngine: property over random fleets and targets', () => {
  test(`${CASES} seeded cases: limits never broken, stale and offline devices left out, targets met when feasible`, async () => {
    let feasibleCases = 0;
    let excludedSeen = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const random = seededRandom(seed * 7919);
      const devices: DeviceCase[] = [];
      for (let i = random.int(0, 4); i > 0; i--) devices.push(randomPv(random, `pv${devices.length}`));
      for (let i = random.int(1, 5); i > 0; i--) devices.push(randomBattery(random, `bat${devices.length}`));
      const target = randomTarget(random);
      const where = `seed ${seed}`;
      const l = await loop({ engine: { staleAfterMs: STALE_AFTER_MS, periodMs: PERIOD_MS, marginMs: MARGIN_MS } });
      try {
        await build(l, random, devices, target);
        l.clock.t = NOW;
        await l.tick();

        const key = target.scope === 'site' ? `site:s1|${target.kind}` : `group:g1|${target.kind}`;
        const decision = l.engine.decisions().find((d) => d.key === key);
        assert.ok(decision?.allocation, `${where}: a decision with an allocation`);

        // Limits, and nothing for devices the engine must not plan with.
        let setpoints = 0;
        const expectedExcluded: string[] = [];
        for (const d of devices) {
          const applied = l.devices.get(d.id)?.applied ?? [];
          setpoints += applied.length;
          if (!usable(d)) {
            expectedExcluded.push(d.id);
            assert.deepEqual(applied, [], `${where}: ${d.id} (${d.health}) got a setpoint`);
          }
          for (const setpoint of applied) checkSetpoint(d, setpoint, `${where}: ${d.id}`);
        }
        excludedSeen += expectedExcluded.length;
        const excluded = decision.allocation.excluded;
        assert.deepEqual(excluded.map((e) => e.deviceId).sort(), expectedExcluded.sort(), `${where}: excluded`);
        for (const e of excluded) {
          const d = devices.find((x) => x.id === e.deviceId)!;
          assert.match(e.reason, d.health === 'offline' ? /^offline$/ : /^stale: /, `${where}: ${e.deviceId}`);
        }

        // The target, from the outputs the setpoints lead to, whenever the fleet can meet it.
        const tolerance = 1 + setpoints; // whole-watt rounding toward the safe side, per setpoint
        const included = devices.filter(usable);
        const low = included.reduce((sum, d) => sum + range(d).low, 0);
        const high = included.reduce((sum, d) => sum + range(d).high, 0);
        const after = included.reduce((sum, d) => sum + outputAfter(d, l.devices.get(d.id)?.applied ?? []), 0);
        let feasible: boolean;
        let met: boolean;
        let slack: number;
        if (target.scope === 'site' && target.meterFresh) {
          // The meter sees every device, including those the engine leaves alone.
          const untouched = devices.filter((d) => !usable(d)).reduce((sum, d) => sum + actualW(d), 0);
          slack = target.valueW - (untouched + low - target.loadW);
          feasible = slack >= 0;
          met = untouched + after - target.loadW <= target.valueW + tolerance;
        } else if (target.scope === 'site') {
          // No fresh meter: the engine assumes no site load, and can answer only for what it plans.
          slack = target.valueW - low;
          feasible = slack >= 0;
          met = after <= target.valueW + tolerance;
        } else if (target.kind === 'fixedW') {
          slack = Math.min(target.valueW - low, high - target.valueW);
          feasible = slack >= 0;
          met = Math.abs(after - target.valueW) <= tolerance;
        } else if (target.kind === 'exportLimit') {
          slack = target.valueW - low;
          feasible = slack >= 0;
          met = after <= target.valueW + tolerance;
        } else {
          slack = high + target.valueW;
          feasible = slack >= 0;
          met = after >= -target.valueW - tolerance;
        }
        if (feasible) {
          feasibleCases++;
          assert.ok(
            met,
            `${where}: feasible ${target.scope} ${target.kind} ${target.valueW} W not met (after ${after} W)`,
          );
          assert.equal(decision.allocation.met, true, `${where}: the decision reports the target met`);
        } else if (slack < -tolerance) {
          assert.equal(decision.allocation.met, false, `${where}: an infeasible target is reported as not met`);
          assert.ok(decision.allocation.shortfallW > 0, `${where}: with its shortfall`);
        }
      } finally {
        await l.close();
      }
    }
    // The generator reaches both sides of every property.
    assert.ok(feasibleCases > CASES / 4, `feasible cases: ${feasibleCases}`);
    assert.ok(feasibleCases < CASES, `infeasible cases: ${CASES - feasibleCases}`);
    assert.ok(excludedSeen > 5, `excluded devices: ${excludedSeen}`);
  });
});
