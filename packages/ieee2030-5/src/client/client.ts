/**
 * The IEEE 2030.5 client (CSIP / CSIP-AUS, direct or aggregator): discovers and polls the utility's resource
 * tree, keeps a schedule per EndDevice, tells the gateway which control applies per control type (`controls`
 * event), answers DERControls with Responses exactly once (persisted through a ClientStateStore), and reports
 * DER documents and mirror readings up.
 *
 * Time: every scheduling decision uses server time = local `now()` + the clock offset measured from the server's
 * Time resource. Timers are injectable; `sync()` runs one cycle (poll what is due, evaluate, respond, report) and
 * is what the timer calls, so tests drive the client with an injected clock.
 *
 * Subscription/Notification (`notifications` option, notifications.ts): the client subscribes to every resource
 * the server advertises as subscribable and re-fetches a resource as soon as its Notification arrives; polling at
 * the pollRate stays as the safety net.
 *
 * Not implemented: LogEvents, DERCurve content (curve control types are passed through as unsupported).
 */
import { GridseamError } from '@gridseam/model';
import type { ControlTypeResolution } from '../events/client.ts';
import { responseKey } from '../events/client.ts';
import { drawRandomization } from '../events/randomization.ts';
import type { ControlResponseStatus, ControlType, DefaultControl, RandomizationOffsets } from '../events/types.ts';
import { CONTROL_TYPES } from '../events/types.ts';
import { pemFromCertificateDer } from '../identity/certificate.ts';
import { lfdiFromCertificate } from '../identity/lfdi.ts';
import { RESPONSE_STATUS } from '../resources/enums.ts';
import type { CsipAusVersion, DER, Notification } from '../resources/types.ts';
import {
  type CanonicalAvailability,
  type CanonicalCapability,
  type CanonicalMeasurements,
  type CanonicalSettings,
  type CanonicalSignal,
  type CanonicalStatus,
  derAvailabilityFrom,
  derCapabilityFrom,
  derSettingsFrom,
  derStatusFrom,
  type MirrorRole,
  mirrorReadingsFrom,
  mirrorUsagePointFrom,
  type ProgramEventDraft,
  programEventFromControl,
  signalFor,
} from './canonical.ts';
import {
  type ClientMode,
  type DiscoveredEndDevice,
  type DiscoveredProgram,
  type DiscoveryResult,
  ResourcePoller,
} from './discovery.ts';
import { createHttpsTransport, type HttpsTransportOptions, SepHttp, type SepTransport } from './http.ts';
import { NotificationReceiver, SubscriptionManager, type SubscriptionRecordDoc } from './notifications.ts';
import { controlsOf, defaultsOf, evaluate, type KnownControl, mergeKnown } from './schedule.ts';
import {
  type ClientStateChange,
  type ClientStateStore,
  MemoryClientStateStore,
  offsetsRecordId,
  type ResponseRecordDoc,
  responseRecordId,
} from './state.ts';

export interface SepClientOptions {
  /** Absolute URL of the DeviceCapability, e.g. https://utility.example:8443/dcap. */
  dcapUrl: string;
  mode: ClientMode;
  /** Default 'csip-aus'. */
  profile?: 'csip' | 'csip-aus';
  csipausVersion?: CsipAusVersion;
  /** Credentials for mutual TLS (unless `deps.transport` is given). */
  tls?: HttpsTransportOptions;
  /** Our LFDI; default the LFDI of `tls.cert`. */
  lfdi?: string;
  /** Aggregator mode: the EndDevices to manage (default every EndDevice with an FSA list). */
  endDeviceLfdis?: readonly string[];
  /** Registration model: 'out-of-band' (default) or 'in-band' (POST our EndDevices when the list lacks them). */
  registration?: 'out-of-band' | 'in-band';
  /** Registration PIN to verify. */
  pin?: number;
  /** CSIP-AUS NMI to PUT on each EndDevice's ConnectionPoint. */
  connectionPointId?: string;
  /** List page size (`l`). Default 10. */
  pageSize?: number;
  /** pollRate clamp, seconds. Defaults 5 and 86400. */
  minPollSeconds?: number;
  maxPollSeconds?: number;
  /** After a failed poll, try again after this many seconds (default 60, never later than the pollRate). */
  retrySeconds?: number;
  /**
   * Communication loss: when no poll succeeded for this many seconds, the active controls are dropped and the
   * DefaultDERControls apply (CSIP-AUS). Absent: the known schedule keeps running (controls to their end, then
   * the default).
   */
  commsLossFallbackSeconds?: number;
  /** Response statuses the utility accepts (SAPN: 1, 2, 3, 6, 7); others are not sent. Default all. */
  responseStatuses?: readonly number[];
  /** IANA PEN written into mirror mRIDs. Default 0. */
  pen?: number;
  /** setMaxW per EndDevice (W), for the percentage modes opModMaxLimW / opModFixedW. */
  setMaxW?: (endDeviceLfdi: string) => number | undefined;
  /** Mirror postRate when neither the EndDevice nor the server gives one, seconds. Default 300. */
  defaultPostRate?: number;
  /** Subscribe to what the server offers and receive Notifications here (polling continues as the safety net). */
  notifications?: SepClientNotificationOptions;
}

