import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChargingProfileSpec, ElectricalFacts, InstalledProfile } from '../../src/contract.ts';
import {
  compositeSchedule,
  DEFAULT_LIMIT_AMPS,
  DEFAULT_LIMIT_WATTS,
  limitAt,
} from '../../src/smart-charging/composite.ts';
import { ampsToWatts, convertLimit, wattsToAmps } from '../../src/smart-charging/units.ts';

const FACTS: ElectricalFacts = { voltage: 230, phases: 3 };
/** Monday 2025-01-06T00:00:00Z. */
const T0 = Date.UTC(2025, 0, 6);
const MIN = 60_000;
const HOUR = 3_600_000;

function profile(
  partial: Partial<ChargingProfileSpec> & Pick<ChargingProfileSpec, 'id' | 'purpose'>,
): ChargingProfileSpec {
  return {
    stackLevel: 0,
    kind: 'Absolute',
    startSchedule: T0,
    unit: 'A',
    periods: [{ startPeriod: 0, limit: 16 }],
    ...partial,
  };
}

/** The composite as [offset from T0 in minutes, limit] pairs. */
function steps(installed: InstalledProfile[], query: Partial<Parameters<typeof compositeSchedule>[1]> = {}) {
  const schedule = compositeSchedule(installed, {
    evseId: 1,
    from: T0,
    durationS: 4 * 3600,
    unit: 'A',
    facts: FACTS,
    ...query,
  });
  return schedule.periods.map((p) => [(p.start - T0) / MIN, Math.round(p.limit * 100) / 100]);
}

describe('units', () => {
  it('converts amps and watts with voltage and phases', () => {
    assert.equal(ampsToWatts(16, FACTS), 11_040);
    assert.equal(ampsToWatts(16, { voltage: 230, phases: 1 }), 3_680);
    assert.equal(wattsToAmps(11_040, FACTS), 16);
    assert.equal(convertLimit(16, 'A', 'W', FACTS, 1), 3_680);
    assert.equal(convertLimit(7_360, 'W', 'A', FACTS, 2), 16);
    assert.equal(convertLimit(20, 'A', 'A', FACTS), 20);
  });
});

