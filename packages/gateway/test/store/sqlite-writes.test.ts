/**
 * SQLite telemetry writes: the worker thread of a file store and the in-thread path of an
 * in-memory one (store/sqlite.ts, store/sqlite-inbox.ts). Ordering within and across batches,
 * read-your-writes, and close() draining every batch already sent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Quality, Reading } from '@gridseam/model';
import { sql } from 'kysely';
import { openStore, storeInternals } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'gridseam-sqlite-writes-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const power = (deviceId: string, ts: number, value: number, quality?: Quality): Reading => ({
  deviceId,
  ts,
  measurand: 'activePower',
  value,
  unit: 'W',
  ...(quality ? { quality } : {}),
});
const state = (deviceId: string, ts: number, value: string): Reading => ({
  deviceId,
  ts,
  measurand: 'operatingState',
  value,
  unit: 'state',
});

async function rows(store: Store): Promise<number> {
  const { db } = storeInternals(store);
  const count = async (table: string) =>
    Number((await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db)).rows[0]?.n);
  return (await count('readings')) + (await count('readings_inbox'));
}

for (const kind of ['file', 'memory'] as const) {
  const open = async () => {
    const store = await openStore({
      kind: 'sqlite',
      path: kind === 'file' ? join(dir, `w-${files++}.db`) : ':memory:',
    });
    await store.migrate();
    return store;
  };

  describe(`SQLite telemetry writes (${kind === 'file' ? 'file: worker thread' : 'in memory: this thread'})`, () => {
    test('within one batch the later delivery of a key wins, whatever mix of plain, quality and text rows', async () => {
      const store = await open();
      try {
        await store.telemetry.write([
          power('d1', 1000, 1, 'suspect'),
          power('d1', 1000, 2),
          power('d1', 2000, 3),
          power('d1', 2000, 4, 'estimated'),
          state('d1', 1000, 'idle'),
          power('d2', 1000, 5),
          state('d1', 1000, 'running'),
          power('d2', 1000, 6),
        ]);
        const q = { measurand: 'activePower' as const, from: 0, to: 10_000 };
        assert.deepEqual(await store.telemetry.query({ ...q, deviceId: 'd1' }), [
          power('d1', 1000, 2),
          power('d1', 2000, 4, 'estimated'),
        ]);
        assert.deepEqual(await store.telemetry.query({ ...q, deviceId: 'd2' }), [power('d2', 1000, 6)]);
        assert.deepEqual(
          await store.telemetry.query({ deviceId: 'd1', measurand: 'operatingState', from: 0, to: 10_000 }),
          [state('d1', 1000, 'running')],
        );
      } finally {
        await store.close();
      }
    });

    test('writes not awaited commit in call order, and a read called after them sees them all', async () => {
      const store = await open();
      try {
        const writes = Array.from({ length: 20 }, (_, i) =>
          store.telemetry.write([power('d1', 1000, i), power('d1', 2000 + i, i), state('d1', 1000, `s${i}`)]),
        );
        const latest = store.telemetry.latest('d1');
        assert.deepEqual(await Promise.all(writes), Array(20).fill(3));
        assert.deepEqual(await latest, [power('d1', 2019, 19), state('d1', 1000, 's19')]);
        assert.deepEqual(
          (await store.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: 1001 })).map(
            (r) => r.value,
          ),
          [19],
        );
      } finally {
        await store.close();
      }
    });

    test('a read merges the inbox first, so it sees every write called before it', async () => {
      const store = await open();
      try {
        const { db } = storeInternals(store);
        const inbox = async () =>
          Number((await sql<{ n: number }>`SELECT count(*) AS n FROM readings_inbox`.execute(db)).rows[0]?.n);
        await store.telemetry.write([power('d1', 1000, 1), power('d2', 1000, 2)]);
        assert.equal(await inbox(), 2);
        void store.telemetry.write([power('d1', 2000, 3)]);
        assert.deepEqual(await store.telemetry.latest('d1'), [power('d1', 2000, 3)]);
        assert.equal(await inbox(), 0);
        assert.equal(await rows(store), 3);
      } finally {
        await store.close();
      }
    });

    test('a batch that cannot be encoded or sent fails alone; the series it named are named again later', async () => {
      const store = await open();
      try {
        // Not a reading at all, and a value no thread boundary can carry (nor SQLite store).
        await assert.rejects(store.telemetry.write([power('n1', 1000, 1), null as unknown as Reading]));
        const unsendable = { ...state('n2', 1000, 'x'), value: () => 'x' } as unknown as Reading;
        await assert.rejects(store.telemetry.write([power('n2', 1000, 2), unsendable]));
        assert.equal(
          await store.telemetry.write([power('n1', 2000, 3), power('n2', 2000, 4), power('n3', 2000, 5)]),
          3,
        );
        for (const [deviceId, value] of [
          ['n1', 3],
          ['n2', 4],
          ['n3', 5],
        ] as const)
          assert.deepEqual(await store.telemetry.query({ deviceId, measurand: 'activePower', from: 0, to: 10_000 }), [
            power(deviceId, 2000, value),
          ]);
      } finally {
        await store.close();
      }
    });

    test('close() drains: every write sent before it is committed when it resolves; later writes are refused', async () => {
      const path = kind === 'file' ? join(dir, `drain-${files++}.db`) : undefined;
      const store = path ? await openStore({ kind: 'sqlite', path }) : await open();
      await store.migrate();
      const writes = Array.from({ length: 10 }, (_, i) =>
        store.telemetry.write(Array.from({ length: 1000 }, (_, k) => power(`d${k % 50}`, i * 1000 + k, k))),
      );
      if (path) {
        await store.close();
        // Every write had settled (committed) by the time close() resolved.
        const settled = await Promise.race([
          Promise.allSettled(writes).then(() => 'settled'),
          new Promise((resolve) => setImmediate(() => resolve('pending'))),
        ]);
        assert.equal(settled, 'settled');
        assert.deepEqual(await Promise.all(writes), Array(10).fill(1000));
        await assert.rejects(store.telemetry.write([power('d1', 1, 1)]), { code: 'GW_ERR_STORE_UNAVAILABLE' });
        const reopened = await openStore({ kind: 'sqlite', path });
        try {
          assert.equal(await rows(reopened), 10_000);
        } finally {
          await reopened.close();
        }
      } else {
        assert.deepEqual(await Promise.all(writes), Array(10).fill(1000));
        assert.equal(await rows(store), 10_000);
        await store.close();
      }
    });
  });
}

describe('SQLite file store: a failed batch in the worker', () => {
  test('rejects only its own write; the writes after it commit and resolve their series', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(dir, `fail-${files++}.db`) });
    try {
      await store.migrate();
      const broken = { ...power('x', 2000, 2), ts: null } as unknown as Reading;
      const first = store.telemetry.write([power('x', 1000, 1), broken]);
      const second = store.telemetry.write([power('x', 3000, 3), power('y', 3000, 4)]);
      await assert.rejects(first, { code: 'GW_ERR_INTERNAL' });
      assert.equal(await second, 2);
      assert.deepEqual(await store.telemetry.query({ deviceId: 'x', measurand: 'activePower', from: 0, to: 10_000 }), [
        power('x', 3000, 3),
      ]);
    } finally {
      await store.close();
    }
  });
});
