/** Client-side resolution per control type: primacy, creationTime, superseded, cancellation, defaults. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ActiveSchedule,
  type DefaultControl,
  type RandomizationOffsets,
  resolveActiveControls,
  type ScheduledControl,
  stateFromEventStatus,
} from '../../src/events/index.ts';
import { control, defaultControl, offsets, T0, watts } from './helpers.ts';

/** type → [winner mRID, or "default:<program>", value.value] */
function summary(schedule: ActiveSchedule): Record<string, [string, unknown]> {
  const out: Record<string, [string, unknown]> = {};
  for (const [type, resolution] of Object.entries(schedule.byType)) {
    const label =
      resolution.source.kind === 'control' ? resolution.source.mRID : `default:${resolution.source.programId}`;
    const value = resolution.value;
    out[type] = [label, typeof value === 'object' && value !== null && 'value' in value ? value.value : value];
  }
  return out;
}

const defaults: DefaultControl[] = [
  defaultControl('derp-6', 2, { opModExpLimW: watts(500), opModGenLimW: watts(2000) }),
  defaultControl('derp-1', 1, { opModExpLimW: watts(3000), opModImpLimW: watts(1000) }),
];

interface Row {
  name: string;
  controls: ScheduledControl[];
  defaults?: DefaultControl[];
  now: number;
  offsets?: Map<string, RandomizationOffsets>;
  byType: Record<string, [string, unknown]>;
  active: string[];
  superseded: string[];
  pending?: string[];
  losers?: Record<string, string[]>;
  nextChangeAt?: number | undefined;
}

const p1 = { programId: 'derp-1', programPrimacy: 1 };
const p2 = { programId: 'derp-6', programPrimacy: 2 };

