/**
 * What the ledger's parts share: the stacking relation between programs, the device-interval key,
 * the default tolerance, and the canonical "shared first" layout of stacked kWh (notes §1.4:
 * "one MW, one product per interval unless the program explicitly permits stacking").
 */
import type { ProgramRule } from '../contract.ts';
import { UNATTRIBUTED } from '../contract.ts';

/** Default tolerance for energy comparisons, kWh (float noise, not a business allowance). */
export const DEFAULT_TOLERANCE_KWH = 1e-6;

/** Suffix of the energy line that carries a stacking program's kWh shared with a partner (counted once). */
export const STACKED_SUFFIX = ':STACKED';

/** Charge codes of unattributed (merchant / uninstructed) energy and its wear. */
export const UNATTRIBUTED_ENERGY_CODE = 'UNATTRIBUTED:ENERGY';
export const UNATTRIBUTED_DEGRADATION_CODE = 'UNATTRIBUTED:DEGRADATION';

/** Precedence of a program the rules do not list: after every listed one. */
const UNKNOWN_PRECEDENCE = Number.MAX_SAFE_INTEGER;

/** Programs by id, with a symmetric "stacks with" relation and a precedence order. */
export class ProgramBook {
  readonly #rules = new Map<string, ProgramRule>();
  readonly #stacks = new Map<string, Set<string>>();

  constructor(programs: readonly ProgramRule[]) {
    for (const rule of programs) this.#rules.set(rule.id, rule);
    for (const rule of programs) {
      for (const partner of rule.stacksWith ?? []) {
        if (partner === rule.id || partner === UNATTRIBUTED) continue;
        this.#partnersOf(rule.id).add(partner);
        this.#partnersOf(partner).add(rule.id);
      }
    }
  }

  #partnersOf(id: string): Set<string> {
    let set = this.#stacks.get(id);
    if (set === undefined) {
      set = new Set();
      this.#stacks.set(id, set);
    }
    return set;
  }

  rule(id: string): ProgramRule | undefined {
    return this.#rules.get(id);
  }

  /** True when the two programs may hold the same kWh/kW (either lists the other). Never for 'unattributed'. */
  stacks(a: string, b: string): boolean {
    if (a === b || a === UNATTRIBUTED || b === UNATTRIBUTED) return false;
    return this.#stacks.get(a)?.has(b) ?? false;
  }

  /** True when the program stacks with at least one other program. */
  stacksWithAny(id: string): boolean {
    return (this.#stacks.get(id)?.size ?? 0) > 0;
  }

  precedence(id: string): number {
    if (id === UNATTRIBUTED) return Number.POSITIVE_INFINITY;
    return this.#rules.get(id)?.precedence ?? UNKNOWN_PRECEDENCE;
  }

  /** True when `programId` stacks with every one of `holders`. */
  stacksWithAll(holders: readonly string[], programId: string): boolean {
    for (const holder of holders) if (!this.stacks(holder, programId)) return false;
    return true;
  }

  /** Claim order: lower precedence first, ties by program id; 'unattributed' last. */
  compare = (a: string, b: string): number => {
    const byPrecedence = this.precedence(a) - this.precedence(b);
    if (byPrecedence !== 0 && !Number.isNaN(byPrecedence)) return byPrecedence;
    return a < b ? -1 : a > b ? 1 : 0;
  };

  /** The same order on anything with a programId (one comparator per book, not per sort). */
  compareByProgram = (a: { programId: string }, b: { programId: string }): number =>
    this.compare(a.programId, b.programId);
}

/** Key of one device-interval. */
export function intervalKey(deviceId: string, start: number): string {
  return `${deviceId}\u0000${start}`;
}

/**
 * A segment of one device-interval's metered quantity (|kWh| or kW) and the programs holding it.
 * Programs holding the same segment must all stack pairwise; a segment nobody holds is fresh.
 */
export interface Segment {
  amount: number;
  holders: string[];
}

/**
 * Serve `wanted` of the quantity to `programId`, shared segments first (held only by programs it
 * stacks with, in order), then fresh ones. Mutates `segments` (splitting where a take is partial)
 * and returns what was taken, of it the part shared with earlier holders, and the programs whose
 * non-stacking hold blocked the rest.
 */
