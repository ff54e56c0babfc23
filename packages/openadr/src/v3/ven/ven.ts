/**
 * The OpenADR 3 VEN (3.0.1 or 3.1.0): `createVen3(options)`.
 *
 * - Auth: OAuth 2.0 client credentials (./auth.ts); without credentials it calls the API without a
 *   token (Definition §VEN enrollment: the non-authenticating VTN). A 401 from the API drops the token
 *   and the call is tried once more with a new one.
 * - Registration: its ven object by venName (GET /vens?venName=, else POST /vens: 3.1.0
 *   VEN_VEN_REQUEST) and its resources (3.0.1 /vens/{venID}/resources, 3.1.0 /resources with
 *   VEN_RESOURCE_REQUEST), created when absent. Repeated after the VTN was unreachable.
 * - Sync: every `pollIntervalMs` it reads every page of /programs and /events (limit 50, skip), maps
 *   the programs it is configured for and their events, and tells created / modified (id +
 *   modificationDateTime) / deleted (gone from the listing; User Guide §7.9: discard it) events
 *   apart, emitting canonical drafts (../canonical.ts). Events of unmapped programs are ignored.
 * - Webhooks (optional `callback`): a local receiver (./callback.ts) and a subscription to PROGRAM and
 *   EVENT operations (3.0.1: one per program, programID being required there; 3.1.0: one with a
 *   bearerToken); 3.1.0 first asks GET /notifiers whether WEBHOOK is offered. A notification triggers
 *   a sync at once; polling stays the safety net. Subscriptions of an earlier run (same receiver
 *   base URL, another secret) are deleted.
 * - Reports (optional `reports`): per the events' reportDescriptors (./reports.ts), from the
 *   telemetry callback, sampled every `sampleIntervalMs`; a report that cannot be posted is tried
 *   again on the next sample.
 * - The VTN going away: errors are emitted ('error', 'connection' offline), never thrown from
 *   timers; the next sync backs off (pollIntervalMs x 2^(failures-1), at most maxBackoffMs). Known
 *   events stay as they are, so whatever runs them keeps them to their end; when the VTN answers
 *   again the VEN registers again and catches up (created, modified and deleted meanwhile).
 * Errors: GW_ERR_UNAUTHORIZED (credentials refused, or 401 after a new token), GW_ERR_FORBIDDEN,
 * GW_ERR_DEVICE_UNREACHABLE (no answer, 5xx), GW_ERR_DEVICE_PROTOCOL (an object the VEN cannot use;
 * it is skipped), GW_ERR_DEVICE_REJECTED (another refusal), GW_ERR_BODY_TOO_LARGE.
 */
import { GridseamError, type Program } from '@gridseam/model';
import {
  aggregateValues,
  buildReport,
  eventFromOadr3,
  type IntervalTiming,
  type NormalizedReportDescriptor,
  type Oadr3EventDraft,
  type Oadr3EventLike,
  type Oadr3ProgramLike,
  type ProgramMapping,
  programFromOadr3,
  type ReportIntervalData,
  type ResourceValues,
  type TargetMapping,
  versionOf,
} from '../canonical.ts';
import type { Oadr3Version } from '../validate.ts';
import { type ClientCredentials, clientCredentialsSource, type TokenSource } from './auth.ts';
import {
  CALLBACK_PATH_PREFIX,
  type CallbackReceiver,
  type CallbackReceiverOptions,
  type Oadr3Notification,
  startCallbackReceiver,
} from './callback.ts';
import {
  type Guarded,
  guardEvent,
  guardProgram,
  guardResource,
  guardSubscription,
  guardVen,
  type ResourceObject,
  type VenObject,
} from './guards.ts';
import { createVtnHttp, type VtnHttp, type VtnHttpOptions, type VtnResponse } from './http.ts';
import {
  groupResources,
  IntervalAccumulator,
  type PlannedReport,
  plannedReports,
  type ReportGroup,
  type ResourceSample,
  reportGroups,
} from './reports.ts';

export const DEFAULT_POLL_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_BACKOFF_MS = 300_000;
export const DEFAULT_SAMPLE_INTERVAL_MS = 10_000;
export const DEFAULT_AD_HOC_INTERVAL_MS = 60_000;
/** Page size of list requests (the spec's `limit` maximum). */
const PAGE = 50;
/** Pages read per listing at most (10,000 objects). */
const MAX_PAGES = 200;
/** Syncs between attempts to register or subscribe again after a refusal. */
const RETRY_SYNCS = 10;
export const AGGREGATED_REPORT = 'AGGREGATED_REPORT';

export interface Ven3ReportOptions {
  /** Readings of the named resources now (canonical values); called once per sample. */
  telemetry: (resourceNames: readonly string[], at: number) => Promise<readonly ResourceSample[]>;
  sampleIntervalMs?: number;
  /** Ad hoc and report-only events: one report this often. */
  adHocIntervalMs?: number;
}

