/** Typed access to decoded SunSpec models: finite numbers or undefined, never null or NaN. */
import type { DecodedModel, PointValue } from '../codec/types.ts';

export type Models = readonly DecodedModel[];

/** The first decoded model with this id (a device has one of each model it implements, bar vendor oddities). */
export function modelOf(models: Models, id: number): DecodedModel | undefined {
  return models.find((m) => m.id === id);
}

/** The first of these ids that the device has, in the order given (the precedence order). */
export function firstModel(models: Models, ids: readonly number[]): DecodedModel | undefined {
  for (const id of ids) {
    const model = modelOf(models, id);
    if (model) return model;
  }
  return undefined;
}

export function hasAny(models: Models, ids: readonly number[]): boolean {
  return models.some((m) => ids.includes(m.id));
}

/** A point's value as a finite number; undefined when absent, unimplemented (null) or not numeric. */
export function numberAt(model: DecodedModel | undefined, name: string): number | undefined {
  if (!model) return undefined;
  return toNumber(model.points[name]);
}

export function toNumber(value: PointValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/** Strips binary floating-point noise from a derived value (0.1 * 3 -> 0.3). */
export function tidy(value: number): number {
  return Number(value.toPrecision(12));
}
