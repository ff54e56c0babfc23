/**
 * The pure part of gateway settlement (src/settlement/gather.ts): telemetry minute buckets to
 * metered intervals, and events, awards and plans to per-device claims on the settlement grid.
 * Hand-computed answers in the comments.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Membership, Program, ProgramEvent } from '@gridseam/model';
import type { DispatchPlanDocument } from '../../src/dispatch/types.ts';
import {
  awardsOf,
  type ClaimSources,
  eventStoppedAt,
  type GatheredClaim,
  gatherClaims,
  meteredIntervals,
  meteringGaps,
  type StorageFacts,
  storageFactsOf,
} from '../../src/settlement/index.ts';
import { battery } from '../api/support.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T = Date.UTC(2026, 0, 5); // a Monday, 00:00Z

const batA: StorageFacts = { deviceId: 'bat-a', siteId: 's1', maxDischargeKw: 5, maxChargeKw: 2, headroomKw: 5 };
const batB: StorageFacts = { deviceId: 'bat-b', siteId: 's1', maxDischargeKw: 3, maxChargeKw: 6, headroomKw: 6 };
const storage = new Map([batA, batB].map((f) => [f.deviceId, f]));

function event(extra: Partial<ProgramEvent>): ProgramEvent {
  return {
    id: 'e1',
    programId: 'p1',
    source: 'operator',
    primacy: 10,
    intervals: [],
    targets: {},
    status: 'completed',
    statusHistory: [],
    createdAt: T - HOUR,
    ...extra,
  };
}

function sources(extra: Partial<ClaimSources>): ClaimSources {
  return {
    grid: { starts: [T, T + HOUR, T + 2 * HOUR, T + 3 * HOUR], intervalMinutes: 60 },
    until: T + 4 * HOUR,
    events: [],
    programs: new Map<string, Program>([
      ['p1', { id: 'p1', name: 'P1', kind: 'wholesale-market', source: 'market', primacy: 10 }],
      ['dr', { id: 'dr', name: 'DR', kind: 'demand-response', source: 'operator', primacy: 20 }],
    ]),
    storage,
    enrolments: [],
    memberships: new Map(),
    awards: [],
    ...extra,
  };
}

const find = (claims: readonly GatheredClaim[], deviceId: string, start: number, programId = 'p1') =>
  claims.find((c) => c.deviceId === deviceId && c.start === start && c.programId === programId);

function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);
}

describe('settlement gathering', () => {
  test('storage facts: ratings in kW, headroom the larger rating; no storage, no facts', () => {
    assert.deepEqual(storageFactsOf(battery('b', 's')), {
      deviceId: 'b',
      siteId: 's',
      maxDischargeKw: 5,
      maxChargeKw: 5,
      headroomKw: 5,
    });
    assert.equal(
      storageFactsOf({ ...battery('m', 's'), capabilities: { controls: [], ratings: { maxW: 1000 } } }),
      undefined,
    );
  });

  test('metered intervals: mean of the minutes with data, throughput of |minutes|, wear priced', () => {
    const grid = { starts: [T, T + 15 * MIN, T + 30 * MIN], intervalMinutes: 15 };
    const buckets = [
      // interval 0: 10 min at +6000 W, 5 min at -3000 W -> mean (60000 - 15000) / 15 = 3000 W -> 0.75 kWh;
      // |mean| (60000 + 15000) / 15 = 5000 W -> 1.25 kWh throughput; wear 1.25 x 0.02 = 0.025 USD
      ...Array.from({ length: 15 }, (_, m) => ({
        start: T + m * MIN,
        avg: m < 10 ? 6000 : -3000,
        min: 0,
        max: 0,
        count: 12,
      })),
      // interval 1: 3 minutes at 2000 W -> 0.5 kWh (the minutes without data do not count)
      ...[0, 1, 2].map((m) => ({ start: T + (15 + m) * MIN, avg: 2000, min: 0, max: 0, count: 1 })),
      // interval 2: nothing; a bucket outside the grid is ignored
      { start: T + 60 * MIN, avg: 9999, min: 0, max: 0, count: 1 },
    ];
    const metered = meteredIntervals(batA, buckets, grid, 0.02);
    assert.equal(metered.length, 2);
    const [first, second] = metered;
    close(first?.energyKwh, 0.75, 'energy');
    close(first?.throughputKwh, 1.25, 'throughput');
    close(first?.degradationUsd, 0.025, 'wear');
    assert.equal(first?.headroomKw, 5);
    assert.equal(first?.intervalMinutes, 15);
    close(second?.energyKwh, 0.5, 'energy of a partly read interval');
    assert.equal(second?.start, T + 15 * MIN);
  });

  test('a group-targeted fixedW is shared by headroom among members in force; overlap prorates', () => {
    const memberships = new Map<string, Membership[]>([
      [
        'g1',
        [
          { groupId: 'g1', deviceId: 'bat-a', validFrom: T - HOUR },
          { groupId: 'g1', deviceId: 'bat-b', validFrom: T - HOUR, validTo: T + HOUR },
          { groupId: 'g1', deviceId: 'pv-1', validFrom: T - HOUR }, // not storage: never claimed
        ],
      ],
    ]);
    const { claims } = gatherClaims(
      sources({
        memberships,
        events: [
          event({
            targets: { groupIds: ['g1'] },
            intervals: [
              {
                start: T + 30 * MIN,
                durationS: 3600,
                signals: [
                  { kind: 'fixedW', value: 8000 },
                  { kind: 'capacityAward', value: 4000 },
                ],
              },
            ],
          }),
        ],
      }),
    );
    // hour 0, [00:30, 01:00): both members; discharge ratings 5 : 3 -> 5000 W and 3000 W for 0.5 h
    close(find(claims, 'bat-a', T)?.energyKwh, 2.5, 'bat-a hour 0');
    close(find(claims, 'bat-b', T)?.energyKwh, 1.5, 'bat-b hour 0');
    close(find(claims, 'bat-a', T)?.obligationKwh, 2.5, 'an obligation');
    // capacity 4000 W shared 5 : 3 -> 2.5 kW held half the hour -> 1.25 kW time-weighted
    close(find(claims, 'bat-a', T)?.capacityKw, 1.25, 'bat-a capacity');
    // hour 1, [01:00, 01:30): bat-b left at 01:00, bat-a takes all 8000 W for 0.5 h
    close(find(claims, 'bat-a', T + HOUR)?.energyKwh, 4, 'bat-a alone');
    assert.equal(find(claims, 'bat-b', T + HOUR), undefined);
    assert.equal(claims.length, 3);
  });

  test('charging shares by charge rating; energyAward in MW; enrolments when there are no targets', () => {
    const { claims } = gatherClaims(
      sources({
        enrolments: [{ id: 'en1', programId: 'p1', siteId: 's1', validFrom: T - HOUR, status: 'active' }],
        events: [
          event({
            intervals: [{ start: T, durationS: 3600, signals: [{ kind: 'energyAward', value: -0.004 }] }],
          }),
        ],
      }),
    );
    // -0.004 MW = -4000 W over the site's storage, charge ratings 2 : 6 -> -1000 W and -3000 W for 1 h
    close(find(claims, 'bat-a', T)?.energyKwh, -1, 'bat-a charge');
    close(find(claims, 'bat-b', T)?.energyKwh, -3, 'bat-b charge');
  });

  test('a DR event without an energy signal claims each device up to its rating, not as an obligation', () => {
    const { claims, notes } = gatherClaims(
      sources({
        events: [
          event({
            programId: 'dr',
            targets: { deviceIds: ['bat-b', 'pv-1'] },
            intervals: [
              {
                start: T + 2 * HOUR,
                durationS: 3600,
                signals: [
                  { kind: 'simpleLevel', value: 2 },
                  { kind: 'price', value: 150, unit: 'USD/MWh' },
                ],
              },
            ],
          }),
          // a limit of a program that is not DR claims nothing
          event({
            id: 'e2',
            targets: { deviceIds: ['bat-a'] },
            intervals: [{ start: T, durationS: 3600, signals: [{ kind: 'exportLimit', value: 0 }] }],
          }),
        ],
      }),
    );
    assert.deepEqual(claims, [
      {
        deviceId: 'bat-b',
        siteId: 's1',
        programId: 'dr',
        start: T + 2 * HOUR,
        intervalMinutes: 60,
        energyKwh: 3,
        energyPriceUsdPerMwh: 150,
        obligationKwh: 0,
      },
    ]);
    assert.deepEqual(notes, []);
  });

  test('a cancelled event counts until it was cancelled; claims stop at `until`', () => {
    const cancelled = event({
      targets: { deviceIds: ['bat-a'] },
      intervals: [{ start: T, durationS: 4 * 3600, signals: [{ kind: 'fixedW', value: 2000 }] }],
      status: 'cancelled',
      statusHistory: [
        { status: 'scheduled', at: T - HOUR },
        { status: 'cancelled', at: T + 90 * MIN },
      ],
    });
    assert.equal(eventStoppedAt(cancelled), T + 90 * MIN);
    assert.equal(eventStoppedAt({ ...cancelled, statusHistory: [] }), Number.NEGATIVE_INFINITY);
    assert.equal(eventStoppedAt({ ...cancelled, status: 'completed' }), Number.POSITIVE_INFINITY);
    const { claims, notes } = gatherClaims(sources({ events: [cancelled], until: T + 3 * HOUR }));
    // 2 kWh in hour 0, 1 kWh in [01:00, 01:30), nothing after
    assert.deepEqual(
      claims.map((c) => [c.start, c.energyKwh]),
      [
        [T, 2],
        [T + HOUR, 1],
      ],
    );
    assert.deepEqual(notes, ['2 claim(s) carry no price (no price signal, award or plan price): quantities only']);
    // the completed event, settled until 03:00: hours 0, 1, 2
    assert.equal(
      gatherClaims(sources({ events: [{ ...cancelled, status: 'completed' }], until: T + 3 * HOUR })).claims.length,
      3,
    );
  });

  test('awards price events by instant, product and MW; junk records are counted, not trusted', () => {
    const award = (product: string, mw: number, price: number, extra: Record<string, unknown> = {}) => ({
      resourceId: 'R',
      interval: { start: '', end: '', startMs: T, endMs: T + HOUR, market: 'DA' },
      product,
      mw,
      clearingPrice: price,
      ...extra,
    });
    const { awards, skipped } = awardsOf([
      award('REG_DN', 0.001, 7),
      { awards: [award('REG_UP', 0.001, 11), { resourceId: 'R', mw: 'lots' }] },
      null,
      award('ENERGY', Number.NaN, 1),
      // the market interface's record of an award split over members: it names the events carrying it
      award('REG_UP', 0.002, 13, { aggregationId: 'agg', eventIds: ['e-share'] }),
      award('REG_UP', 0.002, 13, { eventIds: 'e-share' }),
    ]);
    assert.equal(awards.length, 3);
    assert.equal(skipped, 4);
    const { claims } = gatherClaims(
      sources({
        awards,
        events: [
          event({
            source: 'market',
            targets: { deviceIds: ['bat-a'] },
            intervals: [{ start: T, durationS: 3600, signals: [{ kind: 'regulationUp', value: 1000 }] }],
          }),
          event({
            id: 'e-share',
            source: 'market',
            targets: { deviceIds: ['bat-b'] },
            intervals: [{ start: T, durationS: 3600, signals: [{ kind: 'regulationUp', value: 400 }] }],
          }),
        ],
      }),
    );
    // e1: REG_UP of the same 0.001 MW at 11 $/MW-h (the REG_DN award of that MW is another product)
    assert.equal(find(claims, 'bat-a', T)?.capacityPriceUsdPerMwh, 11);
    assert.equal(find(claims, 'bat-a', T)?.capacityKw, 1);
    // e-share: bat-b's 0.4 kW share of the 0.002 MW award that names its event, at 13 $/MW-h
    assert.equal(find(claims, 'bat-b', T)?.capacityPriceUsdPerMwh, 13);
    assert.equal(find(claims, 'bat-b', T)?.capacityKw, 0.4);
  });

  test("the plan's capacity becomes claims of <program>:<product> at its prices, unless a market award holds it", () => {
    // Only what gatherClaims reads of a plan document (status, program, prices, batteries' intervals).
    const plan = {
      status: 'ok',
      programId: 'dispatch',
      primacy: 200,
      horizon: { start: T, end: T + 2 * HOUR, intervalSeconds: 3600, intervals: 2, requestedIntervals: 2 },
      prices: { source: 'inline', energyUsdPerMwh: [30, 40], regUpUsdPerMwH: [8, 9], openadrIntervals: 0 },
      batteries: [
        {
          deviceId: 'bat-a',
          intervals: [0, 1].map((k) => ({
            start: T + k * HOUR,
            end: T + (k + 1) * HOUR,
            chargeKw: 0,
            dischargeKw: 0,
            netKw: 0,
            energyKwh: 5,
            socPct: 50,
            capacityKw: { regUp: 2 },
          })),
        },
      ],
    } as unknown as DispatchPlanDocument;
    const { claims } = gatherClaims(
      sources({
        plan,
        events: [
          event({
            source: 'market',
            targets: { deviceIds: ['bat-a'] },
            intervals: [{ start: T + HOUR, durationS: 3600, signals: [{ kind: 'regulationUp', value: 1000 }] }],
          }),
        ],
      }),
    );
    // hour 0: the plan's 2 kW regUp at 8 $/MW-h; hour 1: the award's 1 kW replaces the plan's intent
    assert.deepEqual(
      claims.map((c) => [c.start, c.programId, c.capacityKw, c.capacityPriceUsdPerMwh]),
      [
        [T, 'dispatch:regUp', 2, 8],
        [T + HOUR, 'p1', 1, undefined],
      ],
    );
  });
});

describe('metering gaps', () => {
  test('a claimed interval without a meter and a silence inside the metered span are gaps; before the first reading is not', () => {
    // Six 1-hour intervals; bat-1 metered in hours 2, 3 and 5 (silent in 4), nothing in 0 and 1; a claim in hour 0.
    const H = 3_600_000;
    const grid = { starts: [0, 1, 2, 3, 4, 5].map((h) => h * H), intervalMinutes: 60 };
    const metered = [2, 3, 5].map((h) => ({
      deviceId: 'bat-1',
      start: h * H,
      intervalMinutes: 60,
      energyKwh: 1,
      headroomKw: 5,
    }));
    const claims: GatheredClaim[] = [
      { deviceId: 'bat-1', programId: 'dr', start: 0, intervalMinutes: 60, energyKwh: 2, obligationKwh: 2 },
    ];
    const gaps = meteringGaps(grid, metered, claims);
    assert.deepEqual(
      gaps.map((g) => [g.start / H, g.settledKwh]),
      [
        [0, 2], // claimed, unmetered
        [4, 0], // silent between the readings of hours 3 and 5
      ],
    );
    assert.ok(gaps.every((g) => g.kind === 'unmetered' && g.deviceId === 'bat-1'));
  });
});
