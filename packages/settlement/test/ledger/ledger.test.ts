/**
 * buildLedger and checkLedger on hand-built cases; every expected figure is worked out in the
 * comments. One battery 'b1', hourly intervals unless said otherwise, discharge positive.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { AttributionConflict, Claim, LedgerEntry, MeteredInterval, ProgramRule } from '../../src/contract.ts';
import { UNATTRIBUTED } from '../../src/contract.ts';
import { assertNoDoubleAttribution, buildLedger, checkLedger } from '../../src/ledger/index.ts';

const T0 = Date.UTC(2026, 5, 1, 17); // 2026-06-01 17:00Z
const T1 = T0 + 3_600_000;
const T2 = T1 + 3_600_000;

const DR: ProgramRule = { id: 'DR', kind: 'retail', precedence: 10 };
const REG_UP: ProgramRule = { id: 'REG_UP', kind: 'wholesale', precedence: 20, stacksWith: ['DR'] };
const ENERGY: ProgramRule = { id: 'ENERGY', kind: 'wholesale', precedence: 30 };
const SPIN: ProgramRule = { id: 'SPIN', kind: 'wholesale', precedence: 40 };
const PROGRAMS = [DR, REG_UP, ENERGY, SPIN];

function claim(programId: string, fields: Partial<Claim> = {}): Claim {
  return { deviceId: 'b1', programId, start: T0, intervalMinutes: 60, ...fields };
}

function meter(energyKwh: number, fields: Partial<MeteredInterval> = {}): MeteredInterval {
  return { deviceId: 'b1', start: T0, intervalMinutes: 60, energyKwh, headroomKw: 100, ...fields };
}

/** The entries as `program: energy / capacity` for compact comparisons. */
function summary(entries: readonly LedgerEntry[]): Record<string, [number, number]> {
  return Object.fromEntries(entries.map((e) => [`${e.programId}@${e.start}`, [e.energyKwh, e.capacityKw]]));
}

function conflictsOf(run: () => unknown): AttributionConflict[] {
  try {
    run();
  } catch (error) {
    assert.ok(GridseamError.is(error), String(error));
    assert.equal(error.code, 'GW_ERR_DOUBLE_ATTRIBUTION');
    return (error.details as { conflicts: AttributionConflict[] }).conflicts;
  }
  assert.fail('expected GW_ERR_DOUBLE_ATTRIBUTION');
}

describe('buildLedger: precedence', () => {
  it('serves two programs in precedence order and cuts the second', () => {
    // Meter 50 kWh. DR (precedence 10) claims 30 -> 30. ENERGY (30) claims 30 -> 50 - 30 = 20, cut by 10.
    const metered = [meter(50)];
    const ledger = buildLedger([claim('ENERGY', { energyKwh: 30 }), claim('DR', { energyKwh: 30 })], metered, PROGRAMS);
    assert.deepEqual(summary(ledger.entries), { [`DR@${T0}`]: [30, 0], [`ENERGY@${T0}`]: [20, 0] });
    assert.deepEqual(
      ledger.entries.map((e) => e.programId),
      ['DR', 'ENERGY'],
    );
    assert.deepEqual(ledger.curtailedClaims, [
      { deviceId: 'b1', start: T0, programId: 'ENERGY', claimed: 30, attributed: 20, kind: 'energy' },
    ]);
    assert.deepEqual(checkLedger(ledger.entries, metered, PROGRAMS), []);
  });

  it('breaks precedence ties by program id and leaves the rest unattributed', () => {
    // Meter 50. A and B both precedence 5: A first. A claims 15 -> 15, B claims 20 -> 20, rest 50 - 35 = 15 unattributed.
    const programs: ProgramRule[] = [
      { id: 'B', kind: 'retail', precedence: 5 },
      { id: 'A', kind: 'retail', precedence: 5 },
    ];
    const ledger = buildLedger([claim('B', { energyKwh: 20 }), claim('A', { energyKwh: 15 })], [meter(50)], programs);
    assert.deepEqual(
      ledger.entries.map((e) => [e.programId, e.energyKwh]),
      [
        ['A', 15],
        ['B', 20],
        [UNATTRIBUTED, 15],
      ],
    );
    assert.deepEqual(ledger.curtailedClaims, []);
  });

  it('adds up several claims of one program for one interval', () => {
    // Two DR events ask 10 and 15 kWh of the same hour: one DR claim of 25; meter 40 -> DR 25, unattributed 15.
    const ledger = buildLedger([claim('DR', { energyKwh: 10 }), claim('DR', { energyKwh: 15 })], [meter(40)], PROGRAMS);
    assert.deepEqual(summary(ledger.entries), { [`DR@${T0}`]: [25, 0], [`${UNATTRIBUTED}@${T0}`]: [15, 0] });
  });

  it('an unlisted program comes after every listed one and stacks with nothing', () => {
    // Meter 20: DR (10) claims 15 -> 15; MYSTERY (unlisted) claims 10 -> 5.
    const ledger = buildLedger(
      [claim('MYSTERY', { energyKwh: 10 }), claim('DR', { energyKwh: 15 })],
      [meter(20)],
      PROGRAMS,
    );
    assert.deepEqual(summary(ledger.entries), { [`DR@${T0}`]: [15, 0], [`MYSTERY@${T0}`]: [5, 0] });
  });
});

