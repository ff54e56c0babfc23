/**
 * `gridseam settle baseline` and `gridseam settle event` (issue 10's stable CLI; docs/settlement.md
 * "CLI"). The pure work is @gridseam/settlement's: loadDaysFromHourly, dayMatchingBaseline (CAISO
 * 10-in-10 / 5-in-10, PJM High 4 of 5: bess_market.md §3.2, §3.3) and settleEvent (§3.6). This
 * file reads the files (bounded, row-checked), calls them and prints the results.
 *
 *   gridseam settle baseline --method caiso-10in10|caiso-5in10|pjm-high4of5 --load FILE.csv
 *     --event-day YYYY-MM-DD --event-hours 15,16,17 [--holidays D,D] [--exclude-days D,D] [--json]
 *   gridseam settle event --baseline-json FILE --obligation-kw K [--penalty-usd-per-kwh R]
 *     [--prices FILE] [--json]
 *
 * The JSON shapes are a stable interface (numbers rounded to 6 decimals):
 *   baseline: {"days":[...],"adjustment":{"kind","raw","applied"},"intervals":[{"hour","baseline","actual","reduction"}]}
 *   event:    {"deliveredKwh","obligationKwh","performanceRatio","shortfallKwh","penaltyUsd","energyPaymentUsd",
 *              "intervals":[{"hour","reductionKwh","obligationKwh","deliveredKwh","shortfallKwh","priceUsdPerMwh"?,"energyPaymentUsd"}]}
 */
import type { CsvTable } from '@gridseam/dispatch';
import { GridseamError } from '@gridseam/model';
import type {
  BaselineResult,
  DayMatchingMethod,
  EventIntervalInput,
  EventSettlement,
  LoadDay,
} from '@gridseam/settlement';
import { isLocalDate } from '@gridseam/settlement';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from './main.ts';
import { formatTable, numberIn, round6, write } from './output.ts';

export const DAY_MATCHING_METHODS: readonly DayMatchingMethod[] = ['caiso-10in10', 'caiso-5in10', 'pjm-high4of5'];
/** A load file: years of hourly rows fit many times over. */
export const MAX_LOAD_CSV_BYTES = 8 * 1024 * 1024;
/** A baseline JSON or a price file: one event's intervals. */
export const MAX_EVENT_FILE_BYTES = 1024 * 1024;
/** At most this many intervals in a baseline JSON (a day of 5-minute intervals is 300). */
const MAX_INTERVALS = 10_000;
/** Loads and prices beyond these magnitudes are typing errors, not data. */
const MAX_ABS_KWH = 1e9;
const MAX_ABS_PRICE = 1e6;

// ---------------------------------------------------------------------------------------- parsing

function invalid(message: string, path = ''): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path, message }] });
}

/** A short, escaped rendering of a value for messages. */
function show(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HOUR = /^\d{1,2}$/;

/** A plain decimal (no NaN, Infinity, hex or empty text) within +-limit; undefined otherwise. */
function decimal(text: string, limit: number): number | undefined {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) && Math.abs(value) <= limit ? value : undefined;
}

/** An hour-beginning label 0-23; undefined otherwise. */
function hourOf(text: string): number | undefined {
  const trimmed = text.trim();
  if (!HOUR.test(trimmed)) return undefined;
  const hour = Number(trimmed);
  return hour <= 23 ? hour : undefined;
}

/** `--event-hours 15,16,17`: distinct hour-beginning labels 0-23. */
export function parseEventHours(value: string): number[] {
  const hours = value.split(',').map((part) => hourOf(part));
  if (value.trim() === '' || hours.some((hour) => hour === undefined))
    throw new InvalidArgumentError(
      '--event-hours must be hour-beginning labels 0-23 separated by commas, e.g. 15,16,17',
    );
  const list = hours as number[];
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('--event-hours names an hour twice');
  return list;
}

