/**
 * Event M&V in the gateway (issue 10; bess_market.md §3): one program event's report per site,
 * storage device and market aggregation, from the site meters' and batteries' telemetry, through
 * the pure baselines and settlement of @gridseam/settlement (dayMatchingBaseline,
 * meterBeforeMeterAfter, deviceMetering, eventReport). docs/settlement.md "In the gateway: event
 * reports" and docs/reference/api.md "Event M&V" document every rule below.
 *
 * - Sites: the event's targets (sites; the sites of targeted devices and of the groups' members at
 *   the event start), else the program's enrolments in force at the start (sites, devices' sites).
 * - Load: the site's meter (a device of class 'meter' at the site; the first by id when there are
 *   several) reads activePower in the generator convention (export positive), so load = -activePower.
 *   W are averaged per interval (hourly for day-matching methods, the settlement interval for MBMA
 *   and device metering) and become kWh; an interval without a reading is missing data (NaN).
 * - Day-matching exclusions (notes §3.2, §3.5 baseline contamination): days with another event of
 *   the same program touching the site, and days with a 'market'-source event on a storage device
 *   at the site (battery dispatch days).
 * - The event window is the event's span (cut at a cancellation) widened to whole intervals.
 * - Obligation (kW, per interval, time-weighted over the part of the interval the event covers):
 *   options.obligationKw; else the event's `loadDispatch` (a power unit: W, kW, MW, optionally
 *   `delta`; the magnitude) or `capacityAward` (W unless its unit says kW/MW) signal, shared equally
 *   over the event's sites; else the site's enrolment reserve.capacityW / 1000 (a site enrolment,
 *   else the sum of its devices' enrolments); else 0 (noted).
 * - Prices: the event's `price` signals (USD/kWh unless the unit names MWh), time-weighted over the
 *   covered part of the interval; none without one.
 * - Devices: every storage device at an event site with a meter is reported by device metering
 *   (MGO, notes §3.5: load offset counted, export not), its obligation a share of its site's by
 *   discharge rating; an interval without the device's or the meter's telemetry credits 0 (noted).
 * - Aggregations: market aggregations ('market-aggregations') whose members at the event start
 *   include a reported site; settled on the sum of those member sites (eventReport).
 * A refused baseline (GW_ERR_BASELINE_REFUSED) is a note and the site is left out; an unknown
 * event is GW_ERR_NOT_FOUND.
 */
import {
  type Device,
  type Enrolment,
  eventEnd,
  eventStart,
  GridseamError,
  type Membership,
  membersAt,
  type ProgramEvent,
  type Signal,
  type ValidationIssue,
  validationError,
} from '@gridseam/model';
import {
  addDays,
  membersAt as aggregationMembersAt,
  type BaselineMethod,
  type BaselineResult,
  type DayMatchingMethod,
  DEFAULT_DAY_MATCHING_RULES,
  dayIntervals,
  dayMatchingBaseline,
  deviceMetering,
  type EventIntervalInput,
  type EventReport,
  type EventReportInput,
  eventReport,
  isLocalDate,
  type LocalDate,
  loadDaysFromInstants,
  localDateOf,
  meterBeforeMeterAfter,
  startOfLocalDay,
} from '@gridseam/settlement';
import { AggregationStore } from '../market/stores.ts';
import { listAll } from '../store/list-all.ts';
import type { Store } from '../store/types.ts';
import { eventStoppedAt, type StorageFacts, storageFactsOf } from './gather.ts';

export const BASELINE_METHODS: readonly BaselineMethod[] = [
  'caiso-10in10',
  'caiso-5in10',
  'pjm-high4of5',
  'meter-before-meter-after',
  'device-metering',
];
export const DEFAULT_EVENT_REPORT_METHOD: BaselineMethod = 'caiso-10in10';
/** Meter before / meter after averages the hour before the event (NAESB MBMA; meterBeforeMeterAfter's default). */
const MBMA_BEFORE_MINUTES = 60;
const MINUTE_MS = 60_000;
/** Obligations and prices beyond these are typing errors. */
const MAX_OBLIGATION_KW = 1e9;
const MAX_PENALTY_USD_PER_KWH = 1e6;
const MAX_HOLIDAYS = 366;

