/**
 * Charging stations behind the canonical DeviceAdapter contract (@gridseam/model), as the
 * gateway's edge runtime uses them: one `OcppChargerAdapter` per station identity, fed by the
 * CSMS's events through `OcppChargers`.
 *
 * OCPP is push-based (the station sends MeterValues, StatusNotification, transactions) while the
 * edge runtime polls; the adapter bridges the two by buffering the canonical readings the CSMS
 * received since the last poll (bounded; the oldest are dropped and counted). A poll of a station
 * that is not connected fails with GW_ERR_DEVICE_UNREACHABLE, so the runtime marks it faulty and
 * the control engine leaves it out; the readings buffered before it went away are kept for the
 * next successful poll.
 *
 * The station's operating state (from its EVSE statuses) is a poll reading too, but only when it
 * changed since the state last polled, or when that one is `stateRefreshMs` old (default 60 s):
 * an idle fleet then writes one state row per station a minute rather than one per poll, and the
 * latest state's age stays bounded. The first poll after a (re)connect always carries it.
 *
 * Control: `evChargingLimit` (W or A) and `loadLimit` (W) become a charging profile through
 * `Csms.setChargingLimit` on the station (evse 0, a StationMax profile) or a configured EVSE,
 * queued while the station is offline until the setpoint expires, and confirmed by the composite
 * schedule the station reports (OCPP 1.6 §5.13 / 2.0.1 K08 GetCompositeSchedule).
 */
import {
  type ApplyOutcome,
  type DeviceAdapter,
  type DeviceDescription,
  GridseamError,
  type OperatingState,
  type Reading,
  type Setpoint,
} from '@gridseam/model';
import { capabilitiesOf, operatingStateOf } from './canonical.ts';
import type {
  ChargingLimit,
  ChargingRateUnit,
  ChargingSession,
  Csms,
  CsmsEvents,
  EvseInfo,
  EvseStatus,
  OcppVersion,
  StationInfo,
} from './contract.ts';

/** Readings kept per station between polls; beyond it the oldest are dropped (and counted). */
export const DEFAULT_MAX_BUFFERED_READINGS = 5000;
/** An unchanged operating state is polled again after this long, ms. */
export const DEFAULT_STATE_REFRESH_MS = 60_000;

/** The electrical facts assumed where a station does not report them. */
export interface ChargerDefaults {
  maxCurrentA: number;
  phases: 1 | 3;
  voltage: number;
}

/** What the adapter needs of the CSMS to control a station (bound late: the CSMS starts after the adapters). */
export type ChargerControl = Pick<Csms, 'setChargingLimit'>;

export interface OcppChargerAdapterOptions {
  /** The registry's device id. */
  deviceId: string;
  /** The station's OCPP identity. */
  identity: string;
  control: ChargerControl;
  defaults: ChargerDefaults;
  /** This station's per-EVSE current limit, phases and EVSE count, where the operator knows them. */
  maxCurrentA?: number;
  phases?: 1 | 3;
  evses?: number;
  /** The EVSE limits are installed on; 0 (default) is the whole station (StationMax profile). */
  controlEvseId?: number;
  maxBufferedReadings?: number;
  /**
   * An unchanged operating state is repeated in a poll's readings once it is this old, ms
   * (default 60,000); a changed one is always in the next poll. 0 repeats it every poll.
   */
  stateRefreshMs?: number;
  /** Clock for read-back stamps; default Date.now. */
  now?: () => number;
}

export interface ChargerAdapterStats {
  connected: boolean;
  version: OcppVersion | undefined;
  booted: boolean;
  buffered: number;
  /** Readings dropped because the buffer was full (the edge did not poll in time). */
  droppedReadings: number;
}

const SUPPORTED_KINDS: ReadonlySet<Setpoint['kind']> = new Set(['evChargingLimit', 'loadLimit']);

export class OcppChargerAdapter implements DeviceAdapter {
  readonly deviceId: string;
  readonly identity: string;
  private readonly options: OcppChargerAdapterOptions;
  private readonly now: () => number;
  private readonly maxBuffered: number;
  private readonly stateRefreshMs: number;
  /** The operating state the last poll carried, and that poll's instant. */
  private polledState: { value: OperatingState; at: number } | undefined;
  private online = false;
  private versionInUse: OcppVersion | undefined;
  private info: StationInfo | undefined;
  private readonly statuses = new Map<number, EvseStatus>();
  private stationStatus: EvseStatus | undefined;
  private buffer: Reading[] = [];
  private dropped = 0;

