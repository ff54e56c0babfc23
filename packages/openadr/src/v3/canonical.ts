/**
 * OpenADR 3 (3.0.1 and 3.1.0) <-> the canonical model (packages/model program.ts). Pure: no I/O, no
 * clock, no randomness; the caller passes `now`, when it received the event and its random draw.
 *
 * Down (program, event -> canonical Program, ProgramEvent draft):
 * - Timing (User Guide §7.3, §7.4): event.intervalPeriod gives the default start of the first
 *   interval and the default duration of every interval; an interval's own intervalPeriod wins per
 *   field; an interval without a start follows the previous one. A start of 0001-01-01 ('the
 *   beginning of time') on the first interval is 'do it now': the instant the VEN received this
 *   version of the event. "P9999Y" is infinity, capped at the model's longest interval (1 year).
 *   Multi-valued payloads (PRICE [0.17, 0.03, 0.11] over PT3H) are split into equal sub-intervals
 *   (§7.3 'multi-valued payloads'). event.duration (3.1.0, §7.3 'event.duration') clips the
 *   intervals, or loops them when it is longer than they are (at most `maxIntervals`, 1 year).
 *   randomizeStart shifts every start by one offset drawn once per event (§7.3), already applied;
 *   the draft records the window in randomizeStartS.
 * - Payload types (Definition, event interval payload enumerations) -> canonical signals:
 *   | payloadType              | canonical signal                                                   |
 *   | SIMPLE 0..3              | simpleLevel (always) + the program's level controls (below)        |
 *   | PRICE                    | price, unit '<currency>/<units>' (e.g. USD/KWH); also a PricePoint |
 *   | EXPORT_PRICE, PRICE_ALTERNATE | PricePoint only (no canonical signal kind)                    |
 *   | IMPORT_CAPACITY_LIMIT    | importLimit, W (units KW default, W, MW)                           |
 *   | EXPORT_CAPACITY_LIMIT    | exportLimit, W                                                     |
 *   | CHARGE_STATE_SETPOINT    | targetSoc, % (units PERCENT, a fraction 0..1 per the units table)  |
 *   | DISPATCH_SETPOINT        | fixedW = -consumption, W (the model's generator sign rule)         |
 *   | anything else            | recorded in `unsupported`, not applied                             |
 *   SIMPLE levels (Definition: 0 normal, 1 moderate, 2 high, 3 emergency load shed) map per program:
 *   by default level 1/2/3 limit the site's import to 75 / 50 / 25 % of the program's `referenceW`
 *   (e.g. the service rating); level 0 applies nothing. Without referenceW a fractional step cannot
 *   become watts, so only the simpleLevel signal is recorded. A program may give absolute controls.
 * - Units (units enumeration): KW -> x1000 W, W, MW; PERCENT is a fraction (-1..1).
 * - Targets: 3.0.1 valuesMap {type, values} and 3.1.0 strings, through the configured target map to
 *   EventTargets (sites, devices, groups). No targets: the program's enrolments (empty EventTargets,
 *   or the program's default targets). A target naming this VEN's venName covers the whole VEN. An
 *   event whose targets match nothing configured is not for this gateway (`forUs` false).
 * - priority -> primacy: program primacy (configured) + priority (lower wins in both), capped at 255.
 * - Status: no OpenADR 3 status exists; a window that is over is 'completed', an event whose every
 *   interval was set to no duration is 'cancelled' (User Guide §7.9), else 'scheduled' (the control
 *   engine moves it to active and completed).
 * Up (canonical values -> report payloads, report payload enumerations): see `reportPayload`.
 */
import type { EventInterval, EventStatus, EventTargets, Program, SetpointKind, Signal } from '@gridseam/model';
import type { Oadr3Version } from './validate.ts';

export const OADR3_EVENT_SOURCE = 'openadr3';

/** The model's longest interval (EventInterval.durationS maximum), s. */
export const MAX_INTERVAL_S = 31_536_000;
/** Looping (event.duration) and splitting stop after this many canonical intervals by default. */
export const DEFAULT_MAX_INTERVALS = 1000;
const ID_MAX = 128;

// ------------------------------------------------------------------ structural OpenADR 3 shapes

/** A point of a CURVE payload. */
export interface Oadr3Point {
  x: number;
  y: number;
}
export type Oadr3Value = number | string | boolean | Oadr3Point;

export interface Oadr3ValuesMap {
  type: string;
  values: readonly Oadr3Value[];
}

export interface Oadr3IntervalPeriod {
  start?: string | null;
  duration?: string | null;
  randomizeStart?: string | null;
}

export interface Oadr3Interval {
  id: number;
  intervalPeriod?: Oadr3IntervalPeriod | null;
  payloads: readonly Oadr3ValuesMap[];
}

export interface Oadr3PayloadDescriptor {
  objectType?: string | null;
  payloadType: string;
  units?: string | null;
  currency?: string | null;
  readingType?: string | null;
}

export interface Oadr3ReportDescriptor {
  payloadType: string;
  readingType?: string | null;
  units?: string | null;
  targets?: readonly Oadr3Target[] | null;
  aggregate?: boolean | null;
  startInterval?: number | null;
  numIntervals?: number | null;
  historical?: boolean | null;
  frequency?: number | null;
  repeat?: number | null;
  reportIntervals?: string | null;
}

/** 3.0.1: a valuesMap {type, values}; 3.1.0: a plain string. */
export type Oadr3Target = string | Oadr3ValuesMap;

/** The fields of a program (both versions) the mapping reads. */
export interface Oadr3ProgramLike {
  id: string;
  programName: string;
  programLongName?: string | null;
  retailerName?: string | null;
  programType?: string | null;
  intervalPeriod?: Oadr3IntervalPeriod | null;
  programDescriptions?: ReadonlyArray<{ URL: string }> | null;
  payloadDescriptors?: ReadonlyArray<Oadr3PayloadDescriptor> | null;
  targets?: readonly Oadr3Target[] | null;
  createdDateTime?: string | null;
  modificationDateTime?: string | null;
}

