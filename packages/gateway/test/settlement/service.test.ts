/**
 * SettlementService over a real SQLite store (in memory) and the API over inject(): one local day
 * (2026-06-15 in America/New_York, EDT = UTC-4, 24 hourly intervals) of two batteries' telemetry,
 * a DR event, market energy and regulation events priced by stored awards, a dispatch event and the
 * dispatch plan's regulation capacity and wear, one cancelled event, and one hour of bat-1 with no
 * telemetry at all. Every figure below is worked out by hand from the seeds.
 *
 * Seeds (power W, discharge positive; readings every 5 min, constant within each hour):
 *   bat-1 (5 kW / 5 kW, site s1): 12h -4000, 13h -3000, 17h +5000, 18h +5000, 21h +2000, 03h none, else 0.
 *   bat-2 (3 kW / 3 kW, site s1): 06h +1000, 17h +3000, 18h +1500, else 0.
 *   dr-peak (demand-response, primacy 20): site s1, 17-19h, loadLimit + price 0.2 USD/kWh (200 $/MWh).
 *     DR without an energy signal claims each device's discharge up to its rating: bat-1 5 kWh/h,
 *     bat-2 3 kWh/h. Attributed: bat-1 5 + 5, bat-2 3 + 1.5 -> 14.5 kWh; revenue 14.5 x 0.2 = 2.90.
 *   dr-peak, cancelled before it started: bat-2 06-07h -> claims nothing; bat-2's 1 kWh stays unattributed.
 *   market-da (wholesale-market, primacy 150):
 *     energy: bat-1 12-14h fixedW -4000 + energyAward -0.004 MW; awards ENERGY -0.004 MW at 20 and 25 $/MWh.
 *       12h: -4 kWh x 0.020 = -0.080; 13h: metered -3 -> -3 x 0.025 = -0.075 (energy bought 0.155);
 *       shortfall 13h 4 - 3 = 1 kWh x 0.1 $/kWh penalty = 0.10.
 *     regulation: bat-2 09-11h regulationUp 2000 W; awards REG_UP 0.002 MW at 10 $/MW-h:
 *       2 kW x 1 h x 0.010 $/kW-h = 0.02 per hour -> 0.04; capacity 4 kW-h.
 *   dispatch (wholesale-market, primacy 200): bat-1 21h fixedW 2000 -> 2 kWh at the plan's 40 $/MWh = 0.08.
 *   dispatch plan (bat-1 20-23h; regUp 1 kW at 20h and 21h, regUp prices 8 and 9 $/MW-h):
 *     program dispatch:regUp: 1 x 0.008 + 1 x 0.009 = 0.017; capacity 2 kW-h.
 *     wear: plan cost 0.2 USD / planned throughput (0 + 2 + 2 kWh) = 0.05 USD/kWh for bat-1
 *     -> degradation 0.05 x (4 + 3 + 5 + 5 + 2) = 0.95 (market-da 0.35, dr-peak 0.50, dispatch 0.10).
 *   Totals: revenue 2.90 + 0.04 + 0.08 + 0.017 = 3.037; net 3.037 - 0.155 - 0.10 - 0.95 = 1.832.
 *   Reconciliation: every metered interval is settled exactly (lines incl. unattributed = meter);
 *   the one gap is bat-1 03h, 'unmetered' (no telemetry).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Program, ProgramEvent, Reading } from '@gridseam/model';
import { checkLedger, type SettlementLine, UNATTRIBUTED } from '@gridseam/settlement';
import type { DispatchPlanReader } from '../../src/dispatch/plan-store.ts';
import type { DispatchPlanDocument } from '../../src/dispatch/types.ts';
import {
  MARKET_AWARDS_NAMESPACE,
  SETTLEMENT_DAYS_NAMESPACE,
  type SettlementDayDocument,
  type SettlementDaySummary,
  SettlementService,
} from '../../src/settlement/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { battery, type Harness, harness, json, site } from '../api/support.ts';

const HOUR = 3_600_000;
const DATE = '2026-06-15';
const TZ = 'America/New_York';
/** Local midnight of DATE in New York (EDT, UTC-4). */
const DAY = Date.UTC(2026, 5, 15, 4);
const at = (hour: number, minute = 0) => DAY + hour * HOUR + minute * 60_000;

