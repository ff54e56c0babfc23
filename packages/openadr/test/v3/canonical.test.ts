/**
 * OpenADR 3 <-> canonical model tables (src/v3/canonical.ts), both versions: interval timing per the
 * 3.1.0 User Guide §7.3/§7.4 (event defaults, 'follow the previous', multi-valued payloads, 'do it
 * now', infinity, randomizeStart, event.duration), every mapped payload type and its units, the
 * SIMPLE levels, targets (3.0.1 valuesMaps, 3.1.0 strings), priority, status, and the way back:
 * canonical values to report payloads and report bodies the OpenAPI documents accept.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { check, ProgramEvent } from '@gridseam/model';
import {
  addDuration,
  aggregateValues,
  buildReport,
  eventFromOadr3,
  formatDuration,
  type Oadr3EventContext,
  type Oadr3EventLike,
  type Oadr3ProgramLike,
  oadr3CanonicalId,
  parseDateTime,
  parseDuration,
  programFromOadr3,
  reportPayload,
  targetsOf,
} from '../../src/v3/canonical.ts';
import type { V310 } from '../../src/v3/types/index.ts';
import { type Oadr3Version, openapiValidator } from '../../src/v3/validate.ts';

const T0 = Date.UTC(2030, 1, 10, 0, 0, 0);
const HOUR = 3_600_000;

function context(overrides: Partial<Oadr3EventContext> = {}): Oadr3EventContext {
  return {
    version: '3.1.0',
    program: { id: 'oadr3.program.p1', primacy: 20 },
    venName: 'ven-1',
    now: T0 - HOUR,
    ...overrides,
  };
}

function event(fields: Partial<Oadr3EventLike>): Oadr3EventLike {
  return {
    id: 'e1',
    programID: 'p1',
    createdDateTime: '2030-02-09T12:00:00Z',
    modificationDateTime: '2030-02-09T12:00:00Z',
    ...fields,
  };
}

describe('time', () => {
  test('durations and date-times', () => {
    const table: Array<[string, number]> = [
      ['PT1H', HOUR],
      ['PT30M', 30 * 60_000],
      ['P1D', 24 * HOUR],
      ['P1W', 7 * 24 * HOUR],
      ['PT1.5S', 1500],
      ['PT0S', 0],
    ];
    for (const [text, ms] of table) {
      const parsed = parseDuration(text);
      assert.ok(parsed, text);
      assert.equal(addDuration(T0, parsed) - T0, ms, text);
    }
    assert.equal(
      addDuration(T0, parseDuration('P1M') ?? assert.fail()),
      Date.UTC(2030, 2, 10),
      'months on the calendar',
    );
    assert.equal(addDuration(T0, parseDuration('P9999Y') ?? assert.fail()), Number.POSITIVE_INFINITY);
    for (const bad of ['1H', 'P', 'PT', 'PTH', 'P1H', '', 'P1Y2Q']) assert.equal(parseDuration(bad), undefined, bad);
    assert.equal(parseDateTime('2030-02-10T00:00:00.000Z'), T0);
    assert.equal(parseDateTime('2030-02-10T01:00:00+01:00'), T0);
    assert.equal(parseDateTime('2030-02-10T00:00:00'), T0, 'no offset: UTC');
    assert.equal(parseDateTime('2030-02-10'), T0);
    assert.ok((parseDateTime('0001-01-01') ?? 0) < 0);
    for (const bad of ['2030-13-01', '2030-02-10T25:00:00Z', 'yesterday', '10/02/2030'])
      assert.equal(parseDateTime(bad), undefined, bad);
    assert.deepEqual([0, 15, 3600, 5400, 90061].map(formatDuration), [
      'PT0S',
      'PT15S',
      'PT1H',
      'PT1H30M',
      'P1DT1H1M1S',
    ]);
  });

  test('ids stay valid canonical ids', () => {
    assert.equal(oadr3CanonicalId('event', 'abc-1_2'), 'oadr3.event.abc-1_2');
    const long = oadr3CanonicalId('program', 'x'.repeat(128));
    assert.ok(long.length <= 128 && /^oadr3\.program\.h[0-9a-f]{16}$/.test(long), long);
    assert.notEqual(oadr3CanonicalId('event', `${'y'.repeat(127)}a`), oadr3CanonicalId('event', `${'y'.repeat(127)}b`));
  });
});

describe('event timing (User Guide §7.3, §7.4)', () => {
  test('event defaults, own durations and following starts (Example 7.4-1)', () => {
    const draft = eventFromOadr3(
      event({
        intervalPeriod: { start: '2030-02-10T00:00:00.000Z', duration: 'PT1H' },
        payloadDescriptors: [{ payloadType: 'PRICE', units: 'KWH', currency: 'USD' }],
        intervals: [
          { id: 0, payloads: [{ type: 'PRICE', values: [0.17] }] },
          { id: 1, intervalPeriod: { duration: 'PT2H' }, payloads: [{ type: 'PRICE', values: [0.22] }] },
        ],
      }),
      context(),
    );
    assert.deepEqual(draft.event.intervals, [
      { start: T0, durationS: 3600, signals: [{ kind: 'price', value: 0.17, unit: 'USD/KWH' }] },
      { start: T0 + HOUR, durationS: 7200, signals: [{ kind: 'price', value: 0.22, unit: 'USD/KWH' }] },
    ]);
    assert.deepEqual(draft.timeline, [
      { id: 0, start: T0, end: T0 + HOUR },
      { id: 1, start: T0 + HOUR, end: T0 + 3 * HOUR },
    ]);
    assert.deepEqual(
      draft.prices.map((p) => [p.payloadType, p.start, p.durationS, p.value, p.currency, p.units]),
      [
        ['PRICE', T0, 3600, 0.17, 'USD', 'KWH'],
        ['PRICE', T0 + HOUR, 7200, 0.22, 'USD', 'KWH'],
      ],
    );
    assert.equal(draft.event.status, 'scheduled');
    assert.equal(draft.event.source, 'openadr3');
    assert.equal(draft.event.externalId, 'e1');
    assert.equal(draft.event.id, 'oadr3.event.e1');
    assert.ok(check(ProgramEvent, draft.event).ok, 'a valid canonical ProgramEvent');
  });

  test('multi-valued payloads split the interval (Example 7.3-1)', () => {
    const draft = eventFromOadr3(
      event({
        payloadDescriptors: [{ payloadType: 'PRICE', units: 'KWH', currency: 'USD' }],
        intervals: [
          {
            id: 0,
            intervalPeriod: { start: '2030-02-10T00:00:00.000Z', duration: 'PT3H' },
            payloads: [
              { type: 'PRICE', values: [0.17, 0.03, 0.11] },
              { type: 'EXPORT_CAPACITY_LIMIT', values: [5] },
            ],
          },
        ],
      }),
      context(),
    );
    assert.deepEqual(
      draft.event.intervals.map((i) => [i.start - T0, i.durationS, i.signals.map((s) => `${s.kind}=${s.value}`)]),
      [
        [0, 3600, ['price=0.17', 'exportLimit=5000']],
        [HOUR, 3600, ['price=0.03', 'exportLimit=5000']],
        [2 * HOUR, 3600, ['price=0.11', 'exportLimit=5000']],
      ],
    );
    assert.equal(draft.prices.length, 3);
  });

  test("'do it now', infinity, cancellation by emptying, completed", () => {
    const receivedAt = T0 + 5 * 60_000;
    const now = eventFromOadr3(
      event({
        intervalPeriod: { start: '0001-01-01', duration: 'P9999Y' },
        intervals: [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [3] }] }],
      }),
      context({ now: receivedAt, receivedAt }),
    );
    assert.deepEqual(now.event.intervals, [
      { start: receivedAt, durationS: 31_536_000, signals: [{ kind: 'exportLimit', value: 3000, unit: 'W' }] },
    ]);
    assert.equal(now.event.status, 'scheduled');

    const emptied = eventFromOadr3(
      event({
        intervalPeriod: { start: '0001-01-01', duration: 'PT0S' },
        intervals: [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [3] }] }],
      }),
      context(),
    );
    assert.equal(emptied.event.status, 'cancelled');
    assert.deepEqual(emptied.event.intervals, []);
    assert.match(emptied.event.statusHistory[0]?.reason ?? '', /§7\.9/);

    const past = eventFromOadr3(
      event({
        intervalPeriod: { start: '2030-02-10T00:00:00Z', duration: 'PT1H' },
        intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [3] }] }],
      }),
      context({ now: T0 + 2 * HOUR }),
    );
    assert.equal(past.event.status, 'completed');
  });

  test('randomizeStart shifts every start by one draw', () => {
    const make = (random: number) =>
      eventFromOadr3(
        event({
          intervalPeriod: { start: '2030-02-10T00:00:00Z', duration: 'PT1H', randomizeStart: 'PT10M' },
          intervals: [
            { id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] },
            { id: 1, payloads: [{ type: 'SIMPLE', values: [2] }] },
          ],
        }),
        context({ random }),
      );
    assert.deepEqual(
      make(0).event.intervals.map((i) => i.start - T0),
      [-600_000, HOUR - 600_000],
    );
    assert.deepEqual(
      make(0.5).event.intervals.map((i) => i.start - T0),
      [0, HOUR],
    );
    assert.equal(make(0.5).event.randomizeStartS, 600);
  });

  test('event.duration clips or loops the intervals (3.1.0)', () => {
    const base = {
      intervalPeriod: { start: '2030-02-10T00:00:00Z', duration: 'PT1H' },
      intervals: [
        { id: 7, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [10] }] },
        { id: 8, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [8] }] },
      ],
    };
    const looped = eventFromOadr3(event({ ...base, duration: 'PT5H' }), context());
    assert.deepEqual(
      looped.timeline.map((i) => [i.id, (i.start - T0) / HOUR, (i.end - T0) / HOUR]),
      [
        [7, 0, 1],
        [8, 1, 2],
        [7, 2, 3],
        [8, 3, 4],
        [7, 4, 5],
      ],
    );
    const clipped = eventFromOadr3(event({ ...base, duration: 'PT90M' }), context());
    assert.deepEqual(
      clipped.event.intervals.map((i) => [i.start - T0, i.durationS, i.signals[0]?.value]),
      [
        [0, 3600, 10000],
        [HOUR, 1800, 8000],
      ],
    );
    const forever = eventFromOadr3(event({ ...base, duration: 'P9999Y' }), context({ maxIntervals: 48 }));
    assert.equal(forever.timeline.length, 48, 'looping stops at maxIntervals');
  });
});

describe('payload types and units', () => {
  const one = (payloads: Oadr3EventLike['intervals'], extra: Partial<Oadr3EventLike> = {}, ctx = context()) =>
    eventFromOadr3(
      event({ intervalPeriod: { start: '2030-02-10T00:00:00Z', duration: 'PT1H' }, intervals: payloads, ...extra }),
      ctx,
    );

  test('capacity limits (Example 8.10.1-1): KW to W, contiguous intervals', () => {
    const draft = one(
      [
        {
          id: 0,
          payloads: [
            { type: 'IMPORT_CAPACITY_LIMIT', values: [10.0] },
            { type: 'EXPORT_CAPACITY_LIMIT', values: [4.0] },
          ],
        },
        {
          id: 1,
          payloads: [
            { type: 'IMPORT_CAPACITY_LIMIT', values: [8.0] },
            { type: 'EXPORT_CAPACITY_LIMIT', values: [6.0] },
          ],
        },
      ],
      {
        intervalPeriod: { start: '2030-02-10T00:00:00Z', duration: 'PT30M' },
        payloadDescriptors: [
          { payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' },
          { payloadType: 'EXPORT_CAPACITY_LIMIT', units: 'KW' },
        ],
      },
    );
    assert.deepEqual(draft.event.intervals, [
      {
        start: T0,
        durationS: 1800,
        signals: [
          { kind: 'importLimit', value: 10000, unit: 'W' },
          { kind: 'exportLimit', value: 4000, unit: 'W' },
        ],
      },
      {
        start: T0 + 1_800_000,
        durationS: 1800,
        signals: [
          { kind: 'importLimit', value: 8000, unit: 'W' },
          { kind: 'exportLimit', value: 6000, unit: 'W' },
        ],
      },
    ]);
    assert.deepEqual(draft.unsupported, []);
  });

  test('every mapped type, with its units; the rest recorded, not applied', () => {
    type Row = [type: string, value: number | string, units: string | undefined, expected: string | RegExp];
    const rows: Row[] = [
      ['IMPORT_CAPACITY_LIMIT', 2.5, undefined, 'importLimit=2500 W'],
      ['IMPORT_CAPACITY_LIMIT', 2500, 'W', 'importLimit=2500 W'],
      ['EXPORT_CAPACITY_LIMIT', 0.5, 'MW', 'exportLimit=500000 W'],
      ['EXPORT_CAPACITY_LIMIT', 4, 'KWH', /is not a power/],
      ['EXPORT_CAPACITY_LIMIT', -1, 'KW', /must be >= 0/],
      ['CHARGE_STATE_SETPOINT', 0.8, 'PERCENT', 'targetSoc=80 %'],
      ['CHARGE_STATE_SETPOINT', 0.8, undefined, 'targetSoc=80 %'],
      ['CHARGE_STATE_SETPOINT', 10, 'KWH', /only PERCENT/],
      ['CHARGE_STATE_SETPOINT', 1.5, 'PERCENT', /outside 0\.\.1/],
      ['DISPATCH_SETPOINT', 5, 'KW', 'fixedW=-5000 W'],
      ['PRICE', 0.31, undefined, 'price=0.31'],
      ['SIMPLE', 0, undefined, 'simpleLevel=0 level'],
      ['SIMPLE', 4, undefined, /SIMPLE must be 0\.\.3/],
      ['GHG', 250, undefined, /no canonical signal/],
      ['ALERT_GRID_EMERGENCY', 'shed now', undefined, /no canonical signal/],
      ['DISPATCH_SETPOINT_RELATIVE', 0.2, 'PERCENT', /no canonical signal/],
      ['CONTROL_LEVEL_OFFSET', 2, undefined, /no canonical signal/],
      ['IMPORT_CAPACITY_SUBSCRIPTION', 10, 'KW', /no canonical signal/],
      ['CTA2045_REBOOT', 0, undefined, /no canonical signal/],
      ['EXPORT_PRICE', 0.05, undefined, 'none'],
    ];
    for (const [type, value, units, expected] of rows) {
      const draft = one([{ id: 3, payloads: [{ type, values: [value] }] }], {
        payloadDescriptors: units === undefined ? [] : [{ payloadType: type, units }],
      });
      const signals = draft.event.intervals
        .flatMap((i) => i.signals)
        .map((s) => `${s.kind}=${s.value}${s.unit ? ` ${s.unit}` : ''}`);
      if (typeof expected === 'string') {
        if (expected === 'none') assert.deepEqual(signals, [], type);
        else assert.deepEqual(signals, [expected], `${type} ${value} ${units}`);
        assert.deepEqual(draft.unsupported, [], `${type}: nothing left out`);
      } else {
        assert.deepEqual(signals, [], `${type} ${value} ${units}: no signal`);
        assert.equal(draft.unsupported.length, 1, `${type} recorded`);
        assert.match(draft.unsupported[0]?.reason ?? '', expected, type);
        assert.equal(draft.unsupported[0]?.intervalId, 3);
      }
    }
  });

  test("program payloadDescriptors are the event's defaults; the event's own win", () => {
    const programObject = { payloadDescriptors: [{ payloadType: 'EXPORT_CAPACITY_LIMIT', units: 'W' }] };
    const fromProgram = one(
      [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [1500] }] }],
      {},
      context({ programObject }),
    );
    assert.equal(fromProgram.event.intervals[0]?.signals[0]?.value, 1500);
    const own = one(
      [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [1.5] }] }],
      { payloadDescriptors: [{ payloadType: 'EXPORT_CAPACITY_LIMIT', units: 'KW' }] },
      context({ programObject }),
    );
    assert.equal(own.event.intervals[0]?.signals[0]?.value, 1500);
  });

  test('SIMPLE levels: default steps on referenceW, absolute controls, no reference', () => {
    const level = (value: number, simple: NonNullable<Oadr3EventContext['program']['simple']> | undefined) =>
      one(
        [{ id: 0, payloads: [{ type: 'SIMPLE', values: [value] }] }],
        {},
        context({ program: { primacy: 5, ...(simple ? { simple } : {}) } }),
      );
    const signals = (d: ReturnType<typeof level>) => d.event.intervals[0]?.signals.map((s) => `${s.kind}=${s.value}`);
    assert.deepEqual(signals(level(1, { referenceW: 10000 })), ['simpleLevel=1', 'importLimit=7500']);
    assert.deepEqual(signals(level(2, { referenceW: 10000 })), ['simpleLevel=2', 'importLimit=5000']);
    assert.deepEqual(signals(level(3, { referenceW: 10000 })), ['simpleLevel=3', 'importLimit=2500']);
    assert.deepEqual(signals(level(0, { referenceW: 10000 })), ['simpleLevel=0']);
    const noReference = level(2, undefined);
    assert.deepEqual(signals(noReference), ['simpleLevel=2']);
    assert.match(noReference.unsupported[0]?.reason ?? '', /referenceW/);
    const custom = level(3, {
      levels: {
        '3': [
          { kind: 'exportLimit', value: 0 },
          { kind: 'dischargeLimit', value: 0 },
        ],
      },
    });
    assert.deepEqual(signals(custom), ['simpleLevel=3', 'exportLimit=0', 'dischargeLimit=0']);
    assert.deepEqual(custom.unsupported, []);
  });

  test('priority adds to the program primacy', () => {
    assert.equal(one([{ id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] }]).event.primacy, 20);
    assert.equal(one([{ id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] }], { priority: 3 }).event.primacy, 23);
    assert.equal(one([{ id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] }], { priority: 1000 }).event.primacy, 255);
  });
});

describe('targets', () => {
  const mappings = [
    { target: 'group-1', siteIds: ['site-1', 'site-2'] },
    { target: 'bat-a', type: 'RESOURCE_NAME', deviceIds: ['bat-1'] },
    { target: 'feeder-7', groupIds: ['g-feeder-7'] },
  ];
  test('3.1.0 strings and 3.0.1 valuesMaps through the map', () => {
    const rows: Array<[Oadr3EventLike['targets'], ReturnType<typeof targetsOf>]> = [
      [undefined, { targets: {}, forUs: true }],
      [[], { targets: {}, forUs: true }],
      [['group-1'], { targets: { siteIds: ['site-1', 'site-2'] }, forUs: true }],
      [
        ['group-1', 'feeder-7', 'unknown'],
        { targets: { siteIds: ['site-1', 'site-2'], groupIds: ['g-feeder-7'] }, forUs: true },
      ],
      [['ven-1'], { targets: {}, forUs: true }],
      [['someone-else'], { targets: {}, forUs: false }],
      [[{ type: 'GROUP', values: ['group-1'] }], { targets: { siteIds: ['site-1', 'site-2'] }, forUs: true }],
      [[{ type: 'RESOURCE_NAME', values: ['bat-a'] }], { targets: { deviceIds: ['bat-1'] }, forUs: true }],
      [[{ type: 'GROUP', values: ['bat-a'] }], { targets: {}, forUs: false }],
      [[{ type: 'VEN_NAME', values: ['ven-1'] }], { targets: {}, forUs: true }],
      [[{ type: 'VEN_NAME', values: ['ven-2'] }], { targets: {}, forUs: false }],
    ];
    for (const [targets, expected] of rows)
      assert.deepEqual(targetsOf(targets, mappings, 'ven-1'), expected, JSON.stringify(targets));
    assert.deepEqual(targetsOf([], mappings, 'ven-1', { groupIds: ['g-all'] }), {
      targets: { groupIds: ['g-all'] },
      forUs: true,
    });
  });

  test('the event draft carries them', () => {
    const draft = eventFromOadr3(
      event({
        targets: [{ type: 'GROUP', values: ['group-1'] }],
        intervalPeriod: { start: '2030-02-10T00:00:00Z', duration: 'PT1H' },
        intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] }],
      }),
      context({ version: '3.0.1', targets: mappings }),
    );
    assert.deepEqual(draft.event.targets, { siteIds: ['site-1', 'site-2'] });
    assert.equal(draft.forUs, true);
  });
});

describe('programs', () => {
  test('both versions to a canonical Program', () => {
    const v301: Oadr3ProgramLike = {
      id: 'p-9',
      programName: 'ResTOU',
      programLongName: 'Residential Time of Use-A',
      retailerName: 'ACME',
      programDescriptions: [{ URL: 'https://example.com/tou' }],
      createdDateTime: '2030-01-01T00:00:00Z',
      modificationDateTime: '2030-01-02T00:00:00Z',
    };
    assert.deepEqual(programFromOadr3(v301, { primacy: 30 }), {
      id: 'oadr3.program.p-9',
      name: 'OpenADR 3 ResTOU',
      kind: 'demand-response',
      source: 'openadr3',
      primacy: 30,
      description: 'Residential Time of Use-A; by ACME; https://example.com/tou',
      createdAt: Date.UTC(2030, 0, 1),
      updatedAt: Date.UTC(2030, 0, 2),
    });
    const v310: V310.Program = {
      id: 'doe',
      createdDateTime: '2030-01-01T00:00:00Z',
      modificationDateTime: '2030-01-01T00:00:00Z',
      objectType: 'PROGRAM',
      programName: 'DOE',
      payloadDescriptors: [
        { objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'EXPORT_CAPACITY_LIMIT', units: 'KW' },
      ],
    };
    const doe = programFromOadr3(v310, { primacy: 300, id: 'doe-program' });
    assert.equal(doe.kind, 'dynamic-export');
    assert.equal(doe.primacy, 255);
    assert.equal(doe.id, 'doe-program');
  });
});

describe('reports', () => {
  test('canonical values to report payloads', () => {
    const values = {
      activePowerW: -2500,
      reactivePowerVar: 400,
      voltageV: 231.04,
      socPct: 64.25,
      usableCapacityWh: 13500,
      maxChargeW: 5000,
      maxDischargeW: 4800,
      usageWh: 1234,
      operatingState: 'throttled',
      simpleLevel: 2,
    };
    const rows: Array<[string, string | undefined, unknown]> = [
      ['READING', 'KW', 2.5],
      ['READING', undefined, 2.5],
      ['READING', 'VOLTS', 231.04],
      ['READING', 'KVAR', -0.4],
      ['DEMAND', 'KW', 2.5],
      ['USAGE', 'KWH', 1.234],
      ['STORAGE_CHARGE_LEVEL', 'PERCENT', 0.643],
      ['STORAGE_USABLE_CAPACITY', 'KWH', 13.5],
      ['STORAGE_MAX_CHARGE_POWER', 'KW', 5],
      ['STORAGE_MAX_DISCHARGE_POWER', 'KW', 4.8],
      ['OPERATING_STATE', undefined, 'RUNNING_CURTAILED'],
      ['SIMPLE_LEVEL', undefined, 2],
      ['USAGE', 'KW', undefined],
      ['BASELINE', 'KW', undefined],
    ];
    for (const [payloadType, units, expected] of rows) {
      const payload = reportPayload({ payloadType, ...(units ? { units } : {}) }, values);
      assert.deepEqual(
        payload,
        expected === undefined ? undefined : { type: payloadType, values: [expected] },
        `${payloadType} ${units}`,
      );
    }
    assert.deepEqual(
      reportPayload({ payloadType: 'DEMAND' }, { activePowerW: 3000 }),
      { type: 'DEMAND', values: [0] },
      'exporting: no demand',
    );
    assert.equal(reportPayload({ payloadType: 'USAGE', units: 'KWH' }, {}), undefined, 'no data: no payload');
    const aggregated = aggregateValues([
      { activePowerW: 1000, socPct: 50, usableCapacityWh: 10000 },
      { activePowerW: -3000, socPct: 100, usableCapacityWh: 30000 },
    ]);
    assert.equal(aggregated.activePowerW, -2000);
    assert.equal(aggregated.socPct, 87.5);
  });

  for (const version of ['3.0.1', '3.1.0'] as const satisfies readonly Oadr3Version[])
    test(`a report body the ${version} document accepts`, () => {
      const body = buildReport({
        version,
        eventID: 'e1',
        programID: 'p1',
        clientName: 'ven-1',
        reportName: 'usage',
        descriptors: [
          { payloadType: 'USAGE', units: 'KWH', readingType: 'DIRECT_READ' },
          { payloadType: 'STORAGE_CHARGE_LEVEL' },
        ],
        resources: [
          {
            resourceName: 'site-1',
            intervals: [
              { id: 0, start: T0, durationS: 3600, values: { usageWh: 1500, socPct: 40 } },
              { id: 1, start: T0 + HOUR, durationS: 3600, values: {} },
            ],
          },
        ],
      });
      assert.equal('programID' in body, version === '3.0.1', 'programID only where the version has it');
      const resources = body.resources as Array<{ intervals: Array<{ id: number; payloads: unknown }> }>;
      assert.deepEqual(
        resources[0]?.intervals.map((i) => [i.id, i.payloads]),
        [
          [
            0,
            [
              { type: 'USAGE', values: [1.5] },
              { type: 'STORAGE_CHARGE_LEVEL', values: [0.4] },
            ],
          ],
        ],
        'an interval without data is left out',
      );
      assert.deepEqual(openapiValidator(version).request('POST', '/reports', body), []);
    });
});