export interface Ven3Options {
  version: Oadr3Version;
  /** The API's base URL, e.g. https://vtn.example/openadr3/3.1.0. */
  vtnUrl: string;
  venName: string;
  /** Absent: no token is asked for (a VTN without authentication). */
  credentials?: ClientCredentials;
  /** The VEN's resources (created on the VTN when absent); reports name them. */
  resources?: readonly string[];
  /** Programs taken part in, by programName. */
  programs?: Readonly<Record<string, ProgramMapping>>;
  /** The mapping of programs not listed in `programs`; absent: their events are ignored. */
  defaultProgram?: ProgramMapping;
  targets?: readonly TargetMapping[];
  pollIntervalMs?: number;
  maxBackoffMs?: number;
  callback?: CallbackReceiverOptions;
  reports?: Ven3ReportOptions;
  http?: VtnHttpOptions;
  /** Tests: replaces the HTTP transport. */
  transport?: VtnHttp;
  now?: () => number;
  /** Uniform in [0, 1): randomizeStart draws (default Math.random). */
  random?: () => number;
}

export interface ProgramChange {
  change: 'created' | 'modified' | 'deleted';
  program: Oadr3ProgramLike;
  canonical: Program;
  mapping: ProgramMapping;
}

export interface EventChange {
  change: 'created' | 'modified' | 'deleted';
  draft: Oadr3EventDraft;
  event: Oadr3EventLike;
  /** The OpenADR program the event belongs to. */
  program: Oadr3ProgramLike;
}

export interface ReportPosted {
  eventID: string;
  /** The id the VTN gave the report; undefined when it was not posted. */
  reportID?: string;
  payloadTypes: string[];
  /** Interval ids reported. */
  intervals: number[];
  resources: string[];
  posted: boolean;
  reason?: string;
  /** The report body as built (what was posted, or refused); absent when there was no data. */
  report?: Record<string, unknown>;
  /** Time span of the intervals reported, epoch ms. */
  period?: { start: number; end: number };
  /** The VTN's HTTP status for POST /reports; absent when it was not asked. */
  status?: number;
}

export interface SyncSummary {
  ok: boolean;
  at: number;
  programs: number;
  events: number;
  error?: GridseamError;
}

export interface Ven3Events {
  program: (change: ProgramChange) => void;
  event: (change: EventChange) => void;
  report: (report: ReportPosted) => void;
  error: (error: GridseamError) => void;
  connection: (state: { online: boolean; at: number }) => void;
  sync: (summary: SyncSummary) => void;
}

export interface Ven3Status {
  online: boolean;
  failures: number;
  lastSyncAt?: number;
  venId?: string;
  resources: Record<string, string>;
  subscribed: boolean;
  subscriptionIds: string[];
  tokenExpiresAt?: number;
  ignoredPrograms: string[];
  /** The webhook receiver's counts, when one runs. */
  callback?: { notifications: number; refused: number; echoes: number };
}

export interface Ven3 {
  readonly version: Oadr3Version;
  /** Starts the receiver (if any) and runs the first sync (its failure is emitted, not thrown). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs a sync now (after the one in progress). */
  syncNow(): Promise<SyncSummary>;
  /** Takes a sample and posts the reports due now. */
  reportNow(): Promise<void>;
  on<K extends keyof Ven3Events>(name: K, listener: Ven3Events[K]): () => void;
  /** The known events of this gateway, by OpenADR event id. */
  events(): ReadonlyMap<string, Oadr3EventDraft>;
  status(): Ven3Status;
  /** The callbackUrl given to the VTN, when a receiver runs. */
  callbackUrl(): string | undefined;
}

export function createVen3(options: Ven3Options): Ven3 {
  return new Ven3Impl(options);
}

interface TrackedEvent {
  event: Oadr3EventLike;
  version: string;
  programVersion: string;
  receivedAt: number;
  random: number;
  draft: Oadr3EventDraft;
  emitted: boolean;
  reports?: ReportTracker;
}

interface TrackedProgram {
  program: Oadr3ProgramLike;
  version: string;
  mapping: ProgramMapping;
  canonical: Program;
}

interface AdHocState {
  lastAt: number;
  count: number;
  sent: number;
  accumulators: Map<string, IntervalAccumulator>;
}

interface ReportTracker {
  eventID: string;
  programID: string;
  eventName?: string;
  timeline: IntervalTiming[];
  groups: ReportGroup[];
  planned: PlannedReport[];
  done: Set<string>;
  /** Timeline index -> resource -> accumulator. */
  accumulators: Map<number, Map<string, IntervalAccumulator>>;
  adHoc: Map<string, AdHocState>;
  draft: Oadr3EventDraft;
}

type Listeners = { [K in keyof Ven3Events]: Set<Ven3Events[K]> };

function errorOf(error: unknown): GridseamError {
  if (GridseamError.is(error)) return error;
  return new GridseamError('GW_ERR_INTERNAL', error instanceof Error ? error.message : String(error), { cause: error });
}