export interface EventReportOptions {
  /** Default 'caiso-10in10'. */
  method?: BaselineMethod;
  /** Obligation of every site, kW (over the signal and the enrolments). */
  obligationKw?: number;
  /** Penalty per kWh of shortfall, USD (default the service's rate for the program, else 0). */
  penaltyUsdPerKwh?: number;
  /** Days counted as weekend days for the day-type match. */
  holidays?: LocalDate[];
  /**
   * What a site's baseline is made of (notes §3.5): 'net' (default) the meter's net import, with
   * battery-dispatch days excluded as contaminated; 'gross' the meter plus its storage's output, i.e.
   * the load without the batteries, so dispatch days stay eligible and the site's reduction is its
   * load response alone (the storage is measured by its own meter in `devices`).
   */
  load?: 'net' | 'gross';
}

/** What the report needs of the settlement service. */
export interface EventReportContext {
  store: Store;
  /** The market's time zone: local days and hour labels. */
  timeZone: string;
  /** Settlement interval, minutes (MBMA and device metering use it; day-matching is hourly). */
  intervalMinutes: number;
  /** Shortfall penalty per program id, USD per kWh (the service's option). */
  penaltyUsdPerKwh?: Readonly<Record<string, number>> | undefined;
}

/** Days left out of one site's day-matching baseline, by why. */
export interface EventReportExclusion {
  siteId: string;
  kind: 'program-event' | 'battery-dispatch';
  days: LocalDate[];
}

/** One event's report (EventReport of @gridseam/settlement) with how it was made. */
export interface GatewayEventReport extends EventReport {
  /** How data was read or left out: refused baselines, exclusions, missing telemetry, obligations. */
  notes: string[];
  method: BaselineMethod;
  timeZone: string;
  /** The local day of the event's start. */
  eventDay: LocalDate;
  /** Local hour-beginning labels of the event on its day (the day-matching event hours). */
  eventHours: number[];
  /** The event window widened to whole intervals, epoch ms [start, end), and the interval length. */
  window: { start: number; end: number };
  intervalMinutes: number;
  exclusions: EventReportExclusion[];
}

// ------------------------------------------------------------------------------------ validation

/** The options with their defaults, checked. */
export interface CheckedEventReportOptions {
  method: BaselineMethod;
  holidays: LocalDate[];
  load: 'net' | 'gross';
  obligationKw?: number;
  penaltyUsdPerKwh?: number;
}

/** The options checked: GW_ERR_VALIDATION naming each bad field (/method, /obligationKw, ...). */
export function checkEventReportOptions(options: EventReportOptions): CheckedEventReportOptions {
  const issues: ValidationIssue[] = [];
  const method = options.method ?? DEFAULT_EVENT_REPORT_METHOD;
  if (!BASELINE_METHODS.includes(method))
    issues.push({ path: '/method', message: `must be one of ${BASELINE_METHODS.join(', ')}` });
  const number = (value: number | undefined, path: string, max: number) => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)
      issues.push({ path, message: `must be a finite number from 0 to ${max}` });
  };
  const load = options.load ?? 'net';
  if (load !== 'net' && load !== 'gross') issues.push({ path: '/load', message: "must be 'net' or 'gross'" });
  number(options.obligationKw, '/obligationKw', MAX_OBLIGATION_KW);
  number(options.penaltyUsdPerKwh, '/penaltyUsdPerKwh', MAX_PENALTY_USD_PER_KWH);
  const holidays = options.holidays ?? [];
  if (!Array.isArray(holidays) || holidays.length > MAX_HOLIDAYS)
    issues.push({ path: '/holidays', message: `must be at most ${MAX_HOLIDAYS} calendar dates` });
  else
    holidays.forEach((day, i) => {
      if (!isLocalDate(day)) issues.push({ path: `/holidays/${i}`, message: 'must be a calendar date YYYY-MM-DD' });
    });
  if (issues.length > 0) throw validationError('event report options', issues);
  return {
    method,
    load,
    holidays: [...holidays],
    ...(options.obligationKw === undefined ? {} : { obligationKw: options.obligationKw }),
    ...(options.penaltyUsdPerKwh === undefined ? {} : { penaltyUsdPerKwh: options.penaltyUsdPerKwh }),
  };
}

// ------------------------------------------------------------------------------------ time grid

/** Consecutive local intervals: starts (epoch ms), local hour labels and local dates. */
interface Grid {
  starts: number[];
  hours: number[];
  dates: LocalDate[];
  intervalMinutes: number;
}

