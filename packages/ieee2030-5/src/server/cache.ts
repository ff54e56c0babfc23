/**
 * Cache of emitted GET bodies (as UTF-8 bytes, written to the socket as they are). An entry is valid while the revisions it was built from are unchanged and the
 * clock is before its `until` (the next time an event status or listing changes). Bounded: the oldest
 * entries are dropped first.
 */
export interface Stamp {
  /** SepState.globalRev. */
  g: number;
  /** The scope revision: deviceRev for /edev/{id}/... routes, ownerRev for client-scoped routes. */
  s: number;
}

interface Entry extends Stamp {
  until: number;
  body: Buffer;
}

export class ResponseCache {
  readonly #entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries: number) {}

  get(key: string, stamp: Stamp, now: number): Buffer | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.g === stamp.g && entry.s === stamp.s && now < entry.until) {
      this.hits += 1;
      return entry.body;
    }
    this.misses += 1;
    return undefined;
  }

  set(key: string, stamp: Stamp, until: number, body: Buffer): void {
    if (this.maxEntries === 0) return;
    if (this.#entries.has(key)) this.#entries.delete(key);
    else if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { g: stamp.g, s: stamp.s, until, body });
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
