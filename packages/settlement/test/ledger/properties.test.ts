/**
 * Property tests on seeded random stacked schedules (a small LCG, so every run sees the same
 * cases): 2-5 programs with random precedence (ties included) and random stacking pairs, 1-3
 * devices, 1-3 intervals, meters of either sign (and zero), claims of either sign, capacity,
 * wear, throughput above |E|, and claims for intervals nobody metered. For every case:
 * - checkLedger finds nothing in buildLedger's output;
 * - per device-interval, settled energy (settlementLines, stacked kWh once) equals the meter
 *   within 1e-9 and reconcile reports no gap;
 * - the wear allocated sums to the interval's cost within 1e-12 (relative);
 * - no entry exceeds its claim or goes against the meter's sign;
 * - 'refuse' mode throws exactly when 'resolve' cut a claim by more than the tolerance, with one
 *   conflict per cut claim (all of them), and otherwise returns the same ledger;
 * - the ledger corrupted by copying an entry into another program that does not stack with it
 *   is always caught.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { AttributionConflict, Claim, LedgerEntry, MeteredInterval, ProgramRule } from '../../src/contract.ts';
import { UNATTRIBUTED } from '../../src/contract.ts';
import { buildLedger, checkLedger, reconcile, settlementLines } from '../../src/ledger/index.ts';

const CASES = 300;
const T0 = Date.UTC(2026, 10, 1, 8);

/** Numerical Recipes LCG, uniform in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

interface Case {
  programs: ProgramRule[];
  claims: Claim[];
  metered: MeteredInterval[];
}

function randomCase(random: () => number): Case {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const programCount = 2 + Math.floor(random() * 4);
  const ids = Array.from({ length: programCount }, (_, index) => `P${index}`);
  const programs: ProgramRule[] = ids.map((id) => ({
    id,
    kind: pick(['retail', 'wholesale', 'merchant'] as const),
    precedence: Math.floor(random() * 4),
  }));
  // A stacking pair is listed on one side only, either side (the relation is symmetric).
  for (let a = 0; a < programCount; a++)
    for (let b = a + 1; b < programCount; b++) {
      if (random() >= 0.35) continue;
      const [holder, partner] = random() < 0.5 ? [a, b] : [b, a];
      const rule = programs[holder]!;
      rule.stacksWith = [...(rule.stacksWith ?? []), ids[partner]!];
    }

  const intervalMinutes = pick([15, 60]);
  const metered: MeteredInterval[] = [];
  const claims: Claim[] = [];
  const devices = 1 + Math.floor(random() * 3);
  const intervals = 1 + Math.floor(random() * 3);
  for (let d = 0; d < devices; d++) {
    for (let k = 0; k < intervals; k++) {
      const deviceId = `bat${d}`;
      const start = T0 + k * intervalMinutes * 60_000;
      const hasMeter = random() > 0.05;
      const energy = random() < 0.1 ? 0 : (random() * 2 - 1) * 50;
      if (hasMeter) {
        metered.push({
          deviceId,
          start,
          intervalMinutes,
          energyKwh: energy,
          headroomKw: random() * 250,
          ...(random() < 0.3 ? { throughputKwh: Math.abs(energy) + random() * 10 } : {}),
          ...(random() < 0.7 ? { degradationUsd: random() * 3 } : {}),
        });
      }
      for (const id of ids) {
        if (random() > 0.6) continue;
        const sign = (energy === 0 ? 1 : Math.sign(energy)) * (random() < 0.85 ? 1 : -1);
        claims.push({
          deviceId,
          programId: id,
          start,
          intervalMinutes,
          ...(random() < 0.8 ? { energyKwh: sign * random() * (Math.abs(energy) * 0.8 + 5) } : {}),
          ...(random() < 0.5 ? { capacityKw: random() * 100 } : {}),
          ...(random() < 0.7 ? { energyPriceUsdPerMwh: random() * 300 - 20 } : {}),
          ...(random() < 0.5 ? { capacityPriceUsdPerMwh: random() * 30 } : {}),
        });
      }
    }
  }
  return { programs, claims, metered };
}

const key = (deviceId: string, start: number) => `${deviceId}@${start}`;

function stacks(programs: readonly ProgramRule[], a: string, b: string): boolean {
  const listed = (x: string, y: string) => programs.find((p) => p.id === x)?.stacksWith?.includes(y) ?? false;
  return a !== b && (listed(a, b) || listed(b, a));
}

describe('property: random stacked schedules', () => {
  it(`${CASES} seeded cases: no double attribution, totals reconcile, wear sums, refuse lists every cut, corruption caught`, () => {
    const random = lcg(20_260_601);
    let stackedCases = 0;
    let refusedCases = 0;
    let corrupted = 0;
    for (let index = 0; index < CASES; index++) {
      const { programs, claims, metered } = randomCase(random);
      const label = `case ${index}`;
      const ledger = buildLedger(claims, metered, programs);

      // The independent checker finds nothing, even at 1e-9.
      assert.deepEqual(checkLedger(ledger.entries, metered, programs, 1e-9), [], label);

      // Settled energy per device-interval equals the meter (stacked kWh once), and reconcile agrees.
      const lines = settlementLines(ledger, claims, programs);
      const settled = new Map<string, number>();
      for (const line of lines)
        if (line.unit === 'kWh' && !line.chargeCode.endsWith(':STACKED'))
          settled.set(
            key(line.resourceId, line.start),
            (settled.get(key(line.resourceId, line.start)) ?? 0) + line.quantity,
          );
      for (const meter of metered) {
        const got = settled.get(key(meter.deviceId, meter.start)) ?? 0;
        assert.ok(Math.abs(got - meter.energyKwh) <= 1e-9, `${label}: settled ${got} vs metered ${meter.energyKwh}`);
      }
      assert.deepEqual(reconcile(lines, metered, { toleranceKwh: 1e-9 }).gaps, [], label);
      if (lines.some((line) => line.chargeCode.endsWith(':STACKED'))) stackedCases++;

      // Wear sums to the cost; entries stay within their claims and the meter's sign.
      const byInterval = new Map<string, LedgerEntry[]>();
      for (const entry of ledger.entries) {
        const k = key(entry.deviceId, entry.start);
        byInterval.set(k, [...(byInterval.get(k) ?? []), entry]);
      }
      for (const meter of metered) {
        const entries = byInterval.get(key(meter.deviceId, meter.start)) ?? [];
        const cost = meter.degradationUsd ?? 0;
        const wear = entries.reduce((sum, entry) => sum + entry.degradationUsd, 0);
        assert.ok(Math.abs(wear - cost) <= 1e-12 * Math.max(1, cost), `${label}: wear ${wear} vs ${cost}`);
        for (const entry of entries) {
          assert.ok(entry.energyKwh * meter.energyKwh >= 0, `${label}: ${entry.programId} against the meter`);
          if (entry.programId === UNATTRIBUTED) continue;
          const claimed = claims
            .filter((c) => c.deviceId === entry.deviceId && c.start === entry.start && c.programId === entry.programId)
            .reduce((sum, c) => sum + (c.energyKwh ?? 0), 0);
          assert.ok(
            Math.abs(entry.energyKwh) <= Math.abs(claimed) + 1e-9,
            `${label}: ${entry.programId} above its claim`,
          );
        }
      }

      // Refuse mode: one conflict per claim cut by more than the tolerance (default 1e-6), all of them.
      const meteredKeys = new Set(metered.map((m) => key(m.deviceId, m.start)));
      const expected = new Set<string>();
      for (const cut of ledger.curtailedClaims) {
        const k = key(cut.deviceId, cut.start);
        const kind = (cut as { kind?: string }).kind;
        if (!meteredKeys.has(k)) {
          if (Math.abs(cut.claimed) > 1e-6) expected.add(`${k}/${cut.programId}/metered`);
        } else if (Math.abs(cut.claimed - cut.attributed) > 1e-6) expected.add(`${k}/${cut.programId}/${kind}`);
      }
      let conflicts: AttributionConflict[] = [];
      try {
        assert.deepEqual(buildLedger(claims, metered, programs, { mode: 'refuse' }), ledger, label);
      } catch (error) {
        if (!GridseamError.is(error) || error.code !== 'GW_ERR_DOUBLE_ATTRIBUTION') throw error;
        conflicts = (error.details as { conflicts: AttributionConflict[] }).conflicts;
        refusedCases++;
      }
      assert.deepEqual(
        new Set(conflicts.map((c) => `${key(c.deviceId, c.start)}/${c.programs[0]}/${c.kind}`)),
        expected,
        label,
      );
      assert.equal(conflicts.length, expected.size, label);

      // Corruption: copy an entry into a program that stacks with none of the interval's programs (an
      // unlisted one if every listed program stacks with one of them). Copying it into a program that
      // stacks with some OTHER holder would be undetectable from amounts alone, and rightly so: that
      // ledger has a valid reading (the copy sitting on its partner's kWh), e.g. P1 21 kWh, unattributed 17
      // copied into P0 (stacks with P1) reads as P0 stacking 17 of P1's 21.
      const victims = ledger.entries.filter((entry) => Math.abs(entry.energyKwh) > 1e-3);
      if (victims.length === 0) continue;
      const victim = victims[Math.floor(random() * victims.length)]!;
      const present = (byInterval.get(key(victim.deviceId, victim.start)) ?? []).map((entry) => entry.programId);
      const targets = programs.filter(
        (p) => p.id !== victim.programId && !present.some((other) => stacks(programs, p.id, other)),
      );
      const target = targets.length > 0 ? targets[Math.floor(random() * targets.length)]!.id : 'CORRUPT';
      const bad = [...ledger.entries, { ...victim, programId: target }];
      assert.notDeepEqual(
        checkLedger(bad, metered, programs, 1e-9),
        [],
        `${label}: copy of ${victim.programId} into ${target}`,
      );
      corrupted++;
    }
    // The draws exercise what they claim to.
    assert.ok(stackedCases >= 30, `stacked cases ${stackedCases}`);
    assert.ok(refusedCases >= 50, `refused cases ${refusedCases}`);
    assert.ok(corrupted >= 200, `corrupted cases ${corrupted}`);
  });
});
