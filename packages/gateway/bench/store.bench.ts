/**
 * Telemetry ingest benchmark: `npm run bench:store [-- --readings N] [--batch N] [--devices N]`.
 *
 * Generates N readings (default 1,000,000: 1,000 devices x 200 one-minute polls x 5 measurands,
 * so 5,000 series; batches made lazily) in two arrival orders: time-major (each poll of every
 * device in turn, as a live gateway receives them) and device-major (each device's history in
 * turn, as a backfill or per-device upload). For each order: writes them through
 * `store.telemetry.write` in batches into a fresh SQLite file, then measures the floor in the same
 * run: a raw better-sqlite3 prepared INSERT of the same rows in ONE transaction into a fresh file
 * with the same series and readings tables (SQLITE_READINGS_DDL) and the same connection pragmas.
 *
 * The floor's series ids are resolved the cheapest raw way: every series row is inserted before
 * the clock starts and the ids are looked up in memory (the store's own nested-Map cache,
 * SeriesIds), so the timed part is one Map lookup and one (series_id, ts, value) insert per
 * reading. The store, by contrast, creates its 5,000 series rows inside its timed writes. This
 * keeps the floor a lower bound of the work any writer of this schema must do, so the ratio is
 * not flattered.
 *
 * Prints readings/s, the store/floor ratio and PASS/FAIL against the targets (>= 200,000
 * readings/s, >= 0.5 of the floor), then the time-major ingest into PostgreSQL when reachable.
 * Only write calls are timed (generation excluded), for both. Exit code 1 on any FAIL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { NumericMeasurand, Reading } from '@gridseam/model';
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../src/store/index.ts';
import { SQLITE_READINGS_DDL } from '../src/store/migrations.ts';
import { SeriesIds } from '../src/store/readings.ts';
import { SQLITE_PRAGMAS } from '../src/store/sqlite.ts';
import { dropPgSchema, isPgReachable, pgUrl } from '../test/helpers/services.ts';

const TARGET_RATE = 200_000;
const TARGET_RATIO = 0.5;

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '5000' },
    devices: { type: 'string', default: '1000' },
  },
});
const total = Number(args.readings);
const batchSize = Number(args.batch);
const deviceCount = Number(args.devices);
if (!(total > 0 && batchSize > 0 && deviceCount > 0)) {
  console.error('usage: store.bench.ts [--readings N] [--batch N] [--devices N]');
  process.exit(2);
}

const MEASURANDS: ReadonlyArray<[NumericMeasurand, 'W' | 'var' | 'V' | 'Hz' | '%', (d: number, t: number) => number]> =
  [
    ['activePower', 'W', (d, t) => Math.round(5000 * Math.sin((t + d) / 50))],
    ['reactivePower', 'var', (d, t) => (d % 7) * 10 - (t % 13)],
    ['voltage', 'V', (d, t) => 230 + ((d * 31 + t) % 100) / 10],
    ['frequency', 'Hz', (_d, t) => 50 + ((t % 21) - 10) / 1000],
    ['stateOfCharge', '%', (d, t) => (d + t) % 101],
  ];
const START = Date.UTC(2024, 0, 1);
const deviceIds = Array.from({ length: deviceCount }, (_, d) => `dev-${String(d).padStart(5, '0')}`);

type Order = 'time-major' | 'device-major';
const polls = Math.ceil(total / (deviceCount * MEASURANDS.length));

/** Readings in the given arrival order, in batches, made on demand. */
function* batches(order: Order): Generator<Reading[]> {
  let made = 0;
  let batch: Reading[] = [];
  const outer = order === 'time-major' ? polls : deviceCount;
  const inner = order === 'time-major' ? deviceCount : polls;
  for (let o = 0; o < outer && made < total; o++) {
    for (let i = 0; i < inner && made < total; i++) {
      const [t, d] = order === 'time-major' ? [o, i] : [i, o];
      const ts = START + t * 60_000;
      for (const [measurand, unit, value] of MEASURANDS) {
        if (made === total) break;
        batch.push({ deviceId: deviceIds[d] as string, ts, measurand, value: value(d, t), unit } as Reading);
        made++;
        if (batch.length === batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
  }
  if (batch.length > 0) yield batch;
}

async function timeStore(order: Order, write: (batch: Reading[]) => Promise<number>): Promise<number> {
  let elapsed = 0;
  let written = 0;
  for (const batch of batches(order)) {
    const started = performance.now();
    written += await write(batch);
    elapsed += performance.now() - started;
  }
  if (written !== total) throw new Error(`wrote ${written} of ${total}`);
  return elapsed;
}

function timeFloor(order: Order, path: string): number {
  const db = new BetterSqlite3(path);
  try {
    for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
    for (const statement of SQLITE_READINGS_DDL) db.exec(statement);
    // Untimed: every series row exists and its id is in memory before the clock starts.
    const ids = new SeriesIds();
    const addSeries = db.prepare<[string, string, string]>(
      'INSERT INTO series (device_id, measurand, phase) VALUES (?, ?, ?)',
    );
    db.transaction(() => {
      for (const deviceId of deviceIds)
        for (const [measurand] of MEASURANDS)
          ids.set(deviceId, measurand, '', Number(addSeries.run(deviceId, measurand, '').lastInsertRowid));
    })();
    const insert = db.prepare(
      'INSERT INTO readings (series_id, ts, value_num, value_text, quality) VALUES (?, ?, ?, ?, ?)',
    );
    let elapsed = 0;
    let started = performance.now();
    db.exec('BEGIN');
    elapsed += performance.now() - started;
    for (const batch of batches(order)) {
      started = performance.now();
      for (const r of batch)
        insert.run(ids.get(r.deviceId, r.measurand, r.phase ?? ''), r.ts, r.value as number, null, null);
      elapsed += performance.now() - started;
    }
    started = performance.now();
    db.exec('COMMIT');
    elapsed += performance.now() - started;
    return elapsed;
  } finally {
    db.close();
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const rate = (ms: number) => Math.round(total / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US');
const rows: Array<[string, string, string, string]> = [];
let failed = false;
const verdict = (ok: boolean) => {
  if (!ok) failed = true;
  return ok ? 'PASS' : 'FAIL';
};

const dir = mkdtempSync(join(tmpdir(), 'gridseam-bench-'));
try {
  console.log(
    `store ingest benchmark: ${fmt(total)} readings (${fmt(deviceCount)} devices x ${fmt(polls)} polls x ${MEASURANDS.length} measurands), batches of ${fmt(batchSize)}`,
  );

  for (const order of ['time-major', 'device-major'] as const) {
    const store = await openStore({ kind: 'sqlite', path: join(dir, `store-${order}.db`) });
    await store.migrate();
    // The last merge of the inbox happens on the first read: include it, it is part of ingest.
    const storeMs =
      (await timeStore(order, (batch) => store.telemetry.write(batch))) +
      (await timed(() => store.telemetry.latest(deviceIds[0] as string)));
    await store.close();
    const storeRate = rate(storeMs);
    const floorMs = timeFloor(order, join(dir, `floor-${order}.db`));
    const floorRate = rate(floorMs);
    const ratio = storeRate / floorRate;
    rows.push([
      `sqlite store, ${order}`,
      `${(storeMs / 1000).toFixed(2)} s`,
      fmt(storeRate),
      `${verdict(storeRate >= TARGET_RATE)} (>= ${fmt(TARGET_RATE)}/s)`,
    ]);
    rows.push([`sqlite raw floor, ${order}`, `${(floorMs / 1000).toFixed(2)} s`, fmt(floorRate), '']);
    rows.push([
      `ratio store/floor, ${order}`,
      '',
      ratio.toFixed(2),
      `${verdict(ratio >= TARGET_RATIO)} (>= ${TARGET_RATIO})`,
    ]);
  }

  if (await isPgReachable()) {
    const schema = `gs_test_bench_${process.pid}`;
    const pgStore = await openStore({ kind: 'postgres', url: pgUrl(), schema });
    try {
      await pgStore.migrate();
      const pgMs = await timeStore('time-major', (batch) => pgStore.telemetry.write(batch));
      rows.push(['postgres store, time-major', `${(pgMs / 1000).toFixed(2)} s`, fmt(rate(pgMs)), '']);
    } finally {
      await pgStore.close();
      await dropPgSchema(schema);
    }
  } else {
    rows.push(['postgres store, time-major', '', '', `skipped: not reachable at ${pgUrl()}`]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const header: [string, string, string, string] = ['run', 'time', 'readings/s', 'target'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
const line = (r: readonly string[]) =>
  r
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
if (failed) process.exitCode = 1;
