import { GridseamError } from '@gridseam/model';

/**
 * Hex helpers for sep.xsd HexBinary* values (bitmaps such as DERControlType, DOEControlType, responseRequired).
 * The resource convention is lower-case hex, no `0x`, two digits per byte.
 */

/** `hexBitmap(0b11, 1)` → `"03"`; `hexBitmap(1n << 20n, 4)` → `"00100000"`. Throws when `n` does not fit. */
export function hexBitmap(n: number | bigint, bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 64) {
    throw new GridseamError('GW_ERR_VALIDATION', `hexBitmap: byte count ${bytes} is not an integer in 1..64`);
  }
  let value: bigint;
  if (typeof n === 'bigint') value = n;
  else if (Number.isSafeInteger(n)) value = BigInt(n);
  else throw new GridseamError('GW_ERR_VALIDATION', `hexBitmap: ${n} is not a safe integer`);
  if (value < 0n || value >= 1n << BigInt(bytes * 8)) {
    throw new GridseamError('GW_ERR_VALIDATION', `hexBitmap: ${value} does not fit in ${bytes} byte(s)`);
  }
  return value.toString(16).padStart(bytes * 2, '0');
}

const HEX_RE = /^[0-9a-fA-F]+$/;

/** `"03"` → 3. Accepts either case and an odd digit count; throws on non-hex or more than 53 bits. */
export function parseHexBitmap(hex: string): number {
  if (!HEX_RE.test(hex)) throw new GridseamError('GW_ERR_VALIDATION', `parseHexBitmap: "${hex}" is not hex`);
  const value = Number.parseInt(hex, 16);
  if (!Number.isSafeInteger(value)) {
    throw new GridseamError('GW_ERR_VALIDATION', `parseHexBitmap: "${hex}" exceeds 53 bits; use BigInt`);
  }
  return value;
}

/** True when bit `bit` (0 = least significant) is set in the hex bitmap. */
export function hasBit(hex: string, bit: number): boolean {
  if (!HEX_RE.test(hex)) throw new GridseamError('GW_ERR_VALIDATION', `hasBit: "${hex}" is not hex`);
  return ((BigInt(`0x${hex}`) >> BigInt(bit)) & 1n) === 1n;
}

/** Build a bitmap from bit positions: `bitsToHex([0, 1], 1)` → `"03"`. */
export function bitsToHex(bits: Iterable<number>, bytes: number): string {
  let value = 0n;
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0 || bit >= bytes * 8) {
      throw new GridseamError('GW_ERR_VALIDATION', `bitsToHex: bit ${bit} is outside 0..${bytes * 8 - 1}`);
    }
    value |= 1n << BigInt(bit);
  }
  return hexBitmap(value, bytes);
}
