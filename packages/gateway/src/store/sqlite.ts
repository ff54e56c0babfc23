import { GridseamError, type Reading } from '@gridseam/model';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Logger } from 'pino';
import { guard, mapStoreError } from './errors.ts';
import { queryLimit, type ReadingRow, readingOf, SERIES_KEYS } from './readings.ts';
import type { Database } from './schema.ts';
import type { Bucket, DownsampleQuery, TelemetryQuery, TelemetryStore } from './types.ts';

export interface SqliteHandles {
  db: Kysely<Database>;
  raw: BetterSqlite3.Database;
}

/**
 * Connection settings: WAL; foreign keys enforced; synchronous=NORMAL (in WAL mode a commit
 * survives a process crash, only a power loss can take the last commits); a busy timeout so a
 * second process waits for the write lock instead of failing; a 64 MiB page cache and a 40 MiB
 * auto-checkpoint, so telemetry merges rewrite hot pages in memory and checkpoints copy each page
 * once for many commits; the WAL file is truncated back to 64 MiB after a checkpoint.
 */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'foreign_keys = ON',
  'synchronous = NORMAL',
  'busy_timeout = 5000',
  'cache_size = -65536',
  'wal_autocheckpoint = 10000',
  'journal_size_limit = 67108864',
  'temp_store = MEMORY',
] as const;

