/**
 * The market interface's documents on store.documents:
 * - 'market-aggregations': one Aggregation (FERC 2222, @gridseam/settlement) per id; its
 *   registration history is the audit trail of its registration moves;
 * - 'market-awards': one StoredAward per imported award, id `<start, 15 digits>|<resource>|<market>|
 *   <product>` (sorted by start; importing the same award again overwrites it). Settlement reads
 *   these for clearing prices (src/settlement).
 */
import type { Aggregation, Award } from '@gridseam/settlement';
import type { Store } from '../store/types.ts';

export const MARKET_AGGREGATIONS_NAMESPACE = 'market-aggregations';
export const MARKET_AWARDS_NAMESPACE = 'market-awards';

/** An award as stored: the ISO's award plus where it went. */
export interface StoredAward extends Award {
  aggregationId: string;
  /** The program its events belong to, and the events that carry it. */
  programId: string;
  eventIds: string[];
  importedAt: number;
  importedBy: string;
}

export function awardDocumentId(award: Award): string {
  const start = String(award.interval.startMs).padStart(15, '0');
  return `${start}|${award.resourceId}|${award.interval.market}|${award.product}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStoredAward(value: unknown): value is StoredAward {
  return (
    isRecord(value) &&
    isRecord(value.interval) &&
    typeof value.resourceId === 'string' &&
    typeof value.aggregationId === 'string' &&
    typeof value.interval.startMs === 'number' &&
    typeof value.interval.endMs === 'number'
  );
}

export class AggregationStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async list(): Promise<Aggregation[]> {
    return (await this.#store.documents.list(MARKET_AGGREGATIONS_NAMESPACE)).map((d) => d.doc as Aggregation);
  }

  async get(id: string): Promise<Aggregation | undefined> {
    return (await this.#store.documents.get(MARKET_AGGREGATIONS_NAMESPACE, id)) as Aggregation | undefined;
  }

  async put(aggregation: Aggregation): Promise<void> {
    await this.#store.documents.write(MARKET_AGGREGATIONS_NAMESPACE, [{ id: aggregation.id, doc: aggregation }]);
  }
}

export class AwardStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Writes the awards in one transaction (the same award again replaces it). */
  async put(awards: readonly StoredAward[]): Promise<void> {
    if (awards.length === 0) return;
    await this.#store.documents.write(
      MARKET_AWARDS_NAMESPACE,
      awards.map((award) => ({ id: awardDocumentId(award), doc: award })),
    );
  }

  /** Awards whose interval overlaps [from, to), by start. */
  async list(from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): Promise<StoredAward[]> {
    const out: StoredAward[] = [];
    for (const { doc } of await this.#store.documents.list(MARKET_AWARDS_NAMESPACE))
      if (isStoredAward(doc) && doc.interval.endMs > from && doc.interval.startMs < to) out.push(doc);
    return out;
  }
}
