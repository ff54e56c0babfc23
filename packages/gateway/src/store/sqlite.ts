/**
 * The SQLite store's connection and its telemetry (SqliteTelemetry).
 *
 * Threads: telemetry WRITES to a file database run in a worker thread (sqlite-inbox.ts) with its
 * own better-sqlite3 connection in WAL mode, so appends, inbox merges and WAL checkpoints never
 * block the event loop that polls devices. The main thread encodes each batch as columns (typed
 * arrays, transferred, not copied) and the worker acknowledges it only after its transaction
 * commits: a resolved write is durable, and batches commit in call order. Everything else (the
 * entity repositories through kysely, telemetry reads, prune, the merge before a read) uses this
 * thread's connection; a telemetry read first waits for the writes called before it, then has the
 * worker merge the inbox, so it sees them. `store.close()` drains
 * the worker (DrainingSqliteDialect runs the close hook) before this connection closes.
 * An in-memory database (':memory:', or '' for a private temporary one) cannot be opened by a
 * second connection, so its writes run in this thread, as before the worker existed.
 */
import { GridseamError, type Measurand, type Reading } from '@gridseam/model';
import BetterSqlite3 from 'better-sqlite3';
import { type Driver, Kysely, SqliteDialect, type SqliteDialectConfig, SqliteDriver } from 'kysely';
import type { Logger } from 'pino';
import { guard, mapStoreError } from './errors.ts';
import { bySeriesKey, queryLimit, readingOf, type SeriesColumns, type ValueColumns } from './readings.ts';
import type { Database } from './schema.ts';
import { InboxAppender, InboxWriterThread, type MergeStatements, prepareMerge, SeriesCatalog } from './sqlite-inbox.ts';
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