/** `--holidays` / `--exclude-days`: calendar dates separated by commas. */
export function dateList(name: string) {
  return (value: string): string[] => {
    const dates = value.split(',').map((part) => part.trim());
    const bad = dates.find((date) => !isLocalDate(date));
    if (bad !== undefined)
      throw new InvalidArgumentError(
        `${name} must be calendar dates YYYY-MM-DD separated by commas (got ${show(bad)})`,
      );
    return dates;
  };
}

function calendarDate(name: string) {
  return (value: string): string => {
    if (!isLocalDate(value)) throw new InvalidArgumentError(`${name} must be a calendar date YYYY-MM-DD`);
    return value;
  };
}

function method(value: string): DayMatchingMethod {
  const found = DAY_MATCHING_METHODS.find((name) => name === value);
  if (found === undefined) throw new InvalidArgumentError(`--method must be one of ${DAY_MATCHING_METHODS.join(', ')}`);
  return found;
}

/** The 0-based index of each named column (names compared trimmed and case-insensitively). */
function columnsOf(table: CsvTable, source: string, required: readonly string[], what: string): Map<string, number> {
  const found = new Map<string, number>();
  table.header.forEach((name, index) => {
    const key = name.trim().toLowerCase();
    if (!found.has(key)) found.set(key, index);
  });
  const missing = required.filter((name) => !found.has(name));
  if (missing.length > 0)
    throw invalid(
      `${source}: the header must name the columns ${what} (missing ${missing.join(', ')}; got ${table.header.map((h) => show(h)).join(',')})`,
      '/header',
    );
  return found;
}

function cellError(source: string, index: number, line: number, column: string, value: string, problem: string) {
  return invalid(
    `${source}: row ${index + 1} (line ${line}), column ${show(column)}: ${show(value)} ${problem}`,
    `/rows/${index}/${column}`,
  );
}

export interface HourlyLoadRow {
  date: string;
  hour: number;
  kwh: number;
}

/**
 * The load file's rows: columns `date,hour,kwh` (any order, other columns ignored), hour-beginning
 * 0-23, kWh a finite decimal. A date-hour may appear twice (the repeated hour of a 25-hour day,
 * the later row second), never three times. Every refusal names the row and its line.
 */
export function parseLoadCsv(table: CsvTable, source: string): HourlyLoadRow[] {
  const columns = columnsOf(table, source, ['date', 'hour', 'kwh'], 'date,hour,kwh');
  const [dateAt, hourAt, kwhAt] = ['date', 'hour', 'kwh'].map((name) => columns.get(name) as number) as [
    number,
    number,
    number,
  ];
  if (table.rows.length === 0) throw invalid(`${source}: no load rows after the header`);
  const seen = new Map<string, number>();
  return table.rows.map((row, index) => {
    const date = (row.fields[dateAt] as string).trim();
    const hourText = row.fields[hourAt] as string;
    const kwhText = row.fields[kwhAt] as string;
    if (!isLocalDate(date))
      throw cellError(source, index, row.line, 'date', date, 'is not a calendar date (YYYY-MM-DD)');
    const hour = hourOf(hourText);
    if (hour === undefined)
      throw cellError(source, index, row.line, 'hour', hourText, 'is not an hour-beginning label 0-23');
    const kwh = decimal(kwhText, MAX_ABS_KWH);
    if (kwh === undefined)
      throw cellError(source, index, row.line, 'kwh', kwhText, `is not a finite number within +-${MAX_ABS_KWH}`);
    const key = `${date} ${hour}`;
    const count = (seen.get(key) ?? 0) + 1;
    if (count > 2)
      throw invalid(
        `${source}: row ${index + 1} (line ${row.line}): ${date} hour ${hour} appears a third time (a 25-hour day repeats one hour once)`,
        `/rows/${index}`,
      );
    seen.set(key, count);
    return { date, hour, kwh };
  });
}

/** One interval of the baseline JSON (the `settle baseline --json` shape). */
export interface BaselineJsonInterval {
  hour: number;
  baseline: number;
  actual: number;
  reduction: number;
}

