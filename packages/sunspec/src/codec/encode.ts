/**
 * Encoding: a model's values into its register image (ID, L, body), and single point values into
 * registers. Used by the simulator, by writes (write.ts) and by round-trip tests. Pure.
 */
import { GridseamError } from '@gridseam/model';
import {
  COUNT_FIXED,
  COUNT_LEGACY,
  type CompiledGroup,
  type CompiledModel,
  type CompiledPoint,
  compileModel,
  SF_CONST,
  SF_NONE,
  T,
} from './layout.ts';
import type { EncodeOptions, GroupValues, ModelDef, ModelValues, PointValue } from './types.ts';
import {
  INTEGER_RANGES,
  parseEui48,
  parseIpv4,
  parseIpv6,
  roundScaled,
  stringBytes,
  writeBytes,
  writeFloat,
  writeInteger,
  writeUnimplemented,
} from './values.ts';

const FLOAT32_MAX = 3.4028234663852886e38;

/** How strictly a value is checked: `write` also refuses numbers that would encode as the unimplemented value. */
export type EncodeMode = 'image' | 'write';

/**
 * Encodes one point value into `out` at `at`. `sf` is the scale-factor exponent to divide by
 * (undefined: none, e.g. raw values or points without sf). null/undefined encode the unimplemented
 * value. Throws GW_ERR_VALIDATION naming `where` for a value of the wrong type or out of range.
 */
export function encodePointValue(
  point: CompiledPoint,
  value: PointValue | undefined,
  sf: number | undefined,
  out: Uint16Array,
  at: number,
  mode: EncodeMode,
  where: () => string,
): void {
  const code = point.code;
  if (value === null || value === undefined || code === T.pad) {
    writeUnimplemented(code, point.size, out, at);
    return;
  }
  const range = INTEGER_RANGES[code];
  if (range) {
    let raw: bigint;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw invalid(where, `${value} is not a finite number`);
      if (sf === undefined && !Number.isInteger(value)) {
        throw invalid(where, `${point.def.type} without a scale factor takes an integer, got ${value}`);
      }
      raw = roundScaled(value, sf ?? 0);
    } else if (typeof value === 'bigint') {
      raw = scaleBigint(value, sf ?? 0);
    } else {
      const symbol =
        code === T.enum16 || code === T.enum32 ? point.def.symbols?.find((s) => s.name === value) : undefined;
      if (!symbol) {
        const hint = code === T.enum16 || code === T.enum32 ? ' or one of its symbol names' : '';
        throw invalid(where, `${point.def.type} takes a number${hint}, got the string ${JSON.stringify(value)}`);
      }
      raw = BigInt(symbol.value);
    }
    let min = range.min;
    let max = range.max;
    if (code === T.sunssf && mode === 'write') {
      min = -10n; // sunssf range −10..10 (sunspec/models json/schema.json)
      max = 10n;
    }
    const sentinel = mode === 'write' && raw === range.sentinel;
    if (raw < min || raw > max || sentinel) {
      const shown = sf === undefined || sf === 0 ? `${value}` : `${value} (raw ${raw} with sf ${sf})`;
      const why = sentinel ? 'is the unimplemented value' : `is outside ${min}..${max}`;
      throw invalid(where, `${shown} ${why} of ${point.def.type}${sentinel ? '; write null to clear it' : ''}`);
    }
    writeInteger(range, raw, out, at);
    return;
  }
  switch (code) {
    case T.float32:
    case T.float64: {
      if (typeof value !== 'number' && typeof value !== 'bigint') {
        throw invalid(where, `${point.def.type} takes a number, got ${JSON.stringify(value)}`);
      }
      let v = Number(value);
      if (sf !== undefined && sf !== 0) v /= 10 ** sf;
      if (Number.isNaN(v)) {
        if (mode === 'write')
          throw invalid(where, `NaN is the unimplemented value of ${point.def.type}; write null to clear it`);
      } else if (code === T.float32 && Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX) {
        throw invalid(where, `${value} is outside the float32 range`);
      } else if (mode === 'write' && !Number.isFinite(v)) {
        throw invalid(where, `${value} is not a finite number`);
      }
      writeFloat(code, v, out, at);
      return;
    }
    case T.string: {
      if (typeof value !== 'string') throw invalid(where, `string takes a string, got ${String(value)}`);
      if (mode === 'write' && (value.length === 0 || value.charCodeAt(0) === 0)) {
        throw invalid(where, 'an empty string is the unimplemented value; write null to clear it');
      }
      const bytes = stringBytes(value, point.size);
      if (!bytes) throw invalid(where, `${JSON.stringify(value)} is longer than ${point.size * 2} bytes (UTF-8)`);
      writeBytes(bytes, out, at);
      return;
    }
    case T.ipaddr: {
      const v = typeof value === 'string' ? parseIpv4(value) : typeof value === 'number' ? value : undefined;
      if (v === undefined || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw invalid(where, `ipaddr takes a dotted-quad address, got ${JSON.stringify(String(value))}`);
      }
      if (mode === 'write' && v === 0)
        throw invalid(where, '0.0.0.0 is the unimplemented value; write null to clear it');
      out[at] = Math.floor(v / 0x10000);
      out[at + 1] = v & 0xffff;
      return;
    }
    case T.ipv6addr: {
      const words = typeof value === 'string' ? parseIpv6(value) : undefined;
      if (!words) throw invalid(where, `ipv6addr takes an IPv6 address, got ${JSON.stringify(String(value))}`);
      if (mode === 'write' && words.every((w) => w === 0)) {
        throw invalid(where, ':: is the unimplemented value; write null to clear it');
      }
      for (let i = 0; i < 8; i++) out[at + i] = words[i]!;
      return;
    }
    case T.eui48: {
      const bytes = typeof value === 'string' ? parseEui48(value) : undefined;
      if (!bytes) throw invalid(where, `eui48 takes 'XX:XX:XX:XX:XX:XX', got ${JSON.stringify(String(value))}`);
      if (mode === 'write' && bytes.every((b) => b === 0xff)) {
        throw invalid(where, 'FF:FF:FF:FF:FF:FF is the unimplemented value; write null to clear it');
      }
      out[at] = 0;
      out[at + 1] = (bytes[0]! << 8) | bytes[1]!;
      out[at + 2] = (bytes[2]! << 8) | bytes[3]!;
      out[at + 3] = (bytes[4]! << 8) | bytes[5]!;
      return;
    }
    default:
      throw invalid(where, `cannot encode type ${point.def.type}`);
  }
}

