/**
 * Device identity in IEEE 2030.5 (§6.3.3, §6.3.4): the LFDI and SFDI derived from a device certificate.
 *
 * - Certificate fingerprint: SHA-256 over the DER-encoded certificate.
 * - LFDI (long-form device identifier): the left-most 160 bits of that fingerprint, 40 hex characters.
 * - SFDI (short-form device identifier): the left-most 36 bits of the LFDI as a decimal number, followed by
 *   one check digit chosen so that the sum of all digits is ≡ 0 (mod 10).
 *
 * LFDIs are written lower-case here; compare them case-insensitively (some clients send upper-case).
 */
import { createHash } from 'node:crypto';
import { GridseamError } from '@gridseam/model';

/** Hex characters in an LFDI (160 bits). */
export const LFDI_HEX_LENGTH = 40;
/** Hex characters in a SHA-256 certificate fingerprint. */
export const FINGERPRINT_HEX_LENGTH = 64;
/** Bits of the LFDI that make up the SFDI before its check digit. */
const SFDI_PREFIX_BITS = 36;
/** The largest SFDI: (2^36 − 1) followed by one check digit. */
export const MAX_SFDI = (2 ** SFDI_PREFIX_BITS - 1) * 10 + 9;

const LFDI_PATTERN = /^[0-9a-f]{40}$/i;

/** SHA-256 of the DER certificate bytes, 64 lower-case hex characters. */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** LFDI of a certificate: the left-most 160 bits of SHA-256 over its DER bytes, 40 lower-case hex characters. */
export function lfdiFromCertificate(der: Uint8Array): string {
  return certificateFingerprint(der).slice(0, LFDI_HEX_LENGTH);
}

function digitSum(value: number): number {
  let sum = 0;
  for (const digit of String(value)) sum += Number(digit);
  return sum;
}

/** The digit that makes the digit sum of `prefix` followed by it a multiple of 10. */
function sfdiCheckDigit(prefix: number): number {
  return (10 - (digitSum(prefix) % 10)) % 10;
}

/**
 * Lower-case LFDI from a string in any case. Throws GW_ERR_VALIDATION unless it is exactly 40 hex characters
 * (surrounding white space is ignored).
 */
export function normaliseLfdi(value: string): string {
  const trimmed = typeof value === 'string' ? value.trim() : '';
  if (!LFDI_PATTERN.test(trimmed)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `an LFDI is exactly ${LFDI_HEX_LENGTH} hexadecimal characters; got ${shown}`,
      { issues: [{ path: '', message: `expected ${LFDI_HEX_LENGTH} hex characters` }] },
    );
  }
  return trimmed.toLowerCase();
}

/** True when the two strings are the same valid LFDI, whatever their case; false for any invalid one. */
export function lfdiEquals(a: string, b: string): boolean {
  return (
    typeof a === 'string' &&
    typeof b === 'string' &&
    LFDI_PATTERN.test(a.trim()) &&
    a.trim().toLowerCase() === b.trim().toLowerCase()
  );
}

/** SFDI from an LFDI (any case): its left-most 36 bits in decimal, then the check digit. */
export function sfdiFromLfdi(lfdi: string): number {
  const prefix = Number.parseInt(normaliseLfdi(lfdi).slice(0, SFDI_PREFIX_BITS / 4), 16);
  return prefix * 10 + sfdiCheckDigit(prefix);
}

/** True for a whole number in the SFDI range whose digits sum to a multiple of 10. */
export function isValidSfdi(value: number): boolean {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_SFDI) return false;
  return digitSum(value) % 10 === 0;
}