describe('buildLedger: stacking', () => {
  it('REG_UP stacks on DR: shares DR kWh first, then takes fresh energy', () => {
    // Meter 40. DR claims 30 -> segment [0,30) DR. REG_UP (stacks with DR) claims 35: the 30 kWh DR holds
    // (shared, recorded on both) + 5 fresh -> REG_UP 35. Unattributed 40 - 35 = 5. ENERGY (no stacking)
    // claims 10: only the 5 fresh kWh are left -> ENERGY 5, unattributed 0, ENERGY cut by 5.
    const metered = [meter(40)];
    const claims = [
      claim('DR', { energyKwh: 30 }),
      claim('REG_UP', { energyKwh: 35, capacityKw: 20 }),
      claim('ENERGY', { energyKwh: 10 }),
    ];
    const ledger = buildLedger(claims, metered, PROGRAMS);
    assert.deepEqual(summary(ledger.entries), {
      [`DR@${T0}`]: [30, 0],
      [`REG_UP@${T0}`]: [35, 20],
      [`ENERGY@${T0}`]: [5, 0],
    });
    assert.deepEqual(ledger.curtailedClaims, [
      { deviceId: 'b1', start: T0, programId: 'ENERGY', claimed: 10, attributed: 5, kind: 'energy' },
    ]);
    // The checker accepts the shared kWh: {DR, ENERGY} = 35 <= 40, {REG_UP, ENERGY} = 40 <= 40, total 70 >= 40.
    assert.deepEqual(checkLedger(ledger.entries, metered, PROGRAMS), []);
    // In refuse mode ENERGY's cut is a real double claim: DR and REG_UP hold the kWh it wanted.
    const conflicts = conflictsOf(() => buildLedger(claims, metered, PROGRAMS, { mode: 'refuse' }));
    assert.equal(conflicts.length, 1);
    assert.deepEqual(conflicts[0]!.programs, ['ENERGY', 'DR', 'REG_UP']);
    assert.equal(conflicts[0]!.quantity, 10);
    assert.equal(conflicts[0]!.limit, 5);
  });

  it('stacking is symmetric: listing it on either program is enough', () => {
    // Only DR lists REG_UP. REG_UP (precedence 5, first) claims 20 -> 20; DR shares them: DR 20; meter 20, nothing left.
    const programs: ProgramRule[] = [
      { id: 'DR', kind: 'retail', precedence: 10, stacksWith: ['REG_UP'] },
      { id: 'REG_UP', kind: 'wholesale', precedence: 5 },
    ];
    const metered = [meter(20)];
    const ledger = buildLedger(
      [claim('DR', { energyKwh: 20 }), claim('REG_UP', { energyKwh: 20 })],
      metered,
      programs,
      {
        mode: 'refuse',
      },
    );
    assert.deepEqual(summary(ledger.entries), { [`REG_UP@${T0}`]: [20, 0], [`DR@${T0}`]: [20, 0] });
    assert.deepEqual(checkLedger(ledger.entries, metered, programs), []);
  });

  it('a program never shares a segment with a holder it does not stack with', () => {
    // A stacks with B and C; B and C do not stack. Meter 30. B (1) claims 10 -> [0,10). C (2) claims 10: cannot
    // share B's -> fresh [10,20). A (3) claims 30: shares [0,10) (B) and [10,20) (C), then fresh [20,30) -> A 30.
    const programs: ProgramRule[] = [
      { id: 'A', kind: 'retail', precedence: 3, stacksWith: ['B', 'C'] },
      { id: 'B', kind: 'wholesale', precedence: 1 },
      { id: 'C', kind: 'wholesale', precedence: 2 },
    ];
    const metered = [meter(30)];
    const claims = [claim('A', { energyKwh: 30 }), claim('B', { energyKwh: 10 }), claim('C', { energyKwh: 10 })];
    const ledger = buildLedger(claims, metered, programs, { mode: 'refuse' });
    assert.deepEqual(summary(ledger.entries), { [`B@${T0}`]: [10, 0], [`C@${T0}`]: [10, 0], [`A@${T0}`]: [30, 0] });
    assert.deepEqual(checkLedger(ledger.entries, metered, programs), []);
  });
});

