import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { storeInternals } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

/**
 * The documents part of the store contract (store.documents), registered by storeContract for
 * every implementation. `withStore` runs a body against a fresh migrated store.
 */

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, code, String(error));
    if (pattern) assert.match(String((error as { message?: unknown }).message), pattern);
    return true;
  });
}

/** Makes every insert of the document id 'poison' fail inside the database, for the body's duration. */
async function withPoisonRefused(store: Store, body: () => Promise<void>): Promise<void> {
  const { db, dialect } = storeInternals(store);
  if (dialect === 'postgres') {
    await sql`CREATE FUNCTION documents_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = 'poison' THEN RAISE EXCEPTION 'test: poison refused'; END IF;
        RETURN NEW;
      END $$`.execute(db);
    await sql`CREATE TRIGGER documents_refuse_poison BEFORE INSERT ON documents
      FOR EACH ROW EXECUTE FUNCTION documents_refuse_poison()`.execute(db);
  } else {
    await sql`CREATE TRIGGER documents_refuse_poison BEFORE INSERT ON documents WHEN NEW.id = 'poison'
      BEGIN SELECT RAISE(ABORT, 'test: poison refused'); END`.execute(db);
  }
  try {
    await body();
  } finally {
    if (dialect === 'postgres') {
      await sql`DROP TRIGGER documents_refuse_poison ON documents`.execute(db);
      await sql`DROP FUNCTION documents_refuse_poison()`.execute(db);
    } else {
      await sql`DROP TRIGGER documents_refuse_poison`.execute(db);
    }
  }
}

