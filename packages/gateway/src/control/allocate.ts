/**
 * Allocation: turns a site limit or an aggregate target into per-device setpoints, capability-
 * and SoC-aware. Pure: no clock, no I/O; the caller passes `now`.
 *
 * Model. Each included device has a baseline b (what it does this period if left alone: PV at its
 * available power, others at their present power, or the caller's `baselineW`) and a feasible
 * output range [min, max] over the setpoint's LIFETIME (period + margin, because a setpoint holds
 * until it expires even if the gateway goes quiet):
 * - battery (needs fixedW): charge down to -min(maxChargeW, maxW, energy to the SoC ceiling / lifetime),
 *   discharge up to min(maxDischargeW, maxW, energy above the SoC floor x sqrt(efficiency) / lifetime);
 * - hybrid inverter (needs fixedW): PV curtailable to 0 plus its battery as above, within maxW;
 * - PV inverter (needs generationLimit): curtailable from its available power down to 0;
 * - controllable load (loadLimit, or evChargingLimit for an EV charger): consumption reducible to 0;
 * - anything else online counts at its baseline and is not controlled.
 * An unknown limit is 0 headroom, never unlimited. Offline devices, devices whose telemetry is stale
 * (the caller decides what stale means) and devices with malformed data are excluded (they take no
 * share, which goes to the others); meters are never allocated, and a stale meter counts as absent.
 *
 * The target bounds the summed output: sum in [low, high]. When the baseline sum is above `high`
 * the excess is removed tier by tier, storage charging first and PV curtailment only after it
 * (free energy is stored before it is thrown away); when below `low` the gap is filled by storage
 * discharge first, then load reduction. Within a tier each device moves in proportion to its
 * headroom in that direction, so no device passes its limits and a device that would reach its
 * SoC floor within the lifetime gets less. Whatever the tiers cannot cover is the shortfall.
 *
 * The hot path runs over typed arrays (prepareFleet, solveFleet), so 100,000 devices take a few
 * milliseconds; the object results are built once at the end.
 */
import { type Device, GridseamError, type SetpointKind } from '@gridseam/model';
import type {
  AggregateAllocation,
  AggregateTarget,
  AllocatableDevice,
  AllocationSite,
  AllocationSummary,
  AllocationTier,
  AllocationTiming,
  ControlType,
  DeviceAllocation,
  DeviceRole,
  ExclusionReason,
  SetpointRequestOut,
  SiteAllocation,
  SiteConstraints,
  TierUse,
} from './types.ts';

/** Default extra lifetime of an allocation's setpoints beyond the control period, ms. */
export const DEFAULT_MARGIN_MS = 30_000;
/** Below this a change of output is not worth a setpoint, W. */
const CHANGE_EPSILON_W = 0.001;
const MS_PER_HOUR = 3_600_000;

// Role and exclusion codes of the typed-array fleet.
const ROLE_FIXED = 0;
const ROLE_STORAGE = 1;
const ROLE_HYBRID = 2;
const ROLE_PV = 3;
const ROLE_LOAD = 4;
const ROLE_METER = 5;
const ROLE_NAMES: readonly DeviceRole[] = ['fixed', 'storage', 'hybrid', 'pv', 'load', 'meter'];

const EXCLUDED_NONE = 0;
const EXCLUDED_OFFLINE = 1;
const EXCLUDED_STALE = 2;
const EXCLUDED_INVALID = 3;
const EXCLUDED_METER = 4;
/** Counted at its baseline, but not controlled. */
const UNCONTROLLED_NO_SOC = 5;
const UNCONTROLLED_NO_CONTROL = 6;
const EXCLUSION_NAMES: readonly (ExclusionReason | undefined)[] = [
  undefined,
  'offline',
  'stale',
  'invalid-data',
  'meter',
  'no-soc',
  'not-controllable',
];

const LOAD_CLASSES: ReadonlySet<string> = new Set(['ev-charger', 'water-heater', 'thermostat', 'generic-load']);

const KIND_NONE = 0;
const KIND_FIXED_W = 1;
const KIND_GENERATION_LIMIT = 2;
const KIND_LOAD_LIMIT = 3;
const KIND_EV_CHARGING_LIMIT = 4;

