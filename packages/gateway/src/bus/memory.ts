import { GridseamError } from '@gridseam/model';
import type { Logger } from 'pino';
import {
  BoundedSet,
  callHandler,
  DEFAULT_RETRY_BACKOFF_MS,
  emptyStats,
  KeyedQueue,
  type ResolvedSubscribe,
  resolvePublish,
  resolveSubscribe,
  retryDelayMs,
} from './common.ts';
import type {
  Bus,
  BusMessage,
  BusStats,
  Handler,
  MemoryBusConfig,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  Topic,
  TopicMap,
} from './types.ts';

// Memory bounds (all per bus instance):
/** Ids remembered for publish de-duplication (the memory twin of JetStream's duplicate window). */
const PUBLISH_DEDUP_IDS = 10_000;
/** Ids remembered per durable group (or per ephemeral subscription) as handled. */
const HANDLED_IDS = 10_000;
/** Messages waiting per subscription; past this, a group sends to another member or its backlog, an ephemeral subscription drops. */
const MAX_QUEUED_PER_SUBSCRIPTION = 10_000;
/** Messages kept per durable group while it has no live subscriber with room (overridable). */
const DEFAULT_MAX_BACKLOG = 10_000;

/** Nesting past which plainCopy gives up (structuredClone then copies, cycles included). */
const PLAIN_COPY_DEPTH = 64;
const NOT_PLAIN: unique symbol = Symbol('not plain data');

/**
 * Copies plain data (primitives other than symbols, objects whose prototype is Object.prototype or
 * null, arrays without holes) several times faster than structuredClone does for the small
 * payloads of the bus; anything else (a Date, a Map, a class instance, a function, a cycle, deep
 * nesting) answers NOT_PLAIN and the payload goes to structuredClone as a whole. A sub-object
 * reached twice is copied twice, as a JSON transport (NATS) would deliver it.
 */
function plainCopy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'function' || typeof value === 'symbol' ? NOT_PLAIN : value;
  }
  if (depth >= PLAIN_COPY_DEPTH) return NOT_PLAIN;
  const prototype = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return NOT_PLAIN;
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return NOT_PLAIN;
      const item = plainCopy(value[i], depth + 1);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      out[i] = item;
    }
    return out;
  }
  if (prototype !== Object.prototype && prototype !== null) return NOT_PLAIN;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const item = plainCopy(source[key], depth + 1);
    if (item === NOT_PLAIN) return NOT_PLAIN;
    out[key] = item;
  }
  return out;
}

interface Envelope {
  id: string;
  topic: Topic;
  key: string;
  payload: unknown;
  publishedAt: number;
}

/** One message on its way to one subscription (or group); `deliveries` counts handler calls so far. */
interface Delivery {
  envelope: Envelope;
  deliveries: number;
}

/** A durable group: identified by topic, group name and key filter (like a JetStream durable consumer). */
class Group {
  readonly members: MemorySubscription[] = [];
  /** Messages published while no member could take them; bounded by maxBacklog, oldest dropped. */
  readonly backlog: Delivery[] = [];
  readonly handled = new BoundedSet(HANDLED_IDS);
  #next = 0;

  constructor(
    readonly name: string,
    readonly keyFilter: string | undefined,
    readonly bus: MemoryBus,
  ) {}