export interface BaselineJson {
  days: string[];
  adjustment: { kind: 'ratio' | 'additive' | 'none'; raw: number; applied: number };
  intervals: BaselineJsonInterval[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finiteAt(record: Record<string, unknown>, key: string, path: string, source: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_ABS_KWH)
    throw invalid(`${source}: ${path}/${key} must be a finite number (got ${show(value)})`, `${path}/${key}`);
  return value;
}

/**
 * The baseline JSON that `settle baseline --json` prints, validated: `intervals` (required, 1 to
 * 10,000 of {hour 0-23, baseline, actual, reduction} finite numbers), `days` (calendar dates) and
 * `adjustment` ({kind ratio|additive|none, raw, applied}) checked when present; other keys ignored.
 */
export function parseBaselineJson(text: string, source: string): BaselineJson {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalid(`${source}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isRecord(document)) throw invalid(`${source}: must be a JSON object with "intervals"`, '');
  const { intervals, days, adjustment } = document;
  if (!Array.isArray(intervals) || intervals.length === 0)
    throw invalid(`${source}: /intervals must be a non-empty array`, '/intervals');
  if (intervals.length > MAX_INTERVALS)
    throw invalid(`${source}: /intervals holds ${intervals.length} intervals; the limit is ${MAX_INTERVALS}`);
  const parsed = intervals.map((item: unknown, index): BaselineJsonInterval => {
    const path = `/intervals/${index}`;
    if (!isRecord(item)) throw invalid(`${source}: ${path} must be an object`, path);
    const hour = item.hour;
    if (typeof hour !== 'number' || !Number.isInteger(hour) || hour < 0 || hour > 23)
      throw invalid(`${source}: ${path}/hour must be an integer 0-23 (got ${show(hour)})`, `${path}/hour`);
    return {
      hour,
      baseline: finiteAt(item, 'baseline', path, source),
      actual: finiteAt(item, 'actual', path, source),
      reduction: finiteAt(item, 'reduction', path, source),
    };
  });
  let dayList: string[] = [];
  if (days !== undefined) {
    if (!Array.isArray(days) || days.some((day) => typeof day !== 'string' || !isLocalDate(day)))
      throw invalid(`${source}: /days must be an array of calendar dates YYYY-MM-DD`, '/days');
    dayList = days as string[];
  }
  let adjusted: BaselineJson['adjustment'] = { kind: 'none', raw: 1, applied: 1 };
  if (adjustment !== undefined) {
    if (!isRecord(adjustment)) throw invalid(`${source}: /adjustment must be an object`, '/adjustment');
    const kind = adjustment.kind;
    if (kind !== 'ratio' && kind !== 'additive' && kind !== 'none')
      throw invalid(
        `${source}: /adjustment/kind must be "ratio", "additive" or "none" (got ${show(kind)})`,
        '/adjustment/kind',
      );
    adjusted = {
      kind,
      raw: finiteAt(adjustment, 'raw', '/adjustment', source),
      applied: finiteAt(adjustment, 'applied', '/adjustment', source),
    };
  }
  return { days: dayList, adjustment: adjusted, intervals: parsed };
}

/** Prices by hour-beginning label: one value, or two for the repeated hour of a 25-hour day (in order). */
export type HourlyPrices = Map<number, number[]>;

const PRICE_COLUMNS = ['price', 'lmp', 'usd_per_mwh'];

/**
 * A price file: columns `hour,price` ($/MWh), or `date,hour,price` for one date only (the event
 * day); the price column may be named price, lmp or usd_per_mwh. An hour at most twice.
 */
export function parsePricesCsv(table: CsvTable, source: string): HourlyPrices {
  const columns = columnsOf(table, source, ['hour'], 'hour,price (or date,hour,price)');
  const hourAt = columns.get('hour') as number;
  const priceName = PRICE_COLUMNS.find((name) => columns.has(name));
  if (priceName === undefined)
    throw invalid(
      `${source}: no price column (name one price, lmp or usd_per_mwh; got ${table.header.map((h) => show(h)).join(',')})`,
      '/header',
    );
  const priceAt = columns.get(priceName) as number;
  const dateAt = columns.get('date');
  if (table.rows.length === 0) throw invalid(`${source}: no price rows after the header`);
  const prices: HourlyPrices = new Map();
  let firstDate: string | undefined;
  table.rows.forEach((row, index) => {
    if (dateAt !== undefined) {
      const date = (row.fields[dateAt] as string).trim();
      if (!isLocalDate(date))
        throw cellError(source, index, row.line, 'date', date, 'is not a calendar date (YYYY-MM-DD)');
      firstDate ??= date;
      if (date !== firstDate)
        throw invalid(
          `${source}: row ${index + 1} (line ${row.line}): a second date ${date} after ${firstDate}; keep only the event day's rows`,
          `/rows/${index}/date`,
        );
    }
    const hourText = row.fields[hourAt] as string;
    const hour = hourOf(hourText);
    if (hour === undefined)
      throw cellError(source, index, row.line, 'hour', hourText, 'is not an hour-beginning label 0-23');
    const priceText = row.fields[priceAt] as string;
    const price = decimal(priceText, MAX_ABS_PRICE);
    if (price === undefined)
      throw cellError(
        source,
        index,
        row.line,
        priceName,
        priceText,
        `is not a finite number within +-${MAX_ABS_PRICE}`,
      );
    const list = prices.get(hour) ?? [];
    if (list.length === 2)
      throw invalid(
        `${source}: row ${index + 1} (line ${row.line}): hour ${hour} appears a third time`,
        `/rows/${index}/hour`,
      );
    list.push(price);
    prices.set(hour, list);
  });
  return prices;
}

