/**
 * Price series and SoC traces from CSV files, for the dispatch CLI and tests. Parsing is pure
 * (`parsePriceCsv`, `parseSocCsv`); `readPriceCsv` / `readSocCsv` add a bounded file read.
 *
 * - CSV as in RFC 4180: a header row, comma-separated fields, "quoted" fields with "" escapes,
 *   CRLF or LF; blank lines are skipped; a UTF-8 BOM is ignored.
 * - Units come from the column header: `$/kWh` or `$/kW` (per hour) are multiplied by 1000 to give
 *   $/MWh and $/MW-h; `$/MWh`, `usd_per_mwh`, `usd_per_mw_h` are taken as they are; a header
 *   without a unit is read as $/MWh (energy) or $/MW-h (capacity). Every choice is listed in `notes`.
 * - Times: `m/d/yyyy h:mm[:ss]`, ISO 8601 `yyyy-mm-dd[Thh:mm[:ss[.fff]]][Z|+hh:mm]`, or an
 *   hour-ending number 1..24 beside a date column (`operating_day`). A time without an offset is
 *   read as UTC wall clock: local daylight-saving shifts are not applied (issue 10 handles time
 *   zones). Columns named as interval ends (`(he)`, `hour_ending`, `..._end`) give the interval's
 *   end; the start is then end - interval.
 * - Bad input is a GW_ERR_VALIDATION naming the row, the line and the column.
 */
import { open, stat } from 'node:fs/promises';
import { GridseamError } from '@gridseam/model';

/** Files larger than this are refused before they are read. */
export const MAX_CSV_BYTES = 50 * 1024 * 1024;
const MAX_ROWS = 2_000_000;
const MAX_COLUMNS = 1000;
const MINUTE_MS = 60_000;

export interface PriceCsvOptions {
  /** The energy price column; default the first column whose name says price or LMP (not regulation). */
  priceColumn?: string;
  /** The time column; default the first column whose name says time, date-time, interval start or end. */
  timeColumn?: string;
  /** Interval length; default the most common step between consecutive times. */
  intervalMinutes?: number;
  /** Regulation up / down capacity price columns ($/MW-h after conversion); absent: none read. */
  regUpColumn?: string;
  regDownColumn?: string;
  /** A name for the input in messages (a file path). */
  source?: string;
}

/** A run of rows [from, to) whose starts are exactly one interval apart. */
export interface PriceBlock {
  from: number;
  to: number;
}

export interface PriceSeries {
  /** Interval starts, epoch ms (UTC wall clock unless the file gives an offset). */
  starts: number[];
  intervalMinutes: number;
  energyPriceUsdPerMwh: number[];
  regUpUsdPerMwH?: number[];
  regDownUsdPerMwH?: number[];
  /** Equally spaced runs of rows; a gap in time (or a DST jump read as UTC) starts a new block. */
  blocks: PriceBlock[];
  /** The columns read. */
  columns: { time: string; price: string; regUp?: string; regDown?: string };
  /** What was read and converted, in words (units, time convention, gaps). */
  notes: string[];
}

export interface CsvTable {
  header: string[];
  /** The 1-based line of the header row. */
  headerLine: number;
  /** Data rows; `line` is the 1-based line in the text where the row starts. */
  rows: Array<{ line: number; fields: string[] }>;
}

function invalid(message: string, path = ''): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path, message }] });
}

