import { GridseamError, type Reading } from '@gridseam/model';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Logger } from 'pino';
import { guard, mapStoreError } from './errors.ts';
import { bySeriesKey, queryLimit, readingOf, type SeriesColumns, SeriesIds, type ValueColumns } from './readings.ts';
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

/** Rows per multi-row INSERT into the inbox (5 parameters each, well under SQLite's 32766). */
const APPEND_ROWS = 100;
const APPEND_COLUMNS = 5;

/** Inbox rows that trigger a merge into readings at the end of a write. */
export const MERGE_THRESHOLD = 100_000;

interface Statements {
  appendMany: BetterSqlite3.Transaction<(readings: readonly Reading[]) => void>;
  inboxHasRows: BetterSqlite3.Statement<[], unknown>;
  merge: BetterSqlite3.Transaction<() => void>;
  query: BetterSqlite3.Statement<[string, string, string, number, number, number], ValueColumns>;
  downsample: BetterSqlite3.Statement<
    [number, number, string, string, string, number, number],
    { start: number; avg: number; min: number; max: number; count: number }
  >;
  latest: BetterSqlite3.Statement<[string], SeriesColumns & ValueColumns>;
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
 * (series_id, ts) order, in one transaction, once it holds MERGE_THRESHOLD rows, and before every
 * read, so queries see every acknowledged reading and the series pages are rewritten once per
 * merge instead of once per batch.
 *
 * Series ids come from an in-process cache; a miss is resolved inside the write's transaction
 * (INSERT ... ON CONFLICT DO NOTHING, then SELECT), so the new series row commits with the
 * readings that use it, and another process resolving the same series meets the unique key and
 * reads the same id. Reads look the series up in SQL (a unique-index probe) and need no cache.
 */
export class SqliteTelemetry implements TelemetryStore {
  #statements: Statements | undefined;
  /** Rows this process appended since its last merge (other processes' rows are found by reads). */
  #inboxRows = 0;
  readonly #seriesIds = new SeriesIds();
  /** Ids resolved by the write in progress; absorbed into #seriesIds once it commits. */
  readonly #resolved = new SeriesIds();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly raw: BetterSqlite3.Database,
    private readonly logger?: Logger,
  ) {}

