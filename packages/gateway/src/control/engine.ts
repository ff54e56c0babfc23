/**
 * ControlEngine: the runtime around the pure core (arbitrate, allocateSite, allocateAggregate).
 * Protocol-free: it sees canonical ProgramEvents, Programs, Enrolments, Devices, Readings and
 * Commands only.
 *
 * Inputs: program events (loaded from the store at start, then the bus topic 'program.event', and
 * `submitEvent` for in-process sources such as the 2030.5 client), Program.defaultControls for
 * enrolled sites and devices, operator overrides (`operatorOverride`: primacy 0, always expiring;
 * persisted in store.documents under `overrideNamespace`, loaded again at start without the ones
 * that ended meanwhile) and operator manual setpoints (registry.submitSetpoint; seen on the bus topic 'command' and kept
 * by arbitration as device-scope operator intents so the engine never writes over them).
 *
 * Each tick (every control period, at the next window start or end, and on every change when
 * autoTick is on; `tick()` drives it explicitly):
 * 1. events -> intents (scope from targets or enrolments at `now`), arbitrate per (scope, type);
 *    an event whose window opened becomes 'active', one whose window closed 'completed', each
 *    with the decision as the reason in its statusHistory;
 * 2. device-scope winners -> one setpoint each (deviceSetpointFor); group-scope fixedW / export /
 *    import targets -> allocateAggregate over the members at `now`; site-scope ones ->
 *    allocateSite with the devices' capabilities and latest telemetry; other types at site or group
 *    scope go to every device that supports them. A device-scope control pins that device for the
 *    allocators (it counts at the pinned value). Per (device, kind) the lowest primacy wins, then
 *    the narrower scope;
 * 3. setpoints -> tracked Commands through the existing path: a pending Command in the store
 *    (audited, actor 'control') published on 'command', which the edge's CommandExecutor applies
 *    and confirms by read-back (or fails / expires). Every setpoint expires at now + period +
 *    margin, so a device falls back on its own when the gateway goes quiet; the engine renews it
 *    each period. An unchanged setpoint that is still in flight or confirmed and does not expire
 *    before the next period is not written again. A command the engine no longer wants is
 *    superseded and, where the kind has a neutral value (a limit at the rating, connect/energize
 *    1), a release write is sent; fixedW has none and lapses at its expiry;
 * 4. offline devices ('device.state' online false) and failing ones (their last command failed
 *    or expired: held out for period x 2^(n-1), at most 10 periods) are excluded, so their share
 *    goes to the others on the next tick;
 * 5. telemetry counts only while fresh (the decision, and why):
 *    - a reading older than the freshness limit is dropped: `staleAfterMs` when configured, else
 *      3 poll intervals of the device (at least 15 s: a poll's jitter plus the telemetry writer's
 *      flush) when the edge knows its interval, else 5 min. A device whose key reading (SoC for
 *      storage, active power otherwise) was dropped is 'stale' and treated like an offline one:
 *      no SoC-dependent setpoint, no headroom share (its share goes to the others, its output
 *      stays inside the metered site load); a stale site meter counts as absent (site load 0,
 *      which over-estimates export: safe for an export limit);
 *    - after a start, and so after a kill -9 and restart mid-event, a storage device's readings
 *      count only if taken at or after the engine's start. A battery setpoint is SoC-dependent,
 *      and a reading from before the restart may be minutes old and taken under commands this
 *      engine no longer tracks; the battery gets no setpoint until its first post-start SoC is in
 *      the store (it keeps the previous command until that expires, then falls back by itself).
 *      Limits are not held back: a PV cap or a load limit is safe whatever the batteries do, so the
 *      first tick re-applies an active export limit from the freshest PV and meter readings
 *      within the freshness limit. During the first period after the start, while a device waits
 *      for fresh telemetry, the engine re-evaluates every 5 s rather than once a period, so the
 *      batteries join within seconds of their first fresh reading; a device still without one
 *      after that period stays excluded as stale. Each decision record names the excluded
 *      devices with the reason ('stale: ...' or 'awaiting ... newer than the engine start').
 *
 * Observability: the latest decision per (scope, type) with winner, ranked losers and reasons,
 * the allocation summary (met, shortfall, exclusions) and the delivery (`decisions()`); a changed
 * decision appends an audit row 'control.decision' for the scope (targetType 'control') and for
 * every event involved (targetType 'event'), so an event's decision history is queryable;
 * `compliance()` gives per event the target against what the latest telemetry shows and the state
 * of its commands; `on('outcome', cb)` tells the event's source whether the devices complied,
 * partially complied, failed, or the event was not applied (lost arbitration).
 */
import { randomUUID } from 'node:crypto';
import {
  type Command,
  type CommandStatus,
  check,
  type Device,
  GridseamError,
  ProgramEvent,
  type SetpointKind,
  type SetpointSource,
  type Site,
  setpointValueProblems,
} from '@gridseam/model';
import type { Logger } from 'pino';
import type { Bus, BusMessage, CommandResultMessage, DeviceStateMessage, Subscription } from '../bus/types.ts';
import { type EdgeClock, systemClock } from '../edge/clock.ts';
import { canTransitionEvent } from '../registry/event-status.ts';
import { listAll } from '../store/list-all.ts';
import type { AuditDraft, Store } from '../store/types.ts';
import {
  allocatableFromDevice,
  allocateAggregate,
  allocateSite,
  DEFAULT_MARGIN_MS,
  deviceSetpointFor,
} from './allocate.ts';
import { arbitrate, decisionKey, intentProblems, operatorOverride as overrideIntent } from './arbitrate.ts';
import { defaultIntents, eventIntents, LIVE_EVENT_STATUSES, manualCommandIntent } from './intents.ts';
import type {
  AllocatableDevice,
  AllocationSummary,
  ArbitrationDecision,
  ControlIntent,
  ControlScope,
  ControlType,
  DeviceAllocation,
  IntentSummary,
  RankedLoser,
  SetpointRequestOut,
} from './types.ts';

/** Who the audit log names for the engine's writes. */
export const CONTROL_ACTOR = 'control';
export const DEFAULT_CONTROL_PERIOD_MS = 60_000;
/** Longest a failing device is held out of allocation, in control periods. */
const MAX_FAILURE_HOLD_PERIODS = 10;
/** Commands created in one store transaction (with their audit rows) and then published. */
const ISSUE_BATCH = 500;
const WATT_KINDS: ReadonlySet<SetpointKind> = new Set([
  'exportLimit',
  'importLimit',
  'generationLimit',
  'loadLimit',
  'fixedW',
  'chargeLimit',
  'dischargeLimit',
  'evChargingLimit',
]);
const SITE_TARGET_TYPES: ReadonlySet<ControlType> = new Set(['exportLimit', 'importLimit', 'fixedW']);
/** Telemetry older than this is stale when the device's poll interval is unknown, ms (5 min). */
export const DEFAULT_STALE_AFTER_MS = 300_000;
/** With a known poll interval, telemetry is stale after this many intervals... */
export const STALE_AFTER_POLL_INTERVALS = 3;
/** ...but never sooner than this, ms: a poll's jitter plus the telemetry writer's flush. */
export const MIN_STALE_AFTER_MS = 15_000;
/** In the first period after the start, while a device waits for fresh telemetry, re-evaluate this often, ms. */
export const FRESH_TELEMETRY_RECHECK_MS = 5_000;
/** Where operator overrides are kept in store.documents (one document per override, by id). */
export const DEFAULT_OVERRIDE_NAMESPACE = 'control-overrides';
/** Classes whose setpoints depend on the state of charge: their telemetry must be newer than the engine's start. */
const SOC_CLASSES: ReadonlySet<string> = new Set(['battery', 'hybrid-inverter']);

export interface ControlEngineOptions {
  store: Store;
  bus: Bus;
  logger?: Logger;
  /** Clock and timers (tests inject a manual one). */
  clock?: EdgeClock;
  /** Control period, ms (default 60 s). */
  periodMs?: number;
  /** A setpoint's life beyond the period, ms (default 30 s). */
  marginMs?: number;
  /** Tick by itself (period, window edges, changes). Default true; tests drive `tick()`. */
  autoTick?: boolean;
  newId?: () => string;
  /**
   * Telemetry older than this is stale, ms, for every device. Default: STALE_AFTER_POLL_INTERVALS
   * poll intervals (at least MIN_STALE_AFTER_MS) when `pollIntervalMs` knows the device, else
   * DEFAULT_STALE_AFTER_MS.
   */
  staleAfterMs?: number;
  /** A device's poll interval, ms, when the edge polls it (undefined when unknown). */
  pollIntervalMs?: (deviceId: string) => number | undefined;
  /** The store.documents namespace of persisted operator overrides (default 'control-overrides'). */
  overrideNamespace?: string;
}

export interface CommandCounts {
  /** pending or sent. */
  pending: number;
  confirmed: number;
  failed: number;
  expired: number;
}