export function documentTests(withStore: (body: (store: Store) => Promise<void>) => Promise<void>): void {
  describe('documents', () => {
    test('write, get, list in id order, count; namespaces are separate', () =>
      withStore(async (store) => {
        const before = Date.now();
        await store.documents.write('ns-a', [
          { id: 'edev/2', doc: { lfdi: 'B', n: 2 } },
          { id: 'edev/10', doc: { lfdi: 'C', n: 10 } },
          { id: 'derp/1', doc: ['list', 1, true, null] },
        ]);
        await store.documents.write('ns-b', [{ id: 'edev/2', doc: 'other namespace' }]);
        assert.deepEqual(await store.documents.get('ns-a', 'edev/2'), { lfdi: 'B', n: 2 });
        assert.equal(await store.documents.get('ns-b', 'edev/2'), 'other namespace');
        assert.equal(await store.documents.get('ns-a', 'missing'), undefined);
        assert.equal(await store.documents.get('ns-c', 'edev/2'), undefined);
        const listed = await store.documents.list('ns-a');
        assert.deepEqual(
          listed.map((d) => [d.id, d.doc]),
          [
            ['derp/1', ['list', 1, true, null]],
            ['edev/10', { lfdi: 'C', n: 10 }],
            ['edev/2', { lfdi: 'B', n: 2 }],
          ],
        );
        for (const d of listed) assert.ok(d.updatedAt >= before && d.updatedAt <= Date.now() + 1000);
        assert.equal(await store.documents.count('ns-a'), 3);
        assert.equal(await store.documents.count('ns-b'), 1);
        assert.equal(await store.documents.count('ns-c'), 0);
        assert.deepEqual(await store.documents.list('ns-c'), []);
      }));

    test('a write replaces and deletes; the later change of an id wins; deleting a missing id is fine', () =>
      withStore(async (store) => {
        await store.documents.write('ns', [
          { id: 'a', doc: { v: 1 } },
          { id: 'b', doc: { v: 1 } },
          { id: 'c', doc: { v: 1 } },
        ]);
        await store.documents.write('ns', [
          { id: 'a', doc: { v: 2, extra: 'x' } },
          { id: 'b', doc: null },
          { id: 'c', doc: null },
          { id: 'c', doc: { v: 3 } },
          { id: 'd', doc: { v: 4 } },
          { id: 'd', doc: null },
          { id: 'never-there', doc: null },
        ]);
        assert.deepEqual(
          (await store.documents.list('ns')).map((d) => [d.id, d.doc]),
          [
            ['a', { v: 2, extra: 'x' }],
            ['c', { v: 3 }],
          ],
        );
        await store.documents.write('ns', []);
        assert.equal(await store.documents.count('ns'), 2);
      }));

    test('documents read back exactly: key order, unicode, escapes, numbers, deep nesting', () =>
      withStore(async (store) => {
        let deep: unknown = 'bottom';
        for (let i = 0; i < 50; i++) deep = { level: i, inner: deep };
        const doc = {
          zeta: 1,
          alpha: 'ünïcødé ⚡ 电网',
          nul: 'a\u0000b',
          quote: '"\\\n\t',
          big: 2 ** 53 - 1,
          negative: -1.5e-7,
          empty: {},
          list: [{ b: 1, a: 2 }],
          deep,
        };
        await store.documents.write('ns', [{ id: 'x', doc }]);
        const back = await store.documents.get('ns', 'x');
        assert.deepEqual(back, doc);
        assert.equal(JSON.stringify(back), JSON.stringify(doc), 'key order is kept');
        assert.deepEqual(Object.keys((await store.documents.list('ns'))[0]?.doc as object), Object.keys(doc));
      }));

    test('a large batch is written in one call', () =>
      withStore(async (store) => {
        const changes = Array.from({ length: 2500 }, (_, i) => ({ id: `edev/${i}`, doc: { i } }));
        await store.documents.write('big', changes);
        assert.equal(await store.documents.count('big'), 2500);
        assert.deepEqual(await store.documents.get('big', 'edev/2499'), { i: 2499 });
        await store.documents.write(
          'big',
          changes.filter((_, i) => i % 2 === 0).map((c) => ({ id: c.id, doc: null })),
        );
        assert.equal(await store.documents.count('big'), 1250);
      }));

    test('a write is one transaction: a failure in its last chunk leaves everything as it was', () =>
      withStore(async (store) => {
        await store.documents.write('ns', [
          { id: 'keep', doc: { v: 1 } },
          { id: 'gone', doc: { v: 1 } },
        ]);
        await withPoisonRefused(store, async () => {
          const changes = [
            { id: 'gone', doc: null },
            { id: 'keep', doc: { v: 2 } },
            ...Array.from({ length: 1500 }, (_, i) => ({ id: `n${i}`, doc: { i } })),
            { id: 'poison', doc: {} },
          ];
          await assert.rejects(store.documents.write('ns', changes), /poison refused/);
        });
        assert.deepEqual(
          (await store.documents.list('ns')).map((d) => [d.id, d.doc]),
          [
            ['gone', { v: 1 }],
            ['keep', { v: 1 }],
          ],
        );
      }));

    test('bad input is GW_ERR_VALIDATION and writes nothing', () =>
      withStore(async (store) => {
        const ok = { id: 'ok', doc: { v: 1 } };
        await rejectsWith(store.documents.write('', [ok]), 'GW_ERR_VALIDATION', /namespace/);
        await rejectsWith(store.documents.write('n'.repeat(201), [ok]), 'GW_ERR_VALIDATION', /namespace/);
        await rejectsWith(store.documents.write('ns', [ok, { id: '', doc: 1 }]), 'GW_ERR_VALIDATION', /document id/);
        await rejectsWith(
          store.documents.write('ns', [ok, { id: 'i'.repeat(501), doc: 1 }]),
          'GW_ERR_VALIDATION',
          /document id/,
        );
        await rejectsWith(
          store.documents.write('ns', [ok, { id: 'u', doc: undefined }]),
          'GW_ERR_VALIDATION',
          /missing/,
        );
        await rejectsWith(
          store.documents.write('ns', [ok, { id: 'nan', doc: { v: Number.NaN } }]),
          'GW_ERR_VALIDATION',
        );
        await rejectsWith(
          store.documents.write('ns', [ok, { id: 'inf', doc: [Number.NEGATIVE_INFINITY] }]),
          'GW_ERR_VALIDATION',
          /-Infinity/,
        );
        await rejectsWith(store.documents.write('ns', [ok, { id: 'big', doc: { v: 1n } }]), 'GW_ERR_VALIDATION');
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await rejectsWith(store.documents.write('ns', [ok, { id: 'cyc', doc: cyclic }]), 'GW_ERR_VALIDATION');
        await rejectsWith(store.documents.write('ns', [ok, { id: 'fn', doc: () => 1 }]), 'GW_ERR_VALIDATION');
        await rejectsWith(store.documents.get('ns', ''), 'GW_ERR_VALIDATION');
        await rejectsWith(store.documents.list(''), 'GW_ERR_VALIDATION');
        assert.equal(await store.documents.count('ns'), 0);
      }));
  });
}