/**
 * The event's intervals from a baseline JSON: hourly (durationH 1), obligation K kW each, the
 * measured reduction as the response; the price of the interval's hour when the file has one (the
 * second interval of a repeated hour takes the hour's second price, else its only one).
 */
export function eventIntervals(
  baseline: BaselineJson,
  obligationKw: number,
  prices?: HourlyPrices,
): EventIntervalInput[] {
  const seen = new Map<number, number>();
  return baseline.intervals.map((interval) => {
    const occurrence = seen.get(interval.hour) ?? 0;
    seen.set(interval.hour, occurrence + 1);
    const hourPrices = prices?.get(interval.hour);
    const price = hourPrices?.[Math.min(occurrence, hourPrices.length - 1)];
    return {
      hour: interval.hour,
      durationH: 1,
      reductionKwh: interval.reduction,
      obligationKw,
      ...(price === undefined ? {} : { priceUsdPerMwh: price }),
    };
  });
}

// ---------------------------------------------------------------------------------------- output

/** The issue's baseline JSON: exactly days, adjustment {kind, raw, applied}, intervals [{hour, baseline, actual, reduction}]. */
export function baselineJson(result: BaselineResult): BaselineJson {
  return {
    days: [...result.days],
    adjustment: {
      kind: result.adjustment.kind,
      raw: round6(result.adjustment.raw),
      applied: round6(result.adjustment.applied),
    },
    intervals: result.intervals.map((interval) => ({
      hour: interval.hour,
      baseline: round6(interval.baseline),
      actual: round6(interval.actual),
      reduction: round6(interval.reduction),
    })),
  };
}

export interface EventJson {
  deliveredKwh: number;
  obligationKwh: number;
  performanceRatio: number;
  shortfallKwh: number;
  penaltyUsd: number;
  energyPaymentUsd: number;
  intervals: Array<{
    hour: number;
    reductionKwh: number;
    obligationKwh: number;
    deliveredKwh: number;
    shortfallKwh: number;
    priceUsdPerMwh?: number;
    energyPaymentUsd: number;
  }>;
}

