/**
 * Property tests of allocation over seeded random fleets and targets: limits are never violated
 * (power ratings, SoC floor and ceiling over the setpoint lifetime), the target is met whenever the
 * fleet's headroom allows it (within 1 W) and otherwise the shortfall is reported, and offline
 * devices never get a share. A failure names its seed so it can be replayed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DeviceClass, type SetpointKind, setpointValueProblems } from '@gridseam/model';
import {
  type AggregateTarget,
  type AllocatableDevice,
  allocateAggregate,
  allocateSite,
  DEFAULT_MARGIN_MS,
  type DeviceAllocation,
} from '../../src/control/index.ts';
import { type Random, seededRandom } from './prng.ts';

const NOW = Date.UTC(2025, 5, 1, 10, 0, 0);
const TOLERANCE_W = 1;
/** Slack for floating-point comparisons of a single device's limits. */
const EPS = 1e-6;
const SOC_EPS = 1e-9;
const LOAD_CLASSES: ReadonlySet<DeviceClass> = new Set(['ev-charger', 'water-heater', 'thermostat', 'generic-load']);

function maybe<T>(random: Random, probability: number, value: () => T): T | undefined {
  return random.chance(probability) ? value() : undefined;
}

function withControl(random: Random, kind: SetpointKind): SetpointKind[] {
  return random.chance(0.85) ? [kind] : random.chance(0.5) ? ['connect'] : [];
}

function randomDevice(random: Random, index: number): AllocatableDevice {
  const cls = random.pick<DeviceClass>([
    'battery',
    'battery',
    'battery',
    'pv-inverter',
    'pv-inverter',
    'hybrid-inverter',
    'ev-charger',
    'water-heater',
    'generic-load',
    'thermostat',
    'meter',
  ]);
  const device: AllocatableDevice = { id: `d${index}`, class: cls, online: random.chance(0.85), controls: [] };
  const rating = maybe(random, 0.7, () => random.range(1000, 10_000));
  if (rating !== undefined) device.maxW = rating;
  if (cls === 'battery' || cls === 'hybrid-inverter') {
    device.controls = withControl(random, 'fixedW');
    device.maxChargeW = random.chance(0.1) ? 0 : random.range(500, 8000);
    device.maxDischargeW = random.chance(0.1) ? 0 : random.range(500, 8000);
    const capacity = maybe(random, 0.95, () => random.range(500, 20_000));
    if (capacity !== undefined) device.capacityWh = capacity;
    const floor = maybe(random, 0.7, () => random.range(0, 40));
    const ceiling = maybe(random, 0.7, () => random.range(60, 100));
    if (floor !== undefined) device.socMinPct = floor;
    if (ceiling !== undefined) device.socMaxPct = ceiling;
    // SoC sometimes outside its own floor/ceiling (a battery that drifted).
    const soc = maybe(random, 0.95, () => random.pick([0, 100, random.range(0, 100), random.range(0, 100)]));
    if (soc !== undefined) device.socPct = soc;
    const efficiency = maybe(random, 0.4, () => random.range(0.7, 1));
    if (efficiency !== undefined) device.roundTripEfficiency = efficiency;
    device.powerW = random.range(-8000, 8000);
    if (cls === 'hybrid-inverter') device.availablePvW = random.range(0, 9000);
  } else if (cls === 'pv-inverter') {
    device.controls = withControl(random, 'generationLimit');
    const available = random.range(0, 9000);
    device.availablePvW = available;
    device.powerW = random.chance(0.3) ? random.range(0, available) : available;
  } else if (LOAD_CLASSES.has(cls)) {
    device.controls = withControl(random, cls === 'ev-charger' && random.chance(0.5) ? 'evChargingLimit' : 'loadLimit');
    const maxLoad = maybe(random, 0.8, () => random.range(1000, 11_000));
    if (maxLoad !== undefined) device.maxLoadW = maxLoad;
    device.powerW = -random.range(0, 11_000);
  } else {
    device.powerW = random.range(-20_000, 20_000);
  }
  if (random.chance(0.02)) device.powerW = Number.NaN;
  if (random.chance(0.01)) device.socPct = 150;
  return device;
}

