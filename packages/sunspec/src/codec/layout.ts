/**
 * Compiled layouts: a model definition turned, once, into flat per-group tables of point offsets,
 * type codes and resolved scale-factor and count references, so that decoding walks arrays instead
 * of searching the definition. Layouts are cached per definition object (WeakMap).
 *
 * Offsets are relative to the start of a group instance. In SunSpec a group's own points come
 * first and its child groups follow, in definition order (SunSpec Device Information Model
 * Specification 4.1), so every point of a group instance sits at a fixed offset from the instance
 * start even when repeating groups before other instances vary in length.
 */
import { GridseamError } from '@gridseam/model';
import type { GroupDef, ModelDef, PointDef, PointType } from './types.ts';

/** Small integer codes for the point types, so the decoder can switch on a number. */
export const T = {
  int16: 0,
  uint16: 1,
  count: 2,
  acc16: 3,
  raw16: 4,
  enum16: 5,
  bitfield16: 6,
  sunssf: 7,
  pad: 8,
  int32: 9,
  uint32: 10,
  acc32: 11,
  enum32: 12,
  bitfield32: 13,
  float32: 14,
  ipaddr: 15,
  int64: 16,
  uint64: 17,
  acc64: 18,
  bitfield64: 19,
  float64: 20,
  eui48: 21,
  ipv6addr: 22,
  string: 23,
} as const satisfies Record<PointType, number>;

/** Registers each fixed-size type occupies (strings take their definition's size). */
export const TYPE_SIZE: Readonly<Record<Exclude<PointType, 'string'>, number>> = {
  int16: 1,
  uint16: 1,
  count: 1,
  acc16: 1,
  raw16: 1,
  enum16: 1,
  bitfield16: 1,
  sunssf: 1,
  pad: 1,
  int32: 2,
  uint32: 2,
  acc32: 2,
  enum32: 2,
  bitfield32: 2,
  float32: 2,
  ipaddr: 2,
  int64: 4,
  uint64: 4,
  acc64: 4,
  bitfield64: 4,
  float64: 4,
  eui48: 4,
  ipv6addr: 8,
};

export const SF_NONE = 0;
export const SF_CONST = 1;
export const SF_POINT = 2;

export const COUNT_FIXED = 0;
export const COUNT_POINT = 1;
/** `count: 0`: as many repetitions as fit in the model length (legacy SunSpec models). */
export const COUNT_LEGACY = 2;

export interface CompiledPoint {
  readonly def: PointDef;
  readonly name: string;
  readonly code: number;
  readonly size: number;
  /** Offset from the start of the group instance. */
  readonly offset: number;
  readonly writable: boolean;
  readonly sfKind: number;
  /** SF_CONST: the exponent. */
  readonly sfConst: number;
  /** SF_POINT: the sunssf point's name, how many group levels up it lives (0 = same group) and its offset there. */
  readonly sfName: string;
  readonly sfUp: number;
  readonly sfOffset: number;
}

export interface CompiledGroup {
  readonly def: GroupDef;
  readonly name: string;
  readonly sync: boolean;
  /** 0 for the model's top-level group. */
  readonly depth: number;
  readonly points: readonly CompiledPoint[];
  readonly pointIndex: ReadonlyMap<string, CompiledPoint>;
  /** Registers taken by the group's own points. */
  readonly pointsLength: number;
  readonly children: readonly CompiledGroup[];
  readonly childIndex: ReadonlyMap<string, CompiledGroup>;
  readonly countKind: number;
  /** COUNT_FIXED: the repetitions (1 when the definition has no count). */
  readonly fixedCount: number;
  /** COUNT_POINT: the count point's name, how many levels up from this group it lives (1 = parent) and its offset there. */
  readonly countName: string;
  readonly countUp: number;
  readonly countOffset: number;
  /** COUNT_LEGACY: index into the per-decode table of derived counts. */
  readonly legacyIndex: number;
  /** Length of one instance when no repeating group below it varies; undefined otherwise. */
  readonly staticLength: number | undefined;
}

