/**
 * FERC 2222 aggregations: factor sums over validity periods, pnodes, the minimum size per ISO,
 * overlapping memberships, the retail stacking warning, the registration state machine with the
 * utility's review, program rules for the ledger, and the decoder. Every answer worked by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  type Aggregation,
  blockingProblems,
  capacityAt,
  decodeAggregation,
  defaultMinimumSizeKw,
  distributionFactorsAt,
  membersAt,
  type ProgramRule,
  programRulesFor,
  transitionRegistration,
  utilityReviewDue,
  validateAggregation,
} from '../../src/index.ts';

const T0 = Date.UTC(2026, 0, 5); // a Monday, 00:00Z
const H = 3_600_000;
const D = 86_400_000;

function aggregation(extra: Partial<Aggregation> = {}): Aggregation {
  return {
    id: 'agg-1',
    iso: 'PJM',
    resourceId: 'PJM_DERA_1',
    participationModel: 'DERA',
    pricingNodes: ['PN_A', 'PN_B'],
    distributionFactors: [
      { pnode: 'PN_A', factor: 0.6, validFrom: T0 },
      { pnode: 'PN_B', factor: 0.4, validFrom: T0 },
    ],
    members: [
      { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 60, pnode: 'PN_A', validFrom: T0 },
      { deviceId: 'bat-2', siteId: 'site-2', capacityKw: 50, pnode: 'PN_B', validFrom: T0 },
    ],
    utility: { name: 'EDC' },
    registration: { state: 'draft', history: [{ state: 'draft', at: T0, actor: 'op' }] },
    ...extra,
  };
}

function codes(agg: Aggregation, window?: { from: number; to: number }) {
  return validateAggregation(agg, window).map((p) => [p.code, p.at]);
}

function gridseamCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (GridseamError.is(error)) return error.code;
    throw error;
  }
  return 'none';
}

describe('aggregation queries', () => {
  test('members, factors and capacity in force at an instant ([validFrom, validTo))', () => {
    const agg = aggregation({
      members: [
        { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 60, pnode: 'PN_A', validFrom: T0, validTo: T0 + D },
        { deviceId: 'bat-2', siteId: 'site-2', capacityKw: 50, pnode: 'PN_B', validFrom: T0 + H },
      ],
    });
    // Before bat-2 joins: 60 kW; both: 110; at bat-1's validTo it has left: 50.
    assert.equal(capacityAt(agg, T0), 60);
    assert.equal(capacityAt(agg, T0 + H), 110);
    assert.equal(capacityAt(agg, T0 + D), 50);
    assert.equal(capacityAt(agg, T0 - 1), 0);
    assert.deepEqual(
      membersAt(agg, T0 + D).map((m) => m.deviceId),
      ['bat-2'],
    );
    assert.equal(distributionFactorsAt(agg, T0 - 1).length, 0);
    assert.equal(distributionFactorsAt(agg, T0).length, 2);
  });

  test('default minimum size: CAISO 500 kW (DERA), the others 100 kW (Order 2222)', () => {
    assert.equal(defaultMinimumSizeKw('CAISO'), 500);
    for (const iso of ['PJM', 'ISO-NE', 'NYISO', 'MISO', 'SPP', 'ERCOT'] as const)
      assert.equal(defaultMinimumSizeKw(iso), 100);
  });
});

describe('validateAggregation', () => {
  test('a sound aggregation has no problem', () => {
    assert.deepEqual(validateAggregation(aggregation()), []);
  });

  test('factors must sum to 1 at every boundary of their validity periods', () => {
    // A 0.6 until T0+10D, then A' 0.5 from T0+11D; B 0.4 until T0+10D, then B' 0.5.
    // T0: 0.6+0.4 = 1 ok; T0+10D: only B' 0.5 -> problem; T0+11D: 0.5+0.5 = 1 ok.
    const agg = aggregation({
      distributionFactors: [
        { pnode: 'PN_A', factor: 0.6, validFrom: T0, validTo: T0 + 10 * D },
        { pnode: 'PN_A', factor: 0.5, validFrom: T0 + 11 * D },
        { pnode: 'PN_B', factor: 0.4, validFrom: T0, validTo: T0 + 10 * D },
        { pnode: 'PN_B', factor: 0.5, validFrom: T0 + 10 * D },
      ],
    });
    assert.deepEqual(codes(agg), [['factor-sum', T0 + 10 * D]]);
    // A window that ends before the gap sees nothing wrong; one that starts inside it does.
    assert.deepEqual(codes(agg, { from: T0, to: T0 + 10 * D }), []);
    assert.deepEqual(codes(agg, { from: T0 + 10 * D + H, to: T0 + 20 * D }), [['factor-sum', T0 + 10 * D + H]]);
  });

  test('factor sums are checked within 1e-6; a pnode with two factors in force is a problem', () => {
    // 0.1 + 0.2 + 0.7 = 0.9999999999999999 in binary: within 1e-6. 3 x 0.33333 = 0.99999: off by 1e-5.
    const tenths = aggregation({
      pricingNodes: ['PN_A', 'PN_B', 'PN_C'],
      distributionFactors: [
        { pnode: 'PN_A', factor: 0.1, validFrom: T0 },
        { pnode: 'PN_B', factor: 0.2, validFrom: T0 },
        { pnode: 'PN_C', factor: 0.7, validFrom: T0 },
      ],
    });
    assert.deepEqual(codes(tenths), []);
    const thirds = aggregation({
      pricingNodes: ['PN_A', 'PN_B', 'PN_C'],
      distributionFactors: ['PN_A', 'PN_B', 'PN_C'].map((pnode) => ({ pnode, factor: 0.33333, validFrom: T0 })),
    });
    assert.deepEqual(codes(thirds), [['factor-sum', T0]]);
    const twice = aggregation({
      distributionFactors: [
        { pnode: 'PN_A', factor: 0.5, validFrom: T0 },
        { pnode: 'PN_A', factor: 0.5, validFrom: T0 },
      ],
    });
    const problems = validateAggregation(twice);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /PN_A has two distribution factors/);
  });

  test('factor and member pnodes must be pricing nodes', () => {
    const agg = aggregation({
      distributionFactors: [
        { pnode: 'PN_A', factor: 0.6, validFrom: T0 },
        { pnode: 'PN_X', factor: 0.4, validFrom: T0 },
      ],
      members: [{ deviceId: 'bat-1', siteId: 'site-1', capacityKw: 200, pnode: 'PN_Y', validFrom: T0 }],
    });
    assert.deepEqual(codes(agg), [
      ['factor-pnode', T0],
      ['member-pnode', T0],
    ]);
  });

  test('minimum size at every membership boundary, once past the draft', () => {
    // PJM minimum 100 kW. bat-2 (50) leaves at T0+5D: 60 kW from then on. bat-3 (45) joins at T0+7D: 105.
    const members: Aggregation['members'] = [
      { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 60, pnode: 'PN_A', validFrom: T0 },
      { deviceId: 'bat-2', siteId: 'site-2', capacityKw: 50, pnode: 'PN_B', validFrom: T0, validTo: T0 + 5 * D },
      { deviceId: 'bat-3', siteId: 'site-3', capacityKw: 45, pnode: 'PN_B', validFrom: T0 + 7 * D },
    ];
    const draft = aggregation({ members });
    assert.deepEqual(codes(draft), [], 'a draft may be small');
    const reviewed = aggregation({ members, registration: { state: 'utility-review', history: [] } });
    assert.deepEqual(codes(reviewed), [['minimum-size', T0 + 5 * D]]);
    assert.deepEqual(codes(reviewed, { from: T0 + 7 * D, to: T0 + 30 * D }), []);
    // CAISO's 500 kW: 110 at T0 and 60 at T0+5D and 105 at T0+7D are all below.
    const caiso = aggregation({ iso: 'CAISO', members, registration: { state: 'active', history: [] } });
    assert.deepEqual(
      codes(caiso).map(([, at]) => at),
      [T0, T0 + 5 * D, T0 + 7 * D],
    );
    // An explicit minimum overrides the ISO's.
    const small = aggregation({ members, minimumSizeKw: 50, registration: { state: 'active', history: [] } });
    assert.deepEqual(codes(small), []);
  });

  test('one device in two overlapping memberships', () => {
    const overlapping = aggregation({
      members: [
        ...aggregation().members,
        {
          deviceId: 'bat-1',
          siteId: 'site-1',
          capacityKw: 60,
          pnode: 'PN_A',
          validFrom: T0 + 2 * D,
          validTo: T0 + 4 * D,
        },
      ],
    });
    assert.deepEqual(codes(overlapping), [['member-overlap', T0 + 2 * D]]);
    // Back to back (the first ends where the second starts) is a membership change, not an overlap.
    const sequential = aggregation({
      members: [
        { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 60, pnode: 'PN_A', validFrom: T0, validTo: T0 + 2 * D },
        { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 70, pnode: 'PN_A', validFrom: T0 + 2 * D },
      ],
    });
    assert.deepEqual(codes(sequential), []);
  });

  test('no members; a retail enrolment without stacking is a warning, not a blocking problem', () => {
    assert.deepEqual(codes(aggregation({ members: [] })), [['no-members', undefined]]);
    const members = aggregation().members;
    const retail = aggregation({
      members: [
        {
          ...(members[0] as Aggregation['members'][number]),
          retailPrograms: [{ programId: 'rdr-1', validFrom: T0 + D }],
        },
        {
          ...(members[1] as Aggregation['members'][number]),
          retailPrograms: [{ programId: 'rdr-2', allowsWholesaleStacking: true, validFrom: T0 }],
        },
      ],
    });
    const problems = validateAggregation(retail);
    assert.deepEqual(
      problems.map((p) => [p.code, p.at]),
      [['stacking', T0 + D]],
    );
    assert.deepEqual(blockingProblems(problems), []);
  });
});

describe('registration', () => {
  test('legal moves through to active and out; illegal ones are GW_ERR_INVALID_TRANSITION', () => {
    let agg = aggregation();
    assert.equal(
      gridseamCode(() => transitionRegistration(agg, 'iso-review', T0 + H, 'op')),
      'GW_ERR_INVALID_TRANSITION',
    );
    agg = transitionRegistration(agg, 'utility-review', T0 + H, 'op', 'filed with the EDC');
    assert.equal(agg.registration.state, 'utility-review');
    assert.deepEqual(agg.registration.history.at(-1), {
      state: 'utility-review',
      at: T0 + H,
      actor: 'op',
      note: 'filed with the EDC',
    });
    // PJM's 60-day review: due at entry + 60 days.
    assert.equal(utilityReviewDue(agg), T0 + H + 60 * D);
    assert.equal(utilityReviewDue({ ...agg, utility: { name: 'EDC', reviewDays: 30 } }), T0 + H + 30 * D);
    agg = transitionRegistration(agg, 'iso-review', T0 + 2 * H, 'op');
    assert.equal(utilityReviewDue(agg), undefined);
    agg = transitionRegistration(agg, 'active', T0 + 3 * H, 'iso');
    agg = transitionRegistration(agg, 'suspended', T0 + 4 * H, 'iso');
    agg = transitionRegistration(agg, 'active', T0 + 5 * H, 'iso');
    agg = transitionRegistration(agg, 'withdrawn', T0 + 6 * H, 'op');
    assert.deepEqual(
      agg.registration.history.map((h) => h.state),
      ['draft', 'utility-review', 'iso-review', 'active', 'suspended', 'active', 'withdrawn'],
    );
    for (const to of ['draft', 'active', 'utility-review'] as const)
      assert.equal(
        gridseamCode(() => transitionRegistration(agg, to, T0 + 7 * H, 'op')),
        'GW_ERR_INVALID_TRANSITION',
      );
  });

  test('rejection goes back to the draft; a move may not precede the last one', () => {
    let agg = transitionRegistration(aggregation(), 'utility-review', T0 + H, 'op');
    agg = transitionRegistration(agg, 'rejected', T0 + 2 * H, 'edc', 'hosting capacity');
    agg = transitionRegistration(agg, 'draft', T0 + 3 * H, 'op');
    assert.equal(agg.registration.state, 'draft');
    assert.equal(
      gridseamCode(() => transitionRegistration(agg, 'utility-review', T0, 'op')),
      'GW_ERR_VALIDATION',
    );
  });

  test('entering ISO review needs no blocking problem from then on', () => {
    // bat-2 (50 kW) leaves at T0+5D: 60 kW < 100 kW from then on -> refused at T0+D.
    const shrinking = aggregation({
      members: [
        { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 60, pnode: 'PN_A', validFrom: T0 },
        { deviceId: 'bat-2', siteId: 'site-2', capacityKw: 50, pnode: 'PN_B', validFrom: T0, validTo: T0 + 5 * D },
      ],
    });
    const inReview = transitionRegistration(shrinking, 'utility-review', T0 + H, 'op');
    try {
      transitionRegistration(inReview, 'iso-review', T0 + D, 'op');
      assert.fail('expected a refusal');
    } catch (error) {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_VALIDATION');
      const problems = error.details?.problems as Array<{ code: string; at: number }>;
      assert.deepEqual(
        problems.map((p) => [p.code, p.at]),
        [['minimum-size', T0 + 5 * D]],
      );
      assert.equal(error.issues[0]?.path, '/members');
    }
    // A stacking warning does not block.
    const warned = aggregation({
      members: aggregation().members.map((m) => ({ ...m, retailPrograms: [{ programId: 'rdr-1', validFrom: T0 }] })),
    });
    const moved = transitionRegistration(
      transitionRegistration(warned, 'utility-review', T0, 'op'),
      'iso-review',
      T0,
      'op',
    );
    assert.equal(moved.registration.state, 'iso-review');
  });
});

describe('programRulesFor', () => {
  const wholesale: ProgramRule[] = [
    { id: 'DA-ENERGY', kind: 'wholesale', precedence: 150 },
    { id: 'REG', kind: 'wholesale', precedence: 150, stacksWith: ['rdr-2'] },
  ];

  test('a retail program stacks with the wholesale products only if every enrolment in it allows it', () => {
    // bat-1: rdr-1 (stacking allowed) and rdr-2 (allowed); bat-2: rdr-2 (not allowed) -> rdr-2 exclusive.
    const members = aggregation().members;
    const agg = aggregation({
      members: [
        {
          ...(members[0] as Aggregation['members'][number]),
          retailPrograms: [
            { programId: 'rdr-1', allowsWholesaleStacking: true, validFrom: T0, validTo: T0 + D },
            { programId: 'rdr-2', allowsWholesaleStacking: true, validFrom: T0 },
          ],
        },
        { ...(members[1] as Aggregation['members'][number]), retailPrograms: [{ programId: 'rdr-2', validFrom: T0 }] },
      ],
    });
    assert.deepEqual(programRulesFor(agg, wholesale, T0 + H), [
      // REG listed rdr-2: removed, since bat-2's enrolment in rdr-2 forbids stacking.
      { id: 'DA-ENERGY', kind: 'wholesale', precedence: 150, stacksWith: ['rdr-1'] },
      { id: 'REG', kind: 'wholesale', precedence: 150, stacksWith: ['rdr-1'] },
      { id: 'rdr-1', kind: 'retail', precedence: 100, stacksWith: ['DA-ENERGY', 'REG'] },
      { id: 'rdr-2', kind: 'retail', precedence: 100, stacksWith: [] },
    ]);
    // After rdr-1's enrolment ends: only rdr-2, still exclusive.
    assert.deepEqual(
      programRulesFor(agg, wholesale, T0 + D, { retailPrecedence: 90 }).map((r) => [r.id, r.precedence, r.stacksWith]),
      [
        ['DA-ENERGY', 150, undefined],
        ['REG', 150, []],
        ['rdr-2', 90, []],
      ],
    );
  });

  test('without retail enrolments the rules are the given ones', () => {
    assert.deepEqual(programRulesFor(aggregation(), wholesale, T0), wholesale);
  });
});

describe('decodeAggregation', () => {
  test('a JSON aggregation round-trips; a missing registration is a new draft', () => {
    const agg = aggregation({ name: 'Feeder 12', groupId: 'grp-1', awardPrimacy: 140 });
    assert.deepEqual(decodeAggregation(JSON.parse(JSON.stringify(agg))), agg);
    const { registration: _r, ...bare } = agg;
    assert.deepEqual(decodeAggregation(bare).registration, { state: 'draft', history: [] });
  });

  test('wrong types, ranges and unknown fields are named by path', () => {
    const bad = {
      ...aggregation(),
      iso: 'XYZ',
      extra: 1,
      distributionFactors: [{ pnode: 'PN_A', factor: 1.5, validFrom: T0 }],
      members: [{ deviceId: 'bat 1', siteId: 'site-1', capacityKw: Number.NaN, pnode: 'PN_A', validFrom: T0 - 0.5 }],
    };
    try {
      decodeAggregation(bad);
      assert.fail('expected a refusal');
    } catch (error) {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_VALIDATION');
      assert.deepEqual(error.issues.map((i) => i.path).sort(), [
        '/distributionFactors/0/factor',
        '/extra',
        '/iso',
        '/members/0/capacityKw',
        '/members/0/deviceId',
        '/members/0/validFrom',
      ]);
    }
    assert.equal(
      gridseamCode(() => decodeAggregation([])),
      'GW_ERR_VALIDATION',
    );
  });

  test('prototype keys are hostile input', () => {
    const body = JSON.parse(`{"id":"agg-1","__proto__":{"polluted":true}}`);
    assert.equal(
      gridseamCode(() => decodeAggregation(body)),
      'GW_ERR_HOSTILE_INPUT',
    );
  });
});