/** A fleet prepared for allocation: one slot per input device, in input order. */
export interface PreparedFleet {
  count: number;
  role: Uint8Array;
  /** 0 included and controllable; see EXCLUSION codes (1..4 take no share; 5, 6 count at baseline). */
  status: Uint8Array;
  setpointKind: Uint8Array;
  baseline: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** Headroom per tier: storage charge and PV curtailment (down), storage discharge and load reduction (up). */
  downStorage: Float64Array;
  downCurtail: Float64Array;
  upStorage: Float64Array;
  upLoad: Float64Array;
  /** Problems of devices with malformed data, by index. */
  problems: Map<number, string>;
}

/** What solveFleet did (sums are over included devices). */
export interface FleetSolution {
  baselineW: number;
  allocatedW: number;
  fleetMinW: number;
  fleetMaxW: number;
  direction: 'down' | 'up' | 'none';
  neededW: number;
  tiers: TierUse[];
}

function finiteOrUndefined(value: number | undefined): boolean {
  return value === undefined || Number.isFinite(value);
}

/** A problem with the numbers of a device, or undefined. Cheap: called once per device. */
function deviceProblem(d: AllocatableDevice): string | undefined {
  if (
    !finiteOrUndefined(d.powerW) ||
    !finiteOrUndefined(d.baselineW) ||
    !finiteOrUndefined(d.maxW) ||
    !finiteOrUndefined(d.maxChargeW) ||
    !finiteOrUndefined(d.maxDischargeW) ||
    !finiteOrUndefined(d.capacityWh) ||
    !finiteOrUndefined(d.socPct) ||
    !finiteOrUndefined(d.socMinPct) ||
    !finiteOrUndefined(d.socMaxPct) ||
    !finiteOrUndefined(d.availablePvW) ||
    !finiteOrUndefined(d.maxLoadW) ||
    !finiteOrUndefined(d.roundTripEfficiency)
  )
    return 'a number is not finite';
  if ((d.maxW ?? 0) < 0 || (d.maxChargeW ?? 0) < 0 || (d.maxDischargeW ?? 0) < 0 || (d.maxLoadW ?? 0) < 0)
    return 'a power rating is negative';
  if ((d.availablePvW ?? 0) < 0) return 'availablePvW is negative';
  if (d.capacityWh !== undefined && d.capacityWh <= 0) return 'capacityWh must be > 0';
  const soc = d.socPct;
  const floor = d.socMinPct ?? 0;
  const ceiling = d.socMaxPct ?? 100;
  if (floor < 0 || ceiling > 100 || floor > ceiling)
    return 'SoC floor and ceiling must satisfy 0 <= floor <= ceiling <= 100';
  if (soc !== undefined && (soc < 0 || soc > 100)) return 'socPct must be within 0..100';
  const efficiency = d.roundTripEfficiency;
  if (efficiency !== undefined && (efficiency <= 0 || efficiency > 1))
    return 'roundTripEfficiency must be within (0, 1]';
  return undefined;
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : Math.min(value, high);
}

function hasControl(controls: readonly SetpointKind[], kind: SetpointKind): boolean {
  for (let i = 0; i < controls.length; i++) if (controls[i] === kind) return true;
  return false;
}

/**
 * Storage power limits over `lifetimeHours`: [-charge, discharge] as magnitudes, within the
 * power ratings and the energy between the present SoC and the floor/ceiling.
 */
function storageLimits(d: AllocatableDevice, lifetimeHours: number): [charge: number, discharge: number] {
  const soc = d.socPct ?? 0;
  const capacity = d.capacityWh ?? 0;
  const floor = d.socMinPct ?? 0;
  const ceiling = d.socMaxPct ?? 100;
  const chargeEnergyW = Math.max(0, ((ceiling - soc) / 100) * capacity) / lifetimeHours;
  const dischargeEnergyW =
    (Math.max(0, ((soc - floor) / 100) * capacity) * Math.sqrt(d.roundTripEfficiency ?? 1)) / lifetimeHours;
  const rating = d.maxW ?? Number.POSITIVE_INFINITY;
  return [Math.min(d.maxChargeW ?? 0, chargeEnergyW, rating), Math.min(d.maxDischargeW ?? 0, dischargeEnergyW, rating)];
}