const rows: Row[] = [
  {
    name: 'nothing active: each type falls back to the best default that sets it',
    controls: [],
    defaults,
    now: T0,
    byType: {
      opModExpLimW: ['default:derp-1', 3000],
      opModImpLimW: ['default:derp-1', 1000],
      opModGenLimW: ['default:derp-6', 2000],
    },
    active: [],
    superseded: [],
    nextChangeAt: undefined,
  },
  {
    name: 'only some types active: the rest from defaults (a primacy-2 control beats a primacy-1 default)',
    controls: [control({ mRID: 'A', start: T0 - 60, duration: 600, base: { opModExpLimW: watts(10000) }, ...p2 })],
    defaults,
    now: T0,
    byType: {
      opModExpLimW: ['A', 10000],
      opModImpLimW: ['default:derp-1', 1000],
      opModGenLimW: ['default:derp-6', 2000],
    },
    active: ['A'],
    superseded: [],
    nextChangeAt: T0 + 540,
  },
  {
    name: 'no defaults and nothing active: no types at all',
    controls: [control({ mRID: 'A', start: T0 + 60, duration: 60, base: { opModExpLimW: watts(1) } })],
    now: T0,
    byType: {},
    active: [],
    superseded: [],
    nextChangeAt: T0 + 60,
  },
  {
    name: 'overlapping, same program: the newer creationTime wins, the older is superseded',
    controls: [
      control({
        mRID: 'old',
        start: T0 - 100,
        duration: 600,
        creationTime: T0 - 500,
        base: { opModExpLimW: watts(1) },
      }),
      control({ mRID: 'new', start: T0 - 50, duration: 600, creationTime: T0 - 400, base: { opModExpLimW: watts(2) } }),
    ],
    now: T0,
    byType: { opModExpLimW: ['new', 2] },
    active: ['new'],
    superseded: ['old'],
    losers: { opModExpLimW: ['old'] },
  },
  {
    name: 'partial overlap: before the newer one starts, the older applies',
    controls: [
      control({
        mRID: 'old',
        start: T0 - 100,
        duration: 600,
        creationTime: T0 - 500,
        base: { opModExpLimW: watts(1) },
      }),
      control({ mRID: 'new', start: T0 + 50, duration: 600, creationTime: T0 - 400, base: { opModExpLimW: watts(2) } }),
    ],
    now: T0,
    byType: { opModExpLimW: ['old', 1] },
    active: ['old'],
    superseded: [],
    nextChangeAt: T0 + 50,
  },
  {
    name: 'primacy tie and creationTime tie: mRID decides, never input order',
    controls: [
      control({ mRID: 'b', start: T0, duration: 60, creationTime: T0 - 1, base: { opModExpLimW: watts(2) } }),
      control({ mRID: 'a', start: T0, duration: 60, creationTime: T0 - 1, base: { opModExpLimW: watts(1) } }),
    ],
    now: T0,
    byType: { opModExpLimW: ['a', 1] },
    active: ['a'],
    superseded: ['b'],
  },
  {
    name: 'lower primacy value wins across programs even when older',
    controls: [
      control({
        mRID: 'P1',
        start: T0 - 60,
        duration: 840,
        creationTime: T0 - 900,
        base: { opModExpLimW: watts(0) },
        ...p1,
      }),
      control({
        mRID: 'P2',
        start: T0 - 120,
        duration: 600,
        creationTime: T0 - 100,
        base: { opModExpLimW: watts(9) },
        ...p2,
      }),
    ],
    now: T0,
    byType: { opModExpLimW: ['P1', 0] },
    active: ['P1'],
    superseded: ['P2'],
  },
  {
    name: 'different control types do not supersede each other (GEN-10 DERC4/DERC5)',
    controls: [
      control({ mRID: 'D4', start: T0, duration: 300, base: { opModGenLimW: watts(0), opModConnect: false }, ...p1 }),
      control({ mRID: 'D5', start: T0, duration: 1200, base: { opModExpLimW: watts(20000) }, ...p2 }),
    ],
    now: T0 + 10,
    byType: { opModConnect: ['D4', false], opModGenLimW: ['D4', 0], opModExpLimW: ['D5', 20000] },
    active: ['D4', 'D5'],
    superseded: [],
  },
  {
    name: 'winning one type keeps a control active while it loses another (GEN-10 DERC7/DERC8)',
    controls: [
      control({ mRID: 'D7', start: T0, duration: 300, creationTime: T0 - 2, base: { opModExpLimW: watts(0) }, ...p1 }),
      control({
        mRID: 'D8',
        start: T0,
        duration: 300,
        creationTime: T0 - 1,
        base: { opModExpLimW: watts(5000), opModGenLimW: watts(3000) },
        ...p2,
      }),
    ],
    now: T0 + 10,
    byType: { opModExpLimW: ['D7', 0], opModGenLimW: ['D8', 3000] },
    active: ['D7', 'D8'],
    superseded: [],
    losers: { opModExpLimW: ['D8'], opModGenLimW: [] },
  },
  {
    name: 'a control the server marked Superseded sorts last and is answered Superseded',
    controls: [
      control({
        mRID: 'S',
        start: T0 - 10,
        duration: 600,
        base: { opModExpLimW: watts(1) },
        superseded: { at: T0 - 5 },
        ...p1,
      }),
      control({ mRID: 'L', start: T0 - 10, duration: 600, base: { opModExpLimW: watts(2) }, ...p2 }),
    ],
    now: T0,
    byType: { opModExpLimW: ['L', 2] },
    active: ['L'],
    superseded: ['S'],
  },
  {
    name: 'a Superseded control with no rival still applies but is answered Superseded',
    controls: [
      control({
        mRID: 'S',
        start: T0 - 10,
        duration: 600,
        base: { opModExpLimW: watts(1) },
        superseded: { at: T0 - 5 },
      }),
    ],
    defaults,
    now: T0,
    byType: { opModExpLimW: ['S', 1], opModImpLimW: ['default:derp-1', 1000], opModGenLimW: ['default:derp-6', 2000] },
    active: [],
    superseded: ['S'],
  },
  {
    name: 'cancelled while active: applies until the cancellation time',
    controls: [
      control({
        mRID: 'C',
        start: T0 - 100,
        duration: 600,
        base: { opModExpLimW: watts(7) },
        cancelled: { at: T0 + 20 },
      }),
    ],
    defaults,
    now: T0 + 19,
    byType: { opModExpLimW: ['C', 7], opModImpLimW: ['default:derp-1', 1000], opModGenLimW: ['default:derp-6', 2000] },
    active: ['C'],
    superseded: [],
    nextChangeAt: T0 + 20,
  },
  {
    name: 'cancelled while active: out from the cancellation time (default again)',
    controls: [
      control({ mRID: 'C', start: T0 - 100, duration: 600, base: { opModExpLimW: watts(7) }, cancelled: { at: T0 } }),
    ],
    defaults,
    now: T0,
    byType: {
      opModExpLimW: ['default:derp-1', 3000],
      opModImpLimW: ['default:derp-1', 1000],
      opModGenLimW: ['default:derp-6', 2000],
    },
    active: [],
    superseded: [],
  },
  {
    name: 'cancelled with randomization: still applied inside the drawn end randomisation',
    controls: [
      control({
        mRID: 'R',
        start: T0 - 100,
        duration: 600,
        randomizeStart: 60,
        base: { opModExpLimW: watts(7) },
        cancelled: { at: T0, randomized: true },
      }),
    ],
    offsets: offsets({ R: { startOffset: 10, cancelOffset: 40 } }),
    now: T0 + 39,
    byType: { opModExpLimW: ['R', 7] },
    active: ['R'],
    superseded: [],
    nextChangeAt: T0 + 40,
  },
  {
    name: 'cancelled with randomization: out at cancellation + drawn offset',
    controls: [
      control({
        mRID: 'R',
        start: T0 - 100,
        duration: 600,
        randomizeStart: 60,
        base: { opModExpLimW: watts(7) },
        cancelled: { at: T0, randomized: true },
      }),
    ],
    offsets: offsets({ R: { startOffset: 10, cancelOffset: 40 } }),
    now: T0 + 40,
    byType: {},
    active: [],
    superseded: [],
    nextChangeAt: undefined,
  },
  {
    name: 'plain cancellation ignores the drawn cancel offset',
    controls: [
      control({
        mRID: 'R',
        start: T0 - 100,
        duration: 600,
        randomizeStart: 60,
        base: { opModExpLimW: watts(7) },
        cancelled: { at: T0, randomized: false },
      }),
    ],
    offsets: offsets({ R: { cancelOffset: 40 } }),
    now: T0,
    byType: {},
    active: [],
    superseded: [],
  },
  {
    name: 'cancelled before start: never applied',
    controls: [
      control({ mRID: 'C', start: T0 + 100, duration: 600, base: { opModExpLimW: watts(7) }, cancelled: { at: T0 } }),
    ],
    now: T0 + 200,
    byType: {},
    active: [],
    superseded: [],
    nextChangeAt: undefined,
  },
  {
    name: 'a control that starts in the past is applied at once',
    controls: [
      control({ mRID: 'P', start: T0 - 3000, duration: 3600, creationTime: T0, base: { opModImpLimW: watts(4) } }),
    ],
    now: T0,
    byType: { opModImpLimW: ['P', 4] },
    active: ['P'],
    superseded: [],
    nextChangeAt: T0 + 600,
  },
  {
    name: 'a completed control no longer applies: defaults are back',
    controls: [control({ mRID: 'Done', start: T0 - 600, duration: 600, base: { opModExpLimW: watts(9) } })],
    defaults,
    now: T0,
    byType: {
      opModExpLimW: ['default:derp-1', 3000],
      opModImpLimW: ['default:derp-1', 1000],
      opModGenLimW: ['default:derp-6', 2000],
    },
    active: [],
    superseded: [],
  },
  {
    name: 'randomised start: not applied before the effective start',
    controls: [control({ mRID: 'Z', start: T0, duration: 120, randomizeStart: 60, base: { opModExpLimW: watts(9) } })],
    offsets: offsets({ Z: { startOffset: 30 } }),
    now: T0 + 10,
    byType: {},
    active: [],
    superseded: [],
    nextChangeAt: T0 + 30,
  },
  {
    name: 'randomised start and duration: applied until the effective end',
    controls: [
      control({
        mRID: 'Z',
        start: T0,
        duration: 120,
        randomizeStart: 60,
        randomizeDuration: 60,
        base: { opModExpLimW: watts(9) },
      }),
    ],
    offsets: offsets({ Z: { startOffset: 30, durationOffset: 20 } }),
    now: T0 + 169,
    byType: { opModExpLimW: ['Z', 9] },
    active: ['Z'],
    superseded: [],
    nextChangeAt: T0 + 170,
  },
  {
    name: 'randomised tail overlapping the next control of a sequence: pending, not superseded',
    controls: [
      control({
        mRID: 'S1',
        start: T0,
        duration: 120,
        randomizeStart: 60,
        creationTime: T0 - 10,
        base: { opModExpLimW: watts(1) },
      }),
      control({
        mRID: 'S2',
        start: T0 + 120,
        duration: 120,
        randomizeStart: 60,
        creationTime: T0 - 9,
        base: { opModExpLimW: watts(2) },
      }),
    ],
    offsets: offsets({ S1: { startOffset: 50 }, S2: { startOffset: 10 } }),
    now: T0 + 150,
    byType: { opModExpLimW: ['S2', 2] },
    active: ['S2'],
    superseded: [],
    pending: ['S1'],
    nextChangeAt: T0 + 170,
  },
];