describe('buildLedger: signs and missing metering', () => {
  it('opposite-sign claims get nothing; same-sign charging claims are served', () => {
    // Meter -20 (charging). DR asks +10 (discharge) -> 0, cut. ENERGY asks -15 -> -15. Unattributed -5.
    const metered = [meter(-20)];
    const claims = [claim('DR', { energyKwh: 10 }), claim('ENERGY', { energyKwh: -15 })];
    const ledger = buildLedger(claims, metered, PROGRAMS);
    assert.deepEqual(summary(ledger.entries), { [`ENERGY@${T0}`]: [-15, 0], [`${UNATTRIBUTED}@${T0}`]: [-5, 0] });
    assert.deepEqual(ledger.curtailedClaims, [
      { deviceId: 'b1', start: T0, programId: 'DR', claimed: 10, attributed: 0, kind: 'energy' },
    ]);
    assert.deepEqual(checkLedger(ledger.entries, metered, PROGRAMS), []);
    const conflicts = conflictsOf(() => buildLedger(claims, metered, PROGRAMS, { mode: 'refuse' }));
    assert.deepEqual(
      conflicts.map((c) => [c.kind, c.programs, c.quantity, c.limit]),
      [['energy', ['DR'], 10, 0]],
    );
  });

  it('a meter that did not move gives a claim nothing', () => {
    const ledger = buildLedger([claim('DR', { energyKwh: 5 })], [meter(0)], PROGRAMS);
    assert.deepEqual(ledger.entries, []);
    assert.deepEqual(ledger.curtailedClaims, [
      { deviceId: 'b1', start: T0, programId: 'DR', claimed: 5, attributed: 0, kind: 'energy' },
    ]);
  });

  it('claims for an interval with no metered data: curtailed (resolve) or a metered conflict (refuse)', () => {
    // Metered: T0 only. DR claims 10 kWh at T1 and REG_UP 5 kW at T1: nothing attributed at T1.
    const metered = [meter(10)];
    const claims = [
      claim('DR', { energyKwh: 10 }),
      claim('DR', { start: T1, energyKwh: 10 }),
      claim('REG_UP', { start: T1, capacityKw: 5 }),
    ];
    const ledger = buildLedger(claims, metered, PROGRAMS);
    assert.deepEqual(summary(ledger.entries), { [`DR@${T0}`]: [10, 0] });
    assert.deepEqual(ledger.curtailedClaims, [
      { deviceId: 'b1', start: T1, programId: 'DR', claimed: 10, attributed: 0, kind: 'energy' },
      { deviceId: 'b1', start: T1, programId: 'REG_UP', claimed: 5, attributed: 0, kind: 'capacity' },
    ]);
    const conflicts = conflictsOf(() => buildLedger(claims, metered, PROGRAMS, { mode: 'refuse' }));
    assert.deepEqual(
      conflicts.map((c) => [c.kind, c.start, c.programs, c.quantity, c.limit]),
      [
        ['metered', T1, ['DR'], 10, 0],
        ['metered', T1, ['REG_UP'], 5, 0],
      ],
    );
  });
});

