import { createHash } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  DiscardPolicy,
  Events,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from 'nats';
import type { Logger } from 'pino';
import {
  BoundedSet,
  callHandler,
  DEFAULT_RETRY_BACKOFF_MS,
  emptyStats,
  errorInfo,
  KeyedQueue,
  keyFromToken,
  keyToken,
  type ResolvedSubscribe,
  resolvePublish,
  resolveSubscribe,
  retryDelayMs,
  TOPIC_TOKENS,
  topicFromToken,
} from './common.ts';
import type {
  Bus,
  BusMessage,
  BusStats,
  Handler,
  NatsBusConfig,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  Topic,
  TopicMap,
} from './types.ts';

export const DEFAULT_NATS_PREFIX = 'gridseam';
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Ids remembered per subscription as handled, for duplicates that got past the server's window. */
const HANDLED_IDS = 10_000;
/** How long the server keeps an ephemeral consumer after its subscriber stopped pulling. */
const EPHEMERAL_INACTIVE_MS = 60_000;
/** Longest close() waits for the connection to drain before closing it outright. */
const CLOSE_DRAIN_TIMEOUT_MS = 5_000;
/** JetStream API error codes (nats-server errors.json). */
const JS_ERR_CONSUMER_NOT_FOUND = 10014;
const JS_ERR_STREAM_NOT_FOUND = 10059;
const JS_ERR_STREAM_NAME_IN_USE = 10058;

/** The stream that holds every topic of one prefix: 'gridseam' -> 'GRIDSEAM'. */
export function streamNameFor(prefix: string): string {
  return prefix.toUpperCase();
}

/** Subject of one message: `<prefix>.<topic token>.<key>`. */
export function subjectFor(prefix: string, topic: Topic, key: string): string {
  return `${prefix}.${TOPIC_TOKENS[topic]}.${keyToken(key)}`;
}

/**
 * Durable consumer of a group: one per (group, topic, key filter), so the same group name on two
 * topics gives two independent positions. A hash keeps names unique after sanitising.
 */
export function consumerNameFor(group: string, topic: Topic, key: string | undefined): string {
  const readable = group.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  const hash = createHash('sha256')
    .update(`${group}\u0000${topic}\u0000${key ?? ''}`)
    .digest('hex')
    .slice(0, 12);
  return `${readable}-${TOPIC_TOKENS[topic]}-${hash}`;
}

function apiErrorCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const apiError = (err as { api_error?: unknown }).api_error;
  if (typeof apiError !== 'object' || apiError === null) return undefined;
  const code = (apiError as { err_code?: unknown }).err_code;
  return typeof code === 'number' ? code : undefined;
}

function unavailable(message: string, cause: unknown): GridseamError {
  return new GridseamError('GW_ERR_BUS_UNAVAILABLE', `${message}: ${errorInfo(cause).message}`, { cause });
}

interface WireEnvelope {
  id: string;
  topic: Topic;
  key: string;
  publishedAt: number;
  payload: unknown;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Decodes a stream message; a string says why it is malformed. */
export function decodeMessage(prefix: string, subject: string, data: Uint8Array): WireEnvelope | string {
  const tokens = subject.split('.');
  const topic = tokens.length === 3 && tokens[0] === prefix ? topicFromToken(tokens[1] ?? '') : undefined;
  const key = tokens[2] === undefined ? undefined : keyFromToken(tokens[2]);
  if (!topic || key === undefined) return `unexpected subject ${subject}`;
  let body: unknown;
  try {
    body = JSON.parse(textDecoder.decode(data));
  } catch {
    return 'payload is not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'payload is not an envelope object';
  const fields = body as Record<string, unknown>;
  if (typeof fields.id !== 'string' || fields.id.length === 0) return 'envelope has no id';
  if (typeof fields.publishedAt !== 'number' || !Number.isFinite(fields.publishedAt)) {
    return 'envelope has no publishedAt';
  }
  if (!('payload' in fields)) return 'envelope has no payload';
  if (fields.topic !== undefined && fields.topic !== topic) return 'envelope topic differs from its subject';
  if (fields.key !== undefined && fields.key !== key) return 'envelope key differs from its subject';
  return { id: fields.id, topic, key, publishedAt: fields.publishedAt, payload: fields.payload };
}

interface Incoming {
  msg: JsMsg;
  envelope: WireEnvelope;
}

class NatsSubscription implements Subscription {
  readonly #handled = new BoundedSet(HANDLED_IDS);
  readonly #queue: KeyedQueue<Incoming>;
  #messages: ConsumerMessages | undefined;
  #reading: Promise<void> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    readonly bus: NatsBus,
    readonly topic: Topic,
    readonly handler: Handler<unknown>,
    readonly options: ResolvedSubscribe,
    readonly consumerName: string,
    readonly ephemeral: boolean,
  ) {
    this.#queue = new KeyedQueue(options.concurrency, (incoming) => this.#process(incoming));
  }

  start(messages: ConsumerMessages): void {
    this.#messages = messages;
    this.#reading = this.#read(messages);
  }

  async #read(messages: ConsumerMessages): Promise<void> {
    try {
      // The iterator keeps yielding what it had buffered after close(); those are handed back.
      for await (const msg of messages) {
        if (this.#closed) {
          msg.nak();
          continue;
        }
        this.#accept(msg);
      }
    } catch (err) {
      if (!this.#closed) {
        this.bus.logger.error({ consumer: this.consumerName, err }, 'bus consumer stopped');
      }
    }
  }

