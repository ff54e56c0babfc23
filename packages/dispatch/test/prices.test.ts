import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  MAX_CSV_BYTES,
  parseCsv,
  parsePriceCsv,
  parseSocCsv,
  parseTimestamp,
  readBoundedTextFile,
  readPriceCsv,
  unitFactor,
} from '../src/prices.ts';

const dataDir = resolve(import.meta.dirname, '../../../../shared/data/prices');
const hasData = existsSync(join(dataDir, 'dervet_caiso_2020_hourly_da_regup_regdn.csv'));
const skipData = hasData ? false : `no price data at ${dataDir}`;

function assertValidationError(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, 'GW_ERR_VALIDATION');
    assert.match(error.message, message);
    return true;
  });
}

async function assertRejectsValidation(run: () => Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, 'GW_ERR_VALIDATION');
    assert.match(error.message, message);
    return true;
  });
}

const iso = (ms: number | undefined) => new Date(ms as number).toISOString();
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('CSV parsing (RFC 4180)', () => {
  test('quoted fields with commas, escaped quotes and newlines; CRLF; blank lines; a BOM', () => {
    const text =
      '\ufefftime,"price, $/MWh",note\r\n\r\n2020-01-01T00:00Z,"1.5","a ""quoted"" word"\r\n   \n2020-01-01T01:00Z,2,"two\nlines"\n';
    const table = parseCsv(text);
    assert.deepEqual(table.header, ['time', 'price, $/MWh', 'note']);
    assert.deepEqual(
      table.rows.map((r) => [r.line, r.fields]),
      [
        [3, ['2020-01-01T00:00Z', '1.5', 'a "quoted" word']],
        [5, ['2020-01-01T01:00Z', '2', 'two\nlines']],
      ],
    );
  });

  test('malformed CSV is refused with the line', () => {
    assertValidationError(() => parseCsv('a,b\n1,2\n3\n'), /line 3: 1 field\(s\), but the header has 2 column\(s\)/);
    assertValidationError(() => parseCsv('a,b\n1,"2\n'), /line 2: a quoted field is not closed/);
    assertValidationError(() => parseCsv('a,b\n1,"2"x\n'), /line 2: text after a closing quote/);
    assertValidationError(() => parseCsv('a,b\n1,2"x\n'), /line 2: a quote inside an unquoted field/);
    assertValidationError(() => parseCsv('a,a\n1,2\n'), /names column "a" twice/);
    assertValidationError(() => parseCsv('\n\n'), /the file is empty/);
  });
});

describe('timestamps', () => {
  test('m/d/yyyy h:mm and ISO 8601, UTC wall clock unless an offset is given', () => {
    assert.equal(iso(parseTimestamp('1/1/2020 1:00')), '2020-01-01T01:00:00.000Z');
    assert.equal(iso(parseTimestamp('12/31/2020 23:05:30')), '2020-12-31T23:05:30.000Z');
    assert.equal(iso(parseTimestamp('4/29/2019')), '2019-04-29T00:00:00.000Z');
    assert.equal(iso(parseTimestamp('2020-03-10')), '2020-03-10T00:00:00.000Z');
    assert.equal(iso(parseTimestamp('2020-03-10T13:45')), '2020-03-10T13:45:00.000Z');
    assert.equal(iso(parseTimestamp('2020-03-10 13:45:10.25')), '2020-03-10T13:45:10.250Z');
    assert.equal(iso(parseTimestamp('2020-03-10T13:45:00Z')), '2020-03-10T13:45:00.000Z');
    assert.equal(iso(parseTimestamp('2020-03-10T13:45:00-07:00')), '2020-03-10T20:45:00.000Z');
    assert.equal(iso(parseTimestamp('2020-03-10T13:45:00+0530')), '2020-03-10T08:15:00.000Z');
    assert.equal(iso(parseTimestamp('3/10/2020 24:00')), '2020-03-11T00:00:00.000Z');
  });

  test('impossible dates and times are not times', () => {
    for (const text of [
      '2/30/2020 1:00',
      '13/1/2020',
      '2021-02-29',
      '2020-01-01T25:00',
      '2020-01-01T10:60',
      '3/10/2020 24:30',
      'yesterday',
      '',
      '1583798400000',
    ])
      assert.equal(parseTimestamp(text), undefined, text);
  });
});

