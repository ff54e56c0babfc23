/**
 * The OpenADR 2.0b VEN (simple HTTP pull): `createVen2b(options)`.
 *
 * Life cycle (OpenADR 2.0b Profile Specification §8.1 EiRegisterParty, §8.2 EiEvent, §8.3 EiReport, §8.4 EiOpt,
 * §9.1 OadrPoll), one stage after the other, each retried with back-off until it succeeds:
 * 1. registration: oadrQueryRegistration -> oadrCreatedPartyRegistration (profiles, poll frequency), then
 *    oadrCreatePartyRegistration (with the stored registrationID when re-registering) -> venID, registrationID,
 *    vtnID and oadrRequestedOadrPollFreq, persisted;
 * 2. reports: oadrRegisterReport with the VEN's metadata (reportRequestID 0, rule 311) -> oadrRegisteredReport;
 *    its oadrReportRequests are answered with oadrCreatedReport (pending reports) and then run: samples from the
 *    telemetry source every granularity, an oadrUpdateReport every reportBackDuration;
 * 3. events: oadrRequestEvent -> oadrDistributeEvent (the VTN's current events);
 * 4. oadrPoll at the VTN's frequency (or `pollSeconds`), again at once while the VTN has something queued:
 *    oadrDistributeEvent, oadrCreateReport, oadrCancelReport, oadrRegisterReport, oadrUpdateReport,
 *    oadrRequestReregistration (oadrResponse, then register again), oadrCancelPartyRegistration
 *    (oadrCanceledPartyRegistration; the VEN stays unregistered until `register()` or a restart).
 *
 * Events: each new event or new modificationNumber is decided once (an opt-out schedule covering it, else an
 * earlier per-event opt, else `decideOpt`, else optIn) and, when oadrResponseRequired is 'always', answered with
 * one oadrCreatedEvent eventResponse, recorded in the state store before it is sent and marked sent when the VTN
 * acknowledged it (never answered twice, also across restarts; `answerRepeats` re-sends the recorded answer
 * when a VTN distributes an unchanged modification again, as OpenLEADR's VEN does). Status far / near / active /
 * completed / cancelled is tracked locally (events.ts); an event missing from a later distribution counts as
 * cancelled (`implicitCancel`, as the EPRI VEN does). Listeners get every change (`on('events')`).
 *
 * EiOpt: `createOptSchedule` (oadrCreateOpt with xcal:vavailability; optOut windows opt out the events they
 * overlap), `optEvent` (oadrCreateOpt with a qualifiedEventID), `cancelOpt` (oadrCancelOpt). Opts are persisted
 * and re-sent until the VTN answered.
 *
 * XML signatures (Profile Specification §10.2): outgoing messages are signed when `signing` is configured and
 * the registration says so (oadrXmlSignature); a signed answer is verified against `verification.trustedCerts`
 * (and an unsigned one refused when `requireSignatures`).
 *
 * Failures never crash the VEN: a transport failure, an HTTP error, an unparsable or hostile answer or an
 * eiResponse code other than 200 are reported on `on('error')` and the stage is retried after a back-off
 * (retrySeconds doubling up to maxRetrySeconds, with jitter); 463 (not registered) on a poll re-registers.
 */
import { randomUUID } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import { emitOadr, parseOadrEnvelope, signOadr, verifyOadr } from '../codec/index.ts';
import type {
  EiResponse,
  EventStatus,
  OadrCancelPartyRegistration,
  OadrCancelReport,
  OadrDistributeEvent,
  OadrEvent,
  OadrMessage,
  OadrMessageOf,
  OadrMessageType,
  OadrReport,
  OadrServiceName,
  OptReason,
  OptType,
  ReportRequest,
} from '../codec/types.ts';
import {
  drawStartOffset,
  effectiveEnd,
  eventStatusAt,
  isTestEvent,
  nextStatusChange,
  overlapsWindows,
  type VenEventStatus,
} from './events.ts';
import {
  type AcceptedReportRequest,
  checkReportRequest,
  isOneShot,
  metadataReports,
  type SampledInterval,
  samplePeriodS,
  samplesPerReport,
  updateReport,
  type Ven2bReportMetadata,
  type Ven2bTelemetrySource,
} from './reports.ts';
import {
  MemoryVen2bStateStore,
  type OffsetDoc,
  type OptDoc,
  type OptWindow,
  REGISTRATION_RECORD_ID,
  type RegistrationDoc,
  type ResponseDoc,
  type Ven2bStateChange,
  type Ven2bStateStore,
} from './state.ts';
import { createVen2bHttpTransport, type Ven2bTlsOptions, type Ven2bTransport } from './transport.ts';

const OK = 200;
/** 2.0b response codes the VEN acts on. */
const INVALID_ID = 452;
const NOT_REGISTERED_OR_AUTHORIZED = 463;
/** Messages taken from the VTN in one go before waiting for the next poll. */
const MAX_POLL_BATCH = 32;
/** Bounds against a hostile or broken VTN. */
const MAX_EVENTS = 10_000;
const MAX_REPORT_REQUESTS = 256;
const MAX_BUFFERED_INTERVALS = 1000;
/** Largest VTN answer parsed, bytes (a distribution of many events is the big one). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** An ended event the VTN no longer distributes is forgotten after this long, ms. */
const KEEP_ENDED_MS = 3_600_000;
/** An answer to an event the VTN no longer distributes is forgotten after this long, ms (7 days). */
const KEEP_RECORDS_MS = 7 * 86_400_000;
const MIN_POLL_S = 0.05;
export const DEFAULT_POLL_SECONDS = 10;
export const DEFAULT_RETRY_SECONDS = 5;
export const DEFAULT_MAX_RETRY_SECONDS = 300;

export type Ven2bLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Ven2bOptions {
  /** The VTN's base URL (the 2.0b path /OpenADR2/Simple/2.0b/{service} is appended). */
  vtnUrl: string;
  /** oadrVenName. */
  venName: string;
  /** A venID assigned out of band; normally the VTN assigns one at registration. */
  venId?: string;
  /** Mutual TLS (required for https URLs unless `transport` is given). */
  tls?: Ven2bTlsOptions;
  /** Tests and other transports. */
  transport?: Ven2bTransport;
  /** Per request, ms (HTTP transport). Default 15000. */
  timeoutMs?: number;
  /** Persistence; default in memory (a restart forgets everything). */
  store?: Ven2bStateStore;
  /** Overrides the VTN's oadrRequestedOadrPollFreq, seconds. */
  pollSeconds?: number;
  /** Poll period when the VTN gives none, seconds. Default 10. */
  defaultPollSeconds?: number;
  retrySeconds?: number;
  maxRetrySeconds?: number;
  /** Sign every outgoing message with this key and certificate (PEM). */
  signing?: { key: string; cert: string };
  /** Verify signed answers against these PEM certificates; refuse unsigned ones when requireSignatures. */
  verification?: {
    trustedCerts: readonly string[];
    requireSignatures?: boolean;
    /** Refuse a ReplayProtect timestamp further than this from now, seconds. Default: not checked. */
    maxAgeSeconds?: number;
  };
  /** The VEN's metadata reports (METADATA_TELEMETRY_USAGE, METADATA_TELEMETRY_STATUS, ...). */
  reports?: readonly Ven2bReportMetadata[];
  /** Values for the reports the VTN requested. */
  telemetry?: Ven2bTelemetrySource;
  /** optIn or optOut for a new event or modification; default optIn. A throw opts out. */
  decideOpt?: (event: Ven2bEvent) => OptType | Promise<OptType>;
  /** Re-send the recorded answer when an unchanged modification is distributed again. Default false. */
  answerRepeats?: boolean;
  /** An event missing from a later oadrDistributeEvent counts as cancelled. Default true. */
  implicitCancel?: boolean;
  /** oadrReportOnly in the registration. Default false. */
  reportOnly?: boolean;
  now?: () => number;
  random?: () => number;
  log?: (level: Ven2bLogLevel, message: string, details?: Record<string, unknown>) => void;
}

