import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parsePriceCsv } from '@gridseam/dispatch';
import type { PlanJson } from '../../src/cli/dispatch.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { repoRoot, runCli, runCliInProcess } from './helpers.ts';

const dataDir = resolve(repoRoot, '../shared/data/prices');
const hourlyFixture = join(dataDir, 'fixture_hourly_da_reg_2days_caiso2020.csv');
const skipData = existsSync(hourlyFixture) ? false : `no price data at ${dataDir}`;
const temp = useTempDir('gridseam-dispatch-cli-');

const battery = ['--power-kw', '1000', '--energy-kwh', '2000'];
const TOLERANCE = 1e-3; // the JSON rounds to 6 decimals; sums over 48 intervals stay well inside this

async function plan(args: readonly string[]): Promise<PlanJson> {
  const result = await runCliInProcess(['dispatch', 'plan', ...args, '--json'], { cwd: temp.dir() });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  return JSON.parse(result.stdout) as PlanJson;
}

function close(actual: number, expected: number, what: string, tolerance = TOLERANCE): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

/** Energy continuity e_t = e_{t-1} + eta_c c dt - d dt / eta_d from soc0 x E at each run's start, and the bounds. */
function assertSchedule(
  json: PlanJson,
  options: {
    runs: number[];
    e0: number;
    etaC: number;
    etaD: number;
    hours: number;
    powerKw: number;
    energyKwh: number;
  },
): void {
  let previous = options.e0;
  json.intervals.forEach((interval, t) => {
    if (options.runs.includes(t)) previous = options.e0;
    const expected =
      previous +
      options.etaC * interval.chargeKw * options.hours -
      (interval.dischargeKw * options.hours) / options.etaD;
    close(interval.energyKwh, expected, `energyKwh at ${interval.start}`);
    assert.ok(interval.energyKwh >= -1e-6 && interval.energyKwh <= options.energyKwh + 1e-6);
    assert.ok(interval.chargeKw >= -1e-9 && interval.chargeKw <= options.powerKw + 1e-6);
    assert.ok(interval.dischargeKw >= -1e-9 && interval.dischargeKw <= options.powerKw + 1e-6);
    assert.ok(
      interval.chargeKw < 1e-6 || interval.dischargeKw < 1e-6,
      `no simultaneous charge and discharge at ${interval.start}`,
    );
    previous = interval.energyKwh;
    // Final energy >= initial at the end of each run (the default terminal condition).
    if (options.runs.includes(t + 1) || t === json.intervals.length - 1)
      assert.ok(interval.energyKwh >= options.e0 - 1e-6, `terminal energy at ${interval.start}`);
  });
}

describe('gridseam dispatch: help', () => {
  test('dispatch --help lists plan and rainflow; plan --help documents the defaults', async () => {
    const top = await runCli(['dispatch', '--help'], { cwd: temp.dir() });
    assert.equal(top.code, 0);
    assert.match(top.stdout, /\n {2}plan\b/);
    assert.match(top.stdout, /\n {2}rainflow\b/);
    const help = await runCli(['dispatch', 'plan', '--help'], { cwd: temp.dir() });
    assert.equal(help.code, 0);
    const text = help.stdout.replace(/\s+/g, ' '); // commander wraps the descriptions
    for (const pattern of [
      /--soc0 <fraction> [^-]*\(default: 0\.5\)/,
      /--soc-min <fraction> [^-]*\(default: 0\)/,
      /--soc-max <fraction> [^-]*\(default: 1\)/,
      /--eta-charge <fraction> [^-]*\(default: 0\.95\)/,
      /--eta-discharge <fraction> [^-]*\(default: 0\.95\)/,
      /--self-discharge-per-hour <fraction> [^-]*\(default: 0\)/,
      /--reserve-hours <tau> [^-]*\(default: 1 when a reg column is given\)/,
      /--stress <k=\.\.\.,b=\.\.\.> .*?\(default: k=1\/6000,b=2\)/,
    ])
      assert.match(text, pattern);
  });
});

