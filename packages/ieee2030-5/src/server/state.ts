/**
 * The utility server's state in memory: every record, plus the indexes the request path needs so no request
 * scans all EndDevices or all controls. Writes go through `commit`, which persists to the SepStateStore first
 * and only then applies to memory (an acknowledged write is never lost; a failed write changes nothing).
 * Commits are serialised, so a decision taken inside `transact` sees the state it commits against.
 *
 * Revisions: `globalRev` changes when something every EndDevice sees changes (programs, FSAs, shared controls,
 * program-wide default controls, curves, settings); `deviceRev(id)` when something under one EndDevice changes;
 * `ownerRev(lfdi)` when the set of EndDevices or MirrorUsagePoints a certificate sees changes. The response
 * cache stamps its entries with these.
 */
import { GridseamError } from '@gridseam/model';
import type {
  ControlRecord,
  CurveRecord,
  DefaultControlRecord,
  DerReportRecord,
  EndDeviceRecord,
  FsaRecord,
  LogEventRecord,
  MirrorReadingRecord,
  MirrorUsagePointRecord,
  ProgramRecord,
  RecordByKind,
  RecordKind,
  ResponseRecord,
  SepStateStore,
  SettingsRecord,
  StateChange,
  StoredRecord,
  SubscriptionRecord,
} from './contract.ts';
import { RECORD_KINDS } from './contract.ts';

/** A change with a typed record (null deletes). */
export type Change = { [K in RecordKind]: { kind: K; id: string; doc: RecordByKind[K] | null } }[RecordKind];

export function change<K extends RecordKind>(kind: K, id: string | number, doc: RecordByKind[K] | null): Change {
  return { kind, id: String(id), doc } as Change;
}

function pushSorted<T>(list: T[], item: T, key: (value: T) => number): void {
  const value = key(item);
  let index = list.length;
  while (index > 0 && key(list[index - 1] as T) > value) index -= 1;
  list.splice(index, 0, item);
}

function removeFrom<T>(list: T[] | undefined, predicate: (value: T) => boolean): void {
  if (list === undefined) return;
  const index = list.findIndex(predicate);
  if (index >= 0) list.splice(index, 1);
}

function multiAdd<K, V>(map: Map<K, V[]>, key: K, value: V): V[] {
  let list = map.get(key);
  if (list === undefined) {
    list = [];
    map.set(key, list);
  }
  list.push(value);
  return list;
}

/** Kinds whose ids the server allocates as increasing numbers. */
export type IdKind = 'endDevice' | 'response' | 'mirrorUsagePoint' | 'mirrorReading' | 'subscription' | 'logEvent';

export class SepState {
  readonly endDevices = new Map<number, EndDeviceRecord>();
  readonly endDeviceByLfdi = new Map<string, EndDeviceRecord>();
  /** EndDevices registered by SFDI only (lfdi ''), by SFDI. */
  readonly endDeviceBySfdiOnly = new Map<number, EndDeviceRecord>();
  /** EndDevices per managing aggregator LFDI, ordered by id. */
  readonly devicesByAggregator = new Map<string, EndDeviceRecord[]>();
  readonly fsas = new Map<string, FsaRecord>();
  readonly programs = new Map<string, ProgramRecord>();
  /** Programs ordered by primacy, then id (2030.5 DERProgramList ordering: primacy ascending). */
  programsByPrimacy: ProgramRecord[] = [];
  readonly controls = new Map<string, ControlRecord>();
  /** Controls without endDeviceIds, per program. */
  readonly sharedControls = new Map<string, ControlRecord[]>();
  /** Controls with endDeviceIds, per `${programId}/${endDeviceId}`. */
  readonly deviceControls = new Map<string, ControlRecord[]>();
  readonly defaultControls = new Map<string, DefaultControlRecord>();
  readonly curves = new Map<string, CurveRecord>();
  readonly curvesByProgram = new Map<string, CurveRecord[]>();
  readonly responses = new Map<number, ResponseRecord>();
  readonly responsesByDevice = new Map<number, ResponseRecord[]>();
  readonly derReports = new Map<string, DerReportRecord>();
  readonly mups = new Map<number, MirrorUsagePointRecord>();
  readonly mupByMrid = new Map<string, MirrorUsagePointRecord>();
  readonly mupsByOwner = new Map<string, MirrorUsagePointRecord[]>();
  /** MirrorMeterReading mRID → the MUP id defining it. */
  readonly mmrOwner = new Map<string, number>();
  readonly readings = new Map<string, MirrorReadingRecord>();
  /** Readings per `${mupId}/${mmrMRID}`, oldest first. */
  readonly readingsByMmr = new Map<string, MirrorReadingRecord[]>();
  readonly subscriptions = new Map<number, SubscriptionRecord>();
  readonly subscriptionsByDevice = new Map<number, SubscriptionRecord[]>();
  readonly logEvents = new Map<number, LogEventRecord>();
  readonly logEventsByDevice = new Map<number, LogEventRecord[]>();
  settings: SettingsRecord = { id: 'settings', pollRates: {} };