describe('buildLedger: capacity headroom', () => {
  it('capacity fits in headroom minus the power the energy used', () => {
    // 15-min interval, meter 10 kWh -> 10 / 0.25 h = 40 kW used; headroom 100 -> 60 kW for capacity.
    // REG_UP (20) claims 50 -> 50; SPIN (40, no stacking) claims 20 -> 10, cut by 10.
    const metered = [meter(10, { intervalMinutes: 15 })];
    const claims = [
      claim('REG_UP', { intervalMinutes: 15, capacityKw: 50 }),
      claim('SPIN', { intervalMinutes: 15, capacityKw: 20 }),
    ];
    const ledger = buildLedger(claims, metered, PROGRAMS);
    assert.deepEqual(summary(ledger.entries), {
      [`REG_UP@${T0}`]: [0, 50],
      [`SPIN@${T0}`]: [0, 10],
      [`${UNATTRIBUTED}@${T0}`]: [10, 0],
    });
    assert.deepEqual(ledger.curtailedClaims, [
      { deviceId: 'b1', start: T0, programId: 'SPIN', claimed: 20, attributed: 10, kind: 'capacity' },
    ]);
    assert.deepEqual(checkLedger(ledger.entries, metered, PROGRAMS), []);
    const conflicts = conflictsOf(() => buildLedger(claims, metered, PROGRAMS, { mode: 'refuse' }));
    assert.deepEqual(
      conflicts.map((c) => [c.kind, c.programs, c.quantity, c.limit]),
      [['capacity', ['SPIN', 'REG_UP'], 20, 10]],
    );
  });

  it('stacking capacity shares the partner kW; a meter above headroom leaves no capacity', () => {
    // Hour, meter 30 kWh -> 30 kW used, headroom 50 -> 20 kW. DR holds 15 kW; REG_UP (stacks with DR) 20 kW:
    // 15 shared + 5 fresh = 20. Then at T1 the meter reads 60 kWh > 50 kW headroom: capacity 0, DR cut.
    const metered = [meter(30, { headroomKw: 50 }), meter(60, { start: T1, headroomKw: 50 })];
    const claims = [
      claim('DR', { capacityKw: 15 }),
      claim('REG_UP', { capacityKw: 20 }),
      claim('DR', { start: T1, capacityKw: 15 }),
    ];
    const ledger = buildLedger(claims, metered, PROGRAMS);
    assert.deepEqual(summary(ledger.entries), {
      [`DR@${T0}`]: [0, 15],
      [`REG_UP@${T0}`]: [0, 20],
      [`${UNATTRIBUTED}@${T0}`]: [30, 0],
      [`${UNATTRIBUTED}@${T1}`]: [60, 0],
    });
    assert.deepEqual(ledger.curtailedClaims, [
      { deviceId: 'b1', start: T1, programId: 'DR', claimed: 15, attributed: 0, kind: 'capacity' },
    ]);
    assert.deepEqual(checkLedger(ledger.entries, metered, PROGRAMS), []);
  });
});