export interface SepClientNotificationOptions {
  /** Where the receiver listens (port 0: any free port). */
  listen: { host: string; port: number };
  /** The notificationURI the server is given; a function gets the bound address (port 0). */
  publicUri: string | ((bound: { host: string; port: number }) => string);
  /** Plain HTTP behind a TLS terminator. Default false: HTTPS with mutual TLS using `tls` and its CA. */
  plainHttp?: boolean;
  /** Subscription.limit: list items per Notification. Default 10. */
  limit?: number;
  /** Largest Notification accepted, bytes. Default 256 KiB. */
  maxBodyBytes?: number;
}

export interface SepClientDeps {
  /** Local clock, epoch seconds. Default Date.now()/1000. */
  now?: () => number;
  /** Randomness for randomisation offsets. Default Math.random. */
  random?: () => number;
  transport?: SepTransport;
  /** Default a MemoryClientStateStore (nothing survives a restart). */
  store?: ClientStateStore;
  /** Schedules `fn` after `ms`; returns a cancel function. Default setTimeout (unref'd). */
  setTimer?: (fn: () => void, ms: number) => () => void;
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;
  /** Telemetry for mirror readings, asked at postRate per EndDevice; undefined = nothing to post now. */
  telemetry?: (endDevice: EndDeviceRef) => Promise<ReadingsInput | undefined> | ReadingsInput | undefined;
}

export interface EndDeviceRef {
  href: string;
  lfdi: string;
  sfdi: number;
}

/** One applied setpoint. */
export interface ActiveSetpoint extends CanonicalSignal {
  source: {
    kind: 'program' | 'default';
    /** mRID of the DERControl or DefaultDERControl. */
    ref?: string;
    programHref: string;
    primacy: number;
  };
  /** Local epoch seconds at which a control's effective window ends (absent for defaults). */
  until?: number;
}

export interface ControlsUpdate {
  endDevice: EndDeviceRef;
  /** Local and server epoch seconds of the evaluation. */
  at: number;
  serverTime: number;
  commsLost: boolean;
  /** The event rules' resolution per control type (raw 2030.5 values). */
  byType: Partial<Record<ControlType, ControlTypeResolution>>;
  /** The same in canonical terms; control types without a canonical setpoint are listed in `unsupported`. */
  setpoints: ActiveSetpoint[];
  unsupported: ControlType[];
  /** mRIDs of controls applied now. */
  active: string[];
}

export interface PollReport {
  at: number;
  ok: boolean;
  failures: GridseamError[];
  requests: number;
}

/** A device outcome: a Response status (2030.5 Table 27) or a name. */
export type ControlOutcome =
  | number
  | 'not-applicable'
  | 'invalid'
  | 'expired'
  | 'no-participation'
  | 'opt-out'
  | 'partial-opt-out'
  | 'aborted';

const OUTCOME_STATUS: Record<Exclude<ControlOutcome, number>, number> = {
  'not-applicable': RESPONSE_STATUS.rejectedNotApplicable,
  invalid: RESPONSE_STATUS.rejectedInvalid,
  expired: RESPONSE_STATUS.rejectedExpired,
  'no-participation': RESPONSE_STATUS.eventCompleteNoUserParticipation,
  'opt-out': RESPONSE_STATUS.userOptOut,
  'partial-opt-out': RESPONSE_STATUS.eventPartialOptOut,
  aborted: RESPONSE_STATUS.eventAbortedServer,
};

export interface DerReportsInput {
  capability?: CanonicalCapability;
  settings?: CanonicalSettings;
  status?: CanonicalStatus;
  availability?: CanonicalAvailability;
}

export interface ReadingsInput {
  site?: CanonicalMeasurements;
  der?: CanonicalMeasurements;
  /** Interval start in local epoch seconds (default now − duration) and length (default the postRate). */
  start?: number;
  duration?: number;
}

type Listener<T> = (value: T) => void;

interface ClientEvents {
  controls: ControlsUpdate;
  poll: PollReport;
  error: GridseamError;
}

export interface SepClient {
  /** Loads persisted state, re-applies the last known schedule, then polls. */
  start(): Promise<void>;
  stop(): Promise<void>;
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void;
  /** One cycle now: poll what is due (everything with `force`), evaluate, respond, report. */
  sync(options?: { force?: boolean }): Promise<void>;
  /** The last update per EndDevice LFDI. */
  controls(): ControlsUpdate[];
  /** Subscriptions held on the server (empty without the `notifications` option). */
  subscriptions(): SubscriptionRecordDoc[];
  endDevices(): EndDeviceRef[];
  /** Server − local clock offset, seconds. */
  clockOffset(): number;
  /** The known DERControls of an EndDevice as canonical ProgramEvents. */
  programEvents(endDeviceLfdi: string): ProgramEventDraft[];
  /** A device could not comply (or other outcome): posts that Response (once) and ends the control's responses. */
  reportOutcome(mRID: string, outcome: ControlOutcome, endDeviceLfdi?: string): Promise<void>;
  putDerReports(endDeviceLfdi: string, reports: DerReportsInput, derIndex?: number): Promise<void>;
  postReadings(endDeviceLfdi: string, readings: ReadingsInput): Promise<void>;
}