describe('gridseam dispatch plan', { skip: skipData }, () => {
  // The fixture's prices as the CLI reads them, to recompute revenue from the printed intervals.
  const prices = skipData
    ? parsePriceCsv('time,price\n2020-01-01T00:00Z,0\n')
    : parsePriceCsv(readFileSync(hourlyFixture, 'utf8'), {
        regUpColumn: 'regup_usd_per_mw_h',
        regDownColumn: 'regdn_usd_per_mw_h',
      });
  const runs = [0, 24];

  test('--json on the hourly fixture: the shape, objective = revenue - degradation, revenue and energy recomputed', async () => {
    const json = await plan(['--prices', hourlyFixture, ...battery]);
    assert.deepEqual(Object.keys(json), ['objective', 'revenue', 'degradationCost', 'cycles', 'intervals']);
    assert.deepEqual(Object.keys(json.revenue), ['energy', 'regUp', 'regDown']);
    assert.equal(json.intervals.length, 48);
    for (const interval of json.intervals)
      assert.deepEqual(Object.keys(interval), [
        'start',
        'chargeKw',
        'dischargeKw',
        'energyKwh',
        'regUpKw',
        'regDownKw',
      ]);
    assert.deepEqual(
      json.intervals.map((i) => i.start),
      prices.starts.map((s) => new Date(s).toISOString()),
    );
    assert.equal(json.intervals[0]?.start, '2020-03-10T00:00:00.000Z');
    assert.equal(json.intervals[24]?.start, '2020-08-14T00:00:00.000Z');
    assert.equal(json.revenue.regUp, 0);
    assert.equal(json.revenue.regDown, 0);
    assert.equal(json.degradationCost, 0);
    close(
      json.objective,
      json.revenue.energy + json.revenue.regUp + json.revenue.regDown - json.degradationCost,
      'objective',
    );
    const energy = json.intervals.reduce(
      (total, i, t) => total + ((prices.energyPriceUsdPerMwh[t] as number) * (i.dischargeKw - i.chargeKw)) / 1000,
      0,
    );
    close(json.revenue.energy, energy, 'energy revenue');
    // The scarcity day ($997/MWh at HE18-19) earns far more than the ordinary day.
    assert.ok(json.revenue.energy > 500, `revenue ${json.revenue.energy}`);
    assertSchedule(json, { runs, e0: 1000, etaC: 0.95, etaD: 0.95, hours: 1, powerKw: 1000, energyKwh: 2000 });
    const discharged = json.intervals.reduce((total, i) => total + i.dischargeKw, 0);
    close(json.cycles, discharged / 2000, 'cycles = discharged energy / usable energy');
  });

  test('efficiencies, SoC band and soc0 reach the plan', async () => {
    const json = await plan([
      '--prices',
      hourlyFixture,
      ...battery,
      '--soc0',
      '0.4',
      '--soc-min',
      '0.1',
      '--soc-max',
      '0.9',
      '--eta-charge',
      '0.9',
      '--eta-discharge',
      '0.85',
    ]);
    assertSchedule(json, { runs, e0: 800, etaC: 0.9, etaD: 0.85, hours: 1, powerKw: 1000, energyKwh: 2000 });
    for (const i of json.intervals) assert.ok(i.energyKwh >= 200 - 1e-6 && i.energyKwh <= 1800 + 1e-6);
  });

  test('with regulation columns: capacity revenue recomputed, headroom and energy sustain hold', async () => {
    const tau = 0.5;
    const json = await plan([
      '--prices',
      hourlyFixture,
      ...battery,
      '--reg-up-column',
      'regup_usd_per_mw_h',
      '--reg-down-column',
      'regdn_usd_per_mw_h',
      '--reserve-hours',
      String(tau),
    ]);
    assert.ok(json.revenue.regUp > 0 && json.revenue.regDown > 0);
    const regUp = json.intervals.reduce(
      (s, i, t) => s + ((prices.regUpUsdPerMwH?.[t] as number) * i.regUpKw) / 1000,
      0,
    );
    const regDown = json.intervals.reduce(
      (s, i, t) => s + ((prices.regDownUsdPerMwH?.[t] as number) * i.regDownKw) / 1000,
      0,
    );
    close(json.revenue.regUp, regUp, 'regUp revenue');
    close(json.revenue.regDown, regDown, 'regDown revenue');
    close(
      json.objective,
      json.revenue.energy + json.revenue.regUp + json.revenue.regDown - json.degradationCost,
      'objective',
    );
    for (const i of json.intervals) {
      assert.ok(i.dischargeKw - i.chargeKw + i.regUpKw <= 1000 + 1e-6, `up headroom at ${i.start}`);
      assert.ok(i.chargeKw - i.dischargeKw + i.regDownKw <= 1000 + 1e-6, `down headroom at ${i.start}`);
      assert.ok(i.energyKwh - (i.regUpKw * tau) / 0.95 >= -1e-3, `up sustain at ${i.start}`);
      assert.ok(i.energyKwh + i.regDownKw * tau * 0.95 <= 2000 + 1e-3, `down sustain at ${i.start}`);
    }
    assertSchedule(json, { runs, e0: 1000, etaC: 0.95, etaD: 0.95, hours: 1, powerKw: 1000, energyKwh: 2000 });
    // Stacking can only add value: the energy-only plan is feasible here too.
    const energyOnly = await plan(['--prices', hourlyFixture, ...battery]);
    assert.ok(json.objective >= energyOnly.objective - 1e-6);
  });

  test('degradation: a throughput cost is priced per MWh discharged; cycle segments price depth', async () => {
    const free = await plan(['--prices', hourlyFixture, ...battery]);
    const throughput = await plan(['--prices', hourlyFixture, ...battery, '--throughput-cost', '20']);
    const discharged = throughput.intervals.reduce((s, i) => s + i.dischargeKw, 0) / 1000;
    close(throughput.degradationCost, 20 * discharged, 'throughput cost = 20 $/MWh x MWh discharged');
    close(throughput.objective, throughput.revenue.energy - throughput.degradationCost, 'objective');
    assert.ok(throughput.objective <= free.objective + 1e-6);
    assert.ok(throughput.cycles <= free.cycles + 1e-6);

    const segments = await plan([
      '--prices',
      hourlyFixture,
      ...battery,
      '--cycle-segments',
      '10',
      '--cycle-cost-usd-per-mwh',
      '250000',
      '--stress',
      'k=1/6000,b=2',
    ]);
    assert.ok(segments.degradationCost > 0);
    close(segments.objective, segments.revenue.energy - segments.degradationCost, 'objective');
    assert.ok(segments.objective <= free.objective + 1e-6);
    assert.ok(segments.cycles <= free.cycles + 1e-6);
    assertSchedule(segments, { runs, e0: 1000, etaC: 0.95, etaD: 0.95, hours: 1, powerKw: 1000, energyKwh: 2000 });
  });

  test('--horizon-hours cuts a run; each horizon starts from the energy the previous one ended with', async () => {
    const json = await plan(['--prices', hourlyFixture, ...battery, '--horizon-hours', '12']);
    assert.equal(json.intervals.length, 48);
    // Continuity holds across the 12-hour cuts; only the two runs restart from soc0.
    assertSchedule(json, { runs, e0: 1000, etaC: 0.95, etaD: 0.95, hours: 1, powerKw: 1000, energyKwh: 2000 });
  });

  test('text mode prints what was read and a summary table', async () => {
    const result = await runCli(['dispatch', 'plan', '--prices', hourlyFixture, ...battery], { cwd: temp.dir() });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /48 intervals of 60 min/);
    assert.match(result.stdout, /energy price: column "da_lmp_usd_per_mwh", \$\/MWh/);
    assert.match(result.stdout, /UTC wall clock/);
    assert.match(
      result.stdout,
      /HORIZON START\s+INTERVALS\s+ENERGY \$\s+REGUP \$\s+REGDOWN \$\s+DEGRADATION \$\s+OBJECTIVE \$\s+CYCLES/,
    );
    assert.match(result.stdout, /\n2020-03-10T00:00:00\.000Z\s+24\s/);
    assert.match(result.stdout, /\ntotal\s+48\s/);
  });
});

