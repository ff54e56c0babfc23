/**
 * One simulated unit's SunSpec register image: 'SunS' at the base address (40000, 0 or 50000),
 * the models as the codec encodes them, then the end marker (0xFFFF, 0). Reads return views of a
 * single Uint16Array; writes are validated against the model definitions.
 *
 * Exceptions (MODBUS Application Protocol v1.1b3, section 7):
 * - 2 ILLEGAL DATA ADDRESS: a read or write that starts before the base or runs past the end of the
 *   map (unless `pastEnd: 'zeros'`); a write that touches a register of a read-only point (ID, L,
 *   measurements, scale factors) or of no point (the 'SunS' marker, the end marker). Writability is
 *   a property of the address, which is what code 2 describes, and it is what devices in the field
 *   answer (SMA answers 2 for read-only registers).
 * - 3 ILLEGAL DATA VALUE: a quantity outside 1..125 (read) or 1..123 (write); a write that covers
 *   only part of a multi-register point; a value outside the point's range (enum value without a
 *   symbol, bit without a symbol, a percentage outside 0..100, the unimplemented sentinel written to
 *   an implemented point).
 * A write to a point the device leaves unimplemented (its register holds the sentinel) is accepted
 * and ignored, as devices do (altendky in sunspec/pysunspec issue #74).
 * A write is all or nothing: every register is checked before any is stored.
 */
import type { DecodedGroup, ModelDef, PointType } from '../codec/types.ts';
import { MapLayout, type PointLimits, type PointSlot } from './layout.ts';

export const SUNS_MARKER = [0x5375, 0x6e53] as const;
export const END_MODEL_ID = 0xffff;
export const EXCEPTION_ILLEGAL_DATA_ADDRESS = 2;
export const EXCEPTION_ILLEGAL_DATA_VALUE = 3;

const MAX_READ = 125;
const MAX_WRITE = 123;

export interface ModbusExceptionResult {
  exception: number;
}

const ILLEGAL_ADDRESS: ModbusExceptionResult = Object.freeze({ exception: EXCEPTION_ILLEGAL_DATA_ADDRESS });
const ILLEGAL_VALUE: ModbusExceptionResult = Object.freeze({ exception: EXCEPTION_ILLEGAL_DATA_VALUE });

export interface RegisterMapOptions {
  /** Address of 'SunS'; 40000 by default (0 and 50000 are the other standard bases). */
  base?: number;
  /** Quirk: false omits the end marker, so a reader walking the chain runs off the map. */
  endMarker?: boolean;
  /**
   * What a read that runs past the end of the map gets: `'exception'` (default, exception 2, as SMA
   * devices answer at the end of their map) or `'zeros'` (the missing registers read as 0; reads
   * starting after the end too).
   */
  pastEnd?: 'exception' | 'zeros';
  /** Scaled write limits per point, `'704.WSet': [-10000, 10000]`; see layout.ts for the defaults. */
  limits?: PointLimits;
}

export interface ModelImage {
  def: ModelDef;
  values: DecodedGroup;
  /** The codec's encoding of the model, ID and L included. */
  block: Uint16Array;
}

const POW10: number[] = [];
for (let sf = -20; sf <= 20; sf++) POW10[sf + 20] = 10 ** sf;
function pow10(sf: number): number {
  return POW10[sf + 20] ?? 10 ** sf;
}

const TWO32 = 4294967296;
const floatView = new DataView(new ArrayBuffer(8));

/** The raw integer (or float) a point holds in `regs` at `offset`. */
function readRaw(regs: Uint16Array, offset: number, type: PointType): number | bigint {
  switch (type) {
    case 'int16':
    case 'sunssf':
      return (regs[offset]! << 16) >> 16;
    case 'int32':
      return (regs[offset]! << 16) | regs[offset + 1]! | 0;
    case 'uint32':
    case 'acc32':
    case 'enum32':
    case 'bitfield32':
      return regs[offset]! * 65536 + regs[offset + 1]!;
    case 'int64':
    case 'uint64':
    case 'acc64':
    case 'bitfield64': {
      let v = 0n;
      for (let i = 0; i < 4; i++) v = (v << 16n) | BigInt(regs[offset + i]!);
      return type === 'int64' ? BigInt.asIntN(64, v) : v;
    }
    case 'float32':
      floatView.setUint16(0, regs[offset]!);
      floatView.setUint16(2, regs[offset + 1]!);
      return floatView.getFloat32(0);
    case 'float64':
      for (let i = 0; i < 4; i++) floatView.setUint16(i * 2, regs[offset + i]!);
      return floatView.getFloat64(0);
    default:
      return regs[offset]!;
  }
}

