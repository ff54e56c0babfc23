/**
 * Telemetry appends to the SQLite readings inbox (see sqlite.ts for why an inbox), in the calling
 * thread for an in-memory database or in a worker thread for a file.
 *
 * Readings travel as columns (ReadingColumns): typed arrays for series, time and numeric value,
 * short lists for the rare text values, and series named by a LOCAL index, so a reading crosses
 * the thread boundary as a few numbers instead of an object with three strings. A SeriesCatalog
 * (the sending side) numbers each (device, measurand, phase) the first time it sends it and ships
 * its names once, in that batch; the InboxAppender (the side holding the connection) maps local
 * indexes to series ids, resolving a miss inside the batch's transaction as before (INSERT ... ON
 * CONFLICT DO NOTHING, then SELECT) and keeping an id only after its transaction commits.
 *
 * The worker (InboxWriterThread, file databases): its own better-sqlite3 connection with the same
 * pragmas (WAL, so the main connection reads what it commits). A batch is acknowledged when its
 * append transaction has committed, never before; batches are applied one at a time in the order
 * they were sent. After the acknowledgement the worker merges the inbox into readings once it holds
 * MERGE_THRESHOLD rows, so a merge (and the WAL checkpoint it may trigger) never blocks the main
 * thread; the next batch waits for it in the worker. `close()` sends a close message behind every
 * batch already sent and resolves once the worker has applied them all and closed its connection.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Reading } from '@gridseam/model';
import BetterSqlite3 from 'better-sqlite3';

/** Inbox rows that trigger a merge into readings. */
export const MERGE_THRESHOLD = 100_000;

/** Qualities with a code in ReadingColumns.flags (index + 1; 0: none). */
const QUALITY_NAMES = ['good', 'estimated', 'suspect', 'invalid'] as const;

/** One batch of readings as columns. Row i: series[i], ts[i], then values[i] or the next text. */
export interface ReadingColumns {
  count: number;
  /** Local series index (SeriesCatalog) of each row. */
  series: Int32Array;
  ts: Float64Array;
  /** The numeric value; unused for a text row. */
  values: Float64Array;
  /**
   * Bit 0: a text row (its value is the next entry of `texts`); bits 1-3: quality code
   * (QUALITY_NAMES index + 1, OTHER_QUALITY, or 0 for none); bit 4: ts is not a number, its value
   * is the next entry of `oddTs` (bound as given, so the table's constraints judge it as before).
   */
  flags: Uint8Array;
  texts: string[];
  oddTs: unknown[];
  /** Qualities outside QUALITY_NAMES (the store trusts its input types, but must not lose them): row -> quality. */
  otherQualities: Array<[number, string]>;
  /** Names of the series first sent in this batch, as (device, measurand, phase) triples, numbered from firstNewSeries. */
  newSeries: string[];
  firstNewSeries: number;
}

const TEXT_FLAG = 1;
const QUALITY_SHIFT = 1;
const QUALITY_MASK = 7;
const OTHER_QUALITY = 7;
const ODD_TS_FLAG = 16;

/**
 * Numbers series for one InboxAppender (one worker's lifetime, or the in-thread appender): the
 * appender learns each name from the first batch that uses it, so a catalog is never shared
 * between appenders.
 */
export class SeriesCatalog {
  readonly #byDevice = new Map<string, Map<string, Map<string, number>>>();
  #size = 0;
  #lastDevice: string | undefined;
  #lastMeasurands: Map<string, Map<string, number>> | undefined;

  /**
   * Encodes readings as columns, numbering series not seen before (their names travel with this
   * batch). If encoding throws (a reading that is not an object), the numbers it gave are taken back.
   */
  encode(readings: readonly Reading[]): ReadingColumns {
    const firstNewSeries = this.#size;
    const newSeries: string[] = [];
    try {
      return this.#encode(readings, firstNewSeries, newSeries);
    } catch (error) {
      this.forget(newSeries, firstNewSeries);
      throw error;
    }
  }

  /** Takes back the numbers of a batch that was not sent (its new series, numbered from firstNewSeries). */
  forget(newSeries: readonly string[], firstNewSeries: number): void {
    for (let at = 0; at < newSeries.length; at += 3) {
      this.#byDevice
        .get(newSeries[at] as string)
        ?.get(newSeries[at + 1] as string)
        ?.delete(newSeries[at + 2] as string);
    }
    this.#size = firstNewSeries;
  }

