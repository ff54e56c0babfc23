import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  type ArbitrationDecision,
  arbitrate,
  type ControlIntent,
  decisionKey,
  intentProblems,
  OPERATOR_OVERRIDE_PRIMACY,
  operatorOverride,
  winnersByKey,
} from '../../src/control/index.ts';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const MIN = 60_000;
const SITE = { kind: 'site', id: 'site-1' } as const;

function intent(overrides: Partial<ControlIntent> & { id: string }): ControlIntent {
  return {
    source: 'ieee2030.5',
    scope: SITE,
    type: 'exportLimit',
    value: 5000,
    primacy: 1,
    createdAt: T0 - 60 * MIN,
    window: { start: T0 - 10 * MIN, end: T0 + 10 * MIN },
    ...overrides,
  };
}

function only(decisions: readonly ArbitrationDecision[]): ArbitrationDecision {
  assert.equal(decisions.length, 1, 'one decision expected');
  return decisions[0]!;
}

function loserReasons(decision: ArbitrationDecision): Array<[string, string, string]> {
  return decision.losers.map((l) => [l.intent.id, l.code, l.reason]);
}

describe('arbitrate: ranking', () => {
  it('lower primacy wins and the loser says why', () => {
    const d = only(arbitrate([intent({ id: 'b', primacy: 2 }), intent({ id: 'a', primacy: 1 })], T0).decisions);
    assert.equal(d.winner?.id, 'a');
    assert.equal(d.winnerReason, 'primacy 1 beats 2 (b)');
    assert.deepEqual(loserReasons(d), [['b', 'lower-priority', 'lower priority: primacy 2 vs 1 (a)']]);
  });

  it('at equal primacy the newer creationTime wins', () => {
    const d = only(
      arbitrate([intent({ id: 'new', createdAt: T0 - 5 * MIN }), intent({ id: 'old', createdAt: T0 - 50 * MIN })], T0)
        .decisions,
    );
    assert.equal(d.winner?.id, 'new');
    assert.equal(d.winnerReason, 'newer creationTime than old');
    assert.deepEqual(loserReasons(d), [
      ['old', 'older', 'older creationTime: 2025-01-15T11:10:00.000Z vs 2025-01-15T11:55:00.000Z (new)'],
    ]);
  });

  it('a full tie is broken by id so the outcome is deterministic', () => {
    const d = only(arbitrate([intent({ id: 'y' }), intent({ id: 'x' })], T0).decisions);
    assert.equal(d.winner?.id, 'x');
    assert.deepEqual(loserReasons(d), [['y', 'id-order', 'same primacy and creationTime as x: ids ordered']]);
  });

  it('ranks several losers against the winner, active ones first', () => {
    const d = only(
      arbitrate(
        [
          intent({ id: 'p3', primacy: 3 }),
          intent({ id: 'later', window: { start: T0 + MIN, end: T0 + 2 * MIN } }),
          intent({ id: 'p2', primacy: 2 }),
          intent({ id: 'dflt', isDefault: true, primacy: 0, window: { start: 0 } }),
          intent({ id: 'p1', primacy: 1 }),
          intent({ id: 'done', window: { start: T0 - 5 * MIN, end: T0 - MIN } }),
        ],
        T0,
      ).decisions,
    );
    assert.equal(d.winner?.id, 'p1');
    assert.deepEqual(
      d.losers.map((l) => [l.rank, l.intent.id, l.code]),
      [
        [1, 'p2', 'lower-priority'],
        [2, 'p3', 'lower-priority'],
        [3, 'dflt', 'default-superseded'],
        [4, 'later', 'not-started'],
        [5, 'done', 'expired'],
      ],
    );
  });
});

describe('arbitrate: windows', () => {
  it('windows are half-open [start, end)', () => {
    const atStart = only(arbitrate([intent({ id: 'w', window: { start: T0, end: T0 + MIN } })], T0).decisions);
    assert.equal(atStart.winner?.id, 'w');
    const atEnd = only(arbitrate([intent({ id: 'w', window: { start: T0 - MIN, end: T0 } })], T0).decisions);
    assert.equal(atEnd.winner, undefined);
    assert.equal(atEnd.winnerReason, 'no control in its window');
    assert.deepEqual(loserReasons(atEnd), [['w', 'expired', 'outside window: ended at 2025-01-15T12:00:00.000Z']]);
  });

  it('an intent not yet started loses even with a better primacy', () => {
    const d = only(
      arbitrate(
        [
          intent({ id: 'soon', primacy: 0, window: { start: T0 + 5 * MIN, end: T0 + 9 * MIN } }),
          intent({ id: 'now', primacy: 3 }),
        ],
        T0,
      ).decisions,
    );
    assert.equal(d.winner?.id, 'now');
    assert.equal(d.winnerReason, 'only active control');
    assert.deepEqual(loserReasons(d), [['soon', 'not-started', 'outside window: starts at 2025-01-15T12:05:00.000Z']]);
  });

  it('an open-ended window never expires', () => {
    const d = only(
      arbitrate([intent({ id: 'open', window: { start: T0 - MIN } })], T0 + 365 * 24 * 60 * MIN).decisions,
    );
    assert.equal(d.winner?.id, 'open');
  });

  it('nextChangeAt is the next start or end after now', () => {
    const result = arbitrate(
      [
        intent({ id: 'a', window: { start: T0 - MIN, end: T0 + 7 * MIN } }),
        intent({ id: 'b', window: { start: T0 + 3 * MIN, end: T0 + 4 * MIN } }),
        intent({ id: 'c', window: { start: T0 - 9 * MIN, end: T0 - 8 * MIN } }),
      ],
      T0,
    );
    assert.equal(result.nextChangeAt, T0 + 3 * MIN);
    assert.equal(arbitrate([intent({ id: 'open', window: { start: T0 - MIN } })], T0).nextChangeAt, undefined);
  });
});