/** Whether a raw value is the SunSpec "unimplemented" sentinel of its type (device_edge notes 1.4). */
function isUnimplemented(raw: number | bigint, type: PointType): boolean {
  switch (type) {
    case 'int16':
    case 'sunssf':
      return raw === -32768;
    case 'uint16':
    case 'enum16':
    case 'bitfield16':
      return raw === 0xffff;
    case 'int32':
      return raw === -2147483648;
    case 'uint32':
    case 'enum32':
    case 'bitfield32':
      return raw === 0xffffffff;
    case 'int64':
      return raw === -(2n ** 63n);
    case 'uint64':
    case 'bitfield64':
      return raw === 2n ** 64n - 1n;
    case 'float32':
    case 'float64':
      return Number.isNaN(raw);
    default:
      return false;
  }
}

export class RegisterMap {
  readonly layout: MapLayout;
  /** The registers from the base address on; index 0 is the 'S' 'u' register. */
  readonly image: Uint16Array;
  readonly pastEnd: 'exception' | 'zeros';
  /** Called after a successful write with the points it stored (unimplemented points excluded). */
  onWrite: ((slots: readonly PointSlot[]) => void) | undefined;

  private constructor(layout: MapLayout, image: Uint16Array, pastEnd: 'exception' | 'zeros') {
    this.layout = layout;
    this.image = image;
    this.pastEnd = pastEnd;
  }

  /**
   * Builds a map from encoded models. `models[i].block` is the codec's `encodeModel` output for
   * `models[i].values`; its length must match the layout walked from the same values.
   */
  static build(models: readonly ModelImage[], options: RegisterMapOptions = {}): RegisterMap {
    const base = options.base ?? 40000;
    const layout = new MapLayout(base, models, {
      endMarker: options.endMarker ?? true,
      ...(options.limits ? { limits: options.limits } : {}),
    });
    if (base + layout.length > 0x10000) {
      throw new RangeError(`a map of ${layout.length} registers does not fit above base ${base}`);
    }
    const image = new Uint16Array(layout.length);
    image[0] = SUNS_MARKER[0];
    image[1] = SUNS_MARKER[1];
    models.forEach((model, i) => {
      const placement = layout.models[i]!;
      if (model.block.length !== placement.length + 2) {
        throw new RangeError(
          `model ${model.def.id}: the codec encoded ${model.block.length} registers, the layout has ${placement.length + 2}`,
        );
      }
      image.set(model.block, placement.start - base);
    });
    if (layout.endMarker) {
      image[layout.length - 2] = END_MODEL_ID;
      image[layout.length - 1] = 0;
    }
    return new RegisterMap(layout, image, options.pastEnd ?? 'exception');
  }

  /** A new map with the same layout (shared) and a copy of this image. */
  clone(): RegisterMap {
    return new RegisterMap(this.layout, this.image.slice(), this.pastEnd);
  }

  get base(): number {
    return this.layout.base;
  }

  /** FC3. The result is a view of the image: valid until the next physics tick or write. */
  read(address: number, count: number): Uint16Array | ModbusExceptionResult {
    if (count < 1 || count > MAX_READ) return ILLEGAL_VALUE;
    const offset = address - this.layout.base;
    const length = this.image.length;
    if (offset >= 0 && offset + count <= length) return this.image.subarray(offset, offset + count);
    if (offset < 0 || this.pastEnd === 'exception' || address + count > 0x10000) return ILLEGAL_ADDRESS;
    const out = new Uint16Array(count);
    if (offset < length) out.set(this.image.subarray(offset));
    return out;
  }

  /** FC16, validated as described at the top of this file. */
  write(address: number, values: Uint16Array): ModbusExceptionResult | undefined {
    const count = values.length;
    if (count < 1 || count > MAX_WRITE) return ILLEGAL_VALUE;
    const offset = address - this.layout.base;
    if (offset < 0 || offset + count > this.image.length) return ILLEGAL_ADDRESS;
    const slotAt = this.layout.slotAt;
    const slots = this.layout.slots;
    for (let i = 0; i < count; i++) {
      const index = slotAt[offset + i]!;
      if (index < 0 || !slots[index]!.writable) return ILLEGAL_ADDRESS;
    }
    const first = slots[slotAt[offset]!]!;
    const last = slots[slotAt[offset + count - 1]!]!;
    if (first.address !== address || last.address + last.size !== address + count) return ILLEGAL_VALUE;
    const stored: PointSlot[] = [];
    for (let i = 0; i < count; ) {
      const slot = slots[slotAt[offset + i]!]!;
      const current = readRaw(this.image, slot.address - this.layout.base, slot.type);
      const raw = readRaw(values, i, slot.type);
      // A point the device leaves unimplemented: accepted, not stored.
      const implemented = slot.type === 'string' || !isUnimplemented(current, slot.type);
      if (implemented) {
        if (!this.acceptable(slot, raw)) return ILLEGAL_VALUE;
        stored.push(slot);
      }
      i += slot.size;
    }
    for (const slot of stored) {
      const from = slot.address - address;
      this.image.set(values.subarray(from, from + slot.size), slot.address - this.layout.base);
    }
    if (stored.length > 0) this.onWrite?.(stored);
    return undefined;
  }