  /** Hands a delivery to the next member (round-robin) with room, else keeps it in the backlog. */
  dispatch(delivery: Delivery, front = false): void {
    const count = this.members.length;
    for (let i = 0; i < count; i++) {
      const member = this.members[(this.#next + i) % count];
      if (member?.offer(delivery)) {
        this.#next = (this.#next + i + 1) % count;
        return;
      }
    }
    if (front) this.backlog.unshift(delivery);
    else this.backlog.push(delivery);
    if (this.backlog.length > this.bus.maxBacklog) {
      const dropped = this.backlog.shift();
      this.bus.overflow(dropped, `group ${this.name} backlog full (${this.bus.maxBacklog})`);
    }
  }

  /** After a member joined: moves the backlog out, oldest first. */
  flushBacklog(): void {
    const waiting = this.backlog.splice(0);
    for (const delivery of waiting) this.dispatch(delivery);
  }
}

class MemorySubscription implements Subscription {
  readonly #queue: KeyedQueue<Delivery>;
  readonly #handled: BoundedSet;
  /** Timers of deliveries waiting to be retried, so close can cut the wait short. */
  readonly #sleeping = new Map<NodeJS.Timeout, (retry: boolean) => void>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    readonly bus: MemoryBus,
    readonly topic: Topic,
    readonly handler: Handler<unknown>,
    readonly options: ResolvedSubscribe,
    readonly group: Group | undefined,
  ) {
    this.#handled = group?.handled ?? new BoundedSet(HANDLED_IDS);
    this.#queue = new KeyedQueue(options.concurrency, (delivery) => this.#process(delivery));
  }

  get closed(): boolean {
    return this.#closed;
  }

  matches(key: string): boolean {
    return this.options.key === undefined || this.options.key === key;
  }

  /** Queues a delivery; false when closed or full. */
  offer(delivery: Delivery): boolean {
    if (this.#closed || this.#queue.size >= MAX_QUEUED_PER_SUBSCRIPTION) return false;
    this.#queue.push(delivery.envelope.key, delivery);
    return true;
  }

  async #process(delivery: Delivery): Promise<void> {
    const { envelope } = delivery;
    for (;;) {
      if (this.#closed) return this.#giveBack(delivery);
      if (this.#handled.has(envelope.id)) {
        this.bus.counters.duplicates++;
        return;
      }
      delivery.deliveries++;
      const message: BusMessage<unknown> = { ...envelope, deliveryCount: delivery.deliveries };
      try {
        await callHandler(this.handler, message);
        this.#handled.add(envelope.id);
        this.bus.counters.handled++;
        return;
      } catch (err) {
        this.bus.counters.failed++;
        const context = { topic: envelope.topic, id: envelope.id, key: envelope.key, group: this.group?.name };
        if (delivery.deliveries >= this.options.maxDeliver) {
          this.bus.counters.deadLettered++;
          this.bus.logger.warn(
            { ...context, deliveryCount: delivery.deliveries, err },
            'bus message dead-lettered after maxDeliver failed deliveries',
          );
          return;
        }
        this.bus.logger.debug({ ...context, deliveryCount: delivery.deliveries, err }, 'bus retry');
        // The key stays busy while we wait, so later messages for it do not overtake this one.
        const retry = await this.#sleep(retryDelayMs(this.bus.retryBackoffMs, delivery.deliveries));
        if (!retry) return this.#giveBack(delivery);
      }
    }
  }

  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeping.delete(timer);
        resolve(true);
      }, ms);
      this.#sleeping.set(timer, resolve);
    });
  }

  /** A delivery this subscription will not finish: a group keeps it for another member. */
  #giveBack(delivery: Delivery): void {
    if (this.group && !this.bus.closed) this.group.dispatch(delivery, true);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.bus.detach(this);
    for (const delivery of this.#queue.takeWaiting()) this.#giveBack(delivery);
    for (const [timer, wake] of this.#sleeping) {
      clearTimeout(timer);
      wake(false);
    }
    this.#sleeping.clear();
    await this.#queue.whenIdle();
  }
}