/** A JSON Pointer (RFC 6901) to a cell: /rows/<index>/<column name>. */
function pointer(index: number, column: string): string {
  return `/rows/${index}/${column.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** A short, escaped rendering of a cell for messages. */
function show(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

/** Reads one field at `position`; returns its text and the position of the character after it. */
function readField(input: string, position: number, line: { value: number }, source: string): [string, number] {
  if (input[position] !== '"') {
    let end = position;
    while (end < input.length) {
      const code = input.charCodeAt(end);
      if (code === 44 || code === 10 || code === 13) break; // , \n \r
      end++;
    }
    const text = input.slice(position, end);
    if (text.includes('"')) throw invalid(`${source}: line ${line.value}: a quote inside an unquoted field`);
    return [text, end];
  }
  const opened = line.value;
  const parts: string[] = [];
  let from = position + 1;
  for (;;) {
    const quote = input.indexOf('"', from);
    if (quote < 0) throw invalid(`${source}: line ${opened}: a quoted field is not closed`);
    const piece = input.slice(from, quote);
    for (let i = piece.indexOf('\n'); i >= 0; i = piece.indexOf('\n', i + 1)) line.value++;
    parts.push(piece);
    if (input[quote + 1] === '"') {
      parts.push('"');
      from = quote + 2;
      continue;
    }
    const next = input[quote + 1];
    if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r')
      throw invalid(`${source}: line ${line.value}: text after a closing quote (${show(next)})`);
    return [parts.join(''), quote + 1];
  }
}

/** RFC 4180 CSV: the first non-blank record is the header; blank lines are skipped. */
export function parseCsv(text: string, source = 'CSV'): CsvTable {
  const records: Array<{ line: number; fields: string[] }> = [];
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const line = { value: 1 };
  let position = 0;
  while (position < input.length) {
    const recordLine = line.value;
    const fields: string[] = [];
    for (;;) {
      const [field, end] = readField(input, position, line, source);
      fields.push(field);
      if (fields.length > MAX_COLUMNS) throw invalid(`${source}: line ${recordLine}: more than ${MAX_COLUMNS} columns`);
      position = end;
      if (input[position] === ',') {
        position++;
        continue;
      }
      // End of the record: \r\n, \n, \r or the end of the text.
      if (input[position] === '\r') position++;
      if (input[position] === '\n') position++;
      line.value++;
      break;
    }
    const blank = fields.length === 1 && (fields[0] as string).trim() === '';
    if (!blank) {
      records.push({ line: recordLine, fields });
      if (records.length > MAX_ROWS + 1) throw invalid(`${source}: more than ${MAX_ROWS} rows`);
    }
  }
  const [headerRecord, ...rows] = records;
  if (!headerRecord) throw invalid(`${source}: the file is empty (a header row is needed)`);
  const header = headerRecord.fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of header) {
    if (name !== '' && seen.has(name)) throw invalid(`${source}: the header names column ${show(name)} twice`);
    seen.add(name);
  }
  for (const row of rows)
    if (row.fields.length !== header.length)
      throw invalid(
        `${source}: line ${row.line}: ${row.fields.length} field(s), but the header has ${header.length} column(s)`,
      );
  return { header, headerLine: headerRecord.line, rows };
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A plain decimal number (no NaN, Infinity, hex or empty text); undefined when it is not one. */
export function parseFiniteNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (!NUMBER.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function wallClock(parts: {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}): number | undefined {
  const { year, month, day, hour, minute, second, ms } = parts;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (minute > 59 || second > 59 || hour > 24 || (hour === 24 && (minute > 0 || second > 0 || ms > 0)))
    return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

const US_DATE_TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * `m/d/yyyy[ h:mm[:ss]]` or ISO 8601 to epoch ms. Without an offset the time is UTC wall clock;
 * `24:00` is midnight at the end of the day. Undefined when the text is not a valid time.
 */
export function parseTimestamp(text: string): number | undefined {
  const trimmed = text.trim();
  const us = US_DATE_TIME.exec(trimmed);
  if (us) {
    const [, month, day, year, hour, minute, second] = us;
    return wallClock({
      year: Number(year),
      month: Number(month),
      day: Number(day),
      hour: Number(hour ?? 0),
      minute: Number(minute ?? 0),
      second: Number(second ?? 0),
      ms: 0,
    });
  }
  const iso = ISO_DATE_TIME.exec(trimmed);
  if (!iso) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = iso;
  const local = wallClock({
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour ?? 0),
    minute: Number(minute ?? 0),
    second: Number(second ?? 0),
    ms: Math.round(Number(`0.${fraction ?? '0'}`) * 1000),
  });
  if (local === undefined || zone === undefined || zone.toUpperCase() === 'Z') return local;
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!offset) return undefined;
  const [, sign, offsetHours, offsetMinutes] = offset;
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
  const offsetMs = (Number(offsetHours) * 60 + Number(offsetMinutes)) * MINUTE_MS;
  return sign === '-' ? local + offsetMs : local - offsetMs;
}

/** The column named `wanted` (exactly, else ignoring case), or a validation error listing the columns. */
function findColumn(header: readonly string[], wanted: string, option: string, source: string): number {
  const exact = header.indexOf(wanted);
  if (exact >= 0) return exact;
  const folded = header.findIndex((name) => name.toLowerCase() === wanted.trim().toLowerCase());
  if (folded >= 0) return folded;
  throw invalid(
    `${source}: ${option} ${show(wanted)} is not a column; the columns are ${header.map((h) => show(h)).join(', ')}`,
  );
}

const CAPACITY_WORDS = /reg|spin|reserve|capacity|mileage|\bup\b|\bdo?wn\b/i;
const ENERGY_PRICE_NAME = /price|lmp|usd_per_mwh|\$\/mwh/i;
const TIME_NAMES = [
  /date.?time|timestamp|interval.?start|interval.?begin|start.?time|^time$|^start$/i,
  /hour.?ending|\(he\)|^he$|interval.?end|end.?time/i,
];
const DATE_NAME = /^date$|operating.?day|trade.?date|^day$|delivery.?date/i;
const ENDING_NAME = /\(he\)|hour.?ending|^he$|_end|end_|\bend\b|ending/i;

/** Multiplier from the header's unit to $/MWh (energy) or $/MW-h (capacity), and what it says. */
export function unitFactor(columnName: string, kind: 'energy' | 'capacity'): { factor: number; unit: string } {
  const name = columnName.toLowerCase();
  const target = kind === 'energy' ? '$/MWh' : '$/MW-h';
  if (/¢|cent|€|eur\b|gbp|£/.test(name))
    throw invalid(`column ${show(columnName)}: only US dollar prices are supported (per kWh, kW, MWh or MW)`);
  const per = /(?:\$|usd)\s*(?:\/|_?per_?|\s+per\s+)\s*(k|m)w/.exec(name);
  if (!per) return { factor: 1, unit: `no unit in the header, read as ${target}` };
  if (per[1] === 'k') return { factor: 1000, unit: `${kind === 'energy' ? '$/kWh' : '$/kW-h'} -> ${target} (x1000)` };
  return { factor: 1, unit: target };
}

function numericColumn(table: CsvTable, column: number, factor: number, source: string): number[] {
  const name = table.header[column] as string;
  return table.rows.map((row, index) => {
    const raw = row.fields[column] as string;
    const value = parseFiniteNumber(raw);
    if (value === undefined)
      throw invalid(
        `${source}: row ${index + 1} (line ${row.line}), column ${show(name)}: ${show(raw)} is not a finite number`,
        pointer(index, name),
      );
    // toPrecision(15) drops the binary noise of the unit conversion (0.01227058 x 1000 = 12.27058).
    return factor === 1 ? value : Number((value * factor).toPrecision(15));
  });
}

interface TimeReading {
  /** Epoch ms per row: interval starts, or ends when `ending`. */
  times: number[];
  ending: boolean;
  /** Fixed by the column's meaning (hour-ending numbers are hourly). */
  impliedIntervalMinutes?: number;
  label: string;
}

function readHourEndingNumbers(table: CsvTable, hourColumn: number, source: string): TimeReading {
  const dateColumn = table.header.findIndex((name) => DATE_NAME.test(name));
  const hourName = table.header[hourColumn] as string;
  if (dateColumn < 0)
    throw invalid(
      `${source}: column ${show(hourName)} holds hour numbers but no date column (operating_day) was found`,
    );
  const dateName = table.header[dateColumn] as string;
  const times = table.rows.map((row, index) => {
    const hourRaw = row.fields[hourColumn] as string;
    const dateRaw = row.fields[dateColumn] as string;
    const hour = parseFiniteNumber(hourRaw);
    const day = parseTimestamp(dateRaw);
    const where = `${source}: row ${index + 1} (line ${row.line})`;
    if (hour === undefined || !Number.isInteger(hour) || hour < 1 || hour > 24)
      throw invalid(
        `${where}, column ${show(hourName)}: ${show(hourRaw)} is not an hour ending 1..24` +
          (hour === 25 ? ' (hour 25 of a daylight-saving day is not supported: times are read as UTC wall clock)' : ''),
      );
    if (day === undefined) throw invalid(`${where}, column ${show(dateName)}: ${show(dateRaw)} is not a date`);
    return day + hour * 60 * MINUTE_MS;
  });
  return { times, ending: true, impliedIntervalMinutes: 60, label: `${dateName} + ${hourName} (hour ending)` };
}

function readTimes(table: CsvTable, options: PriceCsvOptions, source: string): TimeReading | undefined {
  let column: number;
  if (options.timeColumn !== undefined) column = findColumn(table.header, options.timeColumn, '--time-column', source);
  else {
    column = -1;
    for (const pattern of TIME_NAMES) {
      column = table.header.findIndex((name) => pattern.test(name));
      if (column >= 0) break;
    }
    if (column < 0) column = table.header.findIndex((name) => DATE_NAME.test(name));
    if (column < 0) return undefined;
  }
  const name = table.header[column] as string;
  const first = table.rows[0]?.fields[column] ?? '';
  if (/^\s*\d{1,2}\s*$/.test(first)) return readHourEndingNumbers(table, column, source);
  const times = table.rows.map((row, index) => {
    const raw = row.fields[column] as string;
    const time = parseTimestamp(raw);
    if (time === undefined)
      throw invalid(
        `${source}: row ${index + 1} (line ${row.line}), column ${show(name)}: ${show(raw)} is not a time ` +
          '(expected m/d/yyyy h:mm or ISO 8601 yyyy-mm-ddThh:mm)',
        pointer(index, name),
      );
    return time;
  });
  return { times, ending: ENDING_NAME.test(name), label: name };
}

/** The most common positive step between consecutive times (the smallest on a tie), in minutes. */
function inferIntervalMinutes(times: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (let i = 1; i < times.length; i++) {
    const step = (times[i] as number) - (times[i - 1] as number);
    if (step > 0) counts.set(step, (counts.get(step) ?? 0) + 1);
  }
  let best: number | undefined;
  for (const [step, count] of counts)
    if (best === undefined || count > (counts.get(best) ?? 0) || (count === counts.get(best) && step < best))
      best = step;
  return best === undefined ? undefined : best / MINUTE_MS;
}

function assertIntervalMinutes(minutes: number, what: string): void {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440)
    throw invalid(`${what}: the interval must be a whole number of minutes from 1 to 1440 (got ${minutes})`);
}

/** Splits rows into runs one interval apart; a step smaller than the interval (or <= 0) is an error. */
function splitBlocks(starts: readonly number[], intervalMs: number, table: CsvTable, source: string): PriceBlock[] {
  const blocks: PriceBlock[] = [];
  let from = 0;
  for (let i = 1; i < starts.length; i++) {
    const step = (starts[i] as number) - (starts[i - 1] as number);
    if (step === intervalMs) continue;
    if (step < intervalMs) {
      const line = table.rows[i]?.line;
      throw invalid(
        `${source}: row ${i + 1} (line ${line}): its time is ${step / MINUTE_MS} min after the previous row's; ` +
          `rows must be in time order, ${intervalMs / MINUTE_MS} min apart (a repeated hour from a daylight-saving ` +
          'change is not supported: times are read as UTC wall clock)',
      );
    }
    blocks.push({ from, to: i });
    from = i;
  }
  if (starts.length > 0) blocks.push({ from, to: starts.length });
  return blocks;
}