describe('units from the header', () => {
  test('$/kWh and $/kW are x1000; $/MWh, usd_per_mwh and usd_per_mw_h are as they are', () => {
    assert.equal(unitFactor('DA Price ($/kWh)', 'energy').factor, 1000);
    assert.equal(unitFactor('Reg Up Price ($/kW)', 'capacity').factor, 1000);
    assert.equal(unitFactor('price_usd_per_kwh', 'energy').factor, 1000);
    assert.equal(unitFactor('da_lmp_usd_per_mwh', 'energy').factor, 1);
    assert.equal(unitFactor('regup_usd_per_mw_h', 'capacity').factor, 1);
    assert.equal(unitFactor('LMP ($/MWh)', 'energy').factor, 1);
    assert.deepEqual(unitFactor('lmp', 'energy'), { factor: 1, unit: 'no unit in the header, read as $/MWh' });
    assertValidationError(() => unitFactor('price (EUR/MWh)', 'energy'), /only US dollar prices/);
    assertValidationError(() => unitFactor('price (cents/kWh)', 'energy'), /only US dollar prices/);
  });
});

describe('price CSVs', () => {
  test('ISO starts, $/MWh, inferred 15-min interval, a gap splits the runs', () => {
    const text = [
      'interval_start,lmp_usd_per_mwh',
      '2024-06-01T00:00Z,10',
      '2024-06-01T00:15Z,-5.5',
      '2024-06-01T00:30Z,20',
      '2024-06-01T02:00Z,30',
      '2024-06-01T02:15Z,40',
    ].join('\n');
    const series = parsePriceCsv(text);
    assert.equal(series.intervalMinutes, 15);
    assert.deepEqual(series.energyPriceUsdPerMwh, [10, -5.5, 20, 30, 40]);
    assert.deepEqual(series.blocks, [
      { from: 0, to: 3 },
      { from: 3, to: 5 },
    ]);
    assert.equal(iso(series.starts[3]), '2024-06-01T02:00:00.000Z');
    assert.equal(series.regUpUsdPerMwH, undefined);
    assert.match(series.notes.join('\n'), /15-min intervals \(inferred\)/);
    assert.match(series.notes.join('\n'), /UTC wall clock/);
    assert.match(series.notes.join('\n'), /2 runs of consecutive intervals/);
  });

  test('an interval-ending column gives starts one interval earlier; --interval-minutes overrides inference', () => {
    const text = 'interval_end,price\n2024-06-01T01:00Z,1\n2024-06-01T03:00Z,2\n';
    const series = parsePriceCsv(text, { intervalMinutes: 60 });
    assert.deepEqual(series.starts.map(iso), ['2024-06-01T00:00:00.000Z', '2024-06-01T02:00:00.000Z']);
    assert.equal(series.blocks.length, 2);
    // Inferred, the two rows are one 120-min step apart: one run of 120-min intervals.
    assert.equal(parsePriceCsv(text).intervalMinutes, 120);
    assertValidationError(() => parsePriceCsv('interval_end,price\n2024-06-01T01:00Z,1\n'), /one row only/);
  });

  test('named columns: --price-column, --time-column (case-insensitive), regulation columns', () => {
    const text = 'when,a,b,up ($/kW),down\n2024-01-01 00:00,1,100,0.002,3\n2024-01-01 01:00,2,200,0.004,4\n';
    const series = parsePriceCsv(text, {
      priceColumn: 'B',
      timeColumn: 'WHEN',
      regUpColumn: 'up ($/kW)',
      regDownColumn: 'down',
    });
    assert.deepEqual(series.energyPriceUsdPerMwh, [100, 200]);
    assert.deepEqual(series.regUpUsdPerMwH, [2, 4]);
    assert.deepEqual(series.regDownUsdPerMwH, [3, 4]);
    assert.deepEqual(series.columns, { time: 'when', price: 'b', regUp: 'up ($/kW)', regDown: 'down' });
    assertValidationError(
      () => parsePriceCsv(text, { priceColumn: 'c', timeColumn: 'when' }),
      /--price-column "c" is not a column; the columns are "when", "a", "b", "up \(\$\/kW\)", "down"/,
    );
  });

  test('without a time column: an error, or numbered rows with --interval-minutes', () => {
    assertValidationError(
      () => parsePriceCsv('price\n1\n2\n'),
      /no time column recognised among "price"; pass --time-column/,
    );
    const series = parsePriceCsv('price\n1\n2\n', { intervalMinutes: 30 });
    assert.deepEqual(series.starts, [0, 30 * 60_000]);
    assert.deepEqual(series.blocks, [{ from: 0, to: 2 }]);
  });

  test('hostile values are refused naming the row, the line and the column', () => {
    const file = (value: string) => `time,price\n2024-01-01T00:00Z,1\n\n2024-01-01T01:00Z,${value}\n`;
    for (const value of ['NaN', 'Infinity', '-Infinity', '1e400', 'abc', '', '0x10', '1;5', '" "'])
      assertValidationError(
        () => parsePriceCsv(file(value), { source: 'p.csv' }),
        /^p\.csv: row 2 \(line 4\), column "price": .* is not a finite number$/,
      );
    assertValidationError(
      () => parsePriceCsv('time,price\n2024-01-01T00:00Z,1\nsoon,2\n'),
      /row 2 \(line 3\), column "time": "soon" is not a time/,
    );
    assertValidationError(() => parsePriceCsv('time,price\n'), /a header but no data rows/);
    assertValidationError(() => parsePriceCsv('time,x\n2024-01-01T00:00Z,1\n'), /no energy price column recognised/);
  });

  test('times out of order, repeated or closer than the interval are refused', () => {
    const repeated = 'time,price\n2024-11-03T01:00,1\n2024-11-03T02:00,2\n2024-11-03T02:00,3\n2024-11-03T03:00,4\n';
    assertValidationError(
      () => parsePriceCsv(repeated),
      /row 3 \(line 4\): its time is 0 min after the previous row's/,
    );
    const backwards = 'time,price\n2024-01-01T02:00Z,1\n2024-01-01T03:00Z,2\n2024-01-01T01:00Z,3\n';
    assertValidationError(() => parsePriceCsv(backwards), /row 3 \(line 4\): its time is -120 min/);
    assertValidationError(
      () => parsePriceCsv('time,price\n2024-01-01T00:00Z,1\n2024-01-01T00:30Z,2\n', { intervalMinutes: 60 }),
      /30 min after the previous row's; rows must be in time order, 60 min apart/,
    );
    assertValidationError(
      () => parsePriceCsv('time,price\n2024-01-01T00:00Z,1\n2024-01-01T00:00:30Z,2\n'),
      /whole number of minutes/,
    );
  });

  test('hour-ending numbers beside a date column; hour 25 (a DST day) is refused with the reason', () => {
    const series = parsePriceCsv('operating_day,hour_ending,lmp\n2020-03-10,1,5\n2020-03-10,2,6\n2020-03-10,24,7\n');
    assert.deepEqual(series.starts.map(iso), [
      '2020-03-10T00:00:00.000Z',
      '2020-03-10T01:00:00.000Z',
      '2020-03-10T23:00:00.000Z',
    ]);
    assert.equal(series.intervalMinutes, 60);
    assertValidationError(
      () => parsePriceCsv('operating_day,hour_ending,lmp\n2020-11-01,25,5\n'),
      /"25" is not an hour ending 1..24 \(hour 25 of a daylight-saving day is not supported/,
    );
    assertValidationError(
      () => parsePriceCsv('operating_day,hour_ending,lmp\n2020-11-01,1,5\n', { intervalMinutes: 15 }),
      /gives hourly intervals, but --interval-minutes is 15/,
    );
  });

  test('a unit that looks wrong gets a warning note', () => {
    const series = parsePriceCsv(
      'time,price ($/kWh)\n2024-01-01T00:00Z,35\n2024-01-01T01:00Z,40\n2024-01-01T02:00Z,38\n',
    );
    assert.deepEqual(series.energyPriceUsdPerMwh, [35_000, 40_000, 38_000]);
    assert.match(series.notes.join('\n'), /warning: after x1000 the median \|price\| .* is 38000 \$\/MWh/);
  });
});

describe('the shipped price files (../shared/data/prices)', { skip: skipData }, () => {
  test('DER-VET 2020 hourly: $/kWh and $/kW-h converted, hour ending, one run of 8784 hours, the README stats', async () => {
    const series = await readPriceCsv(join(dataDir, 'dervet_caiso_2020_hourly_da_regup_regdn.csv'), {
      regUpColumn: 'Reg Up Price ($/kW)',
      regDownColumn: 'Reg Down Price ($/kW)',
    });
    assert.equal(series.starts.length, 8784);
    assert.equal(series.intervalMinutes, 60);
    assert.deepEqual(series.blocks, [{ from: 0, to: 8784 }]);
    // "1/1/2020 1:00" is HE1 of 2020-01-01: the interval that starts at 00:00; "1/1/2021 0:00" is HE24 of 12-31.
    assert.equal(iso(series.starts[0]), '2020-01-01T00:00:00.000Z');
    assert.equal(iso(series.starts.at(-1)), '2020-12-31T23:00:00.000Z');
    assert.equal(series.energyPriceUsdPerMwh[0], 33.31091);
    assert.equal(series.regUpUsdPerMwH?.[0], 12.27058);
    assert.equal(series.regDownUsdPerMwH?.[0], 6.99);
    // The data README: DA min -10.17, max 1,557.43, mean 35.56, 127 negative hours; RegUp mean 9.81, max 962.5; RegDn mean 9.45.
    const prices = series.energyPriceUsdPerMwh;
    assert.equal(Math.round(Math.min(...prices) * 100) / 100, -10.17);
    assert.equal(Math.round(Math.max(...prices) * 100) / 100, 1557.43);
    assert.equal(Math.round(mean(prices) * 100) / 100, 35.56);
    assert.equal(prices.filter((p) => p < 0).length, 127);
    assert.equal(Math.round(mean(series.regUpUsdPerMwH ?? []) * 100) / 100, 9.81);
    assert.equal(Math.round(Math.max(...(series.regUpUsdPerMwH ?? [])) * 10) / 10, 962.5);
    assert.equal(Math.round(mean(series.regDownUsdPerMwH ?? []) * 100) / 100, 9.45);
    const notes = series.notes.join('\n');
    assert.match(notes, /"DA Price \(\$\/kWh\)", \$\/kWh -> \$\/MWh \(x1000\)/);
    assert.match(notes, /"Reg Up Price \(\$\/kW\)", \$\/kW-h -> \$\/MW-h \(x1000\)/);
    assert.match(notes, /Datetime \(he\), read as interval ends/);
  });

  test('the hourly fixture: hour_ending + operating_day, two separate days, the same values as the 2020 file', async () => {
    const fixture = await readPriceCsv(join(dataDir, 'fixture_hourly_da_reg_2days_caiso2020.csv'), {
      regUpColumn: 'regup_usd_per_mw_h',
      regDownColumn: 'regdn_usd_per_mw_h',
    });
    assert.equal(fixture.starts.length, 48);
    assert.deepEqual(fixture.blocks, [
      { from: 0, to: 24 },
      { from: 24, to: 48 },
    ]);
    assert.equal(iso(fixture.starts[24]), '2020-08-14T00:00:00.000Z');
    const year = await readPriceCsv(join(dataDir, 'dervet_caiso_2020_hourly_da_regup_regdn.csv'), {
      regUpColumn: 'Reg Up Price ($/kW)',
      regDownColumn: 'Reg Down Price ($/kW)',
    });
    // Every fixture hour matches the same hour of the 2020 file (the fixture was converted to $/MWh).
    for (let i = 0; i < fixture.starts.length; i++) {
      const j = year.starts.indexOf(fixture.starts[i] as number);
      assert.ok(j >= 0, `hour ${iso(fixture.starts[i])} is in the 2020 file`);
      assert.ok(
        Math.abs((fixture.energyPriceUsdPerMwh[i] as number) - (year.energyPriceUsdPerMwh[j] as number)) < 1e-6,
      );
      assert.ok(Math.abs((fixture.regUpUsdPerMwH?.[i] as number) - (year.regUpUsdPerMwH?.[j] as number)) < 1e-6);
      assert.ok(Math.abs((fixture.regDownUsdPerMwH?.[i] as number) - (year.regDownUsdPerMwH?.[j] as number)) < 1e-6);
    }
    // 2020-08-14 HE18 (starts 17:00) = $997/MWh, the scarcity hour the README names.
    assert.equal(fixture.energyPriceUsdPerMwh[24 + 17], 997);
  });

  test('the 5-minute fixture: interval starts, three days of 288, the README stats per day', async () => {
    const series = await readPriceCsv(join(dataDir, 'fixture_5min_288step_3days.csv'));
    assert.equal(series.intervalMinutes, 5);
    assert.deepEqual(
      series.blocks.map((b) => [iso(series.starts[b.from]), b.to - b.from]),
      [
        ['2019-04-29T00:00:00.000Z', 288],
        ['2019-05-13T00:00:00.000Z', 288],
        ['2019-08-13T00:00:00.000Z', 288],
      ],
    );
    const day = (index: number) => {
      const block = series.blocks[index] as { from: number; to: number };
      return series.energyPriceUsdPerMwh.slice(block.from, block.to);
    };
    // README: 2019-04-29 has 137 negative intervals; 2019-05-13 spans -153..+866 with 86; 2019-08-13 none.
    assert.equal(day(0).filter((p) => p < 0).length, 137);
    assert.equal(day(1).filter((p) => p < 0).length, 86);
    assert.equal(Math.round(Math.min(...day(1))), -153);
    assert.equal(Math.round(Math.max(...day(1))), 866);
    assert.equal(day(2).filter((p) => p < 0).length, 0);
  });
});

describe('files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gridseam-prices-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test(`a file over the limit (${MAX_CSV_BYTES} bytes) is refused before it is read`, async () => {
    const path = join(dir, 'huge.csv');
    await writeFile(path, 'time,price\n');
    await truncate(path, MAX_CSV_BYTES + 1); // sparse: no 50 MB written
    await assertRejectsValidation(() => readPriceCsv(path), /is 52428801 bytes; the limit is 52428800 bytes/);
    const small = join(dir, 'small.csv');
    await writeFile(small, 'x'.repeat(2048));
    await assertRejectsValidation(() => readBoundedTextFile(small, 1024), /the limit is 1024 bytes/);
  });

  test('a missing file, a directory, binary and non-UTF-8 content are refused', async () => {
    await assertRejectsValidation(() => readPriceCsv(join(dir, 'absent.csv')), /cannot read .*absent\.csv: ENOENT/);
    await mkdir(join(dir, 'folder'));
    await assertRejectsValidation(() => readPriceCsv(join(dir, 'folder')), /is not a regular file/);
    await writeFile(join(dir, 'nul.csv'), Buffer.from([0x61, 0x00, 0x62]));
    await assertRejectsValidation(() => readPriceCsv(join(dir, 'nul.csv')), /not a text file/);
    await writeFile(join(dir, 'latin1.csv'), Buffer.from([0x70, 0x72, 0x69, 0x63, 0xe9, 0x0a]));
    await assertRejectsValidation(() => readPriceCsv(join(dir, 'latin1.csv')), /not UTF-8 text/);
  });
});

