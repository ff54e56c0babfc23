/**
 * Where each point of a simulated SunSpec map lives: the register layout of the models in a map,
 * computed once per device profile and shared by every unit of that profile (the per-unit state is
 * only the register image). A point is found by `modelId` (or its position in the chain) and a
 * path: `W`, `PFWInj.PF` (a group without count), `module[1].DCW` (0-based repetition).
 *
 * Offsets follow the SunSpec model definition: points in order, then the nested groups, each
 * repeated as many times as the simulated values hold (SunSpec Information Model Specification,
 * "group" and "count"; a group without count occurs once).
 */
import { type CompiledGroup, type CompiledModel, compileModel, SF_CONST, SF_POINT } from '../codec/layout.ts';
import type { DecodedGroup, GroupDef, ModelDef, PointDef, PointType } from '../codec/types.ts';

/** One point of the map, with its absolute register address. */
export interface PointSlot {
  /** Index of this slot in `MapLayout.slots`. */
  readonly index: number;
  readonly modelId: number;
  /** Position of the model in the chain (0 = common model). */
  readonly modelIndex: number;
  /** `W`, `PFWInj.PF`, `module[0].DCW`. */
  readonly path: string;
  readonly def: PointDef;
  readonly type: PointType;
  readonly address: number;
  readonly size: number;
  readonly writable: boolean;
  /** Register address of the scale-factor point, or -1 when the scale factor is fixed (or absent). */
  readonly sfAddress: number;
  /** The fixed scale factor when `sfAddress` is -1 (0 when the point is unscaled). */
  readonly sfFixed: number;
  /** Write limits in scaled units (inclusive); NaN when unbounded. */
  readonly min: number;
  readonly max: number;
  /** Allowed raw values of an enum (from its symbols); undefined when any value goes. */
  readonly enumValues: ReadonlySet<number> | undefined;
  /** Allowed bits of a bitfield (from its symbols); undefined when any bit goes. */
  readonly bitMask: bigint | undefined;
}

/** A model placed in the chain. */
export interface ModelPlacement {
  readonly id: number;
  readonly def: ModelDef;
  /** Address of the model's ID register. */
  readonly start: number;
  /** The L register value: length without ID and L. */
  readonly length: number;
}

/** Scaled write limits per point: `'704.WMaxLimPct': [0, 100]`. Overrides the defaults by unit. */
export type PointLimits = Readonly<Record<string, readonly [number, number]>>;

/** Registers per repetition of a group, nested groups included. */
function groupLength(group: CompiledGroup, values: DecodedGroup | undefined): number {
  let length = group.pointsLength;
  for (const child of group.children) {
    const reps = repetitions(child.def, values);
    for (let i = 0; i < reps.length; i++) length += groupLength(child, reps[i]);
  }
  return length;
}

/** The repetitions of a nested group in the simulated values (a group without count occurs once). */
function repetitions(group: GroupDef, parent: DecodedGroup | undefined): (DecodedGroup | undefined)[] {
  const given = parent?.groups[group.name];
  if (given !== undefined) return given;
  if (group.count === undefined) return [undefined];
  if (typeof group.count === 'number' && group.count > 0) return new Array(group.count).fill(undefined);
  return [];
}

/** Default write limits from a point's units: percentages are 0..100 (signed: -100..100), cos() is -1..1. */
function defaultLimits(point: PointDef): [number, number] {
  const units = point.units ?? '';
  const signed = point.type === 'int16' || point.type === 'int32' || point.type === 'int64';
  if (units.includes('%') || units.startsWith('Pct')) return signed ? [-100, 100] : [0, 100];
  if (units === 'cos()') return [-1, 1];
  return [Number.NaN, Number.NaN];
}

export class MapLayout {
  readonly base: number;
  readonly models: readonly ModelPlacement[];
  readonly slots: readonly PointSlot[];
  /** Registers from base to the end of the map (end marker included when present). */
  readonly length: number;
  readonly endMarker: boolean;
  /** Per register (offset from base): the slot index covering it, or -1 (marker, ID/L of no slot). */
  readonly slotAt: Int32Array;
  private readonly byKey = new Map<string, PointSlot>();

