/**
 * `gridseam settle baseline` and `gridseam settle event` (issue 10's stable CLI), run in-process
 * through the CLI's `main` (one spawn of the real binary at the end), with answers worked out by hand.
 *
 * The calendar (load.csv, every hour of every day, kWh per hour, flat within a day):
 *   2026-06-01 .. 06-02 (Mon, Tue)          500   (too old for 10-in-10 unless days are removed)
 *   2026-06-03 .. 06-16, the 10 weekdays     91, 92, 93, 94, 95, 96, 97, 98, 99, 100
 *     (06-03 Wed 91, 06-04 92, 06-05 93, 06-08 94, 06-09 95, 06-10 96, 06-11 97, 06-12 98, 06-15 99, 06-16 100)
 *   weekends 06-06, 06-07, 06-13, 06-14      300   (never a weekday event's baseline day)
 *   event day 2026-06-17 (Wednesday)         100, except hours 11-13 (the adjustment window for a
 *                                            15:00 start): 105.05, and hours 15-17 (the event): 60
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTempDir } from '../helpers/temp-dir.ts';
import { type CliResult, runCli, runCliInProcess } from './helpers.ts';

const temp = useTempDir('gridseam-settle-cli-');

const WEEKDAY_LOADS: Record<string, number> = {
  '2026-06-01': 500,
  '2026-06-02': 500,
  '2026-06-03': 91,
  '2026-06-04': 92,
  '2026-06-05': 93,
  '2026-06-08': 94,
  '2026-06-09': 95,
  '2026-06-10': 96,
  '2026-06-11': 97,
  '2026-06-12': 98,
  '2026-06-15': 99,
  '2026-06-16': 100,
};
const WEEKENDS = ['2026-06-06', '2026-06-07', '2026-06-13', '2026-06-14'];
const EVENT_DAY = '2026-06-17';

function eventDayLoad(hour: number): number {
  if (hour >= 11 && hour <= 13) return 105.05;
  if (hour >= 15 && hour <= 17) return 60;
  return 100;
}

function loadCsv(): string {
  const lines = ['date,hour,kwh'];
  const dates = [...Object.keys(WEEKDAY_LOADS), ...WEEKENDS].sort();
  for (const date of dates)
    for (let hour = 0; hour < 24; hour++) lines.push(`${date},${hour},${WEEKDAY_LOADS[date] ?? 300}`);
  for (let hour = 0; hour < 24; hour++) lines.push(`${EVENT_DAY},${hour},${eventDayLoad(hour)}`);
  return `${lines.join('\n')}\n`;
}

/** The same `main` the binary runs, in this process. */
function settle(args: readonly string[]): Promise<CliResult> {
  return runCliInProcess(['settle', ...args], { cwd: temp.dir() });
}

function assertOneErrorLine(result: CliResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, '');
  const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
  assert.equal(errorLines.length, 1, result.stderr);
  assert.match(errorLines[0] as string, message);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