function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
}

const POWER: Record<string, Record<number, number | null>> = {
  'bat-1': { 3: null, 12: -4000, 13: -3000, 17: 5000, 18: 5000, 21: 2000 },
  'bat-2': { 6: 1000, 17: 3000, 18: 1500 },
};

function telemetry(): Reading[] {
  const readings: Reading[] = [];
  for (const [deviceId, byHour] of Object.entries(POWER))
    for (let hour = 0; hour < 24; hour++) {
      const value = byHour[hour] ?? (hour in byHour ? null : 0);
      if (value === null) continue; // the deliberately missing hour
      for (let minute = 0; minute < 60; minute += 5)
        readings.push({ deviceId, ts: at(hour, minute), measurand: 'activePower', value, unit: 'W' });
    }
  return readings;
}

const programs: Program[] = [
  { id: 'dr-peak', name: 'Evening peak', kind: 'demand-response', source: 'operator', primacy: 20 },
  { id: 'market-da', name: 'Day-ahead awards', kind: 'wholesale-market', source: 'market', primacy: 150 },
  { id: 'dispatch', name: 'Battery dispatch', kind: 'wholesale-market', source: 'market', primacy: 200 },
];

function event(id: string, programId: string, extra: Partial<ProgramEvent>): ProgramEvent {
  return {
    id,
    programId,
    source: 'operator',
    primacy: 20,
    intervals: [],
    targets: {},
    status: 'completed',
    statusHistory: [],
    createdAt: DAY - HOUR,
    ...extra,
  };
}

const hourly = (from: number, to: number, signals: ProgramEvent['intervals'][number]['signals']) =>
  Array.from({ length: to - from }, (_, k) => ({ start: at(from + k), durationS: 3600, signals }));

const events: ProgramEvent[] = [
  event('evt-dr', 'dr-peak', {
    intervals: [
      {
        start: at(17),
        durationS: 2 * 3600,
        signals: [
          { kind: 'loadLimit', value: 10_000 },
          { kind: 'price', value: 0.2, unit: 'USD/kWh' },
        ],
      },
    ],
    targets: { siteIds: ['s1'] },
  }),
  event('evt-dr-cancelled', 'dr-peak', {
    intervals: [{ start: at(6), durationS: 3600, signals: [{ kind: 'loadLimit', value: 0 }] }],
    targets: { deviceIds: ['bat-2'] },
    status: 'cancelled',
    statusHistory: [{ status: 'cancelled', at: at(5) }],
  }),
  event('evt-award-energy', 'market-da', {
    source: 'market',
    primacy: 150,
    intervals: hourly(12, 14, [
      { kind: 'fixedW', value: -4000, unit: 'W' },
      { kind: 'energyAward', value: -0.004, unit: 'MW' },
    ]),
    targets: { deviceIds: ['bat-1'] },
  }),
  event('evt-award-reg', 'market-da', {
    source: 'market',
    primacy: 150,
    intervals: hourly(9, 11, [{ kind: 'regulationUp', value: 2000, unit: 'W' }]),
    targets: { deviceIds: ['bat-2'] },
  }),
  event('evt-dispatch', 'dispatch', {
    source: 'market',
    primacy: 200,
    intervals: hourly(21, 22, [{ kind: 'fixedW', value: 2000, unit: 'W' }]),
    targets: { deviceIds: ['bat-1'] },
  }),
];

function award(hour: number, product: string, mw: number, clearingPrice: number) {
  return {
    resourceId: 'RES-1',
    interval: { start: '', end: '', startMs: at(hour), endMs: at(hour + 1), market: 'DA' },
    product,
    mw,
    clearingPrice,
  };
}

