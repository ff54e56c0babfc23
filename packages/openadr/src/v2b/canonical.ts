/**
 * OpenADR 2.0b events to canonical ProgramEvents (packages/model program.ts). Pure: the caller gives the
 * program the event's market context maps to, the target map, the VEN's drawn start offset, its opt decision
 * and the instant.
 *
 * Signals (signalName / signalType, OpenADR 2.0b Profile Specification §8.2 and the ei:SignalNameEnumeratedType):
 * - SIMPLE (any case: OpenLEADR writes `simple`) level 0..3 -> `simpleLevel`; the program may add setpoints per
 *   level (`simpleLevels`, e.g. level 2 -> generationLimit 0) so a SIMPLE event reaches the devices;
 * - ELECTRICITY_PRICE, ENERGY_PRICE, DEMAND_CHARGE with price / priceRelative / priceMultiplier -> `price`
 *   (unit from the itemBase: USD/kWh, USD/kW, USD; `relative`, `multiplier`);
 * - LOAD_DISPATCH setpoint (power itemBase, scaled to W) -> `loadDispatch` and an `importLimit` of that value (the
 *   site draws at most the dispatched load); delta / level / multiplier -> `loadDispatch` only;
 * - LOAD_CONTROL x-loadControlCapacity (fraction 0..1 of the controllable load) -> `loadDispatch` in % and, when
 *   the program names its controllable load (`loadCapacityW`), a `loadLimit` of fraction x capacity; the other
 *   x-loadControl* types -> `loadDispatch` with the type as unit;
 * - CHARGE_STATE setpoint in % (or without units) -> `targetSoc`;
 * - BID_* and unknown `x-` signals are reported back as unsupported.
 * Signal intervals follow one another from the active period's start (an interval's own dtstart wins); the
 * canonical intervals cut the active period at every signal boundary, each carrying every signal in force.
 * An active period of duration 0 is open-ended (EI: "0 = indefinite"): it lasts OPEN_ENDED_S.
 *
 * Priority (ei:priority, "lower number higher priority, 0 = no priority, the lowest"): an event without one keeps
 * the program's primacy; priority 1..PRIORITY_SPAN ranks above it, 1 highest (primacy - PRIORITY_SPAN - 1 + p, never
 * below 0). Randomisation: ei tolerance/tolerate/startafter is recorded as randomizeStartS and the VEN's drawn
 * offset (once per event) shifts every interval, since the engine leaves randomisation to the protocol.
 * Targets: the event's eiTarget venID (ours) or no target means every site enrolled in the program; resourceID,
 * groupID and partyID go through the configured map; IDs without an entry are reported, and an event that names
 * only unmapped targets yields no event ('target-mismatch'). Signal-level eiTargets are joined with the event's.
 * Status: cancelled -> 'cancelled', completed -> 'completed', an optOut -> 'opted-out', otherwise 'active' inside
 * the window and 'scheduled' before it; modificationNumber changes are upserts of the same event (externalId).
 */
import type { EventTargets, ProgramEvent, SetpointKind, Signal } from '@gridseam/model';
import type { EiTarget, EventSignal, ItemBase, OadrEvent, OptType, SiScaleCode } from './codec/types.ts';

export const OADR2B_SOURCE = 'openadr2b';
/** Longest canonical interval (ProgramEvent intervals allow one year), seconds. */
export const OPEN_ENDED_S = 31_536_000;
/** Priorities 1..PRIORITY_SPAN rank above events without priority. */
export const PRIORITY_SPAN = 8;
const ID_MAX = 128;

/** A setpoint a SIMPLE level stands for. */
export interface SimpleLevelControl {
  kind: SetpointKind;
  value: number;
}

export interface Oadr2bProgramMapping {
  /** Canonical program id. */
  programId: string;
  /** Primacy of the program's events without priority (lower wins). */
  primacy: number;
  /** SIMPLE level ('0'..'3') -> setpoints that go with it. */
  simpleLevels?: Readonly<Partial<Record<'0' | '1' | '2' | '3', readonly SimpleLevelControl[]>>>;
  /** Controllable load, W: LOAD_CONTROL x-loadControlCapacity fractions become loadLimit = fraction x this. */
  loadCapacityW?: number;
}

/** eiTarget IDs -> canonical targets. */
export interface Oadr2bTargetMap {
  resources?: Readonly<Record<string, EventTargets>>;
  groups?: Readonly<Record<string, EventTargets>>;
  parties?: Readonly<Record<string, EventTargets>>;
}

