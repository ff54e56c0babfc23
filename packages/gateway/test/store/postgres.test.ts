import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Reading } from '@gridseam/model';
import { sql } from 'kysely';
import { openStore, storeInternals } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { dropPgSchema, isPgReachable, pgTestSchema, pgUrl } from '../helpers/services.ts';
import { storeContract } from './contract.ts';

const reachable = await isPgReachable();
const skip = reachable ? false : `PostgreSQL not reachable at ${pgUrl()} (set GRIDSEAM_PG_URL)`;

/** Each store gets its own throwaway schema, dropped when the store is disposed of. */
const schemas = new WeakMap<Store, string>();

async function open(): Promise<Store> {
  const schema = pgTestSchema();
  const store = await openStore({ kind: 'postgres', url: pgUrl(), schema, poolSize: 4 });
  schemas.set(store, schema);
  return store;
}

async function dispose(store: Store): Promise<void> {
  await store.close();
  const schema = schemas.get(store);
  if (schema) await dropPgSchema(schema);
}

storeContract('PostgreSQL store', { open, dispose, skip });

describe('PostgreSQL store specifics', () => {
  test('an unreachable server is GW_ERR_STORE_UNAVAILABLE (retryable)', async () => {
    await assert.rejects(
      openStore({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test', schema: 'gs_test_unreachable' }),
      (error: unknown) => {
        const e = error as { code?: string; retryable?: boolean };
        assert.equal(e.code, 'GW_ERR_STORE_UNAVAILABLE');
        assert.equal(e.retryable, true);
        return true;
      },
    );
  });

  test('a schema name that is not a plain identifier is refused', async () => {
    await assert.rejects(openStore({ kind: 'postgres', url: pgUrl(), schema: 'x; DROP TABLE y' }), {
      code: 'GW_ERR_CONFIG',
    });
  });

  test('readings land in monthly partitions; prune drops whole months', { skip }, async () => {
    const store = await open();
    try {
      await store.migrate();
      const { db } = storeInternals(store);
      const partitions = async () =>
        (
          await sql<{ name: string }>`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'readings'::regclass ORDER BY 1`.execute(db)
        ).rows.map((r) => r.name);
      const at = (month: number, day: number): Reading => ({
        deviceId: 'd1',
        ts: Date.UTC(2024, month, day),
        measurand: 'activePower',
        value: month,
        unit: 'W',
      });
      await store.telemetry.write([at(0, 31), at(1, 1), at(1, 29), at(2, 1)]);
      assert.deepEqual(await partitions(), ['readings_p202401', 'readings_p202402', 'readings_p202403']);
      // Rows are where their month says.
      const january = await sql<{ n: number }>`SELECT count(*) AS n FROM readings_p202401`.execute(db);
      assert.equal(january.rows[0]?.n, 1);
      assert.equal(await store.telemetry.prune(Date.UTC(2024, 1, 15)), 2);
      assert.deepEqual(await partitions(), ['readings_p202402', 'readings_p202403']);
    } finally {
      await dispose(store);
    }
  });

  test('two stores creating the same new series concurrently agree on their ids', { skip }, async () => {
    const schema = pgTestSchema();
    const a = await openStore({ kind: 'postgres', url: pgUrl(), schema });
    const b = await openStore({ kind: 'postgres', url: pgUrl(), schema });
    try {
      await a.migrate();
      const reading = (deviceId: string, ts: number): Reading => ({
        deviceId,
        ts: Date.UTC(2024, 5, 1) + ts,
        measurand: 'activePower',
        value: ts,
        unit: 'W',
      });
      const devices = Array.from({ length: 2000 }, (_, i) => `dev${i}`);
      // Overlapping sets in opposite orders, several rounds: neither fails (no deadlock, no duplicate key).
      for (let round = 0; round < 5; round++) {
        const mine = devices.map((d) => reading(d, round * 2));
        const theirs = [...devices].reverse().map((d) => reading(d, round * 2 + 1));
        assert.deepEqual(await Promise.all([a.telemetry.write(mine), b.telemetry.write(theirs)]), [
          devices.length,
          devices.length,
        ]);
      }
      const { db } = storeInternals(a);
      const series = await sql<{ n: number; d: number }>`
        SELECT count(*) AS n, count(DISTINCT device_id) AS d FROM series`.execute(db);
      assert.deepEqual(series.rows[0], { n: devices.length, d: devices.length });
      for (const store of [a, b])
        assert.deepEqual(
          (
            await store.telemetry.query({ deviceId: 'dev7', measurand: 'activePower', from: 0, to: Date.UTC(2025, 0) })
          ).map((r) => r.value),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        );
    } finally {
      await a.close();
      await b.close();
      await dropPgSchema(schema);
    }
  });

  test('two stores on one schema create the same new partition concurrently without failing', { skip }, async () => {
    const schema = pgTestSchema();
    const a = await openStore({ kind: 'postgres', url: pgUrl(), schema });
    const b = await openStore({ kind: 'postgres', url: pgUrl(), schema });
    try {
      await a.migrate();
      const reading = (deviceId: string): Reading => ({
        deviceId,
        ts: Date.UTC(2031, 5, 1),
        measurand: 'activePower',
        value: 1,
        unit: 'W',
      });
      assert.deepEqual(
        await Promise.all([a.telemetry.write([reading('a')]), b.telemetry.write([reading('b')])]),
        [1, 1],
      );
      assert.equal((await a.telemetry.latest('b')).length, 1);
    } finally {
      await a.close();
      await b.close();
      await dropPgSchema(schema);
    }
  });
});
