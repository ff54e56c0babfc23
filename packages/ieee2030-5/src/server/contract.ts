/**
 * The contract of the IEEE 2030.5 utility server (issue 4): the records it keeps, the persistence
 * interface those records go through, its options, and the admin operations the gateway's admin REST
 * API calls. Everything here is data and types; the server itself is in ./server.ts.
 *
 * Conventions shared with the codec: times are epoch seconds (integers), hex values are lower-case
 * strings without 0x, LFDIs are 40 lower-case hex characters, SFDIs are decimal numbers.
 */

import type {
  CsipAusVersion,
  DERAvailability,
  DERCapability,
  DERControlBase,
  DERCurve,
  DERSettings,
  DERStatus,
  LogEvent,
  ReadingType,
} from '../resources/types.ts';

// ---------------------------------------------------------------------------------------------------------------
// Documents carried inside records (shapes follow the 2030.5 XML local names, as the codec does)
// ---------------------------------------------------------------------------------------------------------------

/** A link to a DERCurve inside a control, stored by curve id; the server writes the href per EndDevice. */
export interface CurveLinkRef {
  curveId: string;
}

/**
 * The control modes of a DERControl or DefaultDERControl: the codec's DERControlBase (2030.5 plus the
 * CSIP-AUS extensions, XML local names), except that curve modes hold the id of a CurveRecord of the
 * same program instead of an href (the server writes the href per EndDevice).
 */
export type ControlBase = Omit<DERControlBase, CurveMode> & { [K in CurveMode]?: CurveLinkRef };

/** The control-mode names whose value is a curve reference. */
export const CURVE_MODES = [
  'opModFreqWatt',
  'opModHFRTMayTrip',
  'opModHFRTMustTrip',
  'opModHVRTMayTrip',
  'opModHVRTMomentaryCessation',
  'opModHVRTMustTrip',
  'opModLFRTMayTrip',
  'opModLFRTMustTrip',
  'opModLVRTMayTrip',
  'opModLVRTMomentaryCessation',
  'opModLVRTMustTrip',
  'opModVoltVar',
  'opModVoltWatt',
  'opModWattPF',
  'opModWattVar',
] as const satisfies readonly (keyof DERControlBase)[];
export type CurveMode = (typeof CURVE_MODES)[number];

// ---------------------------------------------------------------------------------------------------------------
// Records (what SepStateStore persists; `id` is the store key as a string)
// ---------------------------------------------------------------------------------------------------------------

export type RecordKind =
  | 'endDevice'
  | 'fsa'
  | 'program'
  | 'control'
  | 'defaultControl'
  | 'curve'
  | 'response'
  | 'derReport'
  | 'mirrorUsagePoint'
  | 'mirrorReading'
  | 'subscription'
  | 'logEvent'
  | 'settings';

export const RECORD_KINDS: readonly RecordKind[] = [
  'endDevice',
  'fsa',
  'program',
  'control',
  'defaultControl',
  'curve',
  'response',
  'derReport',
  'mirrorUsagePoint',
  'mirrorReading',
  'subscription',
  'logEvent',
  'settings',
];

/** CSIP-AUS ConnectionPoint (the NMI), kept inside its EndDeviceRecord. */
export interface ConnectionPointRecord {
  connectionPointId: string;
  meterId?: string;
  changedTime: number;
}

/**
 * An EndDevice. `role: 'aggregator'` is the EndDevice of an aggregator certificate itself (CSIP p.33:
 * it has a SubscriptionListLink but no FunctionSetAssignmentsListLink); EndDevices it manages carry
 * `aggregatorLfdi`. Store key: String(id).
 */
