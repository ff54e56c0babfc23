/**
 * Writes: locating a point of a decoded model by path, and encoding a new value for it with the
 * model's scale factor. Paths name points as 'WMaxLimPct', 'PFWInj.PF' (group.point; index 0
 * implied) or 'Crv[1].Pt[0].V'. Offsets are relative to the model's ID register.
 */
import { GridseamError } from '@gridseam/model';
import { encodePointValue } from './encode.ts';
import {
  COUNT_FIXED,
  type CompiledGroup,
  type CompiledModel,
  type CompiledPoint,
  compileModel,
  SF_CONST,
  SF_NONE,
} from './layout.ts';
import type { DecodedGroup, DecodedModel, ModelDef, PointLocation, PointValue, RegisterWrite } from './types.ts';

interface GroupLocation {
  group: CompiledGroup;
  instance: DecodedGroup;
  /** The decoded instances from the model's top-level group down to this one, by depth. */
  chain: DecodedGroup[];
  /** Offset of the instance from the model's ID register. */
  base: number;
  /** Normalised path of the instance ('' for the top-level group), ending in '.' when not empty. */
  prefix: string;
}

const SEGMENT = /^([^.[\]]+)(?:\[(\d+)\])?$/;

function validation(model: CompiledModel, path: string, problem: string): GridseamError {
  return new GridseamError(
    'GW_ERR_VALIDATION',
    `SunSpec model ${model.id} (${model.name}) path '${path}': ${problem}`,
    {
      issues: [{ path: `/${path}`, message: problem }],
    },
  );
}

function notSupported(model: CompiledModel, path: string, problem: string): GridseamError {
  return new GridseamError(
    'GW_ERR_NOT_SUPPORTED',
    `SunSpec model ${model.id} (${model.name}) path '${path}': ${problem}`,
  );
}

function parsePath(model: CompiledModel, path: string): Array<{ name: string; index: number | undefined }> {
  if (typeof path !== 'string' || path.length === 0) throw validation(model, String(path), 'empty path');
  return path.split('.').map((segment) => {
    const match = SEGMENT.exec(segment);
    if (!match) throw validation(model, path, `bad segment '${segment}' (expected Name or Name[index])`);
    return { name: match[1]!, index: match[2] === undefined ? undefined : Number(match[2]) };
  });
}

/** Registers one decoded instance of a group takes, counting the repetitions it was decoded with. */
function instanceLength(group: CompiledGroup, instance: DecodedGroup): number {
  if (group.staticLength !== undefined) return group.staticLength;
  let length = group.pointsLength;
  for (const child of group.children) {
    for (const inner of instance.groups[child.name] ?? []) length += instanceLength(child, inner);
  }
  return length;
}

function repeats(group: CompiledGroup): boolean {
  return group.countKind !== COUNT_FIXED || group.fixedCount !== 1;
}

/** Walks the group segments of a path through the decoded model. */
function locateGroup(
  model: CompiledModel,
  current: DecodedModel,
  path: string,
  segments: ReadonlyArray<{ name: string; index: number | undefined }>,
): GroupLocation {
  let group = model.root;
  let instance: DecodedGroup = current;
  let base = 0;
  let prefix = '';
  const chain: DecodedGroup[] = [current];
  for (const { name, index } of segments) {
    const child = group.childIndex.get(name);
    if (!child) {
      const known = group.children.map((c) => c.name).join(', ') || 'none';
      throw validation(model, path, `no group '${name}' in ${prefix || 'the model'} (groups: ${known})`);
    }
    const i = index ?? 0;
    const instances = instance.groups[name] ?? [];
    if (i >= instances.length) {
      throw validation(model, path, `${prefix}${name}[${i}] does not exist: the model as read has ${instances.length}`);
    }
    let offset = base + group.pointsLength;
    for (const sibling of group.children) {
      if (sibling === child) break;
      for (const inner of instance.groups[sibling.name] ?? []) offset += instanceLength(sibling, inner);
    }
    for (let j = 0; j < i; j++) offset += instanceLength(child, instances[j]!);
    prefix += repeats(child) ? `${name}[${i}].` : `${name}.`;
    group = child;
    instance = instances[i]!;
    base = offset;
    chain.push(instance);
  }
  return { group, instance, chain, base, prefix };
}

function locatePoint(
  model: CompiledModel,
  current: DecodedModel,
  path: string,
): { at: GroupLocation; point: CompiledPoint } {
  const segments = parsePath(model, path);
  const last = segments[segments.length - 1]!;
  const at = locateGroup(model, current, path, segments.slice(0, -1));
  const point = at.group.pointIndex.get(last.name);
  if (!point || last.index !== undefined) {
    const known = at.group.points.map((p) => p.name).join(', ');
    throw validation(model, path, `no point '${last.name}' in ${at.prefix || 'the model'} (points: ${known})`);
  }
  return { at, point };
}

/**
 * The sf exponent of a point in a located instance: constant, or the sunssf value as decoded; null
 * when unimplemented. `written` holds sunssf values written in the same group write, which apply to
 * the points written with them.
 */