  #encode(readings: readonly Reading[], firstNewSeries: number, newSeries: string[]): ReadingColumns {
    const count = readings.length;
    const series = new Int32Array(count);
    const ts = new Float64Array(count);
    const values = new Float64Array(count);
    const flags = new Uint8Array(count);
    const texts: string[] = [];
    const oddTs: unknown[] = [];
    const otherQualities: Array<[number, string]> = [];
    for (let i = 0; i < count; i++) {
      const reading = readings[i] as Reading;
      series[i] = this.#indexOf(reading.deviceId, reading.measurand, reading.phase ?? '', newSeries);
      let flag = 0;
      if (typeof reading.ts === 'number') {
        ts[i] = reading.ts;
      } else {
        flag = ODD_TS_FLAG;
        oddTs.push(reading.ts);
      }
      if (typeof reading.value === 'number') {
        values[i] = reading.value;
      } else {
        flag |= TEXT_FLAG;
        texts.push(reading.value);
      }
      const quality = reading.quality;
      if (quality !== undefined) {
        const code = QUALITY_NAMES.indexOf(quality);
        if (code >= 0) {
          flag |= (code + 1) << QUALITY_SHIFT;
        } else {
          flag |= OTHER_QUALITY << QUALITY_SHIFT;
          otherQualities.push([i, String(quality)]);
        }
      }
      flags[i] = flag;
    }
    return { count, series, ts, values, flags, texts, oddTs, otherQualities, newSeries, firstNewSeries };
  }

  #indexOf(deviceId: string, measurand: string, phase: string, newSeries: string[]): number {
    // A poll's readings come together: the device of the previous reading is the likely one.
    let measurands = deviceId === this.#lastDevice ? this.#lastMeasurands : this.#byDevice.get(deviceId);
    if (measurands === undefined) {
      measurands = new Map();
      this.#byDevice.set(deviceId, measurands);
    }
    this.#lastDevice = deviceId;
    this.#lastMeasurands = measurands;
    let phases = measurands.get(measurand);
    if (phases === undefined) {
      phases = new Map();
      measurands.set(measurand, phases);
    }
    let index = phases.get(phase);
    if (index === undefined) {
      index = this.#size++;
      phases.set(phase, index);
      newSeries.push(deviceId, measurand, phase);
    }
    return index;
  }
}

/** Rows per multi-row INSERT into the inbox (at most 5 parameters each, well under SQLite's 32766). */
const APPEND_ROWS = 100;
const PLAIN_COLUMNS = 3;
const FULL_COLUMNS = 5;

/**
 * Whether plain rows (flags 0) may be inserted before the others: yes unless a series has rows of
 * both kinds (then a key could have both, and its deliveries must keep their order).
 */
function plainFirstKeepsOrder(columns: ReadingColumns): boolean {
  const { count, series, flags } = columns;
  let special: Set<number> | undefined;
  for (let row = 0; row < count; row++) {
    if (flags[row] === 0) continue;
    special ??= new Set();
    special.add(series[row] as number);
  }
  if (special === undefined) return true;
  for (let row = 0; row < count; row++) if (flags[row] === 0 && special.has(series[row] as number)) return false;
  return true;
}

export interface MergeStatements {
  inboxHasRows: BetterSqlite3.Statement<[], unknown>;
  /** Moves every inbox row into readings, in one transaction (call with .immediate()). */
  merge: BetterSqlite3.Transaction<() => void>;
}

/** The merge of the inbox into readings; the tables must exist. */
export function prepareMerge(raw: BetterSqlite3.Database): MergeStatements {
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
  return {
    inboxHasRows: raw.prepare('SELECT 1 FROM readings_inbox LIMIT 1'),
    merge: raw.transaction(() => {
      mergeInsert.run();
      clearInbox.run();
    }),
  };
}

/**
 * Appends column batches to readings_inbox over one connection, one transaction per batch
 * (IMMEDIATE: the write lock is taken up front, so busy_timeout applies instead of a failed
 * upgrade), and merges the inbox when it holds MERGE_THRESHOLD rows appended by this appender.
 */
export class InboxAppender {
  /** Series names by local index, learnt from the batches (kept even when a batch fails). */
  readonly #names: string[] = [];
  /** Series ids by local index, of committed series rows only. */
  readonly #ids: Array<number | undefined> = [];
  /** Ids resolved by the batch in progress; kept once it commits. */
  readonly #resolved = new Map<number, number>();
  #inboxRows = 0;
  readonly #append: BetterSqlite3.Transaction<(columns: ReadingColumns) => void>;
  readonly #merge: MergeStatements;

