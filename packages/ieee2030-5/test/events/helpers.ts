/** Builders shared by the event-rule tests. Times are epoch seconds relative to T0. */
import type {
  ControlBaseValues,
  DefaultControl,
  RandomizationOffsets,
  ScheduledControl,
} from '../../src/events/index.ts';

export const T0 = 1_700_000_000;

export interface ControlSpec extends Partial<Omit<ScheduledControl, 'interval' | 'DERControlBase'>> {
  mRID: string;
  start: number;
  duration: number;
  base: ControlBaseValues;
}

/** A control in program "derp-1" (primacy 1), created at T0 - 1000, unless overridden. */
export function control(spec: ControlSpec): ScheduledControl {
  const { start, duration, base, ...rest } = spec;
  return {
    creationTime: T0 - 1000,
    programId: 'derp-1',
    programPrimacy: 1,
    ...rest,
    interval: { start, duration },
    DERControlBase: base,
  };
}

export function defaultControl(programId: string, programPrimacy: number, base: ControlBaseValues): DefaultControl {
  return { programId, programPrimacy, mRID: `dderc-${programId}`, DERControlBase: base };
}

/** An active power value as 2030.5 carries it. */
export function watts(value: number, multiplier = 0): { multiplier: number; value: number } {
  return { multiplier, value };
}

export function offsets(entries: Record<string, Partial<RandomizationOffsets>>): Map<string, RandomizationOffsets> {
  return new Map(
    Object.entries(entries).map(([mRID, o]) => [
      mRID,
      { startOffset: o.startOffset ?? 0, durationOffset: o.durationOffset ?? 0, cancelOffset: o.cancelOffset ?? 0 },
    ]),
  );
}

/** A seeded generator in [0, 1) (mulberry32), so randomised tests are reproducible. */
export { seededRandom } from '@gridseam/model';

/** A "random" source that returns the given numbers in order (and fails loudly when exhausted). */
export function scripted(values: readonly number[]): () => number {
  let index = 0;
  return () => {
    const value = values[index++];
    if (value === undefined) throw new Error('scripted random exhausted');
    return value;
  };
}