describe('arbitrate: defaults', () => {
  it('a default applies when nothing else is active', () => {
    const d = only(
      arbitrate(
        [
          intent({ id: 'dflt', isDefault: true, value: 1500, window: { start: 0 } }),
          intent({ id: 'ended', window: { start: T0 - 9 * MIN, end: T0 - MIN } }),
        ],
        T0,
      ).decisions,
    );
    assert.equal(d.winner?.id, 'dflt');
    assert.equal(d.winner?.isDefault, true);
    assert.equal(d.winner?.value, 1500);
    assert.equal(d.winnerReason, 'default: no active control');
    assert.deepEqual(loserReasons(d), [['ended', 'expired', 'outside window: ended at 2025-01-15T11:59:00.000Z']]);
  });

  it('a default is superseded by any active control, whatever its primacy', () => {
    const d = only(
      arbitrate(
        [
          intent({ id: 'dflt', isDefault: true, primacy: 0, window: { start: 0 } }),
          intent({ id: 'evt', primacy: 200 }),
        ],
        T0,
      ).decisions,
    );
    assert.equal(d.winner?.id, 'evt');
    assert.deepEqual(loserReasons(d), [['dflt', 'default-superseded', 'default superseded by active control evt']]);
  });

  it('between defaults the usual rules apply', () => {
    const d = only(
      arbitrate(
        [
          intent({ id: 'd2', isDefault: true, primacy: 2, window: { start: 0 } }),
          intent({ id: 'd1', isDefault: true, primacy: 1, window: { start: 0 } }),
        ],
        T0,
      ).decisions,
    );
    assert.equal(d.winner?.id, 'd1');
    assert.equal(d.winnerReason, 'default: no active control; primacy 1 beats 2 (d2)');
    assert.deepEqual(loserReasons(d), [['d2', 'lower-priority', 'lower priority: primacy 2 vs 1 (d1)']]);
  });
});

describe('arbitrate: operator setpoints', () => {
  it('an operator override has primacy 0 and expires', () => {
    const override = operatorOverride({
      id: 'op-1',
      scope: SITE,
      type: 'exportLimit',
      value: 0,
      now: T0,
      durationS: 900,
    });
    assert.equal(override.primacy, OPERATOR_OVERRIDE_PRIMACY);
    assert.equal(override.source, 'operator');
    assert.deepEqual(override.window, { start: T0, end: T0 + 900_000 });
    const during = only(arbitrate([intent({ id: 'utility', primacy: 1 }), override], T0 + MIN).decisions);
    assert.equal(during.winner?.id, 'op-1');
    assert.deepEqual(loserReasons(during), [['utility', 'lower-priority', 'lower priority: primacy 1 vs 0 (op-1)']]);
    const after = only(
      arbitrate([intent({ id: 'utility', primacy: 1, window: { start: 0 } }), override], T0 + 900_000).decisions,
    );
    assert.equal(after.winner?.id, 'utility');
    assert.equal(after.losers[0]?.code, 'expired');
  });

  it('at equal primacy an operator control wins even over a newer event', () => {
    const d = only(
      arbitrate(
        [
          intent({ id: 'op', source: 'operator', primacy: 0, createdAt: T0 - 30 * MIN }),
          intent({ id: 'utility', primacy: 0, createdAt: T0 - MIN }),
        ],
        T0,
      ).decisions,
    );
    assert.equal(d.winner?.id, 'op');
    assert.equal(d.winnerReason, 'operator control at equal primacy 0 (utility)');
    assert.deepEqual(loserReasons(d), [
      ['utility', 'operator-precedence', 'same primacy 0: operator control op takes precedence'],
    ]);
  });

  it('an operator control without an end is rejected; an override longer than 24 h is refused', () => {
    const result = arbitrate([intent({ id: 'forever', source: 'operator', window: { start: T0 - MIN } })], T0);
    assert.equal(result.decisions.length, 0);
    assert.deepEqual(result.rejected, [
      { id: 'forever', index: 0, problems: ['an operator control must expire: window.end is required'] },
    ]);
    assert.throws(
      () => operatorOverride({ id: 'x', scope: SITE, type: 'exportLimit', value: 0, now: T0, durationS: 86_401 }),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION',
    );
  });
});

