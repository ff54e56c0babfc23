/**
 * Awards: CSV and JSON parsing (ISO times with offsets, hour-ending labels on DST days), hostile and
 * malformed input, and the program events awards become (runs, signals, targets, shares, stable ids).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { type Aggregation, type Award, awardsToEvents, MAX_AWARDS_BYTES, parseAwards } from '../../src/index.ts';

const H = 3_600_000;
/** 2026-07-01 15:00 PDT (UTC-7). */
const T15 = Date.UTC(2026, 6, 1, 22);
const LA = 'America/Los_Angeles';

const CSV = [
  'resource_id,start,end,market,product,mw,clearing_price',
  'CAISO_DERA_1,2026-07-01T15:00:00-07:00,2026-07-01T16:00:00-07:00,DA,ENERGY,1.5,45.25',
  'CAISO_DERA_1,2026-07-01T16:00:00-07:00,2026-07-01T17:00:00-07:00,DA,ENERGY,-0.5,12',
  'CAISO_DERA_1,2026-07-01T15:00:00-07:00,2026-07-01T16:00:00-07:00,DA,REG_UP,0.2,8',
].join('\r\n');

function failure(fn: () => unknown): GridseamError {
  try {
    fn();
  } catch (error) {
    if (GridseamError.is(error)) return error;
    throw error;
  }
  assert.fail('expected a GridseamError');
}

function aggregation(extra: Partial<Aggregation> = {}): Aggregation {
  return {
    id: 'agg-1',
    iso: 'CAISO',
    resourceId: 'CAISO_DERA_1',
    participationModel: 'DERA',
    pricingNodes: ['PN_A'],
    distributionFactors: [{ pnode: 'PN_A', factor: 1, validFrom: 0 }],
    members: [
      { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 300, pnode: 'PN_A', validFrom: 0 },
      { deviceId: 'bat-2', siteId: 'site-2', capacityKw: 200, pnode: 'PN_A', validFrom: 0 },
    ],
    utility: { name: 'PG&E' },
    registration: { state: 'active', history: [] },
    groupId: 'grp-agg',
    ...extra,
  };
}

function award(startMs: number, product: Award['product'], mw: number, price = 40, hours = 1): Award {
  return {
    resourceId: 'CAISO_DERA_1',
    interval: { start: '', end: '', startMs, endMs: startMs + hours * H, market: 'DA' },
    product,
    mw,
    clearingPrice: price,
  };
}

