import Type, { type Static } from 'typebox';
import { EpochMs, Id } from './common.ts';
import { NUMERIC_MEASURAND_NAMES, NUMERIC_MEASURANDS, OPERATING_STATES, TEXT_MEASURAND_NAMES } from './units.ts';

export const PHASES = ['A', 'B', 'C', 'N', 'AB', 'BC', 'CA'] as const;
export const Phase = Type.Enum(PHASES, { description: 'Absent means the total over all phases.' });
export type Phase = Static<typeof Phase>;

/** good: as measured; estimated: filled or derived; suspect: out of range or stale; invalid: do not use. */
export const QUALITIES = ['good', 'estimated', 'suspect', 'invalid'] as const;
export const Quality = Type.Enum(QUALITIES);
export type Quality = Static<typeof Quality>;

const NUMERIC_UNITS = [...new Set(Object.values(NUMERIC_MEASURANDS))];

/**
 * A numeric reading. A value the device does not report is absent (no reading), never 0.
 * JSON numbers cannot be NaN or Infinity, so a reading is always finite.
 */
export const NumericReading = Type.Object(
  {
    deviceId: Id,
    ts: EpochMs,
    measurand: Type.Enum(NUMERIC_MEASURAND_NAMES),
    value: Type.Number(),
    unit: Type.Enum(NUMERIC_UNITS),
    phase: Type.Optional(Phase),
    quality: Type.Optional(Quality),
  },
  { additionalProperties: false },
);

export const TextReading = Type.Object(
  {
    deviceId: Id,
    ts: EpochMs,
    measurand: Type.Enum(TEXT_MEASURAND_NAMES),
    value: Type.String({ maxLength: 128 }),
    unit: Type.Enum(['state', 'code']),
    phase: Type.Optional(Phase),
    quality: Type.Optional(Quality),
  },
  { additionalProperties: false },
);

export const Reading = Type.Union([NumericReading, TextReading], { $id: 'Reading' });
export type NumericReading = Static<typeof NumericReading>;
export type TextReading = Static<typeof TextReading>;
export type Reading = Static<typeof Reading>;

export const OperatingStateValue = Type.Enum(OPERATING_STATES);

export function isNumericReading(reading: Reading): reading is NumericReading {
  return typeof reading.value === 'number';
}