describe('resolveActiveControls', () => {
  for (const row of rows) {
    test(row.name, () => {
      const schedule = resolveActiveControls({
        controls: row.controls,
        defaults: row.defaults ?? [],
        now: row.now,
        offsets: row.offsets ?? new Map(),
      });
      assert.deepEqual(summary(schedule), row.byType);
      assert.deepEqual(schedule.active, row.active);
      assert.deepEqual(schedule.superseded, row.superseded);
      assert.deepEqual(schedule.pending, row.pending ?? []);
      for (const [type, losers] of Object.entries(row.losers ?? {})) {
        assert.deepEqual(schedule.byType[type as keyof typeof schedule.byType]?.losers, losers, `losers of ${type}`);
      }
      if ('nextChangeAt' in row) assert.equal(schedule.nextChangeAt, row.nextChangeAt);
    });
  }

  test('value source names the control or the default (with its mRID)', () => {
    const schedule = resolveActiveControls({
      controls: [control({ mRID: 'A', start: T0, duration: 60, base: { opModExpLimW: watts(1) }, ...p2 })],
      defaults,
      now: T0,
      offsets: new Map(),
    });
    assert.deepEqual(schedule.byType.opModExpLimW?.source, { kind: 'control', mRID: 'A', programId: 'derp-6' });
    assert.deepEqual(schedule.byType.opModImpLimW?.source, {
      kind: 'default',
      programId: 'derp-1',
      mRID: 'dderc-derp-1',
    });
    assert.deepEqual(schedule.windows.get('A'), { start: T0, end: T0 + 60 });
  });

  test('fields that are not control types (rampTms) and null values are ignored', () => {
    const schedule = resolveActiveControls({
      controls: [control({ mRID: 'A', start: T0, duration: 60, base: { rampTms: 100, opModMaxLimW: null } })],
      defaults: [],
      now: T0,
      offsets: new Map(),
    });
    assert.deepEqual(schedule.byType, {});
    assert.deepEqual(schedule.active, ['A'], 'it has no rival, so it runs (and is answered Started)');
    assert.deepEqual(schedule.superseded, []);
  });
});

describe('stateFromEventStatus (what a client reads from EventStatus)', () => {
  const rows: Array<[number, ReturnType<typeof stateFromEventStatus>]> = [
    [0, {}],
    [1, {}],
    [2, { cancelled: { at: T0, randomized: false } }],
    [3, { cancelled: { at: T0, randomized: true } }],
    [4, { superseded: { at: T0 } }],
    [9, {}],
  ];
  for (const [currentStatus, expected] of rows) {
    test(`currentStatus ${currentStatus}`, () => {
      assert.deepEqual(stateFromEventStatus({ currentStatus, dateTime: T0 }), expected);
    });
  }
});