function scaleFactorIn(
  point: CompiledPoint,
  at: GroupLocation,
  written?: Readonly<Record<string, PointValue | undefined>>,
): number | null | undefined {
  if (point.sfKind === SF_NONE) return undefined;
  if (point.sfKind === SF_CONST) return point.sfConst;
  const sameGroupWrite = point.sfUp === 0 ? written?.[point.sfName] : undefined;
  const sf =
    sameGroupWrite !== undefined ? sameGroupWrite : at.chain[at.group.depth - point.sfUp]?.points[point.sfName];
  return typeof sf === 'number' ? sf : null;
}

/** The point a path names in a decoded model: its definition, offsets, current value and scale factor. */
export function pointAt(def: ModelDef, current: DecodedModel, path: string): PointLocation {
  const model = compileModel(def);
  const { at, point } = locatePoint(model, current, path);
  const offset = at.base + point.offset;
  return {
    point: point.def,
    path: at.prefix + point.name,
    offset,
    address: current.start + offset,
    value: at.instance.points[point.name] ?? null,
    sf: scaleFactorIn(point, at),
  };
}

function encodeInto(
  model: CompiledModel,
  point: CompiledPoint,
  at: GroupLocation,
  value: PointValue,
  out: Uint16Array,
  offset: number,
  path: string,
  written?: Readonly<Record<string, PointValue | undefined>>,
): void {
  let sf: number | undefined;
  if (point.sfKind !== SF_NONE && value !== null) {
    const found = scaleFactorIn(point, at, written);
    if (found === null || found === undefined) {
      // The scale factor comes from the model as read, never from the point being written
      // (device_edge.md 1.3, sunspec/pysunspec issue #26).
      throw notSupported(
        model,
        path,
        `its scale factor ${point.sfName} is unimplemented in the model as read, so a value cannot be scaled`,
      );
    }
    sf = found;
  }
  encodePointValue(
    point,
    value,
    sf,
    out,
    offset,
    'write',
    () => `SunSpec model ${model.id} (${model.name}) path '${path}'`,
  );
}

/**
 * Encodes a new value for one writable point. The value is scaled with the scale factor found in
 * `current` (the model as last read), rounded like pysunspec2 and checked against the type's range;
 * a value that would encode as the unimplemented value is refused (null writes it on purpose). A
 * point inside a 'sync' group is written together with its whole group (the other points keep
 * their values from `current`), since sync groups are written atomically.
 * Throws GW_ERR_VALIDATION (unknown path, wrong type, out of range) or GW_ERR_NOT_SUPPORTED
 * (read-only point, unimplemented scale factor).
 */
export function encodePointWrite(def: ModelDef, current: DecodedModel, path: string, value: PointValue): RegisterWrite {
  const model = compileModel(def);
  const { at, point } = locatePoint(model, current, path);
  const fullPath = at.prefix + point.name;
  if (!point.writable) throw notSupported(model, fullPath, 'the point is read-only');
  if (at.group.sync && at.group.points.every((p) => p.writable)) {
    return encodeWholeGroup(model, at, { [point.name]: value });
  }
  const registers = new Uint16Array(point.size);
  encodeInto(model, point, at, value, registers, 0, fullPath);
  return { offset: at.base + point.offset, registers };
}

/**
 * Encodes one write covering every point of a group instance (e.g. 704's 'PFWInj', or 'Crv[1].Pt[0]'),
 * as SunSpec requires for 'sync' groups. Points missing from `values` keep their values from
 * `current`; a sunssf point written in the same call scales the points written with it. Every
 * point of the group must be writable.
 */
export function encodeGroupWrite(
  def: ModelDef,
  current: DecodedModel,
  path: string,
  values: Readonly<Record<string, PointValue | undefined>>,
): RegisterWrite {
  const model = compileModel(def);
  const at = locateGroup(model, current, path, parsePath(model, path));
  const groupPath = at.prefix.slice(0, -1);
  if (at.group === model.root) throw validation(model, path, 'names the whole model, not a group');
  for (const name of Object.keys(values)) {
    if (!at.group.pointIndex.has(name)) {
      const known = at.group.points.map((p) => p.name).join(', ');
      throw validation(model, `${groupPath}.${name}`, `no point '${name}' in ${groupPath} (points: ${known})`);
    }
  }
  const readOnly = at.group.points.filter((p) => !p.writable).map((p) => p.name);
  if (readOnly.length > 0 || at.group.points.length === 0) {
    throw notSupported(model, groupPath, `the group has read-only points (${readOnly.join(', ') || 'no points'})`);
  }
  return encodeWholeGroup(model, at, values);
}

function encodeWholeGroup(
  model: CompiledModel,
  at: GroupLocation,
  values: Readonly<Record<string, PointValue | undefined>>,
): RegisterWrite {
  const registers = new Uint16Array(at.group.pointsLength);
  for (const point of at.group.points) {
    const given = values[point.name];
    const value = given !== undefined ? given : (at.instance.points[point.name] ?? null);
    encodeInto(model, point, at, value, registers, point.offset, at.prefix + point.name, values);
  }
  return { offset: at.base, registers };
}
