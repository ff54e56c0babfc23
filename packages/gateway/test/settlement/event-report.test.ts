/**
 * SettlementService.eventReport over a real SQLite store (in memory) and the API over inject():
 * event M&V per site, storage device and aggregation from meter and battery telemetry. Every
 * figure below is worked out by hand from the seeds.
 *
 * Calendar (America/New_York, EDT = UTC-4): 12 weekdays 2026-06-01..05, 08..12, 15, 16 (the
 * weekends have no data); the DR event `evt-dr` (program dr-1) is 2026-06-16 15:00-18:00 local on
 * sites s1, s2, s3 with a price signal 0.2 USD/kWh (200 $/MWh); penalty 0.5 USD/kWh (service option).
 * Meter readings every 15 min, constant within each hour; load = -meter activePower.
 *   s1 (meter m1, battery bat-1 150 kW, enrolment reserve 50 kW): history 100 kWh/h, except
 *     06-01 = 91, 06-03 = 200 (an earlier dr-1 event on s1: excluded), 06-10 = 300 (a 'market' event
 *     on bat-1: excluded; a market event on 06-11 cancelled before it started excludes nothing).
 *     Event day: 108.9 in every hour but the event's; bat-1 discharges 40, 50, 120 kW in 15, 16, 17,
 *     so the meter's net load is 68.9, 58.9 and -11.1 (exporting 11.1).
 *   s2 (meter m2, enrolment without reserve): data on 06-12, 06-15, 06-16 only -> 2 weekdays < 5: refused.
 *   s3 (meter m3, reserve 10 kW): history 50 flat, event day 55 except 45 in 15-17.
 * `evt-dr-signal` (dr-1, 06-16 15:30-18:00, s1 only) carries a 60 kW loadDispatch signal instead.
 * bat-1 is idle on history days except 06-10, when it charged 200 kW in every hour.
 *
 * caiso-10in10 (window = hours 11, 12, 13):
 *   s1: eligible 06-01 .. 06-15 without 06-03 and 06-10 = 9 days; baseline (91 + 8 x 100) / 9 = 99;
 *       ratio = 3 x 108.9 / (3 x 99) = 1.1 (inside [0.8, 1.2]); adjusted 108.9;
 *       reductions 108.9 - 68.9 = 40, 50, 108.9 + 11.1 = 120; obligation 50 kWh each.
 *       delivered 210; credit 40 + 50 + 50 = 140; PR 140 / 150; shortfall 10; penalty 5; payment 210 x 0.2 = 42.
 *   s3: the 10 most recent weekdays 06-02 .. 06-15 (06-03's event was on s1 only); 50 -> ratio 1.1,
 *       baseline 55, reduction 10 each; obligation 10: delivered 30, PR 1, shortfall 0, payment 6.
 *   bat-1 (MGO): output 40, 50, 120; gross load = net + output = 108.9, so load offset 40, 50, 108.9
 *       (export 11.1 not credited); obligation 50 (its site's, one battery): delivered 198.9, credit 140,
 *       PR 140 / 150, shortfall 10, penalty 5, payment 198.9 x 0.2 = 39.78.
 *   agg-1 (members bat-1 at s1, m2 at s2, m3 at s3): s2 refused -> sites s1 + s3 per hour:
 *       R 50, 60, 130; O 60 each -> delivered 240, credit 50 + 60 + 60 = 170, PR 170 / 180,
 *       shortfall 10, penalty 5, payment 240 x 0.2 = 48.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Device, Enrolment, Program, ProgramEvent, Reading } from '@gridseam/model';
import type { Aggregation, EventSettlement } from '@gridseam/settlement';
import { AggregationStore } from '../../src/market/stores.ts';
import { type GatewayEventReport, SettlementService } from '../../src/settlement/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { type Harness, harness, json } from '../api/support.ts';

const TZ = 'America/New_York';
/** Local time on a June 2026 day in New York (EDT, UTC-4). */
const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 5, day, hour + 4, minute);
const HISTORY = [1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 15];
const EVENT_DAY = 16;

function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
}

