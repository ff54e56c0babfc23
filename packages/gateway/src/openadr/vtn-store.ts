import {
  VTN_OBJECT_KINDS,
  type VtnChange,
  type VtnObjectKind,
  type VtnStore,
  type VtnStoredDoc,
  type VtnStoredRecord,
} from '@gridseam/openadr';
import type { Store } from '../store/types.ts';

/** The default documents namespace of a VTN's objects: one per version, so 3.0.1 and 3.1.0 objects never mix. */
export function defaultVtnNamespace(version: string): string {
  return `openadr-vtn-${version}`;
}

const KINDS: ReadonlySet<string> = new Set(VTN_OBJECT_KINDS);

/**
 * The OpenADR 3 VTN's persistence (VtnStore) on the gateway store's namespaced documents: every object is one
 * document `kind/id` in `namespace`, so one `write` is one store transaction. Documents of a kind this version
 * does not know are left out of `load` and left alone in the store.
 */
export function documentVtnStore(store: Store, namespace: string): VtnStore {
  return {
    async load(): Promise<VtnStoredRecord[]> {
      const records: VtnStoredRecord[] = [];
      for (const document of await store.documents.list(namespace)) {
        const slash = document.id.indexOf('/');
        const kind = slash > 0 ? document.id.slice(0, slash) : '';
        if (!KINDS.has(kind)) continue;
        records.push({
          kind: kind as VtnObjectKind,
          id: document.id.slice(slash + 1),
          doc: document.doc as VtnStoredDoc,
        });
      }
      return records;
    },
    async write(changes: readonly VtnChange[]): Promise<void> {
      await store.documents.write(
        namespace,
        changes.map((change) => ({ id: `${change.kind}/${change.id}`, doc: change.doc })),
      );
    },
  };
}