export interface EndDeviceRecord {
  id: number;
  /** 40 lower-case hex characters. */
  lfdi: string;
  sfdi: number;
  /** Registration PIN (2030.5 Registration.pIN, including its check digit). */
  pin?: number;
  role: 'device' | 'aggregator';
  /** LFDI (lower-case) of the aggregator certificate that manages this EndDevice. */
  aggregatorLfdi?: string;
  /** DeviceCategoryType bitmap as lower-case hex. */
  deviceCategory?: string;
  /** Seconds; absent = the server's variance (or none). */
  postRate?: number;
  /** False: the certificate has lost access (CACTUS S-ALL-05 set-client-access). */
  enabled: boolean;
  registeredBy: 'admin' | 'in-band' | 'scenario';
  /** Epoch seconds of registration (Registration.dateTimeRegistered). */
  registeredAt: number;
  /** CSIP-AUS NMI. */
  connectionPoint?: ConnectionPointRecord;
  changedTime: number;
  /** Program ids this EndDevice takes part in; absent = every program. */
  programIds?: string[];
  /** Number of DERs under /edev/{id}/der (ids 1..n); default 1. The aggregator EndDevice has none. */
  derCount?: number;
}

/** A FunctionSetAssignments. Store key: id. */
export interface FsaRecord {
  /** URL-safe lower-case id ([a-z0-9_-]{1,64}). */
  id: string;
  mRID: string;
  description: string;
}

/** A DERProgram. Store key: id. */
export interface ProgramRecord {
  /** URL-safe lower-case id ([a-z0-9_-]{1,64}). */
  id: string;
  /** 32 lower-case hex characters. */
  mRID: string;
  description: string;
  /** Lower value wins (2030.5 DERProgram.primacy). */
  primacy: number;
  /** The FunctionSetAssignments it is listed under. */
  fsaId: string;
  version?: number;
  changedTime: number;
}

/** A DERControl. Store key: mRID. */
export interface ControlRecord {
  /** 32 lower-case hex characters; unique across the server. */
  mRID: string;
  programId: string;
  /** EndDevices it applies to; absent = every EndDevice taking part in the program. */
  endDeviceIds?: number[];
  description?: string;
  version?: number;
  creationTime: number;
  /** Interval start, epoch seconds. */
  start: number;
  /** Interval duration, seconds. */
  duration: number;
  /** -3600..3600 seconds (2030.5 OneHourRangeType). */
  randomizeStart?: number;
  randomizeDuration?: number;
  /** 2030.5 responseRequired bitmap, lower-case hex ('00', '03'). */
  responseRequired: string;
  base: ControlBase;
  /** When it was cancelled (epoch seconds); it stays listed as Cancelled until its scheduled end. */
  cancelledAt?: number;
  /** Cancelled with randomization (EventStatus 3); only meaningful with randomizeStart/Duration. */
  cancelRandomized?: boolean;
  /** Set when a later control superseded it (EventStatus 4). */
  superseded?: boolean;
  supersededAt?: number;
  /** mRID of the control that superseded it. */
  supersededBy?: string;
  /** 2030.5 EventStatus.potentiallySuperseded, set at this time (overlaps another control in some fields). */
  potentiallySupersededAt?: number;
}

/** A DefaultDERControl: program-wide (no endDeviceId) or for one EndDevice. Store key: `${programId}` or `${programId}/${endDeviceId}`. */
export interface DefaultControlRecord {
  id: string;
  programId: string;
  endDeviceId?: number;
  mRID: string;
  description?: string;
  version?: number;
  base: ControlBase;
  setESDelay?: number;
  setESHighFreq?: number;
  setESHighVolt?: number;
  setESLowFreq?: number;
  setESLowVolt?: number;
  setESRampTms?: number;
  setESRandomDelay?: number;
  /** Hundredths of %setMaxW per second; 0 = no limit. */
  setGradW?: number;
  setSoftGradW?: number;
  changedTime: number;
}

/** A DERCurve of a program (the codec's DERCurve without href). Store key: `${programId}/${curveId}`. */
export interface CurveRecord extends Omit<DERCurve, 'href'> {
  id: string;
  programId: string;
  /** URL-safe lower-case id. */
  curveId: string;
}

