/**
 * Baseline adjustment windows (src/dispatch/baseline-windows.ts, pure) and the
 * `dispatch.baselineProtection` config keys.
 *
 * The common calendar: now = 2026-06-16 08:00Z, a plan of 12 hourly intervals 08:00Z-20:00Z
 * (interval k = [08 + k, 09 + k) h), the rule 3 h window, 1 h gap, demand-response programs. A DR
 * event at 15:00Z has the window [11:00Z, 14:00Z) (bess_market.md §3.2: hours 11, 12, 13), i.e.
 * plan intervals 3, 4, 5. Batteries: bat-a on site-a, bat-a2 on site-a, bat-b on site-b, bat-c on
 * site-c; meter-c is site-c's meter.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { PowerWindow } from '@gridseam/dispatch';
import { type Enrolment, GridseamError, type Program, type ProgramEvent } from '@gridseam/model';
import { dayIntervals } from '@gridseam/settlement';
import { parseConfig } from '../../src/config/index.ts';
import {
  adjustmentWindow,
  type BaselineWindowInputs,
  baselineLookaheadMs,
  baselineWindows,
  protectedEvents,
  protectedGroupIds,
} from '../../src/dispatch/baseline-windows.ts';
import { dispatchSettings } from '../../src/dispatch/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const H = 3_600_000;
const DAY = Date.UTC(2026, 5, 16);
const at = (hours: number) => DAY + hours * H;
const NOW = at(8);
/** 13 bounds: 12 hourly intervals from 08:00Z. */
const BOUNDS = Array.from({ length: 13 }, (_, k) => at(8 + k));
const RULE = { windowHours: 3, gapHours: 1, programKinds: ['demand-response'] as Program['kind'][] };

const PROGRAMS = new Map<string, Pick<Program, 'kind'>>([
  ['dr', { kind: 'demand-response' }],
  ['dr-2', { kind: 'demand-response' }],
  ['wholesale', { kind: 'wholesale-market' }],
  ['cap', { kind: 'capacity' }],
  ['dispatch', { kind: 'demand-response' }],
]);
const BATTERIES = [
  { deviceId: 'bat-a', siteId: 'site-a' },
  { deviceId: 'bat-a2', siteId: 'site-a' },
  { deviceId: 'bat-b', siteId: 'site-b' },
  { deviceId: 'bat-c', siteId: 'site-c' },
];
const DEVICE_SITES = new Map([...BATTERIES.map((b) => [b.deviceId, b.siteId] as const), ['meter-c', 'site-c']]);

function drEvent(
  id: string,
  startHours: number,
  targets: ProgramEvent['targets'],
  more: Partial<ProgramEvent> = {},
): ProgramEvent {
  return {
    id,
    programId: 'dr',
    source: 'openadr3',
    primacy: 20,
    intervals: [{ start: at(startHours), durationS: 3 * 3600, signals: [{ kind: 'simpleLevel', value: 1 }] }],
    targets,
    status: 'scheduled',
    statusHistory: [],
    createdAt: NOW - H,
    ...more,
  };
}

function inputs(events: ProgramEvent[], more: Partial<BaselineWindowInputs> = {}): BaselineWindowInputs {
  return {
    now: NOW,
    horizonEnd: BOUNDS.at(-1) as number,
    rule: RULE,
    events,
    programs: PROGRAMS,
    excludeProgramIds: new Set(['dispatch']),
    enrolments: [],
    groupMembers: new Map(),
    deviceSites: DEVICE_SITES,
    batteries: BATTERIES,
    bounds: BOUNDS,
    ...more,
  };
}

/** Each battery's protected windows as [from, to) pairs. */
function runs(result: ReturnType<typeof baselineWindows>): Record<string, Array<[number, number]>> {
  const out: Record<string, Array<[number, number]>> = {};
  for (const [deviceId, windows] of result.powerWindows) {
    for (const w of windows)
      assert.deepEqual(Object.keys(w).sort(), ['fromInterval', 'minNetDischargeKw', 'toInterval']);
    for (const w of windows) assert.equal(w.minNetDischargeKw, 0, 'no net charging, nothing else');
    out[deviceId] = windows.map((w) => [w.fromInterval, w.toInterval]);
  }
  return out;
}

