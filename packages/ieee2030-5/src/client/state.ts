/**
 * What the 2030.5 client persists so that a restart (even after kill -9) neither repeats an acknowledged
 * Response nor re-draws a randomisation offset, and can re-apply the last known schedule before the server
 * answers again. Same shape as the server's SepStateStore: `load()` everything once, `write(changes)`
 * atomically.
 *
 * Response protocol (record intent, post, mark sent): before POSTing a Response the client writes it as
 * `pending`; after the server acknowledged it (2xx) it writes `sent`; a refusal (4xx) is written `rejected`.
 * A crash after the POST but before `sent` is written leaves a `pending` record, which is posted again after the
 * restart: at most that one Response can be duplicated, never one the store already records as sent.
 */

/** 'subscription': a Subscription we hold on the server (notifications.ts). */
export type ClientRecordKind = 'response' | 'offsets' | 'snapshot' | 'subscription';

export interface ClientStoredRecord {
  kind: ClientRecordKind;
  id: string;
  doc: unknown;
}

/** One change: `doc: null` deletes the record. */
export interface ClientStateChange {
  kind: ClientRecordKind;
  id: string;
  doc: unknown | null;
}

export interface ClientStateStore {
  load(): Promise<ClientStoredRecord[]>;
  /** Applies all changes atomically; rejects if nothing was applied. */
  write(changes: readonly ClientStateChange[]): Promise<void>;
}

/** A Response the client decided to send. Record id: responseRecordId(lfdi, mRID, status). */
export interface ResponseRecordDoc {
  endDeviceLfdi: string;
  mRID: string;
  status: number;
  replyTo: string;
  state: 'pending' | 'sent' | 'rejected';
  /** Local epoch seconds of the last change. */
  at: number;
  /** Why it was rejected (the server's answer). */
  reason?: string;
}

export function responseRecordId(endDeviceLfdi: string, mRID: string, status: number): string {
  return `${endDeviceLfdi}:${mRID.toLowerCase()}:${status}`;
}

/** Record id of randomisation offsets: drawn once per EndDevice and control. */
export function offsetsRecordId(endDeviceLfdi: string, mRID: string): string {
  return `${endDeviceLfdi}:${mRID.toLowerCase()}`;
}

/** ClientStateStore in process memory (tests); docs are deep-copied in and out like a real store. */
export class MemoryClientStateStore implements ClientStateStore {
  readonly #records = new Map<string, ClientStoredRecord>();
  /** Set by tests to make the next write fail. */
  failNextWrite: Error | undefined;
  writes = 0;

  async load(): Promise<ClientStoredRecord[]> {
    return [...this.#records.values()].map((record) => ({ ...record, doc: structuredClone(record.doc) }));
  }

  async write(changes: readonly ClientStateChange[]): Promise<void> {
    if (this.failNextWrite !== undefined) {
      const failure = this.failNextWrite;
      this.failNextWrite = undefined;
      throw failure;
    }
    const prepared = changes.map((change) => ({
      key: `${change.kind}\u0000${change.id}`,
      record: change.doc === null ? null : { kind: change.kind, id: change.id, doc: structuredClone(change.doc) },
    }));
    for (const { key, record } of prepared) {
      if (record === null) this.#records.delete(key);
      else this.#records.set(key, record);
    }
    this.writes += 1;
  }

  /** The stored doc of one record (tests). */
  get(kind: ClientRecordKind, id: string): unknown {
    const record = this.#records.get(`${kind}\u0000${id}`);
    return record === undefined ? undefined : structuredClone(record.doc);
  }

  get size(): number {
    return this.#records.size;
  }
}