export interface DecisionAllocation {
  mode: 'site' | 'aggregate' | 'device';
  met: boolean;
  shortfallW: number;
  reason: string;
  /** Bounds on the devices' summed output the target asks for, and what was planned, W. */
  lowW?: number;
  highW?: number;
  plannedW?: number;
  /** Site only: planned net export at the connection point, W. */
  plannedExportW?: number;
  setpoints: number;
  excluded: Array<{ deviceId: string; reason: string }>;
}

export interface DecisionDelivery {
  /** New commands written this tick. */
  issued: number;
  /** Setpoints already in force (not written again). */
  unchanged: number;
  /** Devices this decision wanted to command but could not, and why. */
  skipped: Array<{ deviceId: string; reason: string }>;
  /** The device setpoints this decision wants in force (issued or unchanged), at most 100. */
  setpoints?: Array<{ deviceId: string; kind: SetpointKind; value: number }>;
}

/** One explained decision for one (scope, control type), as of the tick that made it. */
export interface ControlDecisionRecord {
  key: string;
  scope: ControlScope;
  type: ControlType;
  at: number;
  winner?: IntentSummary;
  winnerReason: string;
  losers: RankedLoser[];
  summary: string;
  allocation?: DecisionAllocation;
  delivery: DecisionDelivery;
}

export type EventOutcomeKind = 'complied' | 'partial' | 'failed' | 'not-applied';

/** What happened to an event's controls, for its source (the 2030.5 client turns it into Responses). */
export interface EventOutcome {
  eventId: string;
  programId: string;
  source: ProgramEvent['source'];
  externalId?: string;
  outcome: EventOutcomeKind;
  at: number;
  commands: CommandCounts;
  /** Devices in the event's scopes left out (offline, failing, invalid data). */
  excludedDevices: number;
  shortfallW: number;
  reason: string;
}

export interface ComplianceTarget {
  key: string;
  scope: ControlScope;
  type: ControlType;
  value: number;
  /** Whether the event's control is the one in force for this key. */
  inForce: boolean;
  /** What the telemetry shows: site meter power, summed member power, or the device's power (W, generator convention). */
  deliveredW?: number;
  deliveredFrom: 'site-meter' | 'devices' | 'none';
  compliant?: boolean;
  shortfallW?: number;
}

export interface EventCompliance {
  eventId: string;
  programId: string;
  source: ProgramEvent['source'];
  externalId?: string;
  status: ProgramEvent['status'];
  outcome?: EventOutcomeKind;
  commands: CommandCounts;
  failures: Array<{
    deviceId: string;
    commandId: string;
    status: CommandStatus;
    error?: { code: string; message: string };
  }>;
  targets: ComplianceTarget[];
}

export interface TickReport {
  at: number;
  decisions: number;
  issued: number;
  unchanged: number;
  released: number;
  skipped: number;
  rejectedIntents: number;
  nextTickAt?: number;
}

export interface OverrideInput {
  scope: ControlScope;
  type: ControlType;
  value: number;
  durationS: number;
}

interface Desired {
  deviceId: string;
  kind: SetpointKind;
  value: number;
  unit?: 'W';
  expiry: number;
  source: SetpointSource;
  eventIds: string[];
  key: string;
  /** 0 device, 1 group, 2 site: the narrower scope wins at equal primacy. */
  scopeRank: number;
  primacy: number;
  /** An operator's manual setpoint the executor delivers itself: pins, never written by the engine. */
  held: boolean;
}

/** One command to issue: what is wanted, the tracked command it replaces, whether it is a release. */
interface Issue {
  want: Desired;
  previous: Tracked | undefined;
  release: boolean;
}

interface Tracked {
  commandId: string;
  deviceId: string;
  kind: SetpointKind;
  value: number;
  expiry: number;
  sourceRef: string;
  eventIds: string[];
  key: string;
  status: CommandStatus;
  /** A release write: lapses by itself, never released again. */
  release: boolean;
  error?: { code: string; message: string };
}

type Bucket = keyof CommandCounts;

function bucketOf(status: CommandStatus): Bucket | undefined {
  if (status === 'pending' || status === 'sent') return 'pending';
  if (status === 'confirmed' || status === 'failed' || status === 'expired') return status;
  return undefined;
}