describe('adjustment windows', () => {
  test('the window: the 3 hours ending 1 hour before the start; an off-hour start widens it to the hour', () => {
    // 15:00 -> [15 - 4, 15 - 1) = [11:00, 14:00).
    assert.deepEqual(adjustmentWindow(at(15), RULE), { from: at(11), to: at(14) });
    // 15:30: the settlement's hour 15 gives [11:00, 14:00), the exact start [11:30, 14:30): union [11:00, 14:30).
    assert.deepEqual(adjustmentWindow(at(15.5), RULE), { from: at(11), to: at(14.5) });
    // 2 h window, no gap: [13:00, 15:00).
    assert.deepEqual(adjustmentWindow(at(15), { windowHours: 2, gapHours: 0 }), { from: at(13), to: at(15) });
    // Events must be read (3 + 1 + 1) h past the horizon.
    assert.equal(baselineLookaheadMs(RULE), 5 * H);
  });

  test('scoped by site: only the batteries at the event site, all of them', () => {
    const result = baselineWindows(inputs([drEvent('ev-site', 15, { siteIds: ['site-a'] })]));
    assert.deepEqual(runs(result), { 'bat-a': [[3, 6]], 'bat-a2': [[3, 6]] });
    assert.deepEqual(result.records, [
      {
        deviceId: 'bat-a',
        eventId: 'ev-site',
        programId: 'dr',
        from: at(11),
        to: at(14),
        fromInterval: 3,
        toInterval: 6,
      },
      {
        deviceId: 'bat-a2',
        eventId: 'ev-site',
        programId: 'dr',
        from: at(11),
        to: at(14),
        fromInterval: 3,
        toInterval: 6,
      },
    ]);
  });

  test('scoped by device: the sites of the targeted devices (a meter counts for its site)', () => {
    const result = baselineWindows(
      inputs([drEvent('ev-meter', 15, { deviceIds: ['meter-c'] }), drEvent('ev-bat', 16, { deviceIds: ['bat-b'] })]),
    );
    // ev-bat at 16:00: [12:00, 15:00) = intervals 4, 5, 6.
    assert.deepEqual(runs(result), { 'bat-b': [[4, 7]], 'bat-c': [[3, 6]] });
    assert.deepEqual(
      result.records.map((r) => [r.deviceId, r.eventId]),
      [
        ['bat-b', 'ev-bat'],
        ['bat-c', 'ev-meter'],
      ],
    );
  });

  test('scoped by group: the members at now, and protectedGroupIds names the groups to read', () => {
    const events = [drEvent('ev-group', 15, { groupIds: ['g-east'] })];
    const windows = protectedEvents({ now: NOW, horizonEnd: at(20), rule: RULE, events, programs: PROGRAMS });
    assert.deepEqual(protectedGroupIds(windows), ['g-east']);
    const result = baselineWindows(inputs(events, { groupMembers: new Map([['g-east', new Set(['bat-b'])]]) }));
    assert.deepEqual(runs(result), { 'bat-b': [[3, 6]] });
    // A group whose members are unknown protects nobody.
    assert.deepEqual(runs(baselineWindows(inputs(events))), {});
  });

  test("scoped by enrolment: an event without targets covers its program's enrolments in force at now", () => {
    const enrolment = (id: string, more: Partial<Enrolment>): Enrolment => ({
      id,
      programId: 'dr',
      validFrom: NOW - 24 * H,
      status: 'active',
      ...more,
    });
    const enrolments: Enrolment[] = [
      enrolment('e-site-a', { siteId: 'site-a' }),
      enrolment('e-bat-c', { deviceId: 'bat-c' }),
      // Not in force: ended, starting later, another program.
      enrolment('e-site-b-ended', { siteId: 'site-b', status: 'ended' }),
      enrolment('e-bat-b-later', { deviceId: 'bat-b', validFrom: NOW + H }),
      enrolment('e-other', { siteId: 'site-b', programId: 'wholesale' }),
    ];
    const result = baselineWindows(inputs([drEvent('ev-all', 15, {})], { enrolments }));
    assert.deepEqual(runs(result), { 'bat-a': [[3, 6]], 'bat-a2': [[3, 6]], 'bat-c': [[3, 6]] });
  });

  test('only live events of protected program kinds; never the dispatch program', () => {
    const site = { siteIds: ['site-a'] };
    const events = [
      drEvent('cancelled', 15, site, { status: 'cancelled' }),
      drEvent('superseded', 15, site, { status: 'superseded' }),
      drEvent('completed', 15, site, { status: 'completed' }),
      drEvent('wholesale', 15, site, { programId: 'wholesale' }),
      drEvent('capacity', 16, site, { programId: 'cap' }),
      drEvent('own', 15, site, { programId: 'dispatch' }),
      drEvent('unknown-program', 15, site, { programId: 'nobody' }),
    ];
    assert.deepEqual(baselineWindows(inputs(events)).records, []);
    // Capacity programs on request: 16:00 -> [12:00, 15:00) = intervals 4-6.
    const withCapacity = baselineWindows(
      inputs(events, { rule: { ...RULE, programKinds: ['demand-response', 'capacity'] } }),
    );
    assert.deepEqual(runs(withCapacity), { 'bat-a': [[4, 7]], 'bat-a2': [[4, 7]] });
    // An active event counts like a scheduled one.
    const active = baselineWindows(inputs([drEvent('active', 15, site, { status: 'active' })]));
    assert.deepEqual(runs(active), { 'bat-a': [[3, 6]], 'bat-a2': [[3, 6]] });
  });

  test('overlap: partial intervals count, windows past or beyond the horizon, overlapping windows merge', () => {
    const site = { siteIds: ['site-b'] };
    // Bounds at :20 past the hour: interval k = [08:20 + k h, 09:20 + k h). The window [11:00, 14:00)
    // overlaps k = 2 [10:20, 11:20) and k = 5 [13:20, 14:20) in part, k = 3, 4 wholly.
    const offset = BOUNDS.map((b) => b + 20 * 60_000);
    const partial = baselineWindows(
      inputs([drEvent('ev', 15, site)], { bounds: offset, horizonEnd: offset.at(-1) as number }),
    );
    assert.deepEqual(runs(partial), { 'bat-b': [[2, 6]] });
    assert.deepEqual(partial.records[0] && [partial.records[0].from, partial.records[0].to], [at(11), at(14)]);

    // An event at 15:30: window [11:00, 14:30): intervals 3, 4, 5 and 6 ([14:00, 15:00) in part).
    const offHour = baselineWindows(
      inputs([
        drEvent('ev', 15, site, {
          intervals: [{ start: at(15.5), durationS: 3600, signals: [{ kind: 'simpleLevel', value: 1 }] }],
        }),
      ]),
    );
    assert.deepEqual(runs(offHour), { 'bat-b': [[3, 7]] });

    // A window already under way: now 12:30, bounds hourly from 12:30; [11:00, 14:00) covers k = 0, 1.
    const late = Array.from({ length: 6 }, (_, k) => at(12.5 + k));
    const started = baselineWindows(
      inputs([drEvent('ev', 15, site)], { now: at(12.5), bounds: late, horizonEnd: at(17.5) }),
    );
    assert.deepEqual(runs(started), { 'bat-b': [[0, 2]] });
    // A window over before now (event at 09:00: [05:00, 08:00)) is nothing.
    assert.deepEqual(baselineWindows(inputs([drEvent('ev', 9, site)])).records, []);

    // An event after the horizon whose window reaches into it: 23:00 -> [19:00, 22:00): interval 11.
    assert.deepEqual(runs(baselineWindows(inputs([drEvent('ev', 23, site)]))), { 'bat-b': [[11, 12]] });
    // Midnight: [20:00, 23:00) starts at the horizon's end: nothing.
    assert.deepEqual(baselineWindows(inputs([drEvent('ev', 24, site)])).records, []);

    // Two events at 15:00 and 16:00: [11, 14) and [12, 15) -> one run of intervals 3-6, two records.
    const two = baselineWindows(inputs([drEvent('late', 16, site), drEvent('early', 15, site)]));
    assert.deepEqual(runs(two), { 'bat-b': [[3, 7]] });
    assert.deepEqual(
      two.records.map((r) => [r.eventId, r.fromInterval, r.toInterval]),
      [
        ['early', 3, 6],
        ['late', 4, 7],
      ],
    );
  });

  test('real instants: on DST days the window is the local hours 11-13 the settlement reads', () => {
    // America/Los_Angeles. A 15:00 local event on the 25-hour fall-back day (2026-11-01, PST after
    // 02:00 = 23:00Z) and on the 23-hour spring-forward day (2026-03-08, PDT after 02:00 = 22:00Z).
    for (const [date, hoursInDay] of [
      ['2026-11-01', 25],
      ['2026-03-08', 23],
    ] as const) {
      const day = dayIntervals(date, 'America/Los_Angeles', 60);
      assert.equal(day.hoursInDay, hoursInDay);
      const bounds = [...day.starts, (day.starts.at(-1) as number) + H];
      const start = day.starts[day.hours.indexOf(15)] as number;
      const event = drEvent(
        'ev',
        0,
        { siteIds: ['site-a'] },
        {
          intervals: [{ start, durationS: 3 * 3600, signals: [{ kind: 'simpleLevel', value: 1 }] }],
        },
      );
      const result = baselineWindows(
        inputs([event], { now: bounds[0] as number, bounds, horizonEnd: bounds.at(-1) as number }),
      );
      const record = result.records[0];
      assert.ok(record);
      const hours = day.hours.slice(record.fromInterval, record.toInterval);
      assert.deepEqual(hours, [11, 12, 13], `${date}: the window is local 11:00-14:00`);
      assert.deepEqual([record.from, record.to], [start - 4 * H, start - H]);
    }
  });

  test('a control of higher precedence forcing net charging keeps its intervals (recorded as skipped)', () => {
    // bat-a: the utility fixes -3 kW (a charge) in interval 4 (12:00); a discharge limit in 5 and a
    // fixed 0 in 3 are compatible with "no net charging" and stay protected.
    const overrides = new Map<string, PowerWindow[]>([
      [
        'bat-a',
        [
          { fromInterval: 3, toInterval: 4, minNetDischargeKw: 0, maxNetDischargeKw: 0 },
          { fromInterval: 4, toInterval: 5, minNetDischargeKw: -3, maxNetDischargeKw: -3 },
          { fromInterval: 5, toInterval: 6, maxNetDischargeKw: 2 },
        ],
      ],
    ]);
    const result = baselineWindows(inputs([drEvent('ev', 15, { siteIds: ['site-a'] })], { overrides }));
    assert.deepEqual(runs(result), {
      'bat-a': [
        [3, 4],
        [5, 6],
      ],
      'bat-a2': [[3, 6]],
    });
    assert.deepEqual(
      result.records.map((r) => [r.deviceId, r.fromInterval, r.toInterval, r.skippedIntervals]),
      [
        ['bat-a', 3, 6, [4]],
        ['bat-a2', 3, 6, undefined],
      ],
    );
  });

  test('no batteries or no intervals: nothing', () => {
    const events = [drEvent('ev', 15, { siteIds: ['site-a'] })];
    assert.deepEqual(baselineWindows(inputs(events, { batteries: [] })).records, []);
    assert.deepEqual(baselineWindows(inputs(events, { bounds: [NOW] })).records, []);
  });
});