function defaultPriceColumn(header: readonly string[], source: string): number {
  const column = header.findIndex((name) => ENERGY_PRICE_NAME.test(name) && !CAPACITY_WORDS.test(name));
  if (column < 0)
    throw invalid(
      `${source}: no energy price column recognised among ${header.map((h) => show(h)).join(', ')}; pass --price-column NAME`,
    );
  return column;
}

/** A plausibility check on the unit the header claims, as a note (the data README warns of a mislabelled file). */
function unitWarning(prices: readonly number[], factor: number, column: string): string | undefined {
  const sorted = prices.map(Math.abs).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  if (factor === 1000 && median > 2000)
    return `warning: after x1000 the median |price| in ${show(column)} is ${median.toFixed(0)} $/MWh; if the values are already $/MWh the header's unit is wrong`;
  if (factor === 1 && median > 0 && median < 0.5)
    return `warning: the median |price| in ${show(column)} is ${median} $/MWh; if the values are $/kWh, say so in the header ("($/kWh)")`;
  return undefined;
}

/** A price CSV as interval starts and prices in $/MWh (energy) and $/MW-h (regulation). */
export function parsePriceCsv(text: string, options: PriceCsvOptions = {}): PriceSeries {
  const source = options.source ?? 'price CSV';
  const table = parseCsv(text, source);
  if (table.rows.length === 0) throw invalid(`${source}: the file has a header but no data rows`);
  const priceColumn =
    options.priceColumn !== undefined
      ? findColumn(table.header, options.priceColumn, '--price-column', source)
      : defaultPriceColumn(table.header, source);
  const priceName = table.header[priceColumn] as string;
  const energyUnit = unitFactor(priceName, 'energy');
  const energyPriceUsdPerMwh = numericColumn(table, priceColumn, energyUnit.factor, source);
  const notes = [`energy price: column ${show(priceName)}, ${energyUnit.unit}`];
  const warning = unitWarning(energyPriceUsdPerMwh, energyUnit.factor, priceName);
  if (warning) notes.push(warning);

  const capacity = (option: string, wanted: string | undefined, label: string) => {
    if (wanted === undefined) return undefined;
    const column = findColumn(table.header, wanted, option, source);
    const name = table.header[column] as string;
    const unit = unitFactor(name, 'capacity');
    notes.push(`${label} price: column ${show(name)}, ${unit.unit}`);
    return { name, values: numericColumn(table, column, unit.factor, source) };
  };
  const regUp = capacity('--reg-up-column', options.regUpColumn, 'regulation up');
  const regDown = capacity('--reg-down-column', options.regDownColumn, 'regulation down');

  const { starts, intervalMinutes, timeLabel } = intervalStarts(table, options, source, notes);
  const blocks = splitBlocks(starts, intervalMinutes * MINUTE_MS, table, source);
  if (blocks.length > 1)
    notes.push(
      `${blocks.length} runs of consecutive intervals (gaps in time between them): ` +
        blocks.map((b) => `${new Date(starts[b.from] as number).toISOString()} x${b.to - b.from}`).join(', '),
    );
  return {
    starts,
    intervalMinutes,
    energyPriceUsdPerMwh,
    ...(regUp ? { regUpUsdPerMwH: regUp.values } : {}),
    ...(regDown ? { regDownUsdPerMwH: regDown.values } : {}),
    blocks,
    columns: {
      time: timeLabel,
      price: priceName,
      ...(regUp ? { regUp: regUp.name } : {}),
      ...(regDown ? { regDown: regDown.name } : {}),
    },
    notes,
  };
}