export interface Ven2bRegistration {
  venId: string;
  registrationId: string;
  vtnId: string;
  /** The poll period in use, seconds. */
  pollSeconds: number;
}

/** What the VEN knows about one event. */
export interface Ven2bEvent {
  eventId: string;
  modificationNumber: number;
  marketContext: string;
  /** The latest version the VTN sent. */
  event: OadrEvent;
  /** ei:eventStatus as the VTN last sent it ('cancelled' too when it vanished from a distribution). */
  vtnStatus: EventStatus;
  /** Status now, from the window, the randomisation offset and the VTN. */
  status: VenEventStatus;
  /** The opt in force: an opt-out schedule or a per-event opt wins over the answer to the event. */
  optType: OptType;
  optSource: 'response' | 'opt' | 'schedule';
  /** The answer to the event (the decision for its current modification). */
  answered: OptType;
  /** Start randomisation drawn for this event, seconds. */
  startOffsetS: number;
  testEvent: boolean;
  implicitlyCancelled: boolean;
}

export interface Ven2bReportRun {
  reportRequestId: string;
  reportSpecifierId: string;
  rIds: readonly string[];
  granularityS: number;
  reportBackS: number;
}

export interface Ven2bReportSent extends Ven2bReportRun {
  intervals: number;
  at: number;
  /** The oadrReport sent in the oadrUpdateReport. */
  report: OadrReport;
  /** The VTN's oadrUpdatedReport ei:eiResponse. */
  answer: { responseCode: number; responseDescription?: string };
}

export interface Ven2bExchange {
  service: OadrServiceName;
  sent: OadrMessageType;
  received: OadrMessageType;
}

export interface OptScheduleInput {
  optType: OptType;
  optReason: OptReason;
  marketContext?: string;
  resourceIds?: readonly string[];
  windows: readonly OptWindow[];
}

export interface Ven2bListeners {
  events: (changed: readonly Ven2bEvent[]) => void;
  registration: (registration: Ven2bRegistration | undefined) => void;
  report: (sent: Ven2bReportSent) => void;
  error: (error: GridseamError) => void;
  exchange: (exchange: Ven2bExchange) => void;
}

export interface Ven2b {
  /** Loads the state, runs the first cycle (registration...) and keeps polling; never rejects on VTN trouble. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One cycle now: register if needed, re-send pending answers, poll until the VTN has nothing queued. */
  pollNow(): Promise<void>;
  /** Registers again after a cancellation (the next cycle does the work). */
  register(): Promise<void>;
  /** oadrCancelPartyRegistration; the VEN then stays unregistered until `register()`. */
  cancelRegistration(): Promise<void>;
  registration(): Ven2bRegistration | undefined;
  events(): Ven2bEvent[];
  event(eventId: string): Ven2bEvent | undefined;
  reportRuns(): Ven2bReportRun[];
  opts(): OptDoc[];
  /** oadrCreateOpt with an availability schedule; resolves once persisted and tried (state 'pending' if the VTN was unreachable). */
  createOptSchedule(input: OptScheduleInput): Promise<OptDoc>;
  /** oadrCreateOpt on one event (its current modification). */
  optEvent(eventId: string, optType: OptType, optReason?: OptReason): Promise<OptDoc>;
  /** oadrCancelOpt. */
  cancelOpt(optId: string): Promise<void>;
  on<K extends keyof Ven2bListeners>(name: K, listener: Ven2bListeners[K]): () => void;
}

export function createVen2b(options: Ven2bOptions): Ven2b {
  return new Ven2bImpl(options);
}

type Stage = 'unregistered' | 'reports' | 'events' | 'ready' | 'cancelled';

interface EventEntry {
  event: OadrEvent;
  vtnStatus: EventStatus;
  status: VenEventStatus;
  answered: OptType;
  offsetS: number;
  implicitlyCancelled: boolean;
  /** Seen in the latest distribution. */
  present: boolean;
  /** Last view emitted, to emit changes only. */
  emitted?: string;
}

interface ActiveReport {
  request: AcceptedReportRequest;
  buffer: SampledInterval[];
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

function asGridseamError(error: unknown, fallback: string): GridseamError {
  if (GridseamError.is(error)) return error;
  return new GridseamError(
    'GW_ERR_DEVICE_PROTOCOL',
    `${fallback}: ${error instanceof Error ? error.message : String(error)}`,
    {
      details: { peer: 'vtn' },
      cause: error,
    },
  );
}

class Ven2bImpl implements Ven2b {
  readonly #options: Ven2bOptions;
  readonly #store: Ven2bStateStore;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #listeners = new Map<keyof Ven2bListeners, Set<(...args: never[]) => void>>();
  #transport: Ven2bTransport | undefined;
  #registration: RegistrationDoc | undefined;
  #stage: Stage = 'unregistered';
  readonly #events = new Map<string, EventEntry>();
  readonly #responses = new Map<string, ResponseDoc>();
  readonly #offsets = new Map<string, OffsetDoc>();
  readonly #opts = new Map<string, OptDoc>();
  readonly #reports = new Map<string, ActiveReport>();
  #metadataDue = false;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #running = false;
  #loaded = false;

  constructor(options: Ven2bOptions) {
    this.#options = options;
    this.#store = options.store ?? new MemoryVen2bStateStore();
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  // ------------------------------------------------------------------ public

  on<K extends keyof Ven2bListeners>(name: K, listener: Ven2bListeners[K]): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    const entry = listener as unknown as (...args: never[]) => void;
    set.add(entry);
    return () => set.delete(entry);
  }

