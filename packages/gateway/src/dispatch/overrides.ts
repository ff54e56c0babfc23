/**
 * Controls of higher precedence than the dispatch program, as bounds on a battery's power over
 * plan intervals (pure). A plan is solved "around" them: the battery's power where they are in
 * force is held to what they demand, and the rest of the plan adapts (issue 9, rolling horizon).
 *
 * Where they come from (the scheduler gathers them):
 * - intents of live events of other programs and of operator overrides (the control engine's
 *   own intents, control/intents.ts), current and future: device scope for any power control;
 *   site and group scope for the controls the engine hands to each device (storageTargetW,
 *   charge/discharge/generation limits, connect, energize), not for site or aggregate targets;
 * - the engine's latest decisions: a decision whose winner is not a dispatch event and which put
 *   a setpoint on the battery (a manual setpoint, a site allocation) holds it until the winner's
 *   window ends.
 * Only controls that beat the dispatch program count: a lower primacy, or an operator at equal
 * primacy (control/arbitrate.ts). Program defaults do not (they yield to any event).
 *
 * Bounds on net discharge (kW, discharge positive): fixedW and storageTargetW fix it; chargeLimit
 * bounds charging, dischargeLimit / generationLimit / a device exportLimit bound output, a device
 * importLimit bounds charging, maxLimitPct bounds output by the rating, connect or energize 0 fix
 * it at 0. A control governs a plan interval when it covers at least half of it; among fixing
 * controls the one arbitration would pick wins, limits intersect.
 */
import type { PowerWindow } from '@gridseam/dispatch';
import type { ControlDecisionRecord } from '../control/engine.ts';
import type { ControlIntent } from '../control/types.ts';
import type { OverrideWindow, PlannedBattery } from './types.ts';

/** Control types the engine gives every device of a site or group scope (not site targets). */
const PER_DEVICE_TYPES: ReadonlySet<string> = new Set([
  'storageTargetW',
  'chargeLimit',
  'dischargeLimit',
  'generationLimit',
  'maxLimitPct',
  'connect',
  'energize',
]);
const SETPOINT_KINDS_WATCHED: ReadonlySet<string> = new Set([
  'fixedW',
  'chargeLimit',
  'dischargeLimit',
  'generationLimit',
  'exportLimit',
  'importLimit',
  'connect',
  'energize',
]);

/** One control on one battery, as bounds over a time window. */
export interface BatteryControl {
  deviceId: string;
  source: string;
  type: string;
  value: number;
  primacy: number;
  createdAt: number;
  from: number;
  to: number;
  ref: string;
  minKw?: number;
  maxKw?: number;
  /** fixedW-like: pins the power (minKw = maxKw). */
  fixes: boolean;
}

/** What the battery's power may be under a control of `type` with `value`; undefined: no power bound. */
export function powerBounds(
  type: string,
  value: number,
  scope: 'device' | 'shared',
  maxW: number | undefined,
): { minKw?: number; maxKw?: number; fixes: boolean } | undefined {
  const kw = value / 1000;
  switch (type) {
    case 'fixedW':
    case 'storageTargetW':
      return { minKw: kw, maxKw: kw, fixes: true };
    case 'chargeLimit':
      return { minKw: -Math.abs(kw), fixes: false };
    case 'dischargeLimit':
    case 'generationLimit':
      return { maxKw: Math.abs(kw), fixes: false };
    case 'exportLimit':
      return scope === 'device' ? { maxKw: Math.abs(kw), fixes: false } : undefined;
    case 'importLimit':
      return scope === 'device' ? { minKw: -Math.abs(kw), fixes: false } : undefined;
    case 'maxLimitPct':
      return maxW === undefined ? undefined : { maxKw: (Math.max(0, value) / 100) * (maxW / 1000), fixes: false };
    case 'connect':
    case 'energize':
      return value === 0 ? { minKw: 0, maxKw: 0, fixes: true } : undefined;
    default:
      return undefined;
  }
}

/** Whether a control of `source` at `primacy` beats the dispatch program's events (arbitrate.ts order). */
export function beatsDispatch(source: string, primacy: number, dispatchPrimacy: number): boolean {
  return primacy < dispatchPrimacy || (primacy === dispatchPrimacy && source === 'operator');
}