  constructor(raw: BetterSqlite3.Database) {
    const insertSeries = raw.prepare<[string, string, string]>(
      'INSERT INTO series (device_id, measurand, phase) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const selectSeries = raw
      .prepare<[string, string, string], number>(
        'SELECT id FROM series WHERE device_id = ? AND measurand = ? AND phase = ?',
      )
      .pluck();
    const names = this.#names;
    const ids = this.#ids;
    const resolved = this.#resolved;
    const seriesIdOf = (local: number): number => {
      const known = ids[local] ?? resolved.get(local);
      if (known !== undefined) return known;
      const at = local * 3;
      const deviceId = names[at];
      const measurand = names[at + 1];
      const phase = names[at + 2];
      if (deviceId === undefined || measurand === undefined || phase === undefined)
        throw new Error(`telemetry batch refers to unknown series ${local}`);
      insertSeries.run(deviceId, measurand, phase);
      const id = selectSeries.get(deviceId, measurand, phase) as number;
      resolved.set(local, id);
      return id;
    };
    // Multi-row INSERTs, prepared once per row count: PLAIN rows (numeric, no quality: nearly all
    // of them) bind 3 parameters, FULL rows 5. One native call per statement instead of per row.
    const statements = (columns: string, placeholders: string) => {
      const byRows = new Map<number, BetterSqlite3.Statement<unknown[]>>();
      return (rows: number) => {
        let statement = byRows.get(rows);
        if (statement === undefined) {
          statement = raw.prepare<unknown[]>(
            `INSERT INTO readings_inbox (${columns}) VALUES ${Array.from({ length: rows }, () => placeholders).join(', ')}`,
          );
          byRows.set(rows, statement);
        }
        return statement;
      };
    };
    const plainInsert = statements('series_id, ts, value_num', '(?, ?, ?)');
    const fullInsert = statements('series_id, ts, value_num, value_text, quality', '(?, ?, ?, ?, ?)');
    const plainParams = new Array<unknown>(APPEND_ROWS * PLAIN_COLUMNS);
    const fullParams = new Array<unknown>(APPEND_ROWS * FULL_COLUMNS);
    this.#append = raw.transaction((columns: ReadingColumns) => {
      const { count, series, ts, values, flags, texts, oddTs, otherQualities } = columns;
      // Rows of one kind keep their order; plain rows go first only when no series has rows of
      // both kinds, since within a key the later delivery must get the larger rowid.
      const plainFirst = plainFirstKeepsOrder(columns);
      let text = 0;
      let odd = 0;
      let other = 0;
      let plain = 0;
      let full = 0;
      const flushPlain = () => {
        if (plain === 0) return;
        plainInsert(plain).run(plain === APPEND_ROWS ? plainParams : plainParams.slice(0, plain * PLAIN_COLUMNS));
        plain = 0;
      };
      const flushFull = () => {
        if (full === 0) return;
        fullInsert(full).run(full === APPEND_ROWS ? fullParams : fullParams.slice(0, full * FULL_COLUMNS));
        full = 0;
      };
      for (let row = 0; row < count; row++) {
        const flag = flags[row] as number;
        if (flag === 0 && plainFirst) {
          const at = plain * PLAIN_COLUMNS;
          plainParams[at] = seriesIdOf(series[row] as number);
          plainParams[at + 1] = ts[row];
          plainParams[at + 2] = values[row];
          if (++plain === APPEND_ROWS) flushPlain();
          continue;
        }
        const at = full * FULL_COLUMNS;
        fullParams[at] = seriesIdOf(series[row] as number);
        fullParams[at + 1] = (flag & ODD_TS_FLAG) === 0 ? ts[row] : oddTs[odd++];
        if ((flag & TEXT_FLAG) === 0) {
          fullParams[at + 2] = values[row];
          fullParams[at + 3] = null;
        } else {
          fullParams[at + 2] = null;
          fullParams[at + 3] = texts[text++];
        }
        const quality = (flag >> QUALITY_SHIFT) & QUALITY_MASK;
        fullParams[at + 4] =
          quality === 0 ? null : quality === OTHER_QUALITY ? otherQualities[other++]?.[1] : QUALITY_NAMES[quality - 1];
        if (++full === APPEND_ROWS) flushFull();
      }
      flushPlain();
      flushFull();
    });
    this.#merge = prepareMerge(raw);
  }

  /** Commits the batch to the inbox in one transaction; throws (the driver's error) if it failed, and then nothing of it is kept. */
  append(columns: ReadingColumns): void {
    if (columns.firstNewSeries !== this.#names.length / 3)
      throw new Error(
        `telemetry batch numbers new series from ${columns.firstNewSeries}, expected ${this.#names.length / 3}`,
      );
    for (const name of columns.newSeries) this.#names.push(name);
    try {
      this.#append.immediate(columns);
    } catch (error) {
      // Rolled back: the series rows resolved by this batch are gone, their ids may be reused.
      this.#resolved.clear();
      throw error;
    }
    for (const [local, id] of this.#resolved) this.#ids[local] = id;
    this.#resolved.clear();
    this.#inboxRows += columns.count;
  }

  /** Whether this appender's rows since its last merge reached MERGE_THRESHOLD. */
  get mergeDue(): boolean {
    return this.#inboxRows >= MERGE_THRESHOLD;
  }

  /** Merges the inbox into readings (whoever appended the rows). */
  merge(): void {
    this.#merge.merge.immediate();
    this.#inboxRows = 0;
  }

  /** Merges the inbox if it holds any row (from this appender or any other connection). */
  mergeAll(): void {
    if (this.#merge.inboxHasRows.get() !== undefined) this.merge();
  }
}

// ---------------------------------------------------------------------------------------------
// The worker thread. This module imports no more than better-sqlite3 at run time (the worker
// loads it on its own, and every import is paid again there); errors cross as code + message and
// are mapped to GridseamErrors by the main thread (sqlite.ts).

/** A failure as it crosses the thread boundary: the driver's error code, if any, and message. */
export interface RawError {
  code: string | undefined;
  message: string;
}

function rawError(error: unknown): RawError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return {
    code: typeof code === 'string' ? code : undefined,
    message: error instanceof Error ? error.message : String(error),
  };
}

interface WorkerConfig {
  /** Marks a worker started by InboxWriterThread. */
  gridseamSqliteInbox: true;
  path: string;
  pragmas: readonly string[];
  moduleUrl: string;
  tsxUrl: string | undefined;
}

type ToWorker =
  | { type: 'write'; seq: number; columns: ReadingColumns }
  | { type: 'merge'; seq: number }
  | { type: 'close' };
type FromWorker =
  | { type: 'done'; seq: number }
  | { type: 'failed'; seq: number; error: RawError; opening: boolean }
  | { type: 'log'; message: string; error: string };

/**
 * Loads this module in the worker. The gateway runs TypeScript through tsx, whose loader hooks
 * live in the thread that registered them (worker threads do not inherit them, `--import tsx`
 * included), so the worker registers tsx before importing this .ts module.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxUrl !== undefined) (await import(workerData.tsxUrl)).register();
  await import(workerData.moduleUrl);
})();
`;

function resolveTsx(): string | undefined {
  if (!import.meta.url.endsWith('.ts')) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

interface InFlight {
  count: number;
  resolve(count: number): void;
  reject(error: unknown): void;
}

/** How the owner turns the worker's failures into its own errors. */
export interface InboxWriterErrors {
  /** A batch failed in the worker (or the worker could not open the database: `opening`). */
  failed(error: RawError, readings: number, opening: boolean): Error;
  /** The writer is closed, or its thread stopped before acknowledging a batch. */
  unavailable(message: string): Error;
  log(message: string, error: string): void;
}

/**
 * The main thread's side of the worker: `write` hands the batch over at once (so batches reach
 * the worker in call order) and resolves with the number of readings once the worker has
 * committed them. A worker that dies rejects every batch in flight; the next write starts a new
 * one. The worker holds the event loop only while batches are in flight, like a pending query.
 */
export class InboxWriterThread {
  readonly #path: string;
  readonly #pragmas: readonly string[];
  readonly #errors: InboxWriterErrors;
  #worker: Worker | undefined;
  #catalog = new SeriesCatalog();
  readonly #inFlight = new Map<number, InFlight>();
  #seq = 0;
  #closing: Promise<void> | undefined;

  constructor(path: string, pragmas: readonly string[], errors: InboxWriterErrors) {
    this.#path = path;
    this.#pragmas = pragmas;
    this.#errors = errors;
  }

  write(readings: readonly Reading[]): Promise<number> {
    if (this.#closing) return Promise.reject(this.#errors.unavailable('the telemetry store is closed'));
    const worker = this.#worker ?? this.#start();
    const catalog = this.#catalog;
    let columns: ReadingColumns;
    try {
      columns = catalog.encode(readings);
    } catch (error) {
      return Promise.reject(this.#errors.failed(rawError(error), readings.length, false));
    }
    const seq = ++this.#seq;
    return new Promise<number>((resolve, reject) => {
      const message: ToWorker = { type: 'write', seq, columns };
      try {
        worker.postMessage(message, [
          columns.series.buffer,
          columns.ts.buffer,
          columns.values.buffer,
          columns.flags.buffer,
        ] as ArrayBuffer[]);
      } catch (error) {
        // Not sent (a value that cannot be cloned): the worker never learns this batch's series.
        catalog.forget(columns.newSeries, columns.firstNewSeries);
        reject(this.#errors.failed(rawError(error), columns.count, false));
        return;
      }
      if (this.#inFlight.size === 0) worker.ref();
      this.#inFlight.set(seq, { count: columns.count, resolve, reject });
    });
  }

  /**
   * Has the worker merge the inbox into readings, after every batch sent before; resolves true
   * once done, false when there is no worker or its merge failed (then the caller merges itself).
   */
  mergeInbox(): Promise<boolean> {
    const worker = this.#worker;
    if (!worker || this.#closing) return Promise.resolve(false);
    const seq = ++this.#seq;
    return new Promise<number>((resolve, reject) => {
      if (this.#inFlight.size === 0) worker.ref();
      this.#inFlight.set(seq, { count: 0, resolve, reject });
      worker.postMessage({ type: 'merge', seq } satisfies ToWorker);
    }).then(
      () => true,
      () => false,
    );
  }

  /** Refuses further writes; resolves once every batch sent is committed (or failed) and the worker has closed its connection. */
  close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  async #stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    await exited;
  }

  #start(): Worker {
    const config: WorkerConfig = {
      gridseamSqliteInbox: true,
      path: this.#path,
      pragmas: this.#pragmas,
      moduleUrl: import.meta.url,
      tsxUrl: resolveTsx(),
    };
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: config });
    worker.unref();
    this.#worker = worker;
    this.#catalog = new SeriesCatalog();
    let failure: string | undefined;
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'log') {
        this.#errors.log(message.message, message.error);
        return;
      }
      const entry = this.#inFlight.get(message.seq);
      if (!entry) return;
      this.#inFlight.delete(message.seq);
      if (this.#inFlight.size === 0 && !this.#closing) worker.unref();
      if (message.type === 'done') entry.resolve(entry.count);
      else entry.reject(this.#errors.failed(message.error, entry.count, message.opening));
    });
    worker.on('error', (error) => {
      failure = error instanceof Error ? error.message : String(error);
    });
    worker.once('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      const reason = failure ?? `exit code ${code}`;
      for (const [seq, entry] of this.#inFlight) {
        this.#inFlight.delete(seq);
        entry.reject(this.#errors.unavailable(`telemetry writer thread stopped (${reason}) before the commit`));
      }
    });
    return worker;
  }
}

function isWorkerConfig(data: unknown): data is WorkerConfig {
  return typeof data === 'object' && data !== null && (data as Partial<WorkerConfig>).gridseamSqliteInbox === true;
}

/** The worker's loop: open, append each batch, acknowledge it, merge when due; close on request. */
function serveWorker(config: WorkerConfig): void {
  const port = parentPort;
  if (!port) return;
  const send = (message: FromWorker) => port.postMessage(message);
  let raw: BetterSqlite3.Database | undefined;
  let appender: InboxAppender | undefined;
  let openError: RawError | undefined;
  try {
    raw = new BetterSqlite3(config.path);
    for (const pragma of config.pragmas) raw.pragma(pragma);
    appender = new InboxAppender(raw);
  } catch (error) {
    openError = rawError(error);
    if (raw?.open) raw.close();
    raw = undefined;
  }
  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      // Every batch sent before the close message has been answered: messages are handled in order.
      raw?.close();
      port.close();
      return;
    }
    if (message.type === 'merge') {
      try {
        if (!appender) throw new Error('the telemetry writer thread could not open the database');
        appender.mergeAll();
      } catch (error) {
        send({ type: 'failed', seq: message.seq, error: rawError(error), opening: false });
        return;
      }
      send({ type: 'done', seq: message.seq });
      return;
    }
    if (!appender) {
      send({
        type: 'failed',
        seq: message.seq,
        error: openError ?? { code: undefined, message: 'not open' },
        opening: true,
      });
      return;
    }
    try {
      appender.append(message.columns);
    } catch (error) {
      send({ type: 'failed', seq: message.seq, error: rawError(error), opening: false });
      return;
    }
    send({ type: 'done', seq: message.seq });
    if (appender.mergeDue) {
      try {
        appender.merge();
      } catch (error) {
        // The batches are committed in the inbox; the next merge (or read) moves them.
        send({ type: 'log', message: 'telemetry inbox merge failed; will retry', error: String(error) });
      }
    }
  });
}

if (!isMainThread && isWorkerConfig(workerData)) serveWorker(workerData);