/** A database that cannot be opened: mapped by its code, else GW_ERR_STORE_UNAVAILABLE. */
function unavailable(path: string, error: unknown): GridseamError {
  // better-sqlite3 reports a missing directory with a plain TypeError: still "cannot open".
  const mapped = mapStoreError(error, `open SQLite database ${path}`);
  if (mapped.code !== 'GW_ERR_INTERNAL') return mapped;
  return new GridseamError(
    'GW_ERR_STORE_UNAVAILABLE',
    `cannot open SQLite database ${path}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/** Opens the file (or ':memory:') with SQLITE_PRAGMAS. */
export function openSqlite(path: string): SqliteHandles {
  let raw: BetterSqlite3.Database;
  try {
    raw = new BetterSqlite3(path);
    for (const pragma of SQLITE_PRAGMAS) raw.pragma(pragma);
  } catch (error) {
    throw unavailable(path, error);
  }
  closeHooks.set(raw, []);
  const db = new Kysely<Database>({ dialect: new DrainingSqliteDialect({ database: raw }, raw) });
  return { db, raw };
}

/** Work to finish before a connection opened by openSqlite closes (the telemetry writer thread's drain). */
const closeHooks = new WeakMap<BetterSqlite3.Database, Array<() => Promise<void>>>();

function onClose(raw: BetterSqlite3.Database, hook: () => Promise<void>): void {
  closeHooks.get(raw)?.push(hook);
}

/** kysely's SQLite dialect, whose destroy() (store.close()) first runs the connection's close hooks. */
class DrainingSqliteDialect extends SqliteDialect {
  constructor(
    private readonly config: SqliteDialectConfig,
    private readonly raw: BetterSqlite3.Database,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const raw = this.raw;
    return new (class extends SqliteDriver {
      override async destroy(): Promise<void> {
        for (const hook of closeHooks.get(raw) ?? []) await hook();
        await super.destroy();
      }
    })(this.config);
  }
}

export { MERGE_THRESHOLD } from './sqlite-inbox.ts';

interface ReadStatements extends MergeStatements {
  query: BetterSqlite3.Statement<[string, string, string, number, number, number], ValueColumns>;
  downsample: BetterSqlite3.Statement<
    [number, number, string, string, string, number, number],
    { start: number; avg: number; min: number; max: number; count: number }
  >;
  latest: BetterSqlite3.Statement<[string], SeriesColumns & ValueColumns>;
  latestOf: BetterSqlite3.Statement<[string], SeriesColumns & ValueColumns>;
  prune: BetterSqlite3.Transaction<(olderThan: number) => number>;
}

/**
 * Telemetry on SQLite through cached better-sqlite3 statements (the hot path skips kysely's
 * per-call compile and prepare).
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
 * Where writes run (sqlite-inbox.ts):
 * - A FILE database: in a worker thread with its own connection (WAL, the same pragmas), so
 *   neither the append nor the merge of 100,000 rows (hundreds of milliseconds with tens of
 *   thousands of series) nor a WAL checkpoint blocks the event loop that polls devices. A write
 *   resolves once the worker has committed its batch; batches commit in call order. Reads and
 *   prune stay on this thread's connection; they first wait until every write called before them
 *   has settled and have the worker merge the inbox, so a read sees them. `store.close()` drains the worker
 *   (every batch sent is committed or failed) before this connection closes.
 * - ':memory:' (or a temporary '' database): a private database cannot be opened by a second
 *   connection, so writes run here, under kysely's single-connection mutex (`db.connection()`),
 *   so raw statements never run inside a kysely transaction left open across an await; a write
 *   that crosses MERGE_THRESHOLD merges before it resolves.
 *
 * Series ids are resolved by the writing connection: a miss inside the batch's transaction
 * (INSERT ... ON CONFLICT DO NOTHING, then SELECT), so the new series row commits with the
 * readings that use it, and another process resolving the same series meets the unique key and
 * reads the same id; ids are cached only once their transaction committed. Reads look the series
 * up in SQL (a unique-index probe) and need no cache.
 */
export class SqliteTelemetry implements TelemetryStore {
  /** Writes are applied in call order even while earlier ones are pending (TelemetryWriter pipelines them). */
  readonly appliesWritesInOrder = true;
  #reads: ReadStatements | undefined;
  /** The in-thread writer (in-memory databases), created on first write. */
  #local: { catalog: SeriesCatalog; appender: InboxAppender } | undefined;
  /** The worker-thread writer (file databases). */
  readonly #thread: InboxWriterThread | undefined;
  /** Settles once every write called so far has settled; never rejects. */
  #writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly raw: BetterSqlite3.Database,
    private readonly logger?: Logger,
  ) {
    if (!raw.memory) {
      const path = raw.name;
      const thread = new InboxWriterThread(path, SQLITE_PRAGMAS, {
        failed: (error, readings, opening) => {
          const driverError = Object.assign(new Error(error.message), { code: error.code });
          return opening ? unavailable(path, driverError) : mapStoreError(driverError, `write ${readings} readings`);
        },
        unavailable: (message) => new GridseamError('GW_ERR_STORE_UNAVAILABLE', message),
        log: (message, error) => this.logger?.warn({ err: error }, message),
      });
      this.#thread = thread;
      onClose(raw, () => thread.close());
      // kysely destroys (and so runs the close hook) only a driver it initialised: make sure it is.
      db.connection()
        .execute(async () => undefined)
        .catch(() => undefined);
    }
  }

  /** Prepared on first use: the tables exist only after migrate(). */
  #prepared(): ReadStatements {
    if (this.#reads) return this.#reads;
    const raw = this.raw;
    // Retention seeks each series' old range through the key (one seek per series), instead of
    // scanning the table or paying for an index on ts. Series rows stay (see migrations.ts).
    const pruneSeries = raw.prepare<[number]>(
      'DELETE FROM readings WHERE series_id IN (SELECT id FROM series) AND ts < ?',
    );
    // The series of a query is found by a probe of the unique index, in the same statement.
    const seriesOfQuery = '(SELECT id FROM series WHERE device_id = ? AND measurand = ? AND phase = ?)';
    this.#reads = {
      ...prepareMerge(raw),
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
      // Every total series of the measurands (a scan of the small series table, the JSON array
      // bound once), then the same backward probe per series: one statement for the whole fleet.
      latestOf: raw.prepare(
        `SELECT s.device_id, s.measurand, s.phase, r.ts, r.value_num, r.value_text, r.quality
         FROM series s JOIN readings r ON r.series_id = s.id
         WHERE s.phase = '' AND s.measurand IN (SELECT value FROM json_each(?))
           AND r.ts = (SELECT max(ts) FROM readings WHERE series_id = s.id)`,
      ),
      prune: raw.transaction((olderThan: number) => pruneSeries.run(olderThan).changes),
    };
    return this.#reads;
  }

  /**
   * Runs work holding the connection, after the writes called before it have settled and, when
   * `merged` asks for it, after merging the inbox: by the writer thread when there is one (so a
   * read during heavy ingest does not block this event loop for a merge), else here.
   */
  #exclusive<T>(what: string, merged: boolean, work: (statements: ReadStatements) => T): Promise<T> {
    const writes = this.#writes;
    return guard(what, async () => {
      await writes;
      // With a writer thread, the merge runs there, off this event loop.
      const mergedThere = merged && this.#thread !== undefined && (await this.#thread.mergeInbox());
      return this.db.connection().execute(async () => {
        const statements = this.#prepared();
        if (merged && !mergedThere && statements.inboxHasRows.get() !== undefined) statements.merge.immediate();
        return work(statements);
      });
    });
  }

  write(readings: readonly Reading[]): Promise<number> {
    if (readings.length === 0) return Promise.resolve(0);
    const what = `write ${readings.length} readings`;
    const thread = this.#thread;
    let written: Promise<number>;
    if (thread) {
      // Handed over now, so batches reach the worker in call order; its errors are mapped already.
      written = thread.write(readings);
    } else {
      written = guard(what, () => this.db.connection().execute(async () => this.#writeHere(readings)));
    }
    this.#writes = written.catch(() => undefined);
    return written;
  }

  /** The in-thread write: append in one transaction, then merge if the inbox is due. */
  #writeHere(readings: readonly Reading[]): number {
    this.#local ??= { catalog: new SeriesCatalog(), appender: new InboxAppender(this.raw) };
    const { catalog, appender } = this.#local;
    appender.append(catalog.encode(readings));
    if (appender.mergeDue) {
      try {
        appender.merge();
      } catch (error) {
        // The batch is committed in the inbox; the next read or write merges it.
        this.logger?.warn({ err: error }, 'telemetry inbox merge failed; will retry');
      }
    }
    return readings.length;
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

  latestOf(measurands: readonly Measurand[]): Promise<Reading[]> {
    return this.#exclusive('latest telemetry of the fleet', true, (s) =>
      s.latestOf.all(JSON.stringify(measurands)).map((row) => readingOf(row, row)),
    );
  }

  prune(olderThan: number): Promise<number> {
    return this.#exclusive('prune telemetry', true, (s) => s.prune.immediate(olderThan));
  }
}