export interface ControlInputs {
  now: number;
  horizonEnd: number;
  dispatchPrimacy: number;
  /** The dispatch program's own event ids (never an override of itself). */
  ownEventIds: ReadonlySet<string>;
  batteries: ReadonlyArray<Pick<PlannedBattery, 'deviceId' | 'siteId'> & { maxW?: number }>;
  /** Intents of live events of other programs and operator overrides. */
  intents: readonly ControlIntent[];
  /** Members of the groups the intents name. */
  groupMembers: ReadonlyMap<string, ReadonlySet<string>>;
  decisions: readonly ControlDecisionRecord[];
}

/** Every control of higher precedence on each battery. */
export function batteryControls(inputs: ControlInputs): BatteryControl[] {
  const controls: BatteryControl[] = [];
  // The same control seen as an intent and in a decision counts once.
  const seen = new Set<string>();
  const add = (
    battery: ControlInputs['batteries'][number],
    source: string,
    type: string,
    value: number,
    primacy: number,
    createdAt: number,
    window: { start: number; end?: number },
    ref: string,
    scope: 'device' | 'shared',
  ) => {
    const bounds = powerBounds(type, value, scope, battery.maxW);
    const to = Math.min(window.end ?? inputs.horizonEnd, inputs.horizonEnd);
    if (bounds === undefined || to <= Math.max(window.start, inputs.now)) return;
    const key = JSON.stringify([battery.deviceId, ref, type, value, window.start, to]);
    if (seen.has(key)) return;
    seen.add(key);
    controls.push({
      deviceId: battery.deviceId,
      source,
      type,
      value,
      primacy,
      createdAt,
      from: window.start,
      to,
      ref,
      ...bounds,
    });
  };
  for (const intent of inputs.intents) {
    if (intent.isDefault || !beatsDispatch(intent.source, intent.primacy, inputs.dispatchPrimacy)) continue;
    if (intent.ref !== undefined && inputs.ownEventIds.has(intent.ref)) continue;
    for (const battery of inputs.batteries) {
      const { scope } = intent;
      const direct = scope.kind === 'device' && scope.id === battery.deviceId;
      const shared =
        PER_DEVICE_TYPES.has(intent.type) &&
        ((scope.kind === 'site' && scope.id === battery.siteId) ||
          (scope.kind === 'group' && inputs.groupMembers.get(scope.id)?.has(battery.deviceId) === true));
      if (!direct && !shared) continue;
      const ref = intent.ref ?? intent.id;
      add(
        battery,
        intent.source,
        intent.type,
        intent.value,
        intent.primacy,
        intent.createdAt,
        intent.window,
        ref,
        direct ? 'device' : 'shared',
      );
    }
  }
  for (const record of inputs.decisions) {
    const winner = record.winner;
    if (winner === undefined || (winner.ref !== undefined && inputs.ownEventIds.has(winner.ref))) continue;
    for (const battery of inputs.batteries) {
      const ref = winner.ref ?? winner.id;
      if (record.scope.kind === 'device' && record.scope.id === battery.deviceId) {
        add(
          battery,
          winner.source,
          record.type,
          winner.value,
          winner.primacy,
          winner.createdAt,
          winner.window,
          ref,
          'device',
        );
        continue;
      }
      for (const setpoint of record.delivery.setpoints ?? [])
        if (setpoint.deviceId === battery.deviceId && SETPOINT_KINDS_WATCHED.has(setpoint.kind))
          add(
            battery,
            winner.source,
            setpoint.kind,
            setpoint.value,
            winner.primacy,
            winner.createdAt,
            winner.window,
            ref,
            'device',
          );
    }
  }
  return controls;
}

/** Arbitration's order among fixing controls: lower primacy, operator first, newer, then id. */
function precedes(a: BatteryControl, b: BatteryControl): boolean {
  if (a.primacy !== b.primacy) return a.primacy < b.primacy;
  if ((a.source === 'operator') !== (b.source === 'operator')) return a.source === 'operator';
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.ref < b.ref;
}

export interface BatteryWindows {
  /** For the plan request: runs of equal bounds. */
  powerWindows: PowerWindow[];
  /** For the plan document: each control that governs at least one interval. */
  overrides: OverrideWindow[];
  /** Per interval: [min, max] net discharge or undefined (free). */
  bounds: Array<[number, number] | undefined>;
}