function plan(): DispatchPlanDocument {
  const interval = (hour: number, chargeKw: number, dischargeKw: number, regUp?: number) => ({
    start: at(hour),
    end: at(hour + 1),
    chargeKw,
    dischargeKw,
    netKw: dischargeKw - chargeKw,
    energyKwh: 6,
    socPct: 50,
    ...(regUp !== undefined ? { capacityKw: { regUp } } : {}),
  });
  return {
    id: 'plan-1',
    status: 'ok',
    createdAt: at(19, 55),
    triggers: ['cadence'],
    programId: 'dispatch',
    primacy: 200,
    horizon: { start: at(20), end: at(23), intervalSeconds: 3600, intervals: 3, requestedIntervals: 3 },
    prices: {
      source: 'inline',
      energyUsdPerMwh: [30, 40, 50],
      regUpUsdPerMwH: [8, 9, 10],
      openadrIntervals: 0,
    },
    batteries: [
      {
        deviceId: 'bat-1',
        siteId: 's1',
        soc0Pct: 50,
        socMeasuredAt: at(19, 50),
        nameplateKwh: 13.5,
        usableKwh: 13.5,
        chargeKw: 5,
        dischargeKw: 5,
        socMinPct: 10,
        socMaxPct: 95,
        etaCharge: 0.95,
        etaDischarge: 0.95,
        intervals: [interval(20, 0, 0, 1), interval(21, 0, 2, 1), interval(22, 2, 0)],
        revenueUsd: { energy: 0.08 },
        degradationCostUsd: 0.2,
        cycles: 0.15,
        wear: { rainflowCycles: 1, deepestCyclePct: 15, lifeConsumed: 1e-6 },
        overrides: [],
      },
    ],
    leftOut: [],
    overrides: [],
    revenueUsd: { energy: 0.08 },
    degradationCostUsd: 0.2,
    objectiveUsd: -0.12,
    penaltyUsd: 0,
    wear: { lifeConsumed: 1e-6, cycles: 0.15 },
    events: [],
  };
}

const plans: DispatchPlanReader = { latest: async () => plan(), history: async () => [] };

/** Sum of line amounts whose program and code match. */
function amount(lines: readonly SettlementLine[], programId: string, code?: string): number {
  return lines
    .filter((l) => l.programId === programId && (code === undefined || l.chargeCode === code))
    .reduce((sum, l) => sum + l.amount, 0);
}

