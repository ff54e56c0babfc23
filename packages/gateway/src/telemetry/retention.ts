import type { Logger } from 'pino';
import type { Store } from '../store/types.ts';

export interface RetentionOptions {
  /** Readings older than this many days are deleted. */
  retentionDays: number;
  /** How often to prune, ms. The first prune runs at once. */
  intervalMs: number;
  logger?: Logger;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

const DAY_MS = 86_400_000;

/**
 * Prunes telemetry older than the retention period now and then every intervalMs. Returns a stop
 * function that cancels the schedule and resolves once a prune in progress has finished. A failed
 * prune is logged and tried again at the next interval. The timer does not keep the process alive.
 */
export function startRetention(store: Pick<Store, 'telemetry'>, options: RetentionOptions): () => Promise<void> {
  const now = options.now ?? Date.now;
  let running: Promise<void> | undefined;
  let stopped = false;

  const prune = () => {
    if (stopped || running) return;
    const cutoff = now() - options.retentionDays * DAY_MS;
    running = store.telemetry
      .prune(cutoff)
      .then(
        (removed) => {
          if (removed > 0) options.logger?.info({ removed, olderThan: cutoff }, 'telemetry pruned');
        },
        (error: unknown) => options.logger?.warn({ err: error }, 'telemetry prune failed; will retry'),
      )
      .finally(() => {
        running = undefined;
      });
  };

  const first = setTimeout(prune, 0);
  const timer = setInterval(prune, options.intervalMs);
  first.unref();
  timer.unref();

  return async () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
    await running;
  };
}