describe('dispatch.baselineProtection config', () => {
  const temp = useTempDir('gridseam-baseline-config-');
  const parse = (yaml: string) => parseConfig(yaml, join(temp.dir(), 'gateway.yaml'));

  test('defaults: on, 3 h window, 1 h gap, demand-response programs', () => {
    const config = parse('dispatch: {}\n');
    assert.ok(config.dispatch);
    assert.deepEqual(dispatchSettings(config.dispatch).baselineProtection, {
      enabled: true,
      windowHours: 3,
      gapHours: 1,
      programKinds: ['demand-response'],
    });
  });

  test('every key set', () => {
    const config = parse(
      'dispatch: { baselineProtection: { enabled: false, windowHours: 2, gapHours: 0, programKinds: [demand-response, capacity] } }\n',
    );
    assert.ok(config.dispatch);
    assert.deepEqual(dispatchSettings(config.dispatch).baselineProtection, {
      enabled: false,
      windowHours: 2,
      gapHours: 0,
      programKinds: ['demand-response', 'capacity'],
    });
  });

  test('a misspelt key, a zero or fractional window, an unknown program kind are refused', () => {
    for (const bad of [
      '{ windowHour: 2 }',
      '{ windowHours: 0 }',
      '{ windowHours: 1.5 }',
      '{ gapHours: -1 }',
      '{ programKinds: [demand-responce] }',
      '{ enabled: yes please }',
    ])
      assert.throws(
        () => parse(`dispatch: { baselineProtection: ${bad} }\n`),
        (error: unknown) =>
          GridseamError.is(error) && error.code === 'GW_ERR_CONFIG' && /baselineProtection/.test(error.message),
        bad,
      );
  });
});