/** The fields of an event (both versions) the mapping reads. */
export interface Oadr3EventLike {
  id: string;
  programID: string;
  eventName?: string | null;
  priority?: number | null;
  duration?: string | null;
  targets?: readonly Oadr3Target[] | null;
  reportDescriptors?: readonly Oadr3ReportDescriptor[] | null;
  payloadDescriptors?: readonly Oadr3PayloadDescriptor[] | null;
  intervalPeriod?: Oadr3IntervalPeriod | null;
  intervals?: readonly Oadr3Interval[] | null;
  createdDateTime?: string | null;
  modificationDateTime?: string | null;
}

// ------------------------------------------------------------------ time

const DURATION =
  /^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$/;

/** An ISO 8601 duration, as the spec's `duration` pattern allows it. */
export interface ParsedDuration {
  negative: boolean;
  years: number;
  months: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export function parseDuration(text: string | null | undefined): ParsedDuration | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  const n = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  const dayCount = n(4) * (m[5] === 'W' ? 7 : 1);
  return {
    negative: m[1] === '-',
    years: n(2),
    months: n(3),
    days: dayCount,
    hours: n(6),
    minutes: n(7),
    seconds: n(8),
  };
}

/** "P9999Y" and longer: infinity (User Guide §7.3 intervalPeriod.duration). */
function isInfinite(duration: ParsedDuration): boolean {
  return !duration.negative && duration.years >= 9999;
}

/**
 * `start` plus a duration, in epoch ms: years and months on the UTC calendar, days as 24 h.
 * Infinite for "P9999Y" (Number.POSITIVE_INFINITY).
 */
export function addDuration(start: number, duration: ParsedDuration): number {
  if (isInfinite(duration)) return Number.POSITIVE_INFINITY;
  const sign = duration.negative ? -1 : 1;
  let at = start;
  if (duration.years !== 0 || duration.months !== 0) {
    const date = new Date(start);
    date.setUTCMonth(date.getUTCMonth() + sign * (duration.years * 12 + duration.months));
    at = date.getTime();
  }
  const fixedMs =
    ((duration.days * 24 + duration.hours) * 60 + duration.minutes) * 60_000 + Math.round(duration.seconds * 1000);
  return at + sign * fixedMs;
}

/** A duration as seconds without a calendar (years 365 d, months 30 d); for randomizeStart. */
export function durationSeconds(duration: ParsedDuration): number {
  const days = duration.years * 365 + duration.months * 30 + duration.days;
  const seconds = ((days * 24 + duration.hours) * 60 + duration.minutes) * 60 + duration.seconds;
  return duration.negative ? -seconds : seconds;
}

/**
 * An RFC 3339 date-time (or a bare date) as epoch ms; a time without an offset is read as UTC.
 * Undefined when it is not one.
 */
