/**
 * The VTN's objects in memory, with the indexes requests need (names that must be unique, a ven's resources,
 * a client's vens, a program's events). Loaded once from the VtnStore; every change is written to the store
 * first and applied here only once the store has it (an acknowledged write is never lost). Writes are
 * serialised (`exclusive`), so a check (a unique name, a reference) and the write it guards see one state.
 */
import { GridseamError } from '@gridseam/model';
import {
  type JsonObject,
  VTN_OBJECT_KINDS,
  type VtnChange,
  type VtnLog,
  type VtnObjectKind,
  type VtnStore,
  type VtnStoredDoc,
} from './contract.ts';

export interface Entry {
  kind: VtnObjectKind;
  id: string;
  doc: VtnStoredDoc;
}

function stringField(object: JsonObject, name: string): string | undefined {
  const value = object[name];
  return typeof value === 'string' ? value : undefined;
}

function isStoredDoc(value: unknown): value is VtnStoredDoc {
  if (typeof value !== 'object' || value === null) return false;
  const doc = value as Partial<VtnStoredDoc>;
  return (
    typeof doc.seq === 'number' &&
    typeof doc.object === 'object' &&
    doc.object !== null &&
    !Array.isArray(doc.object) &&
    (doc.owner === undefined || (typeof doc.owner === 'object' && typeof doc.owner?.clientId === 'string'))
  );
}

/** A multimap key -> ids. */
class Index {
  readonly #map = new Map<string, Set<string>>();
  add(key: string | undefined, id: string): void {
    if (key === undefined) return;
    let ids = this.#map.get(key);
    if (ids === undefined) {
      ids = new Set();
      this.#map.set(key, ids);
    }
    ids.add(id);
  }
  remove(key: string | undefined, id: string): void {
    if (key === undefined) return;
    const ids = this.#map.get(key);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#map.delete(key);
  }
  get(key: string): ReadonlySet<string> {
    return this.#map.get(key) ?? EMPTY;
  }
}
const EMPTY: ReadonlySet<string> = new Set();

export class VtnState {
  readonly #store: VtnStore;
  readonly #log: VtnLog;
  readonly #collections = new Map<VtnObjectKind, Map<string, Entry>>(VTN_OBJECT_KINDS.map((kind) => [kind, new Map()]));
  /** programName -> id (unique per VTN, Definition §Object names). */
  readonly programNames = new Map<string, string>();
  /** venName -> id (unique per VTN). */
  readonly venNames = new Map<string, string>();
  /** venID -> resource ids. */
  readonly resourcesByVen = new Index();
  /** clientID (3.1.0 objects) or owner clientId -> ven ids. */
  readonly vensByClient = new Index();
  /** clientID or owner clientId -> resource ids. */
  readonly resourcesByClient = new Index();
  /** programID -> event ids. */
  readonly eventsByProgram = new Index();
  #seq = 0;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(store: VtnStore, log: VtnLog) {
    this.#store = store;
    this.#log = log;
  }

  async load(): Promise<void> {
    const records = await this.#store.load();
    const valid: Entry[] = [];
    for (const record of records) {
      if (!VTN_OBJECT_KINDS.includes(record.kind) || !isStoredDoc(record.doc)) {
        this.#log('warn', 'a stored VTN record is not readable and is left out', { kind: record.kind, id: record.id });
        continue;
      }
      valid.push({ kind: record.kind, id: record.id, doc: record.doc });
    }
    valid.sort((a, b) => a.doc.seq - b.doc.seq);
    for (const entry of valid) {
      this.#apply(entry.kind, entry.id, entry);
      this.#seq = Math.max(this.#seq, entry.doc.seq);
    }
  }

  /** The next creation sequence number. */
  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  get(kind: VtnObjectKind, id: string): Entry | undefined {
    return this.#collections.get(kind)?.get(id);
  }

  /** Every entry of a kind in creation order. */
  all(kind: VtnObjectKind): IterableIterator<Entry> {
    return (this.#collections.get(kind) ?? new Map<string, Entry>()).values();
  }

  count(kind: VtnObjectKind): number {
    return this.#collections.get(kind)?.size ?? 0;
  }

  /** Runs `work` alone among writers (reads are never blocked). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work, work);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Persists the changes (one store transaction), then applies them. Call inside `exclusive`. */
  async commit(
    changes: readonly Entry[],
    deletions: ReadonlyArray<{ kind: VtnObjectKind; id: string }>,
  ): Promise<void> {
    const storeChanges: VtnChange[] = [
      ...changes.map((entry) => ({ kind: entry.kind, id: entry.id, doc: entry.doc })),
      ...deletions.map((deletion) => ({ kind: deletion.kind, id: deletion.id, doc: null })),
    ];
    if (storeChanges.length === 0) return;
    try {
      await this.#store.write(storeChanges);
    } catch (error) {
      if (GridseamError.is(error) && error.code === 'GW_ERR_STORE_UNAVAILABLE') throw error;
      throw new GridseamError('GW_ERR_STORE_UNAVAILABLE', 'the VTN store could not be written', { cause: error });
    }
    for (const deletion of deletions) this.#apply(deletion.kind, deletion.id, undefined);
    for (const entry of changes) this.#apply(entry.kind, entry.id, entry);
  }

  #apply(kind: VtnObjectKind, id: string, entry: Entry | undefined): void {
    const collection = this.#collections.get(kind);
    if (collection === undefined) return;
    const previous = collection.get(id);
    if (previous !== undefined) this.#unindex(previous);
    if (entry === undefined) collection.delete(id);
    else {
      collection.set(id, entry);
      this.#index(entry);
    }
  }

  #ownerKey(entry: Entry): string | undefined {
    return stringField(entry.doc.object, 'clientID') ?? entry.doc.owner?.clientId;
  }

  #index(entry: Entry): void {
    const object = entry.doc.object;
    switch (entry.kind) {
      case 'program': {
        const name = stringField(object, 'programName');
        if (name !== undefined) this.programNames.set(name, entry.id);
        break;
      }
      case 'event':
        this.eventsByProgram.add(stringField(object, 'programID'), entry.id);
        break;
      case 'ven': {
        const name = stringField(object, 'venName');
        if (name !== undefined) this.venNames.set(name, entry.id);
        this.vensByClient.add(this.#ownerKey(entry), entry.id);
        break;
      }
      case 'resource':
        this.resourcesByVen.add(stringField(object, 'venID'), entry.id);
        this.resourcesByClient.add(this.#ownerKey(entry), entry.id);
        break;
      default:
        break;
    }
  }

  #unindex(entry: Entry): void {
    const object = entry.doc.object;
    switch (entry.kind) {
      case 'program': {
        const name = stringField(object, 'programName');
        if (name !== undefined && this.programNames.get(name) === entry.id) this.programNames.delete(name);
        break;
      }
      case 'event':
        this.eventsByProgram.remove(stringField(object, 'programID'), entry.id);
        break;
      case 'ven': {
        const name = stringField(object, 'venName');
        if (name !== undefined && this.venNames.get(name) === entry.id) this.venNames.delete(name);
        this.vensByClient.remove(this.#ownerKey(entry), entry.id);
        break;
      }
      case 'resource':
        this.resourcesByVen.remove(stringField(object, 'venID'), entry.id);
        this.resourcesByClient.remove(this.#ownerKey(entry), entry.id);
        break;
      default:
        break;
    }
  }
}