export interface CanonicalEventOptions {
  program: Oadr2bProgramMapping;
  targets?: Oadr2bTargetMap;
  /** Our venID: an eiTarget naming it addresses the whole VEN. */
  venId?: string;
  /** The VEN's randomisation draw in [0, startafter], seconds. Default 0. */
  startOffsetS?: number;
  /** The VEN's answer to the event; optOut makes it 'opted-out'. */
  optType?: OptType;
  /** Epoch ms. */
  now: number;
}

export type CanonicalSkipReason = 'no-supported-signal' | 'target-mismatch';

export interface CanonicalEventResult {
  /** Absent when skipped. */
  event?: ProgramEvent;
  skipped?: CanonicalSkipReason;
  /** `signalName/signalType` of signals with no canonical kind. */
  unsupportedSignals: string[];
  /** Target IDs (`resourceID:x`, `groupID:y`, `partyID:z`) without an entry in the map. */
  unmappedTargets: string[];
}

/** The canonical event id of a 2.0b eventID: `oadr2b.<eventID>` when that is a valid Id, else a short hash-free slug. */
export function eventIdOf(eventID: string): string {
  const slug = eventID
    .replace(/[^A-Za-z0-9._:-]+/g, '.')
    .replace(/^[.:_-]+|[.:_-]+$/g, '')
    .replace(/\.{2,}/g, '.');
  const id = `oadr2b.${slug}`;
  if (slug !== '' && id.length <= ID_MAX) return id;
  // Long or symbol-only IDs: a stable FNV-1a digest keeps the id unique enough and valid.
  return `oadr2b.${fnv1a(eventID)}`;
}

function fnv1a(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code ^ (a >>> 7), 0x01000193) >>> 0;
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

/** The canonical primacy of an event of a program with `programPrimacy` and ei:priority `priority`. */
export function primacyOf(programPrimacy: number, priority: number | undefined): number {
  const base = Math.max(0, Math.min(255, Math.round(programPrimacy)));
  if (priority === undefined || priority <= 0) return base;
  const rank = Math.min(priority, PRIORITY_SPAN);
  return Math.max(0, base - (PRIORITY_SPAN + 1 - rank));
}