  globalRev = 1;
  readonly #deviceRevs = new Map<number, number>();
  readonly #ownerRevs = new Map<string, number>();
  #lastId: Record<IdKind, number> = {
    endDevice: 0,
    response: 0,
    mirrorUsagePoint: 0,
    mirrorReading: 0,
    subscription: 0,
    logEvent: 0,
  };
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: SepStateStore) {}

  deviceRev(id: number): number {
    return this.#deviceRevs.get(id) ?? 0;
  }

  ownerRev(lfdi: string): number {
    return this.#ownerRevs.get(lfdi) ?? 0;
  }

  /** Allocates the next numeric id of a kind (inside `transact`; rolled back when the transaction fails). */
  nextId(kind: IdKind): number {
    this.#lastId[kind] += 1;
    return this.#lastId[kind];
  }

  async load(): Promise<void> {
    const records = await this.store.load();
    for (const record of records) this.#apply(checkStoredRecord(record));
  }

  /**
   * Runs `decide` with exclusive access to the state, persists the changes it returns and applies them.
   * Nothing is applied when the store write fails; the error propagates as GW_ERR_STORE_UNAVAILABLE.
   */
  transact<T>(decide: () => { changes: Change[]; result: T } | Promise<{ changes: Change[]; result: T }>): Promise<T> {
    const run = this.#queue.then(async () => {
      const lastIds = { ...this.#lastId };
      try {
        const { changes, result } = await decide();
        if (changes.length > 0) {
          const stateChanges: StateChange[] = changes.map((item) => ({ kind: item.kind, id: item.id, doc: item.doc }));
          try {
            await this.store.write(stateChanges);
          } catch (error) {
            if (GridseamError.is(error)) throw error;
            throw new GridseamError('GW_ERR_STORE_UNAVAILABLE', 'the 2030.5 state could not be saved', {
              cause: error,
            });
          }
          for (const item of changes) this.#apply(item);
        }
        return result;
      } catch (error) {
        this.#lastId = lastIds;
        throw error;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Applying a change to memory and indexes
  // -------------------------------------------------------------------------------------------------------------

  #bumpDevice(id: number): void {
    this.#deviceRevs.set(id, this.deviceRev(id) + 1);
  }

  #bumpOwner(lfdi: string | undefined): void {
    if (lfdi !== undefined) this.#ownerRevs.set(lfdi, this.ownerRev(lfdi) + 1);
  }

  #noteId(kind: IdKind, id: number): void {
    if (Number.isSafeInteger(id) && id > this.#lastId[kind]) this.#lastId[kind] = id;
  }

  #apply(item: Change | StoredTyped): void {
    switch (item.kind) {
      case 'endDevice':
        this.#applyEndDevice(item.id, item.doc as EndDeviceRecord | null);
        return;
      case 'fsa': {
        if (item.doc === null) this.fsas.delete(item.id);
        else this.fsas.set(item.id, item.doc as FsaRecord);
        this.globalRev += 1;
        return;
      }
      case 'program':
        this.#applyProgram(item.id, item.doc as ProgramRecord | null);
        return;
      case 'control':
        this.#applyControl(item.id, item.doc as ControlRecord | null);
        return;
      case 'defaultControl': {
        const old = this.defaultControls.get(item.id);
        const doc = item.doc as DefaultControlRecord | null;
        if (doc === null) this.defaultControls.delete(item.id);
        else this.defaultControls.set(item.id, doc);
        const deviceId = doc?.endDeviceId ?? old?.endDeviceId;
        if (deviceId === undefined) this.globalRev += 1;
        else this.#bumpDevice(deviceId);
        return;
      }
      case 'curve': {
        const old = this.curves.get(item.id);
        if (old !== undefined) removeFrom(this.curvesByProgram.get(old.programId), (c) => c.id === old.id);
        const doc = item.doc as CurveRecord | null;
        if (doc === null) this.curves.delete(item.id);
        else {
          this.curves.set(item.id, doc);
          multiAdd(this.curvesByProgram, doc.programId, doc);
        }
        this.globalRev += 1;
        return;
      }
      case 'response': {
        const id = Number(item.id);
        const old = this.responses.get(id);
        if (old !== undefined) removeFrom(this.responsesByDevice.get(old.endDeviceId), (r) => r.id === id);
        const doc = item.doc as ResponseRecord | null;
        if (doc === null) this.responses.delete(id);
        else {
          this.responses.set(id, doc);
          multiAdd(this.responsesByDevice, doc.endDeviceId, doc);
          this.#noteId('response', id);
        }
        return;
      }
      case 'derReport': {
        const doc = item.doc as DerReportRecord | null;
        if (doc === null) this.derReports.delete(item.id);
        else this.derReports.set(item.id, doc);
        return;
      }
      case 'mirrorUsagePoint':
        this.#applyMup(Number(item.id), item.doc as MirrorUsagePointRecord | null);
        return;
      case 'mirrorReading': {
        const old = this.readings.get(item.id);
        if (old !== undefined)
          removeFrom(this.readingsByMmr.get(`${old.mupId}/${old.mmrMRID}`), (r) => r.id === old.id);
        const doc = item.doc as MirrorReadingRecord | null;
        if (doc === null) this.readings.delete(item.id);
        else {
          this.readings.set(item.id, doc);
          const list = this.readingsByMmr.get(`${doc.mupId}/${doc.mmrMRID}`);
          if (list === undefined) this.readingsByMmr.set(`${doc.mupId}/${doc.mmrMRID}`, [doc]);
          else pushSorted(list, doc, readingSeq);
          this.#noteId('mirrorReading', readingSeq(doc));
        }
        return;
      }
      case 'subscription': {
        const id = Number(item.id);
        const old = this.subscriptions.get(id);
        if (old !== undefined) {
          removeFrom(this.subscriptionsByDevice.get(old.endDeviceId), (s) => s.id === id);
          this.#bumpDevice(old.endDeviceId);
        }
        const doc = item.doc as SubscriptionRecord | null;
        if (doc === null) this.subscriptions.delete(id);
        else {
          this.subscriptions.set(id, doc);
          multiAdd(this.subscriptionsByDevice, doc.endDeviceId, doc);
          this.#bumpDevice(doc.endDeviceId);
          this.#noteId('subscription', id);
        }
        return;
      }
      case 'logEvent': {
        const id = Number(item.id);
        const old = this.logEvents.get(id);
        if (old !== undefined) {
          removeFrom(this.logEventsByDevice.get(old.endDeviceId), (s) => s.id === id);
          this.#bumpDevice(old.endDeviceId);
        }
        const doc = item.doc as LogEventRecord | null;
        if (doc === null) this.logEvents.delete(id);
        else {
          this.logEvents.set(id, doc);
          multiAdd(this.logEventsByDevice, doc.endDeviceId, doc);
          this.#bumpDevice(doc.endDeviceId);
          this.#noteId('logEvent', id);
        }
        return;
      }
      case 'settings': {
        const doc = item.doc as SettingsRecord | null;
        this.settings = doc ?? { id: 'settings', pollRates: {} };
        this.globalRev += 1;
        return;
      }
    }
  }

  #applyEndDevice(key: string, doc: EndDeviceRecord | null): void {
    const id = Number(key);
    const old = this.endDevices.get(id);
    if (old !== undefined) {
      if (this.endDeviceByLfdi.get(old.lfdi) === old) this.endDeviceByLfdi.delete(old.lfdi);
      if (this.endDeviceBySfdiOnly.get(old.sfdi) === old) this.endDeviceBySfdiOnly.delete(old.sfdi);
      if (old.aggregatorLfdi !== undefined) {
        removeFrom(this.devicesByAggregator.get(old.aggregatorLfdi), (d) => d.id === id);
        this.#bumpOwner(old.aggregatorLfdi);
      }
      this.#bumpOwner(old.lfdi);
    }
    if (doc === null) this.endDevices.delete(id);
    else {
      this.endDevices.set(id, doc);
      if (doc.lfdi === '') this.endDeviceBySfdiOnly.set(doc.sfdi, doc);
      else this.endDeviceByLfdi.set(doc.lfdi, doc);
      if (doc.aggregatorLfdi !== undefined) {
        let list = this.devicesByAggregator.get(doc.aggregatorLfdi);
        if (list === undefined) {
          list = [];
          this.devicesByAggregator.set(doc.aggregatorLfdi, list);
        }
        pushSorted(list, doc, (d) => d.id);
        this.#bumpOwner(doc.aggregatorLfdi);
      }
      this.#bumpOwner(doc.lfdi);
      this.#noteId('endDevice', id);
    }
    this.#bumpDevice(id);
  }

  #applyProgram(id: string, doc: ProgramRecord | null): void {
    if (doc === null) this.programs.delete(id);
    else this.programs.set(id, doc);
    this.programsByPrimacy = [...this.programs.values()].sort(
      (a, b) => a.primacy - b.primacy || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    this.globalRev += 1;
  }

  #applyControl(id: string, doc: ControlRecord | null): void {
    const old = this.controls.get(id);
    if (old !== undefined) this.#indexControl(old, false);
    if (doc === null) this.controls.delete(id);
    else {
      this.controls.set(id, doc);
      this.#indexControl(doc, true);
    }
  }

  #indexControl(control: ControlRecord, add: boolean): void {
    if (control.endDeviceIds === undefined) {
      if (add) multiAdd(this.sharedControls, control.programId, control);
      else removeFrom(this.sharedControls.get(control.programId), (c) => c.mRID === control.mRID);
      this.globalRev += 1;
      return;
    }
    for (const deviceId of control.endDeviceIds) {
      const key = `${control.programId}/${deviceId}`;
      if (add) multiAdd(this.deviceControls, key, control);
      else removeFrom(this.deviceControls.get(key), (c) => c.mRID === control.mRID);
      this.#bumpDevice(deviceId);
    }
  }

  #applyMup(id: number, doc: MirrorUsagePointRecord | null): void {
    const old = this.mups.get(id);
    if (old !== undefined) {
      if (this.mupByMrid.get(old.mRID) === old) this.mupByMrid.delete(old.mRID);
      removeFrom(this.mupsByOwner.get(old.ownerLfdi), (m) => m.id === id);
      for (const mmr of old.MirrorMeterReading) if (this.mmrOwner.get(mmr.mRID) === id) this.mmrOwner.delete(mmr.mRID);
      this.#bumpOwner(old.ownerLfdi);
    }
    if (doc === null) this.mups.delete(id);
    else {
      this.mups.set(id, doc);
      this.mupByMrid.set(doc.mRID, doc);
      const list = this.mupsByOwner.get(doc.ownerLfdi);
      if (list === undefined) this.mupsByOwner.set(doc.ownerLfdi, [doc]);
      else pushSorted(list, doc, (m) => m.id);
      for (const mmr of doc.MirrorMeterReading) this.mmrOwner.set(mmr.mRID, id);
      this.#bumpOwner(doc.ownerLfdi);
      this.#noteId('mirrorUsagePoint', id);
    }
  }
}