  private acceptable(slot: PointSlot, raw: number | bigint): boolean {
    if (slot.type === 'string' || slot.type === 'pad') return true;
    if (isUnimplemented(raw, slot.type)) return false;
    if (slot.enumValues !== undefined) return slot.enumValues.has(Number(raw));
    if (slot.bitMask !== undefined) return (BigInt(raw) & ~slot.bitMask) === 0n;
    if (Number.isNaN(slot.min) && Number.isNaN(slot.max)) return true;
    const sf = this.scaleFactor(slot);
    const value = Number(raw) * pow10(sf);
    // A tolerance of half a step, so 100.0 encoded at sf -1 is not rejected by float error.
    const tolerance = pow10(sf) / 2;
    if (!Number.isNaN(slot.min) && value < slot.min - tolerance) return false;
    if (!Number.isNaN(slot.max) && value > slot.max + tolerance) return false;
    return true;
  }

  /** The scale factor in force for a point (read from the image when it is a sunssf point). */
  scaleFactor(slot: PointSlot): number {
    if (slot.sfAddress < 0) return slot.sfFixed;
    return (this.image[slot.sfAddress - this.layout.base]! << 16) >> 16;
  }

  /** The point's raw register value (sign applied); bigint for 64-bit integers. */
  getRaw(slot: PointSlot): number | bigint {
    return readRaw(this.image, slot.address - this.layout.base, slot.type);
  }

  /** The point's scaled value, or null when it holds the unimplemented sentinel. */
  get(slot: PointSlot): number | null {
    const raw = this.getRaw(slot);
    if (isUnimplemented(raw, slot.type)) return null;
    const sf = this.scaleFactor(slot);
    return sf === 0 ? Number(raw) : Number(raw) * pow10(sf);
  }

  /** Stores a raw integer into the point's registers (two's complement for negatives). */
  setRaw(slot: PointSlot, raw: number): void {
    const o = slot.address - this.layout.base;
    const image = this.image;
    switch (slot.size) {
      case 1:
        image[o] = raw & 0xffff;
        return;
      case 2: {
        if (slot.type === 'float32') {
          floatView.setFloat32(0, raw);
          image[o] = floatView.getUint16(0);
          image[o + 1] = floatView.getUint16(2);
          return;
        }
        const u = raw < 0 ? (raw | 0) >>> 0 : raw % TWO32;
        image[o] = Math.floor(u / 65536);
        image[o + 1] = u & 0xffff;
        return;
      }
      case 4: {
        let v = BigInt.asUintN(64, BigInt(Math.round(raw)));
        for (let i = 3; i >= 0; i--) {
          image[o + i] = Number(v & 0xffffn);
          v >>= 16n;
        }
        return;
      }
      default:
        throw new RangeError(`setRaw does not handle ${slot.type} (${slot.size} registers)`);
    }
  }

  /** Stores a scaled value: raw = round(value / 10^sf) with the scale factor in force. */
  set(slot: PointSlot, value: number): void {
    const sf = this.scaleFactor(slot);
    this.setRaw(slot, sf === 0 ? Math.round(value) : Math.round(value / pow10(sf)));
  }

  /** Stores the unimplemented sentinel of the point's type. */
  setUnimplemented(slot: PointSlot): void {
    const o = slot.address - this.layout.base;
    const type = slot.type;
    const signed = type === 'int16' || type === 'int32' || type === 'int64' || type === 'sunssf';
    const float = type === 'float32' || type === 'float64';
    const zero = type.startsWith('acc') || type === 'string' || type === 'pad' || type.startsWith('ip');
    this.image.fill(signed || zero || float ? 0 : 0xffff, o, o + slot.size);
    if (signed) this.image[o] = 0x8000;
    else if (float) this.image[o] = type === 'float32' ? 0x7fc0 : 0x7ff8;
  }

  /** Stores ASCII text, NUL-padded to the point's size. */
  setString(slot: PointSlot, text: string): void {
    const o = slot.address - this.layout.base;
    for (let i = 0; i < slot.size; i++) {
      const hi = text.charCodeAt(i * 2) || 0;
      const lo = text.charCodeAt(i * 2 + 1) || 0;
      this.image[o + i] = ((hi & 0xff) << 8) | (lo & 0xff);
    }
  }

  /** Shorthand: the slot of `modelId.path` (throws when the map lacks it). */
  point(modelId: number, path: string): PointSlot {
    return this.layout.point(modelId, path);
  }
}