/** A Response POSTed by a client (DERControlResponse). Store key: String(id). */
export interface ResponseRecord {
  id: number;
  /** The ResponseSet it was POSTed to ('derc'). */
  responseSetId: string;
  endDeviceId: number;
  /** LFDI as the client sent it, lower-cased. */
  endDeviceLFDI: string;
  /** mRID (lower-case) of the control responded to. */
  subject: string;
  /** 2030.5 ResponseType (1 Received, 2 Started, 3 Completed, 6 Cancelled, 7 Superseded ...). */
  status: number;
  createdDateTime?: number;
  receivedAt: number;
}

export type DerReportKind = 'DERCapability' | 'DERSettings' | 'DERStatus' | 'DERAvailability';

/** A DER document PUT by a client. Store key: `${endDeviceId}/${derId}/${kind}`. */
export interface DerReportRecord {
  id: string;
  endDeviceId: number;
  derId: number;
  kind: DerReportKind;
  /** The resource as the codec decoded it (without href). */
  doc: DERCapability | DERSettings | DERStatus | DERAvailability;
  receivedAt: number;
}

/** A MirrorMeterReading definition inside a MirrorUsagePoint. */
export interface MirrorMeterReadingDef {
  mRID: string;
  description?: string;
  ReadingType?: ReadingType;
}

/** A MirrorUsagePoint. Store key: String(id). */
export interface MirrorUsagePointRecord {
  id: number;
  mRID: string;
  description?: string;
  /** RoleFlagsType bitmap, lower-case hex. */
  roleFlags: string;
  serviceCategoryKind: number;
  status: number;
  /** The LFDI in the MUP (lower-case): the EndDevice it mirrors. */
  deviceLFDI: string;
  /** LFDI of the certificate that created it; only that certificate sees it. */
  ownerLfdi: string;
  /** The EndDevice with deviceLFDI, when one is registered. */
  endDeviceId?: number;
  postRate?: number;
  MirrorMeterReading: MirrorMeterReadingDef[];
  changedTime: number;
}

/** One reading posted into a MirrorUsagePoint. Store key: `${mupId}/${seq}`. */
export interface MirrorReadingRecord {
  id: string;
  mupId: number;
  /** mRID (lower-case) of the MirrorMeterReading it belongs to. */
  mmrMRID: string;
  /** Reading.value (already an integer; scale with the ReadingType's powerOfTenMultiplier). */
  value: number;
  /** Reading.timePeriod, epoch seconds. */
  start?: number;
  duration?: number;
  /** QualityFlags, lower-case hex. */
  qualityFlags?: string;
  receivedAt: number;
}

/** A Subscription made by a client on one of its EndDevices. Store key: String(id). */
export interface SubscriptionRecord {
  id: number;
  endDeviceId: number;
  /** The subscribed href, exactly as the server handed it out (lower-case path). */
  subscribedResource: string;
  notificationURI: string;
  /** Maximum number of list items per notification. */
  limit: number;
  /** 0 = application/sep+xml. */
  encoding: number;
  level: string;
  createdAt: number;
}

/** A LogEvent POSTed by a client. Store key: String(id). */
export interface LogEventRecord {
  id: number;
  endDeviceId: number;
  /** The LogEvent as decoded by the codec (without href). */
  doc: LogEvent;
  receivedAt: number;
}

/** Pollable resource families whose pollRate can be set (2030.5: only these resources carry pollRate). */
export type PollRateFamily =
  | 'DeviceCapability'
  | 'Time'
  | 'EndDeviceList'
  | 'Registration'
  | 'FunctionSetAssignmentsList'
  | 'DERProgramList'
  | 'DERList'
  | 'MirrorUsagePointList'
  | 'ResponseSetList';

export const POLL_RATE_FAMILIES: readonly PollRateFamily[] = [
  'DeviceCapability',
  'Time',
  'EndDeviceList',
  'Registration',
  'FunctionSetAssignmentsList',
  'DERProgramList',
  'DERList',
  'MirrorUsagePointList',
  'ResponseSetList',
];

