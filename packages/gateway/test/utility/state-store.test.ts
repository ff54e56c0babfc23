import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StateChange } from '@gridseam/ieee2030-5';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { documentStateStore } from '../../src/utility/state-store.ts';
import { dropPgSchema, isPgReachable, pgTestSchema, pgUrl } from '../helpers/services.ts';

const pgSkip = (await isPgReachable()) ? false : `PostgreSQL not reachable at ${pgUrl()} (set GRIDSEAM_PG_URL)`;

function suite(
  label: string,
  open: () => Promise<Store>,
  dispose: (store: Store) => Promise<void>,
  skip: string | false,
) {
  describe(label, { skip }, () => {
    let store: Store;
    before(async () => {
      store = await open();
      await store.migrate();
    });
    after(() => dispose(store));

    test('records round-trip by kind and id; ids may hold slashes; null deletes', async () => {
      const state = documentStateStore(store, 'rt');
      const changes: StateChange[] = [
        { kind: 'endDevice', id: '1', doc: { id: 1, lfdi: 'ab'.repeat(20) } },
        {
          kind: 'defaultControl',
          id: 'doe/1',
          doc: { id: 'doe/1', base: { opModExpLimW: { multiplier: 0, value: 1500 } } },
        },
        { kind: 'derReport', id: '1/1/DERStatus', doc: { kind: 'DERStatus' } },
        { kind: 'settings', id: 'settings', doc: { id: 'settings', pollRates: {} } },
      ];
      await state.write(changes);
      const loaded = await state.load();
      assert.deepEqual(
        [...loaded].sort((a, b) => `${a.kind}/${a.id}`.localeCompare(`${b.kind}/${b.id}`)),
        [...changes].sort((a, b) => `${a.kind}/${a.id}`.localeCompare(`${b.kind}/${b.id}`)),
      );
      await state.write([
        { kind: 'derReport', id: '1/1/DERStatus', doc: null },
        { kind: 'endDevice', id: '1', doc: { id: 1, lfdi: 'cd'.repeat(20) } },
      ]);
      const after = await state.load();
      assert.equal(after.length, 3);
      assert.deepEqual(after.find((r) => r.kind === 'endDevice')?.doc, { id: 1, lfdi: 'cd'.repeat(20) });
      // Namespaces keep servers apart; documents of unknown kinds are left out of load.
      await store.documents.write('rt', [
        { id: 'futureKind/7', doc: {} },
        { id: 'noslash', doc: {} },
      ]);
      assert.equal((await state.load()).length, 3);
      assert.deepEqual(await documentStateStore(store, 'other').load(), []);
    });

    test('one write is one transaction: a bad record leaves the others unwritten', async () => {
      const state = documentStateStore(store, 'tx');
      await assert.rejects(
        state.write([
          { kind: 'program', id: 'doe', doc: { id: 'doe' } },
          { kind: 'control', id: 'c', doc: { value: Number.NaN } },
        ]),
        { code: 'GW_ERR_VALIDATION' },
      );
      assert.deepEqual(await state.load(), []);
    });
  });
}

suite(
  'documentStateStore on SQLite',
  () => openStore({ kind: 'sqlite', path: ':memory:' }),
  (store) => store.close(),
  false,
);

const schema = pgTestSchema();
suite(
  'documentStateStore on PostgreSQL',
  () => openStore({ kind: 'postgres', url: pgUrl(), schema, poolSize: 2 }),
  async (store) => {
    await store.close();
    await dropPgSchema(schema);
  },
  pgSkip,
);
