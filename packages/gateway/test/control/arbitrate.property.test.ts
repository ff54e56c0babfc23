/**
 * Property tests of arbitration over seeded random intent sets: the winner is the best active
 * intent under the documented rules, defaults win only when nothing else is active, every intent
 * is accounted for with a reason that matches its situation, and the result does not depend on
 * the order of the input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arbitrate, type ControlIntent, type ControlType, decisionKey } from '../../src/control/index.ts';
import { type Random, seededRandom } from './prng.ts';

const AT = Date.UTC(2025, 2, 1, 8, 0, 0);
const MIN = 60_000;
const SCOPES = [
  { kind: 'site', id: 's1' },
  { kind: 'group', id: 'g1' },
  { kind: 'device', id: 'd1' },
] as const;
const TYPES: readonly ControlType[] = ['exportLimit', 'generationLimit', 'fixedW'];

function randomIntent(random: Random, index: number): ControlIntent {
  const start = AT + random.int(-30, 10) * MIN;
  const source = random.pick(['ieee2030.5', 'openadr3', 'market', 'operator'] as const);
  const isDefault = random.chance(0.2);
  const end =
    source === 'operator' && !isDefault
      ? start + random.int(1, 40) * MIN
      : random.chance(0.2)
        ? undefined
        : start + random.int(1, 40) * MIN;
  const intent: ControlIntent = {
    id: `i${index}`,
    source,
    scope: random.pick(SCOPES),
    type: random.pick(TYPES),
    value: random.int(0, 10_000),
    // Few distinct values, so ties on primacy and creation time happen often.
    primacy: random.int(0, 3),
    createdAt: AT - random.int(0, 5) * MIN,
    window: end === undefined ? { start } : { start, end },
  };
  if (isDefault) intent.isDefault = true;
  return intent;
}

/** The documented order, restated: primacy, then operator first, then newer, then id. */
function better(a: ControlIntent, b: ControlIntent): boolean {
  if (a.primacy !== b.primacy) return a.primacy < b.primacy;
  if ((a.source === 'operator') !== (b.source === 'operator')) return a.source === 'operator';
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.id < b.id;
}

function isActive(intent: ControlIntent): boolean {
  return intent.window.start <= AT && (intent.window.end === undefined || AT < intent.window.end);
}

describe('arbitration properties', () => {
  it('2,000 random intent sets', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const random = seededRandom(seed);
      const intents = Array.from({ length: random.int(1, 25) }, (_, i) => randomIntent(random, i));
      const result = arbitrate(intents, AT);
      const context = `seed ${seed}`;
      assert.deepEqual(result.rejected, [], context);
      assert.deepEqual(arbitrate(random.shuffle(intents), AT), result, `${context}: independent of input order`);

      const byKey = new Map<string, ControlIntent[]>();
      for (const intent of intents) {
        const key = decisionKey(intent.scope, intent.type);
        byKey.set(key, [...(byKey.get(key) ?? []), intent]);
      }
      assert.deepEqual(
        result.decisions.map((d) => d.key),
        [...byKey.keys()].sort(),
        context,
      );
      for (const decision of result.decisions) {
        const group = byKey.get(decision.key)!;
        const where = `${context} ${decision.key}`;
        const ids = [decision.winner?.id, ...decision.losers.map((l) => l.intent.id)].filter((id) => id !== undefined);
        assert.deepEqual([...ids].sort(), group.map((i) => i.id).sort(), `${where}: every intent accounted for`);
        assert.deepEqual(
          decision.losers.map((l) => l.rank),
          decision.losers.map((_, i) => i + 1),
          `${where}: ranks`,
        );
        const activeEvents = group.filter((i) => isActive(i) && i.isDefault !== true);
        const activeDefaults = group.filter((i) => isActive(i) && i.isDefault === true);
        const pool = activeEvents.length > 0 ? activeEvents : activeDefaults;
        if (pool.length === 0) assert.equal(decision.winner, undefined, where);
        else {
          const winner = group.find((i) => i.id === decision.winner?.id);
          assert.ok(winner && pool.includes(winner), `${where}: the winner comes from the right pool`);
          for (const other of pool)
            if (other !== winner) assert.ok(better(winner, other), `${where}: ${winner.id} beats ${other.id}`);
        }
        for (const loser of decision.losers) {
          const intent = group.find((i) => i.id === loser.intent.id)!;
          const expectedCode =
            intent.window.start > AT
              ? 'not-started'
              : !isActive(intent)
                ? 'expired'
                : intent.isDefault === true && activeEvents.length > 0
                  ? 'default-superseded'
                  : undefined;
          if (expectedCode !== undefined) assert.equal(loser.code, expectedCode, `${where}: ${intent.id}`);
          else
            assert.ok(
              ['lower-priority', 'operator-precedence', 'older', 'id-order'].includes(loser.code),
              `${where}: ${intent.id} ranked by the rules`,
            );
          assert.ok(loser.reason.length > 0, where);
        }
      }
      const changes = intents
        .flatMap((i) => [i.window.start, i.window.end])
        .filter((t): t is number => t !== undefined && t > AT);
      assert.equal(
        result.nextChangeAt,
        changes.length === 0 ? undefined : Math.min(...changes),
        `${context}: nextChangeAt`,
      );
    }
  });
});
