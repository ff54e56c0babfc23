/**
 * Baseline adjustment windows kept free of battery charging (pure).
 *
 * Why: a day-matching baseline is scaled (CAISO 10-in-10, ratio) or shifted (PJM CBL, additive)
 * by the site's load in the day-of adjustment window, the 3 hours ending 1 hour before the event
 * start (bess_market.md §3.2, §3.3: a 15:00 event reads hours 11, 12 and 13). A battery behind the
 * site meter that charges there raises that load, hence the baseline, hence the measured
 * reduction, beyond what it delivers (§3.5, "adjustment-window gaming"; the case is worked out in
 * test/settlement-gaming/gaming.test.ts). So each plan holds every planned battery at a site that a
 * live baseline-settled event covers to no net charging (net discharge >= 0) in the plan intervals
 * that overlap the event's window.
 *
 * The rule, on real instants (the event's and the plan's: DST does not enter, a 23- or 25-hour day
 * is just instants):
 * - events: status scheduled or active, of a program whose kind is one of `rule.programKinds`
 *   (default demand-response), not the dispatch program's own;
 * - window: [H - (gapHours + windowHours) h, start - gapHours h), where H is the event start
 *   floored to the whole hour. The settlement labels the event by the hour it starts in (a 15:30
 *   start is hour 15, window 11:00-14:00), so an event starting off the hour gets the union of that
 *   window and the one measured from its exact start (11:00-14:30); on the hour both are the same;
 * - sites: the event's scopes as the control engine reads them (control/intents.ts eventScopes:
 *   its targets, else the program's enrolments in force at `now`); a device or group target counts
 *   for the sites of its devices, since the baseline is measured at the site meter and every
 *   battery behind it moves that load;
 * - intervals: each plan interval [bounds[k], bounds[k+1]) that overlaps the window, even partly;
 * - a control of higher precedence that forces net charging in an interval (its power window's
 *   maxNetDischargeKw < 0) wins: that interval is left unprotected and listed in the record's
 *   `skippedIntervals` (the utility or operator asked for the charge; the optimiser could not meet
 *   both).
 */
import type { PowerWindow } from '@gridseam/dispatch';
import { type Enrolment, eventStart, type Program, type ProgramEvent } from '@gridseam/model';
import { eventScopes, LIVE_EVENT_STATUSES } from '../control/intents.ts';
import type { BaselineWindowRecord } from './types.ts';

const HOUR_MS = 3_600_000;

/** What `dispatch.baselineProtection` says (settings.ts BaselineProtection without `enabled`). */
export interface BaselineWindowRule {
  windowHours: number;
  gapHours: number;
  programKinds: readonly Program['kind'][];
}

/** A live event of a protected program and its adjustment window, real epoch ms. */
export interface AdjustmentWindow {
  event: ProgramEvent;
  eventStart: number;
  from: number;
  to: number;
}

/** The adjustment window of an event starting at `start` (see the file's comment). */
export function adjustmentWindow(start: number, rule: Pick<BaselineWindowRule, 'windowHours' | 'gapHours'>) {
  const hourStart = Math.floor(start / HOUR_MS) * HOUR_MS;
  return { from: hourStart - (rule.gapHours + rule.windowHours) * HOUR_MS, to: start - rule.gapHours * HOUR_MS };
}

/**
 * How far past the horizon's end events must be read for their windows to reach into it: a
 * window starts at most (gap + window + 1) hours before its event.
 */
export function baselineLookaheadMs(rule: Pick<BaselineWindowRule, 'windowHours' | 'gapHours'>): number {
  return (rule.gapHours + rule.windowHours + 1) * HOUR_MS;
}

export interface ProtectedEventInputs {
  now: number;
  /** Real end of the plan's horizon. */
  horizonEnd: number;
  rule: BaselineWindowRule;
  events: readonly ProgramEvent[];
  /** The programs the events belong to (an event of an unknown program is not protected). */
  programs: ReadonlyMap<string, Pick<Program, 'kind'>>;
  /** Programs whose events never count (the dispatch program itself). */
  excludeProgramIds?: ReadonlySet<string>;
}

/** Live events of protected programs whose window reaches into [now, horizonEnd), by window start. */
export function protectedEvents(inputs: ProtectedEventInputs): AdjustmentWindow[] {
  const kinds = new Set<string>(inputs.rule.programKinds);
  const windows: AdjustmentWindow[] = [];
  const seen = new Set<string>();
  for (const event of inputs.events) {
    if (seen.has(event.id) || !LIVE_EVENT_STATUSES.has(event.status)) continue;
    if (inputs.excludeProgramIds?.has(event.programId)) continue;
    const kind = inputs.programs.get(event.programId)?.kind;
    if (kind === undefined || !kinds.has(kind) || event.intervals.length === 0) continue;
    const start = eventStart(event);
    const { from, to } = adjustmentWindow(start, inputs.rule);
    if (from >= to || to <= inputs.now || from >= inputs.horizonEnd) continue;
    seen.add(event.id);
    windows.push({ event, eventStart: start, from, to });
  }
  return windows.sort((a, b) => a.from - b.from || (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0));
}

