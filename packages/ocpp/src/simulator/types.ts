/**
 * The simulator's public options and events, and the seam between its version-neutral core
 * (station.ts) and the two wire dialects (v16.ts, v201.ts).
 */
import type {
  ChargingProfileSpec,
  ChargingRateUnit,
  ChargingSession,
  CompositeSchedule,
  EvseStatus,
  InstalledProfile,
  OcppVersion,
} from '../contract.ts';
import type { OutboxEntry } from './outbox.ts';
import type { ClientLink } from './rpc.ts';
import type { SettingDefinition, Settings } from './settings.ts';

export interface SimulatorEvseOptions {
  /** Number of EVSEs (1.6: connectors), each with one connector. Default 1. */
  count?: number;
  /** Per EVSE, default 32 A. */
  maxCurrentA?: number;
  /** Default 3. */
  phases?: 1 | 3;
  /** Phase-to-neutral volts, default 230. */
  voltage?: number;
}

/** Seeded random EV arrivals per EVSE, in simulated seconds. */
export interface SimulatorArrivals {
  /** Mean time between an EVSE becoming free and the next EV arriving. */
  meanIntervalS: number;
  /** Mean time an EV stays plugged in. */
  meanStayS: number;
}

export interface ChargePointSimulatorOptions {
  /** The CSMS base URL (ws:// or wss://); the identity is appended as the last path segment. */
  url: string;
  identity: string;
  version: OcppVersion;
  /** HTTP Basic password (security profiles 1 and 2). */
  password?: string | Buffer;
  /** TLS (profiles 2 and 3): the CA of the CSMS certificate; cert and key for mutual TLS. */
  tls?: { ca: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  evses?: SimulatorEvseOptions;
  /** Meter values period (1.6 MeterValueSampleInterval, 2.0.1 TxUpdatedInterval), default 60 s. */
  meterIntervalS?: number;
  /** Heartbeat period until the CSMS gives one at boot, default 300 s. */
  heartbeatIntervalS?: number;
  /**
   * Simulated seconds per real second: EV energy and SoC advance this much faster, and the
   * station's periods (meter values, heartbeats, retries, arrivals) are divided by it. Default 1.
   */
  speed?: number;
  /**
   * Below this offered current the EV draws nothing (status SuspendedEVSE). Default 0; set
   * IEC_61851_MIN_CURRENT_A (6) for the behaviour of real EVs.
   */
  minChargingCurrentA?: number;
  /** Seed for EV arrivals (same seed, same EVs). */
  seed?: number;
  arrivals?: SimulatorArrivals;
  /** Clock for timestamps and schedules (epoch ms); default Date.now. */
  now?: () => number;
  /** idTag / idToken used when an EV starts charging by itself. Default 'SIMTAG'. */
  idTag?: string;
  serialNumber?: string;
  firmwareVersion?: string;
  callTimeoutMs?: number;
  /** ocpp-rpc reconnect back-off after a lost connection (real ms). Defaults 1,000 / 30,000. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Whether a first connection that fails for a network reason is tried again (default true; 401/403 never are). */
  retryFirstConnect?: boolean;
}

/** An EV plugged in by a script (tests) or by the random arrivals. */
export interface EvSpec {
  /** Energy the EV still wants, Wh. */
  energyNeedWh: number;
  socPct: number;
  capacityWh: number;
  maxCurrentA: number;
  /** Phases the EV's charger uses, default the EVSE's. */
  phases?: 1 | 3;
  idTag?: string;
  /** Start a transaction at once (default true); false waits for a remote start. */
  autoStart?: boolean;
}

export interface MeterSample {
  evseId: number;
  /** Epoch ms. */
  timestamp: number;
  /** The EVSE's energy register (Energy.Active.Import.Register), Wh. */
  energyWh: number;
  powerW: number;
  /** Current per phase in use (Current.Import on each), A. */
  currentA: number;
  phases: number;
  /** Current.Offered: what the composite schedule and the EVSE allow, A. */
  offeredA: number;
  voltage: number;
  socPct?: number;
}

export type StopCause = 'EVDisconnected' | 'Remote' | 'EVFull' | 'HardReset' | 'SoftReset' | 'DeAuthorized';
export type BootReason = 'PowerUp' | 'RemoteReset' | 'Triggered';
export type MeterContext = 'Sample.Periodic' | 'Trigger' | 'Transaction.Begin' | 'Transaction.End';

export interface ProfileRejection {
  evseId: number;
  profileId?: number;
  reasons: string[];
}

export interface SimulatorEvents {
  connected: [];
  disconnected: [{ code?: number; reason?: string }];
  booted: [status: 'Accepted'];
  registration: [status: 'Accepted' | 'Pending' | 'Rejected'];
  status: [evseId: number, status: EvseStatus];
  meterValues: [sample: MeterSample & { transactionId?: string }];
  profileInstalled: [installed: InstalledProfile];
  profileRejected: [rejection: ProfileRejection];
  profilesCleared: [count: number];
  sessionStarted: [session: ChargingSession];
  sessionEnded: [session: ChargingSession];
  /** A message dropped from the outbox (its retries ran out, or it could no longer be built). */
  dropped: [action: string, reason: string];
  /** Emitted only while someone listens, so an unheard error never ends the process. */
  error: [error: Error];
}

export interface SimulatorStats {
  connected: boolean;
  registration: 'Accepted' | 'Pending' | 'Rejected' | undefined;
  messagesSent: number;
  messagesReceived: number;
  queued: number;
  validationFailures: number;
}

// ---------------------------------------------------------------------------------------------
// Core <-> dialect

/** The state the core keeps per transaction. */
export interface SessionState {
  localId: number;
  /** 1.6: the CSMS's number once StartTransaction is answered; 2.0.1: ours from the start. */
  transactionId?: string;
  evseId: number;
  idTag: string;
  startedAt: number;
  meterStartWh: number;
  energyWh: number;
  chargingS: number;
  /** 2.0.1 TransactionEvent seqNo, next to use. */
  seqNo: number;
  remoteStartId?: number;
  endedAt?: number;
  meterStopWh?: number;
  stopCause?: StopCause;
  state: 'active' | 'ended';
}

/** What the dialects may ask of the core. */
export interface SimulatorCore {
  readonly identity: string;
  readonly version: OcppVersion;
  readonly evseCount: number;
  readonly serialNumber: string;
  readonly firmwareVersion: string;
  readonly settings: Settings;
  readonly isRegistered: boolean;
  readonly heartbeatIntervalS: number;
  readonly meterIntervalS: number;
  /** 0-3, from the options: TLS with a client certificate 3, TLS 2, a password 1, else 0. */
  readonly securityProfile: number;
  now(): number;
  online(): boolean;
  /** The local session id by the transactionId the CSMS knows. */
  sessionByTransactionId(transactionId: string): SessionState | undefined;
  activeSession(evseId: number): SessionState | undefined;
  status(evseId: number): EvseStatus;
  sample(evseId: number): MeterSample;
  installProfile(
    evseId: number,
    spec: ChargingProfileSpec,
  ): { accepted: true } | { accepted: false; reasons: string[] };
  clearProfiles(criteria: {
    id?: number;
    evseId?: number;
    purpose?: ChargingProfileSpec['purpose'];
    stackLevel?: number;
  }): number;
  composite(evseId: number, durationS: number, unit: ChargingRateUnit | undefined): CompositeSchedule | undefined;
  remoteStart(request: {
    evseId?: number;
    idTag: string;
    profile?: ChargingProfileSpec;
    remoteStartId?: number;
  }): 'Accepted' | 'Rejected';
  remoteStop(transactionId: string): 'Accepted' | 'Rejected';
  reset(kind: 'Hard' | 'Soft' | 'Immediate' | 'OnIdle'): 'Accepted' | 'Rejected' | 'Scheduled';
  changeAvailability(evseId: number, operative: boolean): 'Accepted' | 'Rejected' | 'Scheduled';
  /** Sends after the current answer went out (TriggerMessage). */
  later(task: () => void): void;
  sendBoot(reason: BootReason): void;
  sendHeartbeat(): void;
  sendStatus(evseId?: number): void;
  sendMeterValues(evseId?: number, context?: MeterContext): void;
  push(entry: OutboxEntry): boolean;
  /** A profile that could not even be read (its wire form did not convert). */
  reportRejection(rejection: ProfileRejection): void;
  /** The CSMS refused the idTag of a running transaction: it stops (DeAuthorized). */
  deauthorized(session: SessionState): void;
  /** Applies a changed interval setting (heartbeat, meter values) or password. */
  settingChanged(what: 'heartbeat' | 'meter' | 'password', value: string): void;
}

export interface Dialect {
  /** The setting that holds the heartbeat interval (the BootNotification answer updates it). */
  readonly heartbeatKey: string;
  /** Settings for retrying transaction messages (1.6 TransactionMessageAttempts / RetryInterval). */
  readonly attemptsKey: string;
  readonly retryIntervalKey: string;
  bootParams(reason: BootReason): object;
  /**
   * StatusNotification for an EVSE (0: the charge point itself, 1.6 only). Without `force`, a
   * status that reads the same on the wire as the last one sent is not repeated.
   */
  statusEntries(evseId: number, status: EvseStatus, force?: boolean): OutboxEntry[];
  startEntry(session: SessionState, sample: MeterSample, trigger: 'Local' | 'Remote'): OutboxEntry;
  meterEntry(session: SessionState | undefined, sample: MeterSample, context: MeterContext): OutboxEntry;
  stopEntry(session: SessionState, sample: MeterSample): OutboxEntry;
  settings(): Record<string, SettingDefinition>;
  register(link: ClientLink): void;
}