/** Admin-changeable settings. Store key: 'settings'. */
export interface SettingsRecord {
  id: 'settings';
  pollRates: Partial<Record<PollRateFamily, number>>;
  /** Server-wide default postRate (seconds) for EndDevices and MirrorUsagePoints without their own. */
  postRate?: number;
}

/** Record type per kind. */
export interface RecordByKind {
  endDevice: EndDeviceRecord;
  fsa: FsaRecord;
  program: ProgramRecord;
  control: ControlRecord;
  defaultControl: DefaultControlRecord;
  curve: CurveRecord;
  response: ResponseRecord;
  derReport: DerReportRecord;
  mirrorUsagePoint: MirrorUsagePointRecord;
  mirrorReading: MirrorReadingRecord;
  subscription: SubscriptionRecord;
  logEvent: LogEventRecord;
  settings: SettingsRecord;
}

// ---------------------------------------------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------------------------------------------

export interface StoredRecord {
  kind: RecordKind;
  id: string;
  doc: unknown;
}

/** One change: `doc: null` deletes the record. */
export interface StateChange {
  kind: RecordKind;
  id: string;
  doc: unknown | null;
}

/**
 * Where the utility server persists its state. The server loads everything once at start and keeps it
 * in memory (memory is the read path); every write goes to the store first and only then to memory, so
 * an acknowledged write is never lost. Docs are plain JSON-compatible objects (numbers, strings,
 * booleans, arrays, objects).
 */
