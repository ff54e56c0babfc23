/**
 * Simple types of the 2.0b schemas: lexical checks on the way in, formatting with range checks on the way out.
 * Every function throws ValueError with a short message; the parser and emitter add the element path.
 */

export class ValueError extends Error {}

export function quote(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

// ------------------------------------------------------------------ xcal:DateTimeType

/** xcal:DateTimeType restricts xs:dateTime to UTC ("Z") or no zone at all; we read a missing zone as UTC. */
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$/;
const MIN_TIME_MS = -62135596800000; // 0001-01-01T00:00:00Z
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Parse an xcal date-time to epoch milliseconds (sub-millisecond digits are truncated). */
export function parseDateTime(raw: string): number {
  const s = raw.trim();
  const m = DATE_TIME_RE.exec(s);
  if (m === null) throw new ValueError(`${quote(s)} is not a date-time (YYYY-MM-DDThh:mm:ss[.fff]Z)`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = m[7] ?? '';
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new ValueError(`${quote(s)} is not a valid calendar date`);
  }
  const endOfDay = hour === 24 && minute === 0 && second === 0 && /^0*$/.test(fraction);
  if ((hour > 23 && !endOfDay) || minute > 59 || second > 59) {
    throw new ValueError(`${quote(s)} is not a valid time of day`);
  }
  const ms = Number((fraction + '000').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

/** Format epoch milliseconds as an xcal date-time in UTC (milliseconds only when not zero). */
export function formatDateTime(value: unknown): string {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValueError(`${describe(value)} is not a time (integer epoch milliseconds)`);
  }
  if (value < MIN_TIME_MS || value > MAX_TIME_MS) {
    throw new ValueError(`${value} is outside the years 0001..9999`);
  }
  const iso = new Date(value).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ for years 0..9999
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

// ------------------------------------------------------------------ xcal:DurationValueType

/**
 * ISO 8601 durations as RFC 5545 and xcal use them: P[nW] or P[nD][T[nH][nM][nS]], optional sign. Years and
 * months have no fixed length in seconds and are refused unless zero; the schema's pattern also admits "P",
 * "PT" and a missing "T" ("P5H"), which ISO 8601 does not, so those are refused too.
 */
const DURATION_RE = /^([+-])?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function parseDuration(raw: string): number {
  const s = raw.trim();
  const m = DURATION_RE.exec(s);
  if (m === null || s.endsWith('P') || s.endsWith('T') || (m[4] !== undefined && s.length > s.indexOf('W') + 1)) {
    throw new ValueError(`${quote(s)} is not an ISO 8601 duration`);
  }
  if (m.slice(2, 9).every((part) => part === undefined)) {
    throw new ValueError(`${quote(s)} is not an ISO 8601 duration`);
  }
  const part = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  if (part(2) !== 0 || part(3) !== 0) {
    throw new ValueError(`${quote(s)} uses years or months, which have no fixed length in seconds`);
  }
  const seconds = part(4) * 604800 + part(5) * 86400 + part(6) * 3600 + part(7) * 60 + part(8);
  if (!Number.isSafeInteger(seconds)) throw new ValueError(`${quote(s)} is too long`);
  return m[1] === '-' ? -seconds || 0 : seconds;
}

/** Format whole seconds as P[nD]T[nH][nM][nS] (PT0S for zero); weeks are never written (the xcal pattern lacks them). */
export function formatDuration(value: unknown): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ValueError(`${describe(value)} is not a duration (whole seconds)`);
  }
  let rest = Math.abs(value);
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  let time = '';
  if (hours > 0) time += `${hours}H`;
  if (minutes > 0) time += `${minutes}M`;
  if (seconds > 0) time += `${seconds}S`;
  let out = value < 0 ? '-P' : 'P';
  if (days > 0) out += `${days}D`;
  if (time !== '') out += `T${time}`;
  else if (days === 0) out += 'T0S';
  return out;
}

// ------------------------------------------------------------------ numbers and booleans

const FLOAT_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const DECIMAL_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
const UNSIGNED_RE = /^\+?[0-9]+$/;
/** Largest finite xs:float (IEEE 754 binary32). */
export const FLOAT_MAX = 3.4028234663852886e38;
export const UNSIGNED_INT_MAX = 4294967295;

/** xs:float, finite only (INF, -INF and NaN are refused). The value keeps double precision. */
export function parseFloatValue(raw: string): number {
  const s = raw.trim();
  if (!FLOAT_RE.test(s)) throw new ValueError(`${quote(s)} is not a finite number`);
  const n = Number(s) + 0;
  if (!Number.isFinite(n) || Math.abs(n) > FLOAT_MAX) throw new ValueError(`${quote(s)} is outside the xs:float range`);
  return n;
}

export function formatFloat(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ValueError(`${describe(value)} is not a finite number`);
  if (Math.abs(value) > FLOAT_MAX) throw new ValueError(`${value} is outside the xs:float range`);
  return String(value + 0);
}

/** xs:decimal (no exponent). */
export function parseDecimal(raw: string): number {
  const s = raw.trim();
  if (!DECIMAL_RE.test(s)) throw new ValueError(`${quote(s)} is not a decimal number`);
  const n = Number(s) + 0;
  if (!Number.isFinite(n)) throw new ValueError(`${quote(s)} is too large`);
  return n;
}

export function formatDecimal(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ValueError(`${describe(value)} is not a finite number`);
  const plain = String(value + 0);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(plain);
  if (m === null) return plain;
  // Expand the shortest round-trip digits without an exponent (xs:decimal has none).
  const [, sign, lead, rest = '', exp] = m as unknown as [string, string, string, string | undefined, string];
  const digits = lead + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** xs:unsignedInt, optionally narrowed (ei:ConfidenceType is 0..100). */
export function parseUnsigned(raw: string, max = UNSIGNED_INT_MAX): number {
  const s = raw.trim();
  if (!UNSIGNED_RE.test(s)) throw new ValueError(`${quote(s)} is not an unsigned integer`);
  const digits = s.replace(/^\+?0*/, '');
  if (digits.length > 10 || Number(digits) > max) throw new ValueError(`${quote(s)} is outside 0..${max}`);
  return Number(digits);
}

export function formatUnsigned(value: unknown, max = UNSIGNED_INT_MAX): string {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new ValueError(`${describe(value)} is not an integer`);
  if (value < 0 || value > max) throw new ValueError(`${value} is outside 0..${max}`);
  return String(value + 0);
}

/** ei:ResponseCodeType: three digits. */
export function parseResponseCode(raw: string): number {
  const s = raw.trim();
  if (!/^[0-9]{3}$/.test(s)) throw new ValueError(`${quote(s)} is not a 3-digit response code`);
  return Number(s);
}

export function formatResponseCode(value: unknown): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 999) {
    throw new ValueError(`${describe(value)} is not a 3-digit response code`);
  }
  return String(value).padStart(3, '0');
}

