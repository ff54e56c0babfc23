/** Small helpers shared by the utility server modules. */
import { createHash, randomBytes } from 'node:crypto';
import { GridseamError, type ValidationIssue } from '@gridseam/model';

/** URL-safe ids of programs, FSAs and curves: they appear in hrefs, which are all lower-case. */
const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MRID = /^[0-9a-f]{32}$/;
const HEX = /^(?:[0-9a-f]{2})+$/;

export function invalid(message: string, issues: ValidationIssue[] = []): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, { issues });
}

export function notFound(message: string): GridseamError {
  return new GridseamError('GW_ERR_NOT_FOUND', message);
}

export function conflict(message: string): GridseamError {
  return new GridseamError('GW_ERR_CONFLICT', message);
}

export function checkSlug(value: unknown, what: string): string {
  if (typeof value !== 'string' || !SLUG.test(value))
    throw invalid(`${what} must be 1-64 lower-case letters, digits, '_' or '-' (it appears in URLs)`, [
      { path: `/${what}`, message: 'expected [a-z0-9][a-z0-9_-]{0,63}' },
    ]);
  return value;
}

/** A 128-bit mRID as 32 lower-case hex characters (any case accepted). */
export function checkMrid(value: unknown, what = 'mRID'): string {
  const lower = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!MRID.test(lower))
    throw invalid(`${what} must be 32 hexadecimal characters (128 bits)`, [
      { path: `/${what}`, message: 'expected 32 hex' },
    ]);
  return lower;
}

/** A HexBinary value (whole bytes), lower-cased. */
export function checkHex(value: unknown, what: string, maxBytes: number): string {
  const lower = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!HEX.test(lower) || lower.length > maxBytes * 2)
    throw invalid(`${what} must be hexadecimal, whole bytes, at most ${maxBytes} bytes`, [
      { path: `/${what}`, message: 'expected hex' },
    ]);
  return lower;
}

export function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw invalid(`${what} must be a whole number from ${min} to ${max}`, [
      { path: `/${what}`, message: `expected an integer in [${min}, ${max}]` },
    ]);
  return value;
}

/**
 * A new random mRID. With a PEN, its last 32 bits are the PEN (the CSIP-AUS convention for
 * server-generated mRIDs).
 */
export function newMrid(pen = 0): string {
  const random = randomBytes(16).toString('hex');
  return pen > 0 ? random.slice(0, 24) + pen.toString(16).padStart(8, '0') : random;
}

/** A stable mRID derived from text (the same input always gives the same mRID). */
export function derivedMrid(text: string, pen = 0): string {
  const digest = createHash('sha256').update(text).digest('hex');
  return pen > 0 ? digest.slice(0, 24) + pen.toString(16).padStart(8, '0') : digest.slice(0, 32);
}

/**
 * Watts as a 2030.5 ActivePower {multiplier, value}: the smallest power-of-ten multiplier for which the
 * value fits Int16 (the value is rounded at that multiplier).
 */
export function activePowerFromWatts(watts: number): { multiplier: number; value: number } {
  if (!Number.isFinite(watts)) throw invalid('a power must be a finite number of watts');
  for (let multiplier = 0; multiplier <= 9; multiplier += 1) {
    const value = Math.round(watts / 10 ** multiplier);
    if (value >= -32768 && value <= 32767) return { multiplier, value };
  }
  throw invalid('a power is too large for ActivePower');
}

/** Epoch seconds now (whole seconds). */
export function systemNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** Printable ASCII for a response header, at most 200 characters. */
export function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}