function base(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

class Ven3Impl implements Ven3 {
  readonly version: Oadr3Version;
  readonly #options: Ven3Options;
  readonly #http: VtnHttp;
  readonly #tokens: TokenSource | undefined;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #pollMs: number;
  readonly #maxBackoffMs: number;
  readonly #listeners: Listeners = {
    program: new Set(),
    event: new Set(),
    report: new Set(),
    error: new Set(),
    connection: new Set(),
    sync: new Set(),
  };
  readonly #programs = new Map<string, TrackedProgram>();
  readonly #events = new Map<string, TrackedEvent>();
  readonly #ignoredPrograms = new Set<string>();
  readonly #warned = new Set<string>();
  readonly #lastEnergy = new Map<string, number>();
  #receiver: CallbackReceiver | undefined;
  #ven: VenObject | undefined;
  #resources = new Map<string, ResourceObject>();
  #registered = false;
  #registerAfterSync = 0;
  #subscribedKey: string | undefined;
  #subscriptionIds: string[] = [];
  #subscribeAfterSync = 0;
  #syncCount = 0;
  #online = true;
  #failures = 0;
  #lastSyncAt: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #reporting: Promise<void> = Promise.resolve();
  #pollTimer: NodeJS.Timeout | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #soonTimer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;

  constructor(options: Ven3Options) {
    if (options.version !== '3.0.1' && options.version !== '3.1.0')
      throw new GridseamError('GW_ERR_CONFIG', `OpenADR version ${String(options.version)} is not 3.0.1 or 3.1.0`);
    let parsed: URL;
    try {
      parsed = new URL(options.vtnUrl);
    } catch (error) {
      throw new GridseamError('GW_ERR_CONFIG', `vtnUrl ${options.vtnUrl} is not a URL`, { cause: error });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new GridseamError('GW_ERR_CONFIG', `vtnUrl ${options.vtnUrl} must be http(s)`);
    this.version = options.version;
    this.#options = options;
    this.#http = options.transport ?? createVtnHttp(options.http);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#pollMs = Math.max(10, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.#maxBackoffMs = Math.max(this.#pollMs, options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    this.#tokens =
      options.credentials === undefined
        ? undefined
        : clientCredentialsSource(this.#http, options.credentials, options.vtnUrl, options.version, this.#now);
  }

  on<K extends keyof Ven3Events>(name: K, listener: Ven3Events[K]): () => void {
    const set = this.#listeners[name] as Set<Ven3Events[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  #emit<K extends keyof Ven3Events>(name: K, ...args: Parameters<Ven3Events[K]>): void {
    for (const listener of this.#listeners[name] as Set<(...a: Parameters<Ven3Events[K]>) => void>) {
      try {
        listener(...args);
      } catch {
        // A listener's failure is its own; the VEN goes on.
      }
    }
  }

  events(): ReadonlyMap<string, Oadr3EventDraft> {
    const out = new Map<string, Oadr3EventDraft>();
    for (const [id, tracked] of this.#events) if (tracked.emitted) out.set(id, tracked.draft);
    return out;
  }

  status(): Ven3Status {
    const tokenExpiresAt = this.#tokens?.expiresAt();
    return {
      online: this.#online,
      failures: this.#failures,
      ...(this.#lastSyncAt === undefined ? {} : { lastSyncAt: this.#lastSyncAt }),
      ...(this.#ven === undefined ? {} : { venId: this.#ven.id }),
      resources: Object.fromEntries([...this.#resources].map(([name, r]) => [name, r.id])),
      subscribed: this.#subscribedKey !== undefined,
      subscriptionIds: [...this.#subscriptionIds],
      ...(tokenExpiresAt === undefined ? {} : { tokenExpiresAt }),
      ignoredPrograms: [...this.#ignoredPrograms].sort(),
      ...(this.#receiver === undefined ? {} : { callback: this.#receiver.stats() }),
    };
  }

  callbackUrl(): string | undefined {
    return this.#receiver?.url;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#options.callback !== undefined)
      try {
        this.#receiver = await startCallbackReceiver(this.#options.callback, (n) => this.#onNotification(n));
      } catch (error) {
        throw new GridseamError(
          'GW_ERR_CONFIG',
          `the webhook receiver cannot listen on ${this.#options.callback.host}:${this.#options.callback.port} (${errorOf(error).message})`,
          { cause: error },
        );
      }
    await this.syncNow();
    this.#scheduleReports();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of [this.#pollTimer, this.#reportTimer, this.#soonTimer])
      if (timer !== undefined) clearTimeout(timer);
    await this.#queue.catch(() => undefined);
    await this.#reporting.catch(() => undefined);
    await this.#receiver?.close();
    if (this.#options.transport === undefined) this.#http.close();
  }

  // ------------------------------------------------------------------ HTTP

  #url(path: string, query?: Record<string, string | number | undefined>): URL {
    const url = new URL(path.replace(/^\//, ''), base(this.#options.vtnUrl));
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  async #call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: { query?: Record<string, string | number | undefined>; json?: unknown } = {},
  ): Promise<VtnResponse> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (this.#tokens !== undefined) headers.authorization = `Bearer ${await this.#tokens.token()}`;
      const response = await this.#http.request({
        method,
        url: this.#url(path, options.query),
        headers,
        ...(options.json === undefined ? {} : { json: options.json }),
      });
      if (response.status === 401 && this.#tokens !== undefined && attempt === 0) {
        this.#tokens.invalidate();
        continue;
      }
      return response;
    }
  }

  /** Throws the error of a non-2xx answer. */
  #expectOk(response: VtnResponse, what: string): void {
    if (response.status >= 200 && response.status < 300) return;
    const problem = response.body as { title?: unknown; detail?: unknown } | undefined;
    const detail = [problem?.title, problem?.detail].filter((p) => typeof p === 'string').join(': ') || response.text;
    const message = `${what}: the VTN answered ${response.status}${detail ? ` (${detail.slice(0, 300)})` : ''}`;
    const details = { peer: 'vtn', status: response.status };
    if (response.status === 401) throw new GridseamError('GW_ERR_UNAUTHORIZED', message, { details });
    if (response.status === 403) throw new GridseamError('GW_ERR_FORBIDDEN', message, { details });
    if (response.status === 404) throw new GridseamError('GW_ERR_NOT_FOUND', message, { details });
    if (response.status === 409) throw new GridseamError('GW_ERR_CONFLICT', message, { details });
    throw new GridseamError('GW_ERR_DEVICE_REJECTED', message, { details });
  }

  /** Every page of a list; objects that fail their guard are skipped and reported once. */
  async #listAll<T extends { id: string }>(
    path: string,
    guard: (value: unknown) => Guarded<T>,
    query: Record<string, string | undefined> = {},
  ): Promise<T[]> {
    const out = new Map<string, T>();
    for (let page = 0; page < MAX_PAGES; page++) {
      const response = await this.#call('GET', path, { query: { ...query, skip: page * PAGE, limit: PAGE } });
      this.#expectOk(response, `GET ${path}`);
      if (!Array.isArray(response.body))
        throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `GET ${path}: the answer is not a list`, {
          details: { peer: 'vtn' },
        });
      let added = 0;
      for (const item of response.body) {
        const checked = guard(item);
        if (!checked.ok) {
          const id = (item as { id?: unknown } | null)?.id;
          this.#warnOnce(
            `${path}:${String(id)}:${checked.problem}`,
            new GridseamError(
              'GW_ERR_DEVICE_PROTOCOL',
              `GET ${path}: object ${String(id)} skipped: ${checked.problem}`,
              {
                details: { peer: 'vtn' },
              },
            ),
          );
          continue;
        }
        if (!out.has(checked.value.id)) added++;
        out.set(checked.value.id, checked.value);
      }
      if (response.body.length < PAGE || added === 0) break;
    }
    return [...out.values()];
  }

  #warnOnce(key: string, error: GridseamError): void {
    if (this.#warned.has(key)) return;
    if (this.#warned.size > 10_000) this.#warned.clear();
    this.#warned.add(key);
    this.#emit('error', error);
  }

  // ------------------------------------------------------------------ sync

  syncNow(): Promise<SyncSummary> {
    const run = this.#queue.then(() => this.#sync());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #onNotification(notification: Oadr3Notification): void {
    if (this.#stopped) return;
    if (notification.objectType !== 'EVENT' && notification.objectType !== 'PROGRAM') return;
    // A notification triggers a sync at once (the listing is the truth); notifications close together share one.
    if (this.#soonTimer !== undefined) return;
    this.#soonTimer = setTimeout(() => {
      this.#soonTimer = undefined;
      void this.syncNow();
    }, 20);
    this.#soonTimer.unref();
  }

  #schedulePoll(): void {
    if (this.#stopped) return;
    if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer);
    const delay =
      this.#failures === 0
        ? this.#pollMs
        : Math.min(this.#maxBackoffMs, this.#pollMs * 2 ** Math.min(20, this.#failures - 1));
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      void this.syncNow();
    }, delay);
    this.#pollTimer.unref();
  }

  async #sync(): Promise<SyncSummary> {
    const at = this.#now();
    if (this.#stopped) return { ok: false, at, programs: 0, events: 0 };
    this.#syncCount++;
    let summary: SyncSummary;
    try {
      if (!this.#registered && this.#syncCount >= this.#registerAfterSync) await this.#register();
      const programs = await this.#listAll('/programs', guardProgram);
      const events = await this.#listAll('/events', guardEvent);
      this.#applyPrograms(programs);
      const applied = this.#applyEvents(events);
      if (this.#receiver !== undefined && this.#syncCount >= this.#subscribeAfterSync) await this.#subscribe();
      this.#failures = 0;
      this.#lastSyncAt = at;
      if (!this.#online) {
        this.#online = true;
        this.#emit('connection', { online: true, at });
      }
      summary = { ok: true, at, programs: this.#programs.size, events: applied };
    } catch (error) {
      const failure = errorOf(error);
      this.#failures++;
      if (this.#online) {
        this.#online = false;
        // After an outage the VTN may have lost our ven, resources and subscriptions: check them again.
        this.#registered = false;
        this.#subscribedKey = undefined;
        this.#emit('connection', { online: false, at });
      }
      this.#emit('error', failure);
      summary = { ok: false, at, programs: this.#programs.size, events: this.#events.size, error: failure };
    }
    this.#emit('sync', summary);
    this.#schedulePoll();
    return summary;
  }

  async #register(): Promise<void> {
    const { venName } = this.#options;
    try {
      const vens = await this.#listAll('/vens', guardVen, { venName });
      let ven = vens.find((v) => v.venName === venName);
      if (ven === undefined) {
        const body = this.version === '3.1.0' ? { objectType: 'VEN_VEN_REQUEST', venName } : { venName };
        const response = await this.#call('POST', '/vens', { json: body });
        if (response.status === 409) {
          ven = (await this.#listAll('/vens', guardVen, { venName })).find((v) => v.venName === venName);
        } else {
          this.#expectOk(response, 'POST /vens');
          const checked = guardVen(response.body);
          if (!checked.ok)
            throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `POST /vens answered ${checked.problem}`, {
              details: { peer: 'vtn' },
            });
          ven = checked.value;
        }
      }
      if (ven === undefined)
        throw new GridseamError('GW_ERR_DEVICE_REJECTED', `the VTN has no ven ${venName} and created none`, {
          details: { peer: 'vtn' },
        });
      this.#ven = ven;
      await this.#registerResources(ven);
      this.#registered = true;
    } catch (error) {
      const failure = errorOf(error);
      // Unreachable or unauthenticated: the whole sync fails. A refusal of registration alone is
      // reported and tried again later; events can be read without it.
      if (failure.code === 'GW_ERR_DEVICE_UNREACHABLE' || failure.code === 'GW_ERR_UNAUTHORIZED') throw failure;
      this.#registerAfterSync = this.#syncCount + RETRY_SYNCS;
      this.#emit('error', failure);
    }
  }

  async #registerResources(ven: VenObject): Promise<void> {
    const wanted = this.#options.resources ?? [];
    if (wanted.length === 0) return;
    const existing =
      this.version === '3.0.1'
        ? await this.#listAll(`/vens/${encodeURIComponent(ven.id)}/resources`, guardResource)
        : await this.#listAll('/resources', guardResource, { venID: ven.id });
    const byName = new Map(
      existing.filter((r) => r.venID === undefined || r.venID === ven.id).map((r) => [r.resourceName, r]),
    );
    for (const resourceName of wanted) {
      if (byName.has(resourceName)) continue;
      const path = this.version === '3.0.1' ? `/vens/${encodeURIComponent(ven.id)}/resources` : '/resources';
      const body =
        this.version === '3.1.0'
          ? { objectType: 'VEN_RESOURCE_REQUEST', resourceName, venID: ven.id }
          : { resourceName, venID: ven.id };
      const response = await this.#call('POST', path, { json: body });
      this.#expectOk(response, `POST ${path}`);
      const checked = guardResource(response.body);
      if (!checked.ok)
        throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `POST ${path} answered ${checked.problem}`, {
          details: { peer: 'vtn' },
        });
      byName.set(resourceName, checked.value);
    }
    this.#resources = byName;
  }

  #mappingOf(program: Oadr3ProgramLike): ProgramMapping | undefined {
    return this.#options.programs?.[program.programName] ?? this.#options.defaultProgram;
  }

  #applyPrograms(programs: readonly Oadr3ProgramLike[]): void {
    const seen = new Set<string>();
    for (const program of programs) {
      const mapping = this.#mappingOf(program);
      if (mapping === undefined) {
        this.#ignoredPrograms.add(program.programName);
        continue;
      }
      seen.add(program.id);
      const version = versionOf(program);
      const tracked = this.#programs.get(program.id);
      if (tracked !== undefined && tracked.version === version) continue;
      const canonical = programFromOadr3(program, mapping);
      this.#programs.set(program.id, { program, version, mapping, canonical });
      this.#emit('program', { change: tracked === undefined ? 'created' : 'modified', program, canonical, mapping });
    }
    for (const [id, tracked] of this.#programs)
      if (!seen.has(id)) {
        this.#programs.delete(id);
        this.#emit('program', { change: 'deleted', ...tracked });
      }
  }

  #applyEvents(events: readonly Oadr3EventLike[]): number {
    const seen = new Set<string>();
    const now = this.#now();
    for (const event of events) {
      const program = this.#programs.get(event.programID);
      if (program === undefined) continue;
      seen.add(event.id);
      const version = versionOf(event);
      const tracked = this.#events.get(event.id);
      if (tracked !== undefined && tracked.version === version && tracked.programVersion === program.version) continue;
      const random = tracked?.random ?? this.#random();
      const draft = eventFromOadr3(event, {
        version: this.version,
        program: { ...program.mapping, id: program.canonical.id },
        programObject: program.program,
        venName: this.#options.venName,
        ...(this.#options.targets === undefined ? {} : { targets: this.#options.targets }),
        now,
        receivedAt: now,
        random,
      });
      const wasEmitted = tracked?.emitted ?? false;
      const next: TrackedEvent = {
        event,
        version,
        programVersion: program.version,
        receivedAt: now,
        random,
        draft,
        emitted: draft.forUs,
      };
      next.reports = this.#trackerFor(next, tracked?.reports, now);
      this.#events.set(event.id, next);
      if (draft.forUs) {
        this.#emit('event', { change: wasEmitted ? 'modified' : 'created', draft, event, program: program.program });
      } else if (wasEmitted && tracked !== undefined)
        this.#emitDeleted(tracked, program.program, 'the event no longer targets this gateway');
    }
    for (const [id, tracked] of this.#events)
      if (!seen.has(id)) {
        this.#events.delete(id);
        const program = this.#programs.get(tracked.event.programID)?.program;
        if (tracked.emitted)
          this.#emitDeleted(
            tracked,
            program ?? { id: tracked.event.programID, programName: tracked.event.programID },
            'the VTN deleted the event',
          );
      }
    return [...this.#events.values()].filter((e) => e.emitted).length;
  }

  #emitDeleted(tracked: TrackedEvent, program: Oadr3ProgramLike, reason: string): void {
    const at = this.#now();
    const draft: Oadr3EventDraft = {
      ...tracked.draft,
      event: { ...tracked.draft.event, status: 'cancelled', statusHistory: [{ status: 'cancelled', at, reason }] },
    };
    this.#emit('event', { change: 'deleted', draft, event: tracked.event, program });
  }

  // ------------------------------------------------------------------ subscriptions

  async #subscribe(): Promise<void> {
    const receiver = this.#receiver;
    if (receiver === undefined) return;
    const programIds = this.version === '3.0.1' ? [...this.#programs.keys()].sort() : [];
    const key = `${receiver.url}|${programIds.join(',')}`;
    if (this.#subscribedKey === key) return;
    try {
      if (this.version === '3.1.0') {
        const notifiers = await this.#call('GET', '/notifiers');
        const webhook = (notifiers.body as { WEBHOOK?: unknown } | undefined)?.WEBHOOK;
        if (notifiers.status === 200 && webhook === false) {
          this.#warnOnce(
            'notifiers:webhook',
            new GridseamError('GW_ERR_NOT_SUPPORTED', 'the VTN offers no webhooks; polling only', {
              details: { peer: 'vtn' },
            }),
          );
          this.#subscribedKey = key;
          return;
        }
      }
      const existing = await this.#listAll('/subscriptions', guardSubscription, { clientName: this.#options.venName });
      const ours = existing.filter((s) =>
        s.objectOperations.some((o) => o.callbackUrl?.startsWith(`${receiver.baseUrl}${CALLBACK_PATH_PREFIX}`)),
      );
      const wanted = new Set<string | undefined>(this.version === '3.0.1' ? programIds : [undefined]);
      const kept: string[] = [];
      for (const subscription of ours) {
        const current = subscription.objectOperations.every((o) => o.callbackUrl === receiver.url);
        const programID = this.version === '3.0.1' ? (subscription.programID ?? undefined) : undefined;
        if (current && wanted.has(programID)) {
          wanted.delete(programID);
          kept.push(subscription.id);
          continue;
        }
        const response = await this.#call('DELETE', `/subscriptions/${encodeURIComponent(subscription.id)}`);
        if (response.status !== 404) this.#expectOk(response, 'DELETE /subscriptions');
      }
      for (const programID of wanted) {
        const response = await this.#call('POST', '/subscriptions', {
          json: this.#subscriptionBody(receiver, programID),
        });
        this.#expectOk(response, 'POST /subscriptions');
        const checked = guardSubscription(response.body);
        if (checked.ok) kept.push(checked.value.id);
      }
      this.#subscriptionIds = kept;
      this.#subscribedKey = key;
    } catch (error) {
      const failure = errorOf(error);
      if (failure.code === 'GW_ERR_DEVICE_UNREACHABLE' || failure.code === 'GW_ERR_UNAUTHORIZED') throw failure;
      // Webhooks are an optimisation: polling goes on; try again after a while.
      this.#subscribeAfterSync = this.#syncCount + RETRY_SYNCS;
      this.#emit('error', failure);
    }
  }

  #subscriptionBody(receiver: CallbackReceiver, programID: string | undefined): Record<string, unknown> {
    // Both documents list READ, CREATE, UPDATE, DELETE as subscription operations (3.0.1 names the
    // notification's own operation after HTTP verbs, which the receiver does not depend on).
    if (this.version === '3.0.1')
      return {
        clientName: this.#options.venName,
        programID,
        objectOperations: [
          { objects: ['PROGRAM', 'EVENT'], operations: ['CREATE', 'UPDATE', 'DELETE'], callbackUrl: receiver.url },
        ],
      };
    return {
      clientName: this.#options.venName,
      objectOperations: [
        {
          objects: ['PROGRAM', 'EVENT'],
          operations: ['CREATE', 'UPDATE', 'DELETE'],
          callbackUrl: receiver.url,
          bearerToken: receiver.bearerToken,
        },
      ],
    };
  }

  // ------------------------------------------------------------------ reports

  #resourceNames(): string[] {
    const names = this.#options.resources ?? [];
    return names.length > 0 ? [...names] : [this.#options.venName];
  }

  #trackerFor(tracked: TrackedEvent, previous: ReportTracker | undefined, now: number): ReportTracker | undefined {
    const draft = tracked.draft;
    if (this.#options.reports === undefined || !draft.forUs || draft.reportDescriptors.length === 0) return undefined;
    const { groups, unsupported } = reportGroups(draft.reportDescriptors, draft.timeline);
    for (const descriptor of unsupported)
      this.#warnOnce(
        `forecast:${tracked.event.id}:${descriptor.payloadType}`,
        new GridseamError(
          'GW_ERR_NOT_SUPPORTED',
          `event ${tracked.event.id}: forecast reports (historical false) of ${descriptor.payloadType} are not supported`,
        ),
      );
    const planned = groups.flatMap((group) => plannedReports(group, draft.timeline));
    // Shared with the previous tracker: a report step still working on it marks the same set.
    const done = previous?.done ?? new Set<string>();
    // 'do it now' reporting (User Guide §7.5): of the reports already due, only the latest per group is sent.
    if (previous === undefined)
      for (const group of groups) {
        const due = planned.filter((p) => p.group === group && p.dueAt <= now);
        for (const report of due.slice(0, -1)) done.add(report.key);
      }
    const adHoc = new Map<string, AdHocState>();
    for (const group of groups)
      if (group.adHoc)
        adHoc.set(
          group.key,
          previous?.adHoc.get(group.key) ?? { lastAt: now, count: 0, sent: 0, accumulators: new Map() },
        );
    return {
      eventID: tracked.event.id,
      programID: tracked.event.programID,
      ...(typeof tracked.event.eventName === 'string' ? { eventName: tracked.event.eventName } : {}),
      timeline: draft.timeline,
      groups,
      planned,
      done,
      accumulators:
        previous !== undefined && sameTimeline(previous.timeline, draft.timeline) ? previous.accumulators : new Map(),
      adHoc,
      draft,
    };
  }

  #scheduleReports(): void {
    if (this.#stopped || this.#options.reports === undefined) return;
    const interval = Math.max(10, this.#options.reports.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS);
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      this.reportNow().finally(() => this.#scheduleReports());
    }, interval);
    this.#reportTimer.unref();
  }

  reportNow(): Promise<void> {
    const run = this.#reporting.then(() => this.#reportStep());
    this.#reporting = run.catch(() => undefined);
    return run.catch((error: unknown) => this.#emit('error', errorOf(error)));
  }

  async #reportStep(): Promise<void> {
    const reports = this.#options.reports;
    if (reports === undefined || this.#stopped) return;
    const trackers = [...this.#events.values()]
      .map((e) => e.reports)
      .filter((r): r is ReportTracker => r !== undefined);
    if (trackers.length === 0) return;
    const now = this.#now();
    const live = (t: ReportTracker) => t.timeline.some((i) => i.start <= now && now < i.end);
    const adHocLive = (t: ReportTracker, state: AdHocState, group: ReportGroup) => {
      if (t.timeline.length === 0) {
        const repeat = group.descriptors[0]?.repeat ?? 1;
        return repeat < 0 || state.sent < Math.max(1, repeat);
      }
      return live(t);
    };
    const needSample = trackers.some(
      (t) => live(t) || t.groups.some((g) => g.adHoc && adHocLive(t, t.adHoc.get(g.key) as AdHocState, g)),
    );
    let samples: readonly ResourceSample[] = [];
    if (needSample)
      try {
        samples = await reports.telemetry(this.#resourceNames(), now);
      } catch (error) {
        this.#emit('error', errorOf(error));
      }
    for (const tracker of trackers) {
      for (const sample of samples) {
        const before = this.#lastEnergy.get(sample.resourceName);
        tracker.timeline.forEach((interval, index) => {
          if (!(interval.start <= now && now < interval.end)) return;
          const byResource = tracker.accumulators.get(index) ?? new Map<string, IntervalAccumulator>();
          tracker.accumulators.set(index, byResource);
          let accumulator = byResource.get(sample.resourceName);
          if (accumulator === undefined) {
            accumulator = new IntervalAccumulator(before);
            byResource.set(sample.resourceName, accumulator);
          }
          accumulator.add(sample);
        });
        for (const state of tracker.adHoc.values()) {
          let accumulator = state.accumulators.get(sample.resourceName);
          if (accumulator === undefined) {
            accumulator = new IntervalAccumulator(before);
            state.accumulators.set(sample.resourceName, accumulator);
          }
          accumulator.add(sample);
        }
      }
    }
    for (const sample of samples)
      if (sample.energyImportedWh !== undefined && Number.isFinite(sample.energyImportedWh))
        this.#lastEnergy.set(sample.resourceName, sample.energyImportedWh);

    for (const tracker of trackers) {
      if (this.#stopped) return;
      for (const report of tracker.planned) {
        if (tracker.done.has(report.key) || report.dueAt > now) continue;
        const posted = await this.#postPlanned(tracker, report);
        if (posted === 'retry') return; // the VTN is not answering: try again on the next sample
        tracker.done.add(report.key);
      }
      for (const group of tracker.groups) {
        const state = tracker.adHoc.get(group.key);
        if (state === undefined || !adHocLive(tracker, state, group)) continue;
        const interval = this.#options.reports?.adHocIntervalMs ?? DEFAULT_AD_HOC_INTERVAL_MS;
        if (now - state.lastAt < interval) continue;
        const posted = await this.#postAdHoc(tracker, group, state, now);
        if (posted === 'retry') return;
        state.lastAt = now;
        state.count++;
        state.sent++;
        state.accumulators = new Map();
      }
    }
    // Trackers with nothing left to send are let go.
    for (const tracked of this.#events.values()) {
      const t = tracked.reports;
      if (t === undefined) continue;
      const end = t.timeline.reduce((max, i) => Math.max(max, i.end), 0);
      const pending = t.planned.some((p) => !t.done.has(p.key));
      const adHocPending = t.groups.some((g) => g.adHoc && adHocLive(t, t.adHoc.get(g.key) as AdHocState, g));
      if (!pending && !adHocPending && (t.timeline.length === 0 || now >= end)) tracked.reports = undefined;
    }
  }

  /** The SIMPLE level of the event in force at an instant (for SIMPLE_LEVEL). */
  #simpleLevelAt(draft: Oadr3EventDraft, at: number): number | undefined {
    for (const interval of draft.event.intervals)
      if (interval.start <= at && at < interval.start + interval.durationS * 1000)
        for (const signal of interval.signals) if (signal.kind === 'simpleLevel') return signal.value;
    return undefined;
  }

  async #postPlanned(tracker: ReportTracker, report: PlannedReport): Promise<'ok' | 'skipped' | 'retry'> {
    const resources = groupResources(report.group, this.#resourceNames());
    const perResource = new Map<string, ReportIntervalData[]>();
    for (const index of report.cover) {
      const interval = tracker.timeline[index] as IntervalTiming;
      const byResource = tracker.accumulators.get(index);
      for (const name of resources) {
        const accumulator = byResource?.get(name);
        if (accumulator === undefined || accumulator.samples === 0) continue;
        const values: ResourceValues = accumulator.values();
        values.simpleLevel ??= this.#simpleLevelAt(tracker.draft, interval.start);
        const list = perResource.get(name) ?? [];
        list.push({
          id: interval.id,
          start: interval.start,
          durationS: Math.max(1, Math.round((interval.end - interval.start) / 1000)),
          values,
        });
        perResource.set(name, list);
      }
    }
    return this.#post(tracker, report.group, perResource);
  }

  async #postAdHoc(
    tracker: ReportTracker,
    group: ReportGroup,
    state: AdHocState,
    now: number,
  ): Promise<'ok' | 'skipped' | 'retry'> {
    const resources = groupResources(group, this.#resourceNames());
    const perResource = new Map<string, ReportIntervalData[]>();
    for (const name of resources) {
      const accumulator = state.accumulators.get(name);
      if (accumulator === undefined || accumulator.samples === 0) continue;
      const values = accumulator.values();
      values.simpleLevel ??= this.#simpleLevelAt(tracker.draft, now);
      perResource.set(name, [
        {
          id: state.count,
          start: state.lastAt,
          durationS: Math.max(1, Math.round((now - state.lastAt) / 1000)),
          values,
        },
      ]);
    }
    return this.#post(tracker, group, perResource);
  }

  async #post(
    tracker: ReportTracker,
    group: ReportGroup,
    perResource: Map<string, ReportIntervalData[]>,
  ): Promise<'ok' | 'skipped' | 'retry'> {
    const descriptors: NormalizedReportDescriptor[] = group.descriptors;
    const payloadTypes = descriptors.map((d) => d.payloadType);
    let resources: Array<{ resourceName: string; intervals: ReportIntervalData[] }>;
    if (descriptors.some((d) => d.aggregate)) {
      // AGGREGATED_REPORT (User Guide §7.7): per interval id, the resources' values combined.
      const byInterval = new Map<number, { data: ReportIntervalData; values: ResourceValues[] }>();
      for (const list of perResource.values())
        for (const data of list) {
          const entry = byInterval.get(data.id) ?? { data, values: [] };
          entry.values.push(data.values);
          byInterval.set(data.id, entry);
        }
      resources = [
        {
          resourceName: AGGREGATED_REPORT,
          intervals: [...byInterval.values()].map(({ data, values }) => ({ ...data, values: aggregateValues(values) })),
        },
      ];
    } else resources = [...perResource].map(([resourceName, intervals]) => ({ resourceName, intervals }));
    const body = buildReport({
      version: this.version,
      eventID: tracker.eventID,
      programID: tracker.programID,
      clientName: this.#options.venName,
      reportName: `${this.#options.venName} ${tracker.eventName ?? tracker.eventID}`.slice(0, 128),
      descriptors,
      resources,
    });
    const reported = (body.resources as Array<{ resourceName: string; intervals: Array<{ id: number }> }>).filter(
      (r) => r.intervals.length > 0,
    );
    const intervals = [...new Set(reported.flatMap((r) => r.intervals.map((i) => i.id)))];
    if (reported.length === 0) {
      this.#emit('report', {
        eventID: tracker.eventID,
        payloadTypes,
        intervals: [],
        resources: [],
        posted: false,
        reason: 'no telemetry for the requested payloads',
      });
      return 'skipped';
    }
    body.resources = reported;
    let period: { start: number; end: number } | undefined;
    for (const { intervals: list } of resources)
      for (const data of list) {
        const end = data.start + data.durationS * 1000;
        period = { start: Math.min(period?.start ?? data.start, data.start), end: Math.max(period?.end ?? end, end) };
      }
    const sent = { report: body, ...(period === undefined ? {} : { period }) };
    try {
      const response = await this.#call('POST', '/reports', { json: body });
      this.#expectOk(response, 'POST /reports');
      const reportID = (response.body as { id?: unknown } | undefined)?.id;
      this.#emit('report', {
        eventID: tracker.eventID,
        ...(typeof reportID === 'string' ? { reportID } : {}),
        payloadTypes,
        intervals,
        resources: reported.map((r) => r.resourceName),
        posted: true,
        ...sent,
        status: response.status,
      });
      return 'ok';
    } catch (error) {
      const failure = errorOf(error);
      this.#emit('error', failure);
      if (failure.code === 'GW_ERR_DEVICE_UNREACHABLE' || failure.code === 'GW_ERR_UNAUTHORIZED') return 'retry';
      // Refused (400, 403, 404, ...): sending it again would be refused again.
      this.#emit('report', {
        eventID: tracker.eventID,
        payloadTypes,
        intervals,
        resources: reported.map((r) => r.resourceName),
        posted: false,
        reason: failure.message,
        ...sent,
        ...(typeof failure.details?.status === 'number' ? { status: failure.details.status } : {}),
      });
      return 'skipped';
    }
  }
}

function sameTimeline(a: readonly IntervalTiming[], b: readonly IntervalTiming[]): boolean {
  return (
    a.length === b.length && a.every((x, i) => x.id === b[i]?.id && x.start === b[i]?.start && x.end === b[i]?.end)
  );
}
