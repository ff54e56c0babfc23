/**
 * `ChargePointSimulator`: one charging station speaking OCPP 1.6J or 2.0.1 to a CSMS over
 * ocpp-rpc in strict mode. This file is the version-neutral core: EVSEs, EVs and their energy,
 * transactions, installed charging profiles (limits from `compositeSchedule`), configuration, the
 * ordered outbox that survives lost connections, timers and the connection lifecycle. The wire
 * shapes live in the dialects (v16.ts, v201.ts).
 *
 * Time: `now` (injectable) stamps messages and evaluates schedules; EV energy advances `speed`
 * times faster than that clock, and the station's periods are divided by `speed`. Energy is
 * integrated piecewise over the composite schedule between samples, so a limit that changes
 * between two meter values is accounted at the instant it changes.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { GridseamError } from '@gridseam/model';
import type {
  ChargingProfileSpec,
  ChargingRateUnit,
  ChargingSession,
  CompositeSchedule,
  EvseStatus,
  InstalledProfile,
  OcppVersion,
} from '../contract.ts';
import { compositeSchedule } from '../smart-charging/composite.ts';
import { profileProblems } from '../smart-charging/problems.ts';
import { ampsToWatts } from '../smart-charging/units.ts';
import { MAX_INSTALLED_PROFILES, MAX_PERIODS_PER_SCHEDULE, MAX_STACK_LEVEL } from './constants.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { between, exponential, type Random, seededRandom } from './prng.ts';
import { type ClientLink, LINK_STATE, openClientLink } from './rpc.ts';
import { Settings } from './settings.ts';
import type {
  BootReason,
  ChargePointSimulatorOptions,
  Dialect,
  EvSpec,
  MeterContext,
  MeterSample,
  ProfileRejection,
  SessionState,
  SimulatorCore,
  SimulatorEvents,
  SimulatorStats,
  StopCause,
} from './types.ts';
import { createV16Dialect } from './v16.ts';
import { createV201Dialect } from './v201.ts';

/** EVSEs per simulated station. */
const MAX_EVSES = 1000;
/** Ended sessions kept for `sessions()`. */
const ENDED_SESSIONS_KEPT = 200;
/** Boot retry when the CSMS gives no interval, seconds. */
const BOOT_RETRY_S = 10;

interface EvState extends EvSpec {
  deliveredWh: number;
  departTimer?: NodeJS.Timeout;
}

interface EvseState {
  id: number;
  maxCurrentA: number;
  phases: 1 | 3;
  voltage: number;
  available: boolean;
  /** ChangeAvailability while a transaction runs: applied when it ends ("Scheduled"). */
  pendingAvailability?: boolean;
  meterWh: number;
  lastAdvance: number;
  ev?: EvState;
  session?: SessionState;
  status: EvseStatus;
  random: Random;
  arrivalTimer?: NodeJS.Timeout;
}