describe('arbitrate: keys, output and bad input', () => {
  it('decides per scope and control type, sorted by key', () => {
    const result = arbitrate(
      [
        intent({ id: 'g', type: 'generationLimit' }),
        intent({ id: 'dev', scope: { kind: 'device', id: 'inv-1' } }),
        intent({ id: 'e' }),
        intent({ id: 'grp', scope: { kind: 'group', id: 'agg' }, type: 'fixedW', value: -2000 }),
      ],
      T0,
    );
    assert.deepEqual(
      result.decisions.map((d) => [d.key, d.winner?.id]),
      [
        ['device:inv-1|exportLimit', 'dev'],
        ['group:agg|fixedW', 'grp'],
        ['site:site-1|exportLimit', 'e'],
        ['site:site-1|generationLimit', 'g'],
      ],
    );
    assert.equal(decisionKey(SITE, 'exportLimit'), 'site:site-1|exportLimit');
    const winners = winnersByKey(result);
    assert.equal(winners.get('group:agg|fixedW')?.value, -2000);
    assert.deepEqual(winners.get('group:agg|fixedW')?.scope, { kind: 'group', id: 'agg' });
  });

  it('the summary line is stable', () => {
    const d = only(
      arbitrate([intent({ id: 'ctl-7', primacy: 1, value: 1500 }), intent({ id: 'ctl-9', primacy: 2 })], T0).decisions,
    );
    assert.equal(
      d.summary,
      'exportLimit @ site:site-1: ieee2030.5 ctl-7 = 1500 (primacy 1; primacy 1 beats 2 (ctl-9); 1 other)',
    );
    const none = only(arbitrate([intent({ id: 'x', window: { start: T0 + MIN } })], T0).decisions);
    assert.equal(none.summary, 'exportLimit @ site:site-1: none active (1 other)');
  });

  it('keeps the intent facts in the record for the event history', () => {
    const d = only(arbitrate([intent({ id: 'a', ref: 'event-42' })], T0).decisions);
    assert.deepEqual(d.winner, {
      id: 'a',
      source: 'ieee2030.5',
      value: 5000,
      primacy: 1,
      createdAt: T0 - 60 * MIN,
      window: { start: T0 - 10 * MIN, end: T0 + 10 * MIN },
      isDefault: false,
      ref: 'event-42',
    });
    assert.equal(d.at, T0);
  });

  it('rejects malformed intents without throwing, and keeps the good ones', () => {
    const bad: unknown[] = [
      null,
      'text',
      { ...intent({ id: 'nan' }), value: Number.NaN },
      { ...intent({ id: 'neg' }), value: -1 },
      { ...intent({ id: 'src' }), source: 'carrier-pigeon' },
      { ...intent({ id: 'typ' }), type: 'warpDrive' },
      { ...intent({ id: 'pri' }), primacy: 1.5 },
      { ...intent({ id: 'win' }), window: { start: T0, end: T0 } },
      { ...intent({ id: 'scp' }), scope: { kind: 'planet', id: 'x' } },
      { ...intent({ id: 'con' }), type: 'connect', value: 2 },
      { ...intent({ id: 'pct' }), type: 'maxLimitPct', value: 101 },
      { ...intent({ id: 'inf' }), createdAt: Number.POSITIVE_INFINITY },
      intent({ id: 'good' }),
      intent({ id: 'good' }),
    ];
    const result = arbitrate(bad, T0);
    assert.equal(only(result.decisions).winner?.id, 'good');
    assert.deepEqual(
      result.rejected.map((r) => [r.index, r.id, r.problems]),
      [
        [0, '(no id)', ['intent must be an object']],
        [1, '(no id)', ['intent must be an object']],
        [2, 'nan', ['value must be a finite number']],
        [3, 'neg', ['exportLimit must be >= 0']],
        [4, 'src', ['source must be one of ieee2030.5, openadr2b, openadr3, ocpp, market, operator']],
        [
          5,
          'typ',
          [
            'type must be one of exportLimit, importLimit, generationLimit, loadLimit, fixedW, targetSoc, chargeLimit, dischargeLimit, connect, energize, evChargingLimit, maxLimitPct, storageTargetW',
          ],
        ],
        [6, 'pri', ['primacy must be an integer 0..255']],
        [7, 'win', ['window.end must be after window.start']],
        [8, 'scp', ['scope must be {kind: site|group|device, id}']],
        [9, 'con', ['connect must be 0 or 1']],
        [10, 'pct', ['maxLimitPct must be within 0..100']],
        [11, 'inf', ['createdAt must be a finite number (epoch ms)']],
        [13, 'good', ['duplicate id for site:site-1|exportLimit']],
      ],
    );
    assert.deepEqual(intentProblems(intent({ id: 'ok', type: 'storageTargetW', value: -3000 })), []);
  });

  it('refuses a non-finite instant and a non-array input', () => {
    assert.throws(
      () => arbitrate([], Number.NaN),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION',
    );
    assert.throws(
      () => arbitrate({ length: 1 } as unknown as unknown[], T0),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION',
    );
  });
});
