/**
 * The OCPP package's seams, fixed first so the CSMS, the simulator, the smart-charging rules and
 * the gateway wiring can be built against each other. Everything here is canonical or
 * version-neutral; the wire shapes live in `types/` (generated from the OCA JSON schemas).
 *
 * Versions: OCPP-J 1.6 (subprotocol `ocpp1.6`) and 2.0.1 (`ocpp2.0.1`), negotiated per connection.
 */
import type { Reading } from '@gridseam/model';

export const OCPP_VERSIONS = ['1.6', '2.0.1'] as const;
export type OcppVersion = (typeof OCPP_VERSIONS)[number];
/** The WebSocket subprotocol of each version (OCPP-J 1.6 §3.1.2; OCPP 2.0.1 Part 4 §3.1.2). */
export const SUBPROTOCOL_OF: Readonly<Record<OcppVersion, string>> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1' };

/**
 * Security profiles (OCPP 1.6 Security Whitepaper ed. 3 §2; OCPP 2.0.1 Part 2 §A00.FR):
 * 0 none, 1 HTTP Basic over ws://, 2 TLS (server certificate) + Basic, 3 mutual TLS (the client
 * certificate's CN is the identity; no password).
 */
export type SecurityProfile = 0 | 1 | 2 | 3;

// ---------------------------------------------------------------------------------------------
// Smart charging, version-neutral

export type ChargingRateUnit = 'A' | 'W';
/** 2.0.1 adds ChargingStationExternalConstraints; 1.6 calls the station-wide one ChargePointMaxProfile. */
export type ProfilePurpose = 'StationMax' | 'TxDefault' | 'Tx' | 'ExternalConstraints';
export type ProfileKind = 'Absolute' | 'Recurring' | 'Relative';

export interface SchedulePeriod {
  /** Seconds from the schedule's start. The first period starts at 0 (2.0.1 K01.FR.31). */
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}

/** One charging profile in version-neutral form; the CSMS turns it into 1.6 or 2.0.1 JSON. */
export interface ChargingProfileSpec {
  id: number;
  stackLevel: number;
  purpose: ProfilePurpose;
  kind: ProfileKind;
  recurrency?: 'Daily' | 'Weekly';
  /** Epoch ms. */
  validFrom?: number;
  validTo?: number;
  transactionId?: string;
  /** Epoch ms; required for Absolute and Recurring. */
  startSchedule?: number;
  durationS?: number;
  unit: ChargingRateUnit;
  periods: SchedulePeriod[];
  minChargingRate?: number;
}

/** A profile installed on an EVSE/connector (0 = the whole station). */
export interface InstalledProfile {
  evseId: number;
  profile: ChargingProfileSpec;
}

/** Electrical facts needed to convert amps and watts (2.0.1 SmartChargingCtrlr defaults: 230 V, 3 phases). */
export interface ElectricalFacts {
  voltage: number;
  phases: 1 | 2 | 3;
}

export interface CompositePeriod {
  /** Epoch ms. */
  start: number;
  limit: number;
  numberPhases?: number;
}

export interface CompositeSchedule {
  evseId: number;
  /** Epoch ms. */
  start: number;
  durationS: number;
  unit: ChargingRateUnit;
  /** At least one period (2.0.1 K08). */
  periods: CompositePeriod[];
}

// ---------------------------------------------------------------------------------------------
// What a charger is, in canonical terms

export interface EvseInfo {
  /** 2.0.1 evseId; 1.6 connectorId (1.6 has one connector per "EVSE"). */
  evseId: number;
  maxCurrentA?: number;
  maxPowerW?: number;
  phases?: 1 | 3;
  voltage?: number;
}

export interface StationInfo {
  identity: string;
  version: OcppVersion;
  vendor: string;
  model: string;
  serial?: string;
  firmware?: string;
  evses: EvseInfo[];
}

export type EvseStatus =
  | 'Available'
  | 'Preparing'
  | 'Charging'
  | 'SuspendedEV'
  | 'SuspendedEVSE'
  | 'Finishing'
  | 'Reserved'
  | 'Unavailable'
  | 'Faulted'
  | 'Occupied';

/** A charging session (1.6 Start/StopTransaction; 2.0.1 TransactionEvent Started/Updated/Ended). */
export interface ChargingSession {
  /** 1.6: the integer transactionId the CSMS assigned, as a string; 2.0.1: the station's transactionId. */
  transactionId: string;
  identity: string;
  evseId: number;
  idTag?: string;
  /** Epoch ms. */
  startedAt: number;
  endedAt?: number;
  meterStartWh?: number;
  meterStopWh?: number;
  /** Energy delivered so far, Wh. */
  energyWh?: number;
  stopReason?: string;
  /** EV state of charge, % (when the station reports it). */
  evSocPct?: number;
  state: 'active' | 'ended';
}

/** Who may connect, and what BootNotification answers (the registry's view). */
export interface StationAuthority {
  /**
   * Called before the WebSocket opens (security profiles 1 and 2: the Basic password as bytes;
   * profile 3: none, the TLS layer already proved the certificate). Unknown identity or wrong
   * password: false, and the upgrade is refused with 401.
   */
  authenticate(identity: string, password: Buffer | undefined, certificateCn: string | undefined): Promise<boolean>;
  /** BootNotification answer: Accepted, Pending (retry after interval) or Rejected. */
  boot(station: StationInfo): Promise<'Accepted' | 'Pending' | 'Rejected'>;
  /** Authorize / idToken check. */
  authorize?(identity: string, idTag: string): Promise<'Accepted' | 'Blocked' | 'Invalid' | 'Expired'>;
}