function figures(settlement: EventSettlement | undefined, expected: Omit<EventSettlement, 'intervals'>, what: string) {
  assert.ok(settlement, `${what}: no settlement`);
  for (const key of Object.keys(expected) as Array<keyof typeof expected>)
    close(settlement[key], expected[key], `${what} ${key}`);
}

/** Site load (kWh per hour) by day and hour; undefined = no reading. */
type LoadOf = (day: number, hour: number) => number | undefined;

const LOADS: Record<string, LoadOf> = {
  m1: (day, hour) => {
    if (day === EVENT_DAY) return ({ 15: 68.9, 16: 58.9, 17: -11.1 } as Record<number, number>)[hour] ?? 108.9;
    return ({ 1: 91, 3: 200, 10: 300 } as Record<number, number>)[day] ?? 100;
  },
  m2: (day) => ([12, 15, EVENT_DAY].includes(day) ? 30 : undefined),
  m3: (day, hour) => (day !== EVENT_DAY ? 50 : hour >= 15 && hour < 18 ? 45 : 55),
};
const BATTERY_KW: Record<number, number> = { 15: 40, 16: 50, 17: 120 };
/** bat-1's output on history days, kW: idle, except charging 200 on 06-10 (its market event: m1's 300 = 100 + 200). */
const BATTERY_HISTORY_KW = (day: number) => (day === 10 ? -200 : 0);

function readings(): Reading[] {
  const out: Reading[] = [];
  const push = (deviceId: string, day: number, hour: number, watts: number) => {
    for (let minute = 0; minute < 60; minute += 15)
      out.push({ deviceId, ts: at(day, hour, minute), measurand: 'activePower', value: watts, unit: 'W' });
  };
  for (const day of [...HISTORY, EVENT_DAY])
    for (let hour = 0; hour < 24; hour++) {
      for (const [meter, load] of Object.entries(LOADS)) {
        const kwh = load(day, hour);
        if (kwh !== undefined) push(meter, day, hour, Math.round(-kwh * 1000)); // export positive
      }
      push('bat-1', day, hour, (day === EVENT_DAY ? (BATTERY_KW[hour] ?? 0) : BATTERY_HISTORY_KW(day)) * 1000);
    }
  return out;
}

function meter(id: string, siteId: string): Device {
  return {
    id,
    siteId,
    class: 'meter',
    adapter: { kind: 'simulator', address: `sim://${id}` },
    capabilities: { controls: [] },
    enabled: true,
  };
}

const BAT_1: Device = {
  id: 'bat-1',
  siteId: 's1',
  class: 'battery',
  adapter: { kind: 'simulator', address: 'sim://bat-1' },
  capabilities: {
    ratings: { maxW: 150_000 },
    storage: { capacityWh: 600_000, maxChargeW: 150_000, maxDischargeW: 150_000 },
    controls: ['fixedW'],
  },
  enabled: true,
};

const programs: Program[] = [
  { id: 'dr-1', name: 'Summer DR', kind: 'demand-response', source: 'operator', primacy: 20 },
  { id: 'dispatch', name: 'Battery dispatch', kind: 'wholesale-market', source: 'market', primacy: 200 },
];

const enrolments: Enrolment[] = [
  {
    id: 'e-s1',
    programId: 'dr-1',
    siteId: 's1',
    validFrom: at(1, 0),
    status: 'active',
    reserve: { capacityW: 50_000 },
  },
  { id: 'e-s2', programId: 'dr-1', siteId: 's2', validFrom: at(1, 0), status: 'active' },
  {
    id: 'e-s3',
    programId: 'dr-1',
    siteId: 's3',
    validFrom: at(1, 0),
    status: 'active',
    reserve: { capacityW: 10_000 },
  },
];

function event(id: string, extra: Partial<ProgramEvent>): ProgramEvent {
  return {
    id,
    programId: 'dr-1',
    source: 'operator',
    primacy: 20,
    intervals: [],
    targets: {},
    status: 'completed',
    statusHistory: [],
    createdAt: at(1, 0),
    ...extra,
  };
}