  #accept(msg: JsMsg): void {
    const decoded = decodeMessage(this.bus.prefix, msg.subject, msg.data);
    if (typeof decoded === 'string') {
      this.bus.counters.malformed++;
      this.bus.logger.warn(
        { subject: msg.subject, seq: msg.seq, consumer: this.consumerName, reason: decoded },
        'bus message malformed; terminated',
      );
      // term: the server will not deliver it again to this consumer.
      msg.term();
      return;
    }
    this.#queue.push(decoded.key, { msg, envelope: decoded });
  }

  async #process({ msg, envelope }: Incoming): Promise<void> {
    if (this.#closed) {
      msg.nak();
      return;
    }
    if (this.#handled.has(envelope.id)) {
      this.bus.counters.duplicates++;
      msg.ack();
      return;
    }
    const deliveryCount = msg.info.deliveryCount;
    const message: BusMessage<unknown> = { ...envelope, deliveryCount };
    // A slow handler tells the server it is still working, so ack_wait does not cause a redelivery.
    const keepAlive = setInterval(() => msg.working(), Math.max(500, this.bus.ackWaitMs / 2));
    try {
      await callHandler(this.handler, message);
      this.#handled.add(envelope.id);
      msg.ack();
      this.bus.counters.handled++;
    } catch (err) {
      this.bus.counters.failed++;
      const context = { topic: envelope.topic, id: envelope.id, key: envelope.key, consumer: this.consumerName };
      if (deliveryCount >= this.options.maxDeliver) {
        this.bus.counters.deadLettered++;
        this.bus.logger.warn(
          { ...context, deliveryCount, err },
          'bus message dead-lettered after maxDeliver failed deliveries',
        );
        msg.term();
      } else {
        this.bus.logger.debug({ ...context, deliveryCount, err }, 'bus retry');
        msg.nak(retryDelayMs(this.bus.retryBackoffMs, deliveryCount));
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#messages?.close();
    } catch {
      // already stopped
    }
    await this.#reading;
    // Not started yet: nak so the server hands them to another member now rather than after ack_wait.
    for (const { msg } of this.#queue.takeWaiting()) msg.nak();
    await this.#queue.whenIdle();
    if (this.ephemeral) await this.bus.deleteConsumer(this.consumerName);
    this.bus.detach(this);
  }
}

/**
 * The bus over NATS JetStream: one stream per prefix, durable pull consumers for groups, ephemeral
 * pull consumers (deliver policy 'new') otherwise; explicit acks, nak with a delay on failure.
 */
export class NatsBus implements Bus {
  readonly kind = 'nats';
  readonly counters: BusStats = emptyStats();
  readonly prefix: string;
  readonly stream: string;
  readonly retryBackoffMs: number;
  readonly ackWaitMs: number;
  readonly #maxAckPending: number;
  readonly #subscriptions = new Set<NatsSubscription>();
  #connected = true;
  #closed = false;
  #closing: Promise<void> | undefined;

  readonly logger: Logger;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;

  private constructor(
    logger: Logger,
    config: NatsBusConfig,
    prefix: string,
    nc: NatsConnection,
    jsm: JetStreamManager,
    js: JetStreamClient,
  ) {
    this.logger = logger;
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = js;
    this.prefix = prefix;
    this.stream = streamNameFor(prefix);
    this.retryBackoffMs = config.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS;
    this.ackWaitMs = config.ackWaitMs ?? 30_000;
    this.#maxAckPending = config.maxAckPending ?? 1000;
    void this.#watchStatus();
  }