function intervalStarts(
  table: CsvTable,
  options: PriceCsvOptions,
  source: string,
  notes: string[],
): { starts: number[]; intervalMinutes: number; timeLabel: string } {
  if (options.intervalMinutes !== undefined) assertIntervalMinutes(options.intervalMinutes, source);
  const reading = readTimes(table, options, source);
  if (!reading) {
    if (options.intervalMinutes === undefined)
      throw invalid(
        `${source}: no time column recognised among ${table.header.map((h) => show(h)).join(', ')}; ` +
          'pass --time-column NAME (or --interval-minutes M to number the rows from 1970-01-01T00:00Z)',
      );
    const intervalMs = options.intervalMinutes * MINUTE_MS;
    notes.push(`no time column: rows are consecutive ${options.intervalMinutes}-min intervals from 1970-01-01T00:00Z`);
    return {
      starts: table.rows.map((_, i) => i * intervalMs),
      intervalMinutes: options.intervalMinutes,
      timeLabel: '',
    };
  }
  const inferred = reading.impliedIntervalMinutes ?? inferIntervalMinutes(reading.times);
  const intervalMinutes = options.intervalMinutes ?? inferred;
  if (intervalMinutes === undefined)
    throw invalid(`${source}: one row only, so the interval cannot be inferred; pass --interval-minutes M`);
  assertIntervalMinutes(intervalMinutes, source);
  if (reading.impliedIntervalMinutes !== undefined && intervalMinutes !== reading.impliedIntervalMinutes)
    throw invalid(`${source}: ${reading.label} gives hourly intervals, but --interval-minutes is ${intervalMinutes}`);
  const shift = reading.ending ? intervalMinutes * MINUTE_MS : 0;
  notes.push(
    `time: ${reading.label}, read as interval ${reading.ending ? 'ends' : 'starts'}; ${intervalMinutes}-min intervals` +
      `${options.intervalMinutes !== undefined ? '' : reading.impliedIntervalMinutes ? ' (hour ending)' : ' (inferred)'}; times without an offset are UTC wall clock ` +
      '(no daylight-saving adjustment)',
  );
  return { starts: reading.times.map((t) => t - shift), intervalMinutes, timeLabel: reading.label };
}