/** The groups the protected events target (the caller reads their members at `now`). */
export function protectedGroupIds(windows: readonly AdjustmentWindow[]): string[] {
  return [...new Set(windows.flatMap((w) => w.event.targets.groupIds ?? []))];
}

export interface BaselineWindowInputs extends ProtectedEventInputs {
  /** Enrolments (any program): an event without targets covers its program's enrolments in force at `now`. */
  enrolments: readonly Enrolment[];
  /** Members at `now` of the groups the events target. */
  groupMembers: ReadonlyMap<string, ReadonlySet<string>>;
  /** Site of every known device (targets that are not planned batteries: meters, loads). */
  deviceSites: ReadonlyMap<string, string>;
  /** The planned batteries, in the request's order. */
  batteries: ReadonlyArray<{ deviceId: string; siteId: string }>;
  /** Real instants of the plan's interval bounds: intervals + 1 values (timeline.realBounds). */
  bounds: readonly number[];
  /** Per battery, the power windows of controls of higher precedence already on it (overrides.ts). */
  overrides?: ReadonlyMap<string, readonly PowerWindow[]>;
}

export interface BaselineWindows {
  /** Per battery: runs of protected intervals, net discharge >= 0, to append to its powerWindows. */
  powerWindows: Map<string, PowerWindow[]>;
  /** One per (battery, event) whose window overlaps the plan, for the plan document. */
  records: BaselineWindowRecord[];
}

/** The sites an event covers at `now`. */
function eventSites(event: ProgramEvent, inputs: BaselineWindowInputs): Set<string> {
  const sites = new Set<string>();
  const siteOfDevice = (deviceId: string) => {
    const site = inputs.deviceSites.get(deviceId) ?? inputs.batteries.find((b) => b.deviceId === deviceId)?.siteId;
    if (site !== undefined) sites.add(site);
  };
  for (const scope of eventScopes(event, inputs.enrolments, inputs.now)) {
    if (scope.kind === 'site') sites.add(scope.id);
    else if (scope.kind === 'device') siteOfDevice(scope.id);
    else if (scope.kind === 'group')
      for (const deviceId of inputs.groupMembers.get(scope.id) ?? []) siteOfDevice(deviceId);
  }
  return sites;
}

/** Whether a control of higher precedence forces net charging in interval k (maxNetDischargeKw < 0). */
function forcesCharging(windows: readonly PowerWindow[] | undefined, k: number): boolean {
  if (windows === undefined) return false;
  for (const w of windows)
    if (w.fromInterval <= k && k < w.toInterval && w.maxNetDischargeKw !== undefined && w.maxNetDischargeKw < 0)
      return true;
  return false;
}

/** The protected power windows of each planned battery, and what protects them. */
export function baselineWindows(inputs: BaselineWindowInputs): BaselineWindows {
  const result: BaselineWindows = { powerWindows: new Map(), records: [] };
  const intervals = inputs.bounds.length - 1;
  if (intervals < 1 || inputs.batteries.length === 0) return result;
  const horizonEnd = Math.min(inputs.horizonEnd, inputs.bounds[intervals] as number);
  const windows = protectedEvents({ ...inputs, horizonEnd });
  if (windows.length === 0) return result;
  const sitesOf = new Map(windows.map((w) => [w.event.id, eventSites(w.event, inputs)]));
  for (const battery of inputs.batteries) {
    const overrides = inputs.overrides?.get(battery.deviceId);
    const protectedAt = new Uint8Array(intervals);
    for (const window of windows) {
      if (!sitesOf.get(window.event.id)?.has(battery.siteId)) continue;
      // Plan intervals [bounds[k], bounds[k + 1]) that overlap [from, to), even partly.
      let fromInterval = -1;
      let toInterval = -1;
      const skipped: number[] = [];
      for (let k = 0; k < intervals; k++) {
        const start = inputs.bounds[k] as number;
        const end = inputs.bounds[k + 1] as number;
        if (!(start < window.to && end > window.from)) continue;
        if (fromInterval < 0) fromInterval = k;
        toInterval = k + 1;
        if (forcesCharging(overrides, k)) skipped.push(k);
        else protectedAt[k] = 1;
      }
      if (fromInterval < 0) continue;
      result.records.push({
        deviceId: battery.deviceId,
        eventId: window.event.id,
        programId: window.event.programId,
        from: window.from,
        to: window.to,
        fromInterval,
        toInterval,
        ...(skipped.length > 0 ? { skippedIntervals: skipped } : {}),
      });
    }
    const runs: PowerWindow[] = [];
    for (let k = 0; k < intervals; k++) {
      if (protectedAt[k] !== 1) continue;
      const last = runs.at(-1);
      if (last !== undefined && last.toInterval === k) last.toInterval = k + 1;
      else runs.push({ fromInterval: k, toInterval: k + 1, minNetDischargeKw: 0 });
    }
    if (runs.length > 0) result.powerWindows.set(battery.deviceId, runs);
  }
  return result;
}
