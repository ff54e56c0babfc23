/**
 * Market awards (bess_market.md §4.4): parsed from an ISO's file or an API body (CSV or JSON,
 * bounded, hostile input refused), and turned into program events the control engine follows.
 * Pure. Times are UTC instants plus ISO-8601 with the market's offset; hour-ending labels
 * (HE1..HE24, HE25 on the fall-back day) are converted by time.ts only.
 */
import { GridseamError, type ProgramEvent, type Signal } from '@gridseam/model';
import type { Aggregation, AggregationMember, Award, MarketProduct, MarketRun } from '../contract.ts';
import { hourEndingInterval, isLocalDate, isoWithOffset } from '../time.ts';
import { DEFAULT_AWARD_PRIMACY, membersAt } from './aggregation.ts';
import { ID_PATTERN, Issues, isInstant, isRecord, poisonKey } from './check.ts';
import { MARKET_NAME_PATTERN } from './decode.ts';
import { MARKET_RUNS } from './offers.ts';

/** Largest awards document, bytes of UTF-8 (1 MiB, the API's body limit). */
export const MAX_AWARDS_BYTES = 1024 * 1024;
/** Most awards one document may hold. */
export const MAX_AWARDS = 20_000;
/** Bounds on one award's values. */
export const AWARD_LIMITS = { mw: 100_000, priceUsdPerMwh: 100_000, intervalMs: 86_400_000 } as const;
const MAX_CELL_CHARS = 256;
const MAX_COLUMNS = 32;
const MAX_JSON_DEPTH = 8;

export const MARKET_PRODUCTS: readonly MarketProduct[] = ['ENERGY', 'REG_UP', 'REG_DN', 'SPIN', 'NONSPIN'];
/** Product spellings accepted (case-insensitive, '_' '-' and spaces ignored). */
const PRODUCT_ALIASES: Readonly<Record<string, MarketProduct>> = {
  ENERGY: 'ENERGY',
  REGUP: 'REG_UP',
  REGDN: 'REG_DN',
  REGDOWN: 'REG_DN',
  SPIN: 'SPIN',
  NONSPIN: 'NONSPIN',
};

/** Field names accepted, normalised (lower case, '_' '-' and spaces removed) to the canonical one. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  resourceid: 'resourceId',
  start: 'start',
  end: 'end',
  date: 'date',
  hourending: 'hourEnding',
  he: 'hourEnding',
  market: 'market',
  product: 'product',
  mw: 'mw',
  clearingprice: 'clearingPrice',
  interval: 'interval',
};

// Control characters other than tab, CR and LF: never in an award file; a sign of binary or crafted input.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?$/;

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '');
}

/** UTF-8 length of a string, stopping early once past `limit`. */
function utf8Bytes(text: string, limit: number): number {
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** An ISO-8601 instant that carries its offset (Z or +-hh:mm): a naive local time is ambiguous on DST days. */
export function parseIsoInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, fraction] = [1, 2, 3, 4, 5, 6, 7].map((k) => m[k]);
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second ?? '0');
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 14 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, Number((fraction ?? '').padEnd(3, '0'))) - offsetMinutes * 60_000;
  return isInstant(ms) ? ms : undefined;
}

// ---------------------------------------------------------------------------------------- CSV

interface CsvRow {
  /** Line number in the file where the row starts (1 = the header). */
  line: number;
  cells: string[];
}

