import { randomUUID } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import type { BusStats, Handler, PublishOptions, SubscribeOptions, Topic } from './types.ts';
import { TOPICS } from './types.ts';

export const DEFAULT_KEY = '_';
export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_RETRY_BACKOFF_MS = 250;
const MAX_RETRY_BACKOFF_MS = 30_000;

/**
 * Keys use the model's id alphabet (plus '_', the default key), so any device or program id is a
 * key as it is. '.' separates NATS subject tokens, so transports that put the key in a subject
 * encode it with keyToken / keyFromToken.
 */
const KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A key as one subject token: '.' becomes '~' ('~' never occurs in a key). */
export function keyToken(key: string): string {
  return key.replaceAll('.', '~');
}

export function keyFromToken(token: string): string {
  return token.replaceAll('~', '.');
}
/** Visible ASCII only: the id travels in the Nats-Msg-Id header. */
const ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Topic -> subject token ('device.state' -> 'device-state'); a token never contains '.'. */
export const TOPIC_TOKENS: Readonly<Record<Topic, string>> = {
  telemetry: 'telemetry',
  'device.state': 'device-state',
  command: 'command',
  'command.result': 'command-result',
  'program.event': 'program-event',
};
const TOPIC_BY_TOKEN = new Map<string, Topic>(TOPICS.map((topic) => [TOPIC_TOKENS[topic], topic]));

export function topicFromToken(token: string): Topic | undefined {
  return TOPIC_BY_TOKEN.get(token);
}

function invalid(path: string, message: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', `${path.slice(1)}: ${message}`, { issues: [{ path, message }] });
}

export function assertTopic(topic: unknown): asserts topic is Topic {
  if (typeof topic !== 'string' || !TOPICS.includes(topic as Topic)) {
    throw invalid('/topic', `unknown topic ${JSON.stringify(topic)}; expected one of ${TOPICS.join(', ')}`);
  }
}

export function assertKey(key: unknown, path = '/key'): asserts key is string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw invalid(path, `must match ${KEY_PATTERN.source} (an id: no '*', '>', '~' or whitespace)`);
  }
}

export function assertGroup(group: unknown): asserts group is string {
  if (typeof group !== 'string' || !GROUP_PATTERN.test(group)) {
    throw invalid('/group', `must match ${GROUP_PATTERN.source}`);
  }
}

function assertPositiveInt(value: unknown, path: string, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(path, `must be an integer from 1 to ${max}`);
  }
}

export interface ResolvedPublish {
  id: string;
  key: string;
}

export function resolvePublish(topic: unknown, options: PublishOptions | undefined): ResolvedPublish {
  assertTopic(topic);
  const key = options?.key ?? DEFAULT_KEY;
  assertKey(key);
  const id = options?.id ?? randomUUID();
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw invalid('/id', 'must be 1 to 256 visible ASCII characters');
  return { id, key };
}

export interface ResolvedSubscribe {
  group: string | undefined;
  key: string | undefined;
  maxDeliver: number;
  concurrency: number;
}

export function resolveSubscribe(
  topic: unknown,
  handler: unknown,
  options: SubscribeOptions | undefined,
): ResolvedSubscribe {
  assertTopic(topic);
  if (typeof handler !== 'function') throw invalid('/handler', 'must be a function');
  const { group, key } = options ?? {};
  if (group !== undefined) assertGroup(group);
  if (key !== undefined) assertKey(key);
  const maxDeliver = options?.maxDeliver ?? DEFAULT_MAX_DELIVER;
  assertPositiveInt(maxDeliver, '/maxDeliver', 1000);
  const concurrency = options?.concurrency ?? DEFAULT_CONCURRENCY;
  assertPositiveInt(concurrency, '/concurrency', 1024);
  return { group, key, maxDeliver, concurrency };
}

/** Delay before delivery number `failedDeliveries + 1`: base, 2 x base, 4 x base, ... capped at 30 s. */
export function retryDelayMs(baseMs: number, failedDeliveries: number): number {
  return Math.min(MAX_RETRY_BACKOFF_MS, baseMs * 2 ** Math.min(20, Math.max(0, failedDeliveries - 1)));
}

export function emptyStats(): BusStats {
  return { published: 0, duplicates: 0, handled: 0, failed: 0, deadLettered: 0, malformed: 0, overflowed: 0 };
}

/** Calls a handler so that a synchronous throw becomes a rejection. */
export async function callHandler<T>(handler: Handler<T>, message: Parameters<Handler<T>>[0]): Promise<void> {
  await handler(message);
}

export function errorInfo(err: unknown): { message: string; name?: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}

/** A set that remembers only its `capacity` most recently added members (insertion order). */
export class BoundedSet {
  readonly #members = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  has(value: string): boolean {
    return this.#members.has(value);
  }

  add(value: string): void {
    // Re-adding refreshes the position so a frequently seen id is kept longest.
    this.#members.delete(value);
    this.#members.add(value);
    if (this.#members.size > this.#capacity) {
      const oldest = this.#members.values().next();
      if (!oldest.done) this.#members.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#members.size;
  }
}

/**
 * Runs items through `run`, one at a time per key (so per-key order is kept) and at most
 * `concurrency` keys at once. Items wait in per-key FIFOs; callers bound how many they push.
 */
export class KeyedQueue<T> {
  readonly #waiting = new Map<string, T[]>();
  /** Keys with waiting items and nothing running, in the order they became ready. */
  readonly #ready: string[] = [];
  readonly #active = new Set<string>();
  readonly #concurrency: number;
  readonly #run: (item: T) => Promise<void>;
  #size = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(concurrency: number, run: (item: T) => Promise<void>) {
    this.#concurrency = concurrency;
    this.#run = run;
  }

  /** Items waiting (not started). */
  get size(): number {
    return this.#size;
  }

  /** Items running now. */
  get running(): number {
    return this.#active.size;
  }

  push(key: string, item: T): void {
    const queue = this.#waiting.get(key);
    if (queue) queue.push(item);
    else {
      this.#waiting.set(key, [item]);
      if (!this.#active.has(key)) this.#ready.push(key);
    }
    this.#size++;
    this.#pump();
  }

  /** Removes and returns every item not yet started, oldest first per key. */
  takeWaiting(): T[] {
    const items: T[] = [];
    for (const queue of this.#waiting.values()) items.push(...queue);
    this.#waiting.clear();
    this.#ready.length = 0;
    this.#size = 0;
    return items;
  }

  /** Resolves when nothing is running. */
  whenIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    while (this.#active.size < this.#concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift() as string;
      const queue = this.#waiting.get(key);
      const item = queue?.shift();
      if (!queue || item === undefined) continue;
      if (queue.length === 0) this.#waiting.delete(key);
      this.#size--;
      this.#active.add(key);
      // Start on a later microtask so a publish never runs a handler inside its own call.
      Promise.resolve()
        .then(() => this.#run(item))
        .catch(() => {
          // run reports its own failures; a rejection here must not stop the queue.
        })
        .finally(() => {
          this.#active.delete(key);
          if (this.#waiting.has(key)) this.#ready.push(key);
          this.#pump();
          if (this.#active.size === 0) {
            const waiters = this.#idleWaiters;
            this.#idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }
}
