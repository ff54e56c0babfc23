import type { Command, CommandStatus, EpochMs, OperatingState, ProgramEvent, Reading } from '@gridseam/model';

/** A device came online, went offline, or changed operating state. */
export interface DeviceStateMessage {
  deviceId: string;
  at: EpochMs;
  online: boolean;
  state?: OperatingState;
  detail?: string;
}

/** What an adapter reports about a command it was given. */
export interface CommandResultMessage {
  commandId: string;
  deviceId: string;
  status: CommandStatus;
  at: EpochMs;
  readBack?: { value: number; matched: boolean };
  error?: { code: string; message: string };
}

/** The typed topics of the bus and the payload each carries. */
export interface TopicMap {
  telemetry: { readings: Reading[] };
  'device.state': DeviceStateMessage;
  command: Command;
  'command.result': CommandResultMessage;
  'program.event': ProgramEvent;
}
export type Topic = keyof TopicMap;
export const TOPICS: readonly Topic[] = ['telemetry', 'device.state', 'command', 'command.result', 'program.event'];

export interface BusMessage<T> {
  /** Unique per logical message; a re-publish with the same id is delivered once. */
  id: string;
  topic: Topic;
  /** Partition / routing key (usually a device id); subscribers may filter on it. */
  key: string;
  payload: T;
  publishedAt: EpochMs;
  /** How many times this message has been handed to this subscription (1 on first delivery). */
  deliveryCount: number;
}

export interface PublishOptions {
  /** Routing key; defaults to '_' (a message about no single device). Must match ^[A-Za-z0-9._:-]+$ minus '.'. */
  key?: string;
  /** Message id for de-duplication; defaults to a random UUID. */
  id?: string;
}

export interface SubscribeOptions {
  /**
   * A durable consumer group: subscriptions with the same group share the messages (each message
   * to one of them) and resume where the group left off after a restart. Without a group the
   * subscription is ephemeral and sees only messages published after it started.
   */
  group?: string;
  /** Only messages with this key. */
  key?: string;
  /** Deliveries before a message that keeps failing is dropped and logged (default 5). */
  maxDeliver?: number;
  /** Handlers of this subscription running at once, each on a different key (default 16). */
  concurrency?: number;
}

export type Handler<T> = (message: BusMessage<T>) => Promise<void> | void;

export interface Subscription {
  /** Stops delivery; a durable group keeps its position. */
  close(): Promise<void>;
}

/**
 * The bus contract: at-least-once delivery (a handler that throws gets the message again, up to
 * maxDeliver), idempotent consumers (one message id is handed to a group once after it was
 * handled successfully), and per-key ordering for one subscriber. Implementations: in-process
 * (default) and NATS JetStream; one contract suite (test/bus/contract.ts) runs against both.
 */
export interface Bus {
  readonly kind: 'memory' | 'nats';
  /** Resolves once the message is accepted (for JetStream: persisted by the stream). */
  publish<K extends Topic>(topic: K, payload: TopicMap[K], options?: PublishOptions): Promise<void>;
  subscribe<K extends Topic>(
    topic: K,
    handler: Handler<TopicMap[K]>,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  /** Counters since the bus was opened (for metrics and tests). */
  stats(): BusStats;
  close(): Promise<void>;
}

/** Monotonic counters of one bus instance. */
export interface BusStats {
  /** Messages accepted by publish (duplicates not counted). */
  published: number;
  /** Publishes or deliveries dropped because their id was already seen. */
  duplicates: number;
  /** Handler calls that succeeded. */
  handled: number;
  /** Handler calls that threw or rejected (each attempt counts). */
  failed: number;
  /** Messages given up on after maxDeliver failed deliveries. */
  deadLettered: number;
  /** Messages on the bus that could not be decoded (NATS: not JSON or not an envelope); dropped. */
  malformed: number;
  /** Messages dropped because a bounded queue was full (memory bus only). */
  overflowed: number;
}

export interface MemoryBusConfig {
  kind: 'memory';
  /** First retry delay after a handler failure; doubles per attempt, capped at 30 s (default 250 ms). */
  retryBackoffMs?: number;
  /** Messages kept per durable group while it has no live subscriber (default 10,000; oldest dropped). */
  maxBacklog?: number;
}

export interface NatsBusConfig {
  kind: 'nats';
  servers: string | string[];
  /** Stream and subject prefix; default 'gridseam' (stream 'GRIDSEAM', subjects 'gridseam.>'). */
  prefix?: string;
  /** First retry delay after a handler failure; doubles per attempt, capped at 30 s (default 250 ms). */
  retryBackoffMs?: number;
  /** How long the server waits for an ack before redelivering (default 30 s). */
  ackWaitMs?: number;
  /** Stream retention: messages older than this are removed (default 7 days). */
  maxAgeMs?: number;
  /** JetStream de-duplication window for Nats-Msg-Id (default 2 minutes). */
  duplicateWindowMs?: number;
  /** Stream size limit in bytes, oldest removed first (default unlimited: max age bounds it). */
  maxBytes?: number;
  /** Unacknowledged messages one consumer may have out at once; bounds client memory (default 1,000). */
  maxAckPending?: number;
  /** How long publish waits for the stream's acknowledgement (default 5 s). */
  publishTimeoutMs?: number;
  /** Delay between reconnect attempts (default 1 s; the client retries forever). */
  reconnectWaitMs?: number;
}

export type BusConfig = MemoryBusConfig | NatsBusConfig;
