/**
 * Types of the SunSpec codec. A model definition is the JSON of sunspec/models (`model_<id>.json`,
 * whose JSON Schema is schema.json beside them); the codec walks it to turn a block of 16-bit
 * registers into named, scaled values and back. Pure: no I/O, no timers.
 */

export const POINT_TYPES = [
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'acc16',
  'acc32',
  'acc64',
  'raw16',
  'float32',
  'float64',
  'string',
  'enum16',
  'enum32',
  'bitfield16',
  'bitfield32',
  'bitfield64',
  'sunssf',
  'pad',
  'ipaddr',
  'ipv6addr',
  'eui48',
  'count',
] as const;
export type PointType = (typeof POINT_TYPES)[number];

export interface SymbolDef {
  name: string;
  value: number;
  label?: string;
  desc?: string;
}

export interface PointDef {
  name: string;
  type: PointType;
  /** Size in registers. */
  size: number;
  /** Scale factor: the name of a sunssf point (same group, then enclosing groups) or a fixed integer. */
  sf?: string | number;
  access?: 'R' | 'RW';
  mandatory?: 'M' | 'O';
  static?: 'S' | 'D';
  units?: string;
  label?: string;
  desc?: string;
  symbols?: SymbolDef[];
  /** For the model's ID and L points. */
  value?: number;
}

export interface GroupDef {
  name: string;
  type: 'group' | 'sync';
  /** Repetitions: a fixed number (0 = as many as fit in L) or the name of a count point; absent = 1. */
  count?: number | string;
  points: PointDef[];
  groups?: GroupDef[];
  label?: string;
  desc?: string;
}

export interface ModelDef {
  id: number;
  group: GroupDef;
}

/**
 * A decoded point value: a scaled number; a bigint only for 64-bit integers beyond 2^53; a trimmed
 * string (string, ipaddr, ipv6addr, eui48 as text); null when the device marks it unimplemented.
 * Scale-factor (sunssf) points keep their raw integer value.
 */
export type PointValue = number | bigint | string | null;

export interface DecodedGroup {
  points: Record<string, PointValue>;
  /** Repeating groups are arrays; a group without count is an array of one. */
  groups: Record<string, DecodedGroup[]>;
}

export interface DecodedModel extends DecodedGroup {
  id: number;
  name: string;
  /** Register address of the model's ID point. */
  start: number;
  /** Model length in registers, as read from the device (excludes the ID and L registers). */
  length: number;
  /**
   * Problems that did not stop the decode, e.g. a declared length L that disagrees with the length
   * computed from the definition and the counts; empty when the block matched the definition.
   */
  warnings: string[];
}

/**
 * Values to encode, shaped like a DecodedGroup: points by name (scaled values; sunssf and count
 * points raw), repeating groups as arrays. Missing points encode as their unimplemented value.
 * A DecodedModel is accepted as is.
 */
export interface GroupValues {
  points?: Readonly<Record<string, PointValue | undefined>>;
  groups?: Readonly<Record<string, readonly GroupValues[] | undefined>>;
}
export type ModelValues = GroupValues;

export interface EncodeOptions {
  /**
   * true: point values are raw register integers (no scale factor applied), as in pysunspec2
   * device images. Default false: values are scaled and are divided by 10^sf.
   */
  raw?: boolean;
}

export interface DecodeOptions {
  /** Register address of the model's ID point (reported back as DecodedModel.start). */
  start: number;
}

/** Registers to write with FC16: `offset` is relative to the model's ID register. */
export interface RegisterWrite {
  offset: number;
  registers: Uint16Array;
}

/** Where a point lives in a decoded model, for writes and read-back comparisons. */
export interface PointLocation {
  point: PointDef;
  /** Normalised path, e.g. 'Crv[1].Pt[0].V'. */
  path: string;
  /** Register offset from the model's ID register. */
  offset: number;
  /** Absolute register address: DecodedModel.start + offset. */
  address: number;
  /** The point's value in the decoded model. */
  value: PointValue;
  /** The scale factor exponent that applies (constant or read from the model); undefined without sf, null when unimplemented. */
  sf: number | null | undefined;
}
