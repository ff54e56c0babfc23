/** Which DERControl Responses are due, step by step, never twice. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type DefaultControl,
  type RandomizationOffsets,
  responseKey,
  responseRequiredBits,
  responsesDue,
  type ScheduledControl,
} from '../../src/events/index.ts';
import { control, offsets, T0, watts } from './helpers.ts';

interface Step {
  /** Seconds after T0. */
  at: number;
  /** The controls the client holds at this step (as last retrieved). */
  controls: ScheduledControl[];
  /** Expected `${mRID}:${status}` in order. */
  due: string[];
}

interface Scenario {
  name: string;
  steps: Step[];
  offsets?: Map<string, RandomizationOffsets>;
  defaults?: DefaultControl[];
}

/** Runs the steps, "sending" each due response, and checks each step's due list. */
function run(scenario: Scenario): void {
  const sent = new Set<string>();
  for (const step of scenario.steps) {
    const input = {
      controls: step.controls,
      defaults: scenario.defaults ?? [],
      now: T0 + step.at,
      offsets: scenario.offsets ?? new Map(),
      sent,
    };
    const due = responsesDue(input).map((r) => responseKey(r.mRID, r.status));
    assert.deepEqual(due, step.due, `at T0+${step.at}`);
    for (const key of due) sent.add(key);
    assert.deepEqual(responsesDue(input), [], `nothing is due twice at T0+${step.at}`);
  }
}

const exp = (value: number) => ({ opModExpLimW: watts(value) });
const A = control({ mRID: 'A', start: T0 + 60, duration: 120, base: exp(1), responseRequired: 3 });

