/**
 * Decoding a model's register block into named, scaled values. Pure and synchronous. The walk
 * follows the compiled layout (layout.ts) and allocates only the output objects.
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
} from './layout.ts';
import type { DecodedGroup, DecodedModel, DecodeOptions, ModelDef, PointValue } from './types.ts';
import { applyScale, decodeRaw, type Registers } from './values.ts';

interface DecodeState {
  regs: Registers;
  /** Index one past the model's last register (L + 2). */
  end: number;
  bases: Int32Array;
  legacy: Int32Array;
  /** Where the instance just decoded ended. */
  cursor: number;
  /** Set when a group instance or point did not fit in L. */
  cut: boolean;
  warnings: string[] | undefined;
  model: CompiledModel;
}

/**
 * Decodes one model. `block` holds the registers from the model's ID register on: ID, L, then L
 * registers (it may be longer). Values are scaled with the scale factors of the same block;
 * unimplemented values are null. Throws GW_ERR_DEVICE_PROTOCOL when the block holds another model
 * or fewer than L + 2 registers. A length L that disagrees with the definition is not an error: what
 * fits is decoded and the mismatch is reported in `warnings`.
 */
export function decodeModel(def: ModelDef, block: Registers, options: DecodeOptions): DecodedModel {
  const model = compileModel(def);
  const start = options.start;
  if (block.length < 2) {
    throw protocolError(model, start, `the block holds ${block.length} registers, not even the ID and L registers`);
  }
  const id = block[0]!;
  const length = block[1]!;
  if (id !== model.id) {
    throw protocolError(model, start, `the block starts with model id ${id}, expected ${model.id}`);
  }
  if (block.length < length + 2) {
    throw protocolError(
      model,
      start,
      `L = ${length} needs ${length + 2} registers, the block holds only ${block.length} (truncated read?)`,
    );
  }
  const state: DecodeState = {
    regs: block,
    end: length + 2,
    bases: model.scratchBases,
    legacy: model.scratchLegacy,
    cursor: 0,
    cut: false,
    warnings: model.definitionWarnings.length > 0 ? [...model.definitionWarnings] : undefined,
    model,
  };

  if (model.staticLength !== undefined && model.staticLength !== length) {
    warn(state, lengthMismatch(model, length, model.staticLength));
  }
  if (model.legacyGroups.length > 0) deriveLegacyCounts(state, length);

  const root = decodeInstance(model.root, state, 0);
  if (model.staticLength === undefined) {
    const decoded = state.cursor - 2;
    if (state.cut) {
      warn(state, lengthMismatch(model, length, measureNeeded(model, state)));
    } else if (decoded !== length && model.legacyGroups.length === 0) {
      warn(state, lengthMismatch(model, length, decoded));
    }
  }
  return {
    id: model.id,
    name: model.name,
    start,
    length,
    points: root.points,
    groups: root.groups,
    warnings: state.warnings ?? [],
  };
}

/**
 * Builds a group's points object from its values in definition order: an object literal with the
 * group's point names, compiled once per group. Adding the points one by one with computed keys
 * made V8 turn every object of more than 16 points into a dictionary (growing its hash table point
 * by point); a literal is one allocation with in-object fields and the same shape every poll.
 * The names come from the model definitions and are written as JSON strings.
 */
type PointsFactory = (values: readonly PointValue[]) => Record<string, PointValue>;
const factories = new WeakMap<CompiledGroup, PointsFactory>();
/** Values of the group being decoded; filled, then copied into the literal before any child is decoded. */
const scratchValues: PointValue[] = [];

function pointsFactory(group: CompiledGroup): PointsFactory {
  let factory = factories.get(group);
  if (factory === undefined) {
    const names = group.points.map((point) => point.name);
    if (names.includes('__proto__')) {
      // A literal would set the prototype: build it key by key instead.
      factory = (values) => {
        const points: Record<string, PointValue> = {};
        for (let i = 0; i < names.length; i++) points[names[i]!] = values[i]!;
        return points;
      };
    } else {
      const body = `return {${names.map((name, i) => `${JSON.stringify(name)}: values[${i}]`).join(', ')}};`;
      factory = new Function('values', body) as PointsFactory;
    }
    factories.set(group, factory);
  }
  return factory;
}

function decodeInstance(group: CompiledGroup, state: DecodeState, base: number): DecodedGroup {
  const { regs, end, bases } = state;
  bases[group.depth] = base;
  const values = scratchValues;
  const list = group.points;
  const room = end - base;
  for (let i = 0; i < list.length; i++) {
    const point = list[i]!;
    if (point.offset + point.size > room) {
      // Only the top-level group gets here (repeating instances are decoded when their points
      // fit): the points past L are absent.
      state.cut = true;
      values[i] = null;
      continue;
    }
    const raw = decodeRaw(point.code, point.size, regs, base + point.offset);
    values[i] = point.sfKind === SF_NONE || raw === null ? raw : scaled(point, group.depth, raw, state);
  }
  const points = pointsFactory(group)(values);

  const groups: Record<string, DecodedGroup[]> = {};
  let cursor = base + group.pointsLength;
  const children = group.children;
  for (let c = 0; c < children.length; c++) {
    const child = children[c]!;
    const count = repetitions(child, state);
    const instances: DecodedGroup[] = [];
    for (let i = 0; i < count; i++) {
      if (cursor + child.pointsLength > end) {
        state.cut = true;
        break;
      }
      instances.push(decodeInstance(child, state, cursor));
      cursor = state.cursor;
    }
    groups[child.name] = instances;
  }
  state.cursor = cursor;
  return { points, groups };
}