/**
 * Prepares a fleet: role, baseline, feasible range and per-tier headroom of every device over a
 * setpoint lifetime of `lifetimeMs`. One pass, no per-device allocation.
 */
export function prepareFleet(devices: readonly AllocatableDevice[], lifetimeMs: number): PreparedFleet {
  const count = devices.length;
  const fleet: PreparedFleet = {
    count,
    role: new Uint8Array(count),
    status: new Uint8Array(count),
    setpointKind: new Uint8Array(count),
    baseline: new Float64Array(count),
    min: new Float64Array(count),
    max: new Float64Array(count),
    downStorage: new Float64Array(count),
    downCurtail: new Float64Array(count),
    upStorage: new Float64Array(count),
    upLoad: new Float64Array(count),
    problems: new Map(),
  };
  const lifetimeHours = lifetimeMs / MS_PER_HOUR;
  const { role, status, setpointKind, baseline, min, max, downStorage, downCurtail, upStorage, upLoad } = fleet;
  for (let i = 0; i < count; i++) {
    const d = devices[i]!;
    const cls = d.class;
    if (cls === 'meter') {
      role[i] = ROLE_METER;
      status[i] = EXCLUDED_METER;
      continue;
    }
    if (d.online !== true) {
      status[i] = EXCLUDED_OFFLINE;
      continue;
    }
    if (d.stale === true) {
      // Its readings are too old to plan with: no share (its output stays inside the metered load).
      status[i] = EXCLUDED_STALE;
      continue;
    }
    const problem = deviceProblem(d);
    if (problem !== undefined) {
      status[i] = EXCLUDED_INVALID;
      fleet.problems.set(i, problem);
      continue;
    }
    const present = d.powerW;
    if (cls === 'battery' || cls === 'hybrid-inverter') {
      const hybrid = cls === 'hybrid-inverter';
      role[i] = hybrid ? ROLE_HYBRID : ROLE_STORAGE;
      const controllable = hasControl(d.controls, 'fixedW');
      const knowsSoc = d.socPct !== undefined && d.capacityWh !== undefined;
      if (!controllable || !knowsSoc) {
        status[i] = controllable ? UNCONTROLLED_NO_SOC : UNCONTROLLED_NO_CONTROL;
        const b = d.baselineW ?? present ?? 0;
        baseline[i] = b;
        min[i] = b;
        max[i] = b;
        continue;
      }
      setpointKind[i] = KIND_FIXED_W;
      const [charge, discharge] = storageLimits(d, lifetimeHours);
      let low = -charge;
      let high = discharge;
      let available = 0;
      if (hybrid) {
        // One inverter: PV (curtailable to 0) plus the battery, within the inverter rating.
        const rating = d.maxW ?? Number.POSITIVE_INFINITY;
        available = d.availablePvW ?? 0;
        low = -Math.min(rating, charge);
        high = Math.min(rating, available + discharge);
      }
      const b = clamp(d.baselineW ?? present ?? 0, low, high);
      baseline[i] = b;
      min[i] = low;
      max[i] = high;
      upStorage[i] = high - b;
      if (hybrid) {
        // Down: absorb into the battery while PV keeps producing, then curtail PV.
        const storageFloor = Math.max(low, Math.min(high, available - charge));
        const byStorage = Math.max(0, b - storageFloor);
        downStorage[i] = byStorage;
        downCurtail[i] = b - low - byStorage;
      } else {
        downStorage[i] = b - low;
      }
      continue;
    }
    if (cls === 'pv-inverter') {
      role[i] = ROLE_PV;
      const rating = d.maxW ?? Number.POSITIVE_INFINITY;
      const available = clamp(d.availablePvW ?? present ?? 0, 0, rating);
      const b = clamp(d.baselineW ?? available, 0, Math.max(available, 0));
      baseline[i] = b;
      max[i] = b;
      if (!hasControl(d.controls, 'generationLimit')) {
        status[i] = UNCONTROLLED_NO_CONTROL;
        min[i] = b;
        continue;
      }
      setpointKind[i] = KIND_GENERATION_LIMIT;
      min[i] = 0;
      downCurtail[i] = b;
      continue;
    }
    if (LOAD_CLASSES.has(cls)) {
      role[i] = ROLE_LOAD;
      const rating = d.maxLoadW ?? Number.POSITIVE_INFINITY;
      const b = clamp(d.baselineW ?? present ?? 0, -rating, 0);
      baseline[i] = b;
      min[i] = b;
      const kind =
        cls === 'ev-charger' && hasControl(d.controls, 'evChargingLimit')
          ? KIND_EV_CHARGING_LIMIT
          : hasControl(d.controls, 'loadLimit')
            ? KIND_LOAD_LIMIT
            : KIND_NONE;
      if (kind === KIND_NONE) {
        status[i] = UNCONTROLLED_NO_CONTROL;
        max[i] = b;
        continue;
      }
      setpointKind[i] = kind;
      max[i] = 0;
      upLoad[i] = -b;
      continue;
    }
    // Any other class: counted, not controlled.
    role[i] = ROLE_FIXED;
    status[i] = UNCONTROLLED_NO_CONTROL;
    const b = d.baselineW ?? present ?? 0;
    baseline[i] = b;
    min[i] = b;
    max[i] = b;
  }
  return fleet;
}

