/**
 * Point values to and from registers, per SunSpec type: big-endian registers, 32- and 64-bit
 * values high word first, strings two bytes per register high byte first (SunSpec Device
 * Information Model Specification, "Data types"). Unimplemented values per sunspec/pysunspec2
 * sunspec2/mb.py (device_edge.md 1.4): int16/sunssf 0x8000, uint16/count/enum16/bitfield16
 * 0xFFFF, int32 0x80000000, uint32/enum32/bitfield32 0xFFFFFFFF, int64 0x8000..0, uint64 and
 * bitfield64 0xFFFF..F, float NaN, string all NUL, ipaddr/ipv6addr 0, eui48 FF:FF:FF:FF:FF:FF.
 * Accumulators have none: an acc's 0 is a reading. pad carries no data and decodes to null; raw16
 * has no sentinel.
 */
import { T } from './layout.ts';
import type { PointValue } from './types.ts';

/** Register sequences of the registers a codec reads. */
export type Registers = Uint16Array | readonly number[];

const scratch = new DataView(new ArrayBuffer(8));
const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** 10^k for the sunssf range −10..10 (SunSpec schema), so scaling does not call Math.pow. */
const POW10: readonly number[] = Array.from({ length: 21 }, (_, i) => 10 ** i);

/**
 * raw × 10^sf, as pysunspec2 computes it (`round(v * 10**sf, -sf)`, sunspec2/device.py): dividing by
 * the exact power of ten gives the double nearest the decimal result, which is what that rounding yields.
 */
export function applyScale(raw: number, sf: number): number {
  if (sf === 0) return raw;
  if (sf < 0) return raw / (sf >= -20 ? POW10[-sf]! : 10 ** -sf);
  return raw * (sf <= 20 ? POW10[sf]! : 10 ** sf);
}