function isInvalid(d: AllocatableDevice): boolean {
  const numbers = [d.powerW, d.socPct, d.maxW, d.maxChargeW, d.maxDischargeW, d.capacityWh, d.availablePvW, d.maxLoadW];
  return numbers.some((n) => n !== undefined && !Number.isFinite(n)) || (d.socPct !== undefined && d.socPct > 100);
}

/**
 * The feasible output range of one device over the lifetime, restated from the documented model
 * (not from the allocator's internals): [low, high] and its baseline; undefined when excluded.
 */
function referenceRange(d: AllocatableDevice, hours: number): { low: number; high: number; base: number } | undefined {
  if (d.class === 'meter' || !d.online || isInvalid(d)) return undefined;
  const rating = d.maxW ?? Number.POSITIVE_INFINITY;
  const fixed = (base: number) => ({ low: base, high: base, base });
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  if (d.class === 'battery' || d.class === 'hybrid-inverter') {
    if (!d.controls.includes('fixedW') || d.socPct === undefined || d.capacityWh === undefined)
      return fixed(d.powerW ?? 0);
    const floor = d.socMinPct ?? 0;
    const ceiling = d.socMaxPct ?? 100;
    const chargeE = ((Math.max(0, ceiling - d.socPct) / 100) * d.capacityWh) / hours;
    const dischargeE =
      ((Math.max(0, d.socPct - floor) / 100) * d.capacityWh * Math.sqrt(d.roundTripEfficiency ?? 1)) / hours;
    const charge = Math.min(d.maxChargeW ?? 0, chargeE, rating);
    const discharge = Math.min(d.maxDischargeW ?? 0, dischargeE, rating);
    const low = -charge;
    const high = d.class === 'hybrid-inverter' ? Math.min(rating, (d.availablePvW ?? 0) + discharge) : discharge;
    return { low, high, base: clamp(d.powerW ?? 0, low, high) };
  }
  if (d.class === 'pv-inverter') {
    const available = clamp(d.availablePvW ?? d.powerW ?? 0, 0, rating);
    return { low: d.controls.includes('generationLimit') ? 0 : available, high: available, base: available };
  }
  if (LOAD_CLASSES.has(d.class)) {
    const base = clamp(d.powerW ?? 0, -(d.maxLoadW ?? Number.POSITIVE_INFINITY), 0);
    const controllable =
      d.controls.includes('loadLimit') || (d.class === 'ev-charger' && d.controls.includes('evChargingLimit'));
    return { low: base, high: controllable ? 0 : base, base };
  }
  return fixed(d.powerW ?? 0);
}

