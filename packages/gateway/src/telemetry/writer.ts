import { GridseamError, type Reading } from '@gridseam/model';
import type { Logger } from 'pino';
import type { TelemetryStore } from '../store/types.ts';

export { type RetentionOptions, startRetention } from './retention.ts';

export interface TelemetryWriterOptions {
  /** Commit once this many readings are buffered (default 5000). */
  batchSize?: number;
  /** Commit what is buffered at most this long after the first reading arrived (default 1000 ms). */
  flushIntervalMs?: number;
  /**
   * Also commit when no reading has arrived for this long (default: off). A producer that waits
   * for its readings to commit before sending more (a bus consumer acknowledging after commit,
   * with one message per key in flight) stalls until the writer commits; committing at such a
   * pause, instead of at flushIntervalMs, keeps its throughput from being capped at
   * (keys x readings per message) per flush interval.
   */
  idleFlushMs?: number;
  logger?: Logger;
}

interface Pending {
  /** Emptied once handed to the store, so the readings can be collected while the commit is pending. */
  readings: readonly Reading[];
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * What the writer needs of its store. A store that applies its writes in call order, whether or
 * not the earlier ones have finished (the SQLite store hands each batch to its writer thread at
 * once), says so with `appliesWritesInOrder`; the writer then keeps up to PIPELINED_BATCHES
 * batches in its hands instead of one.
 */
export type TelemetrySink = Pick<TelemetryStore, 'write'> & { readonly appliesWritesInOrder?: boolean };

/** Batches handed to an in-order store before the oldest is committed. */
export const PIPELINED_BATCHES = 16;

const HANDED_OVER: readonly Reading[] = [];

/** The readings of several adds in one array (a plain loop: flatMap costs several times more per element). */
function concatenated(batch: readonly Pending[]): Reading[] {
  let count = 0;
  for (const pending of batch) count += pending.readings.length;
  const readings = new Array<Reading>(count);
  let at = 0;
  for (const pending of batch) {
    const list = pending.readings;
    for (let i = 0; i < list.length; i++) readings[at++] = list[i] as Reading;
  }
  return readings;
}

/**
 * Gathers readings from many producers into batches for `TelemetryStore.write`: a batch is
 * committed when batchSize readings are buffered or flushIntervalMs after its first reading,
 * whichever comes first. The promise of `add` resolves only once its readings are committed
 * (acknowledged = durable) and rejects if their batch fails, so a producer such as a bus
 * consumer acknowledges upstream only what is stored. Batches are written in arrival order, so a
 * later re-delivery of a reading replaces an earlier one: one at a time, or, to a store that
 * applies its writes in call order (`appliesWritesInOrder`), up to PIPELINED_BATCHES handed over
 * before the oldest commits, so a slow commit (an inbox merge) does not leave the readings piling
 * up here. One `add` is never split across batches.
 */
export class TelemetryWriter {
  readonly #sink: TelemetrySink;
  /** Batches that may be in the store's hands at once. */
  readonly #window: number;
  /** Commits handed to the store and not yet settled, oldest first; they never reject. */
  readonly #commits: Array<Promise<void>> = [];
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #idleFlushMs: number | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #logger: Logger | undefined;
  #pending: Pending[] = [];
  #buffered = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Drains run one after another on this chain; it never rejects. */
  #tail: Promise<void> = Promise.resolve();
  #sizeDrainQueued = false;
  #closed = false;

  constructor(sink: TelemetrySink, options: TelemetryWriterOptions = {}) {
    this.#sink = sink;
    this.#window = sink.appliesWritesInOrder === true ? PIPELINED_BATCHES : 1;
    this.#batchSize = Math.max(1, Math.trunc(options.batchSize ?? 5000));
    this.#flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 1000);
    this.#idleFlushMs = options.idleFlushMs === undefined ? undefined : Math.max(0, options.idleFlushMs);
    this.#logger = options.logger;
  }