  async start(): Promise<void> {
    if (this.#running) return;
    if (!this.#loaded) await this.#load();
    this.#transport ??=
      this.#options.transport ??
      createVen2bHttpTransport({
        vtnUrl: this.#options.vtnUrl,
        ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
        ...(this.#options.timeoutMs === undefined ? {} : { timeoutMs: this.#options.timeoutMs }),
      });
    this.#running = true;
    await this.pollNow();
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#statusTimer !== undefined) clearTimeout(this.#statusTimer);
    this.#timer = undefined;
    this.#statusTimer = undefined;
    for (const active of this.#reports.values()) this.#halt(active);
    this.#reports.clear();
    await this.#chain;
    this.#transport?.close();
    this.#transport = undefined;
  }

  pollNow(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#exclusive(() => this.#cycle()).finally(() => this.#scheduleCycle());
  }

  register(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#stage === 'cancelled') this.#stage = 'unregistered';
    }).then(() => this.pollNow());
  }

  cancelRegistration(): Promise<void> {
    return this.#exclusive(async () => {
      const registration = this.#registration;
      if (registration === undefined) return;
      const message: OadrMessageOf<'oadrCancelPartyRegistration'> = {
        type: 'oadrCancelPartyRegistration',
        requestID: randomUUID(),
        registrationID: registration.registrationId,
        venID: registration.venId,
      };
      const answer = this.#expect(await this.#exchange('EiRegisterParty', message), 'oadrCanceledPartyRegistration');
      this.#checkResponse(answer.eiResponse, 'oadrCancelPartyRegistration');
      await this.#dropRegistration('the VEN cancelled its registration');
      this.#stage = 'cancelled';
    });
  }

  registration(): Ven2bRegistration | undefined {
    const registration = this.#registration;
    if (registration === undefined || this.#stage === 'unregistered' || this.#stage === 'cancelled') return undefined;
    return { ...registration, pollSeconds: this.#pollSeconds() };
  }

  events(): Ven2bEvent[] {
    return [...this.#events.entries()].map(([id, entry]) => this.#view(id, entry));
  }

  event(eventId: string): Ven2bEvent | undefined {
    const entry = this.#events.get(eventId);
    return entry === undefined ? undefined : this.#view(eventId, entry);
  }

  reportRuns(): Ven2bReportRun[] {
    return [...this.#reports.values()].map((active) => runOf(active.request));
  }

  opts(): OptDoc[] {
    return [...this.#opts.values()].map((doc) => structuredClone(doc));
  }

  async createOptSchedule(input: OptScheduleInput): Promise<OptDoc> {
    if (input.windows.length === 0)
      throw new GridseamError('GW_ERR_VALIDATION', 'an opt schedule needs at least one window');
    for (const window of input.windows)
      if (!Number.isFinite(window.start) || !(window.durationS > 0))
        throw new GridseamError('GW_ERR_VALIDATION', 'an opt window needs a start and a duration > 0');
    const doc: OptDoc = {
      optId: randomUUID(),
      optType: input.optType,
      optReason: input.optReason,
      ...(input.marketContext === undefined ? {} : { marketContext: input.marketContext }),
      ...(input.resourceIds === undefined || input.resourceIds.length === 0
        ? {}
        : { resourceIds: [...input.resourceIds] }),
      windows: input.windows.map((w) => ({ start: Math.round(w.start), durationS: Math.round(w.durationS) })),
      state: 'pending',
      createdAt: this.#now(),
      requestId: randomUUID(),
    };
    return this.#submitOpt(doc);
  }

  async optEvent(eventId: string, optType: OptType, optReason?: OptReason): Promise<OptDoc> {
    const entry = this.#events.get(eventId);
    if (entry === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `event ${eventId} is not known`);
    const doc: OptDoc = {
      optId: randomUUID(),
      optType,
      optReason: optReason ?? (optType === 'optOut' ? 'notParticipating' : 'participating'),
      marketContext: entry.event.eventDescriptor.marketContext,
      eventId,
      modificationNumber: entry.event.eventDescriptor.modificationNumber,
      state: 'pending',
      createdAt: this.#now(),
      requestId: randomUUID(),
    };
    // One per-event opt per event: the newer replaces the older (locally; the VTN keeps its own history).
    const replaced = [...this.#opts.values()].filter((o) => o.eventId === eventId);
    if (replaced.length > 0) {
      await this.#write(replaced.map((o) => ({ kind: 'opt', id: o.optId, doc: null })));
      for (const old of replaced) this.#opts.delete(old.optId);
    }
    return this.#submitOpt(doc);
  }

  async cancelOpt(optId: string): Promise<void> {
    const doc = this.#opts.get(optId);
    if (doc === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `opt ${optId} is not known`);
    const cancelling: OptDoc = { ...doc, state: 'cancelling' };
    await this.#write([{ kind: 'opt', id: optId, doc: cancelling }]);
    this.#opts.set(optId, cancelling);
    this.#emitEvents();
    await this.#exclusive(async () => {
      try {
        await this.#sendCancelOpt(cancelling);
      } catch (error) {
        // Kept as 'cancelling' and sent again with the next cycle.
        this.#emitError(asGridseamError(error, 'oadrCancelOpt'));
      }
    });
  }

  // ------------------------------------------------------------------ cycle

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task);
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #scheduleCycle(): void {
    if (!this.#running || this.#stage === 'cancelled') return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const delayMs = this.#failures > 0 ? this.#backoffMs() : this.#pollSeconds() * 1000;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.pollNow();
    }, delayMs);
    this.#timer.unref();
  }

  #backoffMs(): number {
    const base = this.#options.retrySeconds ?? DEFAULT_RETRY_SECONDS;
    const max = this.#options.maxRetrySeconds ?? DEFAULT_MAX_RETRY_SECONDS;
    const seconds = Math.min(max, base * 2 ** Math.min(16, this.#failures - 1));
    return seconds * 1000 * (0.75 + this.#random() * 0.5);
  }

  #pollSeconds(): number {
    const seconds =
      this.#options.pollSeconds ??
      this.#registration?.pollSeconds ??
      this.#options.defaultPollSeconds ??
      DEFAULT_POLL_SECONDS;
    return Math.max(MIN_POLL_S, seconds);
  }

  async #cycle(): Promise<void> {
    if (!this.#running) return;
    try {
      if (this.#stage === 'unregistered') await this.#register(false);
      if (this.#stage === 'reports') await this.#registerReports();
      if (this.#stage === 'events') await this.#requestEvents();
      if (this.#stage === 'ready') {
        if (this.#metadataDue) await this.#sendMetadata();
        await this.#flushPending();
        await this.#pollUntilEmpty();
      }
      this.#failures = 0;
    } catch (error) {
      this.#failures++;
      this.#emitError(asGridseamError(error, 'VEN cycle'));
    }
    this.#refreshStatuses();
  }

  async #pollUntilEmpty(): Promise<void> {
    for (let i = 0; i < MAX_POLL_BATCH && this.#stage === 'ready' && this.#running; i++) {
      const venID = this.#venId();
      const received = await this.#exchange('OadrPoll', { type: 'oadrPoll', venID });
      if (!(await this.#onPolled(received))) return;
    }
  }

  /** Handles one poll answer; true when the VTN may have more queued. */
  async #onPolled(message: OadrMessage): Promise<boolean> {
    switch (message.type) {
      case 'oadrResponse': {
        const code = message.eiResponse.responseCode;
        if (code === OK) return false;
        if (code === NOT_REGISTERED_OR_AUTHORIZED || code === INVALID_ID) {
          this.#log('warn', 'the VTN does not know this VEN any more: registering again', { code });
          await this.#dropRegistration(`poll answered ${code}`);
          this.#stage = 'unregistered';
          this.#failures++;
          return false;
        }
        this.#log('warn', 'poll answered with an error', { code, description: message.eiResponse.responseDescription });
        return false;
      }
      case 'oadrDistributeEvent':
        await this.#onDistribute(message);
        return true;
      case 'oadrCreateReport':
        await this.#acceptReportRequests(message.oadrReportRequest, message.requestID);
        return true;
      case 'oadrCancelReport':
        await this.#onCancelReport(message);
        return true;
      case 'oadrRegisterReport': {
        // The VTN's own metadata: acknowledged, nothing requested from it.
        const answer = await this.#exchange('EiReport', {
          type: 'oadrRegisteredReport',
          eiResponse: { responseCode: OK, responseDescription: 'OK', requestID: message.requestID },
          venID: this.#venId(),
        });
        if (answer.type !== 'oadrResponse') this.#log('warn', `unexpected ${answer.type} after oadrRegisteredReport`);
        return true;
      }
      case 'oadrUpdateReport': {
        const answer = await this.#exchange('EiReport', {
          type: 'oadrUpdatedReport',
          eiResponse: { responseCode: OK, responseDescription: 'OK', requestID: message.requestID },
          venID: this.#venId(),
        });
        if (answer.type !== 'oadrResponse') this.#log('warn', `unexpected ${answer.type} after oadrUpdatedReport`);
        return true;
      }
      case 'oadrRequestReregistration': {
        const answer = await this.#exchange('EiRegisterParty', {
          type: 'oadrResponse',
          eiResponse: { responseCode: OK, responseDescription: 'OK', requestID: '' },
          venID: this.#venId(),
        });
        this.#log('info', 'the VTN asked for a re-registration', { answer: answer.type });
        await this.#register(true);
        await this.#registerReports();
        await this.#requestEvents();
        return true;
      }
      case 'oadrCancelPartyRegistration':
        await this.#onVtnCancel(message);
        return false;
      default:
        this.#log('warn', `unexpected ${message.type} in answer to oadrPoll`);
        return false;
    }
  }