/** Checks every per-device invariant; returns the reference fleet range and the allocated sum. */
function checkDevices(
  devices: readonly AllocatableDevice[],
  allocations: readonly DeviceAllocation[],
  lifetimeMs: number,
  context: string,
): { fleetLow: number; fleetHigh: number; sum: number } {
  const hours = lifetimeMs / 3_600_000;
  let fleetLow = 0;
  let fleetHigh = 0;
  let sum = 0;
  assert.equal(allocations.length, devices.length, context);
  for (let i = 0; i < devices.length; i++) {
    const d = devices[i]!;
    const a = allocations[i]!;
    const where = `${context} device ${d.id} (${d.class})`;
    assert.equal(a.deviceId, d.id, where);
    const range = referenceRange(d, hours);
    if (range === undefined) {
      assert.ok(
        a.excluded === 'offline' || a.excluded === 'meter' || a.excluded === 'invalid-data',
        `${where}: excluded`,
      );
      assert.equal(a.allocatedW, 0, `${where}: an excluded device takes no share`);
      assert.equal(a.setpoint, undefined, `${where}: an excluded device gets no setpoint`);
      if (!d.online && d.class !== 'meter') assert.equal(a.excluded, 'offline', where);
      continue;
    }
    const value = a.allocatedW;
    fleetLow += range.low;
    fleetHigh += range.high;
    sum += value;
    assert.ok(Number.isFinite(value), `${where}: finite`);
    assert.ok(
      value >= range.low - EPS && value <= range.high + EPS,
      `${where}: ${value} outside [${range.low}, ${range.high}]`,
    );
    assert.ok(Math.abs(a.minW - range.low) <= EPS && Math.abs(a.maxW - range.high) <= EPS, `${where}: range agrees`);
    // Physical limits, stated directly.
    if ((d.class === 'battery' || d.class === 'hybrid-inverter') && a.excluded === undefined) {
      // A controlled battery (one the allocator may move): every planned output is physically safe.
      const rating = d.maxW ?? Number.POSITIVE_INFINITY;
      assert.ok(Math.abs(value) <= rating + EPS, `${where}: within the inverter rating`);
      const pv = d.class === 'hybrid-inverter' ? (d.availablePvW ?? 0) : 0;
      {
        // Battery power implied by the setpoint: charge -value (PV may be curtailed), discharge value - PV.
        const chargeW = Math.max(0, -value);
        const dischargeW = Math.max(0, value - pv);
        assert.ok(chargeW <= (d.maxChargeW ?? 0) + EPS, `${where}: charge power`);
        assert.ok(dischargeW <= (d.maxDischargeW ?? 0) + EPS, `${where}: discharge power`);
        const soc = d.socPct!;
        const capacity = d.capacityWh!;
        const socAfterCharge = soc + ((chargeW * hours) / capacity) * 100;
        const socAfterDischarge = soc - ((dischargeW * hours) / Math.sqrt(d.roundTripEfficiency ?? 1) / capacity) * 100;
        assert.ok(socAfterCharge <= Math.max(d.socMaxPct ?? 100, soc) + SOC_EPS, `${where}: SoC ceiling`);
        assert.ok(socAfterDischarge >= Math.min(d.socMinPct ?? 0, soc) - SOC_EPS, `${where}: SoC floor`);
      }
    } else if (d.class === 'pv-inverter') {
      assert.ok(value >= -EPS && value <= (d.availablePvW ?? 0) + EPS, `${where}: PV within [0, available]`);
    } else if (LOAD_CLASSES.has(d.class)) {
      assert.ok(value <= EPS, `${where}: a load never generates`);
    }
    const setpoint = a.setpoint;
    if (setpoint !== undefined) {
      assert.equal(a.excluded, undefined, `${where}: only controllable devices get setpoints`);
      assert.ok(d.controls.includes(setpoint.kind), `${where}: ${setpoint.kind} is one of its controls`);
      assert.deepEqual(setpointValueProblems(setpoint), [], `${where}: a valid setpoint`);
      assert.equal(setpoint.start, NOW, where);
      assert.equal(setpoint.expiry, NOW + lifetimeMs, `${where}: expiry = now + period + margin`);
      const expected =
        setpoint.kind === 'fixedW' || setpoint.kind === 'generationLimit'
          ? value
          : setpoint.kind === 'loadLimit' || setpoint.kind === 'evChargingLimit'
            ? -value
            : Number.NaN;
      assert.ok(
        Math.abs(setpoint.value - Math.max(setpoint.kind === 'fixedW' ? -Infinity : 0, expected)) <= EPS,
        `${where}: value`,
      );
    }
  }
  return { fleetLow, fleetHigh, sum };
}

/**
 * Storage goes first: PV is curtailed only once every controlled battery charges at its limit, and
 * load is reduced only once every controlled battery discharges at its limit.
 */
function checkTierOrder(
  devices: readonly AllocatableDevice[],
  allocations: readonly DeviceAllocation[],
  direction: 'down' | 'up' | 'none',
  context: string,
): void {
  if (direction === 'none') return;
  let secondTierUsed = false;
  for (let i = 0; i < devices.length; i++) {
    const a = allocations[i]!;
    if (a.excluded !== undefined) continue;
    const cls = devices[i]!.class;
    if (direction === 'down' && cls === 'pv-inverter' && a.allocatedW < a.baselineW - EPS) secondTierUsed = true;
    if (direction === 'up' && LOAD_CLASSES.has(cls) && a.allocatedW > a.baselineW + EPS) secondTierUsed = true;
  }
  if (!secondTierUsed) return;
  for (let i = 0; i < devices.length; i++) {
    const a = allocations[i]!;
    if (a.excluded !== undefined || devices[i]!.class !== 'battery') continue;
    if (direction === 'down') assert.ok(a.allocatedW <= a.minW + EPS, `${context}: ${a.deviceId} could still charge`);
    else assert.ok(a.allocatedW >= a.maxW - EPS, `${context}: ${a.deviceId} could still discharge`);
  }
}