describe('SettlementService: one day from telemetry, events, awards and the plan', () => {
  let store: Store;
  let h: Harness;
  let service: SettlementService;
  const clock = { now: at(30) }; // the next day, 06:00 local: the whole day is over

  before(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    await store.sites.create(site('s1', { timezone: TZ }));
    await store.devices.create(battery('bat-1', 's1'));
    await store.devices.create(
      battery('bat-2', 's1', {
        capabilities: {
          ratings: { maxW: 3000 },
          storage: { capacityWh: 10_000, maxChargeW: 3000, maxDischargeW: 3000 },
          controls: ['fixedW'],
        },
      }),
    );
    for (const p of programs) await store.programs.create(p);
    for (const e of events) await store.events.create(e);
    await store.telemetry.write(telemetry());
    await store.documents.write(MARKET_AWARDS_NAMESPACE, [
      { id: 'a-12', doc: award(12, 'ENERGY', -0.004, 20) },
      { id: 'a-13', doc: award(13, 'ENERGY', -0.004, 25) },
      { id: 'a-reg', doc: { awards: [award(9, 'REG_UP', 0.002, 10), award(10, 'REG_UP', 0.002, 10)] } },
      { id: 'junk', doc: { note: 'not an award' } },
    ]);
    service = new SettlementService({
      store,
      plans,
      timeZone: TZ,
      intervalMinutes: 60,
      penaltyUsdPerKwh: { 'market-da': 0.1 },
      now: () => clock.now,
    });
    h = await harness({ store, api: { settlement: service } });
  });

  after(() => h.close());

  test('settles the day: claims, a ledger without conflicts, lines and wear as worked out by hand', async () => {
    const doc = await service.settleDay(DATE, 'tester');
    assert.equal(doc.date, DATE);
    assert.equal(doc.from, DAY);
    assert.equal(doc.to, DAY + 24 * HOUR);
    assert.equal(doc.complete, true);
    assert.equal(doc.settledBy, 'tester');
    assert.equal(doc.devices, 2);
    // 24 + 23 metered hours (bat-1 has none at 03h)
    assert.equal(doc.metered.length, 47);
    assert.deepEqual(checkLedger(doc.ledger.entries, doc.metered, doc.programRules, 0.001), []);

    // Rules: registry programs by primacy, then the plan's capacity product.
    assert.deepEqual(
      doc.programRules.map((r) => [r.id, r.kind, r.precedence]),
      [
        ['dr-peak', 'retail', 20],
        ['market-da', 'wholesale', 150],
        ['dispatch', 'wholesale', 200],
        ['dispatch:regUp', 'wholesale', 200],
      ],
    );

    // Claims: DR per device at its rating, market energy and regulation, dispatch energy, plan capacity.
    const claim = (deviceId: string, hour: number, programId: string) =>
      doc.claims.find((c) => c.deviceId === deviceId && c.start === at(hour) && c.programId === programId);
    assert.deepEqual(claim('bat-1', 17, 'dr-peak'), {
      deviceId: 'bat-1',
      siteId: 's1',
      programId: 'dr-peak',
      start: at(17),
      intervalMinutes: 60,
      energyKwh: 5,
      energyPriceUsdPerMwh: 200,
    });
    close(claim('bat-2', 18, 'dr-peak')?.energyKwh, 3, 'bat-2 DR claim at its 3 kW rating');
    assert.equal(claim('bat-2', 6, 'dr-peak'), undefined, 'the cancelled event claims nothing');
    close(claim('bat-1', 12, 'market-da')?.energyKwh, -4, 'market charge');
    close(claim('bat-1', 13, 'market-da')?.energyPriceUsdPerMwh, 25, 'award clearing price');
    close(claim('bat-2', 10, 'market-da')?.capacityKw, 2, 'regulation up 2 kW');
    close(claim('bat-2', 10, 'market-da')?.capacityPriceUsdPerMwh, 10, 'REG_UP clearing price');
    close(claim('bat-1', 21, 'dispatch')?.energyPriceUsdPerMwh, 40, 'the plan price of the dispatch event');
    close(claim('bat-1', 21, 'dispatch:regUp')?.capacityPriceUsdPerMwh, 9, 'the plan regUp price');
    assert.equal(
      doc.claims.length,
      4 + 2 + 2 + 1 + 2,
      'DR 4, market energy 2, regulation 2, dispatch 1, plan capacity 2',
    );

    // Ledger: bat-2's uninstructed 1 kWh at 06h is unattributed; bat-1's 13h market claim was cut to -3.
    const entry = (deviceId: string, hour: number, programId: string) =>
      doc.ledger.entries.find((e) => e.deviceId === deviceId && e.start === at(hour) && e.programId === programId);
    close(entry('bat-2', 6, UNATTRIBUTED)?.energyKwh, 1, 'unattributed discharge');
    close(entry('bat-1', 13, 'market-da')?.energyKwh, -3, 'what the meter delivered');
    close(entry('bat-2', 18, 'dr-peak')?.energyKwh, 1.5, 'DR delivery');
    close(entry('bat-1', 13, 'market-da')?.degradationUsd, 0.15, 'wear 3 kWh x 0.05');
    // cut claims: the market's -4 kWh to -3 at 13h, bat-2's DR 3 kWh to the 1.5 it delivered at 18h
    assert.deepEqual(
      doc.ledger.curtailedClaims.map((c) => [c.deviceId, c.start, c.programId, c.claimed, c.attributed]),
      [
        ['bat-1', at(13), 'market-da', -4, -3],
        ['bat-2', at(18), 'dr-peak', 3, 1.5],
      ],
    );

    // Lines per program, by hand (header).
    const { lines } = doc;
    close(amount(lines, 'dr-peak', 'dr-peak:ENERGY'), 2.9, 'DR revenue');
    close(amount(lines, 'market-da', 'market-da:ENERGY'), -0.155, 'energy bought');
    close(amount(lines, 'market-da', 'market-da:CAPACITY'), 0.04, 'regulation revenue');
    close(amount(lines, 'market-da', 'market-da:PENALTY'), -0.1, 'shortfall penalty');
    close(amount(lines, 'dispatch', 'dispatch:ENERGY'), 0.08, 'dispatch energy');
    close(amount(lines, 'dispatch:regUp', 'dispatch:REG_UP'), 0.017, 'plan regulation capacity');
    close(amount(lines, 'market-da', 'market-da:DEGRADATION'), -0.35, 'market-da wear');
    close(amount(lines, 'dr-peak', 'dr-peak:DEGRADATION'), -0.5, 'DR wear');
    close(amount(lines, 'dispatch', 'dispatch:DEGRADATION'), -0.1, 'dispatch wear');
    assert.deepEqual(doc.penalties, [
      {
        programId: 'market-da',
        deviceId: 'bat-1',
        start: at(13),
        intervalMinutes: 60,
        shortfallKwh: 1,
        usdPerKwh: 0.1,
      },
    ]);

    // Totals and per-program summaries.
    close(doc.totals.revenueUsd, 3.037, 'revenue');
    close(doc.totals.energyCostUsd, 0.155, 'energy bought');
    close(doc.totals.penaltyUsd, 0.1, 'penalties');
    close(doc.totals.degradationUsd, 0.95, 'wear');
    close(doc.totals.netUsd, 1.832, 'net');
    close(doc.totals.meteredKwh, -4 - 3 + 5 + 5 + 2 + 1 + 3 + 1.5, 'metered');
    const summary = (programId: string) => doc.programs.find((p) => p.programId === programId);
    close(summary('dr-peak')?.energyKwh, 14.5, 'DR energy');
    close(summary('market-da')?.capacityKwH, 4, 'market capacity');
    close(summary('dispatch:regUp')?.capacityKwH, 2, 'plan capacity');
    close(summary(UNATTRIBUTED)?.energyKwh, 1, 'unattributed energy');

    // Reconciliation: only the hour without telemetry.
    assert.equal(doc.reconciliation.gaps.length, 1);
    assert.deepEqual(
      { ...doc.reconciliation.gaps[0], message: undefined },
      { deviceId: 'bat-1', start: at(3), kind: 'unmetered', settledKwh: 0, meteredKwh: 0, message: undefined },
    );
    assert.deepEqual(doc.gapsByKind, { unmetered: 1, unsettled: 0, quantity: 0, statement: 0 });
    assert.deepEqual(doc.notes, ['1 market award record(s) not understood and left out']);

    // Stored, indexed and audited.
    const stored = (await store.documents.get(SETTLEMENT_DAYS_NAMESPACE, DATE)) as SettlementDayDocument;
    assert.equal(stored.totals.revenueUsd, doc.totals.revenueUsd);
    const audit = await store.audit.list({ targetType: 'settlement-day', targetId: DATE });
    assert.deepEqual(
      audit.map((a) => [a.action, a.actor]),
      [['settlement.day', 'tester']],
    );
  });

  test('a running day is settled up to the last whole interval; a day not begun is refused', async () => {
    const saved = clock.now;
    try {
      clock.now = at(12, 30); // 12:30 local: intervals 00h..11h are whole
      const doc = await service.settleDay(DATE);
      assert.equal(doc.complete, false);
      assert.equal(doc.settledUntil, at(12));
      assert.equal(doc.metered.length, 12 + 11, 'bat-2 0..11h, bat-1 without 03h');
      // only the regulation hours and nothing after noon
      assert.deepEqual([...new Set(doc.claims.map((c) => c.programId))], ['market-da']);
      await assert.rejects(service.settleDay('2026-06-16'), (e: { code: string; issues: unknown }) => {
        assert.equal(e.code, 'GW_ERR_VALIDATION');
        assert.deepEqual(e.issues, [{ path: '/date', message: `2026-06-16 has not started yet in ${TZ}` }]);
        return true;
      });
    } finally {
      clock.now = saved;
      await service.settleDay(DATE); // back to the whole day for the API tests
    }
  });

  test('the API: operators settle, viewers read days, summaries and CSV exports', async () => {
    const forbidden = await h.call('viewer', { method: 'POST', url: `/api/settlement/days/${DATE}` });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(json(forbidden).code, 'GW_ERR_FORBIDDEN');

    const settled = await h.call('operator', { method: 'POST', url: `/api/settlement/days/${DATE}` });
    assert.equal(settled.statusCode, 200, settled.body);
    const doc = json<SettlementDayDocument>(settled);
    assert.equal(doc.settledBy, 'operator-token');
    close(doc.totals.netUsd, 1.832, 'net over the API');

    for (const bad of ['2026-02-30', '15-06-2026']) {
      const response = await h.call('operator', { method: 'POST', url: `/api/settlement/days/${bad}` });
      assert.equal(response.statusCode, 400, bad);
      assert.equal(json<{ issues: Array<{ path: string }> }>(response).issues[0]?.path, '/date');
    }

    const days = json<SettlementDaySummary[]>(await h.call('viewer', { method: 'GET', url: '/api/settlement/days' }));
    assert.deepEqual(
      days.map((d) => [d.date, d.totals.gaps]),
      [[DATE, 1]],
    );
    assert.equal((days[0] as unknown as Record<string, unknown>).ledger, undefined, 'the list carries summaries only');
    const none = await h.call('viewer', { method: 'GET', url: '/api/settlement/days?from=2026-06-16' });
    assert.deepEqual(json(none), []);

    const full = await h.call('viewer', { method: 'GET', url: `/api/settlement/days/${DATE}` });
    assert.equal(full.statusCode, 200);
    assert.equal(json<SettlementDayDocument>(full).ledger.entries.length, doc.ledger.entries.length);
    const missing = await h.call('viewer', { method: 'GET', url: '/api/settlement/days/2026-06-14' });
    assert.equal(missing.statusCode, 404);
    assert.equal(json(missing).code, 'GW_ERR_NOT_FOUND');

    const summary = json<Array<{ programId: string; revenueUsd: number }>>(
      await h.call('viewer', { method: 'GET', url: `/api/settlement/summary?from=${DATE}&to=${DATE}` }),
    );
    assert.deepEqual(
      summary.map((s) => s.programId),
      ['dispatch', 'dispatch:regUp', 'dr-peak', 'market-da', UNATTRIBUTED],
    );
    close(summary.find((s) => s.programId === 'dr-peak')?.revenueUsd, 2.9, 'DR revenue in the summary');

    const lines = await h.call('viewer', { method: 'GET', url: `/api/settlement/days/${DATE}/lines.csv` });
    assert.equal(lines.statusCode, 200);
    assert.match(String(lines.headers['content-type']), /^text\/csv/);
    assert.match(String(lines.headers['content-disposition']), /settlement-2026-06-15-lines\.csv/);
    const rows = lines.body.split('\r\n');
    assert.equal(
      rows[0],
      'resource_id,program_id,charge_code,start_utc,start_ms,interval_minutes,quantity,unit,price,amount,source',
    );
    assert.equal(rows.length, doc.lines.length + 2, 'header, one row per line, the final CRLF');
    // the penalty: 1 kWh x 0.1 $/kWh at 13h local = 17:00Z
    assert.ok(
      rows.includes(`bat-1,market-da,market-da:PENALTY,2026-06-15T17:00:00.000Z,${at(13)},60,0.1,USD,-1,-0.10,SHADOW`),
      rows.join('\n'),
    );

    const gaps = await h.call('viewer', { method: 'GET', url: `/api/settlement/days/${DATE}/reconciliation.csv` });
    assert.deepEqual(gaps.body.split('\r\n').slice(0, 2), [
      'device_id,start_utc,start_ms,kind,settled_kwh,metered_kwh,message',
      `bat-1,2026-06-15T07:00:00.000Z,${at(3)},unmetered,0,0,no telemetry for bat-1 in this interval`,
    ]);
    const ledger = await h.call('viewer', { method: 'GET', url: `/api/settlement/days/${DATE}/ledger.csv` });
    assert.equal(ledger.body.split('\r\n').length, doc.ledger.entries.length + 2);
    const notSettled = await h.call('viewer', { method: 'GET', url: '/api/settlement/days/2026-06-14/ledger.csv' });
    assert.equal(notSettled.statusCode, 404);
  });
});