describe('parseAwards', () => {
  test('CSV with ISO-8601 offsets', () => {
    const awards = parseAwards(CSV, 'csv');
    assert.deepEqual(awards, [
      {
        resourceId: 'CAISO_DERA_1',
        interval: {
          start: '2026-07-01T15:00:00-07:00',
          end: '2026-07-01T16:00:00-07:00',
          startMs: T15,
          endMs: T15 + H,
          market: 'DA',
        },
        product: 'ENERGY',
        mw: 1.5,
        clearingPrice: 45.25,
      },
      {
        resourceId: 'CAISO_DERA_1',
        interval: {
          start: '2026-07-01T16:00:00-07:00',
          end: '2026-07-01T17:00:00-07:00',
          startMs: T15 + H,
          endMs: T15 + 2 * H,
          market: 'DA',
        },
        product: 'ENERGY',
        mw: -0.5,
        clearingPrice: 12,
      },
      {
        resourceId: 'CAISO_DERA_1',
        interval: {
          start: '2026-07-01T15:00:00-07:00',
          end: '2026-07-01T16:00:00-07:00',
          startMs: T15,
          endMs: T15 + H,
          market: 'DA',
        },
        product: 'REG_UP',
        mw: 0.2,
        clearingPrice: 8,
      },
    ]);
  });

  test('CSV columns in any order and spelling, quoted fields, unknown columns ignored, BOM', () => {
    const text =
      '\uFEFFProduct,Resource ID,MW,Clearing-Price,Market,Start,End,Note\n' +
      'reg_dn,CAISO_DERA_1,"0.25",-3.5,fmm,2026-07-01T22:15:00Z,2026-07-01T22:30:00Z,"a, ""quoted"" note"\n';
    const [parsed] = parseAwards(text, 'csv');
    assert.deepEqual(parsed, {
      resourceId: 'CAISO_DERA_1',
      interval: {
        start: '2026-07-01T22:15:00Z',
        end: '2026-07-01T22:30:00Z',
        startMs: T15 + H / 4,
        endMs: T15 + H / 2,
        market: 'FMM',
      },
      product: 'REG_DN',
      mw: 0.25,
      clearingPrice: -3.5,
    });
  });

  test('JSON: flat records, snake_case, epoch ms, or the contract shape; the same awards as the CSV', () => {
    const flat = JSON.stringify({
      awards: [
        {
          resourceId: 'CAISO_DERA_1',
          start: '2026-07-01T15:00:00-07:00',
          end: '2026-07-01T16:00:00-07:00',
          market: 'DA',
          product: 'ENERGY',
          mw: 1.5,
          clearingPrice: 45.25,
        },
        {
          resource_id: 'CAISO_DERA_1',
          start: '2026-07-01T16:00:00-07:00',
          end: '2026-07-01T17:00:00-07:00',
          market: 'DA',
          product: 'ENERGY',
          mw: -0.5,
          clearing_price: 12,
        },
      ],
    });
    const csv = parseAwards(CSV, 'csv').slice(0, 2);
    assert.deepEqual(parseAwards(flat, 'json'), csv);
    // The contract's shape (what GET /api/market/awards answers) parses back to itself.
    assert.deepEqual(parseAwards(JSON.stringify(csv), 'json'), csv);
    // Epoch ms are formatted in the given zone.
    const [epoch] = parseAwards(
      JSON.stringify([
        { resourceId: 'R1', start: T15, end: T15 + H, market: 'RT', product: 'SPIN', mw: 1, clearingPrice: 3 },
      ]),
      'json',
      { timeZone: LA },
    );
    assert.equal(epoch?.interval.start, '2026-07-01T15:00:00-07:00');
  });

  test('hour-ending labels on the fall-back day: HE1..HE25, HE2 and HE3 both 01:00 local', () => {
    // 2026-11-01 in Los Angeles: 00:00 PDT = 07:00Z; 25 hours; the next day starts 08:00Z (PST).
    const rows = Array.from({ length: 25 }, (_, k) => `CAISO_DERA_1,2026-11-01,HE${k + 1},DA,ENERGY,1,30`);
    const awards = parseAwards(
      ['resource_id,date,hour_ending,market,product,mw,clearing_price', ...rows].join('\n'),
      'csv',
      {
        timeZone: LA,
      },
    );
    const first = Date.UTC(2026, 10, 1, 7);
    assert.equal(awards.length, 25);
    assert.deepEqual(
      awards.slice(0, 3).map((a) => [a.interval.startMs, a.interval.start]),
      [
        [first, '2026-11-01T00:00:00-07:00'],
        [first + H, '2026-11-01T01:00:00-07:00'],
        [first + 2 * H, '2026-11-01T01:00:00-08:00'],
      ],
    );
    assert.deepEqual(
      [awards[24]?.interval.startMs, awards[24]?.interval.end],
      [first + 24 * H, '2026-11-02T00:00:00-08:00'],
    );
    // One run of 25 back-to-back hours: one event of 25 intervals.
    const events = awardsToEvents(awards, aggregation(), { programId: 'market-awards.agg-1', now: first });
    assert.equal(events.length, 1);
    assert.deepEqual(
      events[0]?.intervals.map((i) => i.start),
      Array.from({ length: 25 }, (_, k) => first + k * H),
    );
  });

  test('hour-ending labels on the spring-forward day: HE3 is 03:00 PDT, there is no HE24', () => {
    // 2026-03-08: 00:00 PST = 08:00Z; 23 hours; HE3 = 10:00Z = 03:00 PDT.
    const header = 'resource_id,date,hour_ending,market,product,mw,clearing_price';
    const [he3] = parseAwards(`${header}\nCAISO_DERA_1,2026-03-08,3,DA,ENERGY,1,30`, 'csv', { timeZone: LA });
    assert.deepEqual(
      [he3?.interval.startMs, he3?.interval.start],
      [Date.UTC(2026, 2, 8, 10), '2026-03-08T03:00:00-07:00'],
    );
    const he24 = failure(() =>
      parseAwards(`${header}\nCAISO_DERA_1,2026-03-08,24,DA,ENERGY,1,30`, 'csv', { timeZone: LA }),
    );
    assert.equal(he24.code, 'GW_ERR_VALIDATION');
    assert.equal(he24.issues[0]?.path, '/rows/2/hour_ending');
    // Without a time zone an hour-ending label means nothing.
    const noZone = failure(() => parseAwards(`${header}\nCAISO_DERA_1,2026-03-08,3,DA,ENERGY,1,30`, 'csv'));
    assert.equal(noZone.issues[0]?.path, '/rows/2/hour_ending');
  });

  test('every bad value is named by row and column', () => {
    const text = [
      'resource_id,start,end,market,product,mw,clearing_price',
      'CAISO_DERA_1,2026-07-01T15:00:00-07:00,2026-07-01T16:00:00-07:00,DA,ENERGY,NaN,45', // 2: NaN
      'CAISO_DERA_1,2026-07-01T15:00:00-07:00,2026-07-01T16:00:00-07:00,DA,FOO,1,45', // 3: product
      'CAISO_DERA_1,2026-07-01T16:00:00-07:00,2026-07-01T15:00:00-07:00,DA,ENERGY,1,45', // 4: end <= start
      'CAISO_DERA_1,2026-07-01T15:00:00,2026-07-01T16:00:00-07:00,DA,ENERGY,1,45', // 5: no offset
      'CAISO_DERA_1,2026-02-30T15:00:00Z,2026-07-01T16:00:00-07:00,DA,ENERGY,1,45', // 6: Feb 30
      'CAISO_DERA_1,2026-07-01T15:00:00-07:00,2026-07-01T16:00:00-07:00,DA,ENERGY,Infinity,1e999', // 7
      'CAISO_DERA_1,2026-07-01T15:00:00-07:00,2026-07-01T16:00:00-07:00,XX,REG_UP,-1,45', // 8: market, negative capacity
      '=cmd|x,2026-07-01T15:00:00-07:00,2026-07-01T16:00:00-07:00,DA,ENERGY,1,45', // 9: resource id
      'CAISO_DERA_1,2026-07-01T15:00:00-07:00,2026-07-03T16:00:00-07:00,DA,ENERGY,1,45', // 10: over a day
      'CAISO_DERA_1,2026-07-01T17:00:00-07:00,2026-07-01T18:00:00-07:00,DA,ENERGY,1', // 11: a field short
      'CAISO_DERA_1,2026-07-01T18:00:00-07:00,2026-07-01T19:00:00-07:00,DA,ENERGY,1,45', // 12: fine
      'CAISO_DERA_1,2026-07-01T18:00:00-07:00,2026-07-01T19:00:00-07:00,DA,ENERGY,2,45', // 13: duplicate of 12
    ].join('\n');
    const error = failure(() => parseAwards(text, 'csv'));
    assert.equal(error.code, 'GW_ERR_VALIDATION');
    assert.deepEqual(
      error.issues.map((i) => i.path),
      [
        '/rows/2/mw',
        '/rows/3/product',
        '/rows/4/end',
        '/rows/5/start',
        '/rows/6/start',
        '/rows/7/mw',
        '/rows/7/clearing_price',
        '/rows/8/market',
        '/rows/8/mw',
        '/rows/9/resource_id',
        '/rows/10/end',
        '/rows/11',
        '/rows/13',
      ],
    );
  });

  test('a header without the needed columns is refused; an empty file holds no awards', () => {
    const error = failure(() =>
      parseAwards('resource_id,start,market,product,mw\nX,2026-07-01T15:00:00Z,DA,ENERGY,1', 'csv'),
    );
    assert.deepEqual(
      error.issues.map((i) => i.message.split(' (')[0]),
      ['the header lacks the column for clearingPrice', 'the header lacks the column for end'],
    );
    assert.deepEqual(parseAwards('', 'csv'), []);
    assert.deepEqual(parseAwards('[]', 'json'), []);
  });

  test('JSON values must have their own types', () => {
    const error = failure(() =>
      parseAwards(
        JSON.stringify([
          {
            resourceId: 7,
            start: '2026-07-01T15:00:00Z',
            end: true,
            market: 'DA',
            product: 'ENERGY',
            mw: '1.5',
            clearingPrice: null,
            x: 1,
          },
        ]),
        'json',
      ),
    );
    assert.deepEqual(error.issues.map((i) => i.path).sort(), [
      '/0/clearingPrice',
      '/0/end',
      '/0/mw',
      '/0/resourceId',
      '/0/x',
    ]);
    assert.equal(failure(() => parseAwards('{"awards": 3}', 'json')).issues[0]?.path, '/awards');
  });

  test('hostile and malformed input', () => {
    const big = `resource_id,start,end,market,product,mw,clearing_price\n${'x'.repeat(MAX_AWARDS_BYTES)}`;
    assert.equal(failure(() => parseAwards(big, 'csv')).code, 'GW_ERR_BODY_TOO_LARGE');
    // 600,000 two-byte characters are 1.2 MB of UTF-8 though only 600,000 UTF-16 units.
    assert.equal(failure(() => parseAwards(`["${'é'.repeat(600_000)}"]`, 'json')).code, 'GW_ERR_BODY_TOO_LARGE');
    assert.equal(failure(() => parseAwards(`${CSV}\u0000`, 'csv')).code, 'GW_ERR_HOSTILE_INPUT');
    assert.equal(failure(() => parseAwards('[{"__proto__": {"mw": 1}}]', 'json')).code, 'GW_ERR_HOSTILE_INPUT');
    assert.equal(failure(() => parseAwards(`${'['.repeat(50)}${']'.repeat(50)}`, 'json')).code, 'GW_ERR_HOSTILE_INPUT');
    assert.equal(failure(() => parseAwards(`a${',a'.repeat(40)}\n`, 'csv')).code, 'GW_ERR_HOSTILE_INPUT');
    assert.equal(failure(() => parseAwards('[{"mw": 1,', 'json')).code, 'GW_ERR_MALFORMED');
    assert.equal(failure(() => parseAwards('resource_id,start\n"abc,2026', 'csv')).code, 'GW_ERR_MALFORMED');
    assert.equal(failure(() => parseAwards('resource_id,start\nab"c,2026', 'csv')).code, 'GW_ERR_MALFORMED');
    assert.equal(failure(() => parseAwards(CSV, 'csv', { timeZone: 'Mars/Olympus' })).code, 'GW_ERR_VALIDATION');
  });
});

