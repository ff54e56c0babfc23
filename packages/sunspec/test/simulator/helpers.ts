/** Test helpers: decode a simulated unit's models with the codec, and write points the way a client would. */
import assert from 'node:assert/strict';
import { decodeModel, encodePointWrite, getModelDefinition } from '../../src/codec/index.ts';
import type { DecodedModel, PointValue } from '../../src/codec/types.ts';
import type { SimulatedDevice } from '../../src/simulator/device.ts';
import type { RegisterMap } from '../../src/simulator/register-map.ts';

export const DAY = Date.UTC(2024, 5, 21);
export const HOUR = 3_600_000;
export const NOON = DAY + 12 * HOUR;

/** Decodes the first model with this id in the map, with the codec. */
export function decode(map: RegisterMap, modelId: number): DecodedModel {
  const placement = map.layout.model(modelId);
  const def = getModelDefinition(modelId);
  assert.ok(def, `definition of model ${modelId}`);
  const from = placement.start - map.base;
  return decodeModel(def, map.image.subarray(from, from + placement.length + 2), { start: placement.start });
}

/** A point's value as the codec decodes it ('PFWInj.PF', 'module[1].DCW'). */
export function value(map: RegisterMap, modelId: number, path: string): PointValue {
  const model = decode(map, modelId);
  let group: DecodedModel | DecodedModel['groups'][string][number] = model;
  const parts = path.split('.');
  for (const part of parts.slice(0, -1)) {
    const match = /^(\w+)(?:\[(\d+)\])?$/.exec(part);
    assert.ok(match, part);
    const next = group.groups[match[1]!]?.[Number(match[2] ?? 0)];
    assert.ok(next, `group ${part} of model ${modelId}`);
    group = next;
  }
  const v = group.points[parts[parts.length - 1]!];
  assert.notEqual(v, undefined, `point ${modelId}.${path}`);
  return v ?? null;
}

export function num(map: RegisterMap, modelId: number, path: string): number {
  const v = value(map, modelId, path);
  assert.equal(typeof v, 'number', `${modelId}.${path} = ${String(v)}`);
  return v as number;
}

/** Encodes a point write with the codec (scaled with the model as read) and sends it to the device at simMs. */
export function writePoint(
  device: SimulatedDevice,
  modelId: number,
  path: string,
  v: PointValue,
  simMs = device.nowMs,
): { exception: number } | undefined {
  const def = getModelDefinition(modelId)!;
  const current = decode(device.map, modelId);
  const write = encodePointWrite(def, current, path, v);
  return device.write(current.start + write.offset, write.registers, simMs);
}

/** writePoint that must succeed. */
export function set(device: SimulatedDevice, modelId: number, path: string, v: PointValue, simMs = device.nowMs): void {
  assert.equal(writePoint(device, modelId, path, v, simMs), undefined, `write ${modelId}.${path} = ${String(v)}`);
}