const SCALE: Readonly<Record<SiScaleCode, number>> = {
  p: 1e-12,
  n: 1e-9,
  micro: 1e-6,
  m: 1e-3,
  c: 1e-2,
  d: 1e-1,
  none: 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** A power itemBase value in W; undefined when the itemBase is not a power in W. */
function wattsFactor(itemBase: ItemBase | undefined): number | undefined {
  if (itemBase === undefined || itemBase.kind !== 'powerReal') return undefined;
  if (itemBase.itemUnits !== 'W' && itemBase.itemUnits !== 'J/s') return undefined;
  return SCALE[itemBase.siScaleCode];
}

function priceUnit(signal: EventSignal): string | undefined {
  if (signal.signalType === 'priceRelative') return 'relative';
  if (signal.signalType === 'priceMultiplier') return 'multiplier';
  const item = signal.itemBase;
  if (item === undefined) return undefined;
  const currency = item.itemUnits.slice(0, 8);
  if (item.kind === 'currencyPerKWh') return `${currency}/kWh`;
  if (item.kind === 'currencyPerKW') return `${currency}/kW`;
  if (item.kind === 'currencyPerThm') return `${currency}/therm`;
  if (item.kind === 'currency') return currency;
  return undefined;
}

const PRICE_SIGNALS: ReadonlySet<string> = new Set(['ELECTRICITY_PRICE', 'ENERGY_PRICE', 'DEMAND_CHARGE']);
const PRICE_TYPES: ReadonlySet<string> = new Set(['price', 'priceRelative', 'priceMultiplier']);

function unitOf(unit: string | undefined): { unit?: string } {
  return unit === undefined ? {} : { unit: unit.slice(0, 32) };
}

/**
 * The canonical signals one 2.0b signal value stands for; undefined when the signal has no canonical kind
 * (then the whole signal is reported unsupported).
 */
export function canonicalSignals(
  signal: EventSignal,
  value: number,
  program: Pick<Oadr2bProgramMapping, 'simpleLevels' | 'loadCapacityW'>,
): Signal[] | undefined {
  if (!Number.isFinite(value)) return undefined;
  const name = signal.signalName.toUpperCase();
  const type = signal.signalType;
  if (name === 'SIMPLE') {
    // Conformance: SIMPLE payloads are the levels 0 (normal), 1 (moderate), 2 (high), 3 (special).
    if (!Number.isInteger(value) || value < 0 || value > 3) return undefined;
    const key = String(value) as '0' | '1' | '2' | '3';
    const extra = program.simpleLevels?.[key] ?? [];
    return [{ kind: 'simpleLevel', value, unit: 'level' }, ...extra.map((c) => ({ kind: c.kind, value: c.value }))];
  }
  if (PRICE_SIGNALS.has(name) && PRICE_TYPES.has(type)) {
    return [{ kind: 'price', value, ...unitOf(priceUnit(signal)) }];
  }
  if (name === 'LOAD_DISPATCH') {
    const factor = wattsFactor(signal.itemBase);
    if (type === 'setpoint') {
      if (factor === undefined) return [{ kind: 'loadDispatch', value, unit: 'setpoint' }];
      const watts = value * factor;
      const out: Signal[] = [{ kind: 'loadDispatch', value: watts, unit: 'W' }];
      if (watts >= 0) out.push({ kind: 'importLimit', value: watts, unit: 'W' });
      return out;
    }
    if (type === 'delta')
      return factor === undefined
        ? [{ kind: 'loadDispatch', value, unit: 'delta' }]
        : [{ kind: 'loadDispatch', value: value * factor, unit: 'W delta' }];
    if (type === 'level' || type === 'multiplier') return [{ kind: 'loadDispatch', value, unit: type }];
    return undefined;
  }
  if (name === 'LOAD_CONTROL') {
    if (type === 'x-loadControlCapacity') {
      if (value < 0 || value > 1) return undefined;
      const out: Signal[] = [{ kind: 'loadDispatch', value: value * 100, unit: '%' }];
      if (program.loadCapacityW !== undefined)
        out.push({ kind: 'loadLimit', value: value * program.loadCapacityW, unit: 'W' });
      return out;
    }
    if (type === 'x-loadControlLevelOffset') return [{ kind: 'loadDispatch', value, unit: 'level offset' }];
    if (type === 'x-loadControlPercentOffset') return [{ kind: 'loadDispatch', value, unit: '% offset' }];
    if (type === 'x-loadControlSetpoint') return [{ kind: 'loadDispatch', value, unit: 'setpoint' }];
    return undefined;
  }
  if (name === 'CHARGE_STATE' && type === 'setpoint') {
    const units = signal.itemBase?.itemUnits;
    if ((units === undefined || units === '%') && value >= 0 && value <= 100)
      return [{ kind: 'targetSoc', value, unit: '%' }];
    return undefined;
  }
  return undefined;
}

/** One signal's intervals on the time line, epoch ms, [start, end). */
interface SignalSpan {
  start: number;
  end: number;
  signals: Signal[];
}

function signalSpans(
  signal: EventSignal,
  activeStart: number,
  activeEnd: number,
  program: Oadr2bProgramMapping,
): SignalSpan[] | undefined {
  const spans: SignalSpan[] = [];
  let cursor = activeStart;
  for (const [index, interval] of signal.intervals.entries()) {
    const start = interval.dtstart ?? cursor;
    const last = index === signal.intervals.length - 1;
    // A missing or 0 duration on the last interval runs to the end of the active period.
    const durationMs =
      interval.duration === undefined || (interval.duration === 0 && last)
        ? Math.max(0, activeEnd - start)
        : interval.duration * 1000;
    const end = Math.min(activeEnd, start + durationMs);
    cursor = start + durationMs;
    const mapped = canonicalSignals(signal, interval.signalPayload, program);
    if (mapped === undefined) return undefined;
    if (end > start && mapped.length > 0) spans.push({ start, end, signals: mapped });
  }
  return spans;
}

function targetsOf(
  event: OadrEvent,
  options: CanonicalEventOptions,
): { targets: EventTargets; unmapped: string[]; mismatch: boolean } {
  const joined: Required<Pick<EiTarget, 'venID' | 'resourceID' | 'groupID' | 'partyID'>> = {
    venID: [],
    resourceID: [],
    groupID: [],
    partyID: [],
  };
  const add = (target: EiTarget | undefined) => {
    if (target === undefined) return;
    joined.venID.push(...(target.venID ?? []));
    joined.resourceID.push(...(target.resourceID ?? []));
    joined.groupID.push(...(target.groupID ?? []));
    joined.partyID.push(...(target.partyID ?? []));
  };
  add(event.eiTarget);
  for (const signal of event.eiEventSignals) add(signal.eiTarget);
  const named = joined.resourceID.length + joined.groupID.length + joined.partyID.length;
  const whole = named === 0 || (options.venId !== undefined && joined.venID.includes(options.venId));
  const siteIds = new Set<string>();
  const groupIds = new Set<string>();
  const deviceIds = new Set<string>();
  const unmapped: string[] = [];
  const map = options.targets ?? {};
  const lookup = (table: Readonly<Record<string, EventTargets>> | undefined, ids: string[], label: string) => {
    for (const id of new Set(ids)) {
      const entry = table !== undefined && Object.hasOwn(table, id) ? table[id] : undefined;
      if (entry === undefined) {
        unmapped.push(`${label}:${id}`);
        continue;
      }
      for (const siteId of entry.siteIds ?? []) siteIds.add(siteId);
      for (const groupId of entry.groupIds ?? []) groupIds.add(groupId);
      for (const deviceId of entry.deviceIds ?? []) deviceIds.add(deviceId);
    }
  };
  lookup(map.resources, joined.resourceID, 'resourceID');
  lookup(map.groups, joined.groupID, 'groupID');
  lookup(map.parties, joined.partyID, 'partyID');
  if (whole) return { targets: {}, unmapped, mismatch: false };
  const targets: EventTargets = {
    ...(siteIds.size > 0 ? { siteIds: [...siteIds].sort() } : {}),
    ...(groupIds.size > 0 ? { groupIds: [...groupIds].sort() } : {}),
    ...(deviceIds.size > 0 ? { deviceIds: [...deviceIds].sort() } : {}),
  };
  return { targets, unmapped, mismatch: Object.keys(targets).length === 0 };
}

/** The end of an event's active period, epoch ms (open-ended: OPEN_ENDED_S after the start). */
export function activeEnd(event: Pick<OadrEvent, 'eiActivePeriod'>): number {
  const period = event.eiActivePeriod;
  return period.dtstart + (period.duration > 0 ? period.duration : OPEN_ENDED_S) * 1000;
}

/** A 2.0b event as a canonical ProgramEvent (source 'openadr2b', externalId = eventID). */
export function programEventFrom2b(event: OadrEvent, options: CanonicalEventOptions): CanonicalEventResult {
  const descriptor = event.eventDescriptor;
  const period = event.eiActivePeriod;
  const start = period.dtstart;
  const end = activeEnd(event);
  const unsupported: string[] = [];
  const spans: SignalSpan[] = [];
  for (const signal of event.eiEventSignals) {
    const mapped = signalSpans(signal, start, end, options.program);
    if (mapped === undefined) unsupported.push(`${signal.signalName}/${signal.signalType}`);
    else spans.push(...mapped);
  }
  const { targets, unmapped, mismatch } = targetsOf(event, options);
  if (mismatch) return { skipped: 'target-mismatch', unsupportedSignals: unsupported, unmappedTargets: unmapped };
  const offsetMs = Math.max(0, Math.round((options.startOffsetS ?? 0) * 1000));
  const bounds = [...new Set(spans.flatMap((s) => [s.start, s.end]))].sort((a, b) => a - b);
  const intervals: ProgramEvent['intervals'] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i] as number;
    const to = bounds[i + 1] as number;
    const signals = spans.filter((s) => s.start <= from && to <= s.end).flatMap((s) => s.signals);
    const durationS = Math.min(OPEN_ENDED_S, Math.round((to - from) / 1000));
    if (signals.length === 0 || durationS < 1) continue;
    intervals.push({ start: Math.round(from + offsetMs), durationS, signals });
  }
  if (intervals.length === 0)
    return { skipped: 'no-supported-signal', unsupportedSignals: unsupported, unmappedTargets: unmapped };

  const now = options.now;
  let status: ProgramEvent['status'];
  if (descriptor.eventStatus === 'cancelled') status = 'cancelled';
  else if (descriptor.eventStatus === 'completed' || now >= end + offsetMs) status = 'completed';
  else if (options.optType === 'optOut') status = 'opted-out';
  else status = now >= start + offsetMs ? 'active' : 'scheduled';

  const createdAt = Math.max(0, Math.round(descriptor.createdDateTime));
  const event2: ProgramEvent = {
    id: eventIdOf(descriptor.eventID),
    programId: options.program.programId,
    source: OADR2B_SOURCE,
    externalId: descriptor.eventID.slice(0, 256),
    primacy: primacyOf(options.program.primacy, descriptor.priority),
    intervals,
    targets,
    ...(period.startafter !== undefined && period.startafter > 0
      ? { randomizeStartS: Math.min(86400, Math.round(period.startafter)) }
      : {}),
    status,
    statusHistory: [{ status, at: Math.max(0, Math.round(now)), reason: statusReason(event, options) }],
    createdAt,
    updatedAt: Math.max(0, Math.round(descriptor.modificationDateTime ?? createdAt)),
  };
  return { event: event2, unsupportedSignals: unsupported, unmappedTargets: unmapped };
}

function statusReason(event: OadrEvent, options: CanonicalEventOptions): string {
  const d = event.eventDescriptor;
  const opt = options.optType === undefined ? '' : `, ${options.optType}`;
  return `OpenADR 2.0b event ${d.eventID} modification ${d.modificationNumber}: ${d.eventStatus}${opt}`.slice(0, 1024);
}
