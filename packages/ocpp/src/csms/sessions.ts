/**
 * Charging sessions per station, bounded: beyond `maxPerStation` the oldest ended session goes
 * first (the oldest active one only when none has ended: a station can claim any number of
 * transactions, memory cannot).
 *
 * 1.6 transaction ids are integers the CSMS assigns (StartTransaction.conf). They start from the
 * seconds since 2024-01-01 at start-up, so ids handed out before a restart are not handed out again
 * to a station that still holds one (at fewer than one transaction per second on average), and stay
 * within a signed 32-bit integer, which stations commonly store them in, until 2092.
 */
import type { NumericReading, Reading } from '@gridseam/model';
import type { ChargingSession, EvseStatus } from '../contract.ts';

const ID_EPOCH_MS = Date.UTC(2024, 0, 1);

export interface SessionEntry {
  session: ChargingSession;
  /** 2.0.1: the highest TransactionEvent seqNo applied. */
  lastSeqNo?: number;
  /** Timestamp of the energy register value behind energyWh, so late (offline) values do not roll it back. */
  registerAt?: number;
  /** 2.0.1: the EVSE status the latest live TransactionEvent's chargingState stands for. */
  chargingStatus?: EvseStatus;
}

export class SessionBook {
  private readonly byStation = new Map<string, Map<string, SessionEntry>>();
  private nextId: number;

  constructor(
    private readonly maxPerStation: number,
    now: number,
  ) {
    this.nextId = Math.max(1, Math.floor((now - ID_EPOCH_MS) / 1000));
  }

  /** A fresh 1.6 transaction id. */
  allocateId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 2_147_483_647 ? 1 : this.nextId + 1;
    return id;
  }

  get(identity: string, transactionId: string): SessionEntry | undefined {
    return this.byStation.get(identity)?.get(transactionId);
  }

  put(identity: string, entry: SessionEntry): void {
    let sessions = this.byStation.get(identity);
    if (!sessions) {
      sessions = new Map();
      this.byStation.set(identity, sessions);
    }
    sessions.set(entry.session.transactionId, entry);
    while (sessions.size > this.maxPerStation) {
      let victim: string | undefined;
      for (const [id, candidate] of sessions) {
        if (candidate.session.state === 'ended') {
          victim = id;
          break;
        }
      }
      victim ??= sessions.keys().next().value;
      if (victim === undefined) break;
      sessions.delete(victim);
    }
  }

  /** The active session on an EVSE (the most recent one if a station reports several). */
  activeOn(identity: string, evseId: number): SessionEntry | undefined {
    let found: SessionEntry | undefined;
    for (const entry of this.byStation.get(identity)?.values() ?? []) {
      if (entry.session.state === 'active' && entry.session.evseId === evseId) found = entry;
    }
    return found;
  }

  /** A 1.6 StartTransaction the station sent again (its answer was lost): same connector, time and meter. */
  findRepeatedStart(
    identity: string,
    evseId: number,
    startedAt: number,
    meterStartWh: number,
  ): SessionEntry | undefined {
    for (const entry of this.byStation.get(identity)?.values() ?? []) {
      const s = entry.session;
      if (s.evseId === evseId && s.startedAt === startedAt && s.meterStartWh === meterStartWh) return entry;
    }
    return undefined;
  }

  list(identity?: string): ChargingSession[] {
    const stations = identity === undefined ? [...this.byStation.values()] : [this.byStation.get(identity)];
    const out: ChargingSession[] = [];
    for (const sessions of stations) {
      for (const entry of sessions?.values() ?? []) out.push({ ...entry.session });
    }
    return out;
  }

  drop(identity: string): void {
    this.byStation.delete(identity);
  }
}

function isTotal(reading: Reading): reading is NumericReading {
  return typeof reading.value === 'number' && reading.phase === undefined;
}

/**
 * Folds meter readings into a session: the newest imported-energy register gives energyWh (against
 * meterStartWh, which a 2.0.1 session takes from the first register it sees), the newest EV state of
 * charge gives evSocPct. Returns whether anything changed.
 */
export function applySessionReadings(entry: SessionEntry, readings: readonly Reading[]): boolean {
  const session = entry.session;
  let changed = false;
  let socAt = Number.NEGATIVE_INFINITY;
  for (const reading of readings) {
    if (!isTotal(reading)) continue;
    if (reading.measurand === 'energyImported') {
      // 2.0.1 has no meterStart: the first register seen (the Transaction.Begin sample) stands in.
      if (session.meterStartWh === undefined) {
        session.meterStartWh = reading.value;
        changed = true;
      }
      if (entry.registerAt === undefined || reading.ts >= entry.registerAt) {
        entry.registerAt = reading.ts;
        const energy = Math.max(0, reading.value - (session.meterStartWh ?? reading.value));
        if (session.energyWh !== energy) {
          session.energyWh = energy;
          changed = true;
        }
      }
    } else if (reading.measurand === 'stateOfCharge' && reading.ts >= socAt) {
      socAt = reading.ts;
      if (session.evSocPct !== reading.value) {
        session.evSocPct = reading.value;
        changed = true;
      }
    }
  }
  return changed;
}
