/** Helpers over control types and scheduled intervals shared by the server and client rules. */
import { CONTROL_TYPES, type ControlBaseValues, type ControlType, type EventInterval } from './types.ts';

/** The control types a DERControlBase sets (present and not null), in CONTROL_TYPES order. */
export function controlTypesOf(base: ControlBaseValues): ControlType[] {
  return CONTROL_TYPES.filter((type) => base[type] !== undefined && base[type] !== null);
}

/** Whether two scheduled intervals overlap. Intervals are half-open, so back-to-back intervals do not overlap. */
export function intervalsOverlap(a: EventInterval, b: EventInterval): boolean {
  return a.start < b.start + b.duration && b.start < a.start + a.duration;
}

/** Parses responseRequired (a number, or HexBinary8 text such as "03"); anything else means 0 (no responses). */
export function responseRequiredBits(value: number | string | undefined): number {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 0xff ? value : 0;
  if (typeof value === 'string' && /^[0-9a-fA-F]{1,2}$/.test(value)) return Number.parseInt(value, 16);
  return 0;
}