/** Everything the CSMS learns, in canonical terms. The gateway implements it; tests record it. */
export interface CsmsEvents {
  connected(identity: string, version: OcppVersion): void;
  disconnected(identity: string): void;
  booted(station: StationInfo): void;
  status(identity: string, evseId: number, status: EvseStatus, at: number): void;
  /** Canonical readings with deviceId = the station identity (the gateway maps ids). */
  readings(identity: string, readings: Reading[]): void;
  session(session: ChargingSession): void;
}

// ---------------------------------------------------------------------------------------------
// What the CSMS can be asked to do

/** A canonical charging limit for one EVSE (0 = the station), in force until `expiry` (epoch ms). */
export interface ChargingLimit {
  evseId: number;
  value: number;
  unit: ChargingRateUnit;
  /** Epoch ms. */
  start: number;
  expiry: number;
  /** Default 'StationMax' for evseId 0 and 'TxDefault' otherwise. */
  purpose?: ProfilePurpose;
}

export interface LimitOutcome {
  /** The limit the station's composite schedule reports for now, in the limit's unit. */
  readBack: number;
  profileId: number;
  detail: string;
}

export interface CommandOptions {
  /** When the station is offline: keep the command this long (epoch ms), send it on reconnect. */
  queueUntil?: number;
  timeoutMs?: number;
}

export interface Csms {
  /** Bound address, e.g. ws://127.0.0.1:PORT (wss:// for profiles 2 and 3). */
  readonly url: string;
  readonly port: number;
  connected(): string[];
  station(identity: string): StationInfo | undefined;
  sessions(identity?: string): ChargingSession[];
  /**
   * Sends the limit as a charging profile (SetChargingProfile), then confirms with
   * GetCompositeSchedule. A rejected profile or a composite that does not show the limit rejects
   * with GW_ERR_DEVICE_REJECTED; offline without queueUntil: GW_ERR_DEVICE_UNREACHABLE.
   */
  setChargingLimit(identity: string, limit: ChargingLimit, options?: CommandOptions): Promise<LimitOutcome>;
  clearChargingLimit(identity: string, evseId: number, options?: CommandOptions): Promise<void>;
  getCompositeSchedule(
    identity: string,
    evseId: number,
    durationS: number,
    unit?: ChargingRateUnit,
  ): Promise<CompositeSchedule>;
  remoteStart(
    identity: string,
    evseId: number,
    idTag: string,
    options?: CommandOptions,
  ): Promise<'Accepted' | 'Rejected'>;
  remoteStop(identity: string, transactionId: string, options?: CommandOptions): Promise<'Accepted' | 'Rejected'>;
  reset(identity: string, type: 'Hard' | 'Soft', options?: CommandOptions): Promise<string>;
  changeAvailability(identity: string, evseId: number, available: boolean, options?: CommandOptions): Promise<string>;
  /** 1.6 GetConfiguration / 2.0.1 GetVariables, as key -> value ("Component.Variable" keys in 2.0.1). */
  getSettings(identity: string, keys: string[]): Promise<Record<string, string | undefined>>;
  /** 1.6 ChangeConfiguration / 2.0.1 SetVariables; per-key status as the station answered. */
  setSettings(identity: string, values: Record<string, string>): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface CsmsTlsOptions {
  /** PEM server certificate(s) and key(s); several when the CSMS offers both an RSA and an ECDSA certificate. */
  cert: string | Buffer | Array<string | Buffer>;
  key: string | Buffer | Array<string | Buffer>;
  /** PEM CA that client certificates must chain to (profile 3). */
  ca?: string | Buffer;
}

export interface CsmsOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** URL path prefix; the identity is the last path segment (OCPP-J §3.1.1), default '/ocpp'. */
  path?: string;
  securityProfile: SecurityProfile;
  tls?: CsmsTlsOptions;
  versions?: OcppVersion[];
  authority: StationAuthority;
  events: CsmsEvents;
  heartbeatIntervalS?: number;
  /** MeterValueSampleInterval asked of stations at boot, seconds. */
  meterIntervalS?: number;
  callTimeoutMs?: number;
  now?: () => number;
  /** Most stations connected at once (further ones get HTTP 503); as many again are remembered offline. Default 10,000. */
  maxStations?: number;
  /** Largest WebSocket message accepted, bytes (larger: the socket is closed with 1009). Default 65,536. */
  maxPayloadBytes?: number;
  /** stackLevel of the profiles setChargingLimit installs. Default 1. */
  limitStackLevel?: number;
  /** BootNotification interval answered with Pending or Rejected, seconds. Default 60. */
  bootRetryIntervalS?: number;
  /**
   * A station that connects without a BootNotification on record (e.g. after a CSMS restart) is sent
   * TriggerMessage(BootNotification) after this long, ms; 0 never. Default 5,000.
   */
  bootTriggerDelayMs?: number;
  log?: CsmsLog;
}

/** Where the CSMS reports what it drops or notices (a pino logger fits). */
export interface CsmsLog {
  warn(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
}