describe('SoC traces', () => {
  test('a "soc" column among others, a headerless single column, a percent column', () => {
    assert.deepEqual(parseSocCsv('time,soc,power\nt0,0.5,1\nt1,0.75,2\n'), { soc: [0.5, 0.75], column: 'soc' });
    assert.deepEqual(parseSocCsv('0.5\n0.25\n\n1\n'), { soc: [0.5, 0.25, 1], column: 'column 1' });
    assert.deepEqual(parseSocCsv('SoC (%)\n50\n25\n'), { soc: [0.5, 0.25], column: 'SoC (%)' });
    assert.deepEqual(parseSocCsv('level\n0.1\n'), { soc: [0.1], column: 'level' });
  });

  test('values outside 0..1, non-numbers and a missing column are refused', () => {
    assertValidationError(
      () => parseSocCsv('soc\n0.5\n55\n'),
      /row 2 \(line 3\), column "soc": 55 is not a SoC fraction 0..1/,
    );
    assertValidationError(
      () => parseSocCsv('soc\n0.5\nNaN\n'),
      /row 2 \(line 3\), column "soc": "NaN" is not a finite number/,
    );
    assertValidationError(() => parseSocCsv('a,b\n1,2\n'), /no SoC column among "a", "b"/);
    assertValidationError(() => parseSocCsv('soc\n'), /no SoC values/);
  });
});