function runTier(
  headroom: Float64Array,
  status: Uint8Array,
  out: Float64Array,
  count: number,
  needed: number,
  sign: number,
  tier: AllocationTier,
): TierUse {
  let total = 0;
  for (let i = 0; i < count; i++) if (status[i] === EXCLUDED_NONE) total += headroom[i]!;
  if (needed <= 0 || total <= 0) return { tier, headroomW: total, usedW: 0 };
  const fraction = needed >= total ? 1 : needed / total;
  const step = sign * fraction;
  for (let i = 0; i < count; i++) if (status[i] === EXCLUDED_NONE) out[i] = out[i]! + step * headroom[i]!;
  return { tier, headroomW: total, usedW: fraction * total };
}

/**
 * Allocates so that the summed output of the included devices lies in [lowW, highW] when the
 * fleet can reach it, else as close as it can. Writes each device's planned output to `out`
 * (excluded devices: 0).
 */
export function solveFleet(fleet: PreparedFleet, lowW: number, highW: number, out: Float64Array): FleetSolution {
  const { count, status, baseline, min, max } = fleet;
  let baselineW = 0;
  let fleetMinW = 0;
  let fleetMaxW = 0;
  for (let i = 0; i < count; i++) {
    if (status[i]! >= EXCLUDED_OFFLINE && status[i]! <= EXCLUDED_METER) {
      out[i] = 0;
      continue;
    }
    const b = baseline[i]!;
    out[i] = b;
    baselineW += b;
    fleetMinW += min[i]!;
    fleetMaxW += max[i]!;
  }
  let direction: FleetSolution['direction'] = 'none';
  let neededW = 0;
  const tiers: TierUse[] = [];
  if (baselineW > highW) {
    direction = 'down';
    neededW = baselineW - highW;
    let remaining = neededW;
    for (const [headroom, tier] of [
      [fleet.downStorage, 'storage-charge'],
      [fleet.downCurtail, 'pv-curtail'],
    ] as const) {
      const use = runTier(headroom, status, out, count, remaining, -1, tier);
      remaining -= use.usedW;
      tiers.push(use);
    }
  } else if (baselineW < lowW) {
    direction = 'up';
    neededW = lowW - baselineW;
    let remaining = neededW;
    for (const [headroom, tier] of [
      [fleet.upStorage, 'storage-discharge'],
      [fleet.upLoad, 'load-reduce'],
    ] as const) {
      const use = runTier(headroom, status, out, count, remaining, 1, tier);
      remaining -= use.usedW;
      tiers.push(use);
    }
  }
  let allocatedW = 0;
  if (direction === 'none') allocatedW = baselineW;
  else
    for (let i = 0; i < count; i++) {
      if (status[i] !== EXCLUDED_NONE) {
        if (status[i]! > EXCLUDED_METER) allocatedW += out[i]!;
        continue;
      }
      // Rounding of the proportional step may pass a bound by an ulp: pin it.
      const value = clamp(out[i]!, min[i]!, max[i]!);
      out[i] = value;
      allocatedW += value;
    }
  return { baselineW, allocatedW, fleetMinW, fleetMaxW, direction, neededW, tiers };
}