  constructor(
    base: number,
    models: readonly { def: ModelDef; values: DecodedGroup }[],
    options: { endMarker?: boolean; limits?: PointLimits } = {},
  ) {
    this.base = base;
    this.endMarker = options.endMarker ?? true;
    const placements: ModelPlacement[] = [];
    const slots: PointSlot[] = [];
    let address = base + 2; // after 'SunS'
    models.forEach(({ def, values }, modelIndex) => {
      // Offsets and scale-factor references come from the codec's compiled layout of the definition.
      const compiled = compileModel(def);
      const length = groupLength(compiled.root, values) - 2; // L excludes ID and L
      placements.push({ id: def.id, def, start: address, length });
      this.placeGroup(compiled, modelIndex, compiled.root, values, '', address, [], slots, options.limits ?? {});
      address += length + 2;
    });
    this.models = placements;
    this.slots = slots;
    this.length = address - base + (this.endMarker ? 2 : 0);
    this.slotAt = new Int32Array(this.length).fill(-1);
    for (const slot of slots) this.slotAt.fill(slot.index, slot.address - base, slot.address - base + slot.size);
  }

  private placeGroup(
    model: CompiledModel,
    modelIndex: number,
    group: CompiledGroup,
    values: DecodedGroup | undefined,
    prefix: string,
    start: number,
    outerStarts: readonly number[],
    slots: PointSlot[],
    limits: PointLimits,
  ): number {
    // Start of this instance and of each enclosing one: a scale factor lives `sfUp` groups up.
    const starts = [...outerStarts, start];
    for (const point of group.points) {
      const path = prefix + point.name;
      const sfFixed = point.sfKind === SF_CONST ? point.sfConst : 0;
      const sfAddress = point.sfKind === SF_POINT ? starts[starts.length - 1 - point.sfUp]! + point.sfOffset : -1;
      const def = point.def;
      const [min, max] = limits[`${model.id}.${path}`] ?? defaultLimits(def);
      const symbols = def.symbols ?? [];
      const isEnum = def.type === 'enum16' || def.type === 'enum32';
      const isBits = def.type.startsWith('bitfield');
      const slot: PointSlot = {
        index: slots.length,
        modelId: model.id,
        modelIndex,
        path,
        def,
        type: def.type,
        address: start + point.offset,
        size: point.size,
        writable: point.writable,
        sfAddress,
        sfFixed,
        min,
        max,
        enumValues: isEnum && symbols.length > 0 ? new Set(symbols.map((s) => s.value)) : undefined,
        bitMask: isBits && symbols.length > 0 ? symbols.reduce((m, s) => m | (1n << BigInt(s.value)), 0n) : undefined,
      };
      slots.push(slot);
      // The first model with an id wins (a map may repeat a model id).
      const key = `${model.id}:${path}`;
      if (!this.byKey.has(key)) this.byKey.set(key, slot);
    }
    let address = start + group.pointsLength;
    for (const child of group.children) {
      const reps = repetitions(child.def, values);
      const repeated = child.def.count !== undefined;
      for (let i = 0; i < reps.length; i++) {
        const childPrefix = `${prefix}${child.name}${repeated ? `[${i}]` : ''}.`;
        address = this.placeGroup(model, modelIndex, child, reps[i], childPrefix, address, starts, slots, limits);
      }
    }
    return address;
  }

  /** The slot of a point by model id (the first model with that id) and path; throws when absent. */
  point(modelId: number, path: string): PointSlot {
    const slot = this.byKey.get(`${modelId}:${path}`);
    if (slot === undefined) throw new Error(`simulator map has no point ${modelId}.${path}`);
    return slot;
  }

  /** Like `point`, or undefined. */
  findPoint(modelId: number, path: string): PointSlot | undefined {
    return this.byKey.get(`${modelId}:${path}`);
  }

  /** The placement of the first model with this id; throws when absent. */
  model(modelId: number): ModelPlacement {
    const model = this.models.find((m) => m.id === modelId);
    if (model === undefined) throw new Error(`simulator map has no model ${modelId}`);
    return model;
  }
}