/** xs:boolean: true, false, 1, 0. */
export function parseBoolean(raw: string): boolean {
  const s = raw.trim();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw new ValueError(`${quote(s)} is not a boolean (true, false, 1 or 0)`);
}

export function formatBoolean(value: unknown): string {
  if (typeof value !== 'boolean') throw new ValueError(`${describe(value)} is not a boolean`);
  return value ? 'true' : 'false';
}

// ------------------------------------------------------------------ tokens and enumerations

/** xs:token whitespace rule: trim and collapse runs to one space. */
export function collapse(raw: string): string {
  return raw.replace(/[\t\n\r ]+/g, ' ').trim();
}

/** ei:EiExtensionTokenType pattern `x-\S.*`. */
const EXTENSION_RE = /^x-\S/;

export interface Enumeration<T extends string> {
  readonly name: string;
  readonly values: ReadonlySet<string>;
  /** The union admits ei:EiExtensionTokenType. */
  readonly extensible: boolean;
  /** Narrow a raw string (throws ValueError). */
  readonly check: (raw: string) => T;
}

export function enumeration<T extends string>(name: string, values: readonly T[], extensible = false): Enumeration<T> {
  const set: ReadonlySet<string> = new Set(values);
  return {
    name,
    values: set,
    extensible,
    check(raw: string): T {
      const s = collapse(raw);
      if (set.has(s) || (extensible && EXTENSION_RE.test(s))) return s as T;
      const hint = extensible ? ' (or an x- extension)' : '';
      throw new ValueError(`${quote(s)} is not a valid ${name}${hint}`);
    },
  };
}