/** The raw integer for a bigint value: v / 10^sf rounded half to even (exact for sf <= 0). */
function scaleBigint(value: bigint, sf: number): bigint {
  if (sf <= 0) return value * 10n ** BigInt(-sf);
  const divisor = 10n ** BigInt(sf);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  let quotient = magnitude / divisor;
  const twice = (magnitude - quotient * divisor) * 2n;
  if (twice > divisor || (twice === divisor && (quotient & 1n) === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

function invalid(where: () => string, problem: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', `${where()}: ${problem}`);
}

// ---------------------------------------------------------------------------------------------------

interface EncodeState {
  model: CompiledModel;
  out: Uint16Array;
  raw: boolean;
  /** Values of the instance being encoded at each depth, for scale-factor and count look-ups. */
  stack: Array<GroupValues | undefined>;
  bases: Int32Array;
  /** Counts derived from array lengths, by the count point's register offset. */
  derived: Map<number, number>;
}

/**
 * Builds a model's register image: ID, L, then the body. `values` is shaped like a DecodedGroup:
 * points by name holding scaled values (sunssf and count points raw; with `raw: true` every value is
 * a raw register integer), repeating groups as arrays. Missing points encode as their
 * unimplemented value (accumulators and pad as 0). A repeating group's count comes from its count
 * point when the values give it, else from the array's length (and the count point is written);
 * `count: 0` groups repeat as many times as the array holds; L is computed. Values may use the
 * full register range of their type, unimplemented values included. Throws GW_ERR_VALIDATION for a
 * value of the wrong type or range, or an array longer than its count.
 */
export function encodeModel(def: ModelDef, values: ModelValues, options: EncodeOptions = {}): Uint16Array {
  const model = compileModel(def);
  const state: EncodeState = {
    model,
    out: new Uint16Array(model.staticLength !== undefined ? model.staticLength + 2 : 256),
    raw: options.raw === true,
    stack: new Array(model.maxDepth + 1),
    bases: new Int32Array(model.maxDepth + 1),
    derived: new Map(),
  };
  const end = encodeInstance(model.root, values, state, 0, '');
  const out = state.out.length === end ? state.out : state.out.slice(0, end);
  out[0] = model.id;
  out[1] = end - 2;
  return out;
}

function encodeInstance(
  group: CompiledGroup,
  values: GroupValues | undefined,
  state: EncodeState,
  base: number,
  path: string,
): number {
  ensure(state, base + group.pointsLength);
  state.stack[group.depth] = values;
  state.bases[group.depth] = base;
  const model = state.model;
  const given = values?.points;
  for (const point of group.points) {
    const value = given?.[point.name];
    let sf: number | undefined;
    if (!state.raw && point.sfKind !== SF_NONE && value !== null && value !== undefined) {
      sf = point.sfKind === SF_CONST ? point.sfConst : scaleFactorOf(point, group, state, path);
    }
    encodePointValue(point, value, sf, state.out, base + point.offset, 'image', () => where(model, path, point.name));
  }
  let cursor = base + group.pointsLength;
  for (const child of group.children) {
    const list = values?.groups?.[child.name] ?? [];
    const count = countFor(child, list.length, state, path);
    const repeats = child.countKind !== COUNT_FIXED || child.fixedCount !== 1;
    for (let i = 0; i < count; i++) {
      const childPath = repeats ? `${path}${child.name}[${i}].` : `${path}${child.name}.`;
      cursor = encodeInstance(child, list[i], state, cursor, childPath);
      state.bases[group.depth] = base;
      state.stack[group.depth] = values;
    }
  }
  return cursor;
}

function scaleFactorOf(point: CompiledPoint, group: CompiledGroup, state: EncodeState, path: string): number {
  const holder = state.stack[group.depth - point.sfUp];
  const sf = holder?.points?.[point.sfName];
  if (typeof sf !== 'number' || !Number.isInteger(sf)) {
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `${where(state.model, path, point.name)}: has a value but its scale factor ${point.sfName} is ${sf === undefined ? 'missing' : String(sf)}; give the sunssf value (raw) or use raw: true`,
    );
  }
  return sf;
}

function countFor(child: CompiledGroup, given: number, state: EncodeState, path: string): number {
  const label = () => `SunSpec model ${state.model.id} group ${path}${child.name}`;
  if (child.countKind === COUNT_LEGACY) return given;
  if (child.countKind === COUNT_FIXED) {
    if (given > child.fixedCount) {
      throw new GridseamError(
        'GW_ERR_VALIDATION',
        `${label()}: ${given} instances given, the group repeats ${child.fixedCount} times`,
      );
    }
    return child.fixedCount;
  }
  const level = child.depth - child.countUp;
  const at = state.bases[level]! + child.countOffset;
  const holder = state.stack[level];
  const stated = holder?.points?.[child.countName];
  let count: number;
  if (typeof stated === 'number') {
    count = stated;
  } else {
    const derived = state.derived.get(at);
    if (derived === undefined) {
      state.derived.set(at, given);
      state.out[at] = given;
      return given;
    }
    count = derived;
  }
  if (given > count) {
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `${label()}: ${given} instances given but ${child.countName} = ${count}`,
    );
  }
  return count;
}

function ensure(state: EncodeState, size: number): void {
  if (state.out.length >= size) return;
  const grown = new Uint16Array(Math.max(size, state.out.length * 2));
  grown.set(state.out);
  state.out = grown;
}

function where(model: CompiledModel, path: string, name: string): string {
  return `SunSpec model ${model.id} point ${path}${name}`;
}