/** RFC 4180: quoted fields with "" escapes, CRLF or LF; bounded rows, columns and cells. */
function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let cellStarted = false;
  let line = 1;
  let rowLine = 1;
  const malformed = (message: string) => new GridseamError('GW_ERR_MALFORMED', `awards CSV line ${line}: ${message}`);
  const endCell = () => {
    if (cell.length > MAX_CELL_CHARS)
      throw new GridseamError(
        'GW_ERR_VALIDATION',
        `awards CSV line ${rowLine}: a field is longer than ${MAX_CELL_CHARS} characters`,
        {
          issues: [{ path: `/rows/${rowLine}`, message: `a field is longer than ${MAX_CELL_CHARS} characters` }],
        },
      );
    cells.push(cell);
    if (cells.length > MAX_COLUMNS)
      throw new GridseamError('GW_ERR_HOSTILE_INPUT', `awards CSV line ${rowLine}: more than ${MAX_COLUMNS} columns`);
    cell = '';
    cellStarted = false;
  };
  const endRow = () => {
    endCell();
    if (!(cells.length === 1 && cells[0]?.trim() === '')) rows.push({ line: rowLine, cells });
    if (rows.length > MAX_AWARDS + 1)
      throw new GridseamError('GW_ERR_HOSTILE_INPUT', `awards CSV holds more than ${MAX_AWARDS} rows`);
    cells = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
          const next = text[i + 1];
          if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n')
            throw malformed('a closing quote must end its field');
        }
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (cellStarted) throw malformed('a quote inside an unquoted field');
      quoted = true;
      cellStarted = true;
    } else if (ch === ',') endCell();
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      cell += ch;
      cellStarted = true;
    }
  }
  if (quoted) throw malformed('a quoted field is not closed');
  if (cellStarted || cells.length > 0) endRow();
  return rows;
}

// ---------------------------------------------------------------------------------------- fields

interface RawAward {
  /** Path of the record: /rows/<line> (CSV) or /<index> (JSON). */
  path: string;
  fields: Map<string, unknown>;
  /** Path of each field (CSV: the record path + column name). */
  fieldPath: (field: string) => string;
  /** CSV cells are text; JSON values must have their own type (a number is not a string of digits). */
  text: boolean;
}