/** A SoC trace: the `soc` column (or the only column); a header with %, pct or percent means percent. */
export function parseSocCsv(
  text: string,
  options: { source?: string; column?: string } = {},
): {
  soc: number[];
  column: string;
} {
  const source = options.source ?? 'SoC CSV';
  let table = parseCsv(text, source);
  // A file of bare numbers has no header: its first line is data.
  if (table.header.every((cell) => parseFiniteNumber(cell) !== undefined))
    table = {
      header: table.header.map((_, i) => `column ${i + 1}`),
      headerLine: table.headerLine,
      rows: [{ line: table.headerLine, fields: table.header }, ...table.rows],
    };
  if (table.rows.length === 0) throw invalid(`${source}: no SoC values`);
  let column: number;
  if (options.column !== undefined) column = findColumn(table.header, options.column, '--soc-column', source);
  else if (table.header.length === 1) column = 0;
  else {
    column = table.header.findIndex((name) => /^soc\b|state.?of.?charge|\bsoc\b/i.test(name));
    if (column < 0)
      throw invalid(
        `${source}: no SoC column among ${table.header.map((h) => show(h)).join(', ')} (name one "soc", or give a single column)`,
      );
  }
  const name = table.header[column] as string;
  const percent = /%|percent|pct/i.test(name);
  const soc = numericColumn(table, column, percent ? 0.01 : 1, source);
  soc.forEach((value, index) => {
    if (value < -1e-9 || value > 1 + 1e-9) {
      const line = table.rows[index]?.line;
      throw invalid(
        `${source}: row ${index + 1} (line ${line}), column ${show(name)}: ${value} is not a SoC fraction 0..1` +
          (percent ? '' : ' (a column whose name has %, pct or percent is read as percent)'),
      );
    }
  });
  return { soc, column: name };
}

