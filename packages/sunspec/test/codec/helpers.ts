/**
 * Test helpers for the codec: a deterministic value generator per point type, an independent
 * length calculator, and conversion of pysunspec2 device images into codec values.
 */
import type { DecodedGroup, GroupDef, GroupValues, ModelDef, PointDef, PointValue } from '../../src/codec/types.ts';

/** Names of count points referenced by groups below `group` (they must hold the repetition counts). */
function countPointNames(group: GroupDef, into = new Set<string>()): Set<string> {
  for (const child of group.groups ?? []) {
    if (typeof child.count === 'string') into.add(child.count);
    countPointNames(child, into);
  }
  return into;
}

/** Independent scaling for expectations: raw × 10^sf rounded to |sf| decimals. */
export function scaleRaw(raw: number, sf: number): number {
  return Number((raw * 10 ** sf).toFixed(Math.max(0, -sf)));
}

/** A small deterministic pseudo-random sequence (LCG), so failures reproduce. */
export class Sequence {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
    return this.state;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }
}

export interface Generated {
  /** The values to encode (scaled; sunssf and count points raw). */
  values: GroupValues;
  /** What decoding the encoded image must give (ID and L filled in by the caller). */
  expected: DecodedGroup;
}

/**
 * Values for every point of a definition: sunssf points first (−3..2), then each point from its
 * type, scaled with the sf that applies (same group first, then enclosing groups). Repeating
 * groups get `repeat` instances (count points set to it); fixed counts their count.
 */
export function generateValues(def: ModelDef, seed: number, repeat = 2): Generated {
  const seq = new Sequence(seed);
  const build = (group: GroupDef, chain: Array<Record<string, PointValue>>): Generated => {
    const counts = countPointNames(group);
    const values: Record<string, PointValue> = {};
    const expected: Record<string, PointValue> = {};
    for (const p of group.points) {
      if (p.type === 'sunssf') values[p.name] = seq.int(-3, 2);
    }
    const scope = [...chain, values];
    const sfOf = (p: PointDef): number | undefined => {
      if (typeof p.sf === 'number') return p.sf;
      if (typeof p.sf !== 'string') return undefined;
      for (let i = scope.length - 1; i >= 0; i--) {
        const v = scope[i]![p.sf];
        if (typeof v === 'number') return v;
      }
      throw new Error(`model ${def.id}: no sf ${p.sf} for ${p.name}`);
    };
    for (const p of group.points) {
      if (chain.length === 0 && (p.name === 'ID' || p.name === 'L')) continue;
      if (p.type === 'sunssf') {
        expected[p.name] = values[p.name]!;
        continue;
      }
      if (counts.has(p.name)) {
        values[p.name] = repeat;
        expected[p.name] = repeat;
        continue;
      }
      const [value, decoded] = pointValue(p, sfOf(p), seq);
      values[p.name] = value;
      expected[p.name] = decoded;
    }
    const groups: Record<string, GroupValues[]> = {};
    const expectedGroups: Record<string, DecodedGroup[]> = {};
    for (const child of group.groups ?? []) {
      const n =
        typeof child.count === 'number' && child.count > 0 ? child.count : child.count === undefined ? 1 : repeat;
      groups[child.name] = [];
      expectedGroups[child.name] = [];
      for (let i = 0; i < n; i++) {
        const inner = build(child, scope);
        groups[child.name]!.push(inner.values);
        expectedGroups[child.name]!.push(inner.expected);
      }
    }
    return { values: { points: values, groups }, expected: { points: expected, groups: expectedGroups } };
  };
  return build(def.group, []);
}

