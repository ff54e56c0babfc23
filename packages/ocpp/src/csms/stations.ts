/**
 * What the CSMS remembers per station identity: the current connection, the answer to its last
 * BootNotification, its StationInfo and the EVSEs it has mentioned. Kept across reconnects (a
 * station sends BootNotification after a reboot, not after every reconnect: OCPP 1.6 §4.2, 2.0.1
 * B01), bounded: at most `maxStations` connected, and as many again remembered offline (the least
 * recently seen offline record is forgotten first).
 */
import type { EvseInfo, OcppVersion, StationInfo } from '../contract.ts';
import type { StationLink } from './link.ts';

export type BootState = 'none' | 'Pending' | 'Accepted' | 'Rejected';

/** EVSEs remembered per station; a station naming more is not believed. */
export const MAX_EVSES_PER_STATION = 128;

export interface StationRecord {
  readonly identity: string;
  version: OcppVersion;
  link: StationLink | undefined;
  boot: BootState;
  /** Whether the current connection has sent a BootNotification. */
  bootSeen: boolean;
  info: StationInfo | undefined;
  evses: Map<number, EvseInfo>;
  lastSeen: number;
  bootTrigger: NodeJS.Timeout | undefined;
  /** After a reconnect with an accepted boot on record: when to send the queued commands if the station stays silent. */
  flushTimer: NodeJS.Timeout | undefined;
  /** Profile ids installed by setChargingLimit, by `${evseId}/${purpose}`. */
  limits: Map<string, number>;
  flushing: boolean;
}

export class StationRegistry {
  private readonly records = new Map<string, StationRecord>();
  private readonly online = new Set<string>();

  constructor(
    readonly maxStations: number,
    private readonly onForget: (identity: string) => void,
  ) {}

  get(identity: string): StationRecord | undefined {
    return this.records.get(identity);
  }

  values(): IterableIterator<StationRecord> {
    return this.records.values();
  }

  connected(): string[] {
    return [...this.online];
  }

  connectedCount(): number {
    return this.online.size;
  }

  /** Makes `link` the station's current connection (undefined: it has none). */
  setLink(record: StationRecord, link: StationLink | undefined): void {
    record.link = link;
    if (link) this.online.add(record.identity);
    else this.online.delete(record.identity);
  }

  /** The record for a connecting station; a different version than last time starts afresh. */
  connect(identity: string, version: OcppVersion, now: number): StationRecord {
    let record = this.records.get(identity);
    if (record && record.version !== version) {
      record.version = version;
      record.boot = 'none';
      record.info = undefined;
      record.evses.clear();
      record.limits.clear();
    }
    if (!record) {
      this.makeRoom();
      record = {
        identity,
        version,
        link: undefined,
        boot: 'none',
        bootSeen: false,
        info: undefined,
        evses: new Map(),
        lastSeen: now,
        bootTrigger: undefined,
        flushTimer: undefined,
        limits: new Map(),
        flushing: false,
      };
      this.records.set(identity, record);
    }
    record.lastSeen = now;
    return record;
  }

  /** Remembers an EVSE a station mentioned (0 is the station itself and is not an EVSE). */
  noteEvse(record: StationRecord, evseId: number): void {
    if (evseId <= 0 || record.evses.has(evseId) || record.evses.size >= MAX_EVSES_PER_STATION) return;
    record.evses.set(evseId, { evseId });
  }

  /** StationInfo with every EVSE seen so far (boot info first, then those mentioned since). */
  info(record: StationRecord): StationInfo | undefined {
    if (!record.info) return undefined;
    const evses = new Map<number, EvseInfo>();
    for (const evse of record.info.evses) evses.set(evse.evseId, { ...evse });
    for (const evse of record.evses.values()) if (!evses.has(evse.evseId)) evses.set(evse.evseId, { ...evse });
    return { ...record.info, evses: [...evses.values()].sort((a, b) => a.evseId - b.evseId) };
  }

  private makeRoom(): void {
    if (this.records.size < this.maxStations * 2) return;
    let oldest: StationRecord | undefined;
    for (const record of this.records.values()) {
      if (!record.link && (oldest === undefined || record.lastSeen < oldest.lastSeen)) oldest = record;
    }
    if (!oldest) return;
    this.records.delete(oldest.identity);
    this.onForget(oldest.identity);
  }
}
