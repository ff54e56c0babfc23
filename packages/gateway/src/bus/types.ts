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
  close(): Promise<void>;
}

export type BusConfig =
  | { kind: 'memory' }
  | { kind: 'nats'; servers: string | string[] /** Stream and subject prefix; default 'gridseam'. */; prefix?: string };