/** Every local interval starting in [from, to), from the zone's day grids (23/24/25-hour days). */
function gridOf(from: number, to: number, timeZone: string, intervalMinutes: number): Grid {
  const grid: Grid = { starts: [], hours: [], dates: [], intervalMinutes };
  if (to <= from) return grid;
  const last = localDateOf(to - 1, timeZone);
  for (let date = localDateOf(from, timeZone); date <= last; date = addDays(date, 1)) {
    const day = dayIntervals(date, timeZone, intervalMinutes);
    day.starts.forEach((start, k) => {
      if (start < from || start >= to) return;
      grid.starts.push(start);
      grid.hours.push(day.hours[k] as number);
      grid.dates.push(date);
    });
  }
  return grid;
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/**
 * A device's activePower as energy per grid interval, kWh x `sign` (NaN = no reading). Buckets as
 * long as the interval when every interval start is aligned to it since the epoch (whole-hour
 * zones), else as long as the largest common divisor (a +05:30 zone reads 30-minute buckets), so
 * each bucket lies inside one interval; the interval's power = mean of its buckets' averages.
 */
async function intervalEnergy(store: Store, deviceId: string, grid: Grid, sign: 1 | -1): Promise<Float64Array> {
  const count = grid.starts.length;
  const kwh = new Float64Array(count).fill(Number.NaN);
  if (count === 0) return kwh;
  const minutes = grid.intervalMinutes;
  let bucketMinutes = minutes;
  for (const start of grid.starts) bucketMinutes = gcd(bucketMinutes, Math.round(start / MINUTE_MS) % minutes);
  const intervalMs = minutes * MINUTE_MS;
  const buckets = await store.telemetry.downsample({
    deviceId,
    measurand: 'activePower',
    from: grid.starts[0] as number,
    to: (grid.starts[count - 1] as number) + intervalMs,
    bucketMs: bucketMinutes * MINUTE_MS,
  });
  buckets.sort((a, b) => a.start - b.start);
  const sum = new Float64Array(count);
  const seen = new Uint32Array(count);
  let k = 0;
  for (const bucket of buckets) {
    while (k < count && (grid.starts[k] as number) + intervalMs <= bucket.start) k++;
    if (k >= count) break;
    if (bucket.start < (grid.starts[k] as number) || !Number.isFinite(bucket.avg)) continue;
    sum[k] = (sum[k] as number) + bucket.avg;
    seen[k] = (seen[k] as number) + 1;
  }
  const hours = minutes / 60;
  for (let i = 0; i < count; i++)
    if ((seen[i] as number) > 0) kwh[i] = (sign * ((sum[i] as number) / (seen[i] as number)) * hours) / 1000;
  return kwh;
}

/** The meter's net import plus each storage device's output per interval (NaN where either is missing). */
async function grossLoad(
  store: Store,
  netImport: Float64Array,
  storage: readonly { deviceId: string }[],
  grid: Grid,
): Promise<Float64Array> {
  const gross = Float64Array.from(netImport);
  for (const { deviceId } of storage) {
    const output = await intervalEnergy(store, deviceId, grid, 1);
    for (let i = 0; i < gross.length; i++) gross[i] = (gross[i] as number) + (output[i] as number);
  }
  return gross;
}

// ------------------------------------------------------------------------------------ signals

/** kW of a power signal: its unit W, kW or MW (optionally followed by `delta`), `fallback` when absent. */
function kwOf(signal: Signal, fallback: 'W' | undefined): number | undefined {
  const unit = (signal.unit ?? fallback ?? '').trim().replace(/\s+delta$/i, '');
  if (unit === 'W') return signal.value / 1000;
  if (unit === 'kW') return signal.value;
  if (unit === 'MW') return signal.value * 1000;
  return undefined;
}

/** The reduction an event interval asks for, kW: `loadDispatch` in a power unit, else `capacityAward`. */
function reductionKwOf(signals: readonly Signal[]): number | undefined {
  for (const signal of signals)
    if (signal.kind === 'loadDispatch') {
      const kw = kwOf(signal, undefined);
      if (kw !== undefined) return Math.abs(kw);
    }
  for (const signal of signals)
    if (signal.kind === 'capacityAward') {
      const kw = kwOf(signal, 'W');
      if (kw !== undefined) return Math.abs(kw);
    }
  return undefined;
}

/** $/MWh of a `price` signal: USD/kWh unless its unit names MWh (the model's currency per kWh). */
function priceOf(signals: readonly Signal[]): number | undefined {
  const signal = signals.find((s) => s.kind === 'price');
  if (signal === undefined) return undefined;
  return /mwh/i.test(signal.unit ?? '') ? signal.value : signal.value * 1000;
}

/**
 * Over [from, to) cut at `until`: the time-weighted mean of a per-event-interval value over the
 * whole interval (uncovered time counts 0: an obligation in kW), and over the covered part only
 * (a price), or undefined when no covering event interval has the value.
 */
function weighted(
  event: ProgramEvent,
  from: number,
  to: number,
  until: number,
  signalValue: (signals: readonly Signal[]) => number | undefined,
): { overInterval: number; overCovered: number } | undefined {
  let weight = 0;
  let sum = 0;
  for (const interval of event.intervals) {
    const start = Math.max(from, interval.start);
    const end = Math.min(to, interval.start + interval.durationS * 1000, until);
    if (end <= start) continue;
    const value = signalValue(interval.signals);
    if (value === undefined) continue;
    weight += end - start;
    sum += value * (end - start);
  }
  if (weight === 0) return undefined;
  return { overInterval: sum / (to - from), overCovered: sum / weight };
}

/** The fraction of [from, to) the event covers (before `until`). */
function coverage(event: ProgramEvent, from: number, to: number, until: number): number {
  return weighted(event, from, to, until, () => 1)?.overInterval ?? 0;
}

// ------------------------------------------------------------------------------------ registry reads

/** The registry facts the report reads once. */
interface Registry {
  devices: Map<string, Device>;
  devicesBySite: Map<string, Device[]>;
  enrolments: Enrolment[];
  memberships: Map<string, Membership[]>;
  store: Store;
}

async function readRegistry(store: Store): Promise<Registry> {
  const [devices, enrolments] = await Promise.all([
    listAll((page) => store.devices.list(page)),
    listAll((page) => store.enrolments.list(page)),
  ]);
  const byId = new Map(devices.map((d) => [d.id, d]));
  const bySite = new Map<string, Device[]>();
  for (const device of [...devices].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const list = bySite.get(device.siteId) ?? [];
    list.push(device);
    bySite.set(device.siteId, list);
  }
  return { devices: byId, devicesBySite: bySite, enrolments, memberships: new Map(), store };
}

async function groupMembersAt(registry: Registry, groupId: string, at: number): Promise<string[]> {
  let history = registry.memberships.get(groupId);
  if (history === undefined) {
    history = await registry.store.memberships.list({ groupId });
    registry.memberships.set(groupId, history);
  }
  return membersAt(history, at);
}

function enrolmentsInForce(registry: Registry, programId: string, at: number): Enrolment[] {
  return registry.enrolments.filter(
    (e) =>
      e.programId === programId &&
      e.status === 'active' &&
      e.validFrom <= at &&
      (e.validTo === undefined || at < e.validTo),
  );
}

/** The sites and devices an event applies to at an instant (its targets, else its program's enrolments). */
async function eventScope(
  registry: Registry,
  event: ProgramEvent,
  at: number,
): Promise<{ siteIds: Set<string>; deviceIds: Set<string> }> {
  const siteIds = new Set<string>();
  const deviceIds = new Set<string>();
  const addDevice = (id: string) => {
    deviceIds.add(id);
    const device = registry.devices.get(id);
    if (device !== undefined) siteIds.add(device.siteId);
  };
  const addSite = (id: string) => {
    siteIds.add(id);
    for (const device of registry.devicesBySite.get(id) ?? []) deviceIds.add(device.id);
  };
  const { siteIds: sites = [], deviceIds: devices = [], groupIds = [] } = event.targets;
  for (const id of sites) addSite(id);
  for (const id of devices) addDevice(id);
  for (const id of groupIds) for (const member of await groupMembersAt(registry, id, at)) addDevice(member);
  if (sites.length + devices.length + groupIds.length === 0)
    for (const enrolment of enrolmentsInForce(registry, event.programId, at)) {
      if (enrolment.siteId !== undefined) addSite(enrolment.siteId);
      else if (enrolment.deviceId !== undefined) addDevice(enrolment.deviceId);
    }
  return { siteIds, deviceIds };
}

/** The local dates an instant span [from, to) touches. */
function datesOf(from: number, to: number, timeZone: string): LocalDate[] {
  if (to <= from) return [];
  const dates: LocalDate[] = [];
  const last = localDateOf(to - 1, timeZone);
  for (let date = localDateOf(from, timeZone); date <= last; date = addDays(date, 1)) dates.push(date);
  return dates;
}

// ------------------------------------------------------------------------------------ the report

interface SiteFacts {
  siteId: string;
  meter: Device | undefined;
  storage: StorageFacts[];
}

/** One program event's M&V report: per site, storage device and aggregation (see the file comment). */
export async function buildEventReport(
  context: EventReportContext,
  eventId: string,
  options: EventReportOptions = {},
): Promise<GatewayEventReport> {
  const checked = checkEventReportOptions(options);
  const { method, holidays, load: loadKind } = checked;
  const { store, timeZone } = context;
  const event = await store.events.get(eventId);
  if (event === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `event ${eventId} not found`);
  const notes: string[] = [];
  const isDayMatching = method === 'caiso-10in10' || method === 'caiso-5in10' || method === 'pjm-high4of5';
  const intervalMinutes = isDayMatching ? 60 : context.intervalMinutes;
  const intervalMs = intervalMinutes * MINUTE_MS;
  const penaltyUsdPerKwh = checked.penaltyUsdPerKwh ?? context.penaltyUsdPerKwh?.[event.programId] ?? 0;

  // ---- the event window, widened to whole intervals
  const start = eventStart(event);
  const stoppedAt = eventStoppedAt(event);
  const end = Math.min(eventEnd(event), stoppedAt);
  if (stoppedAt < eventEnd(event))
    notes.push(
      Number.isFinite(stoppedAt)
        ? `the event was ${event.status} at ${new Date(stoppedAt).toISOString()}: measured up to then`
        : `the event is ${event.status} with no record of when: it never applied`,
    );
  const eventDay = localDateOf(start, timeZone);
  const windowGrid = gridOf(start - intervalMs, Math.max(end, start) + intervalMs, timeZone, intervalMinutes);
  const inWindow: number[] = [];
  windowGrid.starts.forEach((s, k) => {
    if (s < end && s + intervalMs > start) inWindow.push(k);
  });
  const window = {
    start: inWindow.length > 0 ? (windowGrid.starts[inWindow[0] as number] as number) : start,
    end: inWindow.length > 0 ? (windowGrid.starts[inWindow.at(-1) as number] as number) + intervalMs : start,
  };
  const eventHours = [
    ...new Set(inWindow.filter((k) => windowGrid.dates[k] === eventDay).map((k) => windowGrid.hours[k] as number)),
  ];
  const base: Omit<GatewayEventReport, keyof EventReport> = {
    notes,
    method,
    timeZone,
    eventDay,
    eventHours,
    window,
    intervalMinutes,
    exclusions: [],
  };
  const empty = (): GatewayEventReport => ({
    eventId: event.id,
    programId: event.programId,
    penaltyUsdPerKwh,
    sites: [],
    devices: [],
    aggregations: [],
    ...base,
  });
  if (inWindow.length === 0) {
    notes.push('the event never applied (stopped before it started): nothing to measure');
    return empty();
  }
  if (window.start !== start || window.end !== end)
    notes.push(
      `the event covers part of its first or last ${intervalMinutes}-minute interval: whole intervals are measured, obligations count the covered part only`,
    );
  if (isDayMatching && inWindow.some((k) => windowGrid.dates[k] !== eventDay))
    notes.push(`the event runs past the end of ${eventDay}: the day-matching baseline covers ${eventDay} only`);

  // ---- the event's sites and their meters and storage
  const registry = await readRegistry(store);
  const scope = await eventScope(registry, event, start);
  const siteIds = [...scope.siteIds].sort();
  if (siteIds.length === 0) notes.push('the event applies to no site (no targets and no enrolment in force)');
  const sites: SiteFacts[] = siteIds.map((siteId) => {
    const devices = registry.devicesBySite.get(siteId) ?? [];
    const meters = devices.filter((d) => d.class === 'meter');
    if (meters.length > 1) notes.push(`site ${siteId}: ${meters.length} meters; ${meters[0]?.id} is read`);
    const storage = devices.map(storageFactsOf).filter((f): f is StorageFacts => f !== undefined);
    return { siteId, meter: meters[0], storage };
  });

  // ---- obligations and prices per window interval
  const obligationOf = obligationSource(checked.obligationKw, event, registry, siteIds, start, end, notes);
  const windowStarts = inWindow.map((k) => windowGrid.starts[k] as number);
  const priceAt = (intervalStart: number) =>
    weighted(event, intervalStart, intervalStart + intervalMs, end, priceOf)?.overCovered;

  // ---- data: the meters' load and the batteries' output over what each method reads
  const lookbackDays = isDayMatching ? DEFAULT_DAY_MATCHING_RULES[method as DayMatchingMethod].lookbackDays : 0;
  // Day-matching: the lookback and one day more (notes §3.2: 45 calendar days before the event day).
  const readFrom = isDayMatching
    ? startOfLocalDay(addDays(eventDay, -(lookbackDays + 1)), timeZone)
    : method === 'meter-before-meter-after'
      ? window.start - MBMA_BEFORE_MINUTES * MINUTE_MS
      : window.start;
  const dataGrid = gridOf(readFrom, window.end, timeZone, intervalMinutes);
  const dataIndex = new Map(dataGrid.starts.map((s, i) => [s, i]));
  const eventGrid: Grid = {
    starts: windowStarts,
    hours: inWindow.map((k) => windowGrid.hours[k] as number),
    dates: inWindow.map((k) => windowGrid.dates[k] as LocalDate),
    intervalMinutes,
  };

  const reportSites: EventReportInput['sites'] = [];
  const reportDevices: NonNullable<EventReportInput['devices']> = [];
  const exclusions: EventReportExclusion[] = [];
  const otherEvents = isDayMatching
    ? (await listAll((page) => store.events.list({ ...page, from: readFrom, to: window.start }))).filter(
        (e) => e.id !== event.id,
      )
    : [];
  const scopes = new Map<string, { siteIds: Set<string>; deviceIds: Set<string> }>();
  for (const other of otherEvents) scopes.set(other.id, await eventScope(registry, other, eventStart(other)));

  for (const site of sites) {
    const { siteId, meter } = site;
    const obligationKw = (intervalStart: number) => obligationOf(siteId, intervalStart, intervalStart + intervalMs);
    if (meter === undefined) {
      notes.push(`site ${siteId}: no meter (a device of class 'meter'): the site and its storage are left out`);
      continue;
    }
    const load = await intervalEnergy(store, meter.id, dataGrid, -1);

    // Devices: MGO for every storage device at the site (notes §3.5), whatever the site's method.
    const totalDischargeKw = site.storage.reduce((sum, f) => sum + f.maxDischargeKw, 0);
    const deviceReductions = new Map<string, number[]>();
    for (const facts of site.storage) {
      const output = await intervalEnergy(store, facts.deviceId, eventGrid, 1);
      const share = totalDischargeKw > 0 ? facts.maxDischargeKw / totalDischargeKw : 1 / site.storage.length;
      const reductions = deviceIntervals(facts, output, load, dataIndex, eventGrid, notes);
      deviceReductions.set(facts.deviceId, reductions);
      reportDevices.push({
        deviceId: facts.deviceId,
        siteId,
        intervals: windowStarts.map((s, i) => {
          const price = priceAt(s);
          return {
            hour: eventGrid.hours[i] as number,
            start: s,
            durationH: intervalMinutes / 60,
            reductionKwh: reductions[i] as number,
            obligationKw: obligationKw(s) * share,
            ...(price === undefined ? {} : { priceUsdPerMwh: price }),
          };
        }),
      });
    }

    // The site.
    let baseline: BaselineResult | undefined;
    let intervals: EventIntervalInput[];
    try {
      if (method === 'device-metering') {
        if (site.storage.length === 0) {
          notes.push(`site ${siteId}: device-metering needs a storage device at the site: left out`);
          continue;
        }
        intervals = windowStarts.map((s, i) => ({
          hour: eventGrid.hours[i] as number,
          start: s,
          durationH: intervalMinutes / 60,
          reductionKwh: [...deviceReductions.values()].reduce((sum, r) => sum + (r[i] as number), 0),
          obligationKw: 0,
        }));
      } else {
        if (method === 'meter-before-meter-after')
          baseline = meterBeforeMeterAfter({
            starts: dataGrid.starts,
            kwh: load,
            intervalMinutes,
            eventStart: window.start,
            eventEnd: window.end,
            beforeMinutes: MBMA_BEFORE_MINUTES,
            timeZone,
          });
        else {
          const gross = loadKind === 'gross' && site.storage.length > 0;
          const excludeDays = excludedDays(site, otherEvents, scopes, event, eventDay, timeZone, exclusions, notes, {
            dispatchDays: !gross,
          });
          // Gross load = net import + the storage's output (discharge positive): the site without its batteries.
          const baselineLoad = gross ? await grossLoad(store, load, site.storage, dataGrid) : load;
          if (gross)
            notes.push(`site ${siteId}: baseline on gross load (meter + ${site.storage.length} storage device(s))`);
          baseline = dayMatchingBaseline({
            method: method as DayMatchingMethod,
            days: loadDaysFromInstants(dataGrid.starts, baselineLoad, intervalMinutes, timeZone),
            eventDay,
            eventHours,
            holidays,
            excludeDays,
          });
        }
        for (const note of baseline.notes) notes.push(`site ${siteId}: ${note}`);
        intervals = baseline.intervals.map((interval) => ({
          hour: interval.hour,
          ...(interval.start === undefined ? {} : { start: interval.start }),
          durationH: interval.durationH,
          reductionKwh: interval.reduction,
          obligationKw: 0,
        }));
      }
    } catch (error) {
      if (GridseamError.is(error) && error.code === 'GW_ERR_BASELINE_REFUSED') {
        notes.push(`site ${siteId}: baseline refused (${error.message}): left out`);
        continue;
      }
      throw error;
    }
    for (const interval of intervals) {
      const s = interval.start ?? window.start;
      interval.obligationKw = obligationKw(s);
      const price = priceAt(s);
      if (price !== undefined) interval.priceUsdPerMwh = price;
    }
    reportSites.push({ siteId, method, intervals, ...(baseline === undefined ? {} : { baseline }) });
  }
  base.exclusions = exclusions;

  // ---- aggregations whose members at the event start include a reported site
  const reported = new Set(reportSites.map((s) => s.siteId));
  const aggregations: Array<{ aggregationId: string; memberSiteIds: string[] }> = [];
  for (const aggregation of await new AggregationStore(store).list()) {
    const memberSites = new Set(aggregationMembersAt(aggregation, start).map((m) => m.siteId));
    const included = [...memberSites].filter((id) => reported.has(id)).sort();
    if (included.length === 0) continue;
    const missing = [...memberSites].filter((id) => !reported.has(id) && scope.siteIds.has(id)).sort();
    if (missing.length > 0)
      notes.push(
        `aggregation ${aggregation.id}: member site(s) ${missing.join(', ')} not in the report (see their notes): settled without them`,
      );
    aggregations.push({ aggregationId: aggregation.id, memberSiteIds: included });
  }

  const report = eventReport({
    eventId: event.id,
    programId: event.programId,
    penaltyUsdPerKwh,
    sites: reportSites,
    devices: reportDevices,
    aggregations,
  });
  return { ...report, ...base };
}

/**
 * The obligation of a site over an interval, kW (time-weighted over the event's coverage of it),
 * from the first source that has one: the option, the event's signals, the enrolment reserve.
 */
function obligationSource(
  optionKw: number | undefined,
  event: ProgramEvent,
  registry: Registry,
  siteIds: readonly string[],
  start: number,
  end: number,
  notes: string[],
): (siteId: string, from: number, to: number) => number {
  if (optionKw !== undefined) return (_siteId, from, to) => optionKw * coverage(event, from, to, end);
  const hasSignal = event.intervals.some((interval) => reductionKwOf(interval.signals) !== undefined);
  if (hasSignal) {
    if (siteIds.length > 1)
      notes.push(`obligation: the event's reduction signal is shared equally over its ${siteIds.length} sites`);
    return (_siteId, from, to) =>
      (weighted(event, from, to, end, reductionKwOf)?.overInterval ?? 0) / Math.max(1, siteIds.length);
  }
  const enrolled = enrolmentsInForce(registry, event.programId, start);
  const reserveKw = new Map<string, number>();
  for (const siteId of siteIds) {
    const site = enrolled.find((e) => e.siteId === siteId && e.reserve?.capacityW !== undefined);
    let watts = site?.reserve?.capacityW;
    if (watts === undefined) {
      const devices = enrolled.filter(
        (e) =>
          e.deviceId !== undefined &&
          registry.devices.get(e.deviceId)?.siteId === siteId &&
          e.reserve?.capacityW !== undefined,
      );
      if (devices.length > 0) watts = devices.reduce((sum, e) => sum + (e.reserve?.capacityW ?? 0), 0);
    }
    if (watts === undefined)
      notes.push(`site ${siteId}: no obligation (no obligationKw, reduction signal or enrolment reserve): 0 kW`);
    reserveKw.set(siteId, (watts ?? 0) / 1000);
  }
  return (siteId, from, to) => (reserveKw.get(siteId) ?? 0) * coverage(event, from, to, end);
}

/**
 * MGO reductions of one storage device over the event intervals (deviceMetering, load offset
 * only; `output` is aligned with the event grid, `load` with the data grid through `dataIndex`):
 * an interval without the device's or the meter's reading credits 0, noted.
 */
function deviceIntervals(
  facts: StorageFacts,
  output: Float64Array,
  load: Float64Array,
  dataIndex: ReadonlyMap<number, number>,
  eventGrid: Grid,
  notes: string[],
): number[] {
  const starts: number[] = [];
  const deviceKwh: number[] = [];
  const siteNetImportKwh: number[] = [];
  let missing = 0;
  eventGrid.starts.forEach((start, k) => {
    const i = dataIndex.get(start);
    const out = output[k] as number;
    const net = i === undefined ? Number.NaN : (load[i] as number);
    if (Number.isNaN(out) || Number.isNaN(net)) {
      missing++;
      return;
    }
    starts.push(start);
    deviceKwh.push(out);
    siteNetImportKwh.push(net);
  });
  if (missing > 0)
    notes.push(
      `device ${facts.deviceId}: ${missing} interval(s) without its or the site meter's telemetry are credited 0`,
    );
  const metered = new Map<number, number>();
  const first = eventGrid.starts[0];
  const last = eventGrid.starts.at(-1);
  if (starts.length > 0 && first !== undefined && last !== undefined)
    for (const interval of deviceMetering({
      starts,
      intervalMinutes: eventGrid.intervalMinutes,
      deviceKwh,
      siteNetImportKwh,
      eventStart: first,
      eventEnd: last + eventGrid.intervalMinutes * MINUTE_MS,
    }))
      metered.set(interval.start, interval.reduction);
  return eventGrid.starts.map((start) => metered.get(start) ?? 0);
}

/**
 * The days left out of a site's day-matching baseline (notes §3.2, §3.5): days of other events of
 * the same program touching the site, and days of 'market' events on a storage device at the site;
 * each kind recorded with its days and noted with its count.
 */
function excludedDays(
  site: SiteFacts,
  others: readonly ProgramEvent[],
  scopes: ReadonlyMap<string, { siteIds: Set<string>; deviceIds: Set<string> }>,
  event: ProgramEvent,
  eventDay: LocalDate,
  timeZone: string,
  exclusions: EventReportExclusion[],
  notes: string[],
  options: { dispatchDays: boolean },
): LocalDate[] {
  const storageIds = new Set(site.storage.map((f) => f.deviceId));
  const byKind: Record<EventReportExclusion['kind'], Set<LocalDate>> = {
    'program-event': new Set(),
    'battery-dispatch': new Set(),
  };
  for (const other of others) {
    const scope = scopes.get(other.id);
    if (scope === undefined) continue;
    const days = datesOf(eventStart(other), Math.min(eventEnd(other), eventStoppedAt(other)), timeZone).filter(
      (d) => d < eventDay,
    );
    if (days.length === 0) continue;
    if (other.programId === event.programId && scope.siteIds.has(site.siteId))
      for (const d of days) byKind['program-event'].add(d);
    if (options.dispatchDays && other.source === 'market' && [...scope.deviceIds].some((id) => storageIds.has(id)))
      for (const d of days) byKind['battery-dispatch'].add(d);
  }
  const what: Record<EventReportExclusion['kind'], string> = {
    'program-event': `other events of program ${event.programId} at the site`,
    'battery-dispatch': "'market' events on the site's storage (battery dispatch days)",
  };
  const all = new Set<LocalDate>();
  for (const kind of ['program-event', 'battery-dispatch'] as const) {
    const days = [...byKind[kind]].sort();
    if (days.length === 0) continue;
    for (const d of days) all.add(d);
    exclusions.push({ siteId: site.siteId, kind, days });
    notes.push(`site ${site.siteId}: excluded ${days.length} day(s) with ${what[kind]}: ${days.join(', ')}`);
  }
  return [...all].sort();
}
