import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Command, Reading } from '@gridseam/model';
import { sql } from 'kysely';
import { openStore, storeInternals } from '../../src/store/index.ts';
import { MERGE_THRESHOLD } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { device, site, storeContract } from './contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'gridseam-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

storeContract('SQLite store (in memory)', {
  open: () => openStore({ kind: 'sqlite', path: ':memory:' }),
  dispose: (store) => store.close(),
});

storeContract('SQLite store (file)', {
  open: () => openStore({ kind: 'sqlite', path: join(dir, `contract-${files++}.db`) }),
  dispose: (store) => store.close(),
});

describe('SQLite store specifics', () => {
  test('a file store runs WAL with foreign keys on, synchronous NORMAL and a busy timeout', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(dir, 'pragmas.db') });
    try {
      const { db } = storeInternals(store);
      const pragma = async (name: string) =>
        Object.values((await sql.raw(`PRAGMA ${name}`).execute(db)).rows[0] as Record<string, unknown>)[0];
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('foreign_keys'), 1);
      assert.equal(await pragma('synchronous'), 1); // NORMAL
      assert.equal(await pragma('busy_timeout'), 5000);
    } finally {
      await store.close();
    }
  });

  test('acknowledged writes survive close and reopen', async () => {
    const path = join(dir, 'reopen.db');
    const readings: Reading[] = Array.from({ length: 537 }, (_, i) => ({
      deviceId: 'd1',
      ts: 1_700_000_000_000 + i * 1000,
      measurand: 'activePower',
      value: i - 250,
      unit: 'W',
    }));
    const first = await openStore({ kind: 'sqlite', path });
    assert.equal((await first.migrate()).length, 4);
    await first.sites.create(site('s1'));
    await first.devices.create(device('d1', 's1'));
    assert.equal(await first.telemetry.write(readings), 537);
    const entry = await first.audit.append({ at: 1, actor: 'alice', action: 'site.create', targetType: 'site' });
    await first.close();

    const second = await openStore({ kind: 'sqlite', path });
    try {
      assert.deepEqual(await second.migrate(), []);
      assert.deepEqual(await second.devices.get('d1'), device('d1', 's1'));
      assert.deepEqual(
        await second.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: 2e12 }),
        readings,
      );
      assert.deepEqual(await second.audit.list(), [entry]);
      const next = await second.audit.append({ at: 2, actor: 'alice', action: 'site.update', targetType: 'site' });
      assert.ok(next.seq > entry.seq);
    } finally {
      await second.close();
    }
  });

  test('a file that cannot be opened is GW_ERR_STORE_UNAVAILABLE (retryable)', async () => {
    await assert.rejects(openStore({ kind: 'sqlite', path: join(dir, 'no-such-dir', 'x.db') }), (error: unknown) => {
      const e = error as { code?: string; retryable?: boolean };
      assert.equal(e.code, 'GW_ERR_STORE_UNAVAILABLE');
      assert.equal(e.retryable, true);
      return true;
    });
  });

  test('telemetry writes wait for an open kysely transaction instead of joining it', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    try {
      await store.migrate();
      const { db } = storeInternals(store);
      const reading: Reading = { deviceId: 'd1', ts: 1, measurand: 'activePower', value: 1, unit: 'W' };
      let write: Promise<number> | undefined;
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await sql`INSERT INTO sites (id, doc) VALUES ('s1', '{}')`.execute(trx);
          write = store.telemetry.write([reading]);
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal(await write, 1);
      assert.equal(await store.sites.get('s1'), undefined);
      assert.equal((await store.telemetry.latest('d1')).length, 1);
    } finally {
      await store.close();
    }
  });

  test('command writes (cached statements) wait for an open kysely transaction instead of joining it', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    try {
      await store.migrate();
      await store.sites.create(site('s0'));
      await store.devices.create(device('d1', 's0'));
      const { db } = storeInternals(store);
      const pending: Command = {
        id: 'c1',
        deviceId: 'd1',
        setpoint: {
          id: 'sp1',
          deviceId: 'd1',
          kind: 'generationLimit',
          value: 1,
          start: 1,
          expiry: 2,
          source: { kind: 'operator' },
        },
        status: 'pending',
        attempts: 0,
        createdAt: 1,
        updatedAt: 1,
        history: [{ status: 'pending', at: 1 }],
      };
      const audit = { at: 1, actor: 'test', action: 'setpoint.create', targetType: 'device', targetId: 'd1' };
      let created: Promise<unknown> | undefined;
      let moved: Promise<unknown> | undefined;
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await sql`INSERT INTO sites (id, doc) VALUES ('s1', '{}')`.execute(trx);
          created = store.commands.createMany([pending], [audit]);
          moved = created.then(() => store.commands.transitionMany([{ id: 'c1', status: 'sent', at: 2, audit }]));
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('roll back');
        }),
        /roll back/,
      );
      await created;
      assert.equal(((await moved) as Array<{ ok: boolean }>)[0]?.ok, true);
      assert.equal(await store.sites.get('s1'), undefined);
      assert.equal((await store.commands.get('c1'))?.status, 'sent');
      assert.equal((await store.audit.list()).length, 2);
    } finally {
      await store.close();
    }
  });

  test('document writes and reads (cached statements) wait for an open kysely transaction instead of joining it', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    try {
      await store.migrate();
      await store.documents.write('ns', [{ id: 'old', doc: { v: 1 } }]);
      const { db } = storeInternals(store);
      let written: Promise<void> | undefined;
      let read: Promise<unknown> | undefined;
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await sql`INSERT INTO sites (id, doc) VALUES ('s1', '{}')`.execute(trx);
          await sql`DELETE FROM documents WHERE id = 'old'`.execute(trx);
          written = store.documents.write('ns', [{ id: 'new', doc: { v: 2 } }]);
          read = store.documents.get('ns', 'old');
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('roll back');
        }),
        /roll back/,
      );
      await written;
      // Both waited for the rollback: the read sees 'old' again, not the transaction's delete.
      assert.deepEqual(await read, { v: 1 });
      assert.equal(await store.sites.get('s1'), undefined);
      assert.deepEqual(
        (await store.documents.list('ns')).map((d) => [d.id, d.doc]),
        [
          ['new', { v: 2 }],
          ['old', { v: 1 }],
        ],
      );
    } finally {
      await store.close();
    }
  });

  test('two stores on one file, and a reopened one, resolve the same series ids', async () => {
    const path = join(dir, 'series.db');
    const reading = (deviceId: string, ts: number, value: number, phase?: 'A'): Reading =>
      ({ deviceId, ts, measurand: 'activePower', value, unit: 'W', ...(phase ? { phase } : {}) }) as Reading;
    const seriesIds = async (store: Store) =>
      (
        await sql<{
          id: number;
          key: string;
        }>`SELECT id, device_id || '/' || phase AS key FROM series ORDER BY id`.execute(storeInternals(store).db)
      ).rows;
    const a = await openStore({ kind: 'sqlite', path });
    const b = await openStore({ kind: 'sqlite', path });
    try {
      await a.migrate();
      await a.telemetry.write([reading('d1', 1000, 1), reading('d2', 1000, 2)]);
      // b learns d1 from the table, creates d1/A; a then meets d1/A as an existing row.
      await b.telemetry.write([reading('d1', 2000, 3), reading('d1', 2000, 4, 'A')]);
      await a.telemetry.write([reading('d1', 3000, 5, 'A'), reading('d1', 3000, 6)]);
      const ids = await seriesIds(a);
      assert.deepEqual(
        ids.map((r) => r.key),
        ['d1/', 'd2/', 'd1/A'],
      );
      assert.deepEqual(await seriesIds(b), ids);
      for (const store of [a, b]) {
        assert.deepEqual(
          (await store.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: 10_000 })).map(
            (r) => r.value,
          ),
          [1, 3, 6],
        );
        assert.deepEqual(
          (
            await store.telemetry.query({ deviceId: 'd1', phase: 'A', measurand: 'activePower', from: 0, to: 10_000 })
          ).map((r) => r.value),
          [4, 5],
        );
      }
    } finally {
      await a.close();
      await b.close();
    }

    // A fresh process (empty cache) re-delivering a reading replaces it in the existing series.
    const reopened = await openStore({ kind: 'sqlite', path });
    try {
      assert.deepEqual(await reopened.migrate(), []);
      const before = await seriesIds(reopened);
      await reopened.telemetry.write([reading('d2', 1000, 20), reading('d3', 1000, 30)]);
      assert.deepEqual(await seriesIds(reopened), [...before, { id: (before.at(-1)?.id ?? 0) + 1, key: 'd3/' }]);
      assert.deepEqual(
        await reopened.telemetry.query({ deviceId: 'd2', measurand: 'activePower', from: 0, to: 10_000 }),
        [reading('d2', 1000, 20)],
      );
    } finally {
      await reopened.close();
    }
  });

  test('a merge past the threshold across many series keeps each series whole and in order', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    try {
      await store.migrate();
      const devices = 250;
      const phases = [undefined, 'A', 'B', 'C'] as const;
      const polls = Math.ceil((MERGE_THRESHOLD + 1) / (devices * phases.length));
      const batch: Reading[] = [];
      // Time-major: every poll of every series, so each merge interleaves all series.
      for (let t = 0; t < polls; t++)
        for (let d = 0; d < devices; d++)
          for (const [p, phase] of phases.entries())
            batch.push({
              deviceId: `d${d}`,
              ts: 1000 * t,
              measurand: 'current',
              value: d + p / 10 + t * 1000,
              unit: 'A',
              ...(phase ? { phase } : {}),
            } as Reading);
      for (let offset = 0; offset < batch.length; offset += 5000)
        await store.telemetry.write(batch.slice(offset, offset + 5000));
      const { db } = storeInternals(store);
      const count = async (table: 'readings' | 'readings_inbox') =>
        Number((await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db)).rows[0]?.n);
      // The threshold was crossed once: that merge moved everything written up to then.
      assert.ok((await count('readings')) >= MERGE_THRESHOLD);
      assert.equal((await count('readings')) + (await count('readings_inbox')), batch.length);
      for (const d of [0, 17, devices - 1]) {
        const got = await store.telemetry.query({
          deviceId: `d${d}`,
          phase: 'C',
          measurand: 'current',
          from: 0,
          to: 1e9,
        });
        assert.deepEqual(
          got.map((r) => r.value),
          Array.from({ length: polls }, (_, t) => d + 0.3 + t * 1000),
        );
      }
      assert.equal(await count('readings'), batch.length);
      assert.equal((await store.telemetry.latest(`d${devices - 1}`)).length, phases.length);
    } finally {
      await store.close();
    }
  });

  test('the telemetry inbox is merged at the threshold and before reads; the later delivery wins', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    try {
      await store.migrate();
      const { db } = storeInternals(store);
      const inbox = async () =>
        Number((await sql<{ n: number }>`SELECT count(*) AS n FROM readings_inbox`.execute(db)).rows[0]?.n);
      const stored = async () =>
        Number((await sql<{ n: number }>`SELECT count(*) AS n FROM readings`.execute(db)).rows[0]?.n);
      const at = (ts: number, value: number): Reading => ({
        deviceId: 'd1',
        ts,
        measurand: 'voltage',
        value,
        unit: 'V',
      });

      await store.telemetry.write([at(1, 230), at(2, 231)]);
      assert.equal(await inbox(), 2);
      assert.equal(await stored(), 0);
      // A read merges first, so it sees every acknowledged reading.
      assert.equal((await store.telemetry.latest('d1'))[0]?.value, 231);
      assert.equal(await inbox(), 0);
      // A re-delivery after the merge replaces the merged value.
      await store.telemetry.write([at(2, 240), at(2, 241)]);
      assert.deepEqual(await store.telemetry.query({ deviceId: 'd1', measurand: 'voltage', from: 0, to: 10 }), [
        at(1, 230),
        at(2, 241),
      ]);

      // Crossing the threshold merges at the end of the write.
      const many = Array.from({ length: MERGE_THRESHOLD + 3 }, (_, i) => at(1000 + i, i % 500));
      await store.telemetry.write(many.slice(0, MERGE_THRESHOLD - 10));
      assert.equal(await inbox(), MERGE_THRESHOLD - 10);
      await store.telemetry.write(many.slice(MERGE_THRESHOLD - 10));
      assert.equal(await inbox(), 0);
      assert.equal(await stored(), MERGE_THRESHOLD + 3 + 2);
    } finally {
      await store.close();
    }
  });
});
