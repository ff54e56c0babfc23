/** Server-side EventStatus per request, list visibility, and supersession at insert. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CURRENT_STATUS,
  type ScheduledControl,
  type ServerEventStatus,
  serverEventStatus,
  supersededBy,
  visibleUntil,
} from '../../src/events/index.ts';
import { type ControlSpec, control, T0, watts } from './helpers.ts';

const limit = { opModExpLimW: watts(5000) };

describe('serverEventStatus', () => {
  const rows: Array<{
    name: string;
    spec: Omit<ControlSpec, 'mRID' | 'base'>;
    now: number;
    expected: ServerEventStatus;
  }> = [
    {
      name: 'future control is Scheduled, dateTime = creationTime',
      spec: { start: T0 + 60, duration: 120, creationTime: T0 - 100 },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Scheduled, dateTime: T0 - 100, potentiallySuperseded: false },
    },
    {
      name: 'control created with a start in the past is Active immediately (never Scheduled)',
      spec: { start: T0 - 300, duration: 600, creationTime: T0 },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Active, dateTime: T0, potentiallySuperseded: false },
    },
    {
      name: 'start == now is Active',
      spec: { start: T0, duration: 600, creationTime: T0 - 50 },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Active, dateTime: T0, potentiallySuperseded: false },
    },
    {
      name: 'Active since its start, dateTime = start',
      spec: { start: T0 - 30, duration: 600, creationTime: T0 - 500 },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Active, dateTime: T0 - 30, potentiallySuperseded: false },
    },
    {
      name: 'negative randomizeStart: Active from the earliest effective start',
      spec: { start: T0 + 60, duration: 600, creationTime: T0 - 600, randomizeStart: -120 },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Active, dateTime: T0 - 60, potentiallySuperseded: false },
    },
    {
      name: 'positive randomizeStart: still Scheduled before start',
      spec: { start: T0 + 60, duration: 600, creationTime: T0 - 600, randomizeStart: 60 },
      now: T0 + 59,
      expected: { currentStatus: CURRENT_STATUS.Scheduled, dateTime: T0 - 600, potentiallySuperseded: false },
    },
    {
      name: 'completed control stays Active until dropped from the list',
      spec: { start: T0 - 600, duration: 300, creationTime: T0 - 900 },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Active, dateTime: T0 - 600, potentiallySuperseded: false },
    },
    {
      name: 'cancelled before start → Cancelled (2), dateTime = cancellation',
      spec: { start: T0 + 300, duration: 600, creationTime: T0 - 100, cancelled: { at: T0 - 10 } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Cancelled, dateTime: T0 - 10, potentiallySuperseded: false },
    },
    {
      name: 'cancelled while active → Cancelled (2)',
      spec: { start: T0 - 300, duration: 600, creationTime: T0 - 400, cancelled: { at: T0 - 5 } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Cancelled, dateTime: T0 - 5, potentiallySuperseded: false },
    },
    {
      name: 'cancelled during start randomisation → Cancelled with Randomization (3)',
      spec: { start: T0 - 10, duration: 600, creationTime: T0 - 400, randomizeStart: 60, cancelled: { at: T0 } },
      now: T0 + 1,
      expected: {
        currentStatus: CURRENT_STATUS.CancelledWithRandomization,
        dateTime: T0,
        potentiallySuperseded: false,
      },
    },
    {
      name: 'randomizeDuration alone also gives 3',
      spec: { start: T0 - 10, duration: 600, randomizeDuration: -30, cancelled: { at: T0 } },
      now: T0,
      expected: {
        currentStatus: CURRENT_STATUS.CancelledWithRandomization,
        dateTime: T0,
        potentiallySuperseded: false,
      },
    },
    {
      name: 'randomized cancellation explicitly off → 2 despite randomisation',
      spec: { start: T0 - 10, duration: 600, randomizeStart: 60, cancelled: { at: T0, randomized: false } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Cancelled, dateTime: T0, potentiallySuperseded: false },
    },
    {
      name: 'randomized cancellation without randomisation → 2 (3 is only for randomizable events)',
      spec: { start: T0 - 10, duration: 600, cancelled: { at: T0, randomized: true } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Cancelled, dateTime: T0, potentiallySuperseded: false },
    },
    {
      name: 'cancellation stamped in the future is not yet in effect',
      spec: { start: T0 + 60, duration: 600, creationTime: T0 - 1, cancelled: { at: T0 + 5 } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Scheduled, dateTime: T0 - 1, potentiallySuperseded: false },
    },
    {
      name: 'superseded → 4, dateTime = supersession time',
      spec: { start: T0 - 60, duration: 600, superseded: { at: T0 - 20 } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Superseded, dateTime: T0 - 20, potentiallySuperseded: false },
    },
    {
      name: 'superseded from the overlapping start: not yet at now',
      spec: { start: T0 - 60, duration: 600, creationTime: T0 - 100, superseded: { at: T0 + 100 } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Active, dateTime: T0 - 60, potentiallySuperseded: false },
    },
    {
      name: 'cancelled wins over superseded',
      spec: { start: T0 - 60, duration: 600, superseded: { at: T0 - 20 }, cancelled: { at: T0 - 10 } },
      now: T0,
      expected: { currentStatus: CURRENT_STATUS.Cancelled, dateTime: T0 - 10, potentiallySuperseded: false },
    },
    {
      name: 'potentiallySuperseded flag and time',
      spec: { start: T0 + 60, duration: 600, creationTime: T0 - 100, potentiallySuperseded: { at: T0 - 50 } },
      now: T0,
      expected: {
        currentStatus: CURRENT_STATUS.Scheduled,
        dateTime: T0 - 100,
        potentiallySuperseded: true,
        potentiallySupersededTime: T0 - 50,
      },
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      assert.deepEqual(serverEventStatus(control({ mRID: 'x', base: limit, ...row.spec }), row.now), row.expected);
    });
  }

  test('CACTUS S-ALL-44: 24 sequential one-minute controls are all Scheduled and none supersedes another', () => {
    // start_offset_seconds of the 24 controls in S-ALL-44.yaml
    const starts = [
      60, 130, 200, 280, 350, 420, 490, 560, 630, 700, 770, 840, 910, 980, 1050, 1120, 1190, 1260, 1330, 1400, 1470,
      1540, 1610, 1680,
    ];
    const controls = starts.map((offset, i) =>
      control({ mRID: `s${i}`, start: T0 + offset, duration: 60, base: limit, creationTime: T0 - 100 + i }),
    );
    const inserted: ScheduledControl[] = [];
    for (const c of controls) {
      assert.deepEqual(supersededBy(c, inserted, T0), {
        superseded: [],
        potentiallySuperseded: [],
        newControlPotentiallySuperseded: false,
      });
      inserted.push(c);
    }
    assert.deepEqual(
      new Set(controls.map((c) => serverEventStatus(c, T0).currentStatus)),
      new Set([CURRENT_STATUS.Scheduled]),
    );
  });
});

describe('visibleUntil', () => {
  const rows: Array<[string, Omit<ControlSpec, 'mRID' | 'base' | 'start' | 'duration'>, number]> = [
    ['plain control: its end', {}, 600],
    ['randomised: the latest effective end', { randomizeStart: 60, randomizeDuration: 30 }, 690],
    ['negative randomisation does not extend it', { randomizeStart: -60, randomizeDuration: -30 }, 600],
    ['cancelled (2): the original duration', { cancelled: { at: T0 + 10 } }, 600],
    [
      'cancelled with randomization (3): the Effective Scheduled Period',
      { randomizeStart: 60, cancelled: { at: T0 } },
      660,
    ],
    [
      'cancelled without randomization on a randomised control: the original duration',
      { randomizeStart: 60, cancelled: { at: T0, randomized: false } },
      600,
    ],
    ['superseded: the Effective Scheduled Period', { randomizeDuration: 45, superseded: { at: T0 + 1 } }, 645],
  ];
  for (const [name, spec, expected] of rows) {
    test(name, () => {
      assert.equal(visibleUntil(control({ mRID: 'v', start: T0, duration: 600, base: limit, ...spec })) - T0, expected);
    });
  }
});

describe('supersededBy (at insert)', () => {
  const exp = { opModExpLimW: watts(1000) };
  const imp = { opModImpLimW: watts(1000) };
  const expImp = { opModExpLimW: watts(1000), opModImpLimW: watts(2000) };
  const expGen = { opModExpLimW: watts(1000), opModGenLimW: watts(3000) };
  const existing = (spec: Partial<ControlSpec> & { base: ControlSpec['base'] }): ScheduledControl =>
    control({ mRID: 'old', start: T0, duration: 600, creationTime: T0 - 100, ...spec });
  const incoming = (spec: Partial<ControlSpec> & { base: ControlSpec['base'] }): ScheduledControl =>
    control({ mRID: 'new', start: T0, duration: 600, creationTime: T0, ...spec });

  const rows: Array<{
    name: string;
    old: ScheduledControl;
    add: ScheduledControl;
    now?: number;
    fieldRule?: 'shared' | 'covering';
    superseded: Array<[string, number]>;
    potentially: Array<[string, number]>;
    newFlag: boolean;
  }> = [
    {
      name: 'full overlap, same program, same type → superseded at now (start already reached)',
      old: existing({ base: exp }),
      add: incoming({ base: exp }),
      now: T0 + 10,
      superseded: [['old', 10]],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'partial overlap counts; takes effect at the new start',
      old: existing({ base: exp }),
      add: incoming({ base: exp, start: T0 + 300, duration: 600 }),
      superseded: [['old', 300]],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'new start in the past: takes effect at now',
      old: existing({ base: exp, start: T0 - 300 }),
      add: incoming({ base: exp, start: T0 - 200 }),
      superseded: [['old', 0]],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'negative randomizeStart: takes effect at the earliest effective start',
      old: existing({ base: exp }),
      add: incoming({ base: exp, start: T0 + 300, randomizeStart: -100 }),
      superseded: [['old', 200]],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'back-to-back intervals do not overlap',
      old: existing({ base: exp }),
      add: incoming({ base: exp, start: T0 + 600 }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'randomisation is ignored: sequential randomised controls do not supersede',
      old: existing({ base: exp, randomizeStart: 60 }),
      add: incoming({ base: exp, start: T0 + 600, randomizeStart: 60 }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'different control types do not supersede each other',
      old: existing({ base: imp }),
      add: incoming({ base: exp }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'lower primacy value wins across programs',
      old: existing({ base: exp, programId: 'derp-6', programPrimacy: 2 }),
      add: incoming({ base: exp, programId: 'derp-1', programPrimacy: 1 }),
      superseded: [['old', 0]],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'a worse primacy never supersedes; same set → no flags',
      old: existing({ base: exp, programId: 'derp-1', programPrimacy: 1 }),
      add: incoming({ base: exp, programId: 'derp-6', programPrimacy: 2 }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'worse primacy, some shared types → both potentiallySuperseded (GEN-10 DERC7/DERC8)',
      old: existing({ base: exp, programId: 'derp-1', programPrimacy: 1 }),
      add: incoming({ base: expGen, programId: 'derp-6', programPrimacy: 2 }),
      superseded: [],
      potentially: [['old', 0]],
      newFlag: true,
    },
    {
      name: 'equal primacy in another program: the newer creationTime supersedes',
      old: existing({ base: exp, programId: 'derp-2', programPrimacy: 1 }),
      add: incoming({ base: exp, programId: 'derp-3', programPrimacy: 1 }),
      superseded: [['old', 0]],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'equal primacy but the new control is older: no supersession',
      old: existing({ base: exp, creationTime: T0 + 5 }),
      add: incoming({ base: exp, creationTime: T0 }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: "'shared' rule: one common type is enough",
      old: existing({ base: expImp }),
      add: incoming({ base: exp }),
      superseded: [['old', 0]],
      potentially: [],
      newFlag: false,
    },
    {
      name: "'covering' rule: a partial match only flags potentiallySuperseded",
      old: existing({ base: expImp }),
      add: incoming({ base: exp }),
      fieldRule: 'covering',
      superseded: [],
      potentially: [['old', 0]],
      newFlag: true,
    },
    {
      name: "'covering' rule: the new control covers every type of the old one",
      old: existing({ base: exp }),
      add: incoming({ base: expImp }),
      fieldRule: 'covering',
      superseded: [['old', 0]],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'a cancelled control is not superseded',
      old: existing({ base: exp, cancelled: { at: T0 - 5 } }),
      add: incoming({ base: exp }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'an already superseded control is not superseded twice',
      old: existing({ base: exp, superseded: { at: T0 - 5 } }),
      add: incoming({ base: exp }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'a finished control is not superseded',
      old: existing({ base: exp, start: T0 - 600, duration: 500 }),
      add: incoming({ base: exp, start: T0 - 200 }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
    {
      name: 'the same mRID (an update) is skipped',
      old: existing({ base: exp, mRID: 'same' }),
      add: incoming({ base: exp, mRID: 'same' }),
      superseded: [],
      potentially: [],
      newFlag: false,
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const options = row.fieldRule === undefined ? {} : { fieldRule: row.fieldRule };
      const outcome = supersededBy(row.add, [row.old], row.now ?? T0, options);
      assert.deepEqual(
        outcome.superseded.map(({ mRID, at }) => [mRID, at - T0]),
        row.superseded,
      );
      assert.deepEqual(
        outcome.potentiallySuperseded.map(({ mRID, at }) => [mRID, at - T0]),
        row.potentially,
      );
      assert.equal(outcome.newControlPotentiallySuperseded, row.newFlag);
    });
  }

  test('several existing controls: only the matching ones, in input order', () => {
    const stored = [
      existing({ mRID: 'a', base: exp }),
      existing({ mRID: 'b', base: imp }),
      existing({ mRID: 'c', base: exp, start: T0 + 400 }),
      existing({ mRID: 'd', base: exp, start: T0 + 600 }),
    ];
    const outcome = supersededBy(incoming({ base: exp }), stored, T0);
    assert.deepEqual(
      outcome.superseded.map((s) => s.mRID),
      ['a', 'c'],
    );
  });
});