describe('buildLedger: degradation by throughput share', () => {
  it('splits the cost by |energy| and gives throughput beyond |E| to unattributed', () => {
    // Meter 40 kWh, throughput 50 (10 kWh charged and discharged inside the hour), cost $5.
    // DR 30, unattributed 10 + 10 excess = 20: DR 5 x 30/50 = 3, unattributed 5 x 20/50 = 2.
    const ledger = buildLedger(
      [claim('DR', { energyKwh: 30 })],
      [meter(40, { throughputKwh: 50, degradationUsd: 5 })],
      PROGRAMS,
    );
    assert.deepEqual(
      ledger.entries.map((e) => [e.programId, e.energyKwh, e.degradationUsd]),
      [
        ['DR', 30, 3],
        [UNATTRIBUTED, 10, 2],
      ],
    );
  });

  it('stacked kWh share the wear; parts sum to the cost', () => {
    // Meter 40, cost $1: DR 30, REG_UP 35 (30 shared), unattributed 5; weights 30 + 35 + 5 = 70.
    // DR 30/70 = 0.428571..., REG_UP 35/70 = 0.5, unattributed 5/70 = 0.0714285...
    const ledger = buildLedger(
      [claim('DR', { energyKwh: 30 }), claim('REG_UP', { energyKwh: 35 })],
      [meter(40, { degradationUsd: 1 })],
      PROGRAMS,
    );
    const [dr, regUp, rest] = ledger.entries;
    assert.ok(Math.abs(dr!.degradationUsd - 3 / 7) < 1e-15);
    assert.equal(regUp!.degradationUsd, 0.5);
    assert.ok(Math.abs(rest!.degradationUsd - 1 / 14) < 1e-15);
    assert.ok(Math.abs(ledger.entries.reduce((sum, e) => sum + e.degradationUsd, 0) - 1) < 1e-15);
  });

  it('wear of an interval with no net energy goes to unattributed', () => {
    // Meter 0 kWh but throughput 8 (charged 4, discharged 4), cost $0.40: nobody's energy -> one entry.
    const ledger = buildLedger([], [meter(0, { throughputKwh: 8, degradationUsd: 0.4 })], PROGRAMS);
    assert.deepEqual(
      ledger.entries.map((e) => [e.programId, e.energyKwh, e.degradationUsd]),
      [[UNATTRIBUTED, 0, 0.4]],
    );
  });
});

describe('buildLedger: refuse mode lists every conflict', () => {
  it('throws GW_ERR_DOUBLE_ATTRIBUTION with all conflicts, not the first', () => {
    // b1 T0: meter 20, DR 15 + ENERGY 10 -> ENERGY gets 5: double claim with DR.
    // b1 T1: meter 10, DR claims 12 -> exceeds the meter by 2.
    // b1 T2: no meter, ENERGY claims 4 -> metered.
    // b2 T0: meter 5 kWh, headroom 10 -> 5 kW left; SPIN claims 8 kW -> exceeds headroom.
    const metered = [meter(20), meter(10, { start: T1 }), meter(5, { deviceId: 'b2', headroomKw: 10 })];
    const claims = [
      claim('DR', { energyKwh: 15 }),
      claim('ENERGY', { energyKwh: 10 }),
      claim('DR', { start: T1, energyKwh: 12 }),
      claim('ENERGY', { start: T2, energyKwh: 4 }),
      claim('SPIN', { deviceId: 'b2', capacityKw: 8 }),
    ];
    const conflicts = conflictsOf(() => buildLedger(claims, metered, PROGRAMS, { mode: 'refuse' }));
    assert.deepEqual(
      conflicts.map((c) => [c.deviceId, c.start, c.kind, c.programs, c.quantity, c.limit]),
      [
        ['b1', T0, 'energy', ['ENERGY', 'DR'], 10, 5],
        ['b1', T1, 'energy', ['DR'], 12, 10],
        ['b1', T2, 'metered', ['ENERGY'], 4, 0],
        ['b2', T0, 'capacity', ['SPIN'], 8, 5],
      ],
    );
    assert.ok(conflicts.every((c) => c.message.length > 20));
  });

  it('a cut within the tolerance is not a conflict', () => {
    // Meter 10, DR claims 10.0000005: cut 5e-7 < 1e-6 default tolerance; with tolerance 1e-9 it conflicts.
    const claims = [claim('DR', { energyKwh: 10.0000005 })];
    const ledger = buildLedger(claims, [meter(10)], PROGRAMS, { mode: 'refuse' });
    assert.equal(ledger.entries[0]!.energyKwh, 10);
    assert.equal(
      conflictsOf(() => buildLedger(claims, [meter(10)], PROGRAMS, { mode: 'refuse', toleranceKwh: 1e-9 })).length,
      1,
    );
  });
});