function validateTiming(timing: AllocationTiming, what: string): number {
  const issues: Array<{ path: string; message: string }> = [];
  if (typeof timing.now !== 'number' || !Number.isFinite(timing.now))
    issues.push({ path: '/now', message: 'must be a finite number (epoch ms)' });
  if (typeof timing.periodMs !== 'number' || !Number.isFinite(timing.periodMs) || timing.periodMs <= 0)
    issues.push({ path: '/periodMs', message: 'must be a finite number > 0' });
  const margin = timing.marginMs ?? DEFAULT_MARGIN_MS;
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0)
    issues.push({ path: '/marginMs', message: 'must be a finite number >= 0' });
  if (issues.length > 0) throw new GridseamError('GW_ERR_VALIDATION', `invalid ${what} timing`, { issues });
  return timing.periodMs + margin;
}

function watts(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+inf W';
  if (value === Number.NEGATIVE_INFINITY) return '-inf W';
  return `${Math.round(value)} W`;
}

const TIER_WORDS: Record<AllocationTier, string> = {
  'storage-charge': 'storage charging',
  'pv-curtail': 'PV curtailment',
  'storage-discharge': 'storage discharge',
  'load-reduce': 'load reduction',
};

/** Smallest tolerance when deciding whether a target is met, W. */
const MET_TOLERANCE_W = 0.001;

function summarise(
  fleet: PreparedFleet,
  solution: FleetSolution,
  lowW: number,
  highW: number,
  setpoints: number,
): AllocationSummary {
  const excluded: Record<ExclusionReason, number> = {
    offline: 0,
    stale: 0,
    'invalid-data': 0,
    'no-soc': 0,
    meter: 0,
    'not-controllable': 0,
  };
  let included = 0;
  let controllable = 0;
  for (let i = 0; i < fleet.count; i++) {
    const code = fleet.status[i]!;
    if (code === EXCLUDED_NONE) controllable++;
    else excluded[EXCLUSION_NAMES[code]!]++;
    if (code === EXCLUDED_NONE || code > EXCLUDED_METER) included++;
  }
  const { allocatedW, direction } = solution;
  const rawShortfall = allocatedW > highW ? allocatedW - highW : allocatedW < lowW ? lowW - allocatedW : 0;
  // Summing 100,000 floats carries rounding error proportional to the total: allow for it (well under 1 W).
  const met = rawShortfall <= Math.max(MET_TOLERANCE_W, 1e-9 * Math.abs(allocatedW));
  const shortfallW = met ? 0 : rawShortfall;
  const bounds = lowW === highW ? `${watts(lowW)}` : `[${watts(lowW)}, ${watts(highW)}]`;
  let reason: string;
  if (direction === 'none') reason = `baseline ${watts(solution.baselineW)} already within ${bounds}: no change`;
  else {
    const verb = direction === 'down' ? 'lower' : 'raise';
    const parts = solution.tiers.map(
      (use) => `${TIER_WORDS[use.tier]} ${watts(use.usedW)} of ${watts(use.headroomW)} headroom`,
    );
    reason = `${verb} output by ${watts(solution.neededW)} to meet ${bounds}: ${parts.join(', ')}`;
    if (!met) {
      const ran =
        direction === 'down'
          ? 'storage charge headroom and PV curtailment'
          : 'storage discharge headroom and load reduction';
      reason += `; short ${watts(shortfallW)}: ${ran} exhausted`;
    }
  }
  const out = excluded.offline + excluded.stale + excluded['invalid-data'];
  if (out > 0) {
    const stale = excluded.stale > 0 ? `, stale ${excluded.stale}` : '';
    reason += `; ${out} device(s) excluded (offline ${excluded.offline}${stale}, invalid ${excluded['invalid-data']}), their share re-allocated`;
  }
  return {
    lowW,
    highW,
    baselineW: solution.baselineW,
    allocatedW,
    fleetMinW: solution.fleetMinW,
    fleetMaxW: solution.fleetMaxW,
    direction,
    shortfallW,
    met,
    tiers: solution.tiers,
    devices: { total: fleet.count, included, controllable, setpoints, excluded },
    reason,
  };
}

/**
 * Which devices get a setpoint: every controllable storage device when the target is exact (its
 * output is part of a fixed sum); otherwise only devices whose output changes (PV curtailed, load
 * reduced, storage moved). A device needing no change gets none (an earlier one lapses at expiry).
 */