  // ------------------------------------------------------------------ exchange

  #venId(): string {
    const venId = this.#registration?.venId;
    if (venId === undefined) throw new GridseamError('GW_ERR_INVALID_TRANSITION', 'the VEN is not registered');
    return venId;
  }

  async #exchange(service: OadrServiceName, message: OadrMessage): Promise<OadrMessage> {
    const transport = this.#transport;
    if (transport === undefined) throw new GridseamError('GW_ERR_INVALID_TRANSITION', 'the VEN is stopped');
    let xml = emitOadr(message);
    const signing = this.#options.signing;
    if (signing !== undefined) xml = signOadr(xml, { key: signing.key, cert: signing.cert, now: this.#now() });
    const reply = await transport.post(service, xml);
    if (reply.status < 200 || reply.status > 299)
      throw new GridseamError('GW_ERR_DEVICE_REJECTED', `${service}: the VTN answered HTTP ${reply.status}`, {
        details: { peer: 'vtn', service, status: reply.status },
      });
    if (reply.body.trim() === '')
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `${service}: the VTN answered ${message.type} with no body`, {
        details: { peer: 'vtn', service },
      });
    let received: OadrMessage;
    let signed: boolean;
    try {
      const envelope = parseOadrEnvelope(reply.body, { maxBytes: MAX_ANSWER_BYTES });
      received = envelope.message;
      signed = envelope.signed;
    } catch (error) {
      throw asGridseamError(error, `${service}: the answer to ${message.type} is not an OpenADR 2.0b message`);
    }
    const verified = this.#verify(reply.body, signed, service);
    if (verified !== undefined) received = verified;
    this.#emit('exchange', { service, sent: message.type, received: received.type });
    this.#log('debug', `${service}: ${message.type} -> ${received.type}`);
    return received;
  }

