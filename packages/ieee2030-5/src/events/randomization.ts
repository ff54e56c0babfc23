/**
 * Start/duration randomisation of RandomizableEvents (2030.5 RandomizableEvent: randomizeStart,
 * randomizeDuration; OneHourRangeType). Randomness is injected so the rules stay pure and testable.
 */
import type { EffectiveWindow, RandomizationOffsets, ScheduledControl } from './types.ts';

/** OneHourRangeType bounds (seconds). */
export const ONE_HOUR_RANGE = 3600;

export const ZERO_OFFSETS: RandomizationOffsets = Object.freeze({ startOffset: 0, durationOffset: 0, cancelOffset: 0 });

/**
 * A randomisation bound as the rules use it: absent or not a number → 0 (the schema default), rounded to whole
 * seconds, and CLAMPED to -3600..3600. Clamping (rather than rejecting) is deliberate: range checks belong to the
 * XML decoder; a control that got this far should still be followed, with the largest randomisation allowed.
 */
export function randomizationBound(value: number | undefined): number {
  if (value === undefined || Number.isNaN(value)) return 0;
  const whole = Math.round(value);
  return Math.max(-ONE_HOUR_RANGE, Math.min(ONE_HOUR_RANGE, whole));
}

/** A uniform integer in [low, high] from one draw; draws outside [0, 1) or NaN are clamped into it. */
function uniformInteger(low: number, high: number, draw: number): number {
  const unit = Number.isNaN(draw) ? 0 : Math.max(0, Math.min(draw, 1));
  return Math.min(high, low + Math.floor(unit * (high - low + 1)));
}

/**
 * Draws a control's random offsets. Calls `random` exactly three times, in this order: start, duration,
 * cancellation (so a seeded generator gives reproducible offsets). A positive bound r gives [0, r], a negative one
 * [r, 0] (the sign says in which direction the event may move). The cancellation offset is the end randomisation
 * a client applies on "Cancelled with Randomization": [0, max(|randomizeStart|, |randomizeDuration|)].
 */
export function drawRandomization(
  control: Pick<ScheduledControl, 'randomizeStart' | 'randomizeDuration'>,
  random: () => number,
): RandomizationOffsets {
  const start = randomizationBound(control.randomizeStart);
  const duration = randomizationBound(control.randomizeDuration);
  const cancel = Math.max(Math.abs(start), Math.abs(duration));
  const startOffset = uniformInteger(Math.min(0, start), Math.max(0, start), random());
  const durationOffset = uniformInteger(Math.min(0, duration), Math.max(0, duration), random());
  const cancelOffset = uniformInteger(0, cancel, random());
  return { startOffset, durationOffset, cancelOffset };
}

/**
 * The Effective Scheduled Period for drawn offsets: start + startOffset until
 * start + duration + startOffset + durationOffset, never ending before it starts.
 */
export function effectiveWindow(
  control: Pick<ScheduledControl, 'interval'>,
  offsets: Pick<RandomizationOffsets, 'startOffset' | 'durationOffset'>,
): EffectiveWindow {
  const start = control.interval.start + offsets.startOffset;
  const end = control.interval.start + control.interval.duration + offsets.startOffset + offsets.durationOffset;
  return { start, end: Math.max(start, end) };
}

/** The earliest Effective Start Time any client can pick (start + min(0, randomizeStart)). */
export function earliestEffectiveStart(control: Pick<ScheduledControl, 'interval' | 'randomizeStart'>): number {
  return control.interval.start + Math.min(0, randomizationBound(control.randomizeStart));
}

/** The latest Effective End Time any client can pick (start + duration + max(0, rs) + max(0, rd)). */
export function latestEffectiveEnd(
  control: Pick<ScheduledControl, 'interval' | 'randomizeStart' | 'randomizeDuration'>,
): number {
  const { start, duration } = control.interval;
  const latestStart = start + Math.max(0, randomizationBound(control.randomizeStart));
  return Math.max(latestStart, latestStart + duration + Math.max(0, randomizationBound(control.randomizeDuration)));
}

/** Whether the control carries any randomisation (a non-zero bound). */
export function hasRandomization(control: Pick<ScheduledControl, 'randomizeStart' | 'randomizeDuration'>): boolean {
  return randomizationBound(control.randomizeStart) !== 0 || randomizationBound(control.randomizeDuration) !== 0;
}