function buildDevices(
  devices: readonly AllocatableDevice[],
  fleet: PreparedFleet,
  out: Float64Array,
  exact: boolean,
  start: number,
  expiry: number,
): { allocations: DeviceAllocation[]; setpoints: number } {
  const allocations: DeviceAllocation[] = new Array(fleet.count);
  let setpoints = 0;
  const { role, status, setpointKind, baseline, min, max } = fleet;
  for (let i = 0; i < fleet.count; i++) {
    const deviceId = devices[i]!.id;
    const code = status[i]!;
    const allocation: DeviceAllocation = {
      deviceId,
      role: ROLE_NAMES[role[i]!]!,
      baselineW: baseline[i]!,
      allocatedW: out[i]!,
      minW: min[i]!,
      maxW: max[i]!,
    };
    if (code !== EXCLUDED_NONE) {
      allocation.excluded = EXCLUSION_NAMES[code]!;
      if (code === EXCLUDED_INVALID) allocation.problem = fleet.problems.get(i) ?? 'invalid data';
      allocations[i] = allocation;
      continue;
    }
    const value = out[i]!;
    const delta = value - baseline[i]!;
    let setpoint: SetpointRequestOut | undefined;
    switch (setpointKind[i]) {
      case KIND_FIXED_W:
        if (exact || delta > CHANGE_EPSILON_W || delta < -CHANGE_EPSILON_W)
          setpoint = { deviceId, kind: 'fixedW', value, start, expiry };
        break;
      case KIND_GENERATION_LIMIT:
        if (delta < -CHANGE_EPSILON_W)
          setpoint = { deviceId, kind: 'generationLimit', value: Math.max(0, value), start, expiry };
        break;
      case KIND_LOAD_LIMIT:
        if (delta > CHANGE_EPSILON_W)
          setpoint = { deviceId, kind: 'loadLimit', value: Math.max(0, -value), start, expiry };
        break;
      case KIND_EV_CHARGING_LIMIT:
        if (delta > CHANGE_EPSILON_W)
          setpoint = { deviceId, kind: 'evChargingLimit', value: Math.max(0, -value), unit: 'W', start, expiry };
        break;
    }
    if (setpoint !== undefined) {
      allocation.setpoint = setpoint;
      setpoints++;
    }
    allocations[i] = allocation;
  }
  return { allocations, setpoints };
}

/**
 * Splits one aggregate target over a set of devices (a group, an aggregation): fixedW holds the
 * summed output at the value; exportLimit keeps it at or below the value; importLimit keeps it at
 * or above minus the value. Offline devices take no share and are assumed to contribute nothing.
 */
export function allocateAggregate(target: AggregateTarget, devices: readonly AllocatableDevice[]): AggregateAllocation {
  const lifetimeMs = validateTiming(target, 'aggregate target');
  const value = target.valueW;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new GridseamError('GW_ERR_VALIDATION', 'aggregate target valueW must be a finite number', {
      issues: [{ path: '/valueW', message: 'must be a finite number' }],
    });
  let lowW: number;
  let highW: number;
  if (target.kind === 'fixedW') {
    lowW = value;
    highW = value;
  } else if (target.kind === 'exportLimit' || target.kind === 'importLimit') {
    if (value < 0)
      throw new GridseamError('GW_ERR_VALIDATION', `${target.kind} must be >= 0`, {
        issues: [{ path: '/valueW', message: 'must be >= 0' }],
      });
    lowW = target.kind === 'importLimit' ? -value : Number.NEGATIVE_INFINITY;
    highW = target.kind === 'exportLimit' ? value : Number.POSITIVE_INFINITY;
  } else {
    throw new GridseamError('GW_ERR_VALIDATION', 'aggregate target kind must be fixedW, exportLimit or importLimit', {
      issues: [{ path: '/kind', message: 'must be fixedW, exportLimit or importLimit' }],
    });
  }
  const fleet = prepareFleet(devices, lifetimeMs);
  const out = new Float64Array(fleet.count);
  const solution = solveFleet(fleet, lowW, highW, out);
  const { allocations, setpoints } = buildDevices(
    devices,
    fleet,
    out,
    target.kind === 'fixedW',
    target.now,
    target.now + lifetimeMs,
  );
  return { target, summary: summarise(fleet, solution, lowW, highW, setpoints), devices: allocations };
}