/** The file's text: a regular file of at most `limit` bytes, valid UTF-8, no NUL bytes. */
export async function readBoundedTextFile(path: string, limit = MAX_CSV_BYTES): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw invalid(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!info.isFile()) throw invalid(`${path} is not a regular file`);
  if (info.size > limit) throw invalid(`${path} is ${info.size} bytes; the limit is ${limit} bytes`);
  const handle = await open(path, 'r');
  try {
    // Read at most limit + 1 bytes: a file that grew after stat still cannot exceed the limit.
    const buffer = Buffer.alloc(Math.min(info.size, limit) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) throw invalid(`${path} is larger than the limit of ${limit} bytes`);
    const bytes = buffer.subarray(0, length);
    if (bytes.includes(0)) throw invalid(`${path} is not a text file (it holds NUL bytes)`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw invalid(`${path} is not UTF-8 text`);
    }
  } finally {
    await handle.close();
  }
}

/** `parsePriceCsv` on a file (at most MAX_CSV_BYTES). */
export async function readPriceCsv(path: string, options: Omit<PriceCsvOptions, 'source'> = {}): Promise<PriceSeries> {
  return parsePriceCsv(await readBoundedTextFile(path), { ...options, source: path });
}

/** `parseSocCsv` on a file (at most MAX_CSV_BYTES). */
export async function readSocCsv(path: string, options: { column?: string } = {}) {
  return parseSocCsv(await readBoundedTextFile(path), { ...options, source: path });
}
