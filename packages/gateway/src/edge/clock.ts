/**
 * Time as the edge runtime sees it: a clock and one-shot timers, injectable so tests can drive
 * cadence and back-off without waiting (and without asserting on wall-clock durations).
 */
export interface EdgeClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Date.now and the Node timers; timers are unref'd so a forgotten one never holds the process. */
export const systemClock: EdgeClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