function tighter(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * Allocates a site's connection-point limits to its devices. The export and import limits are the
 * tighter of the dynamic constraint and the site's connection limit. Site load comes from the
 * meter: load = sum of the included devices' present power - meter power (generator convention),
 * so excluded devices' power stays inside the load. Without a meter the load is taken as 0, which
 * over-estimates export (safe for an export limit) and under-estimates import (the summary says so).
 */
export function allocateSite(
  site: AllocationSite,
  devices: readonly AllocatableDevice[],
  constraints: SiteConstraints,
): SiteAllocation {
  const lifetimeMs = validateTiming(constraints, 'site constraint');
  const issues: Array<{ path: string; message: string }> = [];
  for (const [name, value] of [
    ['exportLimitW', constraints.exportLimitW],
    ['importLimitW', constraints.importLimitW],
    ['fixedW', constraints.fixedW],
    ['siteMeterW', constraints.siteMeterW],
    ['connection/exportLimitW', site.connection?.exportLimitW],
    ['connection/importLimitW', site.connection?.importLimitW],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value))
      issues.push({ path: `/${name}`, message: 'must be a finite number' });
    else if (value < 0 && name !== 'fixedW' && name !== 'siteMeterW')
      issues.push({ path: `/${name}`, message: 'must be >= 0' });
  }
  if (issues.length > 0)
    throw new GridseamError('GW_ERR_VALIDATION', `invalid constraints for site ${site.id}`, { issues });

  const exportLimitW = tighter(constraints.exportLimitW, site.connection?.exportLimitW);
  const importLimitW = tighter(constraints.importLimitW, site.connection?.importLimitW);

  const fleet = prepareFleet(devices, lifetimeMs);
  // Present power of the included devices (their baseline where the present power is unknown).
  let presentW = 0;
  for (let i = 0; i < fleet.count; i++) {
    const code = fleet.status[i]!;
    if (code >= EXCLUDED_OFFLINE && code <= EXCLUDED_METER) continue;
    const power = devices[i]!.powerW;
    presentW += power ?? fleet.baseline[i]!;
  }
  const meter: SiteAllocation['meter'] = { source: 'absent' };
  let meterW: number | undefined = constraints.siteMeterW;
  if (meterW !== undefined) {
    meter.source = 'constraint';
    meter.powerW = meterW;
  } else {
    const meters = devices.filter(
      (d) =>
        d.class === 'meter' &&
        d.online === true &&
        d.stale !== true &&
        typeof d.powerW === 'number' &&
        Number.isFinite(d.powerW),
    );
    const staleMeters = devices.filter((d) => d.class === 'meter' && d.online === true && d.stale === true).length;
    const only = meters[0];
    if (meters.length === 1 && only !== undefined) {
      meterW = only.powerW!;
      meter.source = 'device';
      meter.deviceId = only.id;
      meter.powerW = meterW;
    } else if (meters.length > 1) {
      meter.note = `${meters.length} online meters and no siteMeterW: site load taken as 0`;
    } else if (staleMeters > 0) {
      meter.note = 'site meter telemetry stale: site load taken as 0 (import is under-estimated)';
    } else {
      meter.note = 'no online site meter: site load taken as 0 (import is under-estimated)';
    }
  }
  const siteLoadW = meterW === undefined ? 0 : presentW - meterW;

  // Net export E = sum(output) - load; E <= export limit, E >= -import limit, E = fixedW (within the limits).
  let lowW = importLimitW === undefined ? Number.NEGATIVE_INFINITY : siteLoadW - importLimitW;
  let highW = exportLimitW === undefined ? Number.POSITIVE_INFINITY : siteLoadW + exportLimitW;
  let fixedW = constraints.fixedW;
  if (fixedW !== undefined) {
    fixedW = clamp(
      fixedW,
      importLimitW === undefined ? fixedW : -importLimitW,
      exportLimitW === undefined ? fixedW : exportLimitW,
    );
    lowW = siteLoadW + fixedW;
    highW = lowW;
  }
  const out = new Float64Array(fleet.count);
  const solution = solveFleet(fleet, lowW, highW, out);
  const { allocations, setpoints } = buildDevices(
    devices,
    fleet,
    out,
    fixedW !== undefined,
    constraints.now,
    constraints.now + lifetimeMs,
  );
  const summary = summarise(fleet, solution, lowW, highW, setpoints);
  if (meter.note !== undefined) summary.reason += `; ${meter.note}`;
  const result: SiteAllocation = {
    siteId: site.id,
    siteLoadW,
    meter,
    baselineExportW: solution.baselineW - siteLoadW,
    plannedExportW: solution.allocatedW - siteLoadW,
    summary,
    devices: allocations,
  };
  if (exportLimitW !== undefined) result.exportLimitW = exportLimitW;
  if (importLimitW !== undefined) result.importLimitW = importLimitW;
  if (fixedW !== undefined) result.fixedW = fixedW;
  return result;
}