  /** Readings buffered and not yet handed to the store. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Buffers readings; resolves once they are committed, rejects if their batch fails. */
  add(readings: readonly Reading[]): Promise<void> {
    if (this.#closed)
      return Promise.reject(new GridseamError('GW_ERR_STORE_UNAVAILABLE', 'telemetry writer is closed'));
    if (readings.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ readings, resolve, reject });
      this.#buffered += readings.length;
      if (this.#buffered >= this.#batchSize) {
        if (!this.#sizeDrainQueued) {
          this.#sizeDrainQueued = true;
          // After the I/O callbacks due now: handing a batch over (encoding it) is CPU work that
          // should not delay a poller's next request.
          setImmediate(() => void this.#schedule(false));
        }
      } else {
        this.#arm();
      }
      this.#armIdle();
    });
  }

  /** Same as add (the name a bus handler reads best with). */
  write(readings: readonly Reading[]): Promise<void> {
    return this.add(readings);
  }

  /** Commits everything buffered now; resolves when done (failed batches reject their own adds, not this). */
  flush(): Promise<void> {
    return this.#schedule(true);
  }

  /** Refuses further readings and commits what is buffered. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    await this.#schedule(true);
    this.#disarm();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#schedule(true);
    }, this.#flushIntervalMs);
  }

  #armIdle(): void {
    if (this.#idleFlushMs === undefined) return;
    // Restarting the armed timer is cheaper than clear + set on every add.
    if (this.#idleTimer !== undefined) {
      this.#idleTimer.refresh();
      return;
    }
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#buffered > 0) void this.#schedule(true);
    }, this.#idleFlushMs);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(force: boolean): Promise<void> {
    const run = this.#tail.then(() => this.#drain(force));
    this.#tail = run;
    return run;
  }

  /**
   * Hands full batches to the store, and with force also the remainder, then (with force) waits
   * until every batch handed over is committed; re-arms the timer for what is left.
   */
  async #drain(force: boolean): Promise<void> {
    if (!force) this.#sizeDrainQueued = false;
    while (this.#pending.length > 0 && (force || this.#buffered >= this.#batchSize)) {
      this.#disarm();
      // A full window: wait for the oldest commit (one at a time when the window is 1).
      while (this.#commits.length >= this.#window) await this.#commits[0];
      this.#commits.push(this.#commit(this.#takeBatch()));
    }
    if (force) while (this.#commits.length > 0) await this.#commits[this.#commits.length - 1];
    if (this.#pending.length > 0 && !this.#closed) this.#arm();
  }

  #takeBatch(): Pending[] {
    // Count first, then one splice: shifting entry by entry moves the rest of the queue each time.
    const pending = this.#pending;
    let taken = 0;
    let count = 0;
    while (
      taken < pending.length &&
      (taken === 0 || count + (pending[taken] as Pending).readings.length <= this.#batchSize)
    ) {
      count += (pending[taken] as Pending).readings.length;
      taken++;
    }
    this.#buffered -= count;
    return pending.splice(0, taken);
  }

  /** Hands the batch to the store; the promise settles (never rejects) once its producers are told. */
  #commit(batch: readonly Pending[]): Promise<void> {
    const readings = batch.length === 1 ? (batch[0] as Pending).readings : concatenated(batch);
    const count = readings.length;
    let written: Promise<number>;
    try {
      written = this.#sink.write(readings);
    } catch (error) {
      written = Promise.reject(error);
    }
    for (const pending of batch) pending.readings = HANDED_OVER;
    const settled = written.then(
      () => {
        for (const pending of batch) pending.resolve();
      },
      (error: unknown) => {
        this.#logger?.error({ err: error, readings: count }, 'telemetry batch failed; its producers are told');
        for (const pending of batch) pending.reject(error);
      },
    );
    const done = settled.then(() => {
      const at = this.#commits.indexOf(done);
      if (at >= 0) this.#commits.splice(at, 1);
    });
    return done;
  }
}
