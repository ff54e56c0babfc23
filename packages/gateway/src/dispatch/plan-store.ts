/**
 * Dispatch plans on store.documents (namespace 'dispatch-plans'): the latest plan in full
 * (id 'latest') and a bounded history of compact entries (id 'history/<createdAt, 13 digits>-<seq>',
 * so ids sort by time), written in one transaction per plan; entries beyond `historySize` are
 * deleted in the same transaction. The history is kept in memory too (it is bounded), for the
 * plan-versus-actual view of the API.
 */
import type { Store } from '../store/types.ts';
import type { DispatchPlanDocument, PlanHistoryEntry } from './types.ts';

export const DISPATCH_PLANS_NAMESPACE = 'dispatch-plans';
const LATEST_ID = 'latest';
const HISTORY_PREFIX = 'history/';

/** What the API reads. */
export interface DispatchPlanReader {
  latest(): Promise<DispatchPlanDocument | undefined>;
  /** History entries created in [from, to), oldest first. */
  history(from?: number, to?: number): Promise<PlanHistoryEntry[]>;
}

function historyId(entry: PlanHistoryEntry, seq: number): string {
  return `${HISTORY_PREFIX}${String(entry.createdAt).padStart(13, '0')}-${String(seq).padStart(6, '0')}`;
}

export class DispatchPlanStore implements DispatchPlanReader {
  readonly #store: Store;
  readonly #namespace: string;
  readonly #historySize: number;
  #latest: DispatchPlanDocument | undefined;
  /** Oldest first. */
  #history: Array<{ id: string; entry: PlanHistoryEntry }> = [];
  #seq = 0;
  #loaded: Promise<void> | undefined;

  constructor(store: Store, options: { historySize: number; namespace?: string }) {
    this.#store = store;
    this.#namespace = options.namespace ?? DISPATCH_PLANS_NAMESPACE;
    this.#historySize = Math.max(1, options.historySize);
  }

  /** Reads what an earlier run stored (once). */
  load(): Promise<void> {
    this.#loaded ??= this.#read();
    return this.#loaded;
  }

  async #read(): Promise<void> {
    for (const { id, doc } of await this.#store.documents.list(this.#namespace)) {
      if (id === LATEST_ID) this.#latest = doc as DispatchPlanDocument;
      else if (id.startsWith(HISTORY_PREFIX)) this.#history.push({ id, entry: doc as PlanHistoryEntry });
    }
    this.#history.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async latest(): Promise<DispatchPlanDocument | undefined> {
    await this.load();
    return this.#latest;
  }

  async history(from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): Promise<PlanHistoryEntry[]> {
    await this.load();
    return this.#history.map((h) => h.entry).filter((e) => e.createdAt >= from && e.createdAt < to);
  }

  /** Stores a plan as the latest and appends its entry to the history, dropping the oldest beyond the bound. */
  async save(plan: DispatchPlanDocument, entry: PlanHistoryEntry): Promise<void> {
    await this.load();
    const id = historyId(entry, ++this.#seq);
    const history = [...this.#history, { id, entry }];
    const dropped = history.splice(0, Math.max(0, history.length - this.#historySize));
    await this.#store.documents.write(this.#namespace, [
      { id: LATEST_ID, doc: plan },
      { id, doc: entry },
      ...dropped.map((d) => ({ id: d.id, doc: null })),
    ]);
    this.#latest = plan;
    this.#history = history;
  }
}