describe('buildLedger: input validation', () => {
  function issuesOf(run: () => unknown): string[] {
    try {
      run();
    } catch (error) {
      assert.ok(GridseamError.is(error), String(error));
      assert.equal(error.code, 'GW_ERR_VALIDATION');
      return error.issues.map((issue) => issue.path);
    }
    assert.fail('expected GW_ERR_VALIDATION');
  }

  it('names every bad field with a JSON Pointer', () => {
    const paths = issuesOf(() =>
      buildLedger(
        [claim('DR', { energyKwh: Number.NaN }), claim(UNATTRIBUTED, { capacityKw: -1 })],
        [meter(Number.POSITIVE_INFINITY, { headroomKw: -5 })],
        [{ id: '', kind: 'retail', precedence: Number.NaN }],
        { toleranceKwh: -1 },
      ),
    );
    assert.deepEqual(paths, [
      '/programs/0/id',
      '/programs/0/precedence',
      '/claims/0/energyKwh',
      '/claims/1/programId',
      '/claims/1/capacityKw',
      '/metered/0/energyKwh',
      '/metered/0/headroomKw',
      '/options/toleranceKwh',
    ]);
  });

  it('refuses a second meter reading for one interval and claims on another interval length', () => {
    assert.deepEqual(
      issuesOf(() => buildLedger([], [meter(1), meter(2)], PROGRAMS)),
      ['/metered/1'],
    );
    assert.deepEqual(
      issuesOf(() => buildLedger([claim('DR', { intervalMinutes: 15, energyKwh: 1 })], [meter(1)], PROGRAMS)),
      ['/claims/0/intervalMinutes'],
    );
  });

  it('refuses wrong types from untyped callers', () => {
    const bad = [{ deviceId: 7, programId: 'DR', start: '0', intervalMinutes: 60 }] as unknown as Claim[];
    assert.deepEqual(
      issuesOf(() => buildLedger(bad, [], PROGRAMS)),
      ['/claims/0/deviceId', '/claims/0/start'],
    );
  });
});