describe('awardsToEvents', () => {
  test('runs per product, group target, signals in W and MW, the default primacy', () => {
    const awards = parseAwards(CSV, 'csv');
    const events = awardsToEvents(awards, aggregation(), { programId: 'market-awards.agg-1', now: T15 - 10 * H });
    // ENERGY 15-16 and 16-17 are back to back: one event of 2 intervals; REG_UP 15-16: another.
    assert.equal(events.length, 2);
    const [energy, regUp] = events[0]?.intervals.length === 2 ? events : [events[1], events[0]];
    assert.deepEqual(energy, {
      id: energy?.id,
      programId: 'market-awards.agg-1',
      source: 'market',
      externalId: `CAISO_DERA_1|DA|ENERGY|${T15}`,
      primacy: 150,
      intervals: [
        {
          start: T15,
          durationS: 3600,
          signals: [
            { kind: 'fixedW', value: 1_500_000, unit: 'W' },
            { kind: 'energyAward', value: 1.5, unit: 'MW' },
            { kind: 'price', value: 45.25, unit: 'USD/MWh' },
          ],
        },
        {
          start: T15 + H,
          durationS: 3600,
          signals: [
            { kind: 'fixedW', value: -500_000, unit: 'W' },
            { kind: 'energyAward', value: -0.5, unit: 'MW' },
            { kind: 'price', value: 12, unit: 'USD/MWh' },
          ],
        },
      ],
      targets: { groupIds: ['grp-agg'] },
      status: 'scheduled',
      statusHistory: [],
      createdAt: T15 - 10 * H,
    });
    assert.match(energy?.id ?? '', /^award\.CAISO_DERA_1\.DA\.ENERGY\.[0-9a-z]+\.[0-9a-f]{12}$/);
    assert.deepEqual(regUp?.intervals[0]?.signals, [{ kind: 'regulationUp', value: 200_000, unit: 'W' }]);
    assert.equal(regUp?.externalId, `CAISO_DERA_1|DA|REG_UP|${T15}`);
  });

  test('ids are stable across imports; primacy from the aggregation or the caller', () => {
    const awards = parseAwards(CSV, 'csv');
    const once = awardsToEvents(awards, aggregation(), { programId: 'p', now: 1 });
    const again = awardsToEvents([...awards].reverse(), aggregation(), { programId: 'p', now: 2 });
    assert.deepEqual(
      again.map((e) => [e.id, e.externalId]),
      once.map((e) => [e.id, e.externalId]),
    );
    assert.equal(
      awardsToEvents(awards, aggregation({ awardPrimacy: 120 }), { programId: 'p', now: 1 })[0]?.primacy,
      120,
    );
    assert.equal(awardsToEvents(awards, aggregation(), { programId: 'p', now: 1, primacy: 90 })[0]?.primacy, 90);
  });

  test('a gap starts a new run; capacity products map to their signals; other resources are left alone', () => {
    const awards = [
      award(T15, 'ENERGY', 1),
      award(T15 + 2 * H, 'ENERGY', 1), // gap 16-17: a second event
      award(T15, 'SPIN', 0.3),
      award(T15, 'NONSPIN', 0.1),
      award(T15, 'REG_DN', 0.05),
      { ...award(T15, 'ENERGY', 9), resourceId: 'OTHER' },
    ];
    const events = awardsToEvents(awards, aggregation(), { programId: 'p', now: 0 });
    assert.deepEqual(
      events.map((e) => [e.externalId?.split('|')[2], e.intervals[0]?.start, e.intervals[0]?.signals[0]]),
      [
        ['ENERGY', T15, { kind: 'fixedW', value: 1_000_000, unit: 'W' }],
        ['NONSPIN', T15, { kind: 'capacityAward', value: 100_000, unit: 'W' }],
        ['REG_DN', T15, { kind: 'regulationDown', value: 50_000, unit: 'W' }],
        ['SPIN', T15, { kind: 'capacityAward', value: 300_000, unit: 'W' }],
        ['ENERGY', T15 + 2 * H, { kind: 'fixedW', value: 1_000_000, unit: 'W' }],
      ].sort((a, b) => (a[1] as number) - (b[1] as number)),
    );
  });

  test('without a group: one event per member with its share by capacity, split where members change', () => {
    // bat-1 300 kW, bat-2 200 kW until 16:00: 1 MW at 15-16 -> 600 kW and 400 kW; 16-17 bat-1 alone -> 1 MW.
    const agg = aggregation({
      groupId: undefined,
      members: [
        { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 300, pnode: 'PN_A', validFrom: 0 },
        { deviceId: 'bat-2', siteId: 'site-2', capacityKw: 200, pnode: 'PN_A', validFrom: 0, validTo: T15 + H },
      ],
    });
    const events = awardsToEvents([award(T15, 'ENERGY', 1), award(T15 + H, 'ENERGY', 1)], agg, {
      programId: 'p',
      now: 0,
    });
    const seen = events
      .map((e) => [
        e.targets.deviceIds?.join(),
        e.intervals.map((i) => [i.start, i.signals[0]?.value, i.signals[1]?.value]),
      ])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(seen, [
      ['bat-1', [[T15, 600_000, 0.6]]],
      ['bat-1', [[T15 + H, 1_000_000, 1]]],
      ['bat-2', [[T15, 400_000, 0.4]]],
    ]);
    // Three equal members and 1 MW: 333,334 + 333,333 + 333,333 W = exactly 1,000,000 W (largest remainder).
    const thirds = aggregation({
      groupId: undefined,
      members: ['a', 'b', 'c'].map((id) => ({ deviceId: id, siteId: 's', capacityKw: 1, pnode: 'PN_A', validFrom: 0 })),
    });
    const shares = awardsToEvents([award(T15, 'ENERGY', 1)], thirds, { programId: 'p', now: 0 })
      .map((e) => [e.targets.deviceIds?.[0], e.intervals[0]?.signals[0]?.value])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    assert.deepEqual(shares, [
      ['a', 333_334],
      ['b', 333_333],
      ['c', 333_333],
    ]);
  });

  test('overlapping awards, or no member and no group, are refused', () => {
    const overlap = failure(() =>
      awardsToEvents([award(T15, 'ENERGY', 1, 40, 2), award(T15 + H, 'ENERGY', 1)], aggregation(), {
        programId: 'p',
        now: 0,
      }),
    );
    assert.equal(overlap.code, 'GW_ERR_VALIDATION');
    const empty = failure(() =>
      awardsToEvents([award(T15, 'ENERGY', 1)], aggregation({ groupId: undefined, members: [] }), {
        programId: 'p',
        now: 0,
      }),
    );
    assert.match(empty.message, /no member in force/);
  });
});
