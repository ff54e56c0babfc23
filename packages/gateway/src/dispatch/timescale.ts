/**
 * Simulated time for the rolling horizon (pure). A simulated fleet may run its physics faster
 * than the gateway's clock (the demo: simulated seconds = real seconds x speed). Then:
 *
 * - a plan interval is `intervalSeconds` of SIMULATED time, `intervalSeconds / speed` real seconds;
 * - the optimiser works in simulated time: its starts are simulated instants and its interval
 *   length (intervalMinutes) is the simulated one, so its energy maths (kW x hours, self-discharge
 *   and calendar costs per hour) match the batteries' simulated physics;
 * - prices are read at simulated instants (the shipped sample's day and hour of the simulated
 *   day); external (OpenADR) price signals, which carry real instants, are mapped onto it;
 * - everything the gateway acts on or stores is real: the events' intervals, the controls of
 *   higher precedence, the plan documents' instants (the console charts them against real-time
 *   telemetry), SoC readings. Cadence, minReplan and SoC staleness stay real seconds: they are the
 *   gateway's own pace and telemetry freshness, not the batteries' physics.
 *
 * Speed 1 with simulated = real time is the gateway on its own clock: every instant and length
 * below is then the one used without a time scale.
 */
import { GridseamError } from '@gridseam/model';
import type { ExternalPricePoint } from './prices.ts';

/** How simulated time relates to the gateway's real clock. */
export interface DispatchTimeScale {
  /** Simulated seconds per real second (> 0). */
  speed: number;
  /**
   * The simulated epoch ms at a real epoch ms. Read once per plan, at its start; the plan's other
   * instants follow at `speed` from there (a clock that has not started yet may stand still).
   */
  simulatedAt: (realMs: number) => number;
}

/** The gateway's own clock: no scaling. */
export const REAL_TIME: DispatchTimeScale = Object.freeze({ speed: 1, simulatedAt: (realMs: number) => realMs });

/** Events carry whole seconds (ProgramEvent interval durationS), so a plan interval lasts at least 1 real second. */
export const MIN_REAL_INTERVAL_MS = 1000;

/**
 * The real length of a plan interval of `intervalMs` simulated ms; GW_ERR_CONFIG when the speed is
 * not a number > 0 or the real interval would be shorter than one second.
 */
export function realIntervalMs(intervalMs: number, timeScale: DispatchTimeScale): number {
  const { speed } = timeScale;
  if (!(typeof speed === 'number' && Number.isFinite(speed) && speed > 0))
    throw new GridseamError('GW_ERR_CONFIG', `dispatch time scale: speed must be a number > 0, not ${String(speed)}`);
  if (typeof timeScale.simulatedAt !== 'function')
    throw new GridseamError('GW_ERR_CONFIG', 'dispatch time scale: simulatedAt must be a function of real epoch ms');
  const real = intervalMs / speed;
  if (real < MIN_REAL_INTERVAL_MS)
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `dispatch.intervalSeconds ${intervalMs / 1000} at speed x${speed} lasts ${real / 1000} real seconds; ` +
        `a plan interval must last at least 1 real second (events carry whole seconds): ` +
        `use intervalSeconds >= ${Math.ceil(speed)}`,
      { details: { intervalSeconds: intervalMs / 1000, speed } },
    );
  return real;
}

/** One plan's intervals on both clocks. */
export interface PlanTimeline {
  speed: number;
  /** Simulated length of an interval, ms (the configured interval). */
  simulatedIntervalMs: number;
  /** Real length of an interval, ms (simulatedIntervalMs / speed, maybe fractional). */
  realIntervalMs: number;
  /** Real epoch ms of each interval's start, then of the last one's end (intervals + 1 bounds; whole ms offsets from the first). */
  realBounds: number[];
  /** Simulated epoch ms of each interval's start: the optimiser's and the price source's instants. */
  simulatedStarts: number[];
}

/** `intervals` plan intervals from the real instant `now`. */
export function planTimeline(
  now: number,
  intervals: number,
  simulatedIntervalMs: number,
  timeScale: DispatchTimeScale,
): PlanTimeline {
  const real = realIntervalMs(simulatedIntervalMs, timeScale);
  const simulatedNow = timeScale.simulatedAt(now);
  if (!Number.isFinite(simulatedNow))
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `dispatch time scale: simulatedAt(${now}) gave ${simulatedNow}, not an epoch ms`,
    );
  return {
    speed: timeScale.speed,
    simulatedIntervalMs,
    realIntervalMs: real,
    realBounds: Array.from({ length: intervals + 1 }, (_, k) => now + Math.round(k * real)),
    simulatedStarts: Array.from({ length: intervals }, (_, k) => simulatedNow + k * simulatedIntervalMs),
  };
}

/** The simulated instant of a real one, on the plan's timeline (its start, then at `speed`). */
export function simulatedInstant(timeline: PlanTimeline, realMs: number): number {
  const realStart = timeline.realBounds[0] as number;
  const simulatedStart = timeline.simulatedStarts[0] ?? realStart;
  return simulatedStart + (realMs - realStart) * timeline.speed;
}

/** External price signals (real instants and durations) on the plan's simulated timeline. */
export function simulatedPricePoints(
  points: readonly ExternalPricePoint[],
  timeline: PlanTimeline,
): ExternalPricePoint[] {
  if (timeline.speed === 1 && timeline.simulatedStarts[0] === timeline.realBounds[0]) return [...points];
  return points.map((point) => ({
    ...point,
    start: simulatedInstant(timeline, point.start),
    durationS: point.durationS * timeline.speed,
  }));
}

/**
 * The first `count` plan intervals as event intervals: real starts and whole-second durations
 * (ProgramEvent durationS is an integer). Each bound is the first one plus a whole number of
 * seconds, rounded to the nearest, so the intervals stay back to back and drift less than half a
 * second from the plan; when the real interval is not whole seconds their durations alternate
 * (6.25 s: 6, 6, 7, 6, ...). Each lasts at least 1 s (realIntervalMs enforces >= 1 s).
 */
export function eventWindows(timeline: PlanTimeline, count: number): Array<{ start: number; durationS: number }> {
  const first = timeline.realBounds[0] as number;
  const origin = Math.round(first);
  const bound = (k: number) => origin + Math.round(((timeline.realBounds[k] as number) - first) / 1000) * 1000;
  const windows: Array<{ start: number; durationS: number }> = [];
  for (let k = 0; k < count && k + 1 < timeline.realBounds.length; k++) {
    const start = bound(k);
    windows.push({ start, durationS: Math.max(1, (bound(k + 1) - start) / 1000) });
  }
  return windows;
}