describe('checkLedger: the independent verifier', () => {
  const metered = [meter(40)];
  const good: LedgerEntry[] = [
    {
      deviceId: 'b1',
      start: T0,
      intervalMinutes: 60,
      programId: 'DR',
      energyKwh: 30,
      capacityKw: 0,
      degradationUsd: 0,
    },
    {
      deviceId: 'b1',
      start: T0,
      intervalMinutes: 60,
      programId: 'REG_UP',
      energyKwh: 35,
      capacityKw: 20,
      degradationUsd: 0,
    },
    {
      deviceId: 'b1',
      start: T0,
      intervalMinutes: 60,
      programId: UNATTRIBUTED,
      energyKwh: 5,
      capacityKw: 0,
      degradationUsd: 0,
    },
  ];
  const with_ = (changes: (entries: LedgerEntry[]) => void): LedgerEntry[] => {
    const copy = good.map((e) => ({ ...e }));
    changes(copy);
    return copy;
  };

  it('accepts a valid stacked ledger', () => {
    assert.deepEqual(checkLedger(good, metered, PROGRAMS), []);
  });

  it('catches kWh held by two non-stacking programs', () => {
    // DR's 30 copied to ENERGY (stacks with nobody): {DR, ENERGY, unattributed} = 30 + 30 + 5 = 65 and
    // {REG_UP, ENERGY, unattributed} = 35 + 30 + 5 = 70 > 40; the heaviest is reported.
    const conflicts = checkLedger(
      with_((e) => e.push({ ...e[0]!, programId: 'ENERGY' })),
      metered,
      PROGRAMS,
    );
    assert.deepEqual(
      conflicts.map((c) => [c.kind, c.programs, c.quantity, c.limit]),
      [['energy', ['REG_UP', UNATTRIBUTED, 'ENERGY'], 70, 40]],
    );
  });

  it('catches a program twice, energy against the meter, and energy left out', () => {
    // Twice: REG_UP twice (35 + 35 = 70; {REG_UP, unattributed} = 75 > 40 too).
    const twice = checkLedger(
      with_((e) => e.push({ ...e[1]! })),
      metered,
      PROGRAMS,
    );
    assert.deepEqual(
      twice.map((c) => [c.kind, c.programs, c.quantity]),
      [
        ['energy', ['REG_UP', 'REG_UP'], 70],
        ['energy', ['REG_UP', UNATTRIBUTED], 75],
      ],
    );
    // Against the meter: unattributed -5 while the meter says +40; and then 30 + 35 - 5 nets... the sign check fires.
    const against = checkLedger(
      with_((e) => {
        e[2]!.energyKwh = -5;
      }),
      metered,
      PROGRAMS,
    );
    assert.deepEqual(
      against.map((c) => [c.kind, c.programs, c.limit]),
      [['energy', [UNATTRIBUTED], 0]],
    );
    // Left out: without the unattributed 5 and with REG_UP at 5, covered = 30 + 5 = 35 < 40.
    const short = checkLedger(
      with_((e) => {
        e.pop();
        e[1]!.energyKwh = 5;
      }),
      metered,
      PROGRAMS,
    );
    assert.deepEqual(
      short.map((c) => [c.kind, c.quantity, c.limit]),
      [['energy', 35, 40]],
    );
  });

  it('catches entries without a meter, meters without entries, and capacity over headroom', () => {
    // Entries moved to T1 (no meter) -> one 'metered' conflict; T0's 40 kWh then have no entry at all.
    const moved = checkLedger(
      with_((e) => {
        for (const entry of e) entry.start = T1;
      }),
      metered,
      PROGRAMS,
    );
    assert.deepEqual(
      moved.map((c) => [c.kind, c.start, c.quantity, c.limit]),
      [
        ['energy', T0, 0, 40],
        ['metered', T1, 70, 0],
      ],
    );
    // REG_UP at 70 kW: 70 + 40 kW used by energy = 110 > 100 headroom.
    const over = checkLedger(
      with_((e) => {
        e[1]!.capacityKw = 70;
      }),
      metered,
      PROGRAMS,
    );
    assert.deepEqual(
      over.map((c) => [c.kind, c.programs, c.quantity, c.limit]),
      [['capacity', ['REG_UP'], 70, 60]],
    );
  });

  it('assertNoDoubleAttribution throws with every conflict', () => {
    assert.doesNotThrow(() => assertNoDoubleAttribution(good, metered, PROGRAMS));
    const conflicts = conflictsOf(() =>
      assertNoDoubleAttribution(
        with_((e) => {
          e[1]!.capacityKw = 70;
          e.push({ ...e[0]!, programId: 'SPIN' });
        }),
        metered,
        PROGRAMS,
      ),
    );
    assert.deepEqual(
      conflicts.map((c) => c.kind),
      ['energy', 'capacity'],
    );
  });
});