function emptyCounts(): CommandCounts {
  return { pending: 0, confirmed: 0, failed: 0, expired: 0 };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorSummary(error: unknown): { code: string; message: string } {
  if (GridseamError.is(error)) return { code: error.code, message: error.message.slice(0, 1024) };
  return { code: 'GW_ERR_INTERNAL', message: String(error).slice(0, 1024) };
}

function scopeKey(scope: ControlScope): string {
  return `${scope.kind}:${scope.id}`;
}

/**
 * Rounds a delivered value to whole watts: limits down (never above the plan), fixedW toward zero,
 * so a setpoint planned at a power or SoC limit never passes it by rounding (0 is always within a
 * storage device's range).
 */
function deliveredValue(kind: SetpointKind, value: number): number {
  if (!WATT_KINDS.has(kind)) return value;
  if (kind === 'fixedW') return Math.trunc(value) + 0;
  return Math.max(0, Math.floor(value + 1e-9));
}

function sameValue(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(1e-6, Math.abs(b) * 1e-6);
}

/** A decision's device setpoints as its record shows them (the first 100). */
function listSetpoint(record: ControlDecisionRecord | undefined, want: Desired): void {
  if (record === undefined) return;
  const list = record.delivery.setpoints ?? [];
  record.delivery.setpoints = list;
  if (list.length < 100) list.push({ deviceId: want.deviceId, kind: want.kind, value: want.value });
}

function setpointSourceOf(intent: IntentSummary): SetpointSource {
  const kind: SetpointSource['kind'] =
    intent.source === 'operator'
      ? 'operator'
      : intent.isDefault
        ? 'default'
        : intent.source === 'market'
          ? 'market'
          : 'program';
  return { kind, ref: (intent.ref ?? intent.id).slice(0, 256), primacy: intent.primacy };
}

/** Checks a 'program.event' payload or a submitted event. */
function checkEvent(value: unknown): ProgramEvent {
  const result = check(ProgramEvent, value);
  if (!result.ok)
    throw new GridseamError('GW_ERR_VALIDATION', 'program event does not match the model', { issues: result.issues });
  return result.value;
}

export class ControlEngine {
  readonly periodMs: number;
  readonly marginMs: number;
  readonly #store: Store;
  readonly #bus: Bus;
  readonly #logger: Logger | undefined;
  readonly #clock: EdgeClock;
  readonly #autoTick: boolean;
  readonly #newId: () => string;

  readonly #events = new Map<string, ProgramEvent>();
  readonly #overrides = new Map<string, ControlIntent>();
  readonly #manual = new Map<string, ControlIntent>();
  readonly #online = new Map<string, boolean>();
  readonly #failing = new Map<string, { count: number; until: number }>();
  /** Latest total readings per device and measurand, read once per tick. */
  readonly #telemetry = new Map<string, Map<string, { value: number; ts: number }>>();
  /** Devices left out this tick for stale telemetry, and why (for the decision records). */
  readonly #staleReasons = new Map<string, string>();
  /** Set by a tick that left a device out for stale telemetry. */
  #awaitingFresh = false;
  /** When start() ran; readings of SoC-dependent devices before it do not count. */
  #startedAt: number | undefined;
  readonly #staleAfterMs: number | undefined;
  readonly #pollIntervalOf: ((deviceId: string) => number | undefined) | undefined;
  readonly #overrideNamespace: string;
  /** PV output last seen while not curtailed by the engine, W. */
  readonly #pvAvailable = new Map<string, number>();

  readonly #tracked = new Map<string, Tracked>();
  readonly #byCommand = new Map<string, Tracked>();
  readonly #counts = new Map<string, CommandCounts>();
  #inFlight = 0;
  readonly #settledWaiters: Array<() => void> = [];

  #decisions = new Map<string, ControlDecisionRecord>();
  readonly #fingerprints = new Map<string, string>();
  /** Per event: exclusions and shortfall of the decisions it won in the last tick. */
  #eventAllocation = new Map<string, { excluded: number; shortfallW: number; won: boolean; lostReason?: string }>();
  readonly #outcomes = new Map<string, EventOutcomeKind>();
  readonly #outcomeListeners = new Set<(outcome: EventOutcome) => void>();

  readonly #subscriptions: Subscription[] = [];
  #timer: unknown;
  #timerAt = Number.POSITIVE_INFINITY;
  #running: Promise<unknown> = Promise.resolve();
  #queued: Promise<TickReport> | undefined;
  #started = false;
  #closed = false;

  constructor(options: ControlEngineOptions) {
    this.#store = options.store;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#autoTick = options.autoTick ?? true;
    this.#newId = options.newId ?? randomUUID;
    this.periodMs = options.periodMs ?? DEFAULT_CONTROL_PERIOD_MS;
    this.marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
    this.#staleAfterMs = options.staleAfterMs;
    this.#pollIntervalOf = options.pollIntervalMs;
    this.#overrideNamespace = options.overrideNamespace ?? DEFAULT_OVERRIDE_NAMESPACE;
    if (!Number.isFinite(this.periodMs) || this.periodMs <= 0)
      throw new GridseamError('GW_ERR_CONFIG', 'control period must be a positive number of ms');
    if (!Number.isFinite(this.marginMs) || this.marginMs < 0)
      throw new GridseamError('GW_ERR_CONFIG', 'control margin must be a non-negative number of ms');
    if (this.#staleAfterMs !== undefined && !(Number.isFinite(this.#staleAfterMs) && this.#staleAfterMs > 0))
      throw new GridseamError('GW_ERR_CONFIG', 'control staleAfterMs must be a positive number of ms');
  }

  /** The freshness limit of a device's telemetry, ms (see the header, point 5). */
  staleAfterMs(deviceId: string): number {
    if (this.#staleAfterMs !== undefined) return this.#staleAfterMs;
    const interval = this.#pollIntervalOf?.(deviceId);
    if (interval !== undefined && Number.isFinite(interval) && interval > 0)
      return Math.max(MIN_STALE_AFTER_MS, STALE_AFTER_POLL_INTERVALS * interval);
    return DEFAULT_STALE_AFTER_MS;
  }

  // ------------------------------------------------------------------ life cycle

  /** Loads operator overrides and live events, subscribes to the bus and (with autoTick) ticks at once. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#startedAt = this.#clock.now();
    await this.#loadOverrides(this.#startedAt);
    for (const status of LIVE_EVENT_STATUSES) {
      const events = await listAll((page) => this.#store.events.list({ ...page, status }));
      for (const event of events) this.#events.set(event.id, event);
    }
    this.#subscriptions.push(
      await this.#bus.subscribe('program.event', (message) => this.#onEventMessage(message)),
      await this.#bus.subscribe('device.state', (message) => this.#onDeviceState(message)),
      await this.#bus.subscribe('command.result', (message) => this.#onCommandResult(message)),
      await this.#bus.subscribe('command', (message) => this.#onCommand(message)),
    );
    this.#schedule(this.#clock.now());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled(this.#subscriptions.splice(0).map((s) => s.close()));
    await this.#running.catch(() => undefined);
    for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }

  /** Listens for event outcomes; returns the function that stops listening. */
  on(_event: 'outcome', listener: (outcome: EventOutcome) => void): () => void {
    this.#outcomeListeners.add(listener);
    return () => this.#outcomeListeners.delete(listener);
  }

  /** Resolves when no command the engine issued is pending or sent. */
  whenSettled(): Promise<void> {
    if (this.#inFlight === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  // ------------------------------------------------------------------ inputs

  /**
   * An event from an in-process source (the 2030.5 client): validated, upserted in the store
   * (matched by id, or by source + externalId), audited as 'control:<source>', published on
   * 'program.event', then applied. Resolves with the stored event.
   */
  async submitEvent(input: ProgramEvent): Promise<ProgramEvent> {
    const event = checkEvent(input);
    const actor = `${CONTROL_ACTOR}:${event.source}`;
    const now = this.#clock.now();
    const existing =
      (await this.#store.events.get(event.id)) ??
      (event.externalId === undefined
        ? undefined
        : await this.#store.events.getByExternalId(event.source, event.externalId));
    let stored: ProgramEvent;
    if (existing === undefined) {
      const history = event.statusHistory.length > 0 ? event.statusHistory : [{ status: event.status, at: now }];
      stored = await this.#store.events.create(
        { ...event, statusHistory: history, updatedAt: now },
        this.#audit(actor, 'event.create', 'event', event.id, { programId: event.programId, status: event.status }),
      );
    } else {
      stored = await this.#store.events.update(
        {
          ...event,
          id: existing.id,
          status: existing.status,
          statusHistory: existing.statusHistory,
          createdAt: existing.createdAt,
          updatedAt: now,
        },
        this.#audit(actor, 'event.update', 'event', existing.id, { programId: event.programId }),
      );
      if (event.status !== existing.status) {
        if (!canTransitionEvent(existing.status, event.status))
          throw new GridseamError(
            'GW_ERR_INVALID_TRANSITION',
            `event ${existing.id} cannot go from ${existing.status} to ${event.status}`,
          );
        const reason = event.statusHistory.at(-1)?.reason;
        stored = await this.#store.events.setStatus(
          existing.id,
          event.status,
          now,
          reason,
          this.#audit(actor, 'event.status', 'event', existing.id, { from: existing.status, to: event.status }),
        );
      }
    }
    this.#cacheEvent(stored);
    await this.#publishEvent(stored);
    this.#schedule(now);
    return stored;
  }

  /** An operator override (primacy 0, expires after durationS); audited; applied on the next tick. */
  async operatorOverride(input: OverrideInput, actor: string): Promise<ControlIntent> {
    if (!isRecord(input)) throw new GridseamError('GW_ERR_VALIDATION', 'override must be an object');
    const now = this.#clock.now();
    const intent = overrideIntent({
      id: `override-${this.#newId()}`,
      scope: input.scope,
      type: input.type,
      value: input.value,
      now,
      durationS: input.durationS,
      ref: actor,
    });
    const problems = intentProblems(intent);
    if (problems.length > 0)
      throw new GridseamError('GW_ERR_VALIDATION', `invalid override: ${problems.join('; ')}`, {
        issues: problems.map((message) => ({ path: '', message })),
      });
    const exists =
      intent.scope.kind === 'site'
        ? await this.#store.sites.get(intent.scope.id)
        : intent.scope.kind === 'group'
          ? await this.#store.groups.get(intent.scope.id)
          : await this.#store.devices.get(intent.scope.id);
    if (!exists) throw new GridseamError('GW_ERR_NOT_FOUND', `${intent.scope.kind} ${intent.scope.id} not found`);
    // Persisted before it is audited and applied: an override the operator was told about survives a restart.
    await this.#store.documents.write(this.#overrideNamespace, [{ id: intent.id, doc: intent }]);
    await this.#store.audit.append(
      this.#audit(actor, 'control.override', 'control', decisionKey(intent.scope, intent.type), {
        overrideId: intent.id,
        value: intent.value,
        start: intent.window.start,
        end: intent.window.end,
      }),
    );
    this.#overrides.set(intent.id, intent);
    this.#schedule(now);
    return intent;
  }

  /** Ends an override early; GW_ERR_NOT_FOUND when there is none by that id. */
  async cancelOverride(id: string, actor: string): Promise<void> {
    const intent = this.#overrides.get(id);
    if (!intent) throw new GridseamError('GW_ERR_NOT_FOUND', `override ${id} not found`);
    await this.#store.documents.write(this.#overrideNamespace, [{ id, doc: null }]);
    this.#overrides.delete(id);
    await this.#store.audit.append(
      this.#audit(actor, 'control.override.cancel', 'control', decisionKey(intent.scope, intent.type), {
        overrideId: id,
      }),
    );
    this.#schedule(this.#clock.now());
  }

  /**
   * The persisted overrides that have not ended: each is checked as arbitration checks an intent
   * (a document that is not a usable operator intent with an end is skipped and logged); ended
   * ones are deleted from the store.
   */
  async #loadOverrides(now: number): Promise<void> {
    const ended: string[] = [];
    for (const { id, doc } of await this.#store.documents.list(this.#overrideNamespace)) {
      const problems = intentProblems(doc);
      const intent = doc as ControlIntent;
      if (problems.length > 0 || intent.source !== 'operator' || intent.window.end === undefined || intent.id !== id) {
        this.#logger?.warn({ id, problems }, 'persisted operator override skipped: not a usable override');
        continue;
      }
      if (intent.window.end <= now) ended.push(id);
      else this.#overrides.set(id, intent);
    }
    if (ended.length > 0) await this.#forgetOverrides(ended);
  }

  /** Deletes ended overrides from the store; a failure is logged (they are dropped again at the next start). */
  async #forgetOverrides(ids: readonly string[]): Promise<void> {
    try {
      await this.#store.documents.write(
        this.#overrideNamespace,
        ids.map((id) => ({ id, doc: null })),
      );
    } catch (error) {
      this.#logger?.warn({ ids, error: errorSummary(error) }, 'ended operator overrides not deleted from the store');
    }
  }

  /** Overrides not yet ended. */
  overrides(): ControlIntent[] {
    const now = this.#clock.now();
    return [...this.#overrides.values()].filter((o) => o.window.end === undefined || now < o.window.end);
  }

  // ------------------------------------------------------------------ outputs

  /** The latest decision per (scope, type), sorted by key. */
  decisions(): ControlDecisionRecord[] {
    return [...this.#decisions.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Per live event: targets against the latest telemetry, and the state of its commands. */
  async compliance(): Promise<EventCompliance[]> {
    const now = this.#clock.now();
    this.#telemetry.clear();
    const answers: EventCompliance[] = [];
    for (const event of this.#events.values()) {
      const commands = { ...(this.#counts.get(event.id) ?? emptyCounts()) };
      const failures: EventCompliance['failures'] = [];
      for (const tracked of this.#tracked.values())
        if (tracked.eventIds.includes(event.id) && (tracked.status === 'failed' || tracked.status === 'expired'))
          failures.push({
            deviceId: tracked.deviceId,
            commandId: tracked.commandId,
            status: tracked.status,
            ...(tracked.error ? { error: tracked.error } : {}),
          });
      const targets: ComplianceTarget[] = [];
      for (const record of this.#decisions.values()) {
        const mine =
          record.winner?.ref === event.id
            ? record.winner
            : record.losers.find((l) => l.intent.ref === event.id)?.intent;
        if (mine === undefined) continue;
        const inForce = record.winner?.ref === event.id;
        targets.push(await this.#complianceTarget(record, mine.value, inForce, now));
      }
      const answer: EventCompliance = {
        eventId: event.id,
        programId: event.programId,
        source: event.source,
        status: event.status,
        commands,
        failures,
        targets,
      };
      if (event.externalId !== undefined) answer.externalId = event.externalId;
      const outcome = this.#outcomes.get(event.id);
      if (outcome !== undefined) answer.outcome = outcome;
      answers.push(answer);
    }
    return answers.sort((a, b) => (a.eventId < b.eventId ? -1 : 1));
  }

  // ------------------------------------------------------------------ ticking

  /** Runs one evaluation now (after any running one); concurrent calls share a queued run. */
  tick(): Promise<TickReport> {
    if (this.#queued) return this.#queued;
    const run = this.#running.then(() => {
      this.#queued = undefined;
      return this.#evaluate();
    });
    this.#queued = run;
    this.#running = run.catch((error: unknown) => {
      this.#logger?.error({ err: error }, 'control tick failed');
    });
    return run;
  }

  #schedule(at: number): void {
    if (!this.#autoTick || this.#closed || !this.#started) return;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        void this.tick().catch(() => undefined);
      },
      Math.max(0, at - this.#clock.now()),
    );
  }

  async #evaluate(): Promise<TickReport> {
    const now = this.#clock.now();
    const report: TickReport = {
      at: now,
      decisions: 0,
      issued: 0,
      unchanged: 0,
      released: 0,
      skipped: 0,
      rejectedIntents: 0,
    };
    if (this.#closed) return report;
    this.#telemetry.clear();
    this.#staleReasons.clear();
    this.#awaitingFresh = false;

    // 1. intents and arbitration
    const programs = await listAll((page) => this.#store.programs.list(page));
    const enrolments = await listAll((page) => this.#store.enrolments.list(page));
    const intents: ControlIntent[] = [];
    for (const event of this.#events.values()) intents.push(...eventIntents(event, enrolments, now));
    for (const program of programs) intents.push(...defaultIntents(program, enrolments, now));
    // An ended override stays one more period, so the decision shows it as expired.
    const endedOverrides: string[] = [];
    for (const [id, intent] of this.#overrides)
      if (intent.window.end !== undefined && intent.window.end + this.periodMs <= now) {
        this.#overrides.delete(id);
        endedOverrides.push(id);
      } else intents.push(intent);
    if (endedOverrides.length > 0) await this.#forgetOverrides(endedOverrides);
    for (const [id, intent] of this.#manual)
      if (intent.window.end !== undefined && intent.window.end <= now) this.#manual.delete(id);
      else intents.push(intent);
    const result = arbitrate(intents, now);
    report.rejectedIntents = result.rejected.length;
    for (const rejected of result.rejected)
      this.#logger?.warn({ intent: rejected.id, problems: rejected.problems }, 'control intent rejected');
    report.decisions = result.decisions.length;

    // 2. desired setpoints per scope
    const devices = new Map<string, Device>();
    for (const device of await listAll((page) => this.#store.devices.list(page))) devices.set(device.id, device);
    const records = new Map<string, ControlDecisionRecord>();
    for (const decision of result.decisions) records.set(decision.key, this.#record(decision));
    const desired = new Map<string, Desired>();
    const byScope = new Map<string, ArbitrationDecision[]>();
    for (const decision of result.decisions) {
      if (decision.winner === undefined) continue;
      const key = scopeKey(decision.scope);
      const list = byScope.get(key) ?? [];
      list.push(decision);
      byScope.set(key, list);
    }
    const ordered = [...byScope.values()].sort(
      (a, b) =>
        scopeRank(a[0]!.scope) - scopeRank(b[0]!.scope) || (scopeKey(a[0]!.scope) < scopeKey(b[0]!.scope) ? -1 : 1),
    );
    for (const decisions of ordered) {
      const scope = decisions[0]!.scope;
      if (scope.kind === 'device') {
        const device = devices.get(scope.id);
        for (const decision of decisions) {
          const record = records.get(decision.key)!;
          if (!device) {
            record.delivery.skipped.push({ deviceId: scope.id, reason: 'no such device' });
            continue;
          }
          this.#deviceTarget(device, decision, record, desired, now, 0);
        }
      } else if (scope.kind === 'site') await this.#siteTargets(scope.id, decisions, records, devices, desired, now);
      else await this.#groupTargets(scope.id, decisions, records, devices, desired, now);
    }

    // 3. deliver
    await this.#deliver(desired, records, devices, now, report);

    // 4. statuses, records, outcomes
    await this.#advanceEventStatuses(result.decisions, now);
    this.#decisions = records;
    await this.#auditDecisions(records, now);
    this.#summariseEvents(records);
    this.#emitOutcomes(now);
    for (const record of records.values()) report.skipped += record.delivery.skipped.length;

    // In the first period after the start, a device waiting for fresh telemetry is looked at again soon.
    const recheck =
      this.#awaitingFresh && this.#startedAt !== undefined && now < this.#startedAt + this.periodMs
        ? now + Math.min(this.periodMs, FRESH_TELEMETRY_RECHECK_MS)
        : Number.POSITIVE_INFINITY;
    const next = Math.min(now + this.periodMs, result.nextChangeAt ?? Number.POSITIVE_INFINITY, recheck);
    report.nextTickAt = next;
    this.#schedule(next);
    return report;
  }

  #record(decision: ArbitrationDecision): ControlDecisionRecord {
    return {
      key: decision.key,
      scope: decision.scope,
      type: decision.type,
      at: decision.at,
      ...(decision.winner ? { winner: decision.winner } : {}),
      winnerReason: decision.winnerReason,
      losers: decision.losers,
      summary: decision.summary,
      delivery: { issued: 0, unchanged: 0, skipped: [] },
    };
  }

  #eventIdsOf(winners: readonly IntentSummary[]): string[] {
    const ids: string[] = [];
    for (const winner of winners)
      if (winner.ref !== undefined && this.#events.has(winner.ref) && !ids.includes(winner.ref)) ids.push(winner.ref);
    return ids;
  }

  #isOnline(deviceId: string, now: number): { online: boolean; reason?: string } {
    if (this.#online.get(deviceId) === false) return { online: false, reason: 'offline' };
    const failing = this.#failing.get(deviceId);
    if (failing && now < failing.until)
      return { online: false, reason: `failing (${failing.count} failed command(s))` };
    return { online: true };
  }

  /** Adds a desired setpoint unless one of lower primacy (or equal primacy, narrower scope) holds the slot. */
  #want(desired: Map<string, Desired>, want: Desired, record: ControlDecisionRecord): void {
    const slot = `${want.deviceId}|${want.kind}`;
    const existing = desired.get(slot);
    if (existing) {
      const keeps =
        existing.primacy < want.primacy || (existing.primacy === want.primacy && existing.scopeRank <= want.scopeRank);
      if (keeps) {
        record.delivery.skipped.push({ deviceId: want.deviceId, reason: `${want.kind} held by ${existing.key}` });
        return;
      }
    }
    desired.set(slot, want);
  }

  #deviceTarget(
    device: Device,
    decision: ArbitrationDecision,
    record: ControlDecisionRecord,
    desired: Map<string, Desired>,
    now: number,
    rank: number,
  ): void {
    const winner = decision.winner!;
    if (winner.source === 'operator' && this.#manual.has(winner.id)) {
      // A manual setpoint: the executor delivers it; the engine only keeps off it.
      this.#want(
        desired,
        {
          deviceId: device.id,
          kind: decision.type as SetpointKind,
          value: winner.value,
          expiry: winner.window.end ?? now,
          source: setpointSourceOf(winner),
          eventIds: [],
          key: decision.key,
          scopeRank: -1,
          primacy: winner.primacy,
          held: true,
        },
        record,
      );
      return;
    }
    const state = this.#isOnline(device.id, now);
    if (!state.online || !device.enabled) {
      record.delivery.skipped.push({ deviceId: device.id, reason: device.enabled ? state.reason! : 'disabled' });
      return;
    }
    const setpoint = deviceSetpointFor(
      decision.type,
      winner.value,
      {
        id: device.id,
        controls: device.capabilities.controls,
        ...(device.capabilities.ratings?.maxW !== undefined ? { maxW: device.capabilities.ratings.maxW } : {}),
      },
      { now, periodMs: this.periodMs, marginMs: this.marginMs },
    );
    if (!setpoint) {
      if (rank === 0) record.delivery.skipped.push({ deviceId: device.id, reason: `cannot take ${decision.type}` });
      return;
    }
    this.#want(desired, this.#desiredOf(setpoint, winner, [winner], decision.key, rank), record);
  }

  #desiredOf(
    setpoint: SetpointRequestOut,
    lead: IntentSummary,
    winners: readonly IntentSummary[],
    key: string,
    rank: number,
  ): Desired {
    const want: Desired = {
      deviceId: setpoint.deviceId,
      kind: setpoint.kind,
      value: deliveredValue(setpoint.kind, setpoint.value),
      expiry: setpoint.expiry,
      source: setpointSourceOf(lead),
      eventIds: this.#eventIdsOf(winners),
      key,
      scopeRank: rank,
      primacy: lead.primacy,
      held: false,
    };
    if (setpoint.unit !== undefined) want.unit = setpoint.unit;
    return want;
  }

  /** Latest total readings of a device from the store with their instants, read once per tick. */
  async #latest(deviceId: string): Promise<Map<string, { value: number; ts: number }>> {
    let values = this.#telemetry.get(deviceId);
    if (values) return values;
    values = new Map();
    for (const reading of await this.#store.telemetry.latest(deviceId))
      if (reading.phase === undefined && typeof reading.value === 'number' && reading.quality !== 'invalid')
        values.set(reading.measurand, { value: reading.value, ts: reading.ts });
    this.#telemetry.set(deviceId, values);
    return values;
  }

  /**
   * The readings of a device that are fresh at `now` (header, point 5): not older than its
   * freshness limit and, when `sinceStart`, not taken before the engine started. `staleReason` is
   * set when the device's key reading exists but does not count.
   */
  async #freshReadings(
    deviceId: string,
    keyMeasurand: string,
    sinceStart: boolean,
    now: number,
  ): Promise<{ values: Map<string, number>; staleReason?: string }> {
    const limit = this.staleAfterMs(deviceId);
    const startedAt = sinceStart ? this.#startedAt : undefined;
    const values = new Map<string, number>();
    let staleReason: string | undefined;
    for (const [measurand, { value, ts }] of await this.#latest(deviceId)) {
      const tooOld = ts < now - limit;
      const beforeStart = startedAt !== undefined && ts < startedAt;
      if (!tooOld && !beforeStart) {
        values.set(measurand, value);
        continue;
      }
      if (measurand !== keyMeasurand) continue;
      const ageS = Math.round((now - ts) / 1000);
      staleReason = tooOld
        ? `stale: last ${measurand} ${ageS} s old (limit ${Math.round(limit / 1000)} s)`
        : `stale: awaiting ${measurand} newer than the engine start (last one ${ageS} s old)`;
    }
    return staleReason === undefined ? { values } : { values, staleReason };
  }

  /** A device as the allocators see it: capabilities, telemetry, health and pins. */
  async #allocatable(device: Device, desired: Map<string, Desired>, now: number): Promise<AllocatableDevice> {
    const socDependent = SOC_CLASSES.has(device.class);
    const fresh = await this.#freshReadings(
      device.id,
      socDependent ? 'stateOfCharge' : 'activePower',
      socDependent,
      now,
    );
    const readings = fresh.values;
    const state = this.#isOnline(device.id, now);
    if (fresh.staleReason !== undefined && state.online && device.enabled) {
      this.#staleReasons.set(device.id, fresh.staleReason);
      this.#awaitingFresh = true;
    }
    const powerW = readings.get('activePower');
    const socPct = readings.get('stateOfCharge');
    const maxChargeW = readings.get('maxChargePower');
    const maxDischargeW = readings.get('maxDischargePower');
    const allocatable = allocatableFromDevice(device, {
      online: state.online,
      ...(fresh.staleReason !== undefined ? { stale: true } : {}),
      ...(powerW !== undefined ? { powerW } : {}),
      ...(socPct !== undefined ? { socPct } : {}),
      ...(maxChargeW !== undefined ? { maxChargeW } : {}),
      ...(maxDischargeW !== undefined ? { maxDischargeW } : {}),
    });
    const ownFixed = this.#tracked.get(`${device.id}|fixedW`);
    if (ownFixed && !ownFixed.release && (ownFixed.status === 'confirmed' || ownFixed.status === 'sent'))
      allocatable.baselineW = 0; // its present power is our own command: left alone it would idle
    const ownLimit = this.#tracked.get(`${device.id}|generationLimit`);
    const curtailedByUs =
      ownLimit !== undefined &&
      !ownLimit.release &&
      powerW !== undefined &&
      powerW >= ownLimit.value * 0.99 - 1 &&
      (ownLimit.status === 'confirmed' || ownLimit.status === 'sent');
    if (device.class === 'pv-inverter' && powerW !== undefined) {
      // What the array could give is unknown while we curtail it: use what it gave before
      // (or its rating), never less than it gives now. Uncurtailed, its power is the estimate.
      if (curtailedByUs)
        allocatable.availablePvW = Math.max(
          powerW,
          this.#pvAvailable.get(device.id) ?? device.capabilities.ratings?.maxW ?? powerW,
        );
      else this.#pvAvailable.set(device.id, powerW);
    }
    for (const kind of ['fixedW', 'generationLimit'] as const) {
      const pin = desired.get(`${device.id}|${kind}`);
      if (!pin) continue;
      allocatable.controls = allocatable.controls.filter((k) => k !== kind);
      allocatable.baselineW =
        kind === 'fixedW' ? pin.value : Math.min(allocatable.availablePvW ?? powerW ?? pin.value, pin.value);
    }
    return allocatable;
  }

  #allocationOf(
    mode: DecisionAllocation['mode'],
    summary: AllocationSummary,
    devices: readonly DeviceAllocation[],
  ): DecisionAllocation {
    const excluded: DecisionAllocation['excluded'] = [];
    for (const d of devices)
      if (d.excluded === 'offline' || d.excluded === 'invalid-data')
        excluded.push({ deviceId: d.deviceId, reason: d.problem ?? d.excluded });
      else if (d.excluded === 'stale')
        excluded.push({ deviceId: d.deviceId, reason: this.#staleReasons.get(d.deviceId) ?? 'stale' });
    return {
      mode,
      met: summary.met,
      shortfallW: summary.shortfallW,
      reason: summary.reason,
      lowW: summary.lowW,
      highW: summary.highW,
      plannedW: summary.allocatedW,
      setpoints: summary.devices.setpoints,
      excluded,
    };
  }

  async #siteTargets(
    siteId: string,
    decisions: ArbitrationDecision[],
    records: Map<string, ControlDecisionRecord>,
    devices: Map<string, Device>,
    desired: Map<string, Desired>,
    now: number,
  ): Promise<void> {
    const siteDevices = [...devices.values()].filter((d) => d.siteId === siteId);
    const targets = decisions.filter((d) => SITE_TARGET_TYPES.has(d.type));
    for (const decision of decisions) {
      if (SITE_TARGET_TYPES.has(decision.type)) continue;
      for (const device of siteDevices)
        this.#deviceTarget(device, decision, records.get(decision.key)!, desired, now, 2);
    }
    if (targets.length === 0) return;
    const site: Site | undefined = await this.#store.sites.get(siteId);
    const targetRecords = targets.map((d) => records.get(d.key)!);
    if (!site) {
      for (const record of targetRecords) record.delivery.skipped.push({ deviceId: '-', reason: `no site ${siteId}` });
      return;
    }
    const fleet: AllocatableDevice[] = [];
    for (const device of siteDevices) fleet.push(await this.#allocatable(device, desired, now));
    const winners = targets.map((d) => d.winner!);
    const targetValue = (type: ControlType) => targets.find((d) => d.type === type)?.winner?.value;
    const exportLimitW = targetValue('exportLimit');
    const importLimitW = targetValue('importLimit');
    const fixedW = targetValue('fixedW');
    try {
      const allocation = allocateSite(
        { id: site.id, ...(site.connection ? { connection: site.connection } : {}) },
        fleet,
        {
          now,
          periodMs: this.periodMs,
          marginMs: this.marginMs,
          ...(exportLimitW !== undefined ? { exportLimitW } : {}),
          ...(importLimitW !== undefined ? { importLimitW } : {}),
          ...(fixedW !== undefined ? { fixedW } : {}),
        },
      );
      const summary = this.#allocationOf('site', allocation.summary, allocation.devices);
      summary.plannedExportW = allocation.plannedExportW;
      for (const record of targetRecords) record.allocation = summary;
      const lead = [...winners].sort((a, b) => a.primacy - b.primacy)[0]!;
      for (const device of allocation.devices)
        if (device.setpoint)
          this.#want(desired, this.#desiredOf(device.setpoint, lead, winners, targets[0]!.key, 2), targetRecords[0]!);
    } catch (error) {
      const { message } = errorSummary(error);
      for (const record of targetRecords) record.delivery.skipped.push({ deviceId: '-', reason: message });
    }
  }

  async #groupTargets(
    groupId: string,
    decisions: ArbitrationDecision[],
    records: Map<string, ControlDecisionRecord>,
    devices: Map<string, Device>,
    desired: Map<string, Desired>,
    now: number,
  ): Promise<void> {
    const members = (await this.#store.memberships.membersAt(groupId, now))
      .map((id) => devices.get(id))
      .filter((d): d is Device => d !== undefined);
    const targets = decisions.filter((d) => SITE_TARGET_TYPES.has(d.type));
    for (const decision of decisions) {
      if (SITE_TARGET_TYPES.has(decision.type)) continue;
      for (const device of members) this.#deviceTarget(device, decision, records.get(decision.key)!, desired, now, 1);
    }
    if (targets.length === 0) return;
    // One aggregate target per group at a time: fixedW, else exportLimit, else importLimit.
    const order: ControlType[] = ['fixedW', 'exportLimit', 'importLimit'];
    targets.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
    const chosen = targets[0]!;
    const record = records.get(chosen.key)!;
    for (const other of targets.slice(1))
      records.get(other.key)!.delivery.skipped.push({
        deviceId: '-',
        reason: `group ${groupId} follows its ${chosen.type} target this period`,
      });
    const fleet: AllocatableDevice[] = [];
    for (const device of members) fleet.push(await this.#allocatable(device, desired, now));
    try {
      const allocation = allocateAggregate(
        {
          kind: chosen.type as 'fixedW' | 'exportLimit' | 'importLimit',
          valueW: chosen.winner!.value,
          now,
          periodMs: this.periodMs,
          marginMs: this.marginMs,
        },
        fleet,
      );
      record.allocation = this.#allocationOf('aggregate', allocation.summary, allocation.devices);
      for (const device of allocation.devices)
        if (device.setpoint)
          this.#want(
            desired,
            this.#desiredOf(device.setpoint, chosen.winner!, [chosen.winner!], chosen.key, 1),
            record,
          );
    } catch (error) {
      record.delivery.skipped.push({ deviceId: '-', reason: errorSummary(error).message });
    }
  }

  // ------------------------------------------------------------------ delivery

  async #deliver(
    desired: Map<string, Desired>,
    records: Map<string, ControlDecisionRecord>,
    devices: Map<string, Device>,
    now: number,
    report: TickReport,
  ): Promise<void> {
    const issues: Issue[] = [];
    for (const [slot, want] of desired) {
      if (want.held) {
        const ours = this.#tracked.get(slot);
        if (ours && !this.#isTerminal(ours)) {
          await this.#supersede(ours, now, `superseded by operator setpoint ${want.source.ref ?? ''}`);
          report.released++;
        }
        continue;
      }
      const record = records.get(want.key);
      const current = this.#tracked.get(slot);
      if (
        current &&
        !current.release &&
        (current.status === 'pending' || current.status === 'sent' || current.status === 'confirmed') &&
        sameValue(current.value, want.value) &&
        current.sourceRef === (want.source.ref ?? '') &&
        current.expiry >= now + this.periodMs
      ) {
        this.#retag(current, want.eventIds);
        report.unchanged++;
        if (record) record.delivery.unchanged++;
        listSetpoint(record, want);
        continue;
      }
      const problems = setpointValueProblems({ kind: want.kind, value: want.value, start: now, expiry: want.expiry });
      if (problems.length > 0) {
        record?.delivery.skipped.push({ deviceId: want.deviceId, reason: problems.map(([, m]) => m).join('; ') });
        continue;
      }
      listSetpoint(record, want);
      issues.push({ want, previous: current, release: false });
    }
    await this.#issueAll(issues, now, (want) => {
      report.issued++;
      const record = records.get(want.key);
      if (record) record.delivery.issued++;
    });
    // Release what is no longer wanted.
    for (const [slot, tracked] of [...this.#tracked]) {
      if (desired.has(slot)) continue;
      if (tracked.release) {
        if (tracked.expiry <= now) this.#untrack(slot);
        continue;
      }
      if (this.#isTerminal(tracked)) {
        this.#untrack(slot);
        continue;
      }
      if (this.#staleReasons.has(tracked.deviceId)) {
        // Left out for stale telemetry while its control is still in force: no new plan, and no
        // release either (lifting a cap on a device we cannot see could break the site's limit);
        // the command lapses at its own expiry.
        if (tracked.expiry <= now) this.#untrack(slot);
        continue;
      }
      await this.#supersede(tracked, now, 'released: no control in force');
      report.released++;
      const device = devices.get(tracked.deviceId);
      const neutral = device ? neutralValue(device, tracked.kind) : undefined;
      if (device && neutral !== undefined && this.#isOnline(device.id, now).online)
        await this.#issueAll(
          [
            {
              want: {
                deviceId: device.id,
                kind: tracked.kind,
                value: neutral,
                expiry: now + this.periodMs + this.marginMs,
                source: { kind: 'default', ref: 'release' },
                eventIds: [],
                key: tracked.key,
                scopeRank: 0,
                primacy: 255,
                held: false,
                ...(tracked.kind === 'evChargingLimit' ? { unit: 'W' as const } : {}),
              },
              previous: undefined,
              release: true,
            },
          ],
          now,
        );
      else this.#untrack(slot);
    }
  }

  #isTerminal(tracked: Tracked): boolean {
    return tracked.status === 'failed' || tracked.status === 'expired' || tracked.status === 'superseded';
  }

  /**
   * Issues commands in batches of ISSUE_BATCH: each batch's pending Commands and their
   * 'setpoint.create' audit rows commit in one transaction, the commands they replace are
   * superseded in one more, then each is tracked and published on 'command' (after the commit).
   * `issued` is called for every command once its batch is written.
   */
  async #issueAll(issues: readonly Issue[], now: number, issued?: (want: Desired) => void): Promise<void> {
    for (let i = 0; i < issues.length; i += ISSUE_BATCH) {
      const batch = issues.slice(i, i + ISSUE_BATCH);
      const commands = batch.map(({ want }) => this.#commandOf(want, now));
      const created = await this.#store.commands.createMany(
        commands,
        batch.map(({ want }, n) =>
          this.#audit(CONTROL_ACTOR, 'setpoint.create', 'device', want.deviceId, {
            commandId: commands[n]!.id,
            kind: want.kind,
            value: want.value,
            expiry: want.expiry,
            source: want.source,
            decision: want.key,
            ...(want.eventIds.length > 0 ? { events: want.eventIds } : {}),
          }),
        ),
      );
      await this.#supersedeAll(
        batch.flatMap(({ previous }, n) =>
          previous && !this.#isTerminal(previous)
            ? [{ tracked: previous, detail: `replaced by ${commands[n]!.id}` }]
            : [],
        ),
        now,
      );
      for (const [n, { want, release }] of batch.entries()) {
        await this.#publishIssued(want, created[n]!, release);
        issued?.(want);
      }
      // Let the executor start writing this batch's devices before the next one is built.
      if (i + ISSUE_BATCH < issues.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #commandOf(want: Desired, now: number): Command {
    const setpoint = {
      id: this.#newId(),
      deviceId: want.deviceId,
      kind: want.kind,
      value: want.value,
      ...(want.unit !== undefined ? { unit: want.unit } : {}),
      start: now,
      expiry: want.expiry,
      source: want.source,
      createdAt: now,
    };
    return {
      id: this.#newId(),
      deviceId: want.deviceId,
      setpoint,
      status: 'pending',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      history: [{ status: 'pending', at: now, detail: `control ${want.key}`.slice(0, 1024) }],
    };
  }

  /** Tracks a created command in its slot and publishes it; a failed publish fails the command. */
  async #publishIssued(want: Desired, created: Command, release: boolean): Promise<void> {
    const slot = `${want.deviceId}|${want.kind}`;
    if (this.#tracked.has(slot)) this.#untrack(slot);
    const tracked: Tracked = {
      commandId: created.id,
      deviceId: want.deviceId,
      kind: want.kind,
      value: want.value,
      expiry: want.expiry,
      sourceRef: want.source.ref ?? '',
      eventIds: want.eventIds,
      key: want.key,
      status: 'pending',
      release,
    };
    this.#track(slot, tracked);
    try {
      await this.#bus.publish('command', created, { key: want.deviceId, id: created.id });
    } catch (error) {
      const failure = errorSummary(error);
      this.#logger?.warn({ commandId: created.id, error: failure }, 'control command could not be published');
      try {
        await this.#store.commands.transition(
          created.id,
          'failed',
          this.#clock.now(),
          'publish on the command topic failed',
          { error: failure },
          this.#audit(CONTROL_ACTOR, 'command.transition', 'command', created.id, {
            deviceId: want.deviceId,
            from: 'pending',
            to: 'failed',
            error: failure,
          }),
        );
      } catch {
        // The publish error is what matters; the stored command stays pending and expires.
      }
      this.#setStatus(tracked, 'failed', failure);
    }
  }

  /** Supersedes tracked commands in one transaction; one settled meanwhile is left as it is. */
  async #supersedeAll(supersessions: ReadonlyArray<{ tracked: Tracked; detail: string }>, now: number): Promise<void> {
    if (supersessions.length === 0) return;
    const results = await this.#store.commands.transitionMany(
      supersessions.map(({ tracked, detail }) => ({
        id: tracked.commandId,
        status: 'superseded' as const,
        at: now,
        detail: detail.slice(0, 1024),
        audit: this.#audit(CONTROL_ACTOR, 'command.transition', 'command', tracked.commandId, {
          deviceId: tracked.deviceId,
          from: tracked.status,
          to: 'superseded',
        }),
      })),
    );
    let unexpected: GridseamError | undefined;
    for (const [n, result] of results.entries()) {
      // Refused: settled meanwhile (failed or expired), nothing to supersede.
      if (!result.ok && result.error.code !== 'GW_ERR_INVALID_TRANSITION') {
        unexpected ??= result.error;
        continue;
      }
      const supersession = supersessions[n];
      if (supersession) this.#setStatus(supersession.tracked, 'superseded');
    }
    if (unexpected) throw unexpected;
  }

  async #supersede(tracked: Tracked, now: number, detail: string): Promise<void> {
    try {
      await this.#store.commands.transition(
        tracked.commandId,
        'superseded',
        now,
        detail.slice(0, 1024),
        {},
        this.#audit(CONTROL_ACTOR, 'command.transition', 'command', tracked.commandId, {
          deviceId: tracked.deviceId,
          from: tracked.status,
          to: 'superseded',
        }),
      );
    } catch (error) {
      if (!(GridseamError.is(error) && error.code === 'GW_ERR_INVALID_TRANSITION')) throw error;
      // Settled meanwhile (failed or expired): nothing to supersede.
    }
    this.#setStatus(tracked, 'superseded');
  }

  #track(slot: string, tracked: Tracked): void {
    this.#tracked.set(slot, tracked);
    this.#byCommand.set(tracked.commandId, tracked);
    this.#count(tracked, undefined, tracked.status);
  }

  #untrack(slot: string): void {
    const tracked = this.#tracked.get(slot);
    if (!tracked) return;
    this.#tracked.delete(slot);
    this.#byCommand.delete(tracked.commandId);
    this.#count(tracked, tracked.status, undefined);
  }

  #retag(tracked: Tracked, eventIds: string[]): void {
    if (eventIds.length === tracked.eventIds.length && eventIds.every((id) => tracked.eventIds.includes(id))) return;
    this.#count(tracked, tracked.status, undefined);
    tracked.eventIds = eventIds;
    this.#count(tracked, undefined, tracked.status);
  }

  #setStatus(tracked: Tracked, status: CommandStatus, error?: { code: string; message: string }): void {
    if (tracked.status === status) return;
    this.#count(tracked, tracked.status, status);
    tracked.status = status;
    if (error) tracked.error = error;
  }

  /** Moves a tracked command between count buckets (per event, and the in-flight total). */
  #count(tracked: Tracked, from: CommandStatus | undefined, to: CommandStatus | undefined): void {
    const before = from === undefined ? undefined : bucketOf(from);
    const after = to === undefined ? undefined : bucketOf(to);
    if (before === after) return;
    for (const eventId of tracked.eventIds) {
      let counts = this.#counts.get(eventId);
      if (!counts) {
        counts = emptyCounts();
        this.#counts.set(eventId, counts);
      }
      if (before) counts[before]--;
      if (after) counts[after]++;
    }
    if (before === 'pending') this.#inFlight--;
    if (after === 'pending') this.#inFlight++;
    if (this.#inFlight === 0) for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }

  // ------------------------------------------------------------------ bus handlers

  #onEventMessage(message: BusMessage<ProgramEvent>): void {
    let event: ProgramEvent;
    try {
      event = checkEvent(message.payload);
    } catch (error) {
      this.#logger?.warn({ id: message.id, error: errorSummary(error) }, 'program.event dropped: invalid event');
      return;
    }
    this.#cacheEvent(event);
    this.#schedule(this.#clock.now());
  }

  #cacheEvent(event: ProgramEvent): void {
    if (LIVE_EVENT_STATUSES.has(event.status)) this.#events.set(event.id, event);
    else if (this.#events.delete(event.id)) this.#outcomes.delete(event.id);
  }

  #onDeviceState(message: BusMessage<DeviceStateMessage>): void {
    const payload: unknown = message.payload;
    if (!isRecord(payload) || typeof payload.deviceId !== 'string' || typeof payload.online !== 'boolean') return;
    const before = this.#online.get(payload.deviceId);
    this.#online.set(payload.deviceId, payload.online);
    if (before !== payload.online && payload.online === false) this.#schedule(this.#clock.now());
  }

  #onCommandResult(message: BusMessage<CommandResultMessage>): void {
    const payload: unknown = message.payload;
    if (!isRecord(payload) || typeof payload.commandId !== 'string' || typeof payload.status !== 'string') return;
    const tracked = this.#byCommand.get(payload.commandId);
    if (!tracked || this.#isTerminal(tracked)) return;
    const status = payload.status as CommandStatus;
    const error = isRecord(payload.error)
      ? { code: String(payload.error.code).slice(0, 64), message: String(payload.error.message).slice(0, 1024) }
      : undefined;
    this.#setStatus(tracked, status, error);
    const now = this.#clock.now();
    if (status === 'failed' || status === 'expired') {
      const count = (this.#failing.get(tracked.deviceId)?.count ?? 0) + 1;
      const hold = this.periodMs * Math.min(MAX_FAILURE_HOLD_PERIODS, 2 ** (count - 1));
      this.#failing.set(tracked.deviceId, { count, until: now + hold });
      this.#schedule(now);
    } else if (status === 'confirmed') this.#failing.delete(tracked.deviceId);
    this.#emitOutcomes(now, tracked.eventIds);
  }

  #onCommand(message: BusMessage<Command>): void {
    const payload: unknown = message.payload;
    if (!isRecord(payload) || !isRecord(payload.setpoint) || payload.status !== 'pending') return;
    const source = payload.setpoint.source;
    if (!isRecord(source) || source.kind !== 'operator' || this.#byCommand.has(String(payload.id))) return;
    const intent = manualCommandIntent(payload as unknown as Command);
    if (intentProblems(intent).length > 0) return;
    this.#manual.set(intent.id, intent);
    this.#schedule(this.#clock.now());
  }

  // ------------------------------------------------------------------ history and outcomes

  #audit(
    actor: string,
    action: string,
    targetType: string,
    targetId: string,
    detail?: Record<string, unknown>,
  ): AuditDraft {
    return { at: this.#clock.now(), actor, action, targetType, targetId, ...(detail ? { detail } : {}) };
  }

  async #publishEvent(event: ProgramEvent): Promise<void> {
    try {
      await this.#bus.publish('program.event', event, { key: event.programId });
    } catch (error) {
      this.#logger?.warn({ eventId: event.id, error: errorSummary(error) }, 'program.event could not be published');
    }
  }

  /** scheduled -> active when its window opened, -> completed when its last window closed; the reason cites the decision. */
  async #advanceEventStatuses(decisions: readonly ArbitrationDecision[], now: number): Promise<void> {
    for (const event of [...this.#events.values()]) {
      const starts = event.intervals.map((i) => i.start);
      const end = Math.max(...event.intervals.map((i) => i.start + i.durationS * 1000));
      let next: ProgramEvent['status'] | undefined;
      let reason: string;
      if (now >= end) {
        next = 'completed';
        reason = 'control window ended';
      } else if (event.status === 'scheduled' && now >= Math.min(...starts)) {
        next = 'active';
        const mine = decisions.filter(
          (d) =>
            d.winner?.ref === event.id || d.losers.some((l) => l.intent.ref === event.id && l.code !== 'not-started'),
        );
        const parts = mine.map((d) =>
          d.winner?.ref === event.id
            ? `in force: ${d.summary}`
            : `not in force at ${d.key}: ${d.losers.find((l) => l.intent.ref === event.id)?.reason ?? ''}`,
        );
        reason = `control window started; ${parts.join('; ') || 'no device in scope'}`;
      } else continue;
      if (!canTransitionEvent(event.status, next)) continue;
      try {
        const updated = await this.#store.events.setStatus(
          event.id,
          next,
          now,
          reason.slice(0, 1024),
          this.#audit(CONTROL_ACTOR, 'event.status', 'event', event.id, { from: event.status, to: next }),
        );
        this.#cacheEvent(updated);
        await this.#publishEvent(updated);
      } catch (error) {
        this.#logger?.warn({ eventId: event.id, error: errorSummary(error) }, 'event status not advanced');
      }
    }
  }

  async #auditDecisions(records: Map<string, ControlDecisionRecord>, now: number): Promise<void> {
    for (const record of records.values()) {
      const fingerprint = JSON.stringify([
        record.winner?.id,
        record.winner?.value,
        record.losers.map((l) => [l.intent.id, l.code]),
        record.allocation
          ? [record.allocation.met, Math.round(record.allocation.shortfallW), record.allocation.excluded]
          : null,
        record.delivery.skipped.map((s) => s.deviceId),
      ]);
      if (this.#fingerprints.get(record.key) === fingerprint) continue;
      this.#fingerprints.set(record.key, fingerprint);
      const detail: Record<string, unknown> = {
        key: record.key,
        summary: record.summary,
        winnerReason: record.winnerReason,
        ...(record.winner
          ? { winner: { id: record.winner.id, ref: record.winner.ref, value: record.winner.value } }
          : {}),
        losers: record.losers.map((l) => ({ id: l.intent.id, ref: l.intent.ref, code: l.code, reason: l.reason })),
        ...(record.allocation
          ? {
              allocation: {
                met: record.allocation.met,
                shortfallW: record.allocation.shortfallW,
                reason: record.allocation.reason,
                excluded: record.allocation.excluded.slice(0, 100),
              },
            }
          : {}),
        ...(record.delivery.skipped.length > 0 ? { skipped: record.delivery.skipped.slice(0, 100) } : {}),
        ...(record.delivery.setpoints ? { setpoints: record.delivery.setpoints } : {}),
      };
      const events = new Set<string>();
      if (record.winner?.ref && this.#events.has(record.winner.ref)) events.add(record.winner.ref);
      for (const loser of record.losers)
        if (loser.intent.ref && this.#events.has(loser.intent.ref)) events.add(loser.intent.ref);
      try {
        await this.#store.audit.append({
          at: now,
          actor: CONTROL_ACTOR,
          action: 'control.decision',
          targetType: 'control',
          targetId: record.key,
          detail,
        });
        for (const eventId of events)
          await this.#store.audit.append({
            at: now,
            actor: CONTROL_ACTOR,
            action: 'control.decision',
            targetType: 'event',
            targetId: eventId,
            detail: { ...detail, role: record.winner?.ref === eventId ? 'winner' : 'loser' },
          });
      } catch (error) {
        this.#logger?.warn({ key: record.key, error: errorSummary(error) }, 'decision not recorded');
      }
    }
  }

  #summariseEvents(records: Map<string, ControlDecisionRecord>): void {
    const summary = new Map<string, { excluded: number; shortfallW: number; won: boolean; lostReason?: string }>();
    for (const record of records.values()) {
      for (const loser of record.losers) {
        const ref = loser.intent.ref;
        if (!ref || !this.#events.has(ref) || loser.code === 'not-started' || loser.code === 'expired') continue;
        const entry = summary.get(ref) ?? { excluded: 0, shortfallW: 0, won: false };
        entry.lostReason ??= `${record.key}: ${loser.reason}`;
        summary.set(ref, entry);
      }
      const ref = record.winner?.ref;
      if (!ref || !this.#events.has(ref)) continue;
      const entry = summary.get(ref) ?? { excluded: 0, shortfallW: 0, won: false };
      entry.won = true;
      if (record.allocation) {
        entry.excluded += record.allocation.excluded.length;
        entry.shortfallW += record.allocation.shortfallW;
      }
      entry.excluded += record.delivery.skipped.filter(
        (s) => s.reason === 'offline' || s.reason.startsWith('failing'),
      ).length;
      summary.set(ref, entry);
    }
    this.#eventAllocation = summary;
  }

  #emitOutcomes(now: number, only?: readonly string[]): void {
    const ids = only ?? [...this.#events.keys()];
    for (const eventId of ids) {
      const event = this.#events.get(eventId);
      const state = this.#eventAllocation.get(eventId);
      if (!event || !state) continue;
      const counts = this.#counts.get(eventId) ?? emptyCounts();
      let outcome: EventOutcomeKind | undefined;
      let reason: string;
      if (!state.won) {
        outcome = 'not-applied';
        reason = state.lostReason ?? 'not in force';
      } else if (counts.pending > 0) continue;
      else {
        const bad = counts.failed + counts.expired;
        const short = state.shortfallW > 0.5;
        if (bad === 0 && state.excluded === 0 && !short) {
          outcome = 'complied';
          reason = `${counts.confirmed} setpoint(s) confirmed`;
        } else if (counts.confirmed > 0) {
          outcome = 'partial';
          reason = `${counts.confirmed} confirmed, ${counts.failed} failed, ${counts.expired} expired, ${state.excluded} device(s) excluded, shortfall ${Math.round(state.shortfallW)} W`;
        } else {
          outcome = 'failed';
          reason = `${counts.failed} failed, ${counts.expired} expired, ${state.excluded} device(s) excluded, shortfall ${Math.round(state.shortfallW)} W`;
        }
      }
      if (this.#outcomes.get(eventId) === outcome) continue;
      this.#outcomes.set(eventId, outcome);
      const message: EventOutcome = {
        eventId,
        programId: event.programId,
        source: event.source,
        outcome,
        at: now,
        commands: { ...counts },
        excludedDevices: state.excluded,
        shortfallW: state.shortfallW,
        reason,
      };
      if (event.externalId !== undefined) message.externalId = event.externalId;
      for (const listener of this.#outcomeListeners)
        try {
          listener(message);
        } catch (error) {
          this.#logger?.warn({ eventId, error: errorSummary(error) }, 'outcome listener failed');
        }
    }
  }

  async #complianceTarget(
    record: ControlDecisionRecord,
    value: number,
    inForce: boolean,
    now: number,
  ): Promise<ComplianceTarget> {
    const target: ComplianceTarget = {
      key: record.key,
      scope: record.scope,
      type: record.type,
      value,
      inForce,
      deliveredFrom: 'none',
    };
    let delivered: number | undefined;
    if (record.scope.kind === 'site') {
      const meters = await this.#store.devices.list({ siteId: record.scope.id, class: 'meter', limit: 2 });
      const meter = meters.length === 1 ? meters[0] : undefined;
      if (meter) {
        delivered = (await this.#freshReadings(meter.id, 'activePower', false, now)).values.get('activePower');
        if (delivered !== undefined) target.deliveredFrom = 'site-meter';
      }
    } else {
      const ids =
        record.scope.kind === 'device'
          ? [record.scope.id]
          : await this.#store.memberships.membersAt(record.scope.id, now);
      // A device the allocation left out (offline, stale, invalid data) delivers nothing it can be
      // credited with: its last reading is stale, so it must not count toward the target.
      const excluded = new Set(record.allocation?.excluded.map((entry) => entry.deviceId) ?? []);
      let sum = 0;
      let seen = 0;
      for (const id of ids) {
        if (excluded.has(id)) continue;
        const power = (await this.#freshReadings(id, 'activePower', false, now)).values.get('activePower');
        if (power === undefined) continue;
        sum += power;
        seen++;
      }
      if (seen > 0) {
        delivered = sum;
        target.deliveredFrom = 'devices';
      }
    }
    if (delivered === undefined) return target;
    target.deliveredW = delivered;
    const tolerance = Math.max(50, Math.abs(value) * 0.02);
    let shortfall: number | undefined;
    if (record.type === 'exportLimit' || record.type === 'generationLimit') shortfall = Math.max(0, delivered - value);
    else if (record.type === 'importLimit' || record.type === 'loadLimit') shortfall = Math.max(0, -value - delivered);
    else if (record.type === 'fixedW' || record.type === 'storageTargetW') shortfall = Math.abs(delivered - value);
    if (shortfall !== undefined) {
      target.shortfallW = shortfall;
      target.compliant = shortfall <= tolerance;
    }
    return target;
  }
}

function scopeRank(scope: ControlScope): number {
  return scope.kind === 'device' ? 0 : scope.kind === 'group' ? 1 : 2;
}

/** The value that lifts a limit the engine no longer wants, where the device's data gives one. */
function neutralValue(device: Device, kind: SetpointKind): number | undefined {
  const { ratings, storage, thermal } = device.capabilities;
  if (!device.capabilities.controls.includes(kind)) return undefined;
  switch (kind) {
    case 'generationLimit':
      return ratings?.maxW;
    case 'chargeLimit':
      return storage?.maxChargeW;
    case 'dischargeLimit':
      return storage?.maxDischargeW;
    case 'loadLimit':
      return thermal?.ratedPowerW ?? ratings?.maxW;
    case 'connect':
    case 'energize':
      return 1;
    default:
      return undefined;
  }
}
