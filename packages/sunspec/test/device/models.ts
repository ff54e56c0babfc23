/** Decoded models written by hand (as the codec returns them: scaled values, null = unimplemented). */
import type { DecodedGroup, DecodedModel, PointValue } from '../../src/codec/types.ts';

export function dm(
  id: number,
  points: Record<string, PointValue>,
  groups: Record<string, DecodedGroup[]> = {},
  start = 40000,
): DecodedModel {
  return { id, name: `model_${id}`, start, length: 0, points: { ID: id, ...points }, groups, warnings: [] };
}
