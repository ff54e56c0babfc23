/**
 * Register images for the device tests, written register by register from the model definitions
 * so that every expectation in the tests can be computed by hand from raw values and scale
 * factors. Points not given are set to their type's "unimplemented" value (device_edge.md 1.4).
 */
import { getModelDefinition } from '../../src/codec/index.ts';
import type { GroupDef, PointDef } from '../../src/codec/types.ts';
import type { FakeTransport } from './fake-transport.ts';

export type RawValue = number | bigint | string | readonly number[];

function unimplemented(point: PointDef): number[] {
  const fill = (first: number, rest = 0) => Array.from({ length: point.size }, (_, i) => (i === 0 ? first : rest));
  switch (point.type) {
    case 'int16':
    case 'sunssf':
    case 'int32':
    case 'int64':
      return fill(0x8000);
    case 'uint16':
    case 'enum16':
    case 'bitfield16':
    case 'raw16':
    case 'uint32':
    case 'enum32':
    case 'bitfield32':
    case 'uint64':
    case 'bitfield64':
    case 'eui48':
      return fill(0xffff, 0xffff);
    case 'float32':
      return fill(0x7fc0);
    case 'float64':
      return fill(0x7ff8);
    default:
      return fill(0); // acc*, count, pad, string, ipaddr, ipv6addr
  }
}

function encode(point: PointDef, value: RawValue): number[] {
  if (typeof value === 'object') return [...value];
  if (typeof value === 'string') {
    const out = new Array<number>(point.size).fill(0);
    for (let i = 0; i < Math.min(value.length, point.size * 2); i++) {
      const code = value.charCodeAt(i) & 0xff;
      out[i >> 1]! |= i % 2 === 0 ? code << 8 : code;
    }
    return out;
  }
  if (point.type === 'float32' || point.type === 'float64') {
    const view = new DataView(new ArrayBuffer(point.size * 2));
    if (point.type === 'float32') view.setFloat32(0, Number(value));
    else view.setFloat64(0, Number(value));
    return Array.from({ length: point.size }, (_, i) => view.getUint16(i * 2));
  }
  const bits = BigInt(point.size * 16);
  let unsigned = BigInt.asUintN(Number(bits), BigInt(value));
  const out = new Array<number>(point.size).fill(0);
  for (let i = point.size - 1; i >= 0; i--) {
    out[i] = Number(unsigned & 0xffffn);
    unsigned >>= 16n;
  }
  return out;
}

function groupRegisters(group: GroupDef, values: Readonly<Record<string, RawValue>>, top: boolean): number[] {
  const out: number[] = [];
  for (const point of group.points) {
    if (top && (point.name === 'ID' || point.name === 'L')) {
      out.push(0);
      continue;
    }
    const value = top ? values[point.name] : undefined;
    out.push(...(value === undefined ? unimplemented(point) : encode(point, value)));
  }
  for (const child of group.groups ?? []) {
    // Fixed single groups (704's sync groups) are laid out; repeating ones get no instances.
    if (child.count === undefined || child.count === 1) out.push(...groupRegisters(child, {}, false));
  }
  return out;
}

/** One model's registers, ID and L included. `length` overrides L (to fake a bad device). */
export function rawModel(id: number, values: Readonly<Record<string, RawValue>> = {}, length?: number): number[] {
  const def = getModelDefinition(id);
  if (!def) throw new Error(`no definition for model ${id}`);
  const registers = groupRegisters(def.group, values, true);
  registers[0] = id;
  registers[1] = length ?? registers.length - 2;
  return registers;
}

export type EndKind = 'marker' | 'marker-without-length' | 'none';

/** Lays 'SunS', the models and the end at `base`; returns the start address of each model. */
export function layDevice(
  fake: FakeTransport,
  base: number,
  models: readonly (readonly number[])[],
  end: EndKind = 'marker',
): number[] {
  fake.put(base, [0x5375, 0x6e53]);
  let address = base + 2;
  const starts: number[] = [];
  for (const model of models) {
    starts.push(address);
    fake.put(address, model);
    address += model.length;
  }
  if (end === 'marker') fake.put(address, [0xffff, 0]);
  if (end === 'marker-without-length') fake.put(address, [0xffff]);
  return starts;
}