/** One battery's controls over the plan intervals [starts[k], starts[k] + intervalMs). */
export function windowsFor(
  controls: readonly BatteryControl[],
  starts: readonly number[],
  intervalMs: number,
): BatteryWindows {
  const bounds: BatteryWindows['bounds'] = [];
  const governed = new Map<BatteryControl, [number, number]>();
  starts.forEach((start, k) => {
    const end = start + intervalMs;
    const covering = controls.filter((c) => Math.min(end, c.to) - Math.max(start, c.from) >= intervalMs / 2);
    if (covering.length === 0) return;
    let lo = Number.NEGATIVE_INFINITY;
    let hi = Number.POSITIVE_INFINITY;
    let fixing: BatteryControl | undefined;
    const used: BatteryControl[] = [];
    for (const control of covering) {
      if (control.fixes) {
        if (fixing === undefined || precedes(control, fixing)) fixing = control;
        continue;
      }
      if (control.minKw !== undefined) lo = Math.max(lo, control.minKw);
      if (control.maxKw !== undefined) hi = Math.min(hi, control.maxKw);
      used.push(control);
    }
    if (lo > hi) hi = lo;
    if (fixing !== undefined) {
      const value = Math.min(hi, Math.max(lo, fixing.minKw ?? 0));
      lo = value;
      hi = value;
      used.push(fixing);
    }
    bounds[k] = [lo, hi];
    for (const control of used) {
      const range = governed.get(control);
      governed.set(control, range ? [range[0], k + 1] : [k, k + 1]);
    }
  });
  const powerWindows: PowerWindow[] = [];
  for (let k = 0; k < starts.length; k++) {
    const here = bounds[k];
    if (here === undefined) continue;
    const last = powerWindows.at(-1);
    const same =
      last !== undefined &&
      last.toInterval === k &&
      (last.minNetDischargeKw ?? Number.NEGATIVE_INFINITY) === here[0] &&
      (last.maxNetDischargeKw ?? Number.POSITIVE_INFINITY) === here[1];
    if (same) last.toInterval = k + 1;
    else
      powerWindows.push({
        fromInterval: k,
        toInterval: k + 1,
        ...(Number.isFinite(here[0]) ? { minNetDischargeKw: here[0] } : {}),
        ...(Number.isFinite(here[1]) ? { maxNetDischargeKw: here[1] } : {}),
      });
  }
  const overrides: OverrideWindow[] = [...governed].map(([control, [fromInterval, toInterval]]) => ({
    deviceId: control.deviceId,
    from: control.from,
    to: control.to,
    ...(control.minKw !== undefined ? { minKw: control.minKw } : {}),
    ...(control.maxKw !== undefined ? { maxKw: control.maxKw } : {}),
    source: control.source,
    type: control.type,
    value: control.value,
    primacy: control.primacy,
    ref: control.ref,
    fromInterval,
    toInterval,
  }));
  return { powerWindows, overrides, bounds };
}

/**
 * A fixed power in force from the first interval, cut where the battery would reach its SoC floor
 * or ceiling (the device stops there by itself), so a control that empties the battery does not
 * make the plan infeasible. Later windows are left to the optimiser (it keeps the energy they need).
 */
export function fitFirstWindowToEnergy(
  windows: PowerWindow[],
  battery: { initialKwh: number; floorKwh: number; ceilingKwh: number; etaCharge: number; etaDischarge: number },
  hours: number,
): PowerWindow[] {
  const first = windows[0];
  if (first === undefined || first.fromInterval !== 0 || first.minNetDischargeKw !== first.maxNetDischargeKw)
    return windows;
  const fixedKw = first.minNetDischargeKw ?? 0;
  const out: PowerWindow[] = [];
  let energy = battery.initialKwh;
  for (let k = first.fromInterval; k < first.toInterval; k++) {
    let kw = fixedKw;
    if (kw > 0) kw = Math.min(kw, (Math.max(0, energy - battery.floorKwh) * battery.etaDischarge) / hours);
    else if (kw < 0) kw = -Math.min(-kw, Math.max(0, battery.ceilingKwh - energy) / (battery.etaCharge * hours));
    energy += kw > 0 ? (-kw * hours) / battery.etaDischarge : -kw * hours * battery.etaCharge;
    const last = out.at(-1);
    if (last && last.minNetDischargeKw === kw) last.toInterval = k + 1;
    else out.push({ fromInterval: k, toInterval: k + 1, minNetDischargeKw: kw, maxNetDischargeKw: kw });
  }
  return [...out, ...windows.slice(1)];
}