describe('compositeSchedule', () => {
  // The acceptance case: every purpose, two stack levels, EVSE-specific and station-wide defaults.
  const stacked: InstalledProfile[] = [
    { evseId: 0, profile: profile({ id: 1, purpose: 'StationMax', periods: [{ startPeriod: 0, limit: 32 }] }) },
    {
      evseId: 0,
      profile: profile({
        id: 2,
        purpose: 'StationMax',
        stackLevel: 1,
        startSchedule: T0 + 2 * HOUR,
        durationS: 3600,
        periods: [{ startPeriod: 0, limit: 20 }],
      }),
    },
    { evseId: 0, profile: profile({ id: 3, purpose: 'TxDefault', periods: [{ startPeriod: 0, limit: 16 }] }) },
    {
      evseId: 1,
      profile: profile({
        id: 4,
        purpose: 'TxDefault',
        periods: [
          { startPeriod: 0, limit: 24 },
          { startPeriod: 5400, limit: 12 },
        ],
      }),
    },
    {
      evseId: 1,
      profile: profile({
        id: 5,
        purpose: 'Tx',
        kind: 'Relative',
        startSchedule: undefined,
        transactionId: 'T1',
        periods: [
          { startPeriod: 0, limit: 28 },
          { startPeriod: 9000, limit: 6 },
        ],
      }),
    },
    {
      evseId: 1,
      profile: profile({
        id: 6,
        purpose: 'Tx',
        stackLevel: 5,
        kind: 'Relative',
        startSchedule: undefined,
        transactionId: 'T2',
        periods: [{ startPeriod: 0, limit: 5 }],
      }),
    },
  ];

  it('stacks purposes and levels: TxDefault base, Tx overrides, StationMax caps', () => {
    assert.deepEqual(steps(stacked, { txStart: T0 + HOUR, transactionId: 'T1' }), [
      [0, 24], // EVSE 1's TxDefault beats EVSE 0's 16 A, under the 32 A station maximum
      [60, 28], // the transaction's TxProfile (relative to its start) overrides the default
      [120, 20], // the stack-level-1 station maximum caps it for one hour
      [180, 28],
      [210, 6], // the TxProfile's second period, 9000 s after the transaction started
    ]);
  });

  it('without a transaction: no Tx or Relative profile, the EVSE default follows its own periods', () => {
    assert.deepEqual(steps(stacked), [
      [0, 24],
      [90, 12],
    ]);
  });

  it('a TxProfile for another transaction does not count (tx mismatch)', () => {
    assert.deepEqual(steps(stacked, { txStart: T0, transactionId: 'T9' }), [
      [0, 24],
      [90, 12],
    ]);
  });

  it('an EVSE without its own default takes EVSE 0 default; EVSE 0 shows the station maximum', () => {
    assert.deepEqual(steps(stacked, { evseId: 2 }), [[0, 16]]);
    assert.deepEqual(steps(stacked, { evseId: 0 }), [
      [0, 32],
      [120, 20],
      [180, 32],
    ]);
  });

  it('the default limit fills gaps (48 A / 33,120 W) or the given one; at least one period', () => {
    assert.deepEqual(steps([]), [[0, DEFAULT_LIMIT_AMPS]]);
    assert.deepEqual(steps([], { unit: 'W' }), [[0, DEFAULT_LIMIT_WATTS]]);
    assert.deepEqual(steps([], { defaultLimit: 32 }), [[0, 32]]);
    const short = [
      {
        evseId: 1,
        profile: profile({ id: 1, purpose: 'TxDefault', durationS: 1800, periods: [{ startPeriod: 0, limit: 10 }] }),
      },
    ];
    assert.deepEqual(steps(short, { defaultLimit: 32 }), [
      [0, 10],
      [30, 32],
    ]);
  });

  it('a station maximum alone is the limit, even above the default', () => {
    const only = [
      { evseId: 0, profile: profile({ id: 1, purpose: 'StationMax', periods: [{ startPeriod: 0, limit: 63 }] }) },
    ];
    assert.deepEqual(steps(only), [[0, 63]]);
    assert.deepEqual(steps(only, { evseId: 0 }), [[0, 63]]);
  });

  it('higher stack level wins only while its schedule covers the instant', () => {
    const installed = [
      { evseId: 1, profile: profile({ id: 1, purpose: 'TxDefault', periods: [{ startPeriod: 0, limit: 20 }] }) },
      {
        evseId: 1,
        profile: profile({
          id: 2,
          purpose: 'TxDefault',
          stackLevel: 3,
          startSchedule: T0 + 30 * MIN,
          durationS: 1800,
          periods: [{ startPeriod: 0, limit: 30 }],
        }),
      },
    ];
    assert.deepEqual(steps(installed), [
      [0, 20],
      [30, 30], // higher stack level, even though higher
      [60, 20],
    ]);
  });

  it('ExternalConstraints cap like the station maximum', () => {
    const installed = [
      { evseId: 1, profile: profile({ id: 1, purpose: 'TxDefault', periods: [{ startPeriod: 0, limit: 32 }] }) },
      {
        evseId: 0,
        profile: profile({
          id: 2,
          purpose: 'ExternalConstraints',
          periods: [
            { startPeriod: 0, limit: 40 },
            { startPeriod: 3600, limit: 10 },
          ],
        }),
      },
    ];
    assert.deepEqual(steps(installed), [
      [0, 32],
      [60, 10],
    ]);
  });

  it('honours validFrom (inclusive) and validTo (exclusive)', () => {
    const installed = [
      {
        evseId: 1,
        profile: profile({
          id: 1,
          purpose: 'TxDefault',
          validFrom: T0 + HOUR,
          validTo: T0 + 2 * HOUR,
          periods: [{ startPeriod: 0, limit: 8 }],
        }),
      },
    ];
    assert.deepEqual(steps(installed, { defaultLimit: 32 }), [
      [0, 32],
      [60, 8],
      [120, 32],
    ]);
    assert.deepEqual(steps(installed, { from: T0 + 3 * HOUR, defaultLimit: 32 }).length, 1);
  });

  it('repeats a Daily profile from its startSchedule, across midnight', () => {
    const nightly = [
      {
        evseId: 1,
        profile: profile({
          id: 1,
          purpose: 'TxDefault',
          kind: 'Recurring',
          recurrency: 'Daily',
          startSchedule: T0 + 22 * HOUR,
          durationS: 8 * 3600,
          periods: [
            { startPeriod: 0, limit: 10 },
            { startPeriod: 3600, limit: 12 },
          ],
        }),
      },
    ];
    // Day 1: nothing before the first start.
    assert.deepEqual(steps(nightly, { durationS: 24 * 3600, defaultLimit: 32 }), [
      [0, 32],
      [22 * 60, 10],
      [23 * 60, 12],
    ]);
    // Day 2: the tail of day 1's instance until 06:00, then the next one at 22:00.
    assert.deepEqual(steps(nightly, { from: T0 + 24 * HOUR, durationS: 24 * 3600, defaultLimit: 32 }), [
      [24 * 60, 12],
      [30 * 60, 32],
      [46 * 60, 10],
      [47 * 60, 12],
    ]);
  });

  it('repeats a Weekly profile a week later', () => {
    const weekly = [
      {
        evseId: 1,
        profile: profile({
          id: 1,
          purpose: 'TxDefault',
          kind: 'Recurring',
          recurrency: 'Weekly',
          startSchedule: T0 + 8 * HOUR,
          durationS: 7200,
          periods: [{ startPeriod: 0, limit: 6 }],
        }),
      },
    ];
    const nextMonday = T0 + 7 * 24 * HOUR;
    assert.deepEqual(steps(weekly, { from: nextMonday, durationS: 12 * 3600, defaultLimit: 32 }), [
      [7 * 24 * 60, 32],
      [7 * 24 * 60 + 8 * 60, 6],
      [7 * 24 * 60 + 10 * 60, 32],
    ]);
    // Tuesday: not in force.
    assert.deepEqual(steps(weekly, { from: T0 + 24 * HOUR, durationS: 24 * 3600, defaultLimit: 32 }), [[24 * 60, 32]]);
  });

  it('anchors Relative profiles at the transaction start; no transaction, not in force', () => {
    const relative = [
      {
        evseId: 1,
        profile: profile({
          id: 1,
          purpose: 'TxDefault',
          kind: 'Relative',
          startSchedule: undefined,
          durationS: 3600,
          periods: [
            { startPeriod: 0, limit: 6 },
            { startPeriod: 600, limit: 10 },
          ],
        }),
      },
    ];
    assert.deepEqual(steps(relative, { defaultLimit: 32 }), [[0, 32]]);
    assert.deepEqual(steps(relative, { txStart: T0 + 30 * MIN, transactionId: 'x', defaultLimit: 32 }), [
      [0, 32],
      [30, 6],
      [40, 10],
      [90, 32],
    ]);
  });

  it('converts units per period (numberPhases) and compares in the asked unit', () => {
    const installed = [
      {
        evseId: 0,
        profile: profile({ id: 1, purpose: 'StationMax', unit: 'W', periods: [{ startPeriod: 0, limit: 11_000 }] }),
      },
      { evseId: 1, profile: profile({ id: 2, purpose: 'TxDefault', periods: [{ startPeriod: 0, limit: 32 }] }) },
    ];
    assert.deepEqual(steps(installed), [[0, 15.94]]); // 11 kW over 3 x 230 V
    assert.deepEqual(steps(installed, { unit: 'W' }), [[0, 11_000]]);
    const onePhase = [
      {
        evseId: 1,
        profile: profile({ id: 3, purpose: 'TxDefault', periods: [{ startPeriod: 0, limit: 16, numberPhases: 1 }] }),
      },
    ];
    const schedule = compositeSchedule(onePhase, { evseId: 1, from: T0, durationS: 60, unit: 'W', facts: FACTS });
    assert.deepEqual(schedule.periods, [{ start: T0, limit: 3_680, numberPhases: 1 }]);
  });

  it('merges adjacent periods with the same limit', () => {
    const installed = [
      {
        evseId: 1,
        profile: profile({
          id: 1,
          purpose: 'TxDefault',
          periods: [
            { startPeriod: 0, limit: 16 },
            { startPeriod: 600, limit: 16 },
            { startPeriod: 1200, limit: 8 },
          ],
        }),
      },
    ];
    assert.deepEqual(steps(installed), [
      [0, 16],
      [20, 8],
    ]);
  });
});

describe('limitAt', () => {
  it('reads the period in force and nothing outside the window', () => {
    const schedule = {
      evseId: 1,
      start: T0,
      durationS: 3600,
      unit: 'A' as const,
      periods: [
        { start: T0, limit: 16 },
        { start: T0 + 30 * MIN, limit: 8 },
      ],
    };
    assert.equal(limitAt(schedule, T0), 16);
    assert.equal(limitAt(schedule, T0 + 30 * MIN - 1), 16);
    assert.equal(limitAt(schedule, T0 + 30 * MIN), 8);
    assert.equal(limitAt(schedule, T0 + HOUR), undefined);
    assert.equal(limitAt(schedule, T0 - 1), undefined);
  });
});