function randomTiming(random: Random): { periodMs: number; marginMs?: number; lifetimeMs: number } {
  const periodMs = random.int(10, 3600) * 1000;
  const marginMs = maybe(random, 0.5, () => random.int(0, 120) * 1000);
  return marginMs === undefined
    ? { periodMs, lifetimeMs: periodMs + DEFAULT_MARGIN_MS }
    : { periodMs, marginMs, lifetimeMs: periodMs + marginMs };
}

/** The sum the allocation should reach: inside [low, high] when the fleet can, else the nearest end. */
function checkTarget(
  low: number,
  high: number,
  fleetLow: number,
  fleetHigh: number,
  sum: number,
  summary: { met: boolean; shortfallW: number; allocatedW: number },
  context: string,
): 'met' | 'short' {
  assert.ok(Math.abs(summary.allocatedW - sum) <= TOLERANCE_W, `${context}: summary sum`);
  const feasible = fleetLow <= high + TOLERANCE_W && fleetHigh >= low - TOLERANCE_W;
  if (feasible) {
    assert.ok(sum >= low - TOLERANCE_W && sum <= high + TOLERANCE_W, `${context}: ${sum} not in [${low}, ${high}]`);
    return 'met';
  }
  const nearest = fleetHigh < low ? fleetHigh : fleetLow;
  const distance = fleetHigh < low ? low - fleetHigh : fleetLow - high;
  assert.ok(Math.abs(sum - nearest) <= TOLERANCE_W, `${context}: infeasible, ${sum} should be ${nearest}`);
  assert.equal(summary.met, false, `${context}: infeasible reported`);
  assert.ok(
    Math.abs(summary.shortfallW - distance) <= TOLERANCE_W,
    `${context}: shortfall ${summary.shortfallW} vs ${distance}`,
  );
  return 'short';
}