const events: ProgramEvent[] = [
  event('evt-dr', {
    intervals: [
      {
        start: at(EVENT_DAY, 15),
        durationS: 3 * 3600,
        signals: [
          { kind: 'simpleLevel', value: 1, unit: 'level' },
          { kind: 'price', value: 0.2, unit: 'USD/kWh' },
        ],
      },
    ],
    targets: { siteIds: ['s1', 's2', 's3'] },
  }),
  // The same window from 15:30 with a 60 kW load-dispatch signal on s1 only (the obligation source test).
  event('evt-dr-signal', {
    intervals: [
      {
        start: at(EVENT_DAY, 15, 30),
        durationS: 2.5 * 3600,
        signals: [{ kind: 'loadDispatch', value: 60_000, unit: 'W delta' }],
      },
    ],
    targets: { siteIds: ['s1'] },
  }),
  event('evt-dr-earlier', {
    intervals: [{ start: at(3, 15), durationS: 2 * 3600, signals: [{ kind: 'simpleLevel', value: 1 }] }],
    targets: { siteIds: ['s1'] },
  }),
  event('evt-market', {
    programId: 'dispatch',
    source: 'market',
    primacy: 200,
    intervals: [{ start: at(10, 12), durationS: 2 * 3600, signals: [{ kind: 'fixedW', value: -40_000, unit: 'W' }] }],
    targets: { deviceIds: ['bat-1'] },
  }),
  event('evt-market-cancelled', {
    programId: 'dispatch',
    source: 'market',
    primacy: 200,
    intervals: [{ start: at(11, 12), durationS: 3600, signals: [{ kind: 'fixedW', value: -40_000, unit: 'W' }] }],
    targets: { deviceIds: ['bat-1'] },
    status: 'cancelled',
    statusHistory: [{ status: 'cancelled', at: at(10, 20) }],
  }),
];

const aggregation: Aggregation = {
  id: 'agg-1',
  iso: 'PJM',
  resourceId: 'PJM_DER_1',
  participationModel: 'DER Aggregator',
  pricingNodes: ['PN'],
  distributionFactors: [{ pnode: 'PN', factor: 1, validFrom: at(1, 0) }],
  members: [
    { deviceId: 'bat-1', siteId: 's1', capacityKw: 150, pnode: 'PN', validFrom: at(1, 0) },
    { deviceId: 'm2', siteId: 's2', capacityKw: 10, pnode: 'PN', validFrom: at(1, 0) },
    { deviceId: 'm3', siteId: 's3', capacityKw: 10, pnode: 'PN', validFrom: at(1, 0) },
  ],
  utility: { name: 'Utility' },
  registration: { state: 'active', history: [] },
};