async function json<T>(args: readonly string[]): Promise<T> {
  const result = await settle([...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  return JSON.parse(result.stdout) as T;
}

const event = ['--event-day', EVENT_DAY, '--event-hours', '15,16,17'];

describe('gridseam settle baseline', () => {
  test('caiso-10in10: the 10 most recent weekdays, ratio 1.1, reductions 45.05 (the exact JSON)', async () => {
    const load = await temp.file('load.csv', loadCsv());
    const output = await json<unknown>(['baseline', '--method', 'caiso-10in10', '--load', load, ...event]);
    // Days: weekdays before 06-17, most recent 10: 06-03 .. 06-16 (06-01 and 06-02 are the 11th and 12th).
    // Unadjusted baseline = (91 + ... + 100) / 10 = 95.5 every hour.
    // Window 11-13: ratio = 3 x 105.05 / (3 x 95.5) = 315.15 / 286.5 = 1.1, inside [0.8, 1.2].
    // Baseline = 95.5 x 1.1 = 105.05; reduction = 105.05 - 60 = 45.05 in hours 15, 16, 17.
    assert.deepEqual(output, {
      days: [
        '2026-06-03',
        '2026-06-04',
        '2026-06-05',
        '2026-06-08',
        '2026-06-09',
        '2026-06-10',
        '2026-06-11',
        '2026-06-12',
        '2026-06-15',
        '2026-06-16',
      ],
      adjustment: { kind: 'ratio', raw: 1.1, applied: 1.1 },
      intervals: [15, 16, 17].map((hour) => ({ hour, baseline: 105.05, actual: 60, reduction: 45.05 })),
    });
  });

  test('holidays and excluded days reach the day choice; the 0.8 cap binds', async () => {
    const load = await temp.file('load.csv', loadCsv());
    const output = await json<{
      days: string[];
      adjustment: { kind: string; raw: number; applied: number };
      intervals: Array<{ hour: number; baseline: number; actual: number; reduction: number }>;
    }>([
      'baseline',
      '--method',
      'caiso-10in10',
      '--load',
      load,
      ...event,
      '--holidays',
      '2026-06-15',
      '--exclude-days',
      '2026-06-10',
    ]);
    // 06-15 is a holiday (weekend type), 06-10 excluded: the 10 are 06-01 .. 06-16 without them.
    // Mean = (500 + 500 + 91 + 92 + 93 + 94 + 95 + 97 + 98 + 100) / 10 = 1760 / 10 = 176.
    // Ratio = 315.15 / 528 = 0.596875 -> clamped to 0.8; baseline 140.8; reduction 80.8.
    assert.deepEqual(output.days, [
      '2026-06-01',
      '2026-06-02',
      '2026-06-03',
      '2026-06-04',
      '2026-06-05',
      '2026-06-08',
      '2026-06-09',
      '2026-06-11',
      '2026-06-12',
      '2026-06-16',
    ]);
    assert.deepEqual(output.adjustment, { kind: 'ratio', raw: 0.596875, applied: 0.8 });
    assert.deepEqual(
      output.intervals,
      [15, 16, 17].map((hour) => ({ hour, baseline: 140.8, actual: 60, reduction: 80.8 })),
    );
  });

  test('caiso-5in10 keeps the 5 highest; pjm-high4of5 the 4 highest of 5 with an additive adjustment', async () => {
    const load = await temp.file('load.csv', loadCsv());
    // 5in10: the 5 highest of the 10 by event-hour load: 96, 97, 98, 99, 100 -> mean 98.
    // Ratio = 315.15 / 294 = 1.0719387755... (inside [0.6, 1.4]); baseline 98 x ratio = 105.05.
    const five = await json<{ days: string[]; adjustment: unknown; intervals: Array<{ reduction: number }> }>([
      'baseline',
      '--method',
      'caiso-5in10',
      '--load',
      load,
      ...event,
    ]);
    assert.deepEqual(five.days, ['2026-06-10', '2026-06-11', '2026-06-12', '2026-06-15', '2026-06-16']);
    assert.deepEqual(five.adjustment, { kind: 'ratio', raw: 1.071939, applied: 1.071939 });
    assert.deepEqual(
      five.intervals.map((interval) => interval.reduction),
      [45.05, 45.05, 45.05],
    );
    // pjm: candidates 06-10 .. 06-16 (96, 97, 98, 99, 100), none below 25 % of their mean 98;
    // the 4 highest: 97, 98, 99, 100 -> CBL 98.5; delta = 105.05 - 98.5 = 6.55; baseline 105.05.
    const pjm = await json<unknown>(['baseline', '--method', 'pjm-high4of5', '--load', load, ...event]);
    assert.deepEqual(pjm, {
      days: ['2026-06-11', '2026-06-12', '2026-06-15', '2026-06-16'],
      adjustment: { kind: 'additive', raw: 6.55, applied: 6.55 },
      intervals: [15, 16, 17].map((hour) => ({ hour, baseline: 105.05, actual: 60, reduction: 45.05 })),
    });
  });

  test('text mode prints the days, the adjustment and a table with a total', async () => {
    const load = await temp.file('load.csv', loadCsv());
    const result = await settle(['baseline', '--method', 'caiso-10in10', '--load', load, ...event]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /caiso-10in10 baseline for 2026-06-17, event hours 15,16,17 \(.*load\.csv: 17 days\)/);
    assert.match(result.stdout, /days \(10\): 2026-06-03, 2026-06-04, .*, 2026-06-16\n/);
    assert.match(result.stdout, /adjustment: ratio 1\.1000 \(raw 1\.1000\)/);
    assert.match(
      result.stdout,
      /HOUR\s+UNADJUSTED KWH\s+BASELINE KWH\s+ACTUAL KWH\s+REDUCTION KWH\n15:00\s+95\.500\s+105\.050\s+60\.000\s+45\.050\n/,
    );
    // Totals: 3 x 95.5, 3 x 105.05, 3 x 60, 3 x 45.05.
    assert.match(result.stdout, /total\s+286\.500\s+315\.150\s+180\.000\s+135\.150\n$/);
  });

  test('too few eligible days: refused, exit 1, one error line', async () => {
    const load = await temp.file('load.csv', loadCsv());
    // Excluding 06-03 .. 06-12 (8 weekdays) leaves 06-01, 06-02, 06-15, 06-16: 4 < the minimum 5.
    const result = await settle([
      'baseline',
      '--method',
      'caiso-10in10',
      '--load',
      load,
      ...event,
      '--exclude-days',
      '2026-06-03,2026-06-04,2026-06-05,2026-06-08,2026-06-09,2026-06-10,2026-06-11,2026-06-12',
    ]);
    assertOneErrorLine(result, 1, /\[GW_ERR_BASELINE_REFUSED\]$/);
  });

  test('bad options and malformed load files: exit 2, one error line naming the row', async () => {
    const good = await temp.file('load.csv', loadCsv());
    const header = 'date,hour,kwh\n';
    const eventDayRows = Array.from({ length: 24 }, (_, hour) => `${EVENT_DAY},${hour},100`).join('\n');
    const files = {
      nan: await temp.file('nan.csv', `${header}2026-06-16,0,10\n2026-06-16,1,NaN\n`),
      infinity: await temp.file('inf.csv', `${header}2026-06-16,0,Infinity\n`),
      hour24: await temp.file('hour24.csv', `${header}2026-06-16,24,10\n`),
      badDate: await temp.file('date.csv', `${header}2026-02-30,1,10\n`),
      header: await temp.file('header.csv', 'day,hour,kwh\n2026-06-16,1,10\n'),
      thrice: await temp.file('thrice.csv', `${header}2026-06-16,1,10\n2026-06-16,1,10\n2026-06-16,1,10\n`),
      twoRepeats: await temp.file(
        'repeats.csv',
        `${header}2026-06-16,1,10\n2026-06-16,1,10\n2026-06-16,2,10\n2026-06-16,2,10\n${eventDayRows}\n`,
      ),
      quote: await temp.file('quote.csv', `${header}2026-06-16,1,"10\n`),
      noEventDay: await temp.file('no-event.csv', `${header}2026-06-16,1,10\n`),
    };
    const method = ['--method', 'caiso-10in10'];
    const cases: Array<[string[], RegExp]> = [
      [['baseline', ...method, ...event], /required option '--load <file>' not specified/],
      [['baseline', '--method', 'caiso-7in7', '--load', good, ...event], /--method must be one of caiso-10in10/],
      [
        ['baseline', ...method, '--load', good, '--event-day', '2026-13-01', '--event-hours', '15'],
        /--event-day must be a calendar date/,
      ],
      [
        ['baseline', ...method, '--load', good, '--event-day', EVENT_DAY, '--event-hours', '15,24'],
        /--event-hours must be hour-beginning labels 0-23/,
      ],
      [
        ['baseline', ...method, '--load', good, '--event-day', EVENT_DAY, '--event-hours', '15,15'],
        /--event-hours names an hour twice/,
      ],
      [
        ['baseline', ...method, '--load', good, ...event, '--holidays', '2026-06-15,tomorrow'],
        /--holidays must be calendar dates .*"tomorrow"/,
      ],
      [
        ['baseline', ...method, '--load', files.nan, ...event],
        /nan\.csv: row 2 \(line 3\), column "kwh": "NaN" is not a finite number/,
      ],
      [
        ['baseline', ...method, '--load', files.infinity, ...event],
        /row 1 \(line 2\), column "kwh": "Infinity" is not a finite number/,
      ],
      [
        ['baseline', ...method, '--load', files.hour24, ...event],
        /row 1 \(line 2\), column "hour": "24" is not an hour-beginning label 0-23/,
      ],
      [
        ['baseline', ...method, '--load', files.badDate, ...event],
        /row 1 \(line 2\), column "date": "2026-02-30" is not a calendar date/,
      ],
      [
        ['baseline', ...method, '--load', files.header, ...event],
        /the header must name the columns date,hour,kwh \(missing date/,
      ],
      [
        ['baseline', ...method, '--load', files.thrice, ...event],
        /row 3 \(line 4\): 2026-06-16 hour 1 appears a third time/,
      ],
      // loadDaysFromHourly's refusal, with the file's row and line put in front.
      [
        ['baseline', ...method, '--load', files.twoRepeats, ...event],
        /repeats\.csv: row 4 \(line 5\): .*second repeated hour/,
      ],
      [['baseline', ...method, '--load', files.quote, ...event], /quote\.csv: line 2: a quoted field is not closed/],
      [['baseline', ...method, '--load', files.noEventDay, ...event], /has no rows for the event day 2026-06-17/],
      [['baseline', ...method, '--load', `${temp.dir()}/absent.csv`, ...event], /cannot read .*absent\.csv: ENOENT/],
    ];
    for (const [args, message] of cases) assertOneErrorLine(await settle(args), 2, message);
  });
});

describe('gridseam settle event', () => {
  const baselineJson = JSON.stringify({
    days: ['2026-06-15', '2026-06-16'],
    adjustment: { kind: 'ratio', raw: 1.1, applied: 1.1 },
    intervals: [15, 16, 17].map((hour) => ({ hour, baseline: 105.05, actual: 60, reduction: 45.05 })),
  });

  test('from the baseline JSON: delivered, ratio, shortfall, penalty and payment by hand (the exact JSON)', async () => {
    const baseline = await temp.file('baseline.json', baselineJson);
    const prices = await temp.file('prices.csv', 'hour,price\n15,100\n16,200\n');
    const output = await json<unknown>([
      'event',
      '--baseline-json',
      baseline,
      '--obligation-kw',
      '50',
      '--penalty-usd-per-kwh',
      '2',
      '--prices',
      prices,
    ]);
    // Each hour: R = 45.05, O = 50 x 1 h = 50 -> delivered 45.05, shortfall 4.95.
    // D = 135.15, O = 150, PR = 135.15 / 150 = 0.901, S = 14.85, penalty = 14.85 x 2 = 29.7.
    // Payment = 45.05 x 100 / 1000 + 45.05 x 200 / 1000 = 4.505 + 9.01 = 13.515; hour 17 has no price.
    assert.deepEqual(output, {
      deliveredKwh: 135.15,
      obligationKwh: 150,
      performanceRatio: 0.901,
      shortfallKwh: 14.85,
      penaltyUsd: 29.7,
      energyPaymentUsd: 13.515,
      intervals: [
        {
          hour: 15,
          reductionKwh: 45.05,
          obligationKwh: 50,
          deliveredKwh: 45.05,
          shortfallKwh: 4.95,
          priceUsdPerMwh: 100,
          energyPaymentUsd: 4.505,
        },
        {
          hour: 16,
          reductionKwh: 45.05,
          obligationKwh: 50,
          deliveredKwh: 45.05,
          shortfallKwh: 4.95,
          priceUsdPerMwh: 200,
          energyPaymentUsd: 9.01,
        },
        {
          hour: 17,
          reductionKwh: 45.05,
          obligationKwh: 50,
          deliveredKwh: 45.05,
          shortfallKwh: 4.95,
          energyPaymentUsd: 0,
        },
      ],
    });
  });

  test('over-delivery: PR capped at 1, no shortfall; date,hour,lmp prices; the baseline command output feeds it', async () => {
    const load = await temp.file('load.csv', loadCsv());
    const produced = await settle(['baseline', '--method', 'caiso-10in10', '--load', load, ...event, '--json']);
    assert.equal(produced.code, 0, produced.stderr);
    const baseline = await temp.file('produced.json', produced.stdout);
    const prices = await temp.file(
      'lmp.csv',
      `date,hour,LMP\n${EVENT_DAY},15,50\n${EVENT_DAY},16,50\n${EVENT_DAY},17,-10\n`,
    );
    const output = await json<{
      deliveredKwh: number;
      performanceRatio: number;
      shortfallKwh: number;
      penaltyUsd: number;
      energyPaymentUsd: number;
      intervals: Array<{ priceUsdPerMwh?: number; energyPaymentUsd: number }>;
    }>(['event', '--baseline-json', baseline, '--obligation-kw', '40', '--prices', prices]);
    // R = 45.05 > O = 40: delivered 3 x 45.05 = 135.15, PR = 3 x min(45.05, 40) / 120 = 1, S = 0, penalty 0
    // (no --penalty-usd-per-kwh: rate 0). Payment = 45.05 x (50 + 50 - 10) / 1000 = 4.0545.
    assert.equal(output.deliveredKwh, 135.15);
    assert.equal(output.performanceRatio, 1);
    assert.equal(output.shortfallKwh, 0);
    assert.equal(output.penaltyUsd, 0);
    assert.equal(output.energyPaymentUsd, 4.0545);
    assert.deepEqual(
      output.intervals.map((interval) => [interval.priceUsdPerMwh, interval.energyPaymentUsd]),
      [
        [50, 2.2525],
        [50, 2.2525],
        [-10, -0.4505],
      ],
    );
  });

  test('text mode prints the table and the totals', async () => {
    const baseline = await temp.file('baseline.json', baselineJson);
    const result = await settle([
      'event',
      '--baseline-json',
      baseline,
      '--obligation-kw',
      '50',
      '--penalty-usd-per-kwh',
      '2',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /3 interval\(s\), 2 baseline day\(s\); obligation 50 kW per interval; penalty \$2\/kWh; no prices/,
    );
    assert.match(result.stdout, /\n15:00\s+45\.050\s+50\.000\s+45\.050\s+4\.950\s+-\s+0\.00\n/);
    assert.match(result.stdout, /delivered 135\.150 kWh of 150\.000 kWh obligated; performance ratio 0\.9010/);
    assert.match(result.stdout, /shortfall 14\.850 kWh; penalty \$29\.70; energy payment \$0\.00/);
  });

  test('malformed baseline JSON, prices and options: exit 2, one error line with the path or row', async () => {
    const good = await temp.file('baseline.json', baselineJson);
    const interval = { hour: 15, baseline: 1, actual: 1, reduction: 0 };
    const files = {
      notJson: await temp.file('not.json', '{"intervals": ['),
      array: await temp.file('array.json', '[1, 2]'),
      empty: await temp.file('empty.json', '{"intervals": []}'),
      hour: await temp.file('hour.json', JSON.stringify({ intervals: [{ ...interval, hour: 24 }] })),
      text: await temp.file('text.json', JSON.stringify({ intervals: [interval, { ...interval, reduction: 'NaN' }] })),
      // 1e999 parses to Infinity.
      infinite: await temp.file(
        'infinite.json',
        '{"intervals": [{"hour": 15, "baseline": 1e999, "actual": 1, "reduction": 0}]}',
      ),
      kind: await temp.file(
        'kind.json',
        JSON.stringify({ adjustment: { kind: 'multiplier', raw: 1, applied: 1 }, intervals: [interval] }),
      ),
      days: await temp.file('days.json', JSON.stringify({ days: ['2026-06-31'], intervals: [interval] })),
      large: await temp.file('large.json', `{"intervals": [], "padding": "${'x'.repeat(1024 * 1024)}"}`),
      priceNaN: await temp.file('p-nan.csv', 'hour,price\n15,NaN\n'),
      priceColumn: await temp.file('p-col.csv', 'hour,cost\n15,10\n'),
      priceDates: await temp.file('p-dates.csv', 'date,hour,price\n2026-06-17,15,10\n2026-06-18,15,10\n'),
      priceHour: await temp.file('p-hour.csv', 'hour,usd_per_mwh\n15,10\n-1,10\n'),
    };
    const obligation = ['--obligation-kw', '50'];
    const cases: Array<[string[], RegExp]> = [
      [['event', ...obligation], /required option '--baseline-json <file>' not specified/],
      [['event', '--baseline-json', good], /required option '--obligation-kw <kW>' not specified/],
      [['event', '--baseline-json', good, '--obligation-kw', '-1'], /--obligation-kw must be a number >= 0/],
      [
        ['event', '--baseline-json', good, ...obligation, '--penalty-usd-per-kwh', 'x'],
        /--penalty-usd-per-kwh must be a number >= 0/,
      ],
      [['event', '--baseline-json', files.notJson, ...obligation], /not\.json: not JSON/],
      [['event', '--baseline-json', files.array, ...obligation], /must be a JSON object with "intervals"/],
      [['event', '--baseline-json', files.empty, ...obligation], /\/intervals must be a non-empty array/],
      [
        ['event', '--baseline-json', files.hour, ...obligation],
        /\/intervals\/0\/hour must be an integer 0-23 \(got "24"\)/,
      ],
      [
        ['event', '--baseline-json', files.text, ...obligation],
        /\/intervals\/1\/reduction must be a finite number \(got "NaN"\)/,
      ],
      [['event', '--baseline-json', files.infinite, ...obligation], /\/intervals\/0\/baseline must be a finite number/],
      [
        ['event', '--baseline-json', files.kind, ...obligation],
        /\/adjustment\/kind must be "ratio", "additive" or "none"/,
      ],
      [['event', '--baseline-json', files.days, ...obligation], /\/days must be an array of calendar dates/],
      [
        ['event', '--baseline-json', files.large, ...obligation],
        /large\.json is \d+ bytes; the limit is 1048576 bytes/,
      ],
      [
        ['event', '--baseline-json', good, ...obligation, '--prices', files.priceNaN],
        /row 1 \(line 2\), column "price": "NaN" is not a finite number/,
      ],
      [
        ['event', '--baseline-json', good, ...obligation, '--prices', files.priceColumn],
        /no price column \(name one price, lmp or usd_per_mwh/,
      ],
      [
        ['event', '--baseline-json', good, ...obligation, '--prices', files.priceDates],
        /row 2 \(line 3\): a second date 2026-06-18 after 2026-06-17/,
      ],
      [
        ['event', '--baseline-json', good, ...obligation, '--prices', files.priceHour],
        /row 2 \(line 3\), column "hour": "-1" is not an hour-beginning label/,
      ],
    ];
    for (const [args, message] of cases) assertOneErrorLine(await settle(args), 2, message);
  });
});

describe('gridseam settle: the binary', () => {
  test('settle baseline --json through bin/gridseam.js prints the same JSON', async () => {
    const load = await temp.file('load.csv', loadCsv());
    const result = await runCli(
      ['settle', 'baseline', '--method', 'pjm-high4of5', '--load', load, ...event, '--json'],
      {
        cwd: temp.dir(),
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    // As the in-process pjm case: CBL 98.5 + 6.55 = 105.05, reduction 45.05.
    assert.equal(
      result.stdout,
      '{"days":["2026-06-11","2026-06-12","2026-06-15","2026-06-16"],"adjustment":{"kind":"additive","raw":6.55,"applied":6.55},' +
        '"intervals":[{"hour":15,"baseline":105.05,"actual":60,"reduction":45.05},{"hour":16,"baseline":105.05,"actual":60,"reduction":45.05},' +
        '{"hour":17,"baseline":105.05,"actual":60,"reduction":45.05}]}\n',
    );
  });
});