const scenarios: Scenario[] = [
  {
    name: 'Received on retrieval, Started at the effective start, Completed at the end (ALL-18 a-g)',
    steps: [
      { at: 0, controls: [A], due: ['A:1'] },
      { at: 30, controls: [A], due: [] },
      { at: 60, controls: [A], due: ['A:2'] },
      { at: 100, controls: [A], due: [] },
      { at: 180, controls: [A], due: ['A:3'] },
      { at: 500, controls: [A], due: [] },
    ],
  },
  {
    name: 'already running when first retrieved: Received and Started at once',
    steps: [
      {
        at: 0,
        controls: [control({ mRID: 'B', start: T0 - 10, duration: 60, base: exp(1), responseRequired: '03' })],
        due: ['B:1', 'B:2'],
      },
    ],
  },
  {
    name: 'randomised start: Started at the drawn effective start',
    offsets: offsets({ A: { startOffset: 25 } }),
    steps: [
      { at: 0, controls: [A], due: ['A:1'] },
      { at: 84, controls: [A], due: [] },
      { at: 85, controls: [A], due: ['A:2'] },
      { at: 204, controls: [A], due: [] },
      { at: 205, controls: [A], due: ['A:3'] },
    ],
  },
  {
    name: 'responseRequired 01: only Received',
    steps: [
      { at: 0, controls: [{ ...A, responseRequired: 1 }], due: ['A:1'] },
      { at: 60, controls: [{ ...A, responseRequired: 1 }], due: [] },
      { at: 200, controls: [{ ...A, responseRequired: 1 }], due: [] },
    ],
  },
  {
    name: 'responseRequired 02: no Received, but Started and Completed',
    steps: [
      { at: 0, controls: [{ ...A, responseRequired: '02' }], due: [] },
      { at: 60, controls: [{ ...A, responseRequired: '02' }], due: ['A:2'] },
      { at: 200, controls: [{ ...A, responseRequired: '02' }], due: ['A:3'] },
    ],
  },
  {
    name: 'responseRequired absent or 00: nothing',
    steps: [
      { at: 60, controls: [{ ...A, responseRequired: undefined }], due: [] },
      { at: 61, controls: [{ ...A, responseRequired: '00' }], due: [] },
    ],
  },
  {
    name: 'cancelled before start (ALL-18 m-p): Received then Cancelled, never Started nor Completed',
    steps: [
      { at: 0, controls: [A], due: ['A:1'] },
      { at: 20, controls: [{ ...A, cancelled: { at: T0 + 20 } }], due: ['A:6'] },
      { at: 100, controls: [{ ...A, cancelled: { at: T0 + 20 } }], due: [] },
      { at: 300, controls: [{ ...A, cancelled: { at: T0 + 20 } }], due: [] },
    ],
  },
  {
    name: 'cancelled while active (ALL-18 h-l): Cancelled, no Completed',
    steps: [
      { at: 60, controls: [A], due: ['A:1', 'A:2'] },
      { at: 90, controls: [{ ...A, cancelled: { at: T0 + 90 } }], due: ['A:6'] },
      { at: 300, controls: [{ ...A, cancelled: { at: T0 + 90 } }], due: [] },
    ],
  },
  {
    name: 'cancelled with randomization while active: Cancelled at the cancellation, not at the randomised end',
    offsets: offsets({ R: { cancelOffset: 30 } }),
    steps: [
      {
        at: 60,
        controls: [
          control({ mRID: 'R', start: T0 + 60, duration: 600, randomizeStart: 60, base: exp(1), responseRequired: 3 }),
        ],
        due: ['R:1', 'R:2'],
      },
      {
        at: 100,
        controls: [
          control({
            mRID: 'R',
            start: T0 + 60,
            duration: 600,
            randomizeStart: 60,
            base: exp(1),
            responseRequired: 3,
            cancelled: { at: T0 + 100, randomized: true },
          }),
        ],
        due: ['R:6'],
      },
    ],
  },
  {
    name: 'superseded by a higher-priority program (GEN-10 d-h): 7 for the loser, Completed for the winner only',
    steps: [
      {
        at: 0,
        controls: [
          control({ mRID: 'D1', start: T0, duration: 600, base: exp(9), responseRequired: 3, programPrimacy: 2 }),
        ],
        due: ['D1:1', 'D1:2'],
      },
      {
        at: 60,
        controls: [
          control({ mRID: 'D1', start: T0, duration: 600, base: exp(9), responseRequired: 3, programPrimacy: 2 }),
          control({
            mRID: 'D2',
            start: T0 + 60,
            duration: 840,
            creationTime: T0 + 60,
            base: exp(0),
            responseRequired: 3,
          }),
        ],
        due: ['D1:7', 'D2:1', 'D2:2'],
      },
      {
        at: 600,
        controls: [
          control({ mRID: 'D1', start: T0, duration: 600, base: exp(9), responseRequired: 3, programPrimacy: 2 }),
          control({
            mRID: 'D2',
            start: T0 + 60,
            duration: 840,
            creationTime: T0 + 60,
            base: exp(0),
            responseRequired: 3,
          }),
        ],
        due: [],
      },
      {
        at: 900,
        controls: [
          control({
            mRID: 'D2',
            start: T0 + 60,
            duration: 840,
            creationTime: T0 + 60,
            base: exp(0),
            responseRequired: 3,
          }),
        ],
        due: ['D2:3'],
      },
    ],
  },
  {
    name: 'marked Superseded by the server before it started: only Received and Superseded',
    steps: [
      { at: 0, controls: [A], due: ['A:1'] },
      { at: 10, controls: [{ ...A, superseded: { at: T0 + 10 } }], due: ['A:7'] },
      { at: 100, controls: [{ ...A, superseded: { at: T0 + 10 } }], due: [] },
      { at: 300, controls: [{ ...A, superseded: { at: T0 + 10 } }], due: [] },
    ],
  },
  {
    name: 'first seen after it ended: Received only (no Completed without Started)',
    steps: [{ at: 1000, controls: [A], due: ['A:1'] }],
  },
  {
    name: 'a randomised predecessor is pending behind its successor, then Completed (not Superseded)',
    offsets: offsets({ S1: { startOffset: 50 }, S2: { startOffset: 10 } }),
    steps: (() => {
      const S1 = control({
        mRID: 'S1',
        start: T0,
        duration: 120,
        randomizeStart: 60,
        base: exp(1),
        responseRequired: 3,
      });
      const S2 = control({
        mRID: 'S2',
        start: T0 + 120,
        duration: 120,
        randomizeStart: 60,
        creationTime: T0 - 999,
        base: exp(2),
        responseRequired: 3,
      });
      return [
        { at: 0, controls: [S1, S2], due: ['S1:1', 'S2:1'] },
        { at: 50, controls: [S1, S2], due: ['S1:2'] },
        { at: 130, controls: [S1, S2], due: ['S2:2'] },
        { at: 170, controls: [S1, S2], due: ['S1:3'] },
        { at: 250, controls: [S1, S2], due: ['S2:3'] },
      ];
    })(),
  },
];

describe('responsesDue', () => {
  for (const scenario of scenarios) {
    test(scenario.name, () => run(scenario));
  }

  test('a terminal response already sent stops everything after it', () => {
    const sent = new Set([responseKey('A', 1), responseKey('A', 7)]);
    const due = responsesDue({ controls: [A], defaults: [], now: T0 + 60, offsets: new Map(), sent });
    assert.deepEqual(due, []);
  });
});

describe('responseRequiredBits', () => {
  const rows: Array<[number | string | undefined, number]> = [
    [undefined, 0],
    [3, 3],
    ['03', 3],
    ['1', 1],
    ['ff', 255],
    ['0x3', 0],
    ['zz', 0],
    [-1, 0],
    [1.5, 0],
    [256, 0],
  ];
  for (const [input, expected] of rows) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(responseRequiredBits(input), expected));
  }
});