export interface SepStateStore {
  load(): Promise<StoredRecord[]>;
  /** Applies all changes atomically (one call is one transaction); rejects if nothing was applied. */
  write(changes: readonly StateChange[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

export type ServerProfile = 'csip' | 'csip-aus';
export type RegistrationModel = 'out-of-band' | 'in-band' | 'both';

/** Mutual TLS served by Node itself (TLS 1.2, ECDHE-ECDSA-AES128-CCM8 by default). PEM or DER buffers/strings. */
export interface ServerTlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** CA certificate(s) that client certificates must chain to. */
  ca: string | Buffer | Array<string | Buffer>;
  /** OpenSSL cipher list; default 'ECDHE-ECDSA-AES128-CCM8'. */
  ciphers?: string;
}

/**
 * Behind a TLS terminator: plain HTTP, the client identity taken from a header the proxy sets (client
 * certificate PEM, URL-encoded PEM, SHA-256 fingerprint or LFDI).
 */
export interface TerminatorOptions {
  /** Header name, e.g. 'x-forwarded-client-cert' (case-insensitive). */
  header: string;
  /** Remote addresses allowed to set that header; default ['127.0.0.1', '::1', '::ffff:127.0.0.1']. */
  trustedProxies?: string[];
}

/** Per-utility variances (notes §2.7). */
export interface UtilityVariances {
  /** pollRate per resource family, seconds; default 900 (sep.xsd default) for each. */
  pollRates?: Partial<Record<PollRateFamily, number>>;
  /** postRate (seconds) on EndDevices and MirrorUsagePoints that do not set their own. */
  postRate?: number;
  /**
   * CSIP-AUS: export limit (W) of the DefaultDERControl served for a program that has none configured
   * (e.g. SAPN 1500). Absent = no DefaultDERControl until an admin sets one.
   */
  defaultExportLimitW?: number;
  /** Default 'out-of-band'. */
  registration?: RegistrationModel;
  /** PIN given to in-band registered EndDevices (default 111115, the EPRI/CSIP test PIN). */
  registrationPin?: number;
  /**
   * True (default): a control addressed to several EndDevices is one DERControl (one mRID) shared by
   * them. False: one DERControl per EndDevice, each with its own mRID.
   */
  sharedControls?: boolean;
  /** False: a PUT changing an already set ConnectionPoint answers 409 (Ausgrid). Default true. */
  allowConnectionPointUpdates?: boolean;
  /**
   * Check that a PUT ConnectionPoint.connectionPointId has the shape of an AEMO NMI (10 characters, digits
   * and capitals other than I/O, optional checksum digit, which is then verified). Default true for
   * csip-aus.
   */
  nmiValidation?: boolean;
  /** Response statuses accepted; default every ResponseType of 2030.5 Table 27 (1-14, 252-254). */
  responseStatuses?: number[];
  /**
   * IANA Private Enterprise Number written into the last 32 bits of the mRIDs the server generates
   * (CSIP-AUS convention). Default 0.
   */
  mridPen?: number;
}

export interface NotificationOptions {
  /** Allow loopback/link-local/private notificationURIs (tests). Default false. */
  allowLoopback?: boolean;
  retry?: {
    /** Attempts in total per notification; default 6. */
    attempts?: number;
    /** First back-off, ms; default 1000; doubled per attempt. */
    initialDelayMs?: number;
    /** Back-off cap, ms; default 60000. */
    maxDelayMs?: number;
  };
  /** Per attempt, ms; default 10000. */
  timeoutMs?: number;
  /**
   * CA certificate(s) a receiver's server certificate must chain to, in addition to Node's default CAs.
   * Default: the TLS `ca` (the 2030.5 PKI).
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the receiver's certificate chain; default true. */
  rejectUnauthorized?: boolean;
  /**
   * When the receiver's certificate does not carry the subscriber's LFDI, check its host name as for any
   * HTTPS server; default true (2030.5 relays have public names). A receiver proving the subscriber's
   * LFDI is accepted whatever its host name (device certificates name no host).
   */
  checkHostname?: boolean;
}

/** The Time resource's zone (2030.5 Time); default UTC without daylight saving. */
export interface TimeZoneOptions {
  /** Seconds east of UTC, without daylight saving. */
  tzOffset: number;
  /** Seconds added during daylight saving (0 = none). */
  dstOffset?: number;
  /** Epoch seconds of this year's daylight-saving start/end (0 when none). */
  dstStartTime?: number;
  dstEndTime?: number;
}

export interface UtilityServerOptions {
  profile: ServerProfile;
  /** CSIP-AUS namespace version; default 'v1.2'. */
  csipausVersion?: CsipAusVersion;
  /** Exactly one of tls / terminator. */
  tls?: ServerTlsOptions;
  terminator?: TerminatorOptions;
  variances?: UtilityVariances;
  notifications?: NotificationOptions;
  /** Request body limit in bytes; default 65536. */
  bodyLimit?: number;
  /** Default page size when `l` is absent; default 1 (envoy; 2030.5 lists default to one entry). */
  defaultListLimit?: number;
  /** Largest `l` served; default 500. */
  maxListLimit?: number;
  /** Keep-alive idle timeout, ms; default max(longest pollRate + 60 s, 3600 s). */
  keepAliveTimeoutMs?: number;
  timeZone?: TimeZoneOptions;
  /** Emitted responses cached (GET of stable resources); default 100000, 0 disables the cache. */
  responseCacheEntries?: number;
  /**
   * Controls are deleted this many seconds after they left every list (their hrefs then answer 404);
   * default 7 days. Checked hourly.
   */
  controlRetentionSeconds?: number;
  /** MirrorReadingRecords kept per MirrorMeterReading (oldest deleted first); default 100. */
  readingRetention?: number;
  /** Clock in epoch seconds (tests inject one). Default Date.now()/1000 rounded down. */
  now?: () => number;
  /** Log sink for warnings (notification failures, rejected requests). */
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;
  /** Observers called after a client write is persisted (for telemetry pipelines). Errors are logged and ignored. */
  observers?: UtilityObservers;
}

export interface UtilityObservers {
  onResponse?(record: ResponseRecord): void;
  onDerReport?(record: DerReportRecord): void;
  onReadings?(records: readonly MirrorReadingRecord[]): void;
  onLogEvent?(record: LogEventRecord): void;
  onEndDeviceRegistered?(record: EndDeviceRecord): void;
}

// ---------------------------------------------------------------------------------------------------------------
// Admin operations (the gateway's admin REST API calls these). Writes persist before they resolve.
// ---------------------------------------------------------------------------------------------------------------

export interface RegisterEndDeviceInput {
  /** LFDI (any case, 40 hex); sfdi is derived from it when absent. Either lfdi or sfdi is required. */
  lfdi?: string;
  sfdi?: number;
  pin?: number;
  role?: 'device' | 'aggregator';
  /** LFDI of the aggregator certificate that manages this device. */
  aggregatorLfdi?: string;
  deviceCategory?: string;
  postRate?: number;
  programIds?: string[];
  derCount?: number;
  connectionPointId?: string;
  registeredBy?: 'admin' | 'scenario';
  enabled?: boolean;
}

export interface UpdateEndDeviceInput {
  pin?: number | null;
  enabled?: boolean;
  postRate?: number | null;
  programIds?: string[] | null;
  aggregatorLfdi?: string | null;
  derCount?: number;
  connectionPointId?: string | null;
}

export interface CreateProgramInput {
  id?: string;
  mRID?: string;
  description: string;
  primacy: number;
  /** Default 'default' (created on demand). */
  fsaId?: string;
  version?: number;
}

export interface CreateFsaInput {
  id?: string;
  mRID?: string;
  description: string;
}

export interface SetDefaultControlInput {
  programId: string;
  /** Absent = program-wide. */
  endDeviceId?: number;
  mRID?: string;
  description?: string;
  base: ControlBase;
  setESDelay?: number;
  setESHighFreq?: number;
  setESHighVolt?: number;
  setESLowFreq?: number;
  setESLowVolt?: number;
  setESRampTms?: number;
  setESRandomDelay?: number;
  setGradW?: number;
  setSoftGradW?: number;
}

export interface CreateCurveInput
  extends Omit<DERCurve, 'href' | 'mRID' | 'creationTime' | 'xMultiplier' | 'yMultiplier'> {
  programId: string;
  curveId?: string;
  mRID?: string;
  /** Default 0. */
  xMultiplier?: number;
  /** Default 0. */
  yMultiplier?: number;
}

export interface CreateControlInput {
  programId: string;
  /** Absent = every EndDevice of the program. */
  endDeviceIds?: number[];
  mRID?: string;
  description?: string;
  /** Epoch seconds; default now. */
  start?: number;
  duration: number;
  randomizeStart?: number;
  randomizeDuration?: number;
  /** Default '03' (Received + specific responses, as CSIP-AUS servers send). */
  responseRequired?: string;
  base: ControlBase;
}

export interface CreateControlResult {
  /** The controls created (one, or one per EndDevice when sharedControls is false). */
  controls: ControlRecord[];
  /** Controls this creation superseded (now flagged superseded). */
  superseded: ControlRecord[];
}

export interface CancelControlOptions {
  /** Cancelled with randomization (EventStatus 3). */
  randomized?: boolean;
}

export interface ListFilter {
  /** Skip this many (after filtering); default 0. */
  offset?: number;
  /** At most this many; default all. */
  limit?: number;
}

export interface ControlFilter extends ListFilter {
  programId?: string;
  endDeviceId?: number;
  /** Include controls whose visible window has passed; default false. */
  includeExpired?: boolean;
}

export interface ResponseFilter extends ListFilter {
  endDeviceId?: number;
  subject?: string;
  status?: number;
  /** receivedAt >= since (epoch seconds). */
  since?: number;
}

export interface ReadingFilter extends ListFilter {
  mupId?: number;
  endDeviceId?: number;
  mmrMRID?: string;
  since?: number;
}

export interface LogEventFilter extends ListFilter {
  endDeviceId?: number;
  since?: number;
}

export interface EndDeviceFilter extends ListFilter {
  lfdi?: string;
  aggregatorLfdi?: string;
  role?: 'device' | 'aggregator';
}

/** A control as the server currently reports it, for admin views. */
export interface ControlView extends ControlRecord {
  /** 2030.5 EventStatus.currentStatus now: 0 Scheduled, 1 Active, 2 Cancelled, 3 Cancelled with randomization, 4 Superseded. */
  currentStatus: number;
}

export interface UtilityAdmin {
  registerEndDevice(input: RegisterEndDeviceInput): Promise<EndDeviceRecord>;
  updateEndDevice(id: number, input: UpdateEndDeviceInput): Promise<EndDeviceRecord>;
  /** Removes the EndDevice and everything under it (reports, subscriptions, log events, its MUPs). */
  removeEndDevice(id: number): Promise<void>;
  getEndDevice(idOrLfdi: number | string): EndDeviceRecord | undefined;
  listEndDevices(filter?: EndDeviceFilter): EndDeviceRecord[];

  createFsa(input: CreateFsaInput): Promise<FsaRecord>;
  listFsas(): FsaRecord[];
  createProgram(input: CreateProgramInput): Promise<ProgramRecord>;
  updateProgram(id: string, input: Partial<Omit<CreateProgramInput, 'id'>>): Promise<ProgramRecord>;
  /** Removes the program with its controls, default controls and curves. */
  removeProgram(id: string): Promise<void>;
  listPrograms(): ProgramRecord[];

  setDefaultControl(input: SetDefaultControlInput): Promise<DefaultControlRecord>;
  clearDefaultControl(programId: string, endDeviceId?: number): Promise<void>;
  listDefaultControls(programId?: string): DefaultControlRecord[];

  createCurve(input: CreateCurveInput): Promise<CurveRecord>;
  removeCurve(programId: string, curveId: string): Promise<void>;
  listCurves(programId?: string): CurveRecord[];

  createControl(input: CreateControlInput): Promise<CreateControlResult>;
  cancelControl(mRID: string, options?: CancelControlOptions): Promise<ControlRecord>;
  /** Cancels every control not yet ended (optionally of one program / EndDevice); returns those cancelled. */
  cancelAllControls(
    filter?: { programId?: string; endDeviceId?: number },
    options?: CancelControlOptions,
  ): Promise<ControlRecord[]>;
  getControl(mRID: string): ControlView | undefined;
  /** Deletes controls that left every list more than controlRetentionSeconds ago (the server also runs this hourly). */
  pruneExpiredControls(): Promise<number>;
  listControls(filter?: ControlFilter): ControlView[];

  listResponses(filter?: ResponseFilter): ResponseRecord[];
  derReports(endDeviceId: number): DerReportRecord[];
  mirrorUsagePoints(filter?: { endDeviceId?: number; ownerLfdi?: string }): MirrorUsagePointRecord[];
  /** Removes the MirrorUsagePoints owned by a certificate (CACTUS ensure-mup-list-empty). */
  clearMirrorUsagePoints(filter: { endDeviceId?: number; ownerLfdi?: string }): Promise<number>;
  mirrorReadings(filter?: ReadingFilter): MirrorReadingRecord[];
  logEvents(filter?: LogEventFilter): LogEventRecord[];
  listSubscriptions(filter?: { endDeviceId?: number }): SubscriptionRecord[];

  /** Sets (or with null resets to the variance/default) the pollRate of one resource family. */
  setPollRate(family: PollRateFamily, seconds: number | null): Promise<void>;
  pollRates(): Record<PollRateFamily, number>;
  /** Server-wide default postRate (null = back to the variance). */
  setPostRate(seconds: number | null): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------

export interface InjectRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'PATCH';
  url: string;
  body?: string;
  headers?: Record<string, string>;
  /** Client identity for the request (LFDI); tests use it instead of a certificate. */
  lfdi?: string;
}

export interface InjectResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

export interface UtilityServer {
  listen(address: { host: string; port: number }): Promise<{ port: number }>;
  close(): Promise<void>;
  readonly admin: UtilityAdmin;
  /** In-process request without sockets (identity from `lfdi`). */
  inject(request: InjectRequest): Promise<InjectResponse>;
  /** Resolves when every queued notification has been delivered or has given up (tests). */
  drainNotifications(): Promise<void>;
}