interface DeviceState {
  ref: EndDeviceRef;
  programs: DiscoveredProgram[];
  ders: DiscoveredDer[];
  known: KnownControl[];
  defaults: DefaultControl[];
  postRate?: number;
  last?: ControlsUpdate;
  lastKey?: string;
  nextPostAt?: number;
}

type DiscoveredDer = DiscoveredEndDevice['ders'][number];

interface SnapshotDoc {
  ref: EndDeviceRef;
  programs: DiscoveredProgram[];
  known: KnownControl[];
  /** Local epoch seconds of the last successful poll. */
  savedAt: number;
  clockOffset: number;
}

function certificateText(value: string | Buffer): string {
  return Buffer.isBuffer(value) && !value.subarray(0, 64).toString('latin1').includes('-----BEGIN')
    ? pemFromCertificateDer(value)
    : value.toString();
}

function lfdiOfPem(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (match?.[1] === undefined) throw new GridseamError('GW_ERR_CONFIG', 'the client certificate is not PEM');
  return lfdiFromCertificate(new Uint8Array(Buffer.from(match[1].replace(/\s+/g, ''), 'base64')));
}

function asGridseamError(error: unknown): GridseamError {
  if (error instanceof GridseamError) return error;
  return new GridseamError('GW_ERR_INTERNAL', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

const CONTROL_TYPE_ORDER = new Map<ControlType, number>(CONTROL_TYPES.map((type, index) => [type, index]));

export function createSepClient(options: SepClientOptions, deps: SepClientDeps = {}): SepClient {
  return new SepClientImpl(options, deps);
}

class SepClientImpl implements SepClient {
  readonly #options: SepClientOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #store: ClientStateStore;
  readonly #setTimer: (fn: () => void, ms: number) => () => void;
  readonly #log: NonNullable<SepClientDeps['log']>;
  readonly #telemetry: SepClientDeps['telemetry'];
  readonly #http: SepHttp;
  readonly #poller: ResourcePoller;
  readonly #lfdi: string;
  readonly #profile: 'csip' | 'csip-aus';
  readonly #listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();
  readonly #devices = new Map<string, DeviceState>();
  readonly #responses = new Map<string, ResponseRecordDoc>();
  readonly #offsets = new Map<string, RandomizationOffsets>();
  readonly #failed = new Set<string>();
  readonly #mups = new Map<string, string>();
  #clockOffset = 0;
  #nextDueAt = 0;
  #lastSuccessAt: number | undefined;
  #running: Promise<void> = Promise.resolve();
  #cancelTimer: (() => void) | undefined;
  #started = false;
  #stopped = false;
  readonly #receiver: NotificationReceiver | undefined;
  #subscriptions: SubscriptionManager | undefined;
  #pendingNotifications: Notification[] = [];
  #notificationsQueued = false;

  constructor(options: SepClientOptions, deps: SepClientDeps) {
    this.#options = options;
    this.#profile = options.profile ?? 'csip-aus';
    this.#now = deps.now ?? (() => Math.floor(Date.now() / 1000));
    this.#random = deps.random ?? Math.random;
    this.#store = deps.store ?? new MemoryClientStateStore();
    this.#log = deps.log ?? (() => undefined);
    this.#telemetry = deps.telemetry;
    this.#setTimer =
      deps.setTimer ??
      ((fn, ms) => {
        const handle = setTimeout(fn, Math.min(ms, 2_147_483_647));
        handle.unref?.();
        return () => clearTimeout(handle);
      });
    const lfdi = options.lfdi ?? (options.tls === undefined ? undefined : lfdiOfPem(certificateText(options.tls.cert)));
    if (lfdi === undefined || !/^[0-9a-fA-F]{40}$/.test(lfdi)) {
      throw new GridseamError('GW_ERR_CONFIG', 'the client needs its LFDI (40 hex digits) or a TLS certificate');
    }
    this.#lfdi = lfdi.toLowerCase();
    let transport = deps.transport;
    if (transport === undefined) {
      if (options.tls === undefined) throw new GridseamError('GW_ERR_CONFIG', 'the client needs tls or a transport');
      transport = createHttpsTransport(options.tls);
    }
    this.#http = new SepHttp(options.dcapUrl, transport, {
      ...(options.csipausVersion === undefined ? {} : { csipaus: options.csipausVersion }),
    });
    const dcapUrl = new URL(options.dcapUrl);
    this.#poller = new ResourcePoller(this.#http, {
      dcapHref: dcapUrl.pathname + dcapUrl.search,
      lfdi: this.#lfdi,
      mode: options.mode,
      ...(options.endDeviceLfdis === undefined ? {} : { endDeviceLfdis: options.endDeviceLfdis }),
      ...(options.pin === undefined ? {} : { pin: options.pin }),
      ...(options.connectionPointId === undefined ? {} : { connectionPointId: options.connectionPointId }),
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      ...(options.registration === undefined ? {} : { registration: options.registration }),
      ...(options.minPollSeconds === undefined ? {} : { minPollSeconds: options.minPollSeconds }),
      ...(options.maxPollSeconds === undefined ? {} : { maxPollSeconds: options.maxPollSeconds }),
    });
    const notifications = options.notifications;
    if (notifications !== undefined) {
      const limit = notifications.limit ?? 10;
      if (!Number.isInteger(limit) || limit < 1 || limit > 65_535)
        throw new GridseamError('GW_ERR_CONFIG', 'notifications.limit must be a whole number from 1 to 65535');
      if (notifications.plainHttp !== true && options.tls === undefined)
        throw new GridseamError('GW_ERR_CONFIG', 'the notification receiver needs tls (or plainHttp)');
      this.#receiver = new NotificationReceiver(
        {
          host: notifications.listen.host,
          port: notifications.listen.port,
          ...(notifications.plainHttp === true || options.tls === undefined
            ? {}
            : { tls: { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca } }),
          ...(notifications.maxBodyBytes === undefined ? {} : { maxBodyBytes: notifications.maxBodyBytes }),
        },
        (notification) => this.#onNotification(notification),
      );
    }
  }

  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    const set = this.#listeners.get(event) ?? new Set();
    set.add(listener as Listener<never>);
    this.#listeners.set(event, set);
    return () => set.delete(listener as Listener<never>);
  }

  #emit<K extends keyof ClientEvents>(event: K, value: ClientEvents[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as Listener<ClientEvents[K]>)(value);
      } catch (error) {
        this.#log('error', `a ${event} listener threw`, { error: String(error) });
      }
    }
  }

  clockOffset(): number {
    return this.#clockOffset;
  }

  endDevices(): EndDeviceRef[] {
    return [...this.#devices.values()].map((device) => device.ref);
  }

  subscriptions(): SubscriptionRecordDoc[] {
    return this.#subscriptions?.list() ?? [];
  }

  controls(): ControlsUpdate[] {
    return [...this.#devices.values()].flatMap((device) => (device.last === undefined ? [] : [device.last]));
  }

  programEvents(endDeviceLfdi: string): ProgramEventDraft[] {
    const device = this.#devices.get(endDeviceLfdi.toLowerCase());
    if (device === undefined) return [];
    const setMaxW = this.#options.setMaxW?.(device.ref.lfdi);
    const out: ProgramEventDraft[] = [];
    for (const known of device.known) {
      const event = programEventFromControl(known.control, {
        programId: known.programHref,
        primacy: known.primacy,
        clockOffset: this.#clockOffset,
        now: this.#now(),
        ...(setMaxW === undefined ? {} : { setMaxW }),
      });
      if (event !== undefined) out.push(event);
    }
    return out;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const records = await this.#load();
    await this.#startReceiver(records);
    // Re-apply the last known schedule before the server answers (kill -9 / restart).
    if (this.#devices.size > 0) await this.#evaluateAll(false);
    await this.sync({ force: true });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    await this.#running.catch(() => undefined);
    await this.#receiver?.close();
    this.#http.close();
  }

  sync(options: { force?: boolean } = {}): Promise<void> {
    const run = this.#running.then(() => this.#cycle(options.force === true));
    this.#running = run.catch(() => undefined);
    return run;
  }

  // -------------------------------------------------------------------------------------------------------------

  /** Starts the Notification receiver; without it (it cannot listen) the client polls only. */
  async #startReceiver(records: Awaited<ReturnType<ClientStateStore['load']>>): Promise<void> {
    const receiver = this.#receiver;
    const notifications = this.#options.notifications;
    if (receiver === undefined || notifications === undefined) return;
    try {
      const bound = await receiver.listen();
      const uri =
        typeof notifications.publicUri === 'string' ? notifications.publicUri : notifications.publicUri(bound);
      const manager = new SubscriptionManager(this.#http, this.#store, {
        notificationURI: uri,
        limit: notifications.limit ?? 10,
        pageSize: this.#options.pageSize ?? 10,
      });
      manager.load(records);
      this.#subscriptions = manager;
    } catch (error) {
      this.#log('error', '2030.5 notifications are off: the receiver could not start', { error: String(error) });
      this.#emit('error', asGridseamError(error));
    }
  }

  #onNotification(notification: Notification): void {
    if (this.#stopped || this.#subscriptions === undefined) return;
    // Bounded: a flood is coalesced into one re-fetch, and polling catches up with anything dropped.
    if (this.#pendingNotifications.length < 1000) this.#pendingNotifications.push(notification);
    if (this.#notificationsQueued) return;
    this.#notificationsQueued = true;
    const run = this.#running.then(() => this.#applyNotifications());
    this.#running = run.catch(() => undefined);
    run.catch((error) => this.#emit('error', asGridseamError(error)));
  }

  /** Re-fetches what the Notifications name (all of it when a subscription ended), then evaluates and responds. */
  async #applyNotifications(): Promise<void> {
    this.#notificationsQueued = false;
    const batch = this.#pendingNotifications.splice(0);
    const manager = this.#subscriptions;
    if (this.#stopped || manager === undefined) return;
    let refresh = false;
    let everything = false;
    for (const notification of batch) {
      try {
        const action = await manager.notified(notification);
        if (action.kind === 'refresh') {
          this.#poller.invalidate(action.resource);
          refresh = true;
        } else if (action.kind === 'resubscribe') everything = true;
      } catch (error) {
        this.#emit('error', asGridseamError(error));
      }
    }
    if (!refresh && !everything) return;
    if (everything) this.#poller.invalidate();
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    await this.#poll(this.#now());
    await this.#evaluateAll(true);
    this.#schedule();
  }

  async #reconcileSubscriptions(result: DiscoveryResult): Promise<void> {
    const manager = this.#subscriptions;
    if (manager === undefined) return;
    const sets = result.endDevices.map((device) => ({
      endDeviceHref: device.href,
      resources: device.subscribable,
      ...(device.subscriptionListHref === undefined ? {} : { subscriptionListHref: device.subscriptionListHref }),
    }));
    try {
      const failures = await manager.reconcile(sets, result.failures.length === 0);
      for (const failure of failures) this.#emit('error', failure);
    } catch (error) {
      this.#emit('error', asGridseamError(error));
    }
  }

  async #load(): Promise<Awaited<ReturnType<ClientStateStore['load']>>> {
    const records = await this.#store.load();
    for (const record of records) {
      if (record.kind === 'response') {
        const doc = record.doc as ResponseRecordDoc;
        this.#responses.set(record.id, doc);
        if (doc.status >= 8 && doc.status !== 11 && doc.status !== 12)
          this.#failed.add(`${doc.endDeviceLfdi}:${doc.mRID}`);
      } else if (record.kind === 'offsets') {
        this.#offsets.set(record.id, record.doc as RandomizationOffsets);
      } else if (record.kind === 'snapshot') {
        const doc = record.doc as SnapshotDoc;
        this.#devices.set(doc.ref.lfdi, {
          ref: doc.ref,
          programs: doc.programs,
          ders: [],
          known: doc.known,
          defaults: defaultsOf(doc.programs),
        });
        this.#lastSuccessAt = Math.max(this.#lastSuccessAt ?? 0, doc.savedAt);
        this.#clockOffset = doc.clockOffset;
      }
    }
    return records;
  }

  async #cycle(force: boolean): Promise<void> {
    if (this.#stopped) return;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const now = this.#now();
    if (force) this.#poller.invalidate();
    if (force || now >= this.#nextDueAt) await this.#poll(now);
    await this.#evaluateAll(true);
    await this.#postTelemetry();
    this.#schedule();
  }

  async #poll(now: number): Promise<void> {
    const retry = this.#options.retrySeconds ?? 60;
    let result: DiscoveryResult;
    try {
      result = await this.#poller.walk(now);
    } catch (error) {
      const failure = asGridseamError(error);
      this.#nextDueAt = now + retry;
      this.#emit('poll', { at: now, ok: false, failures: [failure], requests: 0 });
      this.#emit('error', failure);
      return;
    }
    this.#clockOffset = result.clockOffset;
    const ok = result.failures.length === 0;
    this.#nextDueAt = ok ? result.nextDueAt : Math.min(result.nextDueAt, now + retry);
    const unreachable = result.failures.some((failure) => failure.code === 'GW_ERR_DEVICE_UNREACHABLE');
    if (!unreachable && result.requests > 0) this.#lastSuccessAt = now;
    const serverNow = now + this.#clockOffset;
    const changes: ClientStateChange[] = [];
    const seen = new Set<string>();
    for (const discovered of result.endDevices) {
      const ref: EndDeviceRef = { href: discovered.href, lfdi: discovered.lfdi, sfdi: discovered.sfdi };
      seen.add(ref.lfdi);
      const device: DeviceState = this.#devices.get(ref.lfdi) ?? {
        ref,
        programs: [],
        ders: [],
        known: [],
        defaults: [],
      };
      device.ref = ref;
      device.programs = discovered.programs;
      device.ders = discovered.ders;
      device.defaults = defaultsOf(discovered.programs);
      if (discovered.postRate !== undefined) device.postRate = discovered.postRate;
      device.known = mergeKnown(device.known, controlsOf(discovered.programs), serverNow, (mRID) =>
        this.#terminalSent(ref.lfdi, mRID),
      );
      this.#devices.set(ref.lfdi, device);
      for (const known of device.known) {
        const id = offsetsRecordId(ref.lfdi, known.control.mRID);
        if (this.#offsets.has(id)) continue;
        const offsets = drawRandomization(known.control, this.#random);
        this.#offsets.set(id, offsets);
        changes.push({ kind: 'offsets', id, doc: offsets });
      }
      const snapshot: SnapshotDoc = {
        ref,
        programs: discovered.programs.map((program) => ({ ...program, curves: [] })),
        known: device.known,
        savedAt: this.#lastSuccessAt ?? now,
        clockOffset: this.#clockOffset,
      };
      changes.push({ kind: 'snapshot', id: ref.lfdi, doc: snapshot });
    }
    // EndDevices no longer listed (after a poll that reached the list) are dropped.
    if (!unreachable) {
      for (const lfdi of [...this.#devices.keys()]) {
        if (!seen.has(lfdi)) {
          this.#devices.delete(lfdi);
          changes.push({ kind: 'snapshot', id: lfdi, doc: null });
        }
      }
    }
    if (changes.length > 0) {
      try {
        await this.#store.write(changes);
      } catch (error) {
        this.#emit('error', asGridseamError(error));
      }
    }
    this.#emit('poll', { at: now, ok, failures: result.failures, requests: result.requests });
    for (const failure of result.failures) this.#emit('error', failure);
    await this.#reconcileSubscriptions(result);
  }

  #terminalSent(lfdi: string, mRID: string): boolean {
    const key = mRID.toLowerCase();
    return (
      this.#failed.has(`${lfdi}:${key}`) ||
      [3, 6, 7].some((status) => {
        const doc = this.#responses.get(responseRecordId(lfdi, key, status));
        return doc !== undefined && doc.state !== 'pending';
      })
    );
  }

  #commsLost(now: number): boolean {
    const limit = this.#options.commsLossFallbackSeconds;
    if (limit === undefined) return false;
    return this.#lastSuccessAt === undefined || now - this.#lastSuccessAt >= limit;
  }

  #nextChangeAt: number | undefined;

  async #evaluateAll(respond: boolean): Promise<void> {
    const now = this.#now();
    const serverNow = now + this.#clockOffset;
    const commsLost = this.#commsLost(now);
    this.#nextChangeAt = undefined;
    for (const device of this.#devices.values()) {
      const lfdi = device.ref.lfdi;
      const offsets = new Map<string, RandomizationOffsets>();
      const sent = new Set<string>();
      const failed = new Set<string>();
      for (const known of device.known) {
        const mRID = known.control.mRID.toLowerCase();
        const drawn = this.#offsets.get(offsetsRecordId(lfdi, mRID));
        if (drawn !== undefined) offsets.set(mRID, drawn);
        if (this.#failed.has(`${lfdi}:${mRID}`)) failed.add(mRID);
      }
      for (const doc of this.#responses.values()) {
        if (doc.endDeviceLfdi === lfdi && doc.state !== 'pending') {
          sent.add(responseKey(doc.mRID, doc.status as ControlResponseStatus));
        }
      }
      const { schedule, due } = evaluate({
        known: device.known,
        defaults: device.defaults,
        now: serverNow,
        offsets,
        sent,
        failed,
        commsLost,
      });
      if (schedule.nextChangeAt !== undefined) {
        const local = schedule.nextChangeAt - this.#clockOffset;
        this.#nextChangeAt = this.#nextChangeAt === undefined ? local : Math.min(this.#nextChangeAt, local);
      }
      const update = this.#update(
        device,
        now,
        serverNow,
        commsLost,
        schedule.byType,
        schedule.active,
        schedule.windows,
      );
      const key = JSON.stringify([update.commsLost, update.byType, update.active]);
      device.last = update;
      if (key !== device.lastKey) {
        device.lastKey = key;
        this.#emit('controls', update);
      }
      if (respond && !commsLost) await this.#respond(device, due);
    }
  }

  #update(
    device: DeviceState,
    now: number,
    serverNow: number,
    commsLost: boolean,
    byType: Partial<Record<ControlType, ControlTypeResolution>>,
    active: string[],
    windows: ReadonlyMap<string, { start: number; end: number }>,
  ): ControlsUpdate {
    const primacyOf = new Map(device.programs.map((program) => [program.href, program.primacy]));
    const setMaxW = this.#options.setMaxW?.(device.ref.lfdi);
    const setpoints: ActiveSetpoint[] = [];
    const unsupported: ControlType[] = [];
    const types = (Object.keys(byType) as ControlType[]).sort(
      (a, b) => (CONTROL_TYPE_ORDER.get(a) ?? 0) - (CONTROL_TYPE_ORDER.get(b) ?? 0),
    );
    for (const type of types) {
      const resolution = byType[type];
      if (resolution === undefined) continue;
      const signal = signalFor(type, resolution.value, setMaxW === undefined ? {} : { setMaxW });
      if (signal === undefined) {
        unsupported.push(type);
        continue;
      }
      const { source } = resolution;
      const setpoint: ActiveSetpoint = {
        ...signal,
        source: {
          kind: source.kind === 'control' ? 'program' : 'default',
          programHref: source.programId,
          primacy: primacyOf.get(source.programId) ?? 0,
          ...(source.mRID === undefined ? {} : { ref: source.mRID }),
        },
      };
      if (source.kind === 'control') {
        const window = windows.get(source.mRID);
        if (window !== undefined) setpoint.until = window.end - this.#clockOffset;
      }
      setpoints.push(setpoint);
    }
    return { endDevice: device.ref, at: now, serverTime: serverNow, commsLost, byType, setpoints, unsupported, active };
  }

  #replyTo(device: DeviceState, mRID: string): string | undefined {
    const known = device.known.find((entry) => entry.control.mRID.toLowerCase() === mRID);
    return known?.control.replyTo;
  }

  async #respond(device: DeviceState, due: ReadonlyArray<{ mRID: string; status: number }>): Promise<void> {
    for (const response of due) {
      const ok = await this.#sendResponse(device, response.mRID, response.status);
      if (!ok) return; // keep the order: nothing after a Response that could not be delivered
    }
  }

  /** Record intent, post, mark sent. Returns false when the server could not be reached. */
  async #sendResponse(device: DeviceState, mRID: string, status: number): Promise<boolean> {
    const lfdi = device.ref.lfdi;
    const id = responseRecordId(lfdi, mRID, status);
    const existing = this.#responses.get(id);
    if (existing !== undefined && existing.state !== 'pending') return true;
    const allowed = this.#options.responseStatuses;
    const replyTo = existing?.replyTo ?? this.#replyTo(device, mRID);
    const now = this.#now();
    if ((allowed !== undefined && !allowed.includes(status)) || replyTo === undefined) {
      const reason = replyTo === undefined ? 'the control has no replyTo' : `status ${status} is not accepted here`;
      const doc: ResponseRecordDoc = {
        endDeviceLfdi: lfdi,
        mRID,
        status,
        replyTo: replyTo ?? '',
        state: 'rejected',
        at: now,
        reason,
      };
      await this.#persistResponse(id, doc);
      return true;
    }
    const pending: ResponseRecordDoc = { endDeviceLfdi: lfdi, mRID, status, replyTo, state: 'pending', at: now };
    if (existing === undefined && !(await this.#persistResponse(id, pending))) return false;
    try {
      await this.#http.post(replyTo, 'DERControlResponse', {
        createdDateTime: now + this.#clockOffset,
        endDeviceLFDI: lfdi,
        status,
        subject: mRID,
      });
      await this.#persistResponse(id, { ...pending, state: 'sent', at: this.#now() });
      return true;
    } catch (error) {
      const failure = asGridseamError(error);
      this.#emit('error', failure);
      if (failure.code === 'GW_ERR_DEVICE_REJECTED' || failure.code === 'GW_ERR_NOT_FOUND') {
        await this.#persistResponse(id, { ...pending, state: 'rejected', at: this.#now(), reason: failure.message });
        return true;
      }
      return false;
    }
  }

  async #persistResponse(id: string, doc: ResponseRecordDoc): Promise<boolean> {
    try {
      await this.#store.write([{ kind: 'response', id, doc }]);
      this.#responses.set(id, doc);
      return true;
    } catch (error) {
      this.#emit('error', asGridseamError(error));
      return false;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const now = this.#now();
    let at = this.#nextDueAt;
    if (this.#nextChangeAt !== undefined) at = Math.min(at, this.#nextChangeAt);
    const limit = this.#options.commsLossFallbackSeconds;
    if (limit !== undefined && this.#lastSuccessAt !== undefined && !this.#commsLost(now)) {
      at = Math.min(at, this.#lastSuccessAt + limit);
    }
    for (const device of this.#devices.values())
      if (device.nextPostAt !== undefined) at = Math.min(at, device.nextPostAt);
    const delayMs = Math.max(1000, (at - now) * 1000);
    this.#cancelTimer = this.#setTimer(() => {
      this.sync().catch((error) => this.#emit('error', asGridseamError(error)));
    }, delayMs);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Outcomes and reports
  // -------------------------------------------------------------------------------------------------------------

  async reportOutcome(mRID: string, outcome: ControlOutcome, endDeviceLfdi?: string): Promise<void> {
    const status = typeof outcome === 'number' ? outcome : OUTCOME_STATUS[outcome];
    if (status === undefined || !Number.isInteger(status) || status < 1 || status > 255) {
      throw new GridseamError('GW_ERR_VALIDATION', `not a Response status: ${String(outcome)}`);
    }
    const key = mRID.toLowerCase();
    const targets = [...this.#devices.values()].filter(
      (device) =>
        (endDeviceLfdi === undefined || device.ref.lfdi === endDeviceLfdi.toLowerCase()) &&
        device.known.some((known) => known.control.mRID.toLowerCase() === key),
    );
    if (targets.length === 0) throw new GridseamError('GW_ERR_NOT_FOUND', `no known DERControl ${mRID}`);
    const run = this.#running.then(async () => {
      for (const device of targets) {
        // Failure outcomes (8..10, 13, 14, 252..254, opt-out 4) end the control's responses.
        if (status === 4 || (status >= 8 && status <= 10) || status >= 13)
          this.#failed.add(`${device.ref.lfdi}:${key}`);
        await this.#sendResponse(device, key, status);
      }
    });
    this.#running = run.catch(() => undefined);
    return run;
  }

  #device(endDeviceLfdi: string): DeviceState {
    const device = this.#devices.get(endDeviceLfdi.toLowerCase());
    if (device === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `no EndDevice ${endDeviceLfdi} discovered`);
    return device;
  }

  async putDerReports(endDeviceLfdi: string, reports: DerReportsInput, derIndex = 0): Promise<void> {
    const device = this.#device(endDeviceLfdi);
    const listed = device.ders[derIndex];
    if (listed === undefined)
      throw new GridseamError('GW_ERR_NOT_FOUND', `EndDevice ${endDeviceLfdi} has no DER ${derIndex}`);
    let der: DER = listed.der;
    if (der.DERCapabilityLink === undefined && der.DERStatusLink === undefined)
      der = await this.#http.get(listed.href, 'DER');
    const context = { profile: this.#profile };
    const put = async <N extends 'DERCapability' | 'DERSettings' | 'DERStatus' | 'DERAvailability'>(
      link: { href: string } | undefined,
      name: N,
      body: Parameters<SepHttp['put']>[2] & object,
    ) => {
      if (link === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `the DER links no ${name}`);
      await this.#http.put(link.href, name, body as never);
    };
    if (reports.capability)
      await put(der.DERCapabilityLink, 'DERCapability', derCapabilityFrom(reports.capability, context));
    if (reports.settings) await put(der.DERSettingsLink, 'DERSettings', derSettingsFrom(reports.settings, context));
    if (reports.status) await put(der.DERStatusLink, 'DERStatus', derStatusFrom(reports.status));
    if (reports.availability)
      await put(der.DERAvailabilityLink, 'DERAvailability', derAvailabilityFrom(reports.availability));
  }

  #postRate(device: DeviceState): number {
    return device.postRate ?? this.#options.defaultPostRate ?? 300;
  }

  async #mirror(device: DeviceState, role: MirrorRole): Promise<string> {
    const key = `${device.ref.lfdi}:${role}`;
    const known = this.#mups.get(key);
    if (known !== undefined) return known;
    const listHref = this.#http.pathOf(this.#poller.mirrorUsagePointListHref ?? '/mup');
    const reply = await this.#http.post(
      listHref,
      'MirrorUsagePoint',
      mirrorUsagePointFrom({
        endDeviceLfdi: device.ref.lfdi,
        role,
        pen: this.#options.pen ?? 0,
        intervalLength: this.#postRate(device),
      }),
    );
    if (reply.location === undefined) {
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', 'the server created a MirrorUsagePoint without a Location', {
        details: { peer: 'utility' },
      });
    }
    this.#mups.set(key, reply.location);
    return reply.location;
  }

  async postReadings(endDeviceLfdi: string, readings: ReadingsInput): Promise<void> {
    const device = this.#device(endDeviceLfdi);
    const duration = readings.duration ?? this.#postRate(device);
    const start = (readings.start ?? this.#now() - duration) + this.#clockOffset;
    for (const role of ['site', 'der'] as const) {
      const measurements = readings[role];
      if (measurements === undefined) continue;
      const mmrs = mirrorReadingsFrom({
        endDeviceLfdi: device.ref.lfdi,
        role,
        pen: this.#options.pen ?? 0,
        start,
        duration,
        measurements,
      });
      if (mmrs.length === 0) continue;
      const href = await this.#mirror(device, role);
      await this.#http.post(href, 'MirrorMeterReadingList', {
        all: mmrs.length,
        results: mmrs.length,
        MirrorMeterReading: mmrs,
      });
    }
  }

  async #postTelemetry(): Promise<void> {
    const source = this.#telemetry;
    if (source === undefined) return;
    const now = this.#now();
    for (const device of this.#devices.values()) {
      if (device.nextPostAt !== undefined && now < device.nextPostAt) continue;
      device.nextPostAt = now + this.#postRate(device);
      try {
        const readings = await source(device.ref);
        if (readings !== undefined) await this.postReadings(device.ref.lfdi, readings);
      } catch (error) {
        this.#emit('error', asGridseamError(error));
      }
    }
  }
}