export function takeSegments(
  segments: Segment[],
  programId: string,
  wanted: number,
  book: ProgramBook,
): { taken: number; shared: number; blockers: string[] } {
  let remaining = wanted;
  let taken = 0;
  let shared = 0;
  const blockers = new Set<string>();
  // Pass 1: shared segments; pass 2: fresh ones.
  for (const pass of [0, 1] as const) {
    for (let index = 0; index < segments.length && remaining > 0; index++) {
      const segment = segments[index]!;
      const fresh = segment.holders.length === 0;
      if (pass === 0 && fresh) continue;
      if (pass === 1 && !fresh) continue;
      if (!fresh && !book.stacksWithAll(segment.holders, programId)) continue;
      const take = Math.min(segment.amount, remaining);
      if (take <= 0) continue;
      if (take < segment.amount) {
        segments.splice(index + 1, 0, { amount: segment.amount - take, holders: segment.holders });
        segment.amount = take;
      }
      segment.holders = [...segment.holders, programId];
      remaining -= take;
      taken += take;
      if (!fresh) shared += take;
    }
  }
  if (remaining > 0) {
    for (const segment of segments) {
      if (segment.amount <= 0 || segment.holders.includes(programId)) continue;
      for (const holder of segment.holders) if (!book.stacks(holder, programId)) blockers.add(holder);
    }
  }
  return { taken, shared, blockers: [...blockers].sort() };
}

/**
 * The canonical layout replayed from amounts alone: each program (in claim order) takes its amount
 * shared-first from an unlimited supply. It reproduces buildLedger's layout from its own entries,
 * so the shared part of each entry is known without storing it (settlementLines uses it).
 */
export function sharedParts(
  amounts: ReadonlyArray<{ programId: string; amount: number }>,
  book: ProgramBook,
): Map<string, number> {
  const segments: Segment[] = [];
  const result = new Map<string, number>();
  const ordered = [...amounts].sort(book.compareByProgram);
  for (const { programId, amount } of ordered) {
    if (programId === UNATTRIBUTED || amount <= 0 || !book.stacksWithAny(programId)) {
      if (amount > 0 && programId !== UNATTRIBUTED) segments.push({ amount, holders: [programId] });
      result.set(programId, 0);
      continue;
    }
    // Unlimited fresh supply: a fresh segment as large as the request, trimmed after the take.
    const fresh: Segment = { amount, holders: [] };
    segments.push(fresh);
    const { shared } = takeSegments(segments, programId, amount, book);
    // Drop the unused fresh remainder (the last segment with no holders).
    for (let index = segments.length - 1; index >= 0; index--) {
      if (segments[index]!.holders.length === 0) segments.splice(index, 1);
    }
    result.set(programId, shared);
  }
  return result;
}

/**
 * Heaviest set of mutually NON-stacking programs (a clique of the conflict graph): their
 * quantities must fit side by side in the metered quantity, so its weight is a lower bound of
 * the space the attribution needs (exact when the conflict graph is perfect, e.g. every
 * stacking set is pairs or chains). Small n (programs in one device-interval): exhaustive search.
 */
export function heaviestConflictSet(
  weights: ReadonlyArray<{ programId: string; weight: number }>,
  book: ProgramBook,
): { weight: number; programs: string[] } {
  const ids: string[] = [];
  const values: number[] = [];
  let anyStacks = false;
  let sum = 0;
  for (const item of weights) {
    if (!(item.weight > 0)) continue;
    ids.push(item.programId);
    values.push(item.weight);
    sum += item.weight;
    if (book.stacksWithAny(item.programId)) anyStacks = true;
  }
  // Nothing stacks: every entry conflicts with every other, the set is all of them.
  if (!anyStacks) return { weight: sum, programs: ids };
  // Suffix sums bound what the rest can add (branch and bound).
  const rest = new Array<number>(ids.length + 1).fill(0);
  for (let index = ids.length - 1; index >= 0; index--) rest[index] = rest[index + 1]! + values[index]!;
  const search: Search = { ids, values, rest, book, chosen: [], bestWeight: 0, best: [] };
  searchConflictSets(search, 0, 0);
  return { weight: search.bestWeight, programs: search.best.map((index) => ids[index]!) };
}

interface Search {
  ids: string[];
  values: number[];
  rest: number[];
  book: ProgramBook;
  chosen: number[];
  bestWeight: number;
  best: number[];
}

function searchConflictSets(search: Search, from: number, weight: number): void {
  if (weight > search.bestWeight) {
    search.bestWeight = weight;
    search.best = [...search.chosen];
  }
  for (let index = from; index < search.ids.length; index++) {
    if (weight + search.rest[index]! <= search.bestWeight) return;
    let compatible = true;
    for (const other of search.chosen)
      if (search.book.stacks(search.ids[other]!, search.ids[index]!)) {
        compatible = false;
        break;
      }
    if (!compatible) continue;
    search.chosen.push(index);
    searchConflictSets(search, index + 1, weight + search.values[index]!);
    search.chosen.pop();
  }
}