/**
 * The in-process bus (the default). At-least-once within the process: a failing handler gets the
 * message again after a backoff, up to maxDeliver; durable groups keep messages while no member is
 * live (until the process exits); one subscriber sees a key's messages one at a time, in order.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory';
  readonly counters: BusStats = emptyStats();
  readonly logger: Logger;
  readonly retryBackoffMs: number;
  readonly maxBacklog: number;
  readonly #ephemeral = new Map<Topic, Set<MemorySubscription>>();
  /** Durable groups by topic; bounded by the number of (group, key filter) pairs the program uses. */
  readonly #groups = new Map<Topic, Map<string, Group>>();
  readonly #subscriptions = new Set<MemorySubscription>();
  readonly #publishedIds = new BoundedSet(PUBLISH_DEDUP_IDS);
  #closed = false;
  #closing: Promise<void> | undefined;
  #overflowLogged = 0;

  constructor(config: MemoryBusConfig, logger: Logger) {
    this.logger = logger;
    this.retryBackoffMs = config.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS;
    this.maxBacklog = config.maxBacklog ?? DEFAULT_MAX_BACKLOG;
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  async publish<K extends Topic>(topic: K, payload: TopicMap[K], options?: PublishOptions): Promise<void> {
    this.#assertOpen();
    const { id, key } = resolvePublish(topic, options);
    if (this.#publishedIds.has(id)) {
      this.counters.duplicates++;
      return;
    }
    // A copy, so a publisher changing its object later does not change what subscribers see.
    let copy = plainCopy(payload, 0);
    if (copy === NOT_PLAIN) {
      try {
        copy = structuredClone(payload);
      } catch (err) {
        throw new GridseamError('GW_ERR_VALIDATION', 'payload cannot be copied (functions or other host objects)', {
          issues: [{ path: '/payload', message: 'must be plain data' }],
          cause: err,
        });
      }
    }
    this.#publishedIds.add(id);
    this.counters.published++;
    const envelope: Envelope = { id, topic, key, payload: copy, publishedAt: Date.now() };
    for (const subscription of this.#ephemeral.get(topic) ?? []) {
      if (!subscription.matches(key)) continue;
      if (!subscription.offer({ envelope, deliveries: 0 })) this.overflow(undefined, 'subscription queue full');
    }
    for (const group of this.#groups.get(topic)?.values() ?? []) {
      if (group.keyFilter === undefined || group.keyFilter === key) group.dispatch({ envelope, deliveries: 0 });
    }
  }

  async subscribe<K extends Topic>(
    topic: K,
    handler: Handler<TopicMap[K]>,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.#assertOpen();
    const resolved = resolveSubscribe(topic, handler, options);
    let group: Group | undefined;
    if (resolved.group !== undefined) {
      let groups = this.#groups.get(topic);
      if (!groups) {
        groups = new Map();
        this.#groups.set(topic, groups);
      }
      const groupId = `${resolved.group}\u0000${resolved.key ?? ''}`;
      group = groups.get(groupId);
      if (!group) {
        group = new Group(resolved.group, resolved.key, this);
        groups.set(groupId, group);
      }
    }
    const subscription = new MemorySubscription(this, topic, handler as Handler<unknown>, resolved, group);
    this.#subscriptions.add(subscription);
    if (group) {
      group.members.push(subscription);
      group.flushBacklog();
    } else {
      let set = this.#ephemeral.get(topic);
      if (!set) {
        set = new Set();
        this.#ephemeral.set(topic, set);
      }
      set.add(subscription);
    }
    return subscription;
  }

  /** Called by a closing subscription: no new deliveries reach it. */
  detach(subscription: MemorySubscription): void {
    this.#subscriptions.delete(subscription);
    this.#ephemeral.get(subscription.topic)?.delete(subscription);
    const members = subscription.group?.members;
    const index = members?.indexOf(subscription) ?? -1;
    if (members && index >= 0) members.splice(index, 1);
  }

  /** Counts (and now and then logs) a message dropped by a full bound. */
  overflow(delivery: Delivery | undefined, reason: string): void {
    this.counters.overflowed++;
    // Log the first drop and then every 1,000th, so a flood does not flood the log too.
    if (this.#overflowLogged++ % 1000 === 0) {
      this.logger.warn(
        { reason, id: delivery?.envelope.id, topic: delivery?.envelope.topic, overflowed: this.counters.overflowed },
        'bus message dropped: bounded queue full',
      );
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#groups.clear();
    this.#ephemeral.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new GridseamError('GW_ERR_BUS_UNAVAILABLE', 'the bus is closed');
  }
}
