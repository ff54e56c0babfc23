/**
 * The station's outgoing messages, in order. Transaction-related messages (1.6 Start/Stop
 * Transaction and MeterValues of a transaction, 2.0.1 TransactionEvent) are durable: they wait
 * through a lost connection and go out in order once the station is connected and registered
 * again (OCPP 1.6 §4.7-4.10 "transaction-related messages" are queued while offline; 2.0.1 E04
 * offline transactions).
 * Other messages are sent only while connected; offline they are dropped.
 *
 * A message answered with a CALLERROR is retried `attempts` times `retryIntervalMs` apart (1.6
 * TransactionMessageAttempts / TransactionMessageRetryInterval), then dropped and reported. A
 * message whose params cannot be built any more (`build` returns undefined: a 1.6 transaction the
 * CSMS never numbered) is dropped.
 */

export interface OutboxEntry {
  action: string;
  /** Built just before sending, so it can use answers that arrived earlier (1.6 transactionId). */
  build: () => object | undefined;
  durable: boolean;
  onResult?: (result: unknown) => void;
}

export interface OutboxOptions {
  send: (action: string, params: object) => Promise<unknown>;
  /** Connected and registered (BootNotification Accepted). */
  ready: () => boolean;
  onDrop: (entry: OutboxEntry, reason: string) => void;
  attempts: () => number;
  retryIntervalMs: () => number;
}

export class Outbox {
  private readonly queue: Array<OutboxEntry & { failures: number }> = [];
  private pumping = false;
  private idleWaiters: Array<() => void> = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: OutboxOptions) {}

  get size(): number {
    return this.queue.length;
  }

  /** Queues a message; a non-durable one while not ready is dropped at once (false). */
  push(entry: OutboxEntry): boolean {
    if (this.closed) return false;
    if (!entry.durable && !this.options.ready()) return false;
    this.queue.push({ ...entry, failures: 0 });
    this.kick();
    return true;
  }

  /** Sends what is queued if the station is ready (after connect, boot, or a new message). */
  kick(): void {
    if (this.pumping || this.closed || this.retryTimer !== undefined) return;
    void this.pump();
  }

  /** Resolves once the queue is empty. */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed && this.options.ready()) {
        const entry = this.queue[0]!;
        const params = entry.build();
        if (params === undefined) {
          this.queue.shift();
          this.options.onDrop(entry, 'its parameters are no longer available');
          continue;
        }
        try {
          const result = await this.options.send(entry.action, params);
          this.queue.shift();
          entry.onResult?.(result);
        } catch (error) {
          // Connection lost: the entry stays first in line for the next connection.
          if (!this.options.ready()) break;
          entry.failures++;
          if (entry.failures >= Math.max(1, this.options.attempts())) {
            this.queue.shift();
            this.options.onDrop(entry, error instanceof Error ? error.message : String(error));
            continue;
          }
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, this.options.retryIntervalMs());
          this.retryTimer.unref?.();
          return;
        }
      }
    } finally {
      this.pumping = false;
      if (this.queue.length === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }
}