/** Opens the file (or ':memory:') with SQLITE_PRAGMAS. */
export function openSqlite(path: string): SqliteHandles {
  let raw: BetterSqlite3.Database;
  try {
    raw = new BetterSqlite3(path);
    for (const pragma of SQLITE_PRAGMAS) raw.pragma(pragma);
  } catch (error) {
    // better-sqlite3 reports a missing directory with a plain TypeError: still "cannot open".
    const mapped = mapStoreError(error, `open SQLite database ${path}`);
    if (mapped.code !== 'GW_ERR_INTERNAL') throw mapped;
    throw new GridseamError(
      'GW_ERR_STORE_UNAVAILABLE',
      `cannot open SQLite database ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  return { db, raw };
}

/** Rows per multi-row INSERT into the inbox (7 parameters each, well under SQLite's 32766). */
const APPEND_ROWS = 100;

/** Inbox rows that trigger a merge into readings at the end of a write. */
export const MERGE_THRESHOLD = 100_000;

type SeriesKey = Pick<ReadingRow, 'device_id' | 'measurand' | 'phase'>;

interface Statements {
  appendMany: BetterSqlite3.Transaction<(readings: readonly Reading[]) => void>;
  inboxHasRows: BetterSqlite3.Statement<[], unknown>;
  merge: BetterSqlite3.Transaction<() => void>;
  query: BetterSqlite3.Statement<[string, string, string, number, number, number], ReadingRow>;
  downsample: BetterSqlite3.Statement<
    [number, number, string, string, string, number, number],
    { start: number; avg: number; min: number; max: number; count: number }
  >;
  latestOne: BetterSqlite3.Statement<[string, string, string], Omit<ReadingRow, keyof SeriesKey>>;
  prune: BetterSqlite3.Transaction<(olderThan: number) => number>;
}

/**
 * Telemetry on SQLite through cached better-sqlite3 statements (the hot path skips kysely's
 * per-call compile and prepare). Every call first takes kysely's single-connection mutex
 * (`db.connection()`), so raw statements never run inside a kysely transaction left open across
 * an await.
 *
 * Why an inbox: readings usually arrive time-major (every device, then the next poll), so a
 * batch written straight into the series-ordered readings table dirties one leaf page per series,
 * and each commit writes all of those pages to the WAL: with 5,000 series a 5,000-reading batch
 * rewrites about 20 MB. `write` therefore commits the batch to readings_inbox (appends, a few
 * pages) in one transaction: acknowledged means durable. The inbox is merged into readings in
 * key order, in one transaction, once it holds MERGE_THRESHOLD rows, and before every read, so
 * queries see every acknowledged reading and the series pages are rewritten once per merge
 * instead of once per batch.
 */
export class SqliteTelemetry implements TelemetryStore {
  #statements: Statements | undefined;
  /** Rows this process appended since its last merge (other processes' rows are found by reads). */
  #inboxRows = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly raw: BetterSqlite3.Database,
    private readonly logger?: Logger,
  ) {}

  /** Prepared on first use: the tables exist only after migrate(). */
  #prepared(): Statements {
    if (this.#statements) return this.#statements;
    const raw = this.raw;
    // Rows go in groups of APPEND_ROWS per statement: one native call per group instead of per row.
    const insertRows = (rows: number) =>
      raw.prepare<unknown[]>(
        `INSERT INTO readings_inbox (device_id, measurand, phase, ts, value_num, value_text, quality) VALUES ${Array.from(
          { length: rows },
          () => '(?, ?, ?, ?, ?, ?, ?)',
        ).join(', ')}`,
      );
    const appendGroup = insertRows(APPEND_ROWS);
    const appendOne = insertRows(1);
    const params = new Array<unknown>(APPEND_ROWS * 7);
    const bind = (reading: Reading, at: number) => {
      const numeric = typeof reading.value === 'number';
      params[at] = reading.deviceId;
      params[at + 1] = reading.measurand;
      params[at + 2] = reading.phase ?? '';
      params[at + 3] = reading.ts;
      params[at + 4] = numeric ? reading.value : null;
      params[at + 5] = numeric ? null : reading.value;
      params[at + 6] = reading.quality ?? null;
    };
    const appendMany = raw.transaction((readings: readonly Reading[]) => {
      const grouped = readings.length - (readings.length % APPEND_ROWS);
      for (let start = 0; start < grouped; start += APPEND_ROWS) {
        for (let i = 0; i < APPEND_ROWS; i++) bind(readings[start + i] as Reading, i * 7);
        appendGroup.run(params);
      }
      for (let i = grouped; i < readings.length; i++) {
        bind(readings[i] as Reading, 0);
        appendOne.run(params.slice(0, 7));
      }
    });
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint. Rows of one key go
    // in rowid order, so the last one delivered wins, as with a direct upsert.
    const mergeInsert = raw.prepare(
      `INSERT INTO readings (device_id, measurand, phase, ts, value_num, value_text, quality)
       SELECT device_id, measurand, phase, ts, value_num, value_text, quality FROM readings_inbox WHERE true
       ORDER BY device_id, measurand, phase, ts, rowid
       ON CONFLICT (device_id, measurand, phase, ts) DO UPDATE SET
         value_num = excluded.value_num, value_text = excluded.value_text, quality = excluded.quality`,
    );
    const clearInbox = raw.prepare('DELETE FROM readings_inbox');
    const merge = raw.transaction(() => {
      mergeInsert.run();
      clearInbox.run();
    });
    // Retention walks the series through the primary key (one seek per series) and deletes each
    // series' old range, instead of scanning the table or paying for an index on ts.
    const firstSeries = raw.prepare<[], SeriesKey>(
      'SELECT device_id, measurand, phase FROM readings ORDER BY device_id, measurand, phase LIMIT 1',
    );
    const nextSeries = raw.prepare<[string, string, string], SeriesKey>(
      `SELECT device_id, measurand, phase FROM readings WHERE (device_id, measurand, phase) > (?, ?, ?)
       ORDER BY device_id, measurand, phase LIMIT 1`,
    );
    const pruneSeries = raw.prepare<[string, string, string, number]>(
      'DELETE FROM readings WHERE device_id = ? AND measurand = ? AND phase = ? AND ts < ?',
    );
    const prune = raw.transaction((olderThan: number) => {
      let removed = 0;
      for (let key = firstSeries.get(); key !== undefined; ) {
        removed += pruneSeries.run(key.device_id, key.measurand, key.phase, olderThan).changes;
        key = nextSeries.get(key.device_id, key.measurand, key.phase);
      }
      return removed;
    });
    this.#statements = {
      appendMany,
      inboxHasRows: raw.prepare('SELECT 1 FROM readings_inbox LIMIT 1'),
      merge,
      query: raw.prepare(
        `SELECT device_id, measurand, phase, ts, value_num, value_text, quality FROM readings
         WHERE device_id = ? AND measurand = ? AND phase = ? AND ts >= ? AND ts < ?
         ORDER BY ts LIMIT ?`,
      ),
      // better-sqlite3 binds JS numbers as REAL, hence the casts: integer division aligns buckets
      // to multiples of bucketMs since the epoch (ts >= 0). Readings marked invalid are left out
      // of aggregates ("do not use").
      downsample: raw.prepare(
        `SELECT (ts / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS start, avg(value_num) AS avg,
                min(value_num) AS min, max(value_num) AS max, count(*) AS count
         FROM readings
         WHERE device_id = ? AND measurand = ? AND phase = ? AND ts >= ? AND ts < ?
           AND value_num IS NOT NULL AND (quality IS NULL OR quality <> 'invalid')
         GROUP BY 1 ORDER BY 1`,
      ),
      latestOne: raw.prepare(
        `SELECT ts, value_num, value_text, quality FROM readings
         WHERE device_id = ? AND measurand = ? AND phase = ? ORDER BY ts DESC LIMIT 1`,
      ),
      prune,
    };
    return this.#statements;
  }

  /** Runs work holding the connection, after merging the inbox when `merged` asks for it. */
  #exclusive<T>(what: string, merged: boolean, work: (statements: Statements) => T): Promise<T> {
    return guard(what, () =>
      this.db.connection().execute(async () => {
        const statements = this.#prepared();
        if (merged && statements.inboxHasRows.get() !== undefined) {
          statements.merge.immediate();
          this.#inboxRows = 0;
        }
        return work(statements);
      }),
    );
  }

  write(readings: readonly Reading[]): Promise<number> {
    if (readings.length === 0) return Promise.resolve(0);
    return this.#exclusive(`write ${readings.length} readings`, false, (s) => {
      // IMMEDIATE takes the write lock up front, so busy_timeout applies instead of a failed upgrade.
      s.appendMany.immediate(readings);
      this.#inboxRows += readings.length;
      if (this.#inboxRows >= MERGE_THRESHOLD) {
        try {
          s.merge.immediate();
          this.#inboxRows = 0;
        } catch (error) {
          // The batch is committed in the inbox; the next read or write merges it.
          this.logger?.warn({ err: error }, 'telemetry inbox merge failed; will retry');
        }
      }
      return readings.length;
    });
  }

  query(query: TelemetryQuery): Promise<Reading[]> {
    const limit = queryLimit(query);
    return this.#exclusive(`query telemetry of ${query.deviceId}`, true, (s) =>
      s.query
        .all(query.deviceId, query.measurand, query.phase ?? '', query.from, query.to, limit)
        .map((row) => readingOf(row)),
    );
  }

  downsample(query: DownsampleQuery): Promise<Bucket[]> {
    const bucketMs = Math.trunc(query.bucketMs);
    if (!(bucketMs > 0))
      return Promise.reject(new GridseamError('GW_ERR_VALIDATION', 'bucketMs must be a positive integer'));
    return this.#exclusive(`downsample telemetry of ${query.deviceId}`, true, (s) =>
      s.downsample.all(bucketMs, bucketMs, query.deviceId, query.measurand, query.phase ?? '', query.from, query.to),
    );
  }

  latest(deviceId: string): Promise<Reading[]> {
    return this.#exclusive(`latest telemetry of ${deviceId}`, true, (s) => {
      const readings: Reading[] = [];
      for (const [measurand, phase] of SERIES_KEYS) {
        const row = s.latestOne.get(deviceId, measurand, phase);
        if (row) readings.push(readingOf({ ...row, device_id: deviceId, measurand, phase }));
      }
      return readings;
    });
  }

  prune(olderThan: number): Promise<number> {
    return this.#exclusive('prune telemetry', true, (s) => s.prune.immediate(olderThan));
  }
}