interface Draw {
  offeredA: number;
  currentA: number;
  phases: number;
  powerW: number;
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export class ChargePointSimulator extends EventEmitter<SimulatorEvents> implements SimulatorCore {
  readonly identity: string;
  readonly version: OcppVersion;
  readonly evseCount: number;
  readonly serialNumber: string;
  readonly firmwareVersion: string;
  readonly settings: Settings;

  private readonly clock: () => number;
  private readonly speed: number;
  private readonly defaultIdTag: string;
  private readonly options: ChargePointSimulatorOptions;
  private readonly link: ClientLink;
  private readonly dialect: Dialect;
  private readonly outbox: Outbox;
  private readonly evses: EvseState[];
  private installed: InstalledProfile[] = [];
  private sessionList: SessionState[] = [];
  private nextLocalId = 1;
  private registrationStatus: 'Accepted' | 'Pending' | 'Rejected' | undefined;
  private heartbeatS: number;
  private meterS: number;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private meterTimer: NodeJS.Timeout | undefined;
  private bootTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private connectDelayMs: number;
  private started = false;
  /** Inside our own connect() call: a failure there is handled there, not by the 'close' listener. */
  private connecting = false;
  private stopped = false;
  private resetting = false;
  private booting = false;
  private pendingReset: 'Hard' | 'Soft' | 'Immediate' | 'OnIdle' | undefined;
  private bootReason: BootReason = 'PowerUp';
  private counters = { sent: 0, received: 0, validationFailures: 0 };
  private bootWaiters: Array<() => void> = [];

  constructor(options: ChargePointSimulatorOptions) {
    super();
    if (!/^wss?:\/\//.test(options.url)) {
      throw new GridseamError(
        'GW_ERR_CONFIG',
        `simulator url must be ws:// or wss://, got ${options.url.slice(0, 80)}`,
      );
    }
    this.options = options;
    this.identity = options.identity;
    this.version = options.version;
    this.clock = options.now ?? Date.now;
    this.speed = options.speed !== undefined && options.speed > 0 ? options.speed : 1;
    this.defaultIdTag = options.idTag ?? 'SIMTAG';
    this.serialNumber = options.serialNumber ?? `SIM-${options.identity}`.slice(0, 25);
    this.firmwareVersion = options.firmwareVersion ?? '0.1.0';
    this.heartbeatS = options.heartbeatIntervalS ?? 300;
    this.meterS = options.meterIntervalS ?? 60;
    this.connectDelayMs = options.reconnectMinMs ?? 1_000;
    const evseOptions = options.evses ?? {};
    this.evseCount = Math.max(1, Math.floor(evseOptions.count ?? 1));
    if (!(this.evseCount <= MAX_EVSES)) {
      throw new GridseamError('GW_ERR_CONFIG', `a simulated station has at most ${MAX_EVSES} EVSEs`);
    }
    const seed = options.seed ?? 1;
    const start = this.clock();
    this.evses = Array.from({ length: this.evseCount }, (_, i) => ({
      id: i + 1,
      maxCurrentA: evseOptions.maxCurrentA ?? 32,
      phases: evseOptions.phases ?? 3,
      voltage: evseOptions.voltage ?? 230,
      available: true,
      meterWh: 0,
      lastAdvance: start,
      status: 'Available' as EvseStatus,
      random: seededRandom(seed * 1_000 + i + 1),
    }));
    this.dialect = options.version === '1.6' ? createV16Dialect(this) : createV201Dialect(this);
    this.settings = new Settings(this.dialect.settings());
    this.link = openClientLink({
      url: options.url,
      identity: options.identity,
      version: options.version,
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
      ...(options.reconnectMinMs !== undefined ? { reconnectMinMs: options.reconnectMinMs } : {}),
      ...(options.reconnectMaxMs !== undefined ? { reconnectMaxMs: options.reconnectMaxMs } : {}),
    });
    this.outbox = new Outbox({
      send: async (action, params) => this.link.call(action, params),
      ready: () => this.isRegistered && this.online(),
      onDrop: (entry, reason) => {
        this.emit('dropped', entry.action, reason);
      },
      attempts: () => Number(this.settings.value(this.dialect.attemptsKey) ?? 3),
      retryIntervalMs: () => (Number(this.settings.value(this.dialect.retryIntervalKey) ?? 10) * 1000) / this.speed,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Connects and boots. Resolves after the first connection attempt: true when connected. A
   * refusal (401/403) or an unreachable CSMS is reported as an 'error' event, never thrown; an
   * unreachable CSMS is tried again with back-off unless `retryFirstConnect` is false.
   */
  async start(): Promise<boolean> {
    if (this.started) return this.online();
    this.started = true;
    this.listen();
    this.dialect.register(this.link);
    this.restartMeterTimer();
    for (const evse of this.evses) this.scheduleArrival(evse);
    return this.connect();
  }

  /** Resolves once a BootNotification was accepted (at once if it already was). */
  waitForBoot(): Promise<void> {
    if (this.isRegistered) return Promise.resolve();
    return new Promise((resolve) => this.bootWaiters.push(resolve));
  }

  /** Resolves once every queued message went out. */
  flush(): Promise<void> {
    return this.outbox.idle();
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of [this.heartbeatTimer, this.meterTimer, this.bootTimer, this.connectTimer]) {
      if (timer !== undefined) clearTimeout(timer);
    }
    for (const evse of this.evses) {
      if (evse.arrivalTimer !== undefined) clearTimeout(evse.arrivalTimer);
      if (evse.ev?.departTimer !== undefined) clearTimeout(evse.ev.departTimer);
    }
    this.outbox.close();
    try {
      await this.link.close({ code: 1000, reason: 'Simulator closed' });
    } catch {
      // Closing a link that never opened is fine.
    }
    const waiters = this.bootWaiters;
    this.bootWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private listen(): void {
    this.link.on('open', () => this.onOpen());
    this.link.on('disconnect', (event) => {
      this.stopHeartbeat();
      this.emit('disconnected', { code: event.code, reason: event.reason });
    });
    this.link.on('close', () => {
      // ocpp-rpc gave up reconnecting after a lost connection: start over unless we are stopping.
      if (!this.stopped && !this.resetting && !this.connecting) this.scheduleConnect();
    });
    this.link.on('strictValidationFailure', (event) => {
      if (!event.outbound) return; // ocpp-rpc already answered the CSMS with a CALLERROR
      this.counters.validationFailures++;
      this.fail(
        new GridseamError(
          'GW_ERR_VALIDATION',
          `our ${event.method} ${event.isCall ? 'request' : 'result'} failed the OCPP schema: ${event.error.message}`,
          { details: { identity: this.identity, action: event.method } },
        ),
      );
    });
    this.link.on('message', (event) => {
      if (event.outbound) this.counters.sent++;
      else this.counters.received++;
    });
  }

  private async connect(): Promise<boolean> {
    if (this.stopped) return false;
    this.connecting = true;
    try {
      await this.link.connect();
      this.connectDelayMs = this.options.reconnectMinMs ?? 1_000;
      return true;
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 401 || status === 403) {
        this.fail(
          new GridseamError('GW_ERR_UNAUTHORIZED', `the CSMS refused the connection (HTTP ${status})`, {
            cause: error,
            details: { identity: this.identity, httpStatus: status },
          }),
        );
        return false;
      }
      this.fail(
        new GridseamError(
          'GW_ERR_DEVICE_UNREACHABLE',
          `cannot connect to ${this.options.url}: ${error instanceof Error ? error.message : String(error)}`,
          {
            cause: error,
            details: { identity: this.identity, ...(status !== undefined ? { httpStatus: status } : {}) },
          },
        ),
      );
      if (this.options.retryFirstConnect !== false) this.scheduleConnect();
      return false;
    } finally {
      this.connecting = false;
    }
  }

  private scheduleConnect(): void {
    if (this.stopped || this.connectTimer !== undefined) return;
    const delay = this.connectDelayMs;
    this.connectDelayMs = Math.min(delay * 2, this.options.reconnectMaxMs ?? 30_000);
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      if (this.link.state === LINK_STATE.CLOSED) void this.connect();
    }, delay);
  }

  private onOpen(): void {
    this.emit('connected');
    if (this.isRegistered) {
      this.restartHeartbeat();
      this.sendStatus();
      this.outbox.kick();
    } else {
      void this.boot();
    }
  }

  private async boot(): Promise<void> {
    if (this.booting || this.stopped) return;
    this.booting = true;
    if (this.bootTimer !== undefined) clearTimeout(this.bootTimer);
    this.bootTimer = undefined;
    let answer: { status: 'Accepted' | 'Pending' | 'Rejected'; interval: number };
    try {
      answer = (await this.link.call('BootNotification', this.dialect.bootParams(this.bootReason))) as typeof answer;
    } catch {
      this.booting = false;
      // Lost connection: the next 'open' boots again. Otherwise (timeout, CALLERROR) retry later.
      if (this.online()) this.scheduleBoot(BOOT_RETRY_S);
      return;
    }
    this.booting = false;
    this.registrationStatus = answer.status;
    this.emit('registration', answer.status);
    if (answer.status !== 'Accepted') {
      // 1.6 §4.2 / 2.0.1 B02-B03: Pending or Rejected, try again after `interval`.
      this.scheduleBoot(answer.interval > 0 ? answer.interval : BOOT_RETRY_S);
      return;
    }
    this.bootReason = 'PowerUp';
    if (answer.interval > 0) this.settings.write(this.dialect.heartbeatKey, String(answer.interval));
    this.restartHeartbeat();
    this.sendStatus();
    this.outbox.kick();
    this.emit('booted', 'Accepted');
    const waiters = this.bootWaiters;
    this.bootWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private scheduleBoot(seconds: number): void {
    if (this.stopped) return;
    this.bootTimer = setTimeout(
      () => {
        this.bootTimer = undefined;
        if (this.online()) void this.boot();
      },
      (seconds * 1000) / this.speed,
    );
  }

  private restartHeartbeat(): void {
    this.stopHeartbeat();
    if (this.heartbeatS <= 0 || this.stopped) return;
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), (this.heartbeatS * 1000) / this.speed);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private restartMeterTimer(): void {
    if (this.meterTimer !== undefined) clearInterval(this.meterTimer);
    this.meterTimer = undefined;
    if (this.meterS <= 0 || this.stopped || !this.started) return;
    this.meterTimer = setInterval(() => this.meterTick(), (this.meterS * 1000) / this.speed);
  }

  private meterTick(): void {
    for (const evse of this.evses) {
      this.advance(evse);
      if (evse.session?.state === 'active') this.pushMeter(evse, 'Sample.Periodic');
    }
  }

  private fail(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  // -------------------------------------------------------------------------------------------
  // Observability

  get connected(): boolean {
    return this.online();
  }

  get registration(): 'Accepted' | 'Pending' | 'Rejected' | undefined {
    return this.registrationStatus;
  }

  /** The current the EVSE offers now (composite schedule and EVSE maximum), A. */
  limitNow(evseId: number): number {
    const evse = this.requireEvse(evseId);
    this.advance(evse);
    return this.drawNow(evse).offeredA;
  }

  /** The power the EV draws now, W. */
  powerNow(evseId: number): number {
    const evse = this.requireEvse(evseId);
    this.advance(evse);
    return this.drawNow(evse).powerW;
  }

  sessions(): ChargingSession[] {
    for (const evse of this.evses) this.advance(evse);
    return this.sessionList.map((s) => this.toChargingSession(s));
  }

  installedProfiles(): InstalledProfile[] {
    return this.installed.map((p) => ({ evseId: p.evseId, profile: p.profile }));
  }

  stats(): SimulatorStats {
    return {
      connected: this.online(),
      registration: this.registrationStatus,
      messagesSent: this.counters.sent,
      messagesReceived: this.counters.received,
      queued: this.outbox.size,
      validationFailures: this.counters.validationFailures,
    };
  }

  // -------------------------------------------------------------------------------------------
  // EVs

  /** An EV plugs in; it starts a transaction at once unless `autoStart` is false. */
  plugIn(evseId: number, ev: EvSpec): ChargingSession | undefined {
    const evse = this.requireEvse(evseId);
    if (evse.ev) throw new GridseamError('GW_ERR_CONFLICT', `EVSE ${evseId} of ${this.identity} already has an EV`);
    if (!evse.available) {
      throw new GridseamError('GW_ERR_INVALID_TRANSITION', `EVSE ${evseId} of ${this.identity} is unavailable`);
    }
    this.advance(evse);
    evse.ev = { ...ev, deliveredWh: 0 };
    this.setStatus(evse, 'Preparing');
    if (ev.autoStart === false) return undefined;
    return this.toChargingSession(this.startSession(evse, ev.idTag ?? this.defaultIdTag, 'Local'));
  }

  /** The EV leaves: its transaction (if any) stops with EVDisconnected. */
  unplug(evseId: number): boolean {
    const evse = this.requireEvse(evseId);
    if (!evse.ev) return false;
    this.advance(evse);
    if (evse.session?.state === 'active') this.stopSession(evse, 'EVDisconnected');
    if (evse.ev.departTimer !== undefined) clearTimeout(evse.ev.departTimer);
    evse.ev = undefined;
    this.setStatus(evse, evse.available ? 'Available' : 'Unavailable');
    this.scheduleArrival(evse);
    return true;
  }

  private scheduleArrival(evse: EvseState): void {
    const arrivals = this.options.arrivals;
    if (!arrivals || this.stopped || evse.arrivalTimer !== undefined) return;
    const delayMs = (exponential(evse.random, arrivals.meanIntervalS) * 1000) / this.speed;
    evse.arrivalTimer = setTimeout(() => {
      evse.arrivalTimer = undefined;
      if (this.stopped) return;
      if (evse.ev || !evse.available) {
        this.scheduleArrival(evse);
        return;
      }
      const capacityWh = Math.round(between(evse.random, 40_000, 80_000));
      const socPct = Math.round(between(evse.random, 10, 60));
      const targetPct = Math.round(between(evse.random, 80, 100));
      const maxCurrentA = evse.random() < 0.5 ? 16 : 32;
      const stayMs = (exponential(evse.random, arrivals.meanStayS) * 1000) / this.speed;
      this.plugIn(evse.id, {
        capacityWh,
        socPct,
        energyNeedWh: ((targetPct - socPct) / 100) * capacityWh,
        maxCurrentA,
      });
      // plugIn() set evse.ev; the narrowing from the check above does not know that.
      const ev = evse.ev as EvState | undefined;
      if (ev) ev.departTimer = setTimeout(() => this.unplug(evse.id), stayMs);
    }, delayMs);
  }

  // -------------------------------------------------------------------------------------------
  // Energy

  private requireEvse(evseId: number): EvseState {
    const evse = this.evses[evseId - 1];
    if (!evse) throw new GridseamError('GW_ERR_NOT_FOUND', `${this.identity} has no EVSE ${evseId}`);
    return evse;
  }

  private remainingWh(ev: EvState): number {
    const bySoc = ((100 - ev.socPct) / 100) * ev.capacityWh;
    return Math.max(0, Math.min(ev.energyNeedWh - ev.deliveredWh, bySoc));
  }

  private compositeFor(evse: EvseState, from: number, durationS: number, unit: ChargingRateUnit): CompositeSchedule {
    const facts = { voltage: evse.voltage, phases: evse.phases };
    const session = evse.session?.state === 'active' ? evse.session : undefined;
    return compositeSchedule(this.installed, {
      evseId: evse.id,
      from,
      durationS,
      unit,
      facts,
      ...(session
        ? { txStart: session.startedAt, transactionId: session.transactionId ?? `local-${session.localId}` }
        : {}),
      defaultLimit: unit === 'A' ? evse.maxCurrentA : ampsToWatts(evse.maxCurrentA, facts),
    });
  }

  private drawFor(evse: EvseState, limitA: number, numberPhases: number | undefined): Draw {
    const offeredA = Math.max(0, Math.min(limitA, evse.maxCurrentA));
    const ev = evse.ev;
    const phases = Math.min(evse.phases, ev?.phases ?? evse.phases, numberPhases ?? 3);
    const charging = evse.session?.state === 'active' && ev !== undefined && this.remainingWh(ev) > 0;
    const minimum = this.options.minChargingCurrentA ?? 0;
    const currentA = charging && offeredA > 0 && offeredA >= minimum ? Math.min(offeredA, ev.maxCurrentA) : 0;
    return { offeredA, currentA, phases, powerW: currentA * evse.voltage * phases };
  }

  private drawNow(evse: EvseState): Draw {
    const period = this.compositeFor(evse, this.clock(), 1, 'A').periods[0]!;
    return this.drawFor(evse, period.limit, period.numberPhases);
  }

  /** Integrates the EV's energy from the last advance to `to` over the composite schedule. */
  private advance(evse: EvseState, to: number = this.clock()): void {
    const from = evse.lastAdvance;
    if (to <= from) return;
    evse.lastAdvance = to;
    const session = evse.session;
    const ev = evse.ev;
    if (session?.state !== 'active' || !ev) return;
    const schedule = this.compositeFor(evse, from, Math.ceil((to - from) / 1000) + 1, 'A');
    let fullAt: number | undefined;
    for (let i = 0; i < schedule.periods.length && fullAt === undefined; i++) {
      const period = schedule.periods[i]!;
      const segmentStart = Math.max(from, period.start);
      const segmentEnd = Math.min(to, schedule.periods[i + 1]?.start ?? to);
      if (segmentEnd <= segmentStart) continue;
      const draw = this.drawFor(evse, period.limit, period.numberPhases);
      if (draw.powerW <= 0) continue;
      const simulatedS = ((segmentEnd - segmentStart) / 1000) * this.speed;
      const remaining = this.remainingWh(ev);
      let energyWh = (draw.powerW * simulatedS) / 3600;
      let chargedS = simulatedS;
      if (energyWh >= remaining) {
        energyWh = remaining;
        chargedS = (remaining / draw.powerW) * 3600;
        fullAt = Math.round(segmentStart + (chargedS / this.speed) * 1000);
      }
      evse.meterWh += energyWh;
      session.energyWh += energyWh;
      session.chargingS += chargedS;
      ev.deliveredWh += energyWh;
      ev.socPct = Math.min(100, ev.socPct + (energyWh / ev.capacityWh) * 100);
    }
    if (fullAt !== undefined) this.stopSession(evse, 'EVFull', fullAt);
    else this.refreshStatus(evse);
  }

  private refreshStatus(evse: EvseState): void {
    if (evse.session?.state !== 'active') return;
    this.setStatus(evse, this.drawNow(evse).currentA > 0 ? 'Charging' : 'SuspendedEVSE');
  }

  private setStatus(evse: EvseState, status: EvseStatus): void {
    if (evse.status === status) return;
    evse.status = status;
    for (const entry of this.dialect.statusEntries(evse.id, status)) this.push(entry);
    this.emit('status', evse.id, status);
  }

  private sampleOf(evse: EvseState, at: number): MeterSample {
    const draw = this.drawNow(evse);
    const sample: MeterSample = {
      evseId: evse.id,
      timestamp: at,
      energyWh: evse.meterWh,
      powerW: draw.powerW,
      currentA: draw.currentA,
      phases: draw.phases,
      offeredA: draw.offeredA,
      voltage: evse.voltage,
    };
    if (evse.ev) sample.socPct = evse.ev.socPct;
    return sample;
  }

  private pushMeter(evse: EvseState, context: MeterContext): void {
    const sample = this.sampleOf(evse, this.clock());
    const session = evse.session?.state === 'active' ? evse.session : undefined;
    this.push(this.dialect.meterEntry(session, sample, context));
    const transactionId = session?.transactionId;
    this.emit('meterValues', transactionId === undefined ? sample : { ...sample, transactionId });
  }

  // -------------------------------------------------------------------------------------------
  // Transactions

  private startSession(
    evse: EvseState,
    idTag: string,
    trigger: 'Local' | 'Remote',
    remoteStartId?: number,
  ): SessionState {
    this.advance(evse);
    const session: SessionState = {
      localId: this.nextLocalId++,
      evseId: evse.id,
      idTag,
      startedAt: this.clock(),
      meterStartWh: evse.meterWh,
      energyWh: 0,
      chargingS: 0,
      seqNo: 0,
      state: 'active',
    };
    // 2.0.1: the station names the transaction (TransactionType.transactionId, at most 36 characters).
    if (this.version === '2.0.1') session.transactionId = randomUUID();
    if (remoteStartId !== undefined) session.remoteStartId = remoteStartId;
    evse.session = session;
    this.sessionList.push(session);
    const ended = this.sessionList.filter((s) => s.state === 'ended');
    if (ended.length > ENDED_SESSIONS_KEPT) {
      const drop = new Set(ended.slice(0, ended.length - ENDED_SESSIONS_KEPT));
      this.sessionList = this.sessionList.filter((s) => !drop.has(s));
    }
    this.push(this.dialect.startEntry(session, this.sampleOf(evse, session.startedAt), trigger));
    this.refreshStatus(evse);
    this.emit('sessionStarted', this.toChargingSession(session));
    return session;
  }

  private stopSession(evse: EvseState, cause: StopCause, at: number = this.clock()): void {
    const session = evse.session;
    if (session?.state !== 'active') return;
    session.state = 'ended';
    session.endedAt = at;
    session.stopCause = cause;
    session.meterStopWh = evse.meterWh;
    evse.session = undefined;
    const sample = this.sampleOf(evse, at);
    this.push(this.dialect.stopEntry(session, sample));
    // A TxProfile ends with its transaction (1.6 §3.13.2; 2.0.1 K01: TxProfile).
    this.installed = this.installed.filter((p) => !(p.evseId === evse.id && p.profile.purpose === 'Tx'));
    if (evse.pendingAvailability !== undefined) {
      evse.available = evse.pendingAvailability;
      evse.pendingAvailability = undefined;
    }
    this.setStatus(evse, !evse.available ? 'Unavailable' : evse.ev ? 'Finishing' : 'Available');
    this.emit('sessionEnded', this.toChargingSession(session));
    if (this.pendingReset !== undefined && !this.evses.some((e) => e.session?.state === 'active')) {
      const kind = this.pendingReset;
      this.later(() => void this.performReset(kind));
    }
  }

  private toChargingSession(s: SessionState): ChargingSession {
    const out: ChargingSession = {
      transactionId: s.transactionId ?? `local-${s.localId}`,
      identity: this.identity,
      evseId: s.evseId,
      idTag: s.idTag,
      startedAt: s.startedAt,
      meterStartWh: s.meterStartWh,
      energyWh: s.energyWh,
      state: s.state,
    };
    if (s.endedAt !== undefined) out.endedAt = s.endedAt;
    if (s.meterStopWh !== undefined) out.meterStopWh = s.meterStopWh;
    if (s.stopCause !== undefined) out.stopReason = s.stopCause;
    const ev = this.evses[s.evseId - 1]?.ev;
    if (s.state === 'active' && ev) out.evSocPct = ev.socPct;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // SimulatorCore: what the dialects call

  get isRegistered(): boolean {
    return this.registrationStatus === 'Accepted';
  }

  get heartbeatIntervalS(): number {
    return this.heartbeatS;
  }

  get meterIntervalS(): number {
    return this.meterS;
  }

  get securityProfile(): number {
    const tls = this.options.tls;
    if (tls?.cert !== undefined) return 3;
    if (tls) return 2;
    return this.options.password !== undefined ? 1 : 0;
  }

  now(): number {
    return this.clock();
  }

  reportRejection(rejection: ProfileRejection): void {
    this.emit('profileRejected', rejection);
  }

  online(): boolean {
    return this.link.state === LINK_STATE.OPEN;
  }

  sessionByTransactionId(transactionId: string): SessionState | undefined {
    return this.sessionList.find((s) => s.transactionId === transactionId);
  }

  activeSession(evseId: number): SessionState | undefined {
    const session = this.evses[evseId - 1]?.session;
    return session?.state === 'active' ? session : undefined;
  }

  status(evseId: number): EvseStatus {
    return this.requireEvse(evseId).status;
  }

  sample(evseId: number): MeterSample {
    const evse = this.requireEvse(evseId);
    this.advance(evse);
    return this.sampleOf(evse, this.clock());
  }

  installProfile(
    evseId: number,
    spec: ChargingProfileSpec,
  ): { accepted: true } | { accepted: false; reasons: string[] } {
    const reasons: string[] = [];
    if (this.settings.value('SmartChargingCtrlr.Enabled') === 'false') {
      reasons.push('SmartChargingCtrlr.Enabled: smart charging is disabled');
    }
    if (!Number.isInteger(evseId) || evseId < 0 || evseId > this.evseCount) {
      reasons.push(`K01.FR.28: EVSE ${evseId} does not exist`);
    }
    reasons.push(...profileProblems(spec, this.version, evseId));
    if (spec.stackLevel > MAX_STACK_LEVEL) {
      reasons.push(`ChargeProfileMaxStackLevel: stackLevel ${spec.stackLevel} is above ${MAX_STACK_LEVEL}`);
    }
    if (spec.periods.length > MAX_PERIODS_PER_SCHEDULE) {
      reasons.push(`ChargingScheduleMaxPeriods: more than ${MAX_PERIODS_PER_SCHEDULE} periods`);
    }
    let bound = spec;
    if (spec.purpose === 'Tx' && evseId > 0 && evseId <= this.evseCount) {
      const session = this.activeSession(evseId);
      if (!session) {
        reasons.push(`K01.FR.09: no transaction is active on EVSE ${evseId}`);
      } else if (spec.transactionId !== undefined && spec.transactionId !== session.transactionId) {
        reasons.push(`K01.FR.33: transaction ${spec.transactionId} is not the one on EVSE ${evseId}`);
      } else if (spec.transactionId === undefined && session.transactionId !== undefined) {
        // 1.6: a TxProfile without transactionId applies to the transaction on the connector.
        bound = { ...spec, transactionId: session.transactionId };
      }
    }
    if (this.version === '2.0.1') {
      const sameId = this.installed.find((p) => p.profile.id === spec.id);
      if (sameId?.profile.purpose === 'ExternalConstraints') {
        reasons.push(`K01.FR.05: profile ${spec.id} is an ExternalConstraints profile and cannot be replaced`);
      }
      if (spec.purpose === 'Tx') {
        const conflict = this.installed.find(
          (p) =>
            p.profile.purpose === 'Tx' &&
            p.profile.id !== spec.id &&
            p.profile.stackLevel === spec.stackLevel &&
            p.profile.transactionId === bound.transactionId,
        );
        if (conflict) {
          reasons.push(
            `K01.FR.39: TxProfile ${conflict.profile.id} already has stackLevel ${spec.stackLevel} for this transaction`,
          );
        }
      }
    }
    if (reasons.length === 0) {
      const remaining = this.installed.filter((p) => !this.replacedBy(p, evseId, bound));
      if (remaining.length >= MAX_INSTALLED_PROFILES) {
        reasons.push(`MaxChargingProfilesInstalled: ${MAX_INSTALLED_PROFILES} profiles are installed`);
      }
    }
    if (reasons.length > 0) {
      this.emit('profileRejected', { evseId, profileId: spec.id, reasons });
      return { accepted: false, reasons };
    }
    // Energy up to now was drawn under the old profiles.
    for (const evse of this.evses) this.advance(evse);
    this.installed = this.installed.filter((p) => !this.replacedBy(p, evseId, bound));
    const installed: InstalledProfile = { evseId, profile: bound };
    this.installed.push(installed);
    this.emit('profileInstalled', { evseId, profile: bound });
    for (const evse of this.evses) this.refreshStatus(evse);
    return { accepted: true };
  }

  /**
   * Whether installing `spec` on `evseId` replaces `existing`: the same id (1.6 §5.16.2,
   * 2.0.1 K01.FR.05), or the same purpose and stack level on the same EVSE (and, for TxProfiles,
   * the same transaction) (1.6 §5.16.2; 2.0.1 K01.FR.06).
   */
  private replacedBy(existing: InstalledProfile, evseId: number, spec: ChargingProfileSpec): boolean {
    if (existing.profile.id === spec.id) return true;
    return (
      existing.evseId === evseId &&
      existing.profile.purpose === spec.purpose &&
      existing.profile.stackLevel === spec.stackLevel &&
      (spec.purpose !== 'Tx' || existing.profile.transactionId === spec.transactionId)
    );
  }

  clearProfiles(criteria: {
    id?: number;
    evseId?: number;
    purpose?: ChargingProfileSpec['purpose'];
    stackLevel?: number;
  }): number {
    for (const evse of this.evses) this.advance(evse);
    const before = this.installed.length;
    this.installed = this.installed.filter((p) => {
      // 1.6 §5.5 / 2.0.1 K10: an id selects one profile; otherwise every given criterion must match.
      if (criteria.id !== undefined) return p.profile.id !== criteria.id;
      const matches =
        (criteria.evseId === undefined || p.evseId === criteria.evseId) &&
        (criteria.purpose === undefined || p.profile.purpose === criteria.purpose) &&
        (criteria.stackLevel === undefined || p.profile.stackLevel === criteria.stackLevel);
      return !matches;
    });
    const cleared = before - this.installed.length;
    if (cleared > 0) {
      this.emit('profilesCleared', cleared);
      for (const evse of this.evses) this.refreshStatus(evse);
    }
    return cleared;
  }

  composite(evseId: number, durationS: number, unit: ChargingRateUnit | undefined): CompositeSchedule | undefined {
    if (!Number.isInteger(evseId) || evseId < 0 || evseId > this.evseCount) return undefined;
    // From this very instant (not the whole second before it): a profile that started a moment
    // ago must be the first period, not the second.
    const from = this.clock();
    const rateUnit = unit ?? 'A';
    if (evseId > 0) return this.compositeFor(this.requireEvse(evseId), from, durationS, rateUnit);
    // EVSE 0: the grid connection; without a station maximum it can draw what all EVSEs can.
    const first = this.evses[0]!;
    const facts = { voltage: first.voltage, phases: first.phases };
    const totalA = this.evses.reduce((sum, e) => sum + e.maxCurrentA, 0);
    return compositeSchedule(this.installed, {
      evseId: 0,
      from,
      durationS,
      unit: rateUnit,
      facts,
      defaultLimit: rateUnit === 'A' ? totalA : ampsToWatts(totalA, facts),
    });
  }

  remoteStart(request: {
    evseId?: number;
    idTag: string;
    profile?: ChargingProfileSpec;
    remoteStartId?: number;
  }): 'Accepted' | 'Rejected' {
    const free = (e: EvseState): boolean => e.available && e.session?.state !== 'active';
    const evse =
      request.evseId !== undefined
        ? this.evses[request.evseId - 1]
        : (this.evses.find((e) => free(e) && e.ev !== undefined) ?? this.evses.find(free));
    if (!evse || !free(evse)) return 'Rejected';
    const profile = request.profile;
    if (profile) {
      // 1.6 §5.11 / 2.0.1 F01.FR.08: only a TxProfile, bound to the transaction about to start.
      const probe = { ...profile, transactionId: profile.transactionId ?? 'remote-start' };
      if (profile.purpose !== 'Tx' || profileProblems(probe, this.version, evse.id).length > 0) return 'Rejected';
    }
    this.later(() => {
      if (evse.session?.state === 'active') return;
      if (!evse.ev) {
        // The driver plugs in an EV that wants a usual top-up.
        this.advance(evse);
        evse.ev = {
          energyNeedWh: 30_000,
          socPct: 40,
          capacityWh: 60_000,
          maxCurrentA: evse.maxCurrentA,
          deliveredWh: 0,
        };
      }
      const session = this.startSession(evse, request.idTag, 'Remote', request.remoteStartId);
      if (profile) {
        const bound: ChargingProfileSpec = { ...profile };
        if (session.transactionId !== undefined) bound.transactionId = session.transactionId;
        else delete bound.transactionId;
        this.installProfile(evse.id, bound);
      }
    });
    return 'Accepted';
  }

  remoteStop(transactionId: string): 'Accepted' | 'Rejected' {
    const session = this.sessionByTransactionId(transactionId);
    if (session?.state !== 'active') return 'Rejected';
    const evse = this.requireEvse(session.evseId);
    this.later(() => {
      this.advance(evse);
      this.stopSession(evse, 'Remote');
    });
    return 'Accepted';
  }

  reset(kind: 'Hard' | 'Soft' | 'Immediate' | 'OnIdle'): 'Accepted' | 'Rejected' | 'Scheduled' {
    if (kind === 'OnIdle' && this.evses.some((e) => e.session?.state === 'active')) {
      this.pendingReset = kind;
      return 'Scheduled';
    }
    this.later(() => void this.performReset(kind));
    return 'Accepted';
  }

  /** Ends the transactions, drops the connection, reconnects and boots with reason RemoteReset. */
  private async performReset(kind: 'Hard' | 'Soft' | 'Immediate' | 'OnIdle'): Promise<void> {
    if (this.resetting || this.stopped) return;
    this.resetting = true;
    this.pendingReset = undefined;
    for (const evse of this.evses) {
      this.advance(evse);
      this.stopSession(evse, kind === 'Soft' ? 'SoftReset' : 'HardReset');
    }
    this.stopHeartbeat();
    this.registrationStatus = undefined;
    this.bootReason = 'RemoteReset';
    try {
      await this.link.close({ code: 1012, reason: 'Reset', awaitPending: true });
    } catch {
      // Already closed.
    }
    this.resetting = false;
    if (!this.stopped) await this.connect();
  }

  changeAvailability(evseId: number, operative: boolean): 'Accepted' | 'Rejected' | 'Scheduled' {
    const targets = evseId === 0 ? this.evses : this.evses.filter((e) => e.id === evseId);
    if (targets.length === 0) return 'Rejected';
    let scheduled = false;
    for (const evse of targets) {
      if (evse.session?.state === 'active') {
        evse.pendingAvailability = operative;
        scheduled = true;
        continue;
      }
      evse.available = operative;
      this.setStatus(evse, !operative ? 'Unavailable' : evse.ev ? 'Preparing' : 'Available');
    }
    return scheduled ? 'Scheduled' : 'Accepted';
  }

  later(task: () => void): void {
    setImmediate(() => {
      if (!this.stopped) task();
    });
  }

  sendBoot(reason: BootReason): void {
    this.bootReason = reason;
    void this.boot();
  }

  sendHeartbeat(): void {
    if (!this.online()) return;
    this.link.call('Heartbeat', {}).catch(() => {
      // A missed heartbeat is no news; the connection's own keep-alive notices a dead link.
    });
  }

  /** StatusNotification for one EVSE, or for all (and 1.6 connector 0). */
  sendStatus(evseId?: number): void {
    if (evseId === undefined || evseId === 0) {
      for (const entry of this.dialect.statusEntries(0, 'Available')) this.push(entry);
      if (evseId === 0) return;
    }
    for (const evse of this.evses) {
      if (evseId !== undefined && evse.id !== evseId) continue;
      for (const entry of this.dialect.statusEntries(evse.id, evse.status, true)) this.push(entry);
    }
  }

  /** Meter values now, for one EVSE or all (TriggerMessage, tests). */
  sendMeterValues(evseId?: number, context: MeterContext = 'Trigger'): void {
    for (const evse of this.evses) {
      if (evseId !== undefined && evseId !== 0 && evse.id !== evseId) continue;
      this.advance(evse);
      this.pushMeter(evse, context);
    }
  }

  push(entry: OutboxEntry): boolean {
    return this.outbox.push(entry);
  }

  deauthorized(session: SessionState): void {
    const evse = this.evses[session.evseId - 1];
    if (!evse || evse.session !== session) return;
    this.advance(evse);
    this.stopSession(evse, 'DeAuthorized');
  }

  settingChanged(what: 'heartbeat' | 'meter' | 'password', value: string): void {
    if (what === 'heartbeat') {
      this.heartbeatS = Number(value);
      if (this.isRegistered) this.restartHeartbeat();
    } else if (what === 'meter') {
      this.meterS = Number(value);
      this.restartMeterTimer();
    } else {
      // Used from the next connection on (1.6 Security Whitepaper: AuthorizationKey; 2.0.1 BasicAuthPassword).
      this.link.reconfigure({ password: value });
    }
  }
}