export function parseDateTime(text: string | null | undefined): number | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) =>
    m[i] === undefined ? 0 : Number(m[i]),
  );
  if ((month ?? 0) < 1 || (month ?? 0) > 12 || (day ?? 0) < 1 || (day ?? 0) > 31) return undefined;
  if ((hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year ?? 0, (month ?? 1) - 1, day ?? 1);
  date.setUTCHours(hour ?? 0, minute ?? 0, second ?? 0, m[7] === undefined ? 0 : Math.round(Number(m[7]) * 1000));
  let ms = date.getTime();
  if (m[9] !== undefined) {
    const offset = (Number(m[10]) * 60 + Number(m[11])) * 60_000;
    ms -= m[9] === '-' ? -offset : offset;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/** The first instant of year 2: anything earlier is '0001-01-01' or '0000-01-01'. */
const YEAR_2 = new Date(0).setUTCFullYear(2, 0, 1);

/** '0001-01-01' and the like: 'the beginning of time' (User Guide §7.3 intervalPeriod.start). */
function isBeginningOfTime(ms: number): boolean {
  return ms < YEAR_2;
}

/** RFC 3339 in UTC with milliseconds, as the spec's examples write it. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Whole seconds as an ISO 8601 duration (PT1H30M, PT15S, PT0S). */
export function formatDuration(seconds: number): string {
  let rest = Math.max(0, Math.round(seconds));
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  rest -= minutes * 60;
  let out = 'P';
  if (days > 0) out += `${days}D`;
  if (hours > 0 || minutes > 0 || rest > 0 || days === 0) {
    out += 'T';
    if (hours > 0) out += `${hours}H`;
    if (minutes > 0) out += `${minutes}M`;
    if (rest > 0 || (hours === 0 && minutes === 0)) out += `${rest}S`;
  }
  return out;
}

// ------------------------------------------------------------------ ids

/** A canonical id from an OpenADR object id: `oadr3.<kind>.<id>`, hashed (FNV-1a) when too long. */
export function oadr3CanonicalId(kind: 'program' | 'event', objectId: string): string {
  const slug = objectId.replace(/[^A-Za-z0-9._:-]+/g, '_');
  const id = `oadr3.${kind}.${slug}`;
  if (id.length <= ID_MAX) return id;
  return `oadr3.${kind}.h${fnv1a(objectId)}`;
}

function fnv1a(text: string): string {
  // Two 32-bit FNV-1a passes with different offsets: 64 bits, enough to keep long ids apart.
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 ^ 0x5bd1e995) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

// ------------------------------------------------------------------ configuration of the mapping

/** Setpoint kinds a SIMPLE level may set as a fraction of the program's referenceW. */
export const FRACTION_KINDS = [
  'importLimit',
  'exportLimit',
  'loadLimit',
  'generationLimit',
  'chargeLimit',
  'dischargeLimit',
] as const satisfies readonly SetpointKind[];
export type FractionKind = (typeof FRACTION_KINDS)[number];

/** One control of a SIMPLE level: an absolute value in the kind's unit, or a fraction of referenceW. */
export type SimpleLevelControl = { kind: SetpointKind; value: number } | { kind: FractionKind; fraction: number };

export interface SimpleLevelMapping {
  /** The watts fractions refer to (e.g. the site's service rating); absent: fractional steps are not applied. */
  referenceW?: number;
  /** Controls per level 1, 2, 3 (level 0 is normal operation: none). Default DEFAULT_SIMPLE_LEVELS. */
  levels?: Partial<Record<'1' | '2' | '3', readonly SimpleLevelControl[]>>;
}

/** Moderate, high and emergency load shed as site import limits at 75, 50 and 25 % of referenceW. */
export const DEFAULT_SIMPLE_LEVELS: Readonly<Record<'1' | '2' | '3', readonly SimpleLevelControl[]>> = {
  '1': [{ kind: 'importLimit', fraction: 0.75 }],
  '2': [{ kind: 'importLimit', fraction: 0.5 }],
  '3': [{ kind: 'importLimit', fraction: 0.25 }],
};

/**
 * One configured target: an OpenADR target (3.1.0 string; 3.0.1 valuesMap value, optionally only
 * of one valuesMap type such as GROUP or RESOURCE_NAME) and the canonical scopes it stands for.
 */
export interface TargetMapping {
  target: string;
  /** 3.0.1 only: match only valuesMaps of this type. */
  type?: string;
  siteIds?: readonly string[];
  deviceIds?: readonly string[];
  groupIds?: readonly string[];
}

export interface ProgramMapping {
  /** Canonical Program id (default oadr3CanonicalId('program', programID)). */
  id?: string;
  primacy: number;
  kind?: Program['kind'];
  simple?: SimpleLevelMapping;
  /** Targets of events that name none (default: empty, i.e. the program's enrolments). */
  defaultTargets?: EventTargets;
}

export interface Oadr3EventContext {
  version: Oadr3Version;
  /** Canonical id and primacy of the event's program, its SIMPLE mapping, default targets. */
  program: ProgramMapping;
  /** The program object (its payloadDescriptors are the defaults for its events, User Guide §7.6). */
  programObject?: Pick<Oadr3ProgramLike, 'payloadDescriptors'>;
  venName: string;
  targets?: readonly TargetMapping[];
  /** Now, epoch ms: decides 'completed'. */
  now: number;
  /** When this version of the event was received, epoch ms: the 'do it now' start. Default now. */
  receivedAt?: number;
  /** A uniform draw in [0, 1) kept per event for randomizeStart; default 0.5 (no shift). */
  random?: number;
  maxIntervals?: number;
}

// ------------------------------------------------------------------ results

/** A price for dispatch (issue 7: handed on once dispatch exists). */
export interface PricePoint {
  payloadType: 'PRICE' | 'EXPORT_PRICE' | 'PRICE_ALTERNATE';
  intervalId: number;
  start: number;
  durationS: number;
  value: number;
  currency?: string;
  units?: string;
}

/** A payload recorded but not applied, and why. */
export interface UnsupportedPayload {
  payloadType: string;
  intervalId: number;
  reason: string;
}

/** When one OpenADR interval runs (after randomisation, clipping and looping), for reports. */
export interface IntervalTiming {
  id: number;
  start: number;
  end: number;
}

export type ProgramEventDraft = {
  id: string;
  programId: string;
  source: 'openadr3';
  externalId: string;
  primacy: number;
  /** Empty when nothing in the event maps to a canonical signal, or when it was cancelled. */
  intervals: EventInterval[];
  targets: EventTargets;
  randomizeStartS?: number;
  status: EventStatus;
  statusHistory: Array<{ status: EventStatus; at: number; reason?: string }>;
  createdAt: number;
  updatedAt?: number;
};

export interface Oadr3EventDraft {
  event: ProgramEventDraft;
  /** Whether the event's targets include this gateway (see the header). */
  forUs: boolean;
  prices: PricePoint[];
  unsupported: UnsupportedPayload[];
  /** The OpenADR intervals with their resolved windows (ids repeat when the event loops). */
  timeline: IntervalTiming[];
  /** The reports the event asks for, defaults filled in (reportDescriptor defaults). */
  reportDescriptors: NormalizedReportDescriptor[];
  /** The event's modificationDateTime (or createdDateTime): what tells versions apart. */
  version: string;
}

export interface NormalizedReportDescriptor {
  payloadType: string;
  readingType?: string;
  units?: string;
  targets: readonly Oadr3Target[];
  aggregate: boolean;
  startInterval: number;
  numIntervals: number;
  historical: boolean;
  frequency: number;
  repeat: number;
  reportIntervals: 'INTERVALS' | 'SUB_INTERVALS' | 'OPEN_INTERVALS';
}

// ------------------------------------------------------------------ programs

/** A program as a canonical Program (source 'openadr3'). */
export function programFromOadr3(program: Oadr3ProgramLike, mapping: ProgramMapping): Program {
  const description = [
    program.programLongName,
    program.retailerName === undefined || program.retailerName === null ? undefined : `by ${program.retailerName}`,
    ...(program.programDescriptions ?? []).map((d) => d.URL),
  ]
    .filter((part): part is string => typeof part === 'string' && part.length > 0)
    .join('; ');
  const created = parseDateTime(program.createdDateTime);
  const modified = parseDateTime(program.modificationDateTime);
  return {
    id: mapping.id ?? oadr3CanonicalId('program', program.id),
    name: `OpenADR 3 ${program.programName}`.slice(0, 256),
    kind: mapping.kind ?? programKindOf(program),
    source: OADR3_EVENT_SOURCE,
    primacy: clampPrimacy(mapping.primacy),
    ...(description === '' ? {} : { description: description.slice(0, 4096) }),
    ...(created !== undefined && created >= 0 ? { createdAt: created } : {}),
    ...(modified !== undefined && modified >= 0 ? { updatedAt: modified } : {}),
  };
}

/** The program kind from its payload descriptors: capacity limits -> dynamic-export, else demand-response. */
function programKindOf(program: Oadr3ProgramLike): Program['kind'] {
  const types = new Set((program.payloadDescriptors ?? []).map((d) => d.payloadType));
  if (types.has('EXPORT_CAPACITY_LIMIT') || types.has('IMPORT_CAPACITY_LIMIT')) return 'dynamic-export';
  if (types.has('IMPORT_CAPACITY_SUBSCRIPTION') || types.has('EXPORT_CAPACITY_SUBSCRIPTION')) return 'capacity';
  return 'demand-response';
}

function clampPrimacy(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}

// ------------------------------------------------------------------ units and payloads

/** Watts from a power value in `units` (KW default); undefined for a unit that is not a power. */
export function wattsOf(value: number, units: string | null | undefined): number | undefined {
  const unit = (units ?? 'KW').toUpperCase();
  if (unit === 'KW') return value * 1000;
  if (unit === 'W') return value;
  if (unit === 'MW') return value * 1_000_000;
  return undefined;
}

/** Percent (0..100) from a PERCENT value, which the units table gives as a fraction. */
function percentOf(value: number, units: string | null | undefined): number | undefined {
  const unit = (units ?? 'PERCENT').toUpperCase();
  if (unit === 'PERCENT') return value * 100;
  return undefined;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

interface Piece {
  start: number;
  end: number;
  signal: Signal;
}

/** Payload types that map to canonical signals. */
const MAPPED_TYPES: ReadonlySet<string> = new Set([
  'SIMPLE',
  'PRICE',
  'IMPORT_CAPACITY_LIMIT',
  'EXPORT_CAPACITY_LIMIT',
  'CHARGE_STATE_SETPOINT',
  'DISPATCH_SETPOINT',
]);

interface PayloadContext {
  descriptors: ReadonlyMap<string, Oadr3PayloadDescriptor>;
  simple: SimpleLevelMapping | undefined;
}

/** The canonical signals of one payload value; undefined (with a reason) when it maps to none. */
function signalsOf(
  type: string,
  value: Oadr3Value,
  context: PayloadContext,
): { signals: Signal[]; reason?: string } | undefined {
  if (!MAPPED_TYPES.has(type)) return undefined;
  const descriptor = context.descriptors.get(type);
  if (typeof value !== 'number' || !Number.isFinite(value))
    return { signals: [], reason: `${type} value is not a number` };
  switch (type) {
    case 'SIMPLE': {
      if (!Number.isInteger(value) || value < 0 || value > 3) return { signals: [], reason: 'SIMPLE must be 0..3' };
      const signals: Signal[] = [{ kind: 'simpleLevel', value, unit: 'level' }];
      if (value === 0) return { signals };
      const simple = context.simple;
      const controls =
        simple?.levels?.[String(value) as '1' | '2' | '3'] ?? DEFAULT_SIMPLE_LEVELS[String(value) as '1'];
      let skipped = false;
      for (const control of controls) {
        if ('value' in control) signals.push({ kind: control.kind, value: control.value });
        else if (simple?.referenceW !== undefined)
          signals.push({ kind: control.kind, value: Math.round(control.fraction * simple.referenceW), unit: 'W' });
        else skipped = true;
      }
      return skipped
        ? { signals, reason: `SIMPLE level ${value}: fractional controls need the program's referenceW` }
        : { signals };
    }
    case 'PRICE': {
      const unit = [descriptor?.currency, descriptor?.units].filter((p) => typeof p === 'string' && p !== '').join('/');
      return { signals: [{ kind: 'price', value, ...(unit === '' ? {} : { unit: unit.slice(0, 32) }) }] };
    }
    case 'IMPORT_CAPACITY_LIMIT':
    case 'EXPORT_CAPACITY_LIMIT': {
      const watts = wattsOf(value, descriptor?.units);
      if (watts === undefined) return { signals: [], reason: `units ${descriptor?.units} is not a power` };
      if (watts < 0) return { signals: [], reason: 'a capacity limit must be >= 0' };
      const kind = type === 'IMPORT_CAPACITY_LIMIT' ? 'importLimit' : 'exportLimit';
      return { signals: [{ kind, value: round3(watts), unit: 'W' }] };
    }
    case 'CHARGE_STATE_SETPOINT': {
      const pct = percentOf(value, descriptor?.units);
      if (pct === undefined) return { signals: [], reason: `units ${descriptor?.units}: only PERCENT is applied` };
      if (pct < 0 || pct > 100) return { signals: [], reason: 'state of charge outside 0..1 (PERCENT)' };
      return { signals: [{ kind: 'targetSoc', value: round3(pct), unit: '%' }] };
    }
    case 'DISPATCH_SETPOINT': {
      const watts = wattsOf(value, descriptor?.units);
      if (watts === undefined) return { signals: [], reason: `units ${descriptor?.units} is not a power` };
      // Consumption by the resource: power into it, negative under the generator convention.
      return { signals: [{ kind: 'fixedW', value: round3(watts === 0 ? 0 : -watts), unit: 'W' }] };
    }
    default:
      return undefined;
  }
}

const PRICE_TYPES: ReadonlySet<string> = new Set(['PRICE', 'EXPORT_PRICE', 'PRICE_ALTERNATE']);
/** Payload types whose values array holds one value per sub-interval (User Guide §7.3). */
const SERIAL_TYPES: ReadonlySet<string> = new Set([
  'SIMPLE',
  'PRICE',
  'EXPORT_PRICE',
  'PRICE_ALTERNATE',
  'GHG',
  'IMPORT_CAPACITY_LIMIT',
  'EXPORT_CAPACITY_LIMIT',
  'CHARGE_STATE_SETPOINT',
  'DISPATCH_SETPOINT',
]);

// ------------------------------------------------------------------ targets

/**
 * EventTargets of an event's targets. `forUs` false when the event names targets none of which is
 * configured nor this VEN's name.
 */
export function targetsOf(
  targets: readonly Oadr3Target[] | null | undefined,
  mappings: readonly TargetMapping[],
  venName: string,
  defaults: EventTargets = {},
): { targets: EventTargets; forUs: boolean } {
  const list = (targets ?? []).filter((t) => t !== null && t !== undefined);
  if (list.length === 0) return { targets: cloneTargets(defaults), forUs: true };
  const sites = new Set<string>();
  const devices = new Set<string>();
  const groups = new Set<string>();
  let whole = false;
  let matched = false;
  const match = (value: string, type: string | undefined) => {
    if (value === venName && (type === undefined || type === 'VEN_NAME')) whole = true;
    for (const mapping of mappings) {
      if (mapping.target !== value) continue;
      if (type !== undefined && mapping.type !== undefined && mapping.type !== type) continue;
      matched = true;
      for (const id of mapping.siteIds ?? []) sites.add(id);
      for (const id of mapping.deviceIds ?? []) devices.add(id);
      for (const id of mapping.groupIds ?? []) groups.add(id);
    }
  };
  for (const target of list) {
    if (typeof target === 'string') match(target, undefined);
    else if (typeof target === 'object' && typeof target.type === 'string' && Array.isArray(target.values))
      for (const value of target.values)
        if (typeof value === 'string' || typeof value === 'number') match(String(value), target.type);
  }
  if (whole) return { targets: cloneTargets(defaults), forUs: true };
  if (!matched) return { targets: {}, forUs: false };
  const out: EventTargets = {};
  if (sites.size > 0) out.siteIds = [...sites].sort();
  if (devices.size > 0) out.deviceIds = [...devices].sort();
  if (groups.size > 0) out.groupIds = [...groups].sort();
  return { targets: out, forUs: true };
}

function cloneTargets(targets: EventTargets): EventTargets {
  const out: EventTargets = {};
  if (targets.siteIds !== undefined && targets.siteIds.length > 0) out.siteIds = [...targets.siteIds];
  if (targets.deviceIds !== undefined && targets.deviceIds.length > 0) out.deviceIds = [...targets.deviceIds];
  if (targets.groupIds !== undefined && targets.groupIds.length > 0) out.groupIds = [...targets.groupIds];
  return out;
}

// ------------------------------------------------------------------ events

/** The report descriptor with the spec's defaults filled in. */
export function normalizeReportDescriptor(descriptor: Oadr3ReportDescriptor): NormalizedReportDescriptor {
  const int = (value: number | null | undefined, fallback: number) =>
    typeof value === 'number' && Number.isInteger(value) ? value : fallback;
  const intervals = descriptor.reportIntervals;
  return {
    payloadType: descriptor.payloadType,
    ...(typeof descriptor.readingType === 'string' ? { readingType: descriptor.readingType } : {}),
    ...(typeof descriptor.units === 'string' ? { units: descriptor.units } : {}),
    targets: descriptor.targets ?? [],
    aggregate: descriptor.aggregate === true,
    startInterval: int(descriptor.startInterval, -1),
    numIntervals: int(descriptor.numIntervals, -1),
    historical: descriptor.historical !== false,
    frequency: int(descriptor.frequency, -1),
    repeat: int(descriptor.repeat, 1),
    reportIntervals: intervals === 'SUB_INTERVALS' || intervals === 'OPEN_INTERVALS' ? intervals : 'INTERVALS',
  };
}

/** The version stamp of an OpenADR object: modificationDateTime, else createdDateTime, else ''. */
export function versionOf(object: { modificationDateTime?: string | null; createdDateTime?: string | null }): string {
  return object.modificationDateTime ?? object.createdDateTime ?? '';
}

interface ResolvedInterval {
  id: number;
  start: number;
  end: number;
  payloads: readonly Oadr3ValuesMap[];
}

/** Interval windows per User Guide §7.3 / §7.4 (before randomisation, clipping and looping). */
function resolveIntervals(
  event: Oadr3EventLike,
  receivedAt: number,
  unsupported: UnsupportedPayload[],
): { intervals: ResolvedInterval[]; zeroLength: number } {
  const eventPeriod = event.intervalPeriod ?? undefined;
  const eventStartMs = parseDateTime(eventPeriod?.start);
  const eventStart = eventStartMs === undefined || isBeginningOfTime(eventStartMs) ? undefined : eventStartMs;
  const out: ResolvedInterval[] = [];
  let previousEnd: number | undefined;
  let zeroLength = 0;
  (event.intervals ?? []).forEach((interval, index) => {
    const own = interval.intervalPeriod ?? undefined;
    const ownStartMs = parseDateTime(own?.start);
    let start: number;
    if (ownStartMs !== undefined && !isBeginningOfTime(ownStartMs)) start = ownStartMs;
    else if (index === 0) start = eventStart ?? receivedAt;
    else start = previousEnd ?? eventStart ?? receivedAt;
    const durationText = own?.duration ?? eventPeriod?.duration ?? undefined;
    const duration = parseDuration(durationText);
    if (duration === undefined || duration.negative) {
      for (const payload of interval.payloads)
        unsupported.push({
          payloadType: payload.type,
          intervalId: interval.id,
          reason: durationText === undefined ? 'the interval has no duration' : `bad duration ${durationText}`,
        });
      return;
    }
    const end = Math.min(addDuration(start, duration), start + MAX_INTERVAL_S * 1000);
    previousEnd = end;
    if (end <= start) {
      zeroLength++;
      return;
    }
    out.push({ id: interval.id, start, end, payloads: interval.payloads });
  });
  return { intervals: out, zeroLength };
}

/** randomizeStart of the event (or of its first interval), seconds. */
function randomizeStartOf(event: Oadr3EventLike): number | undefined {
  const text = event.intervalPeriod?.randomizeStart ?? event.intervals?.[0]?.intervalPeriod?.randomizeStart;
  const parsed = parseDuration(text);
  if (parsed === undefined) return undefined;
  const seconds = Math.abs(durationSeconds(parsed));
  return seconds > 0 ? Math.min(86400, Math.round(seconds)) : undefined;
}

/** Clips or loops the windows to event.duration (3.1.0), measured from the first start. */
function applyEventDuration(
  intervals: ResolvedInterval[],
  durationText: string | null | undefined,
  maxIntervals: number,
): ResolvedInterval[] {
  const duration = parseDuration(durationText);
  const first = intervals[0];
  if (duration === undefined || duration.negative || first === undefined) return intervals;
  const origin = Math.min(...intervals.map((i) => i.start));
  const end = Math.min(addDuration(origin, duration), origin + MAX_INTERVAL_S * 1000);
  if (end <= origin) return intervals; // PT0S, the schema default: no event-level duration
  const spanEnd = Math.max(...intervals.map((i) => i.end));
  const span = spanEnd - origin;
  const out: ResolvedInterval[] = [];
  for (let loop = 0; out.length < maxIntervals; loop++) {
    const shift = loop * span;
    if (origin + shift >= end) break;
    for (const interval of intervals) {
      const start = interval.start + shift;
      if (start >= end || out.length >= maxIntervals) break;
      out.push({ ...interval, start, end: Math.min(end, interval.end + shift) });
    }
    if (span <= 0) break;
  }
  return out;
}

/**
 * An OpenADR 3 event as a canonical ProgramEvent draft with its prices, what was not applied, its
 * interval timeline and report requests. See the header for the rules.
 */
export function eventFromOadr3(event: Oadr3EventLike, context: Oadr3EventContext): Oadr3EventDraft {
  const receivedAt = context.receivedAt ?? context.now;
  const maxIntervals = context.maxIntervals ?? DEFAULT_MAX_INTERVALS;
  const unsupported: UnsupportedPayload[] = [];
  const prices: PricePoint[] = [];
  const descriptors = new Map<string, Oadr3PayloadDescriptor>();
  for (const descriptor of context.programObject?.payloadDescriptors ?? [])
    if (descriptor.objectType !== 'REPORT_PAYLOAD_DESCRIPTOR') descriptors.set(descriptor.payloadType, descriptor);
  for (const descriptor of event.payloadDescriptors ?? []) descriptors.set(descriptor.payloadType, descriptor);

  const resolved = resolveIntervals(event, receivedAt, unsupported);
  const randomizeStartS = randomizeStartOf(event);
  const offsetMs =
    randomizeStartS === undefined ? 0 : Math.round((2 * (context.random ?? 0.5) - 1) * randomizeStartS * 1000);
  const shifted = resolved.intervals.map((i) => ({ ...i, start: i.start + offsetMs, end: i.end + offsetMs }));
  const windows = applyEventDuration(shifted, event.duration, maxIntervals);

  // Payloads -> pieces (sub-intervals for multi-valued serial payloads), prices on the side.
  const payloadContext: PayloadContext = { descriptors, simple: context.program.simple };
  const pieces: Piece[][] = [];
  for (const interval of windows) {
    const own: Piece[] = [];
    for (const payload of interval.payloads) {
      const values = Array.isArray(payload.values) ? payload.values : [];
      if (values.length === 0) continue;
      const serial = SERIAL_TYPES.has(payload.type);
      const count = serial ? values.length : 1;
      const step = (interval.end - interval.start) / count;
      for (let i = 0; i < count; i++) {
        const value = values[i] as Oadr3Value;
        const start = Math.round(interval.start + i * step);
        const end = i === count - 1 ? interval.end : Math.round(interval.start + (i + 1) * step);
        if (PRICE_TYPES.has(payload.type) && typeof value === 'number' && Number.isFinite(value)) {
          const descriptor = descriptors.get(payload.type);
          prices.push({
            payloadType: payload.type as PricePoint['payloadType'],
            intervalId: interval.id,
            start,
            durationS: Math.max(1, Math.round((end - start) / 1000)),
            value,
            ...(typeof descriptor?.currency === 'string' ? { currency: descriptor.currency } : {}),
            ...(typeof descriptor?.units === 'string' ? { units: descriptor.units } : {}),
          });
        }
        const mapped = signalsOf(payload.type, value, payloadContext);
        if (mapped === undefined) {
          if (i === 0 && !PRICE_TYPES.has(payload.type))
            unsupported.push({
              payloadType: payload.type,
              intervalId: interval.id,
              reason: 'no canonical signal for this payload type',
            });
          continue;
        }
        if (mapped.reason !== undefined && !unsupported.some((u) => u.reason === mapped.reason))
          unsupported.push({ payloadType: payload.type, intervalId: interval.id, reason: mapped.reason });
        for (const signal of mapped.signals) own.push({ start, end, signal });
      }
    }
    pieces.push(own);
  }
  const intervals = canonicalIntervals(pieces, maxIntervals);

  const { targets, forUs } = targetsOf(
    event.targets,
    context.targets ?? [],
    context.venName,
    context.program.defaultTargets,
  );
  const created = parseDateTime(event.createdDateTime);
  const modified = parseDateTime(event.modificationDateTime);
  const createdAt = created !== undefined && created >= 0 ? created : receivedAt;
  const end = intervals.reduce((max, i) => Math.max(max, i.start + i.durationS * 1000), 0);
  let status: EventStatus = 'scheduled';
  let reason: string | undefined;
  if (resolved.intervals.length === 0 && resolved.zeroLength > 0) {
    status = 'cancelled';
    reason = 'the VTN set the event to no duration (OpenADR 3 User Guide §7.9)';
  } else if (intervals.length > 0 && end <= context.now) status = 'completed';

  const priority = typeof event.priority === 'number' && event.priority >= 0 ? event.priority : 0;
  const draft: ProgramEventDraft = {
    id: oadr3CanonicalId('event', event.id),
    programId: context.program.id ?? oadr3CanonicalId('program', event.programID),
    source: OADR3_EVENT_SOURCE,
    externalId: event.id,
    primacy: clampPrimacy(context.program.primacy + Math.min(255, priority)),
    intervals,
    targets,
    ...(randomizeStartS === undefined ? {} : { randomizeStartS }),
    status,
    statusHistory: [{ status, at: context.now, ...(reason === undefined ? {} : { reason }) }],
    createdAt,
    ...(modified !== undefined && modified >= 0 ? { updatedAt: modified } : {}),
  };
  return {
    event: draft,
    forUs,
    prices,
    unsupported,
    timeline: windows.map((w) => ({ id: w.id, start: w.start, end: w.end })),
    reportDescriptors: (event.reportDescriptors ?? []).map(normalizeReportDescriptor),
    version: versionOf(event),
  };
}

/**
 * Canonical intervals from the pieces of each OpenADR interval: cut at every piece boundary, each
 * cut carrying the signals in force over it (one per kind: a later payload wins); cuts with no
 * signal or shorter than 1 s are left out.
 */
function canonicalIntervals(perInterval: readonly Piece[][], maxIntervals: number): EventInterval[] {
  const out: EventInterval[] = [];
  for (const pieces of perInterval) {
    if (pieces.length === 0) continue;
    const cuts = [...new Set(pieces.flatMap((p) => [p.start, p.end]))].sort((a, b) => a - b);
    for (let i = 0; i + 1 < cuts.length && out.length < maxIntervals; i++) {
      const start = cuts[i] as number;
      const end = cuts[i + 1] as number;
      const byKind = new Map<string, Signal>();
      for (const piece of pieces)
        if (piece.start <= start && piece.end >= end) byKind.set(piece.signal.kind, piece.signal);
      const durationS = Math.min(MAX_INTERVAL_S, Math.round((end - start) / 1000));
      if (byKind.size === 0 || durationS < 1 || start < 0) continue;
      out.push({ start: Math.round(start), durationS, signals: [...byKind.values()] });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

// ------------------------------------------------------------------ reports

/**
 * What a resource reports, from canonical data. Powers in W under the model's generator convention
 * (positive: out of the resource towards the grid).
 */
export interface ResourceValues {
  activePowerW?: number;
  reactivePowerVar?: number;
  voltageV?: number;
  /** State of charge, 0..100 %. */
  socPct?: number;
  /** Energy storage can hold when full, Wh. */
  usableCapacityWh?: number;
  maxChargeW?: number;
  maxDischargeW?: number;
  /** Energy imported over the report interval, Wh (>= 0). */
  usageWh?: number;
  /** A canonical operating state (OPERATING_STATES) and whether an event curtails the resource. */
  operatingState?: string;
  curtailed?: boolean;
  /** The SIMPLE level the resource runs at. */
  simpleLevel?: number;
}

/** Report payload types `reportPayload` can fill. */
export const REPORT_PAYLOAD_TYPES = [
  'READING',
  'USAGE',
  'DEMAND',
  'STORAGE_CHARGE_LEVEL',
  'STORAGE_USABLE_CAPACITY',
  'STORAGE_MAX_CHARGE_POWER',
  'STORAGE_MAX_DISCHARGE_POWER',
  'OPERATING_STATE',
  'SIMPLE_LEVEL',
] as const;

/** Units each report payload type is sent in when the descriptor names none. */
export function defaultReportUnits(payloadType: string): string | undefined {
  switch (payloadType) {
    case 'READING':
    case 'DEMAND':
    case 'STORAGE_MAX_CHARGE_POWER':
    case 'STORAGE_MAX_DISCHARGE_POWER':
      return 'KW';
    case 'USAGE':
    case 'STORAGE_USABLE_CAPACITY':
      return 'KWH';
    case 'STORAGE_CHARGE_LEVEL':
      return 'PERCENT';
    default:
      return undefined;
  }
}

/** kW or kVAR from W or var under the load convention of a utility meter (import positive). */
function loadKw(watts: number, units: string): number | undefined {
  const unit = units.toUpperCase();
  if (unit === 'KW' || unit === 'KVAR' || unit === 'KVA') return round3(-watts / 1000);
  if (unit === 'W' || unit === 'VAR') return round3(-watts);
  if (unit === 'MW') return round3(-watts / 1_000_000);
  return undefined;
}

function operatingStateOf(state: string, curtailed: boolean): string {
  if (state === 'fault' || state === 'unavailable') return 'ERROR';
  const running = state === 'running' || state === 'charging' || state === 'discharging' || state === 'throttled';
  if (curtailed || state === 'throttled') return running ? 'RUNNING_CURTAILED' : 'IDLE_CURTAILED';
  return running ? 'RUNNING_NORMAL' : 'IDLE_NORMAL';
}

/**
 * One report payload from canonical values, per the report payload enumerations; undefined when the
 * values lack what the type needs or the type/unit is not supported.
 * - READING: KW / KVAR (active / reactive power, meter convention: import positive) or VOLTS;
 * - DEMAND: imported power, kW (>= 0); USAGE: imported energy over the interval, kWh (>= 0);
 * - STORAGE_CHARGE_LEVEL: a fraction 0..1 (PERCENT); STORAGE_USABLE_CAPACITY kWh; STORAGE_MAX_* kW;
 * - OPERATING_STATE: NORMAL-family states (IDLE_/RUNNING_ NORMAL or CURTAILED, ERROR);
 * - SIMPLE_LEVEL: the SIMPLE level in force.
 */
export function reportPayload(
  descriptor: Pick<NormalizedReportDescriptor, 'payloadType' | 'units'>,
  values: ResourceValues,
): Oadr3ValuesMap | undefined {
  const type = descriptor.payloadType;
  const units = (descriptor.units ?? defaultReportUnits(type) ?? '').toUpperCase();
  const one = (value: number | string | undefined): Oadr3ValuesMap | undefined =>
    value === undefined || (typeof value === 'number' && !Number.isFinite(value))
      ? undefined
      : { type, values: [value] };
  switch (type) {
    case 'READING':
      if (units === 'VOLTS') return one(values.voltageV === undefined ? undefined : round3(values.voltageV));
      if (units === 'KVAR')
        return one(values.reactivePowerVar === undefined ? undefined : loadKw(values.reactivePowerVar, units));
      return one(values.activePowerW === undefined ? undefined : loadKw(values.activePowerW, units || 'KW'));
    case 'DEMAND': {
      if (values.activePowerW === undefined) return undefined;
      const kw = loadKw(values.activePowerW, units || 'KW');
      return one(kw === undefined ? undefined : Math.max(0, kw));
    }
    case 'USAGE':
      if (units !== 'KWH' || values.usageWh === undefined) return undefined;
      return one(round3(Math.max(0, values.usageWh) / 1000));
    case 'STORAGE_CHARGE_LEVEL':
      if (units !== 'PERCENT' || values.socPct === undefined) return undefined;
      return one(Math.round(Math.max(0, Math.min(100, values.socPct)) * 10) / 1000);
    case 'STORAGE_USABLE_CAPACITY':
      if (units !== 'KWH' || values.usableCapacityWh === undefined) return undefined;
      return one(round3(values.usableCapacityWh / 1000));
    case 'STORAGE_MAX_CHARGE_POWER':
    case 'STORAGE_MAX_DISCHARGE_POWER': {
      const watts = type === 'STORAGE_MAX_CHARGE_POWER' ? values.maxChargeW : values.maxDischargeW;
      if (watts === undefined) return undefined;
      const kw = loadKw(-watts, units || 'KW');
      return one(kw);
    }
    case 'OPERATING_STATE':
      if (values.operatingState === undefined) return undefined;
      return one(operatingStateOf(values.operatingState, values.curtailed === true));
    case 'SIMPLE_LEVEL':
      return one(values.simpleLevel);
    default:
      return undefined;
  }
}

/** Values of several resources as one (AGGREGATED_REPORT, User Guide §7.7): powers and energies summed. */
export function aggregateValues(list: readonly ResourceValues[]): ResourceValues {
  const sum = (pick: (v: ResourceValues) => number | undefined): number | undefined => {
    let total: number | undefined;
    for (const values of list) {
      const value = pick(values);
      if (value !== undefined) total = (total ?? 0) + value;
    }
    return total;
  };
  const out: ResourceValues = {};
  const set = <K extends keyof ResourceValues>(key: K, value: ResourceValues[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set(
    'activePowerW',
    sum((v) => v.activePowerW),
  );
  set(
    'reactivePowerVar',
    sum((v) => v.reactivePowerVar),
  );
  set(
    'usageWh',
    sum((v) => v.usageWh),
  );
  set(
    'usableCapacityWh',
    sum((v) => v.usableCapacityWh),
  );
  set(
    'maxChargeW',
    sum((v) => v.maxChargeW),
  );
  set(
    'maxDischargeW',
    sum((v) => v.maxDischargeW),
  );
  const voltages = list.map((v) => v.voltageV).filter((v): v is number => v !== undefined);
  if (voltages.length > 0) out.voltageV = voltages.reduce((a, b) => a + b, 0) / voltages.length;
  // State of charge weighted by capacity where known, else the plain mean.
  const socs = list.filter((v) => v.socPct !== undefined);
  if (socs.length > 0) {
    const weighted = socs.every((v) => (v.usableCapacityWh ?? 0) > 0);
    const weight = (v: ResourceValues) => (weighted ? (v.usableCapacityWh ?? 0) : 1);
    const total = socs.reduce((a, v) => a + weight(v), 0);
    out.socPct = socs.reduce((a, v) => a + (v.socPct ?? 0) * weight(v), 0) / total;
  }
  const states = list.map((v) => v.operatingState).filter((s): s is string => s !== undefined);
  if (states.length > 0)
    out.operatingState = states.includes('fault')
      ? 'fault'
      : (states.find((s) => s === 'running' || s === 'throttled' || s === 'charging' || s === 'discharging') ??
        states[0]);
  if (list.some((v) => v.curtailed === true)) out.curtailed = true;
  const levels = list.map((v) => v.simpleLevel).filter((l): l is number => l !== undefined);
  if (levels.length > 0) out.simpleLevel = Math.max(...levels);
  return out;
}

/** One interval of report data of one resource. */
export interface ReportIntervalData {
  id: number;
  start: number;
  durationS: number;
  values: ResourceValues;
}

export interface ReportInput {
  version: Oadr3Version;
  eventID: string;
  /** Required in 3.0.1 reports; left out in 3.1.0 (removed there, changeLog issue 253). */
  programID: string;
  clientName: string;
  reportName?: string;
  descriptors: readonly Pick<NormalizedReportDescriptor, 'payloadType' | 'units' | 'readingType'>[];
  resources: ReadonlyArray<{ resourceName: string; intervals: readonly ReportIntervalData[] }>;
}

/** A report body (reportRequest 3.1.0 / report 3.0.1) from canonical values; intervals without data are left out. */
export function buildReport(input: ReportInput): Record<string, unknown> {
  const payloadDescriptors = input.descriptors.map((d) => {
    const units = d.units ?? defaultReportUnits(d.payloadType);
    return {
      objectType: 'REPORT_PAYLOAD_DESCRIPTOR',
      payloadType: d.payloadType,
      ...(d.readingType === undefined ? {} : { readingType: d.readingType }),
      ...(units === undefined ? {} : { units }),
    };
  });
  const resources = input.resources.map((resource) => ({
    resourceName: resource.resourceName,
    intervals: resource.intervals
      .map((interval) => ({
        id: interval.id,
        intervalPeriod: { start: formatDateTime(interval.start), duration: formatDuration(interval.durationS) },
        payloads: input.descriptors
          .map((d) => reportPayload(d, interval.values))
          .filter((p): p is Oadr3ValuesMap => p !== undefined)
          .map((p) => ({ type: p.type, values: [...p.values] })),
      }))
      .filter((interval) => interval.payloads.length > 0),
  }));
  return {
    ...(input.version === '3.0.1' ? { programID: input.programID } : {}),
    eventID: input.eventID,
    clientName: input.clientName,
    ...(input.reportName === undefined ? {} : { reportName: input.reportName }),
    payloadDescriptors,
    resources,
  };
}