/** The scaled value of a point: raw × 10^sf, the sf read from the same block; null when the sf is unimplemented. */
function scaled(point: CompiledPoint, depth: number, raw: number | bigint | string, state: DecodeState): PointValue {
  let sf: number;
  if (point.sfKind === SF_CONST) {
    sf = point.sfConst;
  } else {
    const at = state.bases[depth - point.sfUp]! + point.sfOffset;
    if (at >= state.end) return null;
    const r = state.regs[at]!;
    if (r === 0x8000) return null;
    sf = (r << 16) >> 16;
  }
  if (typeof raw === 'number') return applyScale(raw, sf);
  if (typeof raw === 'bigint') return sf >= 0 ? raw * 10n ** BigInt(sf) : applyScale(Number(raw), sf);
  return raw;
}

/** How many instances of a group follow: a fixed count, a count point already in the block, or a derived legacy count. */
function repetitions(group: CompiledGroup, state: DecodeState): number {
  if (group.countKind === COUNT_FIXED) return group.fixedCount;
  if (group.countKind === COUNT_LEGACY) return state.legacy[group.legacyIndex]!;
  const at = state.bases[group.depth - group.countUp]! + group.countOffset;
  if (at >= state.end) return 0;
  const count = state.regs[at]!;
  if (count === 0xffff) {
    warn(state, `group ${group.name}: count point ${group.countName} is unimplemented (0xFFFF); decoded no instances`);
    return 0;
  }
  return count;
}

/**
 * `count: 0` groups repeat as many times as fit in L after everything else (pysunspec2
 * _init_repeating_group). One instance's length includes its nested groups (the fix of
 * sunspec/pysunspec2 #119/#120). Only the first such group is derived; a model with more than one
 * is ambiguous and the others get none.
 */
function deriveLegacyCounts(state: DecodeState, length: number): void {
  const model = state.model;
  state.legacy.fill(0);
  const occurrences = new Int32Array(model.legacyGroups.length);
  const instanceLengths = new Int32Array(model.legacyGroups.length).fill(-1);
  const fixed = measure(model.root, state, 0, occurrences, instanceLengths) - 2;
  const first = model.legacyGroups[0]!;
  const times = occurrences[0]!;
  const each = instanceLengths[0]!;
  for (let i = 1; i < model.legacyGroups.length; i++) {
    warn(state, `group ${model.legacyGroups[i]!.name}: a second count-0 group cannot be derived from L; decoded none`);
  }
  const room = length - fixed;
  if (times === 0 || room <= 0) {
    if (room < 0) warn(state, lengthMismatch(model, length, fixed));
    return;
  }
  if (each <= 0) {
    warn(state, `group ${first.name}: count 0 with an empty group; decoded none`);
    return;
  }
  const count = Math.floor(room / (times * each));
  state.legacy[0] = count;
  const rest = room - count * times * each;
  if (rest !== 0) {
    warn(
      state,
      `model ${model.id}: L = ${length} leaves ${rest} registers after ${count} repetitions of ${first.name} (${each} registers each)`,
    );
  }
}

/**
 * The length of a group instance at `base`, reading count points from the block (counts beyond L
 * count as 0) and legacy counts from state.legacy. Records, per legacy group, how many times
 * it occurs and the length of one instance, measured where its first instance would start.
 */
function measure(
  group: CompiledGroup,
  state: DecodeState,
  base: number,
  occurrences?: Int32Array,
  instanceLengths?: Int32Array,
): number {
  state.bases[group.depth] = base;
  let cursor = base + group.pointsLength;
  for (const child of group.children) {
    if (child.countKind === COUNT_LEGACY && occurrences && instanceLengths) {
      occurrences[child.legacyIndex]!++;
      if (instanceLengths[child.legacyIndex] === -1) {
        instanceLengths[child.legacyIndex] = measure(child, state, cursor, occurrences, instanceLengths);
        state.bases[group.depth] = base;
      }
    }
    let count: number;
    if (child.countKind === COUNT_FIXED) count = child.fixedCount;
    else if (child.countKind === COUNT_LEGACY) count = state.legacy[child.legacyIndex]!;
    else {
      const at = state.bases[child.depth - child.countUp]! + child.countOffset;
      const raw = at < state.end ? state.regs[at]! : 0;
      count = raw === 0xffff ? 0 : raw;
    }
    for (let i = 0; i < count; i++) {
      cursor += measure(child, state, cursor, occurrences, instanceLengths);
      state.bases[group.depth] = base;
    }
  }
  return cursor - base;
}

/** The length (after ID and L) the layout needs with the block's counts; for the mismatch warning. */
function measureNeeded(model: CompiledModel, state: DecodeState): number {
  return measure(model.root, state, 0) - 2;
}

function lengthMismatch(model: CompiledModel, length: number, expected: number): string {
  return (
    `model ${model.id} (${model.name}): L = ${length} but the definition` +
    `${model.staticLength === undefined ? ' and counts give' : ' gives'} ${expected}; decoded what fits in L`
  );
}

function warn(state: DecodeState, message: string): void {
  if (state.warnings === undefined) state.warnings = [message];
  else if (!state.warnings.includes(message)) state.warnings.push(message);
}

function protocolError(model: CompiledModel, start: number, problem: string): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_PROTOCOL', `SunSpec model ${model.id} at ${start}: ${problem}`, {
    details: { modelId: model.id, address: start },
  });
}
