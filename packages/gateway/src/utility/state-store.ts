import type { RecordKind, SepStateStore, StateChange, StoredRecord } from '@gridseam/ieee2030-5';
import { RECORD_KINDS } from '@gridseam/ieee2030-5';
import type { Store } from '../store/types.ts';

export const DEFAULT_UTILITY_NAMESPACE = 'utility-server';

const KINDS: ReadonlySet<string> = new Set(RECORD_KINDS);

/** The document id of a record: `kind/id` (kinds never contain '/'; ids may). */
function documentId(kind: RecordKind, id: string): string {
  return `${kind}/${id}`;
}

/**
 * The utility server's persistence (SepStateStore) on the gateway store's namespaced documents:
 * every record is one document `kind/id` in `namespace`, so one `write` is one store transaction.
 * Documents whose kind this version does not know (written by a newer one) are left out of `load`
 * and left alone in the store.
 */
export function documentStateStore(store: Store, namespace: string = DEFAULT_UTILITY_NAMESPACE): SepStateStore {
  return {
    async load(): Promise<StoredRecord[]> {
      const records: StoredRecord[] = [];
      for (const document of await store.documents.list(namespace)) {
        const slash = document.id.indexOf('/');
        const kind = slash > 0 ? document.id.slice(0, slash) : '';
        if (!KINDS.has(kind)) continue;
        records.push({ kind: kind as RecordKind, id: document.id.slice(slash + 1), doc: document.doc });
      }
      return records;
    },
    async write(changes: readonly StateChange[]): Promise<void> {
      await store.documents.write(
        namespace,
        changes.map((change) => ({ id: documentId(change.kind, change.id), doc: change.doc })),
      );
    },
  };
}