/** Sequence number of a reading (the part after the slash of its id). */
export function readingSeq(reading: MirrorReadingRecord): number {
  const slash = reading.id.lastIndexOf('/');
  return Number(reading.id.slice(slash + 1));
}

type StoredTyped = { kind: RecordKind; id: string; doc: unknown };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fields each stored kind must have (a light structural check; the server wrote these docs itself). */
const REQUIRED_FIELDS: Record<RecordKind, Array<[string, 'number' | 'string' | 'object' | 'boolean']>> = {
  endDevice: [
    ['id', 'number'],
    ['lfdi', 'string'],
    ['sfdi', 'number'],
    ['role', 'string'],
    ['enabled', 'boolean'],
  ],
  fsa: [
    ['id', 'string'],
    ['mRID', 'string'],
  ],
  program: [
    ['id', 'string'],
    ['mRID', 'string'],
    ['primacy', 'number'],
    ['fsaId', 'string'],
  ],
  control: [
    ['mRID', 'string'],
    ['programId', 'string'],
    ['start', 'number'],
    ['duration', 'number'],
    ['creationTime', 'number'],
    ['base', 'object'],
  ],
  defaultControl: [
    ['id', 'string'],
    ['programId', 'string'],
    ['mRID', 'string'],
    ['base', 'object'],
  ],
  curve: [
    ['id', 'string'],
    ['programId', 'string'],
    ['curveId', 'string'],
    ['mRID', 'string'],
  ],
  response: [
    ['id', 'number'],
    ['endDeviceId', 'number'],
    ['subject', 'string'],
  ],
  derReport: [
    ['id', 'string'],
    ['endDeviceId', 'number'],
    ['derId', 'number'],
    ['kind', 'string'],
    ['doc', 'object'],
  ],
  mirrorUsagePoint: [
    ['id', 'number'],
    ['mRID', 'string'],
    ['ownerLfdi', 'string'],
    ['deviceLFDI', 'string'],
    ['MirrorMeterReading', 'object'],
  ],
  mirrorReading: [
    ['id', 'string'],
    ['mupId', 'number'],
    ['mmrMRID', 'string'],
    ['value', 'number'],
  ],
  subscription: [
    ['id', 'number'],
    ['endDeviceId', 'number'],
    ['subscribedResource', 'string'],
    ['notificationURI', 'string'],
  ],
  logEvent: [
    ['id', 'number'],
    ['endDeviceId', 'number'],
    ['doc', 'object'],
  ],
  settings: [['pollRates', 'object']],
};

/** Narrows a loaded record; a record the server could not have written is GW_ERR_VALIDATION. */
export function checkStoredRecord(record: StoredRecord): StoredTyped {
  const invalid = (message: string) =>
    new GridseamError(
      'GW_ERR_VALIDATION',
      `stored 2030.5 record ${String(record?.kind)}/${String(record?.id)}: ${message}`,
    );
  if (!isObject(record) || typeof record.id !== 'string') throw invalid('not a record');
  if (!RECORD_KINDS.includes(record.kind)) throw invalid('unknown kind');
  if (!isObject(record.doc)) throw invalid('the document is not an object');
  for (const [field, type] of REQUIRED_FIELDS[record.kind]) {
    const value = record.doc[field];
    if (type === 'object' ? typeof value !== 'object' || value === null : typeof value !== type)
      throw invalid(`field ${field} is missing or not a ${type}`);
  }
  return { kind: record.kind, id: record.id, doc: record.doc };
}