describe('SettlementService.eventReport', () => {
  let store: Store;
  let service: SettlementService;
  let report: GatewayEventReport;

  before(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    for (const id of ['s1', 's2', 's3']) await store.sites.create({ id, name: id, timezone: TZ });
    for (const device of [meter('m1', 's1'), meter('m2', 's2'), meter('m3', 's3'), BAT_1])
      await store.devices.create(device);
    for (const program of programs) await store.programs.create(program);
    for (const enrolment of enrolments) await store.enrolments.create(enrolment);
    for (const e of events) await store.events.create(e);
    await store.telemetry.write(readings());
    await new AggregationStore(store).put(aggregation);
    service = new SettlementService({
      store,
      timeZone: TZ,
      penaltyUsdPerKwh: { 'dr-1': 0.5 },
      now: () => at(17, 12),
    });
    report = await service.eventReport('evt-dr');
  });

  after(async () => {
    await store.close();
  });

  test('CAISO 10-in-10 per site: the days chosen, the exclusions, the ratio and the reductions', () => {
    assert.equal(report.method, 'caiso-10in10');
    assert.equal(report.eventDay, '2026-06-16');
    assert.deepEqual(report.eventHours, [15, 16, 17]);
    assert.deepEqual(report.window, { start: at(EVENT_DAY, 15), end: at(EVENT_DAY, 18) });
    assert.equal(report.penaltyUsdPerKwh, 0.5);
    assert.deepEqual(
      report.sites.map((s) => s.siteId),
      ['s1', 's3'],
    );
    const s1 = report.sites[0];
    assert.deepEqual(s1?.baseline?.days, [
      '2026-06-01',
      '2026-06-02',
      '2026-06-04',
      '2026-06-05',
      '2026-06-08',
      '2026-06-09',
      '2026-06-11',
      '2026-06-12',
      '2026-06-15',
    ]);
    assert.equal(s1?.baseline?.adjustment.kind, 'ratio');
    close(s1?.baseline?.adjustment.applied, 1.1, 's1 ratio');
    s1?.baseline?.intervals.forEach((interval, i) => {
      close(interval.unadjusted, 99, `s1 unadjusted ${i}`);
      close(interval.baseline, 108.9, `s1 baseline ${i}`);
      assert.equal(interval.start, at(EVENT_DAY, 15 + i));
    });
    assert.deepEqual(
      s1?.settlement.intervals.map((i) => [i.hour, Math.round(i.reductionKwh * 1e6) / 1e6, i.obligationKwh]),
      [
        [15, 40, 50],
        [16, 50, 50],
        [17, 120, 50],
      ],
    );
    assert.deepEqual(report.exclusions, [
      { siteId: 's1', kind: 'program-event', days: ['2026-06-03'] },
      { siteId: 's1', kind: 'battery-dispatch', days: ['2026-06-10'] },
    ]);
    const s3 = report.sites[1];
    assert.deepEqual(s3?.baseline?.days, [
      '2026-06-02',
      '2026-06-03',
      '2026-06-04',
      '2026-06-05',
      '2026-06-08',
      '2026-06-09',
      '2026-06-10',
      '2026-06-11',
      '2026-06-12',
      '2026-06-15',
    ]);
    close(s3?.baseline?.adjustment.raw, 1.1, 's3 ratio');
  });

  test('delivered, performance ratio, shortfall, penalty and payment per site', () => {
    figures(
      report.sites[0]?.settlement,
      {
        deliveredKwh: 210,
        obligationKwh: 150,
        performanceRatio: 140 / 150,
        shortfallKwh: 10,
        penaltyUsd: 5,
        energyPaymentUsd: 42,
      },
      's1',
    );
    assert.equal(report.sites[0]?.settlement.intervals[0]?.priceUsdPerMwh, 200);
    figures(
      report.sites[1]?.settlement,
      {
        deliveredKwh: 30,
        obligationKwh: 30,
        performanceRatio: 1,
        shortfallKwh: 0,
        penaltyUsd: 0,
        energyPaymentUsd: 6,
      },
      's3',
    );
  });

  test('the battery by device metering: load offset counted, export not', () => {
    assert.deepEqual(
      report.devices.map((d) => [d.deviceId, d.siteId]),
      [['bat-1', 's1']],
    );
    const bat = report.devices[0]?.settlement;
    assert.deepEqual(
      bat?.intervals.map((i) => Math.round(i.reductionKwh * 1e6) / 1e6),
      [40, 50, 108.9],
    );
    figures(
      bat,
      {
        deliveredKwh: 198.9,
        obligationKwh: 150,
        performanceRatio: 140 / 150,
        shortfallKwh: 10,
        penaltyUsd: 5,
        energyPaymentUsd: 39.78,
      },
      'bat-1',
    );
  });

  test('the aggregation sums its reported member sites; the refused site is noted', () => {
    assert.deepEqual(
      report.aggregations.map((a) => [a.aggregationId, a.memberSiteIds]),
      [['agg-1', ['s1', 's3']]],
    );
    figures(
      report.aggregations[0]?.settlement,
      {
        deliveredKwh: 240,
        obligationKwh: 180,
        performanceRatio: 170 / 180,
        shortfallKwh: 10,
        penaltyUsd: 5,
        energyPaymentUsd: 48,
      },
      'agg-1',
    );
    const notes = report.notes.join('\n');
    assert.match(notes, /site s2: baseline refused \(.*2 eligible weekday day\(s\).*at least 5 required\): left out/);
    assert.match(notes, /site s2: no obligation/);
    assert.match(notes, /aggregation agg-1: member site\(s\) s2 not in the report/);
    assert.match(notes, /site s1: excluded 1 day\(s\) with other events of program dr-1 at the site: 2026-06-03/);
    assert.match(notes, /site s1: excluded 1 day\(s\) with 'market' events on the site's storage.*: 2026-06-10/);
  });

  test('meter before / meter after and device metering at the 15-minute settlement interval', async () => {
    // MBMA: the hour before 15:00 is 4 x 108.9 / 4 = 27.225 kWh per interval; event intervals
    // 17.225, 14.725, -2.775 -> R 10, 12.5, 30 (x 4); O = 50 kW x 0.25 h = 12.5 -> the hourly totals.
    const mbma = await service.eventReport('evt-dr', { method: 'meter-before-meter-after' });
    assert.equal(mbma.intervalMinutes, 15);
    const s1 = mbma.sites.find((s) => s.siteId === 's1');
    assert.equal(s1?.settlement.intervals.length, 12);
    close(s1?.baseline?.intervals[0]?.baseline, 27.225, 'mbma baseline');
    figures(
      s1?.settlement,
      {
        deliveredKwh: 210,
        obligationKwh: 150,
        performanceRatio: 140 / 150,
        shortfallKwh: 10,
        penaltyUsd: 5,
        energyPaymentUsd: 42,
      },
      'mbma s1',
    );
    // s2 has the event day's data: MBMA measures it (flat 30: no reduction).
    close(mbma.sites.find((s) => s.siteId === 's2')?.settlement.deliveredKwh, 0, 'mbma s2');
    // Device metering: the site is credited its battery's load offset (198.9); s2 and s3 have no storage.
    const mgo = await service.eventReport('evt-dr', { method: 'device-metering' });
    assert.deepEqual(
      mgo.sites.map((s) => s.siteId),
      ['s1'],
    );
    close(mgo.sites[0]?.settlement.deliveredKwh, 198.9, 'mgo s1');
    assert.match(mgo.notes.join('\n'), /site s3: device-metering needs a storage device/);
  });

  test('the obligation from the event signal, over the covered part of a partial first hour', async () => {
    // 15:30-18:00 at 60 kW: O = 30, 60, 60 kWh; R = 40, 50, 120 -> credit 30 + 50 + 60 = 140 of 150,
    // shortfall 10 (hour 16), penalty 5; no price signal, so no payment.
    const signal = await service.eventReport('evt-dr-signal');
    assert.deepEqual(signal.window, { start: at(EVENT_DAY, 15), end: at(EVENT_DAY, 18) });
    assert.deepEqual(
      signal.sites[0]?.settlement.intervals.map((i) => i.obligationKwh),
      [30, 60, 60],
    );
    figures(
      signal.sites[0]?.settlement,
      {
        deliveredKwh: 210,
        obligationKwh: 150,
        performanceRatio: 140 / 150,
        shortfallKwh: 10,
        penaltyUsd: 5,
        energyPaymentUsd: 0,
      },
      'signal s1',
    );
    assert.match(signal.notes.join('\n'), /covers part of its first or last 60-minute interval/);
  });

  test('a +05:30 zone: local hours straddle the UTC hours, read in 30-minute buckets', async () => {
    // Asia/Kolkata: the event 19:00-22:00Z is local 00:30-03:30, so the hourly intervals start at
    // 18:30, 19:30, 20:30 and 21:30Z, each half of two UTC hours. bat-1 (0 | 40 | 50 | 120 | 0 kW by
    // UTC hour) gives 20, 45, 85, 60 kWh; the meter's net import 88.9, 63.9, 23.9, 48.9, so the gross
    // load is 108.9 each and all of it is load offset: delivered 210. The 50 kW reserve over the
    // covered half hours: O = 25, 50, 50, 25 -> credit 20 + 45 + 50 + 25 = 140 of 150, shortfall 5 + 5.
    const kolkata = new SettlementService({ store, timeZone: 'Asia/Kolkata', intervalMinutes: 60 });
    const mgo = await kolkata.eventReport('evt-dr', { method: 'device-metering' });
    assert.deepEqual(mgo.window, { start: at(EVENT_DAY, 14, 30), end: at(EVENT_DAY, 18, 30) });
    assert.deepEqual(mgo.eventHours, [0, 1, 2, 3]);
    const bat = mgo.devices[0]?.settlement;
    assert.deepEqual(
      bat?.intervals.map((i) => [Math.round(i.reductionKwh * 1e6) / 1e6, i.obligationKwh]),
      [
        [20, 25],
        [45, 50],
        [85, 50],
        [60, 25],
      ],
    );
    figures(
      bat,
      {
        deliveredKwh: 210,
        obligationKwh: 150,
        performanceRatio: 140 / 150,
        shortfallKwh: 10,
        penaltyUsd: 0,
        energyPaymentUsd: 42,
      },
      'kolkata bat-1',
    );
  });

  test('on gross load (meter + storage) dispatch days stay eligible and the site shows its load response alone', async () => {
    // Gross load on s1 = net + bat-1's output: 06-10 = 300 - 200 = 100, so only 06-03 (dr-1) is
    // excluded: the 10 most recent of 06-01 .. 06-15 -> (91 + 9 x 100) / 10 = 99.1. Event day: gross
    // 108.9 in every hour (68.9 + 40, 58.9 + 50, -11.1 + 120), ratio 108.9 / 99.1, baseline 108.9:
    // reduction 0 in every event hour: the 210 kWh were the battery's (devices[], unchanged).
    const gross = await service.eventReport('evt-dr', { load: 'gross' });
    const s1 = gross.sites.find((s) => s.siteId === 's1');
    assert.equal(s1?.baseline?.days.length, 10);
    assert.ok(s1?.baseline?.days.includes('2026-06-10'));
    assert.ok(!s1?.baseline?.days.includes('2026-06-03'));
    close(s1?.baseline?.adjustment.applied, 108.9 / 99.1, 's1 gross ratio');
    for (const interval of s1?.baseline?.intervals ?? []) close(interval.reduction, 0, 's1 gross reduction');
    assert.deepEqual(
      gross.exclusions.filter((e) => e.siteId === 's1'),
      [{ siteId: 's1', kind: 'program-event', days: ['2026-06-03'] }],
    );
    close(gross.devices.find((d) => d.deviceId === 'bat-1')?.settlement.deliveredKwh, 198.9, 'bat-1 delivered');
    // s3 has no storage: gross is its net load, the same baseline as before.
    close(gross.sites.find((s) => s.siteId === 's3')?.baseline?.adjustment.raw, 1.1, 's3 ratio');
    await assert.rejects(service.eventReport('evt-dr', { load: 'both' as 'net' }), { code: 'GW_ERR_VALIDATION' });
  });

  test('the API: viewer reads, the query is validated, an unknown event is not found', async () => {
    const h: Harness = await harness({ store, api: { settlement: service } });
    try {
      const url = '/api/settlement/events/evt-dr/report';
      // obligationKw 60 for every site: s1 credit 40 + 50 + 60 = 150 of 180; shortfall 20 + 10 = 30 at $1.
      const answer = await h.call('viewer', { method: 'GET', url: `${url}?obligationKw=60&penaltyUsdPerKwh=1` });
      assert.equal(answer.statusCode, 200, answer.body);
      const body = json<GatewayEventReport>(answer);
      figures(
        body.sites[0]?.settlement,
        {
          deliveredKwh: 210,
          obligationKwh: 180,
          performanceRatio: 150 / 180,
          shortfallKwh: 30,
          penaltyUsd: 30,
          energyPaymentUsd: 42,
        },
        'api s1',
      );
      assert.equal((await h.call(undefined, { method: 'GET', url })).statusCode, 401);
      for (const [query, path] of [
        ['method=caiso-11in10', '/method'],
        ['obligationKw=-1', '/obligationKw'],
        ['penaltyUsdPerKwh=NaN', '/penaltyUsdPerKwh'],
        ['holidays=2026-13-01', '/holidays'],
      ] as const) {
        const refused = await h.call('viewer', { method: 'GET', url: `${url}?${query}` });
        assert.equal(refused.statusCode, 400, query);
        const error = json<{ code: string; issues: Array<{ path: string }> }>(refused);
        assert.equal(error.code, 'GW_ERR_VALIDATION');
        assert.ok(
          error.issues.some((i) => i.path.startsWith(path)),
          `${query}: ${JSON.stringify(error.issues)}`,
        );
      }
      const missing = await h.call('viewer', { method: 'GET', url: '/api/settlement/events/nope/report' });
      assert.equal(missing.statusCode, 404);
      assert.equal(json<{ code: string }>(missing).code, 'GW_ERR_NOT_FOUND');
    } finally {
      await h.app.close();
      await h.bus.close();
    }
  });
});
