/**
 * settlementLines, reconcile, dailySummaries and the CSV / JSON exports on hand-built ledgers;
 * every figure is worked out in the comments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { Claim, Ledger, MeteredInterval, ProgramRule, SettlementLine } from '../../src/contract.ts';
import { UNATTRIBUTED } from '../../src/contract.ts';
import {
  buildLedger,
  dailySummaries,
  formatUsd,
  ledgerToCsv,
  linesToCsv,
  reconcile,
  reconciliationToCsv,
  settlementJson,
  settlementLines,
  settlementTotals,
} from '../../src/ledger/index.ts';

const T0 = Date.UTC(2026, 5, 1, 17); // 2026-06-01 17:00Z = 10:00 PDT
const T1 = T0 + 3_600_000;

const DR: ProgramRule = { id: 'DR', kind: 'retail', precedence: 10, penaltyChargeCode: 'DR_NONPERF' };
const REG_UP: ProgramRule = {
  id: 'REG_UP',
  kind: 'wholesale',
  precedence: 20,
  stacksWith: ['DR'],
  capacityChargeCode: 'CAISO_RU_CAP',
};
const ENERGY: ProgramRule = { id: 'ENERGY', kind: 'wholesale', precedence: 30, energyChargeCode: 'CAISO_6011' };
const PROGRAMS = [DR, REG_UP, ENERGY];

function claim(programId: string, fields: Partial<Claim> = {}): Claim {
  return { deviceId: 'b1', programId, start: T0, intervalMinutes: 60, ...fields };
}
function meter(energyKwh: number, fields: Partial<MeteredInterval> = {}): MeteredInterval {
  return { deviceId: 'b1', start: T0, intervalMinutes: 60, energyKwh, headroomKw: 100, ...fields };
}
const brief = (lines: readonly SettlementLine[]) =>
  lines.map((l) => [l.programId, l.chargeCode, l.quantity, l.unit, l.price, l.amount]);

// The shared scenario. Meter 40 kWh, cost $2. DR claims 30 kWh at $100/MWh. REG_UP (stacks with DR) claims
// 35 kWh with no energy price and 20 kW at $12/MW-h. ENERGY claims 10 kWh at $50/MWh.
// Ledger: DR 30; REG_UP 35 (30 shared with DR + 5 fresh); ENERGY 5 (cut from 10); unattributed 0.
// Wear by |energy|: 30 + 35 + 5 = 70 -> DR 2 x 30/70, REG_UP 1, ENERGY 2 x 5/70.
const claims = [
  claim('DR', { energyKwh: 30, energyPriceUsdPerMwh: 100 }),
  claim('REG_UP', { energyKwh: 35, capacityKw: 20, capacityPriceUsdPerMwh: 12 }),
  claim('ENERGY', { energyKwh: 10, energyPriceUsdPerMwh: 50 }),
];
const metered = [meter(40, { degradationUsd: 2 })];
const ledger = buildLedger(claims, metered, PROGRAMS);

describe('settlementLines', () => {
  it('prices energy, capacity, wear and penalties per charge code', () => {
    const lines = settlementLines(ledger, claims, PROGRAMS, {
      // DR short by 4 kWh at $0.50/kWh -> -$2.
      penalties: [{ programId: 'DR', deviceId: 'b1', start: T0, intervalMinutes: 60, shortfallKwh: 4, usdPerKwh: 0.5 }],
      resourceIdOf: (deviceId) => `RES_${deviceId}`,
    });
    assert.ok(lines.every((l) => l.resourceId === 'RES_b1' && l.source === 'SHADOW' && l.start === T0));
    const [drWear, regUpWear, energyWear] = [(2 * 30) / 70, 1, (2 * 5) / 70];
    assert.deepEqual(brief(lines), [
      // DR: 30 kWh x $0.1/kWh = $3.
      ['DR', 'DR:ENERGY', 30, 'kWh', 0.1, 3],
      ['DR', 'DR:DEGRADATION', lines[1]!.quantity, 'USD', -1, -lines[1]!.quantity],
      // REG_UP: 5 fresh kWh and 30 shared (':STACKED'), no energy price -> $0; capacity 20 kW x 1 h x $0.012 = $0.24.
      ['REG_UP', 'REG_UP:ENERGY', 5, 'kWh', 0, 0],
      ['REG_UP', 'REG_UP:ENERGY:STACKED', 30, 'kWh', 0, 0],
      ['REG_UP', 'CAISO_RU_CAP', 20, 'kW', 0.012, 0.24],
      ['REG_UP', 'REG_UP:DEGRADATION', regUpWear, 'USD', -1, -regUpWear],
      // ENERGY: 5 kWh x $0.05 = $0.25, under its own code.
      ['ENERGY', 'CAISO_6011', 5, 'kWh', 0.05, 0.25],
      ['ENERGY', 'ENERGY:DEGRADATION', lines[7]!.quantity, 'USD', -1, -lines[7]!.quantity],
      // Penalty under DR's code: 4 x 0.5 = $2.
      ['DR', 'DR_NONPERF', 2, 'USD', -1, -2],
    ]);
    assert.ok(Math.abs(lines[1]!.quantity - drWear) < 1e-15 && Math.abs(lines[7]!.quantity - energyWear) < 1e-15);
  });

  it('unattributed energy has a quantity and no price; a 15-min capacity line is kW x 0.25 h', () => {
    // Meter -12 kWh over 15 min (charging, 48 kW), no claims on energy: unattributed -12.
    // SPIN holds 40 kW at $8/MW-h: quantity 40 x 0.25 = 10 kW-h, price 0.008 -> $0.08.
    const programs: ProgramRule[] = [{ id: 'SPIN', kind: 'wholesale', precedence: 1 }];
    const spin = [claim('SPIN', { intervalMinutes: 15, capacityKw: 40, capacityPriceUsdPerMwh: 8 })];
    const small = buildLedger(spin, [meter(-12, { intervalMinutes: 15 })], programs);
    const lines = settlementLines(small, spin, programs);
    assert.deepEqual(brief(lines), [
      ['SPIN', 'SPIN:CAPACITY', 10, 'kW', 0.008, 0.08],
      [UNATTRIBUTED, 'UNATTRIBUTED:ENERGY', -12, 'kWh', 0, 0],
    ]);
  });

  it('several priced claims of one program: the energy-weighted price', () => {
    // 10 kWh at $40 and 30 kWh at $80 -> (400 + 2400) / 40 = $70/MWh = $0.07/kWh; 40 kWh -> $2.80.
    const two = [
      claim('DR', { energyKwh: 10, energyPriceUsdPerMwh: 40 }),
      claim('DR', { energyKwh: 30, energyPriceUsdPerMwh: 80 }),
    ];
    const lines = settlementLines(buildLedger(two, [meter(40)], PROGRAMS), two, PROGRAMS);
    assert.equal(lines.length, 1);
    assert.ok(Math.abs(lines[0]!.price - 0.07) < 1e-15 && Math.abs(lines[0]!.amount - 2.8) < 1e-12);
  });

  it('refuses bad penalties', () => {
    assert.throws(
      () =>
        settlementLines(ledger, claims, PROGRAMS, {
          penalties: [
            { programId: 'DR', deviceId: 'b1', start: T0, intervalMinutes: 0, shortfallKwh: -1, usdPerKwh: Number.NaN },
          ],
        }),
      (error: unknown) =>
        GridseamError.is(error) &&
        error.code === 'GW_ERR_VALIDATION' &&
        error.issues.map((i) => i.path).join() ===
          '/options/penalties/0/intervalMinutes,/options/penalties/0/shortfallKwh,/options/penalties/0/usdPerKwh',
    );
  });
});

describe('reconcile', () => {
  it('settled equals metered when the stacked kWh count once', () => {
    // DR 30 + REG_UP 5 (fresh) + ENERGY 5 = 40 = meter; REG_UP:ENERGY:STACKED's 30 not counted again.
    const report = reconcile(settlementLines(ledger, claims, PROGRAMS), metered);
    assert.deepEqual(report, { intervals: 1, settledKwh: 40, meteredKwh: 40, gaps: [], toleranceKwh: 1e-6 });
  });

  it('flags each gap kind', () => {
    const line = (fields: Partial<SettlementLine>): SettlementLine => ({
      resourceId: 'b1',
      programId: 'DR',
      chargeCode: 'DR:ENERGY',
      start: T0,
      intervalMinutes: 60,
      quantity: 10,
      unit: 'kWh',
      price: 0.1,
      amount: 1,
      source: 'SHADOW',
      ...fields,
    });
    const lines = [
      line({}), // b1 T0: settled 10 vs metered 10 -> fine
      line({ start: T1, quantity: 9, amount: 0.9 }), // b1 T1: settled 9 vs metered 10 -> quantity
      line({ resourceId: 'b2', quantity: 5, amount: 0.5 }), // b2 T0: no meter -> unmetered
      line({ resourceId: 'b4', unit: 'MWh', quantity: 0.002, amount: 0.2 }), // b4 T0: 2 kWh vs meter 2 -> fine
    ];
    const meters = [meter(10), meter(10, { start: T1 }), meter(7, { deviceId: 'b3' }), meter(2, { deviceId: 'b4' })];
    // The ISO statement: b1 T0 DR:ENERGY $1.00 (agrees), b1 T1 DR:ENERGY $1.00 vs our $0.90 -> statement gap;
    // b9 REG_UP $5 that we never settled -> statement gap (ours $0).
    const statement = [
      line({ source: 'ISO_STATEMENT' }),
      line({ start: T1, amount: 1, source: 'ISO_STATEMENT' }),
      line({
        resourceId: 'b9',
        chargeCode: 'REG_UP:CAPACITY',
        unit: 'MW',
        quantity: 0.01,
        amount: 5,
        source: 'ISO_STATEMENT',
      }),
    ];
    const report = reconcile(lines, meters, { statement });
    assert.deepEqual(
      report.gaps.map((g) => [g.deviceId, g.start, g.kind, g.settledKwh, g.meteredKwh]),
      [
        ['b1', T1, 'quantity', 9, 10],
        ['b2', T0, 'unmetered', 5, 0],
        ['b3', T0, 'unsettled', 0, 7],
        ['b1', T1, 'statement', 9, 10], // quantities of ours and theirs, kWh
        ['b9', T0, 'statement', 0, 10], // 0.01 MW -> 10 kW
      ],
    );
    // Totals over the 5 resource-intervals: settled |10|+|9|+|5|+|2|+0 = 26, metered 10+10+0+7+2 = 29.
    assert.equal(report.intervals, 5);
    assert.equal(report.settledKwh, 26);
    assert.equal(report.meteredKwh, 29);
    assert.ok(report.gaps.every((g) => g.message.length > 10));
  });

  it('folds ":STACKED" back into its code against the statement and maps devices to resources', () => {
    // Two batteries of one resource AGG: b1 ledger above (40 kWh) and b2 metered 10 kWh unattributed -> 50.
    const both = [...metered, meter(10, { deviceId: 'b2' })];
    const resourceIdOf = () => 'AGG';
    const lines = settlementLines(buildLedger(claims, both, PROGRAMS), claims, PROGRAMS, { resourceIdOf });
    // The ISO pays REG_UP:ENERGY on all 35 kWh at $0 and DR's 30 kWh at $3: no statement gap.
    const statement: SettlementLine[] = [
      {
        resourceId: 'AGG',
        programId: 'REG_UP',
        chargeCode: 'REG_UP:ENERGY',
        start: T0,
        intervalMinutes: 60,
        quantity: 35,
        unit: 'kWh',
        price: 0,
        amount: 0,
        source: 'ISO_STATEMENT',
      },
      {
        resourceId: 'AGG',
        programId: 'DR',
        chargeCode: 'DR:ENERGY',
        start: T0,
        intervalMinutes: 60,
        quantity: 30,
        unit: 'kWh',
        price: 0.1,
        amount: 3.004,
        source: 'ISO_STATEMENT',
      },
    ];
    const report = reconcile(lines, both, { statement, resourceIdOf });
    assert.deepEqual(report.gaps, []);
    assert.equal(report.settledKwh, 50);
    assert.equal(report.meteredKwh, 50);
  });
});

describe('dailySummaries', () => {
  it('groups by local operating day and program; revenue positive only, penalties and wear positive', () => {
    // America/Los_Angeles (PDT, UTC-7). 06:30Z on June 2 is 23:30 June 1; 07:00Z is 00:00 June 2.
    const a = Date.UTC(2026, 5, 2, 6, 30);
    const b = Date.UTC(2026, 5, 2, 7, 0);
    const programs: ProgramRule[] = [{ id: 'ENERGY', kind: 'wholesale', precedence: 1 }];
    const dayClaims = [
      claim('ENERGY', { start: a, intervalMinutes: 30, energyKwh: 10, energyPriceUsdPerMwh: 200, capacityKw: 4 }),
      claim('ENERGY', { start: b, intervalMinutes: 30, energyKwh: -8, energyPriceUsdPerMwh: 20 }),
    ];
    const dayMeters = [
      meter(10, { start: a, intervalMinutes: 30, degradationUsd: 0.3 }),
      meter(-8, { start: b, intervalMinutes: 30, degradationUsd: 0.1 }),
    ];
    const dayLedger = buildLedger(dayClaims, dayMeters, programs);
    const lines = settlementLines(dayLedger, dayClaims, programs, {
      penalties: [
        { programId: 'ENERGY', deviceId: 'b1', start: b, intervalMinutes: 30, shortfallKwh: 2, usdPerKwh: 1.5 },
      ],
    });
    // June 1: 10 kWh x $0.2 = $2 revenue, capacity 4 kW x 0.5 h = 2 kW-h (price 0 -> $0), wear 0.3.
    // June 2: -8 kWh x $0.02 = -$0.16 (a cost, not revenue), penalty 2 x 1.5 = $3, wear 0.1.
    assert.deepEqual(dailySummaries(dayLedger.entries, lines, 'America/Los_Angeles'), [
      {
        date: '2026-06-01',
        programId: 'ENERGY',
        energyKwh: 10,
        capacityKwH: 2,
        revenueUsd: 2,
        penaltyUsd: 0,
        degradationUsd: 0.3,
      },
      {
        date: '2026-06-02',
        programId: 'ENERGY',
        energyKwh: -8,
        capacityKwH: 0,
        revenueUsd: 0,
        penaltyUsd: 3,
        degradationUsd: 0.1,
      },
    ]);
    // The same instants in UTC are one day, June 2.
    assert.deepEqual(
      dailySummaries(dayLedger.entries, lines, 'UTC').map((s) => [s.date, s.energyKwh, s.revenueUsd, s.penaltyUsd]),
      [['2026-06-02', 2, 2, 3]],
    );
  });
});

describe('settlementTotals', () => {
  it('adds up a run: revenue, energy bought, penalties, wear, attributed and metered energy, counts', () => {
    const base = { deviceId: 'b1', intervalMinutes: 60, headroomKw: 5 };
    const metered: MeteredInterval[] = [
      { ...base, start: 0, energyKwh: 4 },
      { ...base, start: 3_600_000, energyKwh: -2, throughputKwh: 3 },
    ];
    const entry = { deviceId: 'b1', intervalMinutes: 60, capacityKw: 0, degradationUsd: 0 };
    const ledger: Ledger = {
      entries: [
        { ...entry, start: 0, programId: 'dr', energyKwh: 3 },
        { ...entry, start: 0, programId: UNATTRIBUTED, energyKwh: 1 },
        { ...entry, start: 3_600_000, programId: 'da', energyKwh: -2 },
      ],
      curtailedClaims: [{ deviceId: 'b1', start: 0, programId: 'dr', claimed: 4, attributed: 3 }],
    };
    const line = { resourceId: 'b1', intervalMinutes: 60, price: 0, source: 'SHADOW' as const };
    const lines: SettlementLine[] = [
      { ...line, programId: 'dr', chargeCode: 'dr:ENERGY', start: 0, quantity: 3, unit: 'kWh', amount: 0.6 },
      { ...line, programId: 'da', chargeCode: 'da:ENERGY', start: 3_600_000, quantity: -2, unit: 'kWh', amount: -0.1 },
      { ...line, programId: 'dr', chargeCode: 'dr:PENALTY', start: 0, quantity: 0.5, unit: 'USD', amount: -0.5 },
    ];
    const totals = settlementTotals({
      metered,
      ledger,
      lines,
      claims: [],
      reconciliation: { intervals: 2, settledKwh: 6, meteredKwh: 6, toleranceKwh: 1e-6, gaps: [] },
      summaries: [
        {
          date: '1970-01-01',
          programId: 'dr',
          energyKwh: 3,
          capacityKwH: 0,
          revenueUsd: 0.6,
          penaltyUsd: 0.5,
          degradationUsd: 0.03,
        },
        {
          date: '1970-01-01',
          programId: 'da',
          energyKwh: -2,
          capacityKwH: 0,
          revenueUsd: 0,
          penaltyUsd: 0,
          degradationUsd: 0.02,
        },
      ],
    });
    // Bought 0.1 (the charging line; the penalty is USD, not energy); net 0.6 - 0.1 - 0.5 - 0.05 = -0.05.
    assert.deepEqual(
      {
        ...totals,
        netUsd: Number(totals.netUsd.toFixed(12)),
        degradationUsd: Number(totals.degradationUsd.toFixed(12)),
      },
      {
        attributedKwh: 5, // |3| + |-2|, unattributed left out
        meteredKwh: 2, // 4 - 2
        throughputKwh: 7, // 4 + 3
        revenueUsd: 0.6,
        energyCostUsd: 0.1,
        penaltyUsd: 0.5,
        degradationUsd: 0.05,
        netUsd: -0.05,
        lines: 3,
        entries: 3,
        claims: 0,
        curtailedClaims: 1,
        gaps: 0,
      },
    );
  });
});

describe('exports', () => {
  it('formats money to cents, half away from zero, never -0.00', () => {
    assert.deepEqual([1.005, 2.675, -2.5, -0.001, 0, 1234.5, 0.125, -0.125].map(formatUsd), [
      '1.01',
      '2.68',
      '-2.50',
      '0.00',
      '0.00',
      '1234.50',
      '0.13',
      '-0.13',
    ]);
  });

  it('quotes CSV fields per RFC 4180 and prints times as ISO UTC and epoch ms', () => {
    const hostile: Ledger = {
      entries: [
        {
          deviceId: 'b,1',
          siteId: 'say "hi"',
          start: T0,
          intervalMinutes: 60,
          programId: 'line\nbreak',
          energyKwh: 1.5,
          capacityKw: 0,
          degradationUsd: 0.125,
        },
        {
          deviceId: 'b2',
          start: T0,
          intervalMinutes: 60,
          programId: UNATTRIBUTED,
          energyKwh: -0,
          capacityKw: 0,
          degradationUsd: 0,
        },
      ],
      curtailedClaims: [],
    };
    assert.equal(
      ledgerToCsv(hostile.entries),
      'device_id,site_id,program_id,start_utc,start_ms,interval_minutes,energy_kwh,capacity_kw,degradation_usd\r\n' +
        `"b,1","say ""hi""","line\nbreak",2026-06-01T17:00:00.000Z,${T0},60,1.5,0,0.13\r\n` +
        `b2,,unattributed,2026-06-01T17:00:00.000Z,${T0},60,0,0,0.00\r\n`,
    );
    const lines = settlementLines(ledger, claims, PROGRAMS);
    const csv = linesToCsv(lines).split('\r\n');
    assert.equal(
      csv[0],
      'resource_id,program_id,charge_code,start_utc,start_ms,interval_minutes,quantity,unit,price,amount,source',
    );
    assert.equal(csv[1], `b1,DR,DR:ENERGY,2026-06-01T17:00:00.000Z,${T0},60,30,kWh,0.1,3.00,SHADOW`);
    assert.equal(csv.length, lines.length + 2); // header + lines + the empty string after the final CRLF
  });

  it('writes reconciliation gaps as CSV', () => {
    const report = reconcile([], [meter(7, { deviceId: 'x"y' })]);
    assert.equal(
      reconciliationToCsv(report),
      'device_id,start_utc,start_ms,kind,settled_kwh,metered_kwh,message\r\n' +
        `"x""y",2026-06-01T17:00:00.000Z,${T0},unsettled,0,7,"7 kWh metered for x""y at 2026-06-01T17:00:00.000Z has no settlement line"\r\n`,
    );
  });

  it('JSON: version 1 and a key order that does not depend on the input', () => {
    const lines = settlementLines(ledger, claims, PROGRAMS);
    const reconciliation = reconcile(lines, metered);
    const summaries = dailySummaries(ledger.entries, lines, 'UTC');
    const json = settlementJson({ ledger, lines, reconciliation, summaries });
    // The same data with every object's keys reversed serialises identically.
    const reversed = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).reverse()) as T;
    const shuffled = settlementJson({
      ledger: { entries: ledger.entries.map(reversed), curtailedClaims: ledger.curtailedClaims.map(reversed) },
      lines: lines.map(reversed),
      reconciliation: reversed(reconciliation),
      summaries: summaries.map(reversed),
    });
    assert.equal(shuffled, json);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['version', 'ledger', 'lines', 'reconciliation', 'summaries']);
    assert.equal(parsed.version, 1);
    assert.ok(json.startsWith('{"version":1,"ledger":{"entries":[{"deviceId":"b1","start":'));
    assert.ok(
      json.includes(
        '"curtailedClaims":[{"deviceId":"b1","start":1780333200000,"programId":"ENERGY","kind":"energy","claimed":10,"attributed":5}]',
      ),
    );
  });
});