  /** Connects, and creates or updates the stream (idempotent). */
  static async open(config: NatsBusConfig, logger: Logger): Promise<NatsBus> {
    const prefix = config.prefix ?? DEFAULT_NATS_PREFIX;
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new GridseamError('GW_ERR_VALIDATION', `prefix: must match ${PREFIX_PATTERN.source}`, {
        issues: [{ path: '/prefix', message: `must match ${PREFIX_PATTERN.source}` }],
      });
    }
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: config.servers,
        name: 'gridseam-gateway',
        maxReconnectAttempts: -1,
        reconnectTimeWait: config.reconnectWaitMs ?? 1000,
      });
    } catch (err) {
      throw unavailable(`cannot connect to NATS at ${String(config.servers)}`, err);
    }
    try {
      const jsm = await nc.jetstreamManager();
      await ensureStream(jsm, prefix, config);
      const js = nc.jetstream({ timeout: config.publishTimeoutMs ?? 5000 });
      logger.info({ servers: config.servers, stream: streamNameFor(prefix) }, 'bus connected to NATS JetStream');
      return new NatsBus(logger, config, prefix, nc, jsm, js);
    } catch (err) {
      await nc.close().catch(() => undefined);
      if (GridseamError.is(err)) throw err;
      throw unavailable('cannot set up the JetStream stream', err);
    }
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  async publish<K extends Topic>(topic: K, payload: TopicMap[K], options?: PublishOptions): Promise<void> {
    this.#assertOpen();
    const { id, key } = resolvePublish(topic, options);
    const envelope: WireEnvelope = { id, topic, key, publishedAt: Date.now(), payload };
    let data: Uint8Array;
    try {
      data = textEncoder.encode(JSON.stringify(envelope));
    } catch (err) {
      throw new GridseamError('GW_ERR_VALIDATION', 'payload cannot be encoded as JSON', {
        issues: [{ path: '/payload', message: 'must be JSON-encodable' }],
        cause: err,
      });
    }
    const maxPayload = this.#nc.info?.max_payload;
    if (maxPayload !== undefined && data.length > maxPayload) {
      throw new GridseamError('GW_ERR_VALIDATION', `message of ${data.length} bytes exceeds ${maxPayload}`, {
        issues: [{ path: '/payload', message: `encoded size must be at most ${maxPayload} bytes` }],
      });
    }
    if (!this.#connected) throw new GridseamError('GW_ERR_BUS_UNAVAILABLE', 'NATS connection lost; reconnecting');
    try {
      // Nats-Msg-Id: the stream drops a second publish of this id within its duplicate_window.
      const ack = await this.#js.publish(subjectFor(this.prefix, topic, key), data, {
        msgID: id,
        expect: { streamName: this.stream },
      });
      if (ack.duplicate) this.counters.duplicates++;
      else this.counters.published++;
    } catch (err) {
      throw unavailable(`publish to ${topic} failed`, err);
    }
  }

  async subscribe<K extends Topic>(
    topic: K,
    handler: Handler<TopicMap[K]>,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.#assertOpen();
    const resolved = resolveSubscribe(topic, handler, options);
    const filterSubject = `${this.prefix}.${TOPIC_TOKENS[topic]}.${resolved.key === undefined ? '*' : keyToken(resolved.key)}`;
    const config: Partial<ConsumerConfig> = {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: filterSubject,
      max_deliver: resolved.maxDeliver,
      ack_wait: nanos(this.ackWaitMs),
      max_ack_pending: this.#maxAckPending,
    };
    let consumerName: string;
    try {
      if (resolved.group !== undefined) {
        consumerName = consumerNameFor(resolved.group, topic, resolved.key);
        await this.#ensureDurable(consumerName, config);
      } else {
        const info = await this.#jsm.consumers.add(this.stream, {
          ...config,
          inactive_threshold: nanos(EPHEMERAL_INACTIVE_MS),
          mem_storage: true,
        });
        consumerName = info.name;
      }
    } catch (err) {
      throw unavailable(`cannot create the consumer for ${topic}`, err);
    }
    const subscription = new NatsSubscription(
      this,
      topic,
      handler as Handler<unknown>,
      resolved,
      consumerName,
      resolved.group === undefined,
    );
    try {
      const consumer = await this.#js.consumers.get(this.stream, consumerName);
      // Small pull batches spread a group's messages over its members; max_ack_pending bounds the rest.
      const messages = await consumer.consume({
        max_messages: Math.min(this.#maxAckPending, resolved.concurrency * 4),
      });
      subscription.start(messages);
    } catch (err) {
      if (resolved.group === undefined) await this.deleteConsumer(consumerName);
      throw unavailable(`cannot consume ${topic}`, err);
    }
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async #ensureDurable(name: string, config: Partial<ConsumerConfig>): Promise<void> {
    try {
      const info = await this.#jsm.consumers.info(this.stream, name);
      const current = info.config;
      if (
        current.max_deliver !== config.max_deliver ||
        current.ack_wait !== config.ack_wait ||
        current.max_ack_pending !== config.max_ack_pending
      ) {
        // The latest subscriber's settings win for the whole group.
        await this.#jsm.consumers.update(this.stream, name, {
          max_deliver: config.max_deliver,
          ack_wait: config.ack_wait,
          max_ack_pending: config.max_ack_pending,
        });
      }
    } catch (err) {
      if (apiErrorCode(err) !== JS_ERR_CONSUMER_NOT_FOUND) throw err;
      await this.#jsm.consumers.add(this.stream, { ...config, durable_name: name });
    }
  }

  /** Best effort: an ephemeral consumer also goes away by itself after it is inactive. */
  async deleteConsumer(name: string): Promise<void> {
    if (!this.#connected || this.#nc.isClosed()) return;
    try {
      await this.#jsm.consumers.delete(this.stream, name);
    } catch (err) {
      this.logger.debug({ consumer: name, err }, 'bus could not delete an ephemeral consumer');
    }
  }

  detach(subscription: NatsSubscription): void {
    this.#subscriptions.delete(subscription);
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const status of this.#nc.status()) {
        if (status.type === Events.Disconnect) {
          this.#connected = false;
          this.logger.warn({ server: status.data }, 'bus lost its NATS connection; reconnecting');
        } else if (status.type === Events.Reconnect) {
          this.#connected = true;
          this.logger.info({ server: status.data }, 'bus reconnected to NATS');
        } else if (status.type === Events.Error) {
          this.logger.warn({ err: status.data }, 'bus NATS async error');
        }
      }
    } catch {
      // the status iterator ends when the connection closes
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    if (this.#connected) {
      // drain flushes the acks the handlers just sent; bounded, as the server may vanish meanwhile.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_DRAIN_TIMEOUT_MS);
      });
      await Promise.race([this.#nc.drain().catch(() => undefined), timeout]);
      clearTimeout(timer);
    }
    // Unacked messages are redelivered by the server after ack_wait: at-least-once holds.
    if (!this.#nc.isClosed()) await this.#nc.close().catch(() => undefined);
  }

  #assertOpen(): void {
    if (this.#closed || this.#nc.isClosed()) throw new GridseamError('GW_ERR_BUS_UNAVAILABLE', 'the bus is closed');
  }
}

/** Creates the stream of a prefix, or brings an existing one to this configuration. */
async function ensureStream(jsm: JetStreamManager, prefix: string, config: NatsBusConfig): Promise<void> {
  const maxAgeMs = config.maxAgeMs ?? 7 * 24 * 3600_000;
  const duplicateWindowMs = Math.min(config.duplicateWindowMs ?? 120_000, maxAgeMs);
  const name = streamNameFor(prefix);
  const streamConfig: Partial<StreamConfig> = {
    name,
    description: 'Gridseam message bus',
    subjects: [`${prefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(duplicateWindowMs),
    max_bytes: config.maxBytes ?? -1,
    num_replicas: 1,
  };
  const { name: _name, storage: _storage, ...updatable } = streamConfig;
  try {
    await jsm.streams.info(name);
  } catch (err) {
    if (apiErrorCode(err) !== JS_ERR_STREAM_NOT_FOUND) throw err;
    try {
      await jsm.streams.add(streamConfig);
      return;
    } catch (addErr) {
      // Another gateway created it in between: fall through to the update.
      if (apiErrorCode(addErr) !== JS_ERR_STREAM_NAME_IN_USE) throw addErr;
    }
  }
  await jsm.streams.update(name, updatable);
}