/** One value to encode and the value decoding must give back. */
function pointValue(p: PointDef, sf: number | undefined, seq: Sequence): [PointValue, PointValue] {
  const scaled = (raw: number): [PointValue, PointValue] => {
    const v = sf === undefined ? raw : scaleRaw(raw, sf);
    return [v, v];
  };
  const symbol = () => {
    const symbols = p.symbols ?? [];
    return symbols.length > 0 ? symbols[seq.int(0, symbols.length - 1)]!.value : seq.int(0, 9);
  };
  switch (p.type) {
    case 'int16':
      return scaled(seq.int(-32767, 32767));
    case 'uint16':
    case 'count':
      return scaled(seq.int(0, 65534));
    case 'acc16':
      return scaled(seq.int(0, 3) === 0 ? 0 : seq.int(1, 65535));
    case 'raw16':
      return twice(seq.int(0, 65535));
    case 'enum16':
    case 'enum32':
      return scaled(symbol());
    case 'bitfield16':
      return scaled(seq.int(0, 0xfffe));
    case 'int32':
      return scaled(seq.int(0, 4_000_000_000) - 2_000_000_000);
    case 'uint32':
    case 'bitfield32':
      return scaled(seq.int(0, 0xfffffffe));
    case 'acc32':
      return scaled(seq.int(0, 3) === 0 ? 0 : seq.int(1, 0xffffffff));
    case 'int64':
      if (sf !== undefined) return scaled(seq.int(-2_000_000_000, 2_000_000_000) * 1000);
      // Beyond 2^53 half of the time: decoded as a bigint.
      return seq.int(0, 1) === 0 ? twice(-(2n ** 62n) + BigInt(seq.int(0, 999))) : scaled(-seq.int(1, 1_000_000));
    case 'uint64':
    case 'acc64':
    case 'bitfield64':
      if (sf !== undefined) return scaled(seq.int(0, 2_000_000_000) * 1000);
      return seq.int(0, 1) === 0
        ? twice(2n ** 63n + BigInt(seq.int(0, 999)))
        : scaled(seq.int(0, 2_000_000_000) * 4096);
    case 'float32':
      return twice(Math.fround(seq.int(-100000, 100000) / 8));
    case 'float64':
      return twice(seq.int(-1_000_000, 1_000_000) / 1000);
    case 'string': {
      const text = `${p.name}-${seq.int(0, 999)}`.slice(0, p.size * 2);
      return twice(text);
    }
    case 'pad':
      return [null, null];
    case 'ipaddr':
      return twice(`10.${seq.int(0, 255)}.${seq.int(0, 255)}.${seq.int(1, 254)}`);
    case 'ipv6addr':
      return twice(
        ['fe80', '0000', '0000', '0000', seq.int(1, 0xffff), seq.int(0, 0xffff), '00ff', seq.int(1, 0xffff)]
          .map((g) => (typeof g === 'number' ? g.toString(16).padStart(4, '0') : g))
          .join(':'),
      );
    case 'eui48':
      return twice(
        [0x02, seq.int(0, 255), seq.int(0, 255), seq.int(0, 255), seq.int(0, 255), seq.int(0, 254)]
          .map((b) => b.toString(16).toUpperCase().padStart(2, '0'))
          .join(':'),
      );
    case 'sunssf':
      return twice(seq.int(-3, 2));
  }
}

function twice<V extends PointValue>(v: V): [V, V] {
  return [v, v];
}

/**
 * Model length (after ID and L) computed directly from the definition, independent of the codec:
 * points + Σ count × child length, for definitions whose groups have no variable count.
 * Returns undefined when a group's count is a point name or 0.
 */
export function definitionLength(def: ModelDef): number | undefined {
  const length = (group: GroupDef): number | undefined => {
    let total = group.points.reduce((sum, p) => sum + p.size, 0);
    for (const child of group.groups ?? []) {
      if (child.count !== undefined && typeof child.count !== 'number') return undefined;
      if (child.count === 0) return undefined;
      const inner = length(child);
      if (inner === undefined) return undefined;
      total += (child.count ?? 1) * inner;
    }
    return total;
  };
  const total = length(def.group);
  return total === undefined ? undefined : total - 2;
}

/** A pysunspec2 device-image model (raw point values; groups as objects or arrays). */
export type ImageModel = Record<string, unknown>;

/**
 * Converts a device-image model into raw codec values for `def`: points the definition has are
 * taken (raw), names it does not have are listed in `ignored`; groups may be an object or an array.
 */
export function imageToValues(def: ModelDef, image: ImageModel): { values: GroupValues; ignored: string[] } {
  const ignored: string[] = [];
  const convert = (group: GroupDef, data: Record<string, unknown>, path: string): GroupValues => {
    const points: Record<string, PointValue> = {};
    const groups: Record<string, GroupValues[]> = {};
    const pointNames = new Set(group.points.map((p) => p.name));
    const children = new Map((group.groups ?? []).map((g) => [g.name, g]));
    for (const [key, value] of Object.entries(data)) {
      const child = children.get(key);
      if (child && typeof value === 'object' && value !== null) {
        const list = Array.isArray(value) ? value : [value];
        groups[key] = list.map((item, i) => convert(child, item as Record<string, unknown>, `${path}${key}[${i}].`));
      } else if (pointNames.has(key) && (value === null || typeof value === 'number' || typeof value === 'string')) {
        points[key] = value;
      } else {
        ignored.push(path + key);
      }
    }
    return { points, groups };
  };
  return { values: convert(def.group, image, ''), ignored };
}