function decodeNumber(value: unknown, text: boolean): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (text && typeof value === 'string' && DECIMAL.test(value.trim())) {
    const n = Number(value.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function decodeInstant(value: unknown, timeZone: string | undefined): { ms: number; text: string } | undefined {
  if (typeof value === 'number')
    return isInstant(value) ? { ms: value, text: isoWithOffset(value, timeZone ?? 'UTC') } : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const ms = parseIsoInstant(text);
  return ms === undefined ? undefined : { ms, text };
}

function decodeAward(raw: RawAward, issues: Issues, timeZone: string | undefined): Award | undefined {
  const before = issues.count;
  const get = (field: string) => raw.fields.get(field);
  const at = raw.fieldPath;

  const resourceId = typeof get('resourceId') === 'string' ? (get('resourceId') as string).trim() : undefined;
  if (resourceId === undefined || !MARKET_NAME_PATTERN.test(resourceId))
    issues.add(at('resourceId'), 'must be a resource id (letters, digits, . _ : / -; at most 128)');

  const marketText = typeof get('market') === 'string' ? (get('market') as string).trim().toUpperCase() : '';
  const market = MARKET_RUNS.find((m) => m === marketText);
  if (market === undefined) issues.add(at('market'), `must be one of ${MARKET_RUNS.join(', ')}`);

  const productText =
    typeof get('product') === 'string' ? (get('product') as string).toUpperCase().replace(/[\s_-]+/g, '') : '';
  const product = PRODUCT_ALIASES[productText];
  if (product === undefined) issues.add(at('product'), `must be one of ${MARKET_PRODUCTS.join(', ')}`);

  const mw = decodeNumber(get('mw'), raw.text);
  if (mw === undefined) issues.add(at('mw'), 'must be a finite number (MW)');
  else if (Math.abs(mw) > AWARD_LIMITS.mw) issues.add(at('mw'), `must be within +-${AWARD_LIMITS.mw} MW`);
  else if (product !== undefined && product !== 'ENERGY' && mw < 0)
    issues.add(at('mw'), 'a capacity award holds MW >= 0');

  const clearingPrice = decodeNumber(get('clearingPrice'), raw.text);
  if (clearingPrice === undefined) issues.add(at('clearingPrice'), 'must be a finite number ($/MWh or $/MW-h)');
  else if (Math.abs(clearingPrice) > AWARD_LIMITS.priceUsdPerMwh)
    issues.add(at('clearingPrice'), `must be within +-${AWARD_LIMITS.priceUsdPerMwh}`);

  let span: { startMs: number; endMs: number; start: string; end: string } | undefined;
  if (get('date') !== undefined || get('hourEnding') !== undefined) {
    const date = typeof get('date') === 'string' ? (get('date') as string).trim() : '';
    const he = get('hourEnding');
    const heText = (typeof he === 'string' || (typeof he === 'number' && !raw.text) ? String(he) : '')
      .trim()
      .replace(/^HE/i, '');
    const hourEnding = /^\d{1,2}$/.test(heText) ? Number(heText) : Number.NaN;
    const dateOk = isLocalDate(date);
    if (!dateOk) issues.add(at('date'), 'must be a calendar date YYYY-MM-DD');
    if (timeZone === undefined) issues.add(at('hourEnding'), 'hour-ending awards need the market time zone (timeZone)');
    else if (dateOk) {
      try {
        const { startMs, endMs } = hourEndingInterval(date, hourEnding, timeZone);
        span = { startMs, endMs, start: isoWithOffset(startMs, timeZone), end: isoWithOffset(endMs, timeZone) };
      } catch (error) {
        issues.add(at('hourEnding'), GridseamError.is(error) ? error.message : 'is not an hour of the day');
      }
    }
  } else {
    const start = decodeInstant(get('start'), timeZone);
    const end = decodeInstant(get('end'), timeZone);
    if (start === undefined)
      issues.add(at('start'), 'must be ISO-8601 with an offset (2026-07-01T15:00:00-07:00) or epoch ms');
    if (end === undefined)
      issues.add(at('end'), 'must be ISO-8601 with an offset (2026-07-01T16:00:00-07:00) or epoch ms');
    if (start !== undefined && end !== undefined)
      span = { startMs: start.ms, endMs: end.ms, start: start.text, end: end.text };
  }
  if (span !== undefined) {
    if (span.endMs <= span.startMs) issues.add(at('end'), 'must be after start');
    else if (span.endMs - span.startMs > AWARD_LIMITS.intervalMs)
      issues.add(at('end'), 'an award interval lasts at most one day');
    else if (span.startMs % 1000 !== 0 || span.endMs % 1000 !== 0) issues.add(at('start'), 'must be whole seconds');
  }
  if (issues.count > before || span === undefined) return undefined;
  return {
    resourceId: resourceId as string,
    interval: {
      start: span.start,
      end: span.end,
      startMs: span.startMs,
      endMs: span.endMs,
      market: market as MarketRun,
    },
    product: product as MarketProduct,
    mw: mw as number,
    clearingPrice: clearingPrice as number,
  };
}

function csvAwards(text: string): RawAward[] {
  const rows = parseCsv(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const header = rows.shift();
  if (header === undefined) return [];
  const columns = header.cells.map((name) => FIELD_ALIASES[normaliseName(name)]);
  const issues = new Issues();
  const seen = new Set<string>();
  columns.forEach((field, i) => {
    if (field === undefined) return; // unknown columns are ignored: ISO exports carry many
    if (field === 'interval') issues.add(`/rows/1/${header.cells[i]}`, 'is not a CSV column');
    if (seen.has(field)) issues.add(`/rows/1/${header.cells[i]}`, 'repeats a column');
    seen.add(field);
  });
  const needed = ['resourceId', 'market', 'product', 'mw', 'clearingPrice'];
  needed.push(...(seen.has('date') || seen.has('hourEnding') ? ['date', 'hourEnding'] : ['start', 'end']));
  for (const field of needed)
    if (!seen.has(field))
      issues.add(
        '/rows/1',
        `the header lacks the column for ${field} (resource_id,start,end,market,product,mw,clearing_price)`,
      );
  issues.throwIfAny('awards CSV header');
  return rows.map((row) => {
    const fields = new Map<string, unknown>();
    columns.forEach((field, i) => {
      if (field !== undefined) fields.set(field, row.cells[i]);
    });
    const names = new Map<string, string>();
    columns.forEach((field, i) => {
      if (field !== undefined) names.set(field, header.cells[i] as string);
    });
    if (row.cells.length !== header.cells.length) fields.set('#columns', row.cells.length);
    return {
      path: `/rows/${row.line}`,
      fields,
      fieldPath: (field) => `/rows/${row.line}/${names.get(field) ?? field}`,
      text: true,
    };
  });
}

/** JSON nesting depth outside strings, stopping once past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length && max <= limit; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') max = Math.max(max, ++depth);
    else if (ch === '}' || ch === ']') depth--;
  }
  return max;
}

function jsonAwards(text: string, issues: Issues): RawAward[] {
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new GridseamError('GW_ERR_HOSTILE_INPUT', `awards JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GridseamError('GW_ERR_MALFORMED', `awards JSON does not parse: ${(error as Error).message}`);
  }
  let prefix = '';
  if (isRecord(value)) {
    for (const key of Object.keys(value))
      if (poisonKey(key))
        throw new GridseamError('GW_ERR_HOSTILE_INPUT', `awards JSON: refused key ${JSON.stringify(key)}`);
      else if (key !== 'awards') issues.add(`/${key}`, 'is not a known field (expected {"awards": [...]} or an array)');
    value = value.awards;
    prefix = '/awards';
  }
  if (!Array.isArray(value)) {
    issues.add(prefix || '/', 'must be an array of awards');
    issues.throwIfAny('awards JSON');
    return [];
  }
  if (value.length > MAX_AWARDS)
    throw new GridseamError('GW_ERR_HOSTILE_INPUT', `awards JSON holds more than ${MAX_AWARDS} awards`);
  return value.flatMap((item, index): RawAward[] => {
    const path = `${prefix}/${index}`;
    if (!isRecord(item)) {
      issues.add(path, 'must be an object');
      return [];
    }
    const fields = new Map<string, unknown>();
    const names = new Map<string, string>();
    const take = (record: Record<string, unknown>, base: string, nested: boolean) => {
      for (const [key, v] of Object.entries(record)) {
        if (poisonKey(key))
          throw new GridseamError('GW_ERR_HOSTILE_INPUT', `${base}: refused key ${JSON.stringify(key)}`);
        // The contract shape's interval also carries startMs / endMs: the instants are read from start / end.
        if (nested && (key === 'startMs' || key === 'endMs')) continue;
        const field = FIELD_ALIASES[normaliseName(key)];
        const allowed = nested ? field === 'start' || field === 'end' || field === 'market' : field !== undefined;
        if (field === undefined || !allowed) {
          issues.add(`${base}/${key}`, 'is not a known field');
          continue;
        }
        if (field === 'interval') {
          if (isRecord(v)) take(v, `${base}/${key}`, true);
          else issues.add(`${base}/${key}`, 'must be an object {start, end, market}');
          continue;
        }
        if (fields.has(field)) issues.add(`${base}/${key}`, 'repeats a field');
        fields.set(field, v);
        names.set(field, `${base}/${key}`);
      }
    };
    take(item, path, false);
    return [{ path, fields, fieldPath: (field) => names.get(field) ?? `${path}/${field}`, text: false }];
  });
}

export interface ParseAwardsOptions {
  /** The market's time zone: required for `date,hour_ending` rows; formats epoch-ms times (default UTC). */
  timeZone?: string;
  /** Largest accepted document, bytes (default and ceiling 1 MiB). */
  maxBytes?: number;
}

/**
 * Awards from an ISO file or API body. CSV: a header row naming `resource_id,start,end,market,
 * product,mw,clearing_price` (any order, case and `_` ignored, unknown columns ignored), times
 * ISO-8601 with an offset; or `date,hour_ending` (HE1..HE24, HE23 / HE25 on DST days) instead of
 * start/end with `options.timeZone`. JSON: an array (or {"awards": [...]}) of records with the same
 * fields (camelCase or snake_case), times as ISO-8601 or epoch ms, or the contract's Award shape
 * with `interval: {start, end, market}`.
 * Refused: more than 1 MiB (GW_ERR_BODY_TOO_LARGE); control characters, prototype keys, deep JSON,
 * too many rows or columns (GW_ERR_HOSTILE_INPUT); broken quoting or JSON (GW_ERR_MALFORMED);
 * wrong types, NaN/Infinity, unknown product or market, out-of-range values, end <= start, an
 * interval over a day, a duplicate (resource, market, product, start) -> GW_ERR_VALIDATION with a
 * path per problem (`/rows/<line>/<column>` for CSV, line 1 = the header; `/<index>/<field>` for JSON).
 */
export function parseAwards(text: string, format: 'csv' | 'json', options: ParseAwardsOptions = {}): Award[] {
  const maxBytes = Math.min(options.maxBytes ?? MAX_AWARDS_BYTES, MAX_AWARDS_BYTES);
  if (typeof text !== 'string') throw new GridseamError('GW_ERR_VALIDATION', 'awards must be text');
  if (text.length > maxBytes || utf8Bytes(text, maxBytes) > maxBytes)
    throw new GridseamError('GW_ERR_BODY_TOO_LARGE', `awards exceed ${maxBytes} bytes`);
  if (CONTROL_CHARS.test(text)) throw new GridseamError('GW_ERR_HOSTILE_INPUT', 'awards hold control characters');
  if (options.timeZone !== undefined) isoWithOffset(0, options.timeZone); // unknown zone -> GW_ERR_VALIDATION
  const issues = new Issues();
  let raws: RawAward[];
  if (format === 'csv') raws = csvAwards(text);
  else if (format === 'json') raws = jsonAwards(text, issues);
  else throw new GridseamError('GW_ERR_VALIDATION', `unknown awards format ${JSON.stringify(format)} (csv or json)`);
  const awards: Award[] = [];
  const keys = new Map<string, string>();
  for (const raw of raws) {
    const columns = raw.fields.get('#columns');
    if (columns !== undefined) {
      issues.add(raw.path, `has ${columns} fields; the header has a different number`);
      continue;
    }
    const award = decodeAward(raw, issues, options.timeZone);
    if (award === undefined) continue;
    const key = awardKey(award);
    const first = keys.get(key);
    if (first !== undefined)
      issues.add(raw.path, `repeats the award of ${first} (same resource, market, product and start)`);
    else keys.set(key, raw.path);
    awards.push(award);
  }
  issues.throwIfAny('awards');
  return awards;
}

/** What identifies an award: resource, market run, product and interval start. */
export function awardKey(
  award: Pick<Award, 'resourceId' | 'product'> & { interval: Pick<Award['interval'], 'market' | 'startMs'> },
): string {
  return `${award.resourceId}|${award.interval.market}|${award.product}|${award.interval.startMs}`;
}

// ---------------------------------------------------------------------------------------- events

/** FNV-1a, 64 bits, hex: a stable short digest for ids (not a security hash). */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

function slug(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '.').slice(0, max);
}

const W_PER_MW = 1_000_000;

function signalsOf(product: MarketProduct, mw: number, watts: number, clearingPrice: number): Signal[] {
  switch (product) {
    case 'ENERGY':
      // fixedW follows the model's generator convention: discharge positive (an award's sign).
      // The clearing price rides along (not a control type) so settlement prices the interval.
      return [
        { kind: 'fixedW', value: watts, unit: 'W' },
        { kind: 'energyAward', value: Math.round(mw * 1e6) / 1e6 + 0, unit: 'MW' },
        { kind: 'price', value: clearingPrice, unit: 'USD/MWh' },
      ];
    case 'REG_UP':
      return [{ kind: 'regulationUp', value: watts, unit: 'W' }];
    case 'REG_DN':
      return [{ kind: 'regulationDown', value: watts, unit: 'W' }];
    default:
      return [{ kind: 'capacityAward', value: watts, unit: 'W' }];
  }
}

/** Integer watts per share that sum exactly to round(total) (largest remainder). */
function splitWatts(totalW: number, weights: readonly number[]): number[] {
  const target = Math.round(totalW);
  const sum = weights.reduce((s, w) => s + w, 0);
  const shares = weights.map((w) => (sum > 0 ? w / sum : 1 / weights.length));
  const exact = shares.map((s) => s * target);
  const out = exact.map((x) => Math.trunc(x));
  let rest = target - out.reduce((s, x) => s + x, 0);
  const order = exact
    .map((x, i) => ({ i, frac: Math.abs(x - Math.trunc(x)) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  const step = Math.sign(rest);
  for (let k = 0; rest !== 0 && k < order.length; k++, rest -= step) {
    const i = (order[k] as { i: number }).i;
    out[i] = (out[i] as number) + step;
  }
  return out.map((x) => x + 0);
}

export interface AwardsToEventsOptions {
  /** The program the events belong to (the gateway makes one per aggregation). */
  programId: string;
  /** Default agg.awardPrimacy ?? 150. */
  primacy?: number;
  /** Creation instant of new events. */
  now: number;
}

/**
 * The program events that carry an aggregation's awards to the control engine. Only awards for
 * agg.resourceId are used. Per (market, product), awards sorted by start form runs of back-to-back
 * intervals; one event per run:
 * - ENERGY: each interval carries `fixedW` (W, discharge positive), `energyAward` (MW) and `price`
 *   (the clearing price, USD/MWh; not a control type: settlement reads it);
 * - REG_UP / REG_DN / SPIN / NONSPIN: `regulationUp` / `regulationDown` / `capacityAward` (W), which
 *   the engine records and does not control;
 * - targets: { groupIds: [agg.groupId] } when the aggregation has a group (the engine shares a
 *   group's fixedW among its members); otherwise one event per member in force at the run's
 *   intervals, targeting that device with its share of the award by capacityKw (integer watts that
 *   sum exactly to the award; energyAward is the share in MW), and a run is split where the member
 *   set changes (a membership boundary inside an interval counts from the next interval);
 * - source 'market', primacy options.primacy ?? agg.awardPrimacy ?? 150, status 'scheduled',
 *   createdAt options.now; externalId `resource|market|product|runStart[|deviceId]` and an id derived
 *   from it, so importing the same awards again updates the same events.
 * Overlapping awards of one (market, product), or no member in force for an award without a group,
 * -> GW_ERR_VALIDATION.
 */
export function awardsToEvents(
  awards: readonly Award[],
  agg: Aggregation,
  options: AwardsToEventsOptions,
): ProgramEvent[] {
  const primacy = options.primacy ?? agg.awardPrimacy ?? DEFAULT_AWARD_PRIMACY;
  if (!Number.isInteger(primacy) || primacy < 0 || primacy > 255)
    throw new GridseamError('GW_ERR_VALIDATION', `award primacy must be an integer in [0, 255] (got ${primacy})`);
  if (!ID_PATTERN.test(options.programId))
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `program id ${JSON.stringify(options.programId)} is not an identifier`,
    );
  if (!isInstant(options.now)) throw new GridseamError('GW_ERR_VALIDATION', 'now must be epoch ms');

  const groups = new Map<string, Award[]>();
  for (const award of awards) {
    if (award.resourceId !== agg.resourceId) continue;
    const { startMs, endMs } = award.interval;
    if (!isInstant(startMs) || !isInstant(endMs) || endMs <= startMs || startMs % 1000 !== 0 || endMs % 1000 !== 0)
      throw new GridseamError(
        'GW_ERR_VALIDATION',
        `award ${awardKey(award)}: interval must be whole seconds, end after start`,
      );
    if (!Number.isFinite(award.mw))
      throw new GridseamError('GW_ERR_VALIDATION', `award ${awardKey(award)}: mw must be finite`);
    const key = `${award.interval.market}|${award.product}`;
    const list = groups.get(key) ?? [];
    list.push(award);
    groups.set(key, list);
  }

  const events: ProgramEvent[] = [];
  const membersKey = (members: readonly AggregationMember[]) => members.map((m) => m.deviceId).join(',');
  for (const list of groups.values()) {
    list.sort((a, b) => a.interval.startMs - b.interval.startMs);
    // Runs of back-to-back awards (and, without a group, the same members).
    const runs: Array<{ awards: Award[]; members: AggregationMember[] }> = [];
    for (let i = 0; i < list.length; i++) {
      const award = list[i] as Award;
      const previous = list[i - 1];
      if (previous !== undefined && award.interval.startMs < previous.interval.endMs)
        throw new GridseamError(
          'GW_ERR_VALIDATION',
          `awards ${awardKey(previous)} and ${awardKey(award)} overlap (${previous.interval.end} > ${award.interval.start})`,
        );
      const members =
        agg.groupId === undefined
          ? membersAt(agg, award.interval.startMs).sort((a, b) =>
              a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
            )
          : [];
      if (agg.groupId === undefined && members.length === 0)
        throw new GridseamError(
          'GW_ERR_VALIDATION',
          `award ${awardKey(award)}: aggregation ${agg.id} has no member in force at ${award.interval.start} and no group to target`,
        );
      const run = runs.at(-1);
      if (
        run !== undefined &&
        previous !== undefined &&
        previous.interval.endMs === award.interval.startMs &&
        membersKey(run.members) === membersKey(members)
      )
        run.awards.push(award);
      else runs.push({ awards: [award], members });
    }

    for (const run of runs) {
      const first = run.awards[0] as Award;
      const base = `${agg.resourceId}|${first.interval.market}|${first.product}|${first.interval.startMs}`;
      const targets: Array<{ deviceId?: string; weight: number }> =
        agg.groupId === undefined
          ? run.members.map((m) => ({ deviceId: m.deviceId, weight: m.capacityKw }))
          : [{ weight: 1 }];
      const wattsPerAward = run.awards.map((award) =>
        splitWatts(
          award.mw * W_PER_MW,
          targets.map((t) => t.weight),
        ),
      );
      targets.forEach((target, k) => {
        const externalId = target.deviceId === undefined ? base : `${base}|${target.deviceId}`;
        const id = `award.${slug(agg.resourceId, 32)}.${first.interval.market}.${first.product}.${first.interval.startMs.toString(36)}.${fnv1a64(externalId).slice(0, 12)}`;
        events.push({
          id,
          programId: options.programId,
          source: 'market',
          externalId: externalId.length <= 256 ? externalId : `${externalId.slice(0, 200)}#${fnv1a64(externalId)}`,
          primacy,
          intervals: run.awards.map((award, j) => {
            const watts = (wattsPerAward[j] as number[])[k] as number;
            return {
              start: award.interval.startMs,
              durationS: (award.interval.endMs - award.interval.startMs) / 1000,
              signals: signalsOf(award.product, watts / W_PER_MW, watts, award.clearingPrice),
            };
          }),
          targets:
            target.deviceId === undefined ? { groupIds: [agg.groupId as string] } : { deviceIds: [target.deviceId] },
          status: 'scheduled',
          statusHistory: [],
          createdAt: options.now,
        });
      });
    }
  }
  return events.sort(
    (a, b) => (a.intervals[0]?.start ?? 0) - (b.intervals[0]?.start ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