/** Decodes the raw value of one point (no scale factor applied); null for the type's unimplemented value. */
export function decodeRaw(code: number, size: number, regs: Registers, at: number): PointValue {
  switch (code) {
    case T.int16:
    case T.sunssf: {
      const r = regs[at]!;
      return r === 0x8000 ? null : (r << 16) >> 16;
    }
    case T.uint16:
    case T.count:
    case T.enum16:
    case T.bitfield16: {
      const r = regs[at]!;
      return r === 0xffff ? null : r;
    }
    case T.acc16:
    case T.raw16:
      return regs[at]!;
    case T.pad:
      return null;
    case T.int32: {
      const hi = regs[at]!;
      const lo = regs[at + 1]!;
      return hi === 0x8000 && lo === 0 ? null : ((hi << 16) | lo) >> 0;
    }
    case T.uint32:
    case T.enum32:
    case T.bitfield32: {
      const hi = regs[at]!;
      const lo = regs[at + 1]!;
      return hi === 0xffff && lo === 0xffff ? null : hi * 0x10000 + lo;
    }
    case T.acc32:
      return regs[at]! * 0x10000 + regs[at + 1]!;
    case T.ipaddr: {
      const hi = regs[at]!;
      const lo = regs[at + 1]!;
      return hi === 0 && lo === 0 ? null : `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
    }
    case T.float32: {
      scratch.setUint16(0, regs[at]!);
      scratch.setUint16(2, regs[at + 1]!);
      const f = scratch.getFloat32(0);
      return Number.isNaN(f) ? null : f;
    }
    case T.float64: {
      scratch.setUint16(0, regs[at]!);
      scratch.setUint16(2, regs[at + 1]!);
      scratch.setUint16(4, regs[at + 2]!);
      scratch.setUint16(6, regs[at + 3]!);
      const f = scratch.getFloat64(0);
      return Number.isNaN(f) ? null : f;
    }
    case T.int64: {
      const r0 = regs[at]!;
      const r1 = regs[at + 1]!;
      const r2 = regs[at + 2]!;
      const r3 = regs[at + 3]!;
      if (r0 === 0x8000 && r1 === 0 && r2 === 0 && r3 === 0) return null;
      return int64(r0, r1, r2, r3);
    }
    case T.uint64:
    case T.bitfield64: {
      const r0 = regs[at]!;
      const r1 = regs[at + 1]!;
      const r2 = regs[at + 2]!;
      const r3 = regs[at + 3]!;
      if (r0 === 0xffff && r1 === 0xffff && r2 === 0xffff && r3 === 0xffff) return null;
      return uint64(r0, r1, r2, r3);
    }
    case T.acc64:
      return uint64(regs[at]!, regs[at + 1]!, regs[at + 2]!, regs[at + 3]!);
    case T.eui48: {
      // Four registers: two pad bytes, then the six EUI-48 bytes (pysunspec2 eui48_to_data).
      const r1 = regs[at + 1]!;
      const r2 = regs[at + 2]!;
      const r3 = regs[at + 3]!;
      if (r1 === 0xffff && r2 === 0xffff && r3 === 0xffff) return null;
      if (regs[at] === 0 && r1 === 0 && r2 === 0 && r3 === 0) return null; // pysunspec2 reads all-zero as absent too
      return `${hex2(r1 >> 8)}:${hex2(r1 & 0xff)}:${hex2(r2 >> 8)}:${hex2(r2 & 0xff)}:${hex2(r3 >> 8)}:${hex2(r3 & 0xff)}`;
    }
    case T.ipv6addr: {
      let any = false;
      for (let i = 0; i < 8; i++) if (regs[at + i] !== 0) any = true;
      if (!any) return null;
      let text = hex4(regs[at]!);
      for (let i = 1; i < 8; i++) text += `:${hex4(regs[at + i]!)}`;
      return text;
    }
    case T.string:
      return decodeString(regs, at, size);
    default:
      return null;
  }
}

function int64(r0: number, r1: number, r2: number, r3: number): number | bigint {
  const top = (r0 << 16) >> 16;
  // |value| < 2^53 when the top word is within −32..31: then the arithmetic below is exact.
  if (top >= -32 && top < 32) {
    const value = ((top * 0x10000 + r1) * 0x10000 + r2) * 0x10000 + r3;
    if (Number.isSafeInteger(value)) return value;
  }
  return BigInt.asIntN(64, (BigInt(r0) << 48n) | (BigInt(r1) << 32n) | (BigInt(r2) << 16n) | BigInt(r3));
}

function uint64(r0: number, r1: number, r2: number, r3: number): number | bigint {
  if (r0 < 32) return ((r0 * 0x10000 + r1) * 0x10000 + r2) * 0x10000 + r3;
  return (BigInt(r0) << 48n) | (BigInt(r1) << 32n) | (BigInt(r2) << 16n) | BigInt(r3);
}

function hex2(byte: number): string {
  return byte < 16 ? `0${byte.toString(16).toUpperCase()}` : byte.toString(16).toUpperCase();
}

function hex4(word: number): string {
  return word.toString(16).padStart(4, '0');
}

/**
 * A string point: bytes up to the first NUL, trailing spaces trimmed; null when the first byte is
 * NUL (all NUL is the unimplemented string; pysunspec2 is_impl_string looks at the first character).
 */
function decodeString(regs: Registers, at: number, size: number): string | null {
  const bytes = size * 2;
  let end = 0;
  let ascii = true;
  for (; end < bytes; end++) {
    const r = regs[at + (end >> 1)]!;
    const byte = end & 1 ? r & 0xff : r >> 8;
    if (byte === 0) break;
    if (byte >= 0x80) ascii = false;
  }
  if (end === 0) return null;
  let last = end - 1;
  for (; last >= 0; last--) {
    const r = regs[at + (last >> 1)]!;
    if ((last & 1 ? r & 0xff : r >> 8) !== 0x20) break;
  }
  if (ascii) {
    let text = '';
    for (let i = 0; i <= last; i++) {
      const r = regs[at + (i >> 1)]!;
      text += String.fromCharCode(i & 1 ? r & 0xff : r >> 8);
    }
    return text;
  }
  const buffer = new Uint8Array(last + 1);
  for (let i = 0; i <= last; i++) {
    const r = regs[at + (i >> 1)]!;
    buffer[i] = i & 1 ? r & 0xff : r >> 8;
  }
  return utf8.decode(buffer);
}

// ---------------------------------------------------------------------------------------------------
// Encoding

/** The registers of a type's unimplemented value (accumulators 0, pad 0, raw16 0). */
export function writeUnimplemented(code: number, size: number, out: Uint16Array, at: number): void {
  switch (code) {
    case T.int16:
    case T.sunssf:
      out[at] = 0x8000;
      return;
    case T.uint16:
    case T.count:
    case T.enum16:
    case T.bitfield16:
      out[at] = 0xffff;
      return;
    case T.int32:
      out[at] = 0x8000;
      out[at + 1] = 0;
      return;
    case T.uint32:
    case T.enum32:
    case T.bitfield32:
      out[at] = 0xffff;
      out[at + 1] = 0xffff;
      return;
    case T.int64:
      out[at] = 0x8000;
      out.fill(0, at + 1, at + 4);
      return;
    case T.uint64:
    case T.bitfield64:
      out.fill(0xffff, at, at + 4);
      return;
    case T.float32:
      out[at] = 0x7fc0;
      out[at + 1] = 0;
      return;
    case T.float64:
      out[at] = 0x7ff8;
      out.fill(0, at + 1, at + 4);
      return;
    case T.eui48:
      out[at] = 0;
      out.fill(0xffff, at + 1, at + 4);
      return;
    default:
      // acc16/32/64, raw16, pad, ipaddr, ipv6addr, string: all zero.
      out.fill(0, at, at + size);
  }
}

/** Integer range of a type's raw value: [min, max] inclusive, and the unimplemented value if any. */
export interface IntegerRange {
  min: bigint;
  max: bigint;
  sentinel: bigint | undefined;
  bits: 16 | 32 | 64;
  signed: boolean;
}

const u = (bits: 16 | 32 | 64, sentinel: bigint | undefined): IntegerRange => ({
  min: 0n,
  max: (1n << BigInt(bits)) - 1n,
  sentinel,
  bits,
  signed: false,
});
const s = (bits: 16 | 32 | 64): IntegerRange => ({
  min: -(1n << BigInt(bits - 1)),
  max: (1n << BigInt(bits - 1)) - 1n,
  sentinel: -(1n << BigInt(bits - 1)),
  bits,
  signed: true,
});

export const INTEGER_RANGES: Readonly<Partial<Record<number, IntegerRange>>> = {
  [T.int16]: s(16),
  [T.sunssf]: s(16),
  [T.uint16]: u(16, 0xffffn),
  [T.count]: u(16, 0xffffn),
  [T.enum16]: u(16, 0xffffn),
  [T.bitfield16]: u(16, 0xffffn),
  [T.acc16]: u(16, undefined),
  [T.raw16]: u(16, undefined),
  [T.int32]: s(32),
  [T.uint32]: u(32, 0xffffffffn),
  [T.enum32]: u(32, 0xffffffffn),
  [T.bitfield32]: u(32, 0xffffffffn),
  [T.acc32]: u(32, undefined),
  [T.int64]: s(64),
  [T.uint64]: u(64, 0xffffffffffffffffn),
  [T.bitfield64]: u(64, 0xffffffffffffffffn),
  [T.acc64]: u(64, undefined),
};

/** Writes an in-range integer raw value (two's complement for signed types). */
export function writeInteger(range: IntegerRange, value: bigint, out: Uint16Array, at: number): void {
  if (range.bits === 16) {
    out[at] = Number(value) & 0xffff;
  } else if (range.bits === 32) {
    const v = Number(BigInt.asUintN(32, value));
    out[at] = Math.floor(v / 0x10000);
    out[at + 1] = v & 0xffff;
  } else {
    const v = BigInt.asUintN(64, value);
    out[at] = Number((v >> 48n) & 0xffffn);
    out[at + 1] = Number((v >> 32n) & 0xffffn);
    out[at + 2] = Number((v >> 16n) & 0xffffn);
    out[at + 3] = Number(v & 0xffffn);
  }
}

export function writeFloat(code: number, value: number, out: Uint16Array, at: number): void {
  if (code === T.float32) {
    scratch.setFloat32(0, value);
    out[at] = scratch.getUint16(0);
    out[at + 1] = scratch.getUint16(2);
  } else {
    scratch.setFloat64(0, value);
    out[at] = scratch.getUint16(0);
    out[at + 1] = scratch.getUint16(2);
    out[at + 2] = scratch.getUint16(4);
    out[at + 3] = scratch.getUint16(6);
  }
}

/** UTF-8 bytes of a string point, NUL-padded; undefined when the text does not fit `size` registers. */
export function stringBytes(text: string, size: number): Uint8Array | undefined {
  const encoded = utf8Encoder.encode(text);
  if (encoded.length > size * 2) return undefined;
  const bytes = new Uint8Array(size * 2);
  bytes.set(encoded);
  return bytes;
}

export function writeBytes(bytes: Uint8Array, out: Uint16Array, at: number): void {
  for (let i = 0; i < bytes.length; i += 2) out[at + (i >> 1)] = (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
}

/** Parses a dotted-quad IPv4 address; undefined when malformed. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.trim().split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = value * 256 + byte;
  }
  return value;
}

/** Parses an IPv6 address (full or '::'-compressed, hex groups) into 8 words; undefined when malformed. */
export function parseIpv6(text: string): number[] | undefined {
  const trimmed = text.trim().toLowerCase();
  const halves = trimmed.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const words: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
      words.push(Number.parseInt(group, 16));
    }
    return words;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Parses an EUI-48 ('AA:BB:CC:DD:EE:FF', '-' or no separators) into 6 bytes; undefined when malformed. */
export function parseEui48(text: string): number[] | undefined {
  const hex = text.trim().replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < 12; i += 2) bytes.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return bytes;
}

// ---------------------------------------------------------------------------------------------------
// Rounding like pysunspec2 on writes: `round(round(float(v), |sf|) / 10**sf)` (sunspec2/device.py,
// Point.set_value). Python's round() rounds half to even on the exact binary value of a double.
// Step one gives k = v·10^|sf| rounded half to even (exactly); for sf <= 0 that is the result,
// for sf > 0 the result is k / 10^(2·sf) rounded half to even (pysunspec2 rounds twice there).

const f64 = new DataView(new ArrayBuffer(8));

/** numerator / denominator rounded half to even (denominator > 0). */
function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  let quotient = magnitude / denominator;
  const twice = (magnitude - quotient * denominator) * 2n;
  if (twice > denominator || (twice === denominator && (quotient & 1n) === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

/** The exact value of a finite double as numerator / 2^shift. */
function exactBinary(value: number): { numerator: bigint; shift: bigint } {
  f64.setFloat64(0, value);
  const bits = f64.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  let mantissa = exponentBits === 0 ? fraction : fraction | (1n << 52n);
  if (bits >> 63n === 1n) mantissa = -mantissa;
  const exponent = (exponentBits === 0 ? 1 : exponentBits) - 1075;
  return exponent >= 0
    ? { numerator: mantissa << BigInt(exponent), shift: 0n }
    : { numerator: mantissa, shift: BigInt(-exponent) };
}

/** The raw integer pysunspec2 writes for value v with scale factor sf, computed exactly. */
export function roundScaledExact(value: number, sf: number): bigint {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const digits = BigInt(Math.abs(sf));
  const { numerator, shift } = exactBinary(value);
  const k = divideHalfEven(numerator * 10n ** digits, 1n << shift);
  return sf <= 0 ? k : divideHalfEven(k, 10n ** (2n * digits));
}

/** The raw integer pysunspec2 writes for value v with scale factor sf (fast path for the common cases). */
export function roundScaled(value: number, sf: number): bigint {
  if (sf === 0 && Number.isSafeInteger(value)) return BigInt(value);
  if (sf < 0 && sf >= -20) {
    const scaled = value * POW10[-sf]!;
    if (Number.isSafeInteger(value) && Number.isSafeInteger(scaled)) return BigInt(scaled);
    if (Number.isFinite(scaled) && Math.abs(scaled) < 2 ** 51) {
      const floor = Math.floor(scaled);
      // Far enough from a tie that the error of the product (an ulp or two) cannot change the result.
      if (Math.abs(scaled - floor - 0.5) > Math.abs(scaled) * 2 ** -48 + 2 ** -60) {
        return BigInt(scaled - floor > 0.5 ? floor + 1 : floor);
      }
    }
  }
  return roundScaledExact(value, sf);
}