describe('allocation properties', () => {
  it('aggregate targets over 3,000 random fleets', () => {
    const tally = { met: 0, short: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const random = seededRandom(seed);
      const devices = Array.from({ length: random.int(1, 40) }, (_, i) => randomDevice(random, i));
      const timing = randomTiming(random);
      const hours = timing.lifetimeMs / 3_600_000;
      let refLow = 0;
      let refHigh = 0;
      for (const d of devices) {
        const r = referenceRange(d, hours);
        if (r) {
          refLow += r.low;
          refHigh += r.high;
        }
      }
      const span = refHigh - refLow;
      const kind = random.pick<AggregateTarget['kind']>(['fixedW', 'exportLimit', 'importLimit']);
      const raw = random.range(refLow - 0.3 * span - 2000, refHigh + 0.3 * span + 2000);
      const valueW = kind === 'fixedW' ? raw : kind === 'exportLimit' ? Math.abs(raw) : Math.abs(raw);
      const target: AggregateTarget = { kind, valueW, now: NOW, periodMs: timing.periodMs };
      if (timing.marginMs !== undefined) target.marginMs = timing.marginMs;
      const context = `seed ${seed} ${kind} ${valueW.toFixed(1)}`;
      const result = allocateAggregate(target, devices);
      const { fleetLow, fleetHigh, sum } = checkDevices(devices, result.devices, timing.lifetimeMs, context);
      checkTierOrder(devices, result.devices, result.summary.direction, context);
      const low = kind === 'fixedW' ? valueW : kind === 'importLimit' ? -valueW : Number.NEGATIVE_INFINITY;
      const high = kind === 'fixedW' ? valueW : kind === 'exportLimit' ? valueW : Number.POSITIVE_INFINITY;
      tally[checkTarget(low, high, fleetLow, fleetHigh, sum, result.summary, context)]++;
    }
    // The generator must exercise both outcomes, or the property says little.
    assert.ok(tally.met > 500 && tally.short > 200, `coverage: ${JSON.stringify(tally)}`);
  });

  it('site limits over 1,500 random sites', () => {
    const tally = { met: 0, short: 0 };
    for (let seed = 10_001; seed <= 11_500; seed++) {
      const random = seededRandom(seed);
      const devices = Array.from({ length: random.int(1, 25) }, (_, i) => randomDevice(random, i)).filter(
        (d) => d.class !== 'meter',
      );
      const timing = randomTiming(random);
      const loadW = random.range(0, 15_000);
      let presentW = 0;
      for (const d of devices) {
        const r = referenceRange(d, timing.lifetimeMs / 3_600_000);
        if (r) presentW += d.powerW ?? 0;
      }
      devices.push({ id: 'site-meter', class: 'meter', online: true, controls: [], powerW: presentW - loadW });
      const exportLimitW = maybe(random, 0.7, () => random.range(0, 10_000));
      const importLimitW = maybe(random, 0.5, () => random.range(0, 10_000));
      const fixedW = maybe(random, 0.15, () => random.range(-10_000, 10_000));
      const connection = maybe(random, 0.3, () => ({ exportLimitW: random.range(0, 10_000) }));
      const context = `seed ${seed}`;
      const result = allocateSite({ id: 'site', ...(connection ? { connection } : {}) }, devices, {
        now: NOW,
        periodMs: timing.periodMs,
        ...(timing.marginMs === undefined ? {} : { marginMs: timing.marginMs }),
        ...(exportLimitW === undefined ? {} : { exportLimitW }),
        ...(importLimitW === undefined ? {} : { importLimitW }),
        ...(fixedW === undefined ? {} : { fixedW }),
      });
      assert.ok(Math.abs(result.siteLoadW - loadW) <= 1e-6 * Math.max(1, loadW), `${context}: site load`);
      const { fleetLow, fleetHigh, sum } = checkDevices(devices, result.devices, timing.lifetimeMs, context);
      const exportLimit = Math.min(exportLimitW ?? Infinity, connection?.exportLimitW ?? Infinity);
      const importLimit = importLimitW ?? Infinity;
      let lowExport = -importLimit;
      let highExport = exportLimit;
      if (fixedW !== undefined) {
        lowExport = highExport = Math.min(Math.max(fixedW, -importLimit), exportLimit);
      }
      checkTierOrder(devices, result.devices, result.summary.direction, context);
      assert.ok(Math.abs(result.plannedExportW - (sum - loadW)) <= TOLERANCE_W, `${context}: planned export`);
      tally[checkTarget(lowExport + loadW, highExport + loadW, fleetLow, fleetHigh, sum, result.summary, context)]++;
    }
    assert.ok(tally.met > 300 && tally.short > 50, `coverage: ${JSON.stringify(tally)}`);
  });

  it('offline devices never get a share, and their share goes to the others', () => {
    for (let seed = 20_001; seed <= 21_000; seed++) {
      const random = seededRandom(seed);
      const count = random.int(2, 30);
      const devices: AllocatableDevice[] = Array.from({ length: count }, (_, i) => ({
        id: `b${i}`,
        class: 'battery',
        online: true,
        controls: ['fixedW'],
        maxChargeW: random.range(1000, 5000),
        maxDischargeW: random.range(1000, 5000),
        capacityWh: random.range(5000, 15_000),
        socPct: random.range(20, 80),
        powerW: 0,
      }));
      const offline = new Set(random.shuffle(devices.map((d) => d.id)).slice(0, random.int(1, count - 1)));
      const fleet = devices.map((d) => (offline.has(d.id) ? { ...d, online: false } : d));
      const online = fleet.filter((d) => d.online);
      const capacity = online.reduce((total, d) => total + (d.maxDischargeW ?? 0), 0);
      const valueW = random.range(0, capacity);
      const result = allocateAggregate({ kind: 'fixedW', valueW, now: NOW, periodMs: 60_000 }, fleet);
      let sum = 0;
      for (const a of result.devices) {
        if (offline.has(a.deviceId)) {
          assert.equal(a.excluded, 'offline', `seed ${seed}`);
          assert.equal(a.allocatedW, 0, `seed ${seed}`);
          assert.equal(a.setpoint, undefined, `seed ${seed}`);
        } else sum += a.allocatedW;
      }
      assert.ok(Math.abs(sum - valueW) <= TOLERANCE_W, `seed ${seed}: online devices carry the whole target`);
      assert.equal(result.summary.met, true, `seed ${seed}`);
    }
  });
});