export interface CompiledModel {
  readonly def: ModelDef;
  readonly id: number;
  readonly name: string;
  readonly root: CompiledGroup;
  /** Length after ID and L when the model has no variable repeating group; undefined otherwise. */
  readonly staticLength: number | undefined;
  /** The L value the definition declares (the L point's `value`), when it declares one. */
  readonly declaredLength: number | undefined;
  /** Groups with `count: 0`, in definition order. */
  readonly legacyGroups: readonly CompiledGroup[];
  readonly maxDepth: number;
  /** Oddities found while compiling (e.g. a declared L that disagrees with the points); also reported by every decode. */
  readonly definitionWarnings: readonly string[];
  /**
   * Scratch space for one decode or encode at a time (the codec is synchronous, so calls never
   * interleave): the start of the current instance at each depth, and derived legacy counts.
   */
  readonly scratchBases: Int32Array;
  readonly scratchLegacy: Int32Array;
}

const cache = new WeakMap<ModelDef, CompiledModel>();

/** The compiled layout of a definition, compiled on first use and cached. */
export function compileModel(def: ModelDef): CompiledModel {
  let compiled = cache.get(def);
  if (!compiled) {
    compiled = compile(def);
    cache.set(def, compiled);
  }
  return compiled;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MutablePoint = Mutable<CompiledPoint>;

interface MutableGroup {
  def: GroupDef;
  name: string;
  sync: boolean;
  depth: number;
  points: MutablePoint[];
  pointIndex: Map<string, MutablePoint>;
  pointsLength: number;
  children: MutableGroup[];
  childIndex: Map<string, MutableGroup>;
  countKind: number;
  fixedCount: number;
  countName: string;
  countUp: number;
  countOffset: number;
  legacyIndex: number;
  staticLength: number | undefined;
}

function definitionError(def: ModelDef, message: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', `SunSpec model ${def.id} definition: ${message}`);
}

function compile(def: ModelDef): CompiledModel {
  if (typeof def !== 'object' || def === null || typeof def.group !== 'object' || def.group === null) {
    throw new GridseamError('GW_ERR_VALIDATION', 'SunSpec model definition: expected an object with "id" and "group"');
  }
  const warnings: string[] = [];
  const legacyGroups: MutableGroup[] = [];
  let maxDepth = 0;

  // First pass: points and offsets per group.
  const build = (gdef: GroupDef, depth: number, path: string): MutableGroup => {
    maxDepth = Math.max(maxDepth, depth);
    const points: MutablePoint[] = [];
    const pointIndex = new Map<string, MutablePoint>();
    let offset = 0;
    for (const pdef of gdef.points ?? []) {
      const code = (T as Record<string, number>)[pdef.type];
      if (code === undefined) throw definitionError(def, `${path}.${pdef.name}: unknown point type '${pdef.type}'`);
      const size = pdef.size;
      if (!Number.isInteger(size) || size < 1) throw definitionError(def, `${path}.${pdef.name}: bad size ${size}`);
      const expected = pdef.type === 'string' ? undefined : TYPE_SIZE[pdef.type];
      if (expected !== undefined && expected !== size) {
        throw definitionError(
          def,
          `${path}.${pdef.name}: type ${pdef.type} takes ${expected} registers, size says ${size}`,
        );
      }
      if (pointIndex.has(pdef.name)) throw definitionError(def, `${path}: point '${pdef.name}' defined twice`);
      const point: MutablePoint = {
        def: pdef,
        name: pdef.name,
        code,
        size,
        offset,
        writable: pdef.access === 'RW',
        sfKind: typeof pdef.sf === 'number' ? SF_CONST : typeof pdef.sf === 'string' ? SF_POINT : SF_NONE,
        sfConst: typeof pdef.sf === 'number' ? pdef.sf : 0,
        sfName: typeof pdef.sf === 'string' ? pdef.sf : '',
        sfUp: 0,
        sfOffset: 0,
      };
      points.push(point);
      pointIndex.set(pdef.name, point);
      offset += size;
    }
    const group: MutableGroup = {
      def: gdef,
      name: gdef.name,
      sync: gdef.type === 'sync',
      depth,
      points,
      pointIndex,
      pointsLength: offset,
      children: [],
      childIndex: new Map(),
      countKind: COUNT_FIXED,
      fixedCount: 1,
      countName: '',
      countUp: 0,
      countOffset: 0,
      legacyIndex: -1,
      staticLength: undefined,
    };
    const count = gdef.count;
    if (depth > 0 && count !== undefined) {
      if (typeof count === 'string') {
        group.countKind = COUNT_POINT;
        group.countName = count;
      } else if (count === 0) {
        group.countKind = COUNT_LEGACY;
        group.legacyIndex = legacyGroups.length;
        legacyGroups.push(group);
      } else if (Number.isInteger(count) && count > 0) {
        group.fixedCount = count;
      } else {
        throw definitionError(def, `${path}: bad count ${JSON.stringify(count)}`);
      }
    }
    for (const child of gdef.groups ?? []) {
      if (group.childIndex.has(child.name)) throw definitionError(def, `${path}: group '${child.name}' defined twice`);
      const compiledChild = build(child, depth + 1, `${path}.${child.name}`);
      group.children.push(compiledChild);
      group.childIndex.set(child.name, compiledChild);
    }
    return group;
  };
  const root = build(def.group, 0, def.group.name);

  // Second pass: resolve scale-factor and count references along the chain of enclosing groups.
  const resolve = (group: MutableGroup, chain: MutableGroup[]): void => {
    const path = chain.map((g) => g.name).join('.');
    for (const point of group.points) {
      if (point.sfKind !== SF_POINT) continue;
      const found = findUp(chain, point.sfName);
      if (!found) {
        throw definitionError(
          def,
          `${path}.${point.name}: scale factor '${point.sfName}' is not a point of its group or an enclosing group`,
        );
      }
      if (found.point.def.type !== 'sunssf') {
        warnings.push(
          `${path}.${point.name}: scale factor '${point.sfName}' has type ${found.point.def.type}, not sunssf`,
        );
      }
      point.sfUp = found.up;
      point.sfOffset = found.point.offset;
    }
    for (const child of group.children) {
      if (child.countKind === COUNT_POINT) {
        // A count lives in an enclosing group, decoded before the group it counts (sunspec/models PR #248).
        const found = findUp(chain, child.countName);
        if (!found) {
          throw definitionError(
            def,
            `${path}.${child.name}: count point '${child.countName}' is not a point of an enclosing group`,
          );
        }
        child.countUp = found.up + 1;
        child.countOffset = found.point.offset;
      }
      resolve(child, [...chain, child]);
    }
  };
  resolve(root, [root]);

  // Third pass: static lengths, bottom up.
  const measure = (group: MutableGroup): number | undefined => {
    let length: number | undefined = group.pointsLength;
    for (const child of group.children) {
      const childLength = measure(child);
      if (childLength === undefined || child.countKind !== COUNT_FIXED || length === undefined) length = undefined;
      else length += child.fixedCount * childLength;
    }
    group.staticLength = length;
    return length;
  };
  const rootLength = measure(root);

  const idPoint = root.points[0];
  const lPoint = root.points[1];
  if (idPoint?.name !== 'ID' || lPoint?.name !== 'L') {
    throw definitionError(def, 'the top-level group must start with the points ID and L');
  }
  const declared = typeof lPoint.def.value === 'number' ? lPoint.def.value : undefined;
  const staticLength = rootLength === undefined ? undefined : rootLength - 2;
  if (declared !== undefined && staticLength !== undefined && declared !== staticLength) {
    warnings.push(`the definition declares L = ${declared}, its points add up to ${staticLength}`);
  }

  return {
    def,
    id: def.id,
    name: def.group.name,
    root,
    staticLength,
    declaredLength: declared,
    legacyGroups,
    maxDepth,
    definitionWarnings: warnings,
    scratchBases: new Int32Array(maxDepth + 1),
    scratchLegacy: new Int32Array(legacyGroups.length),
  };
}

/** Finds a point by name in the last group of `chain`, then in each enclosing one. `up` counts the levels climbed. */
function findUp(chain: readonly MutableGroup[], name: string): { point: MutablePoint; up: number } | undefined {
  for (let level = chain.length - 1, up = 0; level >= 0; level--, up++) {
    const point = chain[level]!.pointIndex.get(name);
    if (point) return { point, up };
  }
  return undefined;
}