  /** The message as verified (parsed from the signed bytes), or undefined when not checked. */
  #verify(body: string, signed: boolean, service: OadrServiceName): OadrMessage | undefined {
    const verification = this.#options.verification;
    if (verification === undefined) return undefined;
    if (!signed) {
      if (verification.requireSignatures === true)
        throw new GridseamError('GW_ERR_UNAUTHORIZED', `${service}: the VTN's answer is not signed`, {
          details: { peer: 'vtn', service },
        });
      return undefined;
    }
    return verifyOadr(body, {
      trusted: verification.trustedCerts,
      now: this.#now(),
      maxBytes: MAX_ANSWER_BYTES,
      ...(verification.maxAgeSeconds === undefined ? {} : { maxAgeMs: verification.maxAgeSeconds * 1000 }),
    }).message;
  }

  #expect<T extends OadrMessageType>(message: OadrMessage, type: T): OadrMessageOf<T> {
    if (message.type !== type)
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `expected ${type} from the VTN, got ${message.type}`, {
        details: { peer: 'vtn', expected: type, received: message.type },
      });
    return message as OadrMessageOf<T>;
  }

  #checkResponse(response: EiResponse, what: string): void {
    if (response.responseCode === OK) return;
    throw new GridseamError(
      'GW_ERR_DEVICE_REJECTED',
      `${what}: the VTN answered ${response.responseCode}${response.responseDescription ? ` ${response.responseDescription}` : ''}`,
      { details: { peer: 'vtn', responseCode: response.responseCode } },
    );
  }

  // ------------------------------------------------------------------ registration

  async #register(reregister: boolean): Promise<void> {
    if (!reregister) {
      const query = this.#expect(
        await this.#exchange('EiRegisterParty', { type: 'oadrQueryRegistration', requestID: randomUUID() }),
        'oadrCreatedPartyRegistration',
      );
      this.#checkResponse(query.eiResponse, 'oadrQueryRegistration');
      const profiles = query.oadrProfiles;
      if (
        profiles.length > 0 &&
        !profiles.some((p) => p.oadrProfileName === '2.0b' && p.oadrTransports.includes('simpleHttp'))
      )
        throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'the VTN does not offer profile 2.0b over simpleHttp', {
          details: { peer: 'vtn', profiles },
        });
    }
    const previous = this.#registration;
    const venId = previous?.venId ?? this.#options.venId;
    const message: OadrMessageOf<'oadrCreatePartyRegistration'> = {
      type: 'oadrCreatePartyRegistration',
      requestID: randomUUID(),
      ...(previous === undefined ? {} : { registrationID: previous.registrationId }),
      ...(venId === undefined ? {} : { venID: venId }),
      oadrProfileName: '2.0b',
      oadrTransportName: 'simpleHttp',
      oadrReportOnly: this.#options.reportOnly ?? false,
      oadrXmlSignature: this.#options.signing !== undefined,
      oadrVenName: this.#options.venName,
      oadrHttpPullModel: true,
    };
    const created = this.#expect(await this.#exchange('EiRegisterParty', message), 'oadrCreatedPartyRegistration');
    try {
      this.#checkResponse(created.eiResponse, 'oadrCreatePartyRegistration');
    } catch (error) {
      // A registration the VTN no longer knows: forget it, the next attempt registers afresh.
      if (previous !== undefined) await this.#dropRegistration('the VTN refused the stored registration');
      throw error;
    }
    if (!created.venID || !created.registrationID)
      throw new GridseamError(
        'GW_ERR_DEVICE_PROTOCOL',
        'the VTN registered the VEN without a venID or registrationID',
        {
          details: { peer: 'vtn' },
        },
      );
    const registration: RegistrationDoc = {
      venId: created.venID,
      registrationId: created.registrationID,
      vtnId: created.vtnID,
      ...(created.oadrRequestedOadrPollFreq === undefined ? {} : { pollSeconds: created.oadrRequestedOadrPollFreq }),
    };
    await this.#write([{ kind: 'registration', id: REGISTRATION_RECORD_ID, doc: registration }]);
    this.#registration = registration;
    // A (re-)registration ends every report request: the VTN asks again after oadrRegisterReport.
    for (const active of this.#reports.values()) this.#halt(active);
    this.#reports.clear();
    this.#stage = 'reports';
    this.#log('info', reregister ? 're-registered' : 'registered', { ...registration });
    this.#emit('registration', this.registration());
  }

  async #dropRegistration(reason: string): Promise<void> {
    await this.#write([{ kind: 'registration', id: REGISTRATION_RECORD_ID, doc: null }]);
    this.#registration = undefined;
    for (const active of this.#reports.values()) this.#halt(active);
    this.#reports.clear();
    this.#log('warn', `registration dropped: ${reason}`);
    this.#emit('registration', undefined);
  }

  async #onVtnCancel(message: OadrCancelPartyRegistration): Promise<void> {
    const registration = this.#registration;
    const ours = registration !== undefined && message.registrationID === registration.registrationId;
    const answer = await this.#exchange('EiRegisterParty', {
      type: 'oadrCanceledPartyRegistration',
      eiResponse: {
        responseCode: ours ? OK : INVALID_ID,
        responseDescription: ours ? 'OK' : 'not our registrationID',
        requestID: message.requestID,
      },
      ...(registration === undefined ? {} : { registrationID: registration.registrationId, venID: registration.venId }),
    });
    if (answer.type !== 'oadrResponse')
      this.#log('warn', `unexpected ${answer.type} after oadrCanceledPartyRegistration`);
    if (!ours) return;
    await this.#dropRegistration('the VTN cancelled the registration');
    this.#stage = 'cancelled';
    // Events came under the registration: none of them applies any more.
    for (const entry of this.#events.values())
      if (entry.vtnStatus !== 'cancelled' && entry.status !== 'completed') {
        entry.vtnStatus = 'cancelled';
        entry.implicitlyCancelled = true;
      }
    this.#emitEvents();
  }

  // ------------------------------------------------------------------ reports

  async #registerReports(): Promise<void> {
    await this.#sendMetadata();
    this.#stage = 'events';
  }

  async #sendMetadata(): Promise<void> {
    this.#metadataDue = false;
    const metadata = this.#options.reports ?? [];
    if (metadata.length === 0) return;
    const requestID = randomUUID();
    const registered = this.#expect(
      await this.#exchange('EiReport', {
        type: 'oadrRegisterReport',
        requestID,
        oadrReport: metadataReports(metadata, this.#now()),
        venID: this.#venId(),
      }),
      'oadrRegisteredReport',
    );
    this.#checkResponse(registered.eiResponse, 'oadrRegisterReport');
    const requests = registered.oadrReportRequest ?? [];
    if (requests.length > 0) await this.#acceptReportRequests(requests, registered.eiResponse.requestID || requestID);
  }

  async #acceptReportRequests(requests: readonly ReportRequest[], requestId: string): Promise<void> {
    const metadata = this.#options.reports ?? [];
    const refused: string[] = [];
    for (const request of requests) {
      const check = checkReportRequest(request, metadata);
      if (check.kind === 'metadata') this.#metadataDue = true;
      else if (check.kind === 'refused') {
        refused.push(check.reportRequestId);
        this.#log('warn', `report request ${check.reportRequestId} refused: ${check.reason}`);
      } else if (!this.#reports.has(check.request.reportRequestId) && this.#reports.size >= MAX_REPORT_REQUESTS) {
        refused.push(check.request.reportRequestId);
        this.#log('warn', `report request ${check.request.reportRequestId} refused: too many report requests`);
      } else this.#startReport(check.request);
    }
    const allRefused = refused.length > 0 && refused.length === requests.length;
    const answer = await this.#exchange('EiReport', {
      type: 'oadrCreatedReport',
      eiResponse: {
        responseCode: allRefused ? INVALID_ID : OK,
        responseDescription: allRefused ? `unknown report: ${refused.join(', ')}`.slice(0, 256) : 'OK',
        requestID: requestId,
      },
      oadrPendingReports: [...this.#reports.keys()],
      venID: this.#venId(),
    });
    if (answer.type !== 'oadrResponse') this.#log('warn', `unexpected ${answer.type} after oadrCreatedReport`);
  }

  #startReport(request: AcceptedReportRequest): void {
    const existing = this.#reports.get(request.reportRequestId);
    if (existing !== undefined) this.#halt(existing);
    const active: ActiveReport = { request, buffer: [], stopped: false };
    this.#reports.set(request.reportRequestId, active);
    this.#log('info', 'report requested', { ...runOf(request) });
    const now = this.#now();
    this.#scheduleSample(active, Math.max(now, request.start ?? now));
  }

  #halt(active: ActiveReport): void {
    active.stopped = true;
    if (active.timer !== undefined) clearTimeout(active.timer);
    active.timer = undefined;
  }

  #scheduleSample(active: ActiveReport, at: number): void {
    if (active.stopped || !this.#running) return;
    active.timer = setTimeout(
      () => {
        active.timer = undefined;
        void this.#sample(active);
      },
      Math.max(0, at - this.#now()),
    );
    active.timer.unref();
  }

  async #takeSample(active: ActiveReport): Promise<void> {
    const request = active.request;
    const at = this.#now();
    let samples: SampledInterval['samples'] = [];
    try {
      samples =
        (await this.#options.telemetry?.({
          reportRequestId: request.reportRequestId,
          reportSpecifierId: request.metadata.reportSpecifierId,
          reportName: request.metadata.reportName,
          rIds: request.rIds,
          at,
        })) ?? [];
    } catch (error) {
      this.#log('warn', 'telemetry source failed', {
        reportRequestId: request.reportRequestId,
        err: error instanceof Error ? error.message : String(error),
      });
    }
    active.buffer.push({ at, samples });
    if (active.buffer.length > MAX_BUFFERED_INTERVALS)
      active.buffer.splice(0, active.buffer.length - MAX_BUFFERED_INTERVALS);
  }

  async #sample(active: ActiveReport): Promise<void> {
    if (active.stopped || !this.#running) return;
    const request = active.request;
    const now = this.#now();
    if (request.end !== undefined && now >= request.end) {
      await this.#exclusive(() => this.#finishReport(active));
      return;
    }
    await this.#takeSample(active);
    if (active.buffer.length >= samplesPerReport(request) || isOneShot(request)) {
      await this.#exclusive(async () => {
        if (this.#stage !== 'ready' || active.stopped) return;
        try {
          await this.#sendReport(active);
        } catch (error) {
          this.#emitError(asGridseamError(error, 'oadrUpdateReport'));
        }
      });
    }
    if (isOneShot(request)) {
      this.#halt(active);
      if (this.#reports.get(request.reportRequestId) === active) this.#reports.delete(request.reportRequestId);
      return;
    }
    this.#scheduleSample(active, now + samplePeriodS(request) * 1000);
  }

  async #finishReport(active: ActiveReport): Promise<void> {
    this.#halt(active);
    if (this.#reports.get(active.request.reportRequestId) === active)
      this.#reports.delete(active.request.reportRequestId);
    if (active.buffer.length > 0 && this.#stage === 'ready')
      await this.#sendReport(active).catch((error: unknown) =>
        this.#emitError(asGridseamError(error, 'oadrUpdateReport')),
      );
  }

  async #sendReport(active: ActiveReport): Promise<void> {
    const buffered = active.buffer.splice(0);
    const now = this.#now();
    const report = updateReport(active.request, buffered, randomUUID(), now);
    if (report === undefined) return;
    let answer: OadrMessage;
    try {
      answer = await this.#exchange('EiReport', {
        type: 'oadrUpdateReport',
        requestID: randomUUID(),
        oadrReport: [report],
        venID: this.#venId(),
      });
    } catch (error) {
      // Kept for the next report (bounded), so a short outage loses no interval.
      active.buffer.unshift(...buffered.slice(-MAX_BUFFERED_INTERVALS));
      throw error;
    }
    const updated = this.#expect(answer, 'oadrUpdatedReport');
    if (updated.eiResponse.responseCode !== OK)
      this.#log('warn', 'the VTN refused a report', {
        reportRequestId: active.request.reportRequestId,
        code: updated.eiResponse.responseCode,
      });
    const { responseCode, responseDescription } = updated.eiResponse;
    this.#emit('report', {
      ...runOf(active.request),
      intervals: report.intervals?.length ?? 0,
      at: now,
      report,
      answer: { responseCode, ...(responseDescription === undefined ? {} : { responseDescription }) },
    });
    const cancel = updated.oadrCancelReport;
    if (cancel !== undefined) await this.#onCancelReport({ type: 'oadrCancelReport', ...cancel });
  }

  async #onCancelReport(message: OadrCancelReport): Promise<void> {
    for (const id of message.reportRequestID) {
      const active = this.#reports.get(id);
      if (active === undefined) continue;
      this.#halt(active);
      this.#reports.delete(id);
      if (message.reportToFollow) {
        if (active.buffer.length === 0) await this.#takeSample(active);
        await this.#sendReport(active).catch((error: unknown) =>
          this.#emitError(asGridseamError(error, 'final oadrUpdateReport')),
        );
      }
      this.#log('info', 'report cancelled by the VTN', { reportRequestId: id });
    }
    const answer = await this.#exchange('EiReport', {
      type: 'oadrCanceledReport',
      eiResponse: { responseCode: OK, responseDescription: 'OK', requestID: message.requestID },
      oadrPendingReports: [...this.#reports.keys()],
      venID: this.#venId(),
    });
    if (answer.type !== 'oadrResponse') this.#log('warn', `unexpected ${answer.type} after oadrCanceledReport`);
  }

  // ------------------------------------------------------------------ events

  async #requestEvents(): Promise<void> {
    const answer = await this.#exchange('EiEvent', {
      type: 'oadrRequestEvent',
      requestID: randomUUID(),
      venID: this.#venId(),
    });
    this.#stage = 'ready';
    if (answer.type === 'oadrResponse') return; // nothing for us
    await this.#onDistribute(this.#expect(answer, 'oadrDistributeEvent'));
  }

  #offsetFor(event: OadrEvent): { offsetS: number; change?: Ven2bStateChange } {
    const id = event.eventDescriptor.eventID;
    const window = event.eiActivePeriod.startafter ?? 0;
    const known = this.#offsets.get(id);
    if (known !== undefined && known.windowS === window) return { offsetS: known.offsetS };
    if (!(window > 0)) return { offsetS: 0 };
    const doc: OffsetDoc = {
      eventId: id,
      windowS: window,
      offsetS: drawStartOffset(event, this.#random),
      endsAt: 0,
    };
    doc.endsAt = effectiveEnd(event, doc.offsetS);
    this.#offsets.set(id, doc);
    return { offsetS: doc.offsetS, change: { kind: 'offset', id, doc } };
  }

  async #decide(eventId: string, entry: EventEntry): Promise<OptType> {
    const decide = this.#options.decideOpt;
    if (decide === undefined) return 'optIn';
    try {
      const answer = await decide(this.#view(eventId, entry));
      if (answer === 'optIn' || answer === 'optOut') return answer;
      this.#log('warn', 'decideOpt gave neither optIn nor optOut: opting out', { eventId });
    } catch (error) {
      this.#log('warn', 'decideOpt failed: opting out', {
        eventId,
        err: error instanceof Error ? error.message : String(error),
      });
    }
    return 'optOut';
  }

  async #onDistribute(message: OadrDistributeEvent): Promise<void> {
    const registration = this.#registration;
    if (registration !== undefined && registration.vtnId !== '' && message.vtnID !== registration.vtnId) {
      this.#log('warn', 'oadrDistributeEvent from another vtnID ignored', {
        vtnID: message.vtnID,
        registeredWith: registration.vtnId,
      });
      return;
    }
    const now = this.#now();
    const incoming = message.oadrEvent ?? [];
    const present = new Set<string>();
    const changes: Ven2bStateChange[] = [];
    const answers: ResponseDoc[] = [];
    for (const event of incoming) {
      const descriptor = event.eventDescriptor;
      const id = descriptor.eventID;
      const modification = descriptor.modificationNumber;
      present.add(id);
      const known = this.#events.get(id);
      if (known === undefined && this.#events.size >= MAX_EVENTS) {
        this.#log('warn', 'too many events: ignored', { eventId: id });
        continue;
      }
      const knownModification = known?.event.eventDescriptor.modificationNumber;
      if (knownModification !== undefined && modification < knownModification) continue; // stale copy
      const record = this.#responses.get(id);
      const { offsetS, change } = this.#offsetFor(event);
      if (change !== undefined) changes.push(change);
      const vtnStatus = descriptor.eventStatus;
      if (known !== undefined && modification === knownModification) {
        // Same modification: only the status the VTN reports may move (far -> near -> active...).
        known.event = event;
        known.present = true;
        if (!known.implicitlyCancelled) known.vtnStatus = vtnStatus;
      } else {
        const entry: EventEntry = {
          event,
          vtnStatus,
          status: eventStatusAt(event, vtnStatus, offsetS, now),
          answered: known?.answered ?? record?.optType ?? 'optIn',
          offsetS,
          implicitlyCancelled: false,
          present: true,
        };
        if (record !== undefined && record.modificationNumber === modification) entry.answered = record.optType;
        else if (vtnStatus !== 'cancelled') {
          // An opt-out schedule or an earlier per-event opt answers for the application.
          const standing = this.#optOf(id, entry);
          entry.answered = standing.source === 'response' ? await this.#decide(id, entry) : standing.optType;
        }
        this.#events.set(id, entry);
      }
      const entry = this.#events.get(id) as EventEntry;
      entry.status = eventStatusAt(event, entry.vtnStatus, offsetS, now);
      if (event.oadrResponseRequired !== 'always') continue;
      const sameRecord = record !== undefined && record.modificationNumber === modification;
      if (sameRecord && record.state !== 'pending' && this.#options.answerRepeats !== true) continue;
      if (!sameRecord && entry.status === 'completed' && entry.vtnStatus !== 'cancelled') continue; // over already
      answers.push({
        eventId: id,
        modificationNumber: modification,
        optType: entry.answered,
        state: 'pending',
        requestId: message.requestID,
        at: now,
      });
    }
    if (this.#options.implicitCancel !== false)
      for (const [id, entry] of this.#events)
        if (!present.has(id)) {
          entry.present = false;
          if (entry.vtnStatus !== 'cancelled' && entry.status !== 'completed') {
            entry.vtnStatus = 'cancelled';
            entry.implicitlyCancelled = true;
            entry.status = 'cancelled';
            this.#log('info', 'event no longer distributed: cancelled', { eventId: id });
          }
        }
    for (const answer of answers) changes.push({ kind: 'response', id: answer.eventId, doc: answer });
    if (changes.length > 0) await this.#write(changes);
    for (const answer of answers) this.#responses.set(answer.eventId, answer);
    this.#emitEvents();
    if (answers.length > 0) await this.#sendCreatedEvent(answers);
  }

  async #sendCreatedEvent(answers: readonly ResponseDoc[]): Promise<void> {
    const first = answers[0];
    if (first === undefined) return;
    const answer = this.#expect(
      await this.#exchange('EiEvent', {
        type: 'oadrCreatedEvent',
        eiResponse: { responseCode: OK, responseDescription: 'OK', requestID: first.requestId },
        eventResponses: answers.map((a) => ({
          responseCode: OK,
          responseDescription: 'OK',
          requestID: a.requestId,
          qualifiedEventID: { eventID: a.eventId, modificationNumber: a.modificationNumber },
          optType: a.optType,
        })),
        venID: this.#venId(),
      }),
      'oadrResponse',
    );
    const code = answer.eiResponse.responseCode;
    const now = this.#now();
    const done: ResponseDoc[] = answers.map((a) =>
      code === OK ? { ...a, state: 'sent', at: now } : { ...a, state: 'rejected', at: now, code },
    );
    // Only records still describing the same modification are updated (a newer one may have arrived).
    const current = done.filter((d) => this.#responses.get(d.eventId)?.modificationNumber === d.modificationNumber);
    await this.#write(current.map((d) => ({ kind: 'response', id: d.eventId, doc: d })));
    for (const d of current) this.#responses.set(d.eventId, d);
    if (code !== OK)
      this.#log('warn', 'the VTN refused the oadrCreatedEvent', {
        code,
        events: answers.map((a) => a.eventId),
      });
  }

  async #flushPending(): Promise<void> {
    const pending = [...this.#responses.values()].filter((r) => r.state === 'pending');
    const byRequest = new Map<string, ResponseDoc[]>();
    for (const record of pending) byRequest.set(record.requestId, [...(byRequest.get(record.requestId) ?? []), record]);
    for (const group of byRequest.values()) await this.#sendCreatedEvent(group);
    for (const doc of [...this.#opts.values()]) {
      if (doc.state === 'pending') await this.#sendCreateOpt(doc);
      else if (doc.state === 'cancelling') await this.#sendCancelOpt(doc);
    }
  }

  // ------------------------------------------------------------------ opts

  async #submitOpt(doc: OptDoc): Promise<OptDoc> {
    await this.#write([{ kind: 'opt', id: doc.optId, doc }]);
    this.#opts.set(doc.optId, doc);
    this.#emitEvents();
    return this.#exclusive(async () => {
      if (this.#registration === undefined || this.#stage !== 'ready') return doc;
      try {
        await this.#sendCreateOpt(doc);
      } catch (error) {
        const failure = asGridseamError(error, 'oadrCreateOpt');
        if (failure.code === 'GW_ERR_DEVICE_REJECTED') throw failure;
        this.#emitError(failure);
      }
      return structuredClone(this.#opts.get(doc.optId) ?? doc);
    });
  }

  async #sendCreateOpt(doc: OptDoc): Promise<void> {
    const venID = this.#venId();
    const answer = this.#expect(
      await this.#exchange('EiOpt', {
        type: 'oadrCreateOpt',
        optID: doc.optId,
        optType: doc.optType,
        optReason: doc.optReason,
        ...(doc.marketContext === undefined ? {} : { marketContext: doc.marketContext }),
        venID,
        ...(doc.windows === undefined
          ? {}
          : { vavailability: doc.windows.map((w) => ({ dtstart: w.start, duration: w.durationS })) }),
        createdDateTime: doc.createdAt,
        requestID: doc.requestId,
        ...(doc.eventId === undefined || doc.modificationNumber === undefined
          ? {}
          : { qualifiedEventID: { eventID: doc.eventId, modificationNumber: doc.modificationNumber } }),
        eiTarget: doc.resourceIds === undefined ? { venID: [venID] } : { resourceID: doc.resourceIds },
      }),
      'oadrCreatedOpt',
    );
    if (answer.eiResponse.responseCode !== OK) {
      await this.#write([{ kind: 'opt', id: doc.optId, doc: null }]);
      this.#opts.delete(doc.optId);
      this.#emitEvents();
      this.#checkResponse(answer.eiResponse, 'oadrCreateOpt');
    }
    const created: OptDoc = { ...doc, state: 'created' };
    await this.#write([{ kind: 'opt', id: doc.optId, doc: created }]);
    this.#opts.set(doc.optId, created);
  }

  async #sendCancelOpt(doc: OptDoc): Promise<void> {
    const answer = this.#expect(
      await this.#exchange('EiOpt', {
        type: 'oadrCancelOpt',
        requestID: randomUUID(),
        optID: doc.optId,
        venID: this.#venId(),
      }),
      'oadrCanceledOpt',
    );
    if (answer.eiResponse.responseCode !== OK && answer.eiResponse.responseCode !== INVALID_ID)
      this.#checkResponse(answer.eiResponse, 'oadrCancelOpt');
    // 452: the VTN does not know the opt (any more): it is gone either way.
    await this.#write([{ kind: 'opt', id: doc.optId, doc: null }]);
    this.#opts.delete(doc.optId);
    this.#emitEvents();
  }

  /** The opt in force for an event: an opt-out schedule overlapping it, else a per-event opt, else the answer. */
  #optOf(eventId: string, entry: EventEntry): { optType: OptType; source: Ven2bEvent['optSource'] } {
    const marketContext = entry.event.eventDescriptor.marketContext;
    for (const opt of this.#opts.values()) {
      if (opt.state === 'cancelling' || opt.windows === undefined || opt.optType !== 'optOut') continue;
      if (opt.marketContext !== undefined && opt.marketContext !== marketContext) continue;
      if (overlapsWindows(entry.event, entry.offsetS, opt.windows)) return { optType: 'optOut', source: 'schedule' };
    }
    for (const opt of this.#opts.values())
      if (opt.eventId === eventId && opt.state !== 'cancelling') return { optType: opt.optType, source: 'opt' };
    return { optType: entry.answered, source: 'response' };
  }

  // ------------------------------------------------------------------ state

  async #load(): Promise<void> {
    for (const record of await this.#store.load()) {
      const doc = record.doc;
      if (typeof doc !== 'object' || doc === null) continue;
      if (record.kind === 'registration' && record.id === REGISTRATION_RECORD_ID) {
        const reg = doc as RegistrationDoc;
        if (typeof reg.venId === 'string' && typeof reg.registrationId === 'string') this.#registration = reg;
      } else if (record.kind === 'response') {
        const response = doc as ResponseDoc;
        if (typeof response.modificationNumber === 'number') this.#responses.set(record.id, response);
      } else if (record.kind === 'offset') {
        const offset = doc as OffsetDoc;
        if (typeof offset.offsetS === 'number') this.#offsets.set(record.id, offset);
      } else if (record.kind === 'opt') {
        const opt = doc as OptDoc;
        if (typeof opt.optId === 'string') this.#opts.set(record.id, opt);
      }
    }
    this.#loaded = true;
  }

  async #write(changes: readonly Ven2bStateChange[]): Promise<void> {
    if (changes.length > 0) await this.#store.write(changes);
  }

  #view(eventId: string, entry: EventEntry): Ven2bEvent {
    const descriptor = entry.event.eventDescriptor;
    const opt = this.#optOf(eventId, entry);
    return {
      eventId,
      modificationNumber: descriptor.modificationNumber,
      marketContext: descriptor.marketContext,
      event: entry.event,
      vtnStatus: entry.vtnStatus,
      status: entry.status,
      optType: opt.optType,
      optSource: opt.source,
      answered: entry.answered,
      startOffsetS: entry.offsetS,
      testEvent: isTestEvent(entry.event),
      implicitlyCancelled: entry.implicitlyCancelled,
    };
  }

  /** Emits the events whose view changed since last emitted. */
  #emitEvents(): void {
    const changed: Ven2bEvent[] = [];
    for (const [id, entry] of this.#events) {
      const view = this.#view(id, entry);
      const key = JSON.stringify([
        view.modificationNumber,
        view.vtnStatus,
        view.status,
        view.optType,
        view.optSource,
        view.answered,
        view.startOffsetS,
      ]);
      if (entry.emitted === key) continue;
      entry.emitted = key;
      changed.push(view);
    }
    if (changed.length > 0) this.#emit('events', changed);
  }

  /** Moves statuses on with the clock, forgets long-ended events and arms the timer for the next change. */
  #refreshStatuses(): void {
    const now = this.#now();
    let next: number | undefined;
    const forget: string[] = [];
    for (const [id, entry] of this.#events) {
      entry.status = eventStatusAt(entry.event, entry.vtnStatus, entry.offsetS, now);
      const ended = entry.status === 'completed' || entry.status === 'cancelled';
      // Kept while the VTN still distributes it, and an hour past its end (a late copy is then still known).
      if (ended && !entry.present && now >= effectiveEnd(entry.event, entry.offsetS) + KEEP_ENDED_MS) {
        forget.push(id);
        continue;
      }
      const at = nextStatusChange(entry.event, entry.offsetS, now);
      if (at !== undefined && !ended && (next === undefined || at < next)) next = at;
    }
    this.#emitEvents();
    for (const id of forget) this.#events.delete(id);
    const changes: Ven2bStateChange[] = [];
    for (const id of forget) {
      if (this.#responses.delete(id)) changes.push({ kind: 'response', id, doc: null });
      if (this.#offsets.delete(id)) changes.push({ kind: 'offset', id, doc: null });
    }
    // Records of events the VTN no longer knows (seen from the current event list only).
    if (this.#stage === 'ready') {
      for (const [id, record] of this.#responses)
        if (!this.#events.has(id) && record.state !== 'pending' && now - record.at > KEEP_RECORDS_MS) {
          this.#responses.delete(id);
          changes.push({ kind: 'response', id, doc: null });
        }
      for (const [id, offset] of this.#offsets)
        if (!this.#events.has(id) && now > offset.endsAt + KEEP_ENDED_MS) {
          this.#offsets.delete(id);
          changes.push({ kind: 'offset', id, doc: null });
        }
    }
    if (changes.length > 0)
      // Queued behind the current work, so a later distribution's records are written after this.
      this.#exclusive(() => this.#write(changes)).catch((error: unknown) =>
        this.#log('warn', 'forgetting ended events failed', { err: String(error) }),
      );
    if (this.#statusTimer !== undefined) clearTimeout(this.#statusTimer);
    this.#statusTimer = undefined;
    if (next !== undefined && this.#running) {
      this.#statusTimer = setTimeout(
        () => {
          this.#statusTimer = undefined;
          this.#refreshStatuses();
        },
        Math.min(2_147_000_000, Math.max(0, next - now) + 1),
      );
      this.#statusTimer.unref();
    }
  }

  // ------------------------------------------------------------------ plumbing

  #emit<K extends keyof Ven2bListeners>(name: K, ...args: Parameters<Ven2bListeners[K]>): void {
    for (const listener of this.#listeners.get(name) ?? []) {
      try {
        (listener as unknown as (...values: Parameters<Ven2bListeners[K]>) => void)(...args);
      } catch (error) {
        this.#log('warn', `a ${name} listener failed`, { err: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  #emitError(error: GridseamError): void {
    this.#log('warn', error.message, { code: error.code });
    this.#emit('error', error);
  }

  #log(level: Ven2bLogLevel, message: string, details?: Record<string, unknown>): void {
    this.#options.log?.(level, message, details);
  }
}

function runOf(request: AcceptedReportRequest): Ven2bReportRun {
  return {
    reportRequestId: request.reportRequestId,
    reportSpecifierId: request.metadata.reportSpecifierId,
    rIds: request.rIds,
    granularityS: request.granularityS,
    reportBackS: request.reportBackS,
  };
}
