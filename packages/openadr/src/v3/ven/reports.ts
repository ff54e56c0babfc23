/**
 * When the VEN reports and what a report holds (pure: the VEN passes samples and instants).
 *
 * Planning follows the reportDescriptor (3.1.0 User Guide §7.5 'reportDescriptor'), over the event's
 * interval timeline (N intervals, ids as the event gave them):
 * - n = numIntervals (-1: all N), f = frequency (-1: n), g0 = startInterval (-1: the last interval);
 *   report k is generated at the end of interval g0 + k*f and covers the n intervals up to and
 *   including it (the User Guide's periodic example: startInterval 1, numIntervals 2, frequency 2,
 *   repeat 3 gives reports after intervals 1, 3 and 5, each over two intervals); `repeat` reports at
 *   most (-1: until the timeline ends). Defaults give one report at the end of the last interval
 *   over all intervals.
 * - Ad hoc (frequency 0), OPEN_INTERVALS, and 'report-only' events without intervals: one report
 *   every `adHocIntervalMs` while the event runs (report-only: `repeat` times, -1 without end), one
 *   VEN-chosen interval each.
 * - historical false (forecasts) is not supported: the VEN has no forecast; such descriptors are
 *   skipped and named once.
 * - 'do it now' reporting (§7.5): of the reports already due when the VEN first sees an event only
 *   the latest is sent.
 * Descriptors with the same timing share one report (their payloads side by side, descriptor order).
 *
 * Values per interval and resource come from the samples taken while the interval ran: powers,
 * voltage and state of charge averaged, capacities and states the latest, USAGE the growth of the
 * imported-energy counter from the last sample before the interval to the last sample in it.
 */
import type { IntervalTiming, NormalizedReportDescriptor, ResourceValues } from '../canonical.ts';

/** One resource's reading at one instant, from the VEN's telemetry callback. */
export interface ResourceSample {
  resourceName: string;
  values: ResourceValues;
  /** The resource's imported-energy counter, Wh (for USAGE). */
  energyImportedWh?: number;
}

export interface ReportGroup {
  /** Stable key of the timing the descriptors share. */
  key: string;
  descriptors: NormalizedReportDescriptor[];
  adHoc: boolean;
}

export interface PlannedReport {
  /** Unique per event: group key and the interval index it is generated after (or the ad-hoc count). */
  key: string;
  group: ReportGroup;
  /** Indexes into the timeline of the intervals the report covers (empty for ad hoc). */
  cover: number[];
  /** When it is due, epoch ms. */
  dueAt: number;
}

function timingKey(d: NormalizedReportDescriptor): string {
  return JSON.stringify([
    d.aggregate,
    d.startInterval,
    d.numIntervals,
    d.frequency,
    d.repeat,
    d.historical,
    d.reportIntervals,
    d.targets,
  ]);
}

/** Groups descriptors by timing; forecasts (historical false) come back in `unsupported`. */
export function reportGroups(
  descriptors: readonly NormalizedReportDescriptor[],
  timeline: readonly IntervalTiming[],
): { groups: ReportGroup[]; unsupported: NormalizedReportDescriptor[] } {
  const groups = new Map<string, ReportGroup>();
  const unsupported: NormalizedReportDescriptor[] = [];
  for (const descriptor of descriptors) {
    if (!descriptor.historical) {
      unsupported.push(descriptor);
      continue;
    }
    const key = timingKey(descriptor);
    const group = groups.get(key);
    if (group !== undefined) group.descriptors.push(descriptor);
    else
      groups.set(key, {
        key,
        descriptors: [descriptor],
        adHoc: descriptor.frequency === 0 || descriptor.reportIntervals === 'OPEN_INTERVALS' || timeline.length === 0,
      });
  }
  return { groups: [...groups.values()], unsupported };
}

/** The interval-aligned reports of a group (not ad hoc) in generation order. */
export function plannedReports(group: ReportGroup, timeline: readonly IntervalTiming[]): PlannedReport[] {
  if (group.adHoc || timeline.length === 0) return [];
  const d = group.descriptors[0] as NormalizedReportDescriptor;
  const last = timeline.length - 1;
  const n = d.numIntervals <= 0 ? timeline.length : Math.min(timeline.length, d.numIntervals);
  const f = d.frequency < 0 ? n : d.frequency;
  const first = d.startInterval < 0 ? last : Math.min(last, d.startInterval);
  const repeat = d.repeat === 0 ? 1 : d.repeat;
  const out: PlannedReport[] = [];
  for (let k = 0; ; k++) {
    if (repeat > 0 && k >= repeat) break;
    const at = first + k * Math.max(1, f);
    if (at > last) break;
    const cover: number[] = [];
    for (let i = Math.max(0, at - n + 1); i <= at; i++) cover.push(i);
    out.push({ key: `${group.key}#${at}`, group, cover, dueAt: (timeline[at] as IntervalTiming).end });
    if (f <= 0) break;
  }
  return out;
}

/** Averages and latest values of one resource over one interval. */
export class IntervalAccumulator {
  #count = 0;
  readonly #sums = new Map<'activePowerW' | 'reactivePowerVar' | 'voltageV' | 'socPct', { sum: number; n: number }>();
  #latest: ResourceValues = {};
  #energyStart: number | undefined;
  #energyEnd: number | undefined;

  /** `energyBefore`: the counter's last value before this interval, when known. */
  constructor(energyBefore?: number) {
    this.#energyStart = energyBefore;
  }

  get samples(): number {
    return this.#count;
  }

  add(sample: ResourceSample): void {
    this.#count++;
    const v = sample.values;
    for (const key of ['activePowerW', 'reactivePowerVar', 'voltageV', 'socPct'] as const) {
      const value = v[key];
      if (value === undefined || !Number.isFinite(value)) continue;
      const entry = this.#sums.get(key) ?? { sum: 0, n: 0 };
      entry.sum += value;
      entry.n++;
      this.#sums.set(key, entry);
    }
    this.#latest = { ...this.#latest, ...definedOnly(v) };
    const energy = sample.energyImportedWh;
    if (energy !== undefined && Number.isFinite(energy)) {
      this.#energyStart ??= energy;
      this.#energyEnd = energy;
    }
  }

  values(): ResourceValues {
    const out: ResourceValues = { ...this.#latest };
    for (const [key, { sum, n }] of this.#sums) if (n > 0) out[key] = sum / n;
    if (this.#energyStart !== undefined && this.#energyEnd !== undefined)
      out.usageWh = Math.max(0, this.#energyEnd - this.#energyStart);
    else delete out.usageWh;
    return out;
  }
}

function definedOnly(values: ResourceValues): ResourceValues {
  const out: ResourceValues = {};
  for (const [key, value] of Object.entries(values) as Array<[keyof ResourceValues, unknown]>)
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}

/** The resources a group reports on: those its targets name, else all. */
export function groupResources(group: ReportGroup, resources: readonly string[]): string[] {
  const named = new Set<string>();
  for (const d of group.descriptors)
    for (const target of d.targets) {
      if (typeof target === 'string') named.add(target);
      else for (const value of target.values) if (typeof value === 'string') named.add(value);
    }
  const picked = resources.filter((name) => named.has(name));
  return picked.length > 0 ? picked : [...resources];
}
