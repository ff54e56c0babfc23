/**
 * Charging sessions of OCPP stations in the store (`store.documents`, namespace 'ocpp-sessions'):
 * one document per device, `{ sessions: [...] }`, oldest first and bounded (ended sessions drop
 * out first). The CSMS reports a session at its start, at each update and at its end; updates of
 * one moment are coalesced and written in one transaction, at most every `flushDelayMs`.
 */
import type { ChargingSession } from '@gridseam/ocpp';
import type { Logger } from 'pino';
import type { DocumentChange, Store } from '../store/types.ts';

export const OCPP_SESSIONS_NAMESPACE = 'ocpp-sessions';
/** Sessions kept per device. */
export const MAX_SESSIONS_PER_DEVICE = 200;
export const DEFAULT_SESSION_FLUSH_DELAY_MS = 200;
/** After a failed write, the next attempt. */
const RETRY_DELAY_MS = 5000;

export interface SessionsDocument {
  sessions: ChargingSession[];
}

/** The sessions stored for a device, oldest first ([] when none); a document of another shape reads as none. */
export async function readSessions(store: Pick<Store, 'documents'>, deviceId: string): Promise<ChargingSession[]> {
  const doc = (await store.documents.get(OCPP_SESSIONS_NAMESPACE, deviceId)) as Partial<SessionsDocument> | undefined;
  return Array.isArray(doc?.sessions) ? doc.sessions : [];
}

/** Merges updates into a device's list by transactionId, keeps start order, trims ended sessions first. */
export function mergeSessions(
  existing: readonly ChargingSession[],
  updates: Iterable<ChargingSession>,
  max = MAX_SESSIONS_PER_DEVICE,
): ChargingSession[] {
  const byId = new Map(existing.map((s) => [s.transactionId, s]));
  for (const update of updates) byId.set(update.transactionId, { ...byId.get(update.transactionId), ...update });
  const merged = [...byId.values()].sort((a, b) => a.startedAt - b.startedAt);
  let excess = merged.length - max;
  if (excess <= 0) return merged;
  // Drop the oldest ended sessions first; active ones only if there are more than `max` of them.
  const kept: ChargingSession[] = [];
  for (const session of merged) {
    if (excess > 0 && session.state === 'ended') {
      excess--;
      continue;
    }
    kept.push(session);
  }
  return excess > 0 ? kept.slice(excess) : kept;
}

export interface OcppSessionStoreOptions {
  logger?: Logger;
  flushDelayMs?: number;
  maxPerDevice?: number;
}

export class OcppSessionStore {
  private readonly pending = new Map<string, Map<string, ChargingSession>>();
  private readonly flushDelayMs: number;
  private readonly maxPerDevice: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: Pick<Store, 'documents'>,
    private readonly options: OcppSessionStoreOptions = {},
  ) {
    this.flushDelayMs = Math.max(0, options.flushDelayMs ?? DEFAULT_SESSION_FLUSH_DELAY_MS);
    this.maxPerDevice = Math.max(1, options.maxPerDevice ?? MAX_SESSIONS_PER_DEVICE);
  }

  /** Takes a session's latest state; it is written with the next flush. */
  record(deviceId: string, session: ChargingSession): void {
    if (this.closed) return;
    let forDevice = this.pending.get(deviceId);
    if (forDevice === undefined) {
      forDevice = new Map();
      this.pending.set(deviceId, forDevice);
    }
    forDevice.set(session.transactionId, session);
    if (this.timer === undefined) this.schedule(this.flushDelayMs);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** Writes what was recorded; one flush runs at a time. A failed write is logged and its updates kept. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    try {
      const changes: DocumentChange[] = [];
      for (const [deviceId, updates] of batch) {
        const sessions = mergeSessions(await readSessions(this.store, deviceId), updates.values(), this.maxPerDevice);
        changes.push({ id: deviceId, doc: { sessions } satisfies SessionsDocument });
      }
      await this.store.documents.write(OCPP_SESSIONS_NAMESPACE, changes);
    } catch (error) {
      this.options.logger?.warn({ err: error, devices: batch.size }, 'charging sessions could not be stored; retrying');
      // Put them back under anything newer that arrived meanwhile, and try again later.
      for (const [deviceId, updates] of batch) {
        const newer = this.pending.get(deviceId);
        this.pending.set(deviceId, newer === undefined ? updates : new Map([...updates, ...newer]));
      }
      if (!this.closed && this.timer === undefined) this.schedule(RETRY_DELAY_MS);
    }
  }
}