  /** Prepared on first use: the tables exist only after migrate(). */
  #prepared(): Statements {
    if (this.#statements) return this.#statements;
    const raw = this.raw;
    const insertSeries = raw.prepare<[string, string, string]>(
      'INSERT INTO series (device_id, measurand, phase) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const selectSeries = raw
      .prepare<[string, string, string], number>(
        'SELECT id FROM series WHERE device_id = ? AND measurand = ? AND phase = ?',
      )
      .pluck();
    const cached = this.#seriesIds;
    const resolved = this.#resolved;
    const seriesIdOf = (reading: Reading): number => {
      const phase = reading.phase ?? '';
      const known =
        cached.get(reading.deviceId, reading.measurand, phase) ??
        resolved.get(reading.deviceId, reading.measurand, phase);
      if (known !== undefined) return known;
      insertSeries.run(reading.deviceId, reading.measurand, phase);
      const id = selectSeries.get(reading.deviceId, reading.measurand, phase) as number;
      resolved.set(reading.deviceId, reading.measurand, phase, id);
      return id;
    };
    // Rows go in groups of APPEND_ROWS per statement: one native call per group instead of per row.
    const insertRows = (rows: number) =>
      raw.prepare<unknown[]>(
        `INSERT INTO readings_inbox (series_id, ts, value_num, value_text, quality) VALUES ${Array.from(
          { length: rows },
          () => '(?, ?, ?, ?, ?)',
        ).join(', ')}`,
      );
    const appendGroup = insertRows(APPEND_ROWS);
    const appendOne = insertRows(1);
    const params = new Array<unknown>(APPEND_ROWS * APPEND_COLUMNS);
    const bind = (reading: Reading, at: number) => {
      const numeric = typeof reading.value === 'number';
      params[at] = seriesIdOf(reading);
      params[at + 1] = reading.ts;
      params[at + 2] = numeric ? reading.value : null;
      params[at + 3] = numeric ? null : reading.value;
      params[at + 4] = reading.quality ?? null;
    };
    const appendMany = raw.transaction((readings: readonly Reading[]) => {
      const grouped = readings.length - (readings.length % APPEND_ROWS);
      for (let start = 0; start < grouped; start += APPEND_ROWS) {
        for (let i = 0; i < APPEND_ROWS; i++) bind(readings[start + i] as Reading, i * APPEND_COLUMNS);
        appendGroup.run(params);
      }
      for (let i = grouped; i < readings.length; i++) {
        bind(readings[i] as Reading, 0);
        appendOne.run(params.slice(0, APPEND_COLUMNS));
      }
    });
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint. Rows of one key go
    // in rowid order, so the last one delivered wins, as with a direct upsert.
    const mergeInsert = raw.prepare(
      `INSERT INTO readings (series_id, ts, value_num, value_text, quality)
       SELECT series_id, ts, value_num, value_text, quality FROM readings_inbox WHERE true
       ORDER BY series_id, ts, rowid
       ON CONFLICT (series_id, ts) DO UPDATE SET
         value_num = excluded.value_num, value_text = excluded.value_text, quality = excluded.quality`,
    );
    const clearInbox = raw.prepare('DELETE FROM readings_inbox');
    const merge = raw.transaction(() => {
      mergeInsert.run();
      clearInbox.run();
    });
    // Retention seeks each series' old range through the key (one seek per series), instead of
    // scanning the table or paying for an index on ts. Series rows stay (see migrations.ts).
    const pruneSeries = raw.prepare<[number]>(
      'DELETE FROM readings WHERE series_id IN (SELECT id FROM series) AND ts < ?',
    );
    // The series of a query is found by a probe of the unique index, in the same statement.
    const seriesOfQuery = '(SELECT id FROM series WHERE device_id = ? AND measurand = ? AND phase = ?)';
    this.#statements = {
      appendMany,
      inboxHasRows: raw.prepare('SELECT 1 FROM readings_inbox LIMIT 1'),
      merge,
      query: raw.prepare(
        `SELECT ts, value_num, value_text, quality FROM readings
         WHERE series_id = ${seriesOfQuery} AND ts >= ? AND ts < ?
         ORDER BY ts LIMIT ?`,
      ),
      // better-sqlite3 binds JS numbers as REAL, hence the casts: integer division aligns buckets
      // to multiples of bucketMs since the epoch (ts >= 0). Readings marked invalid are left out
      // of aggregates ("do not use").
      downsample: raw.prepare(
        `SELECT (ts / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS start, avg(value_num) AS avg,
                min(value_num) AS min, max(value_num) AS max, count(*) AS count
         FROM readings
         WHERE series_id = ${seriesOfQuery} AND ts >= ? AND ts < ?
           AND value_num IS NOT NULL AND (quality IS NULL OR quality <> 'invalid')
         GROUP BY 1 ORDER BY 1`,
      ),
      // The device's series through the unique index, then one backward probe of the key per
      // series (max(ts) on a key prefix is a single seek). A series emptied by retention has no row.
      latest: raw.prepare(
        `SELECT s.device_id, s.measurand, s.phase, r.ts, r.value_num, r.value_text, r.quality
         FROM series s JOIN readings r ON r.series_id = s.id
         WHERE s.device_id = ? AND r.ts = (SELECT max(ts) FROM readings WHERE series_id = s.id)`,
      ),
      prune: raw.transaction((olderThan: number) => pruneSeries.run(olderThan).changes),
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
      try {
        s.appendMany.immediate(readings);
      } catch (error) {
        // Rolled back: the series rows resolved by this write are gone, their ids may be reused.
        this.#resolved.clear();
        throw error;
      }
      this.#seriesIds.absorb(this.#resolved);
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
    const series = { device_id: query.deviceId, measurand: query.measurand, phase: query.phase ?? '' };
    return this.#exclusive(`query telemetry of ${query.deviceId}`, true, (s) =>
      s.query
        .all(series.device_id, series.measurand, series.phase, query.from, query.to, limit)
        .map((row) => readingOf(series, row)),
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
    return this.#exclusive(`latest telemetry of ${deviceId}`, true, (s) =>
      s.latest
        .all(deviceId)
        .map((row) => readingOf(row, row))
        .sort(bySeriesKey),
    );
  }

  prune(olderThan: number): Promise<number> {
    return this.#exclusive('prune telemetry', true, (s) => s.prune.immediate(olderThan));
  }
}