describe('gridseam dispatch plan: errors', () => {
  function assertOneErrorLine(result: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
    assert.equal(errorLines.length, 1, result.stderr);
    assert.match(errorLines[0] as string, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }

  test('the binary: a missing option and a bad value in the price file exit 2 with one error line', async () => {
    const prices = await temp.file('bad.csv', 'time,price\n2024-01-01T00:00Z,10\n2024-01-01T01:00Z,NaN\n');
    assertOneErrorLine(
      await runCli(['dispatch', 'plan', '--prices', prices, '--energy-kwh', '2000'], { cwd: temp.dir() }),
      /required option '--power-kw <kW>' not specified/,
    );
    assertOneErrorLine(
      await runCli(['dispatch', 'plan', '--prices', prices, ...battery], { cwd: temp.dir() }),
      /^error: .*bad\.csv: row 2 \(line 3\), column "price": "NaN" is not a finite number \[GW_ERR_VALIDATION\]$/,
    );
  });

  test('missing, out-of-range and conflicting options exit 2 with one error line', async () => {
    const prices = await temp.file('p.csv', 'time,price\n2024-01-01T00:00Z,10\n2024-01-01T01:00Z,50\n');
    const cases: Array<[string[], RegExp]> = [
      [['--power-kw', '1000', '--energy-kwh', '2000'], /required option '--prices <file>'/],
      [['--prices', prices, ...battery, '--soc0', '1.5'], /--soc0 must be a number >= 0 and <= 1/],
      [['--prices', prices, ...battery, '--eta-charge', '0'], /--eta-charge must be a number > 0 and <= 1/],
      [['--prices', prices, '--power-kw', 'lots', '--energy-kwh', '2000'], /--power-kw must be a number > 0/],
      [['--prices', prices, '--power-kw', '1000', '--energy-kwh', '-1'], /--energy-kwh must be a number > 0/],
      [['--prices', prices, ...battery, '--interval-minutes', '7.5'], /--interval-minutes must be an integer/],
      [['--prices', prices, ...battery, '--soc-min', '0.8', '--soc-max', '0.2'], /--soc-min must be below --soc-max/],
      [
        ['--prices', prices, ...battery, '--cycle-segments', '4'],
        /--cycle-segments and --cycle-cost-usd-per-mwh go together/,
      ],
      [
        ['--prices', prices, ...battery, '--cycle-segments', '0', '--cycle-cost-usd-per-mwh', '1'],
        /--cycle-segments must be an integer from 1 to 100/,
      ],
      [['--prices', prices, ...battery, '--stress', 'k=1,b=2'], /--stress shapes the cycle-depth cost/],
      [['--prices', prices, ...battery, '--stress', 'k=1'], /--stress needs both k and b/],
      [['--prices', prices, ...battery, '--stress', 'k=1,b=0.5'], /b >= 1/],
      [['--prices', prices, ...battery, '--stress', 'k=x,b=2'], /--stress must be "k=...,b=..."/],
      [['--prices', prices, ...battery, '--reserve-hours', '1'], /--reserve-hours applies to regulation/],
      [['--prices', prices, ...battery, '--reg-up-column', 'regup'], /--reg-up-column "regup" is not a column/],
      [['--prices', prices, ...battery, '--horizon-hours', '1.5'], /not a whole number of 60-min intervals/],
      [
        ['--prices', join(temp.dir(), 'absent.csv'), ...battery],
        /cannot read .*absent\.csv: ENOENT \[GW_ERR_VALIDATION\]/,
      ],
    ];
    for (const [args, message] of cases)
      assertOneErrorLine(await runCliInProcess(['dispatch', 'plan', ...args], { cwd: temp.dir() }), message);
  });
});

describe('gridseam dispatch rainflow', () => {
  test('--json on the ASTM E1049 example (as SoC fractions): cycles, counts and life consumed', async () => {
    // -2, 1, -3, 5, -1, 3, -4, 4, -2 mapped to (x + 4) / 10.
    const file = await temp.file('soc.csv', 'time,soc\n0,0.2\n1,0.5\n2,0.1\n3,0.9\n4,0.3\n5,0.7\n6,0\n7,0.8\n8,0.2\n');
    const result = await runCli(['dispatch', 'rainflow', '--soc', file, '--json', '--stress', 'k=1,b=1'], {
      cwd: temp.dir(),
    });
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as {
      cycles: Array<{ depth: number; count: number; from: number; to: number }>;
      totalCycles: number;
      lifeConsumed: number;
      stress: { k: number; b: number };
    };
    assert.deepEqual(json.cycles, [
      { depth: 0.3, count: 0.5, from: 0, to: 1 },
      { depth: 0.4, count: 0.5, from: 1, to: 2 },
      { depth: 0.4, count: 1, from: 4, to: 5 },
      { depth: 0.8, count: 0.5, from: 2, to: 3 },
      { depth: 0.9, count: 0.5, from: 3, to: 6 },
      { depth: 0.8, count: 0.5, from: 6, to: 7 },
      { depth: 0.6, count: 0.5, from: 7, to: 8 },
    ]);
    assert.equal(json.totalCycles, 4);
    close(json.lifeConsumed, 2.3, 'sum of count x depth', 1e-12);
    assert.deepEqual(json.stress, { k: 1, b: 1 });

    const defaults = await runCliInProcess(['dispatch', 'rainflow', '--soc', file, '--json'], { cwd: temp.dir() });
    const life = (JSON.parse(defaults.stdout) as { lifeConsumed: number }).lifeConsumed;
    // depth^2 / 6000: (0.5*0.09 + 1.5*0.16 + 0.5*0.36 + 1*0.64 + 0.5*0.81) / 6000 = 1.51 / 6000
    close(life, 1.51 / 6000, 'default stress', 1e-12);
  });

  test('text mode prints the cycles and the life consumed; a bad trace exits 2', async () => {
    const file = await temp.file('trace.csv', '0.5\n1\n0.5\n');
    const result = await runCliInProcess(['dispatch', 'rainflow', '--soc', file], { cwd: temp.dir() });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /3 SoC values \(column "column 1"\)/);
    assert.match(result.stdout, /DEPTH\s+COUNT\s+FROM\s+TO\n0\.5000\s+0\.5\s+0\s+1\n0\.5000\s+0\.5\s+1\s+2/);
    assert.match(result.stdout, /cycles: 1 \(0 full, 2 half\)/);
    assert.match(result.stdout, /life consumed: 0\.0000416667 \(Phi\(depth\) = 0\.000166\d* \* depth\^2\)/);
    const bad = await temp.file('bad-trace.csv', 'soc\n0.5\n150\n');
    const refused = await runCliInProcess(['dispatch', 'rainflow', '--soc', bad], { cwd: temp.dir() });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^error: .*row 2 \(line 3\), column "soc": 150 is not a SoC fraction 0\.\.1/);
    const missing = await runCliInProcess(['dispatch', 'rainflow'], { cwd: temp.dir() });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: required option '--soc <file>' not specified/);
  });
});
