/**
 * The scenario clock of `gridseam demo` (pure). The simulated world runs on one fixed day:
 *
 *   simulated time = DEMO_DAY_START_MS + start offset + (real time elapsed since start) x speed
 *
 * Before `start()` the clock stands still at the start offset, so simulators built early wait for
 * the rest of the chain. Times of day are UTC on the demo day (no time zone, no daylight saving):
 * the simulators' solar and load curves read the hour of day from the same number. The gateway,
 * the utility servers and the console stay on real time; only the devices' physics and the
 * scenario's times of day are simulated.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** 00:00 UTC of the demo day (a fixed date: the same run gives the same sun). */
export const DEMO_DAY_START_MS = Date.UTC(2025, 0, 15);

/** "HH:MM" (00:00 to 23:59) as ms after midnight; undefined when it is not one. */
export function parseTimeOfDay(text: string): number | undefined {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (match === null) return undefined;
  return Number(match[1]) * HOUR_MS + Number(match[2]) * MINUTE_MS;
}

/** A simulated epoch time as "HH:MM" of the demo day ("24:00" at the end of the day, "+1d HH:MM" after it). */
export function formatTimeOfDay(simMs: number): string {
  const sinceDayStart = simMs - DEMO_DAY_START_MS;
  const minutes = Math.floor(sinceDayStart / MINUTE_MS);
  if (minutes === 24 * 60) return '24:00';
  const day = Math.floor(minutes / (24 * 60));
  const inDay = minutes - day * 24 * 60;
  const text = `${String(Math.floor(inDay / 60)).padStart(2, '0')}:${String(inDay % 60).padStart(2, '0')}`;
  return day === 0 ? text : `${day > 0 ? '+' : ''}${day}d ${text}`;
}

/** The simulated epoch time of a time of day (ms after midnight) on the demo day. */
export function simTimeOfDay(offsetMs: number): number {
  return DEMO_DAY_START_MS + offsetMs;
}

export class ScenarioClock {
  /** Simulated seconds per real second. */
  readonly speed: number;
  /** Simulated epoch ms when the clock starts. */
  readonly simStartMs: number;
  readonly #now: () => number;
  #realStartMs: number | undefined;

  /** `startOffsetMs`: the time of day the run begins at (ms after midnight). */
  constructor(options: { speed: number; startOffsetMs?: number; now?: () => number }) {
    if (!(options.speed > 0) || !Number.isFinite(options.speed)) throw new RangeError('speed must be a number > 0');
    this.speed = options.speed;
    this.simStartMs = DEMO_DAY_START_MS + (options.startOffsetMs ?? 0);
    this.#now = options.now ?? Date.now;
  }

  /** Starts the clock now, or at the real epoch time given (another thread's start); a second call changes nothing. */
  start(atRealMs?: number): void {
    this.#realStartMs ??= atRealMs ?? this.#now();
  }

  get started(): boolean {
    return this.#realStartMs !== undefined;
  }

  /** Real epoch ms of the start (undefined before). */
  get realStartMs(): number | undefined {
    return this.#realStartMs;
  }

  /** Real ms since the start; 0 before it. */
  elapsedRealMs(): number {
    return this.#realStartMs === undefined ? 0 : Math.max(0, this.#now() - this.#realStartMs);
  }

  /** Simulated epoch ms now. */
  simNow(): number {
    return this.simStartMs + this.elapsedRealMs() * this.speed;
  }

  /** The simulated time at a real epoch time (the start offset before the start). */
  simAt(realMs: number): number {
    if (this.#realStartMs === undefined) return this.simStartMs;
    return this.simStartMs + (realMs - this.#realStartMs) * this.speed;
  }

  /** The real epoch time at which the clock shows `simMs` (needs a started clock). */
  realAt(simMs: number): number {
    if (this.#realStartMs === undefined) throw new Error('the scenario clock has not started');
    return this.#realStartMs + (simMs - this.simStartMs) / this.speed;
  }

  /** Real ms from now until the clock shows `simMs` (0 when it already has). */
  delayUntil(simMs: number): number {
    return Math.max(0, this.realAt(simMs) - this.#now());
  }

  /** Fraction of the demo day simulated so far, 0..1 (by time of day, so a later start begins part-way). */
  dayFraction(): number {
    return Math.min(1, Math.max(0, (this.simNow() - DEMO_DAY_START_MS) / DAY_MS));
  }

  /** Simulated epoch ms of the end of the demo day (24:00). */
  get dayEndMs(): number {
    return DEMO_DAY_START_MS + DAY_MS;
  }
}

/**
 * A simulated window as the whole seconds a 2030.5 DERControl carries (start epoch s, duration s):
 * the real start rounded to the nearest second and the end likewise, at least one second long.
 */
export function wholeSecondWindow(realStartMs: number, realEndMs: number): { startS: number; durationS: number } {
  const startS = Math.round(realStartMs / 1000);
  const endS = Math.round(realEndMs / 1000);
  return { startS, durationS: Math.max(1, endS - startS) };
}