  constructor(options: OcppChargerAdapterOptions) {
    const evse = options.controlEvseId ?? 0;
    if (!Number.isInteger(evse) || evse < 0)
      throw new GridseamError('GW_ERR_VALIDATION', `controlEvseId must be an integer >= 0, got ${evse}`, {
        issues: [{ path: '/controlEvseId', message: 'expected an integer >= 0' }],
      });
    this.options = options;
    this.deviceId = options.deviceId;
    this.identity = options.identity;
    this.now = options.now ?? Date.now;
    this.maxBuffered = Math.max(1, options.maxBufferedReadings ?? DEFAULT_MAX_BUFFERED_READINGS);
    const refresh = options.stateRefreshMs ?? DEFAULT_STATE_REFRESH_MS;
    if (!Number.isFinite(refresh) || refresh < 0)
      throw new GridseamError('GW_ERR_VALIDATION', `stateRefreshMs must be a number >= 0, got ${refresh}`, {
        issues: [{ path: '/stateRefreshMs', message: 'expected a number >= 0' }],
      });
    this.stateRefreshMs = refresh;
  }

  /** Whether the station's WebSocket is open. */
  get connected(): boolean {
    return this.online;
  }

  /** What the station said at its last BootNotification, once it has booted. */
  get station(): StationInfo | undefined {
    return this.info;
  }

  stats(): ChargerAdapterStats {
    return {
      connected: this.online,
      version: this.versionInUse,
      booted: this.info !== undefined,
      buffered: this.buffer.length,
      droppedReadings: this.dropped,
    };
  }

  /**
   * Class ev-charger and the capabilities of the station as it booted, or, before it has, as
   * configured: one EVSE per configured `evses` with the configured (else default) limits.
   */
  async describe(): Promise<DeviceDescription> {
    const station = this.stationFacts();
    const description: DeviceDescription = {
      class: 'ev-charger',
      capabilities: capabilitiesOf(station, this.options.defaults),
    };
    const text = (value: string | undefined) =>
      value !== undefined && value.trim() !== '' ? value.trim().slice(0, 128) : undefined;
    const manufacturer = text(this.info?.vendor);
    const model = text(this.info?.model);
    const serial = text(this.info?.serial);
    const firmware = text(this.info?.firmware);
    if (manufacturer !== undefined) description.manufacturer = manufacturer;
    if (model !== undefined) description.model = model;
    if (serial !== undefined) description.serial = serial;
    if (firmware !== undefined) description.firmware = firmware;
    return description;
  }

  /**
   * The readings received since the last poll, plus the station's operating state at `at` when it
   * changed or the last one polled is `stateRefreshMs` old (see the header).
   */
  async poll(at: number): Promise<Reading[]> {
    if (!this.online)
      throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `charging station ${this.identity} is not connected`, {
        details: { identity: this.identity },
      });
    const readings = this.buffer;
    this.buffer = [];
    // Connector/EVSE 0 is the station as a whole (1.6 §4.9): it speaks only while no EVSE has reported.
    const state =
      this.statuses.size > 0
        ? operatingStateOf([...this.statuses.values()])
        : this.stationStatus !== undefined
          ? operatingStateOf(this.stationStatus)
          : undefined;
    if (state !== undefined && this.stateDue(state, at)) {
      readings.push({ deviceId: this.deviceId, ts: at, measurand: 'operatingState', value: state, unit: 'state' });
      this.polledState = { value: state, at };
    }
    return readings;
  }

  /** Whether a poll at `at` carries the state: changed, never polled, refresh due, or the clock went back. */
  private stateDue(state: OperatingState, at: number): boolean {
    const last = this.polledState;
    return last === undefined || last.value !== state || at < last.at || at - last.at >= this.stateRefreshMs;
  }

  /**
   * evChargingLimit (in its unit, W by default) or loadLimit (W) as a charging limit on the
   * control EVSE from the setpoint's start to its expiry; while the station is offline the CSMS
   * keeps it until the expiry and sends it on reconnect. Resolves with the composite schedule's
   * limit for now, in the setpoint's unit.
   */
  async apply(setpoint: Setpoint): Promise<ApplyOutcome> {
    if (!SUPPORTED_KINDS.has(setpoint.kind))
      throw new GridseamError(
        'GW_ERR_NOT_SUPPORTED',
        `charging station ${this.identity}: ${setpoint.kind} is not supported (evChargingLimit and loadLimit are)`,
        { details: { identity: this.identity, kind: setpoint.kind } },
      );
    const unit: ChargingRateUnit = setpoint.kind === 'evChargingLimit' ? (setpoint.unit ?? 'W') : 'W';
    const limit: ChargingLimit = {
      evseId: this.options.controlEvseId ?? 0,
      value: setpoint.value,
      unit,
      start: setpoint.start,
      expiry: setpoint.expiry,
    };
    const outcome = await this.options.control.setChargingLimit(this.identity, limit, {
      queueUntil: setpoint.expiry,
    });
    const detail = `profile ${outcome.profileId} on evse ${limit.evseId}: ${outcome.detail}`;
    return { readBack: { at: this.now(), value: outcome.readBack }, detail: detail.slice(0, 1024) };
  }

  async close(): Promise<void> {
    this.buffer = [];
  }

  // -- CSMS events (OcppChargers routes them here) --------------------------------------------

  onConnected(version: OcppVersion): void {
    this.online = true;
    this.versionInUse = version;
  }

  onDisconnected(): void {
    this.online = false;
    // The statuses may change unseen while away: the first poll after the reconnect carries the state.
    this.polledState = undefined;
  }

  onBooted(station: StationInfo): void {
    this.info = station;
  }

  onStatus(evseId: number, status: EvseStatus): void {
    if (evseId === 0) this.stationStatus = status;
    else this.statuses.set(evseId, status);
  }

  onReadings(readings: readonly Reading[]): void {
    for (const reading of readings)
      this.buffer.push(reading.deviceId === this.deviceId ? reading : { ...reading, deviceId: this.deviceId });
    const excess = this.buffer.length - this.maxBuffered;
    if (excess > 0) {
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
  }

  /** The station as booted (EVSE facts it did not report filled from configuration), else as configured. */
  private stationFacts(): StationInfo {
    const { maxCurrentA, phases, evses } = this.options;
    const configured = (evseId: number): EvseInfo => ({
      evseId,
      ...(maxCurrentA !== undefined ? { maxCurrentA } : {}),
      ...(phases !== undefined ? { phases } : {}),
    });
    const info = this.info;
    if (info !== undefined && info.evses.length > 0)
      return {
        ...info,
        evses: info.evses.map((evse) => ({ ...configured(evse.evseId), ...withoutUndefined(evse) })),
      };
    const count = evses ?? info?.evses.length ?? 1;
    return {
      identity: this.identity,
      version: info?.version ?? this.versionInUse ?? '1.6',
      vendor: info?.vendor ?? '',
      model: info?.model ?? '',
      evses: Array.from({ length: Math.max(1, count) }, (_, i) => configured(i + 1)),
    };
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, inner] of Object.entries(value))
    if (inner !== undefined) (out as Record<string, unknown>)[key] = inner;
  return out;
}