/** The issue's event JSON, in its key order; priceUsdPerMwh only on priced intervals. */
export function eventJson(settlement: EventSettlement, inputs: readonly EventIntervalInput[]): EventJson {
  return {
    deliveredKwh: round6(settlement.deliveredKwh),
    obligationKwh: round6(settlement.obligationKwh),
    performanceRatio: round6(settlement.performanceRatio),
    shortfallKwh: round6(settlement.shortfallKwh),
    penaltyUsd: round6(settlement.penaltyUsd),
    energyPaymentUsd: round6(settlement.energyPaymentUsd),
    intervals: settlement.intervals.map((interval, index) => ({
      hour: interval.hour ?? inputs[index]?.hour ?? 0,
      reductionKwh: round6(interval.reductionKwh),
      obligationKwh: round6(interval.obligationKwh),
      deliveredKwh: round6(interval.deliveredKwh),
      shortfallKwh: round6(interval.shortfallKwh),
      ...(interval.priceUsdPerMwh === undefined ? {} : { priceUsdPerMwh: round6(interval.priceUsdPerMwh) }),
      energyPaymentUsd: round6(interval.energyPaymentUsd),
    })),
  };
}

const kwh = (value: number) => value.toFixed(3);
const money = (value: number) => value.toFixed(2);
const hourLabel = (hour: number) => `${String(hour).padStart(2, '0')}:00`;

function baselineText(result: BaselineResult, options: BaselineOptions, dayCount: number): string {
  const { adjustment } = result;
  const adjustmentText =
    adjustment.kind === 'ratio'
      ? `ratio ${adjustment.applied.toFixed(4)} (raw ${adjustment.raw.toFixed(4)}${adjustment.raw === adjustment.applied ? '' : ', clamped'})`
      : adjustment.kind === 'additive'
        ? `additive ${adjustment.applied >= 0 ? '+' : ''}${kwh(adjustment.applied)} kWh per interval`
        : 'none';
  const rows = result.intervals.map((interval) => [
    hourLabel(interval.hour),
    kwh(interval.unadjusted),
    kwh(interval.baseline),
    kwh(interval.actual),
    kwh(interval.reduction),
  ]);
  const total = (key: 'unadjusted' | 'baseline' | 'actual' | 'reduction') =>
    kwh(result.intervals.reduce((sum, interval) => sum + interval[key], 0));
  rows.push(['total', total('unadjusted'), total('baseline'), total('actual'), total('reduction')]);
  return [
    `${result.method} baseline for ${result.eventDay}, event hours ${options.eventHours.join(',')} (${options.load}: ${dayCount} days)`,
    `days (${result.days.length}): ${result.days.join(', ')}`,
    `adjustment: ${adjustmentText}`,
    ...result.notes.map((note) => `note: ${note}`),
    '',
    formatTable(['hour', 'unadjusted kWh', 'baseline kWh', 'actual kWh', 'reduction kWh'], rows),
  ].join('\n');
}