/** Present state of a device that allocation needs besides its canonical description. */
export interface DeviceState {
  online: boolean;
  /** Telemetry too old to plan with (see AllocatableDevice.stale). */
  stale?: boolean;
  powerW?: number;
  socPct?: number;
  availablePvW?: number;
  /** Present limits from telemetry (maxChargePower / maxDischargePower) when below the rating. */
  maxChargeW?: number;
  maxDischargeW?: number;
  baselineW?: number;
}

/** Flattens a canonical Device and its present state into what allocation reads. */
export function allocatableFromDevice(device: Device, state: DeviceState): AllocatableDevice {
  const { capabilities } = device;
  const storage = capabilities.storage;
  const result: AllocatableDevice = {
    id: device.id,
    class: device.class,
    online: state.online && device.enabled,
    controls: capabilities.controls,
  };
  if (state.stale === true) result.stale = true;
  const maxW = capabilities.ratings?.maxW;
  if (maxW !== undefined) result.maxW = maxW;
  if (storage !== undefined) {
    result.capacityWh = storage.capacityWh;
    result.maxChargeW =
      state.maxChargeW === undefined ? storage.maxChargeW : Math.min(storage.maxChargeW, state.maxChargeW);
    result.maxDischargeW =
      state.maxDischargeW === undefined ? storage.maxDischargeW : Math.min(storage.maxDischargeW, state.maxDischargeW);
    if (storage.socMinPct !== undefined) result.socMinPct = storage.socMinPct;
    if (storage.socMaxPct !== undefined) result.socMaxPct = storage.socMaxPct;
    if (storage.roundTripEfficiency !== undefined) result.roundTripEfficiency = storage.roundTripEfficiency;
  }
  if (LOAD_CLASSES.has(device.class)) {
    const loadRating = capabilities.thermal?.ratedPowerW ?? maxW;
    if (loadRating !== undefined) result.maxLoadW = loadRating;
  }
  if (state.powerW !== undefined) result.powerW = state.powerW;
  if (state.socPct !== undefined) result.socPct = state.socPct;
  if (state.availablePvW !== undefined) result.availablePvW = state.availablePvW;
  if (state.baselineW !== undefined) result.baselineW = state.baselineW;
  return result;
}

/**
 * The canonical setpoint for a control that targets one device directly (a device-scope winner):
 * maxLimitPct becomes a generationLimit of pct x rating, storageTargetW a fixedW; every other
 * control type is already a setpoint kind. Undefined when the device cannot take it (no rating
 * for a percentage, or the kind is not in its controls).
 */
export function deviceSetpointFor(
  type: ControlType,
  value: number,
  device: Pick<AllocatableDevice, 'id' | 'controls' | 'maxW'>,
  timing: AllocationTiming,
): SetpointRequestOut | undefined {
  const lifetimeMs = validateTiming(timing, 'device setpoint');
  let kind: SetpointKind;
  let delivered = value;
  if (type === 'maxLimitPct') {
    if (device.maxW === undefined) return undefined;
    kind = 'generationLimit';
    delivered = (clamp(value, 0, 100) / 100) * device.maxW;
  } else if (type === 'storageTargetW') kind = 'fixedW';
  else kind = type;
  if (!hasControl(device.controls, kind)) return undefined;
  const setpoint: SetpointRequestOut = {
    deviceId: device.id,
    kind,
    value: delivered,
    start: timing.now,
    expiry: timing.now + lifetimeMs,
  };
  if (kind === 'evChargingLimit') setpoint.unit = 'W';
  return setpoint;
}
