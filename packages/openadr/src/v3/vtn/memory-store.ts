import type { VtnChange, VtnObjectKind, VtnStore, VtnStoredDoc, VtnStoredRecord } from './contract.ts';

/**
 * VtnStore kept in process memory. Docs are deep-copied in and out, so it behaves like a real store: a VTN
 * restarted on the same instance sees exactly what was acknowledged.
 */
export class MemoryVtnStore implements VtnStore {
  readonly #records = new Map<string, VtnStoredRecord>();
  /** Set by tests to make the next write fail (an unreachable database). */
  failNextWrite: Error | undefined;
  writes = 0;

  async load(): Promise<VtnStoredRecord[]> {
    return [...this.#records.values()].map((record) => ({ ...record, doc: structuredClone(record.doc) }));
  }

  async write(changes: readonly VtnChange[]): Promise<void> {
    if (this.failNextWrite !== undefined) {
      const failure = this.failNextWrite;
      this.failNextWrite = undefined;
      throw failure;
    }
    // Copy first so a doc that cannot be cloned leaves the store unchanged (one call, one transaction).
    const prepared = changes.map((change) => ({
      key: MemoryVtnStore.key(change.kind, change.id),
      record: change.doc === null ? null : { kind: change.kind, id: change.id, doc: structuredClone(change.doc) },
    }));
    for (const { key, record } of prepared) {
      if (record === null) this.#records.delete(key);
      else this.#records.set(key, record);
    }
    this.writes += 1;
  }

  /** Number of records held (tests). */
  get size(): number {
    return this.#records.size;
  }

  /** The stored doc of one record (tests). */
  get(kind: VtnObjectKind, id: string): VtnStoredDoc | undefined {
    const record = this.#records.get(MemoryVtnStore.key(kind, id));
    return record === undefined ? undefined : structuredClone(record.doc);
  }

  private static key(kind: VtnObjectKind, id: string): string {
    return `${kind}\u0000${id}`;
  }
}