function eventText(json: EventJson, options: EventOptions, baseline: BaselineJson): string {
  const rows = json.intervals.map((interval) => [
    hourLabel(interval.hour),
    kwh(interval.reductionKwh),
    kwh(interval.obligationKwh),
    kwh(interval.deliveredKwh),
    kwh(interval.shortfallKwh),
    interval.priceUsdPerMwh === undefined ? '-' : interval.priceUsdPerMwh.toFixed(2),
    money(interval.energyPaymentUsd),
  ]);
  const priced = json.intervals.filter((interval) => interval.priceUsdPerMwh !== undefined).length;
  return [
    `${options.baselineJson}: ${baseline.intervals.length} interval(s), ${baseline.days.length} baseline day(s); ` +
      `obligation ${options.obligationKw} kW per interval; penalty $${options.penaltyUsdPerKwh}/kWh` +
      (options.prices === undefined
        ? '; no prices'
        : `; prices ${options.prices} (${priced} of ${rows.length} priced)`),
    '',
    formatTable(
      ['hour', 'reduction kWh', 'obligation kWh', 'delivered kWh', 'shortfall kWh', 'price $/MWh', 'payment $'],
      rows,
    ),
    '',
    `delivered ${kwh(json.deliveredKwh)} kWh of ${kwh(json.obligationKwh)} kWh obligated; performance ratio ${json.performanceRatio.toFixed(4)}`,
    `shortfall ${kwh(json.shortfallKwh)} kWh; penalty $${money(json.penaltyUsd)}; energy payment $${money(json.energyPaymentUsd)}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------- commands

interface BaselineOptions {
  method: DayMatchingMethod;
  load: string;
  eventDay: string;
  eventHours: number[];
  holidays?: string[];
  excludeDays?: string[];
  json?: boolean;
}

interface EventOptions {
  baselineJson: string;
  obligationKw: number;
  penaltyUsdPerKwh: number;
  prices?: string;
  json?: boolean;
}

/**
 * loadDaysFromHourly on the file's rows; its refusals (a second repeated hour on a day, ...) name
 * the row by index (details.row): put the file, row number and line in front instead.
 */
function loadDays(
  rows: readonly HourlyLoadRow[],
  table: CsvTable,
  source: string,
  toDays: (rows: readonly HourlyLoadRow[]) => LoadDay[],
): LoadDay[] {
  try {
    return toDays(rows);
  } catch (error) {
    if (!GridseamError.is(error)) throw error;
    const row = error.details?.row;
    const line = typeof row === 'number' ? table.rows[row]?.line : undefined;
    const where = typeof row === 'number' && line !== undefined ? ` row ${row + 1} (line ${line}):` : '';
    const message = error.message.replace(/^\/[^:]*: /, '');
    throw new GridseamError(error.code, `${source}:${where} ${message}`, { issues: error.issues, cause: error });
  }
}

async function runBaseline(options: BaselineOptions): Promise<{ result: BaselineResult; dayCount: number }> {
  const { parseCsv, readBoundedTextFile } = await import('@gridseam/dispatch');
  const { dayMatchingBaseline, loadDaysFromHourly } = await import('@gridseam/settlement');
  const text = await readBoundedTextFile(options.load, MAX_LOAD_CSV_BYTES);
  const table = parseCsv(text, options.load);
  const rows = parseLoadCsv(table, options.load);
  if (!rows.some((row) => row.date === options.eventDay))
    throw invalid(`${options.load} has no rows for the event day ${options.eventDay}`);
  const days = loadDays(rows, table, options.load, loadDaysFromHourly);
  const result = dayMatchingBaseline({
    method: options.method,
    days,
    eventDay: options.eventDay,
    eventHours: options.eventHours,
    ...(options.holidays ? { holidays: options.holidays } : {}),
    ...(options.excludeDays ? { excludeDays: options.excludeDays } : {}),
  });
  return { result, dayCount: days.length };
}

function registerBaseline(settle: Command, io: CliIo): void {
  settle
    .command('baseline')
    .description('a day-matching customer baseline (CAISO 10-in-10 / 5-in-10, PJM High 4 of 5) for an event day')
    .requiredOption('--method <method>', `baseline method: ${DAY_MATCHING_METHODS.join(' | ')}`, method)
    .requiredOption('--load <file>', 'interval load CSV with columns date,hour,kwh (hour-beginning 0-23, local time)')
    .requiredOption('--event-day <date>', 'the event day, YYYY-MM-DD', calendarDate('--event-day'))
    .requiredOption('--event-hours <hours>', 'event hours, hour-beginning, e.g. 15,16,17', parseEventHours)
    .option('--holidays <dates>', 'holidays (counted as weekend days), YYYY-MM-DD,...', dateList('--holidays'))
    .option(
      '--exclude-days <dates>',
      'days never eligible (past events, outages, battery-dispatch days), YYYY-MM-DD,...',
      dateList('--exclude-days'),
    )
    .option(
      '--json',
      'print {days, adjustment: {kind, raw, applied}, intervals: [{hour, baseline, actual, reduction}]}',
    )
    .addHelpText(
      'after',
      `
Defaults (docs/settlement.md): 45-day lookback; caiso-10in10 takes the 10 most recent like days
(weekend/holiday 4), at least 5 (2), ratio adjustment over the 3 hours ending 1 hour before the
event, clamped to [0.8, 1.2]; caiso-5in10 keeps the 5 highest of those, [0.6, 1.4]; pjm-high4of5
keeps the 4 highest of 5 candidates, symmetric additive adjustment. kWh per interval.

Example:
  gridseam settle baseline --method caiso-10in10 --load site.csv --event-day 2026-07-15 --event-hours 15,16,17 --json`,
    )
    .action(async (options: BaselineOptions) => {
      const { result, dayCount } = await runBaseline(options);
      if (options.json) write(io.stdout, JSON.stringify(baselineJson(result)));
      else write(io.stdout, baselineText(result, options, dayCount));
    });
}

function registerEvent(settle: Command, io: CliIo): void {
  settle
    .command('event')
    .description(
      'settle one event from a baseline JSON: delivered energy, performance ratio, shortfall, penalty, payment',
    )
    .requiredOption('--baseline-json <file>', 'the JSON printed by `gridseam settle baseline --json`')
    .requiredOption(
      '--obligation-kw <kW>',
      'the obligation per interval, kW (hourly: K kWh per interval)',
      numberIn('--obligation-kw', 0, 1e9),
    )
    .option(
      '--penalty-usd-per-kwh <rate>',
      'penalty per kWh of shortfall, USD',
      numberIn('--penalty-usd-per-kwh', 0, 1e6),
      0,
    )
    .option(
      '--prices <file>',
      'energy prices, $/MWh: CSV hour,price or date,hour,price (price column: price, lmp or usd_per_mwh)',
    )
    .option(
      '--json',
      'print {deliveredKwh, obligationKwh, performanceRatio, shortfallKwh, penaltyUsd, energyPaymentUsd, intervals}',
    )
    .addHelpText(
      'after',
      `
Per interval i (bess_market.md §3.6): delivered = max(0, R_i), shortfall = max(0, O_i - R_i),
performance ratio = sum min(R_i, O_i) / sum O_i, penalty = shortfall x rate, energy payment =
delivered x price / 1000. An interval without a price earns no energy payment.

Example:
  gridseam settle event --baseline-json baseline.json --obligation-kw 50 --penalty-usd-per-kwh 0.5 --prices lmp.csv --json`,
    )
    .action(async (options: EventOptions) => {
      const { parseCsv, readBoundedTextFile } = await import('@gridseam/dispatch');
      const { settleEvent } = await import('@gridseam/settlement');
      const baseline = parseBaselineJson(
        await readBoundedTextFile(options.baselineJson, MAX_EVENT_FILE_BYTES),
        options.baselineJson,
      );
      let prices: HourlyPrices | undefined;
      if (options.prices !== undefined) {
        const text = await readBoundedTextFile(options.prices, MAX_EVENT_FILE_BYTES);
        prices = parsePricesCsv(parseCsv(text, options.prices), options.prices);
      }
      const inputs = eventIntervals(baseline, options.obligationKw, prices);
      const json = eventJson(settleEvent({ intervals: inputs, penaltyUsdPerKwh: options.penaltyUsdPerKwh }), inputs);
      if (options.json) write(io.stdout, JSON.stringify(json));
      else write(io.stdout, eventText(json, options, baseline));
    });
}

export function registerSettleCommands(program: Command, io: CliIo): void {
  const settle = program
    .command('settle')
    .description('demand-response baselines and event settlement (M&V) from interval load files');
  registerBaseline(settle, io);
  registerEvent(settle, io);
}
