import type { ClientRecordKind, ClientStateChange, ClientStateStore, ClientStoredRecord } from '@gridseam/ieee2030-5';
import type { Store } from '../store/types.ts';

const KINDS: ReadonlySet<string> = new Set<ClientRecordKind>(['response', 'offsets', 'snapshot', 'subscription']);

/**
 * The 2030.5 client's persistence (ClientStateStore) on the gateway store's namespaced documents:
 * each record is one document `kind/id`, so one `write` is one store transaction (the client's
 * "record intent, post, mark sent" protocol relies on that). Documents of kinds this version does
 * not know are left out of `load` and left alone.
 */
export function documentClientStateStore(store: Store, namespace: string): ClientStateStore {
  return {
    async load(): Promise<ClientStoredRecord[]> {
      const records: ClientStoredRecord[] = [];
      for (const document of await store.documents.list(namespace)) {
        const slash = document.id.indexOf('/');
        const kind = slash > 0 ? document.id.slice(0, slash) : '';
        if (!KINDS.has(kind)) continue;
        records.push({ kind: kind as ClientRecordKind, id: document.id.slice(slash + 1), doc: document.doc });
      }
      return records;
    },
    async write(changes: readonly ClientStateChange[]): Promise<void> {
      if (changes.length === 0) return;
      await store.documents.write(
        namespace,
        changes.map((change) => ({ id: `${change.kind}/${change.id}`, doc: change.doc })),
      );
    },
  };
}
