/**
 * What the 2.0b VEN persists, so that a restart (even after kill -9) neither answers an event modification a
 * second time nor forgets its registration, its randomisation draws or its opt schedules. Same shape as the
 * 2030.5 client's store: `load()` everything once at start, `write(changes)` atomically.
 *
 * Response protocol (record intent, send, mark sent): before POSTing an oadrCreatedEvent the VEN writes each
 * eventResponse as `pending`; after the VTN acknowledged it (eiResponse 200) it writes `sent`; an error code is
 * written `rejected`. A crash after the POST and before `sent` is written leaves a `pending` record that is sent
 * again after the restart: at most that one answer can be repeated, never one the store records as sent.
 */
import type { OptReason, OptType } from '../codec/types.ts';

/** 'registration': id 'current'; 'response' and 'offset': id = eventID; 'opt': id = optID. */
export type Ven2bRecordKind = 'registration' | 'response' | 'offset' | 'opt';

export interface Ven2bStoredRecord {
  kind: Ven2bRecordKind;
  id: string;
  doc: unknown;
}

/** One change: `doc: null` deletes the record. */
export interface Ven2bStateChange {
  kind: Ven2bRecordKind;
  id: string;
  doc: unknown | null;
}

export interface Ven2bStateStore {
  load(): Promise<Ven2bStoredRecord[]>;
  /** Applies all changes atomically; rejects if nothing was applied. */
  write(changes: readonly Ven2bStateChange[]): Promise<void>;
}

export const REGISTRATION_RECORD_ID = 'current';

export interface RegistrationDoc {
  venId: string;
  registrationId: string;
  vtnId: string;
  /** oadrRequestedOadrPollFreq, seconds. */
  pollSeconds?: number;
}

/** The VEN's answer to one modification of one event. */
export interface ResponseDoc {
  eventId: string;
  modificationNumber: number;
  optType: OptType;
  state: 'pending' | 'sent' | 'rejected';
  /** requestID of the oadrDistributeEvent answered. */
  requestId: string;
  /** Epoch ms of the last change. */
  at: number;
  /** The VTN's code when rejected. */
  code?: number;
  /** When the event ended or was cancelled (the record is dropped a while later). */
  endedAt?: number;
}

/** The start randomisation drawn for an event (ei tolerance/tolerate/startafter), once per event. */
export interface OffsetDoc {
  eventId: string;
  windowS: number;
  offsetS: number;
  endsAt: number;
}

/** An availability window of an opt schedule, epoch ms and seconds. */
export interface OptWindow {
  start: number;
  durationS: number;
}

/** An oadrCreateOpt the VEN made: a schedule (windows) or an opt on one event (eventId). */
export interface OptDoc {
  optId: string;
  optType: OptType;
  optReason: OptReason;
  marketContext?: string;
  resourceIds?: string[];
  windows?: OptWindow[];
  eventId?: string;
  modificationNumber?: number;
  /** pending: not acknowledged yet; created; cancelling: oadrCancelOpt not acknowledged yet. */
  state: 'pending' | 'created' | 'cancelling';
  createdAt: number;
  requestId: string;
}

/** Ven2bStateStore in process memory (tests); docs are deep-copied in and out like a real store. */
export class MemoryVen2bStateStore implements Ven2bStateStore {
  readonly #records = new Map<string, Ven2bStoredRecord>();
  /** Set by tests to make the next write fail. */
  failNextWrite: Error | undefined;
  writes = 0;

  async load(): Promise<Ven2bStoredRecord[]> {
    return [...this.#records.values()].map((record) => ({ ...record, doc: structuredClone(record.doc) }));
  }

  async write(changes: readonly Ven2bStateChange[]): Promise<void> {
    if (this.failNextWrite !== undefined) {
      const failure = this.failNextWrite;
      this.failNextWrite = undefined;
      throw failure;
    }
    for (const change of changes) {
      const key = `${change.kind}\u0000${change.id}`;
      if (change.doc === null) this.#records.delete(key);
      else this.#records.set(key, { kind: change.kind, id: change.id, doc: structuredClone(change.doc) });
    }
    this.writes++;
  }
}