/** Listeners for what the adapters do not keep (sessions, boots of unknown stations, ...). */
export type ChargerListener = Partial<CsmsEvents>;

/**
 * The adapters of one CSMS by identity: it is the CSMS's `events` and routes each event to the
 * station's adapter (readings, status, connection, boot), then to the optional listener. Events
 * of stations without an adapter go to the listener only (and are counted).
 */
export class OcppChargers implements CsmsEvents {
  private readonly adapters = new Map<string, OcppChargerAdapter>();
  private csms: ChargerControl | undefined;
  private unmatched = 0;
  /** Limits are sent through the CSMS once attached; before that a station cannot be connected. */
  readonly control: ChargerControl = {
    setChargingLimit: (identity, limit, options) => {
      if (this.csms === undefined)
        return Promise.reject(
          new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `charging station ${identity}: the CSMS is not running`),
        );
      return this.csms.setChargingLimit(identity, limit, options);
    },
  };

  constructor(private readonly listener: ChargerListener = {}) {}

  /** Binds the started CSMS (the adapters' control goes through it). */
  attach(csms: ChargerControl): void {
    this.csms = csms;
  }

  /** Creates and keeps the adapter of one station; its control is this registry's. */
  add(options: Omit<OcppChargerAdapterOptions, 'control'>): OcppChargerAdapter {
    if (this.adapters.has(options.identity))
      throw new GridseamError('GW_ERR_CONFLICT', `charging station ${options.identity} already has an adapter`);
    const adapter = new OcppChargerAdapter({ ...options, control: this.control });
    this.adapters.set(options.identity, adapter);
    return adapter;
  }

  get(identity: string): OcppChargerAdapter | undefined {
    return this.adapters.get(identity);
  }

  has(identity: string): boolean {
    return this.adapters.has(identity);
  }

  all(): OcppChargerAdapter[] {
    return [...this.adapters.values()];
  }

  /** Events of identities without an adapter (accepted unknown stations). */
  get unmatchedEvents(): number {
    return this.unmatched;
  }

  connected(identity: string, version: OcppVersion): void {
    this.route(identity)?.onConnected(version);
    this.listener.connected?.(identity, version);
  }

  disconnected(identity: string): void {
    this.route(identity)?.onDisconnected();
    this.listener.disconnected?.(identity);
  }

  booted(station: StationInfo): void {
    this.route(station.identity)?.onBooted(station);
    this.listener.booted?.(station);
  }

  status(identity: string, evseId: number, status: EvseStatus, at: number): void {
    this.route(identity)?.onStatus(evseId, status);
    this.listener.status?.(identity, evseId, status, at);
  }

  readings(identity: string, readings: Reading[]): void {
    this.route(identity)?.onReadings(readings);
    this.listener.readings?.(identity, readings);
  }

  session(session: ChargingSession): void {
    this.route(session.identity);
    this.listener.session?.(session);
  }

  private route(identity: string): OcppChargerAdapter | undefined {
    const adapter = this.adapters.get(identity);
    if (adapter === undefined) this.unmatched++;
    return adapter;
  }
}
