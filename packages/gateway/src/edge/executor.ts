/**
 * CommandExecutor: delivers the commands on the bus topic 'command' to the devices this gateway
 * drives, through the protocol-free DeviceAdapter contract, and keeps the stored Command in step:
 *
 *   pending -> sent (attempt 1) -> confirmed (read-back) | failed (error code and message)
 *   pending -> expired (the setpoint ran out before it could be written)
 *
 * A write the device refuses or ignores (read-back differs) is a FAILED command with the adapter's
 * error, never just a log line. A retryable failure (unreachable, protocol) is tried again up to
 * maxAttempts while the setpoint has not expired (sent -> sent, counted in `attempts`). Every
 * transition is committed with its audit row (actor 'edge'); every terminal status is published
 * on 'command.result', after its commit. Commands for devices this gateway does not drive are
 * left alone.
 *
 * Transitions are coalesced: those asked for within one event-loop turn (and those asked for
 * while the previous batch commits) go to the store as one `transitionMany`, one transaction with
 * their audit rows. Each is still checked on its own, and each caller goes on only after the
 * commit, so a fleet-wide fan-out costs one transaction per batch instead of one per move. Moves
 * that start a device write go to the store before reads and settlements (StoreBatcher).
 */
import {
  type Command,
  type CommandStatus,
  type DeviceAdapter,
  GridseamError,
  TERMINAL_COMMAND_STATUSES,
} from '@gridseam/model';
import type { Logger } from 'pino';
import type { Bus, BusMessage, CommandResultMessage, Subscription } from '../bus/types.ts';
import type { AuditDraft, CommandTransition, CommandTransitionResult, Store } from '../store/types.ts';

/** The durable bus group of the executors: each command goes to one gateway instance. */
export const EDGE_COMMAND_GROUP = 'edge-commands';
/** Who the audit log names for the edge's transitions. */
export const EDGE_ACTOR = 'edge';

/** Which devices the executor drives, and their adapters. */
export interface AdapterDirectory {
  /** Whether this gateway drives the device (its commands are ours to settle). */
  owns(deviceId: string): boolean;
  /** The adapter, or undefined while the device cannot be reached (its commands then fail). */
  get(deviceId: string): DeviceAdapter | undefined;
}

/** A directory over a map: the devices in it are owned and always available. */
export function directoryOf(adapters: ReadonlyMap<string, DeviceAdapter>): AdapterDirectory {
  return { owns: (id) => adapters.has(id), get: (id) => adapters.get(id) };
}

export interface CommandExecutorOptions {
  bus: Pick<Bus, 'publish' | 'subscribe'>;
  store: Pick<Store, 'commands'>;
  adapters: AdapterDirectory;
  now?: () => number;
  logger?: Logger;
  /** Bus consumer group (default 'edge-commands'). */
  group?: string;
  /** Commands handled at once, each for a different device (default 16). */
  concurrency?: number;
  /** Attempts for retryable failures, the first included (default 3). */
  maxAttempts?: number;
  /** Delay before retry n (1-based): retryDelayMs x 2^(n-1) (default 500 ms). */
  retryDelayMs?: number;
  /**
   * Most reads, and most transitions, in one store batch (default 32). Smaller than a full wave of
   * `concurrency` completions, so the store work of one part of a wave overlaps the device writes
   * of the part before it; smaller still costs more CPU per command than it saves in waiting.
   */
  maxBatch?: number;
}

/** What one delivery came to: a command status, or 'ignored' (not ours, unknown, already settled). */
export type ExecutionOutcome = CommandStatus | 'ignored';

export interface CommandExecutorStats {
  confirmed: number;
  failed: number;
  expired: number;
  ignored: number;
}

function errorOf(error: unknown): { code: string; message: string } {
  if (GridseamError.is(error)) return { code: error.code, message: error.message.slice(0, 1024) };
  return { code: 'GW_ERR_INTERNAL', message: (error instanceof Error ? error.message : String(error)).slice(0, 1024) };
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

interface QueuedMove extends Waiter<CommandTransitionResult> {
  move: CommandTransition;
}

interface QueuedRead extends Waiter<Command | undefined> {
  id: string;
}

/**
 * Gathers the executor's store work and does it in batches: reads through `getMany`, command
 * transitions through `transitionMany` (one transaction with their audit rows). Requests wait
 * for the end of the current event-loop turn (setImmediate), so the requests of that turn share
 * a statement; one batch is in the store at a time, and the batcher yields to the event loop
 * after each, so the callers it answered queue their next requests (and device answers that
 * arrived meanwhile queue theirs) before the next batch is chosen. A transition's promise settles
 * after its batch's commit, with its own result; every request of a batch the store could not
 * serve rejects with the store's error.
 *
 * Order: moves to 'sent' first (each starts a device write), then reads (each starts a command),
 * then the other moves (settlements). With one fixed device latency the `concurrency` slots
 * would otherwise run in lock-step waves, every slot's next write waiting for the whole wave's
 * store work; served in this order, the first slots of a wave are writing again while the rest
 * are settled, the waves spread out, and the store work overlaps the device writes.
 */
class StoreBatcher {
  readonly #reads: QueuedRead[] = [];
  readonly #starts: QueuedMove[] = [];
  readonly #settlements: QueuedMove[] = [];
  #scheduled = false;
  #flushing = false;

  constructor(
    private readonly store: Pick<Store, 'commands'>,
    private readonly maxBatch: number,
  ) {}

  get(id: string): Promise<Command | undefined> {
    return new Promise((resolve, reject) => {
      this.#reads.push({ id, resolve, reject });
      this.#schedule();
    });
  }

  transition(move: CommandTransition): Promise<CommandTransitionResult> {
    return new Promise((resolve, reject) => {
      (move.status === 'sent' ? this.#starts : this.#settlements).push({ move, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      for (;;) {
        if (this.#starts.length > 0) await this.#move(this.#starts.splice(0, this.maxBatch));
        else if (this.#reads.length > 0) await this.#read(this.#reads.splice(0, this.maxBatch));
        else if (this.#settlements.length > 0) await this.#move(this.#settlements.splice(0, this.maxBatch));
        else return;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#flushing = false;
    }
  }

  #read(reads: readonly QueuedRead[]): Promise<void> {
    return settleAll(reads, async () => {
      const found = new Map((await this.store.commands.getMany(reads.map((r) => r.id))).map((c) => [c.id, c]));
      return reads.map((read) => found.get(read.id));
    });
  }

  #move(moves: readonly QueuedMove[]): Promise<void> {
    return settleAll(moves, () => this.store.commands.transitionMany(moves.map((m) => m.move)));
  }
}

/** Runs one batch operation and hands each waiter its own result, or everyone the error. */
async function settleAll<T>(waiters: readonly Waiter<T>[], operation: () => Promise<readonly T[]>): Promise<void> {
  let results: readonly T[];
  try {
    results = await operation();
  } catch (error) {
    for (const waiter of waiters) waiter.reject(error);
    return;
  }
  waiters.forEach((waiter, i) => {
    if (i < results.length) waiter.resolve(results[i] as T);
    else waiter.reject(new GridseamError('GW_ERR_INTERNAL', 'the store answered a batch with too few results'));
  });
}

export class CommandExecutor {
  private readonly bus: Pick<Bus, 'publish' | 'subscribe'>;
  private readonly store: Pick<Store, 'commands'>;
  private readonly adapters: AdapterDirectory;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly group: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly abort = new AbortController();
  private readonly batcher: StoreBatcher;
  private subscription: Subscription | undefined;
  private readonly counters: CommandExecutorStats = { confirmed: 0, failed: 0, expired: 0, ignored: 0 };

  constructor(options: CommandExecutorOptions) {
    this.bus = options.bus;
    this.store = options.store;
    this.adapters = options.adapters;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.group = options.group ?? EDGE_COMMAND_GROUP;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.retryDelayMs = Math.max(0, options.retryDelayMs ?? 500);
    this.batcher = new StoreBatcher(this.store, Math.max(1, options.maxBatch ?? 32));
  }

  stats(): CommandExecutorStats {
    return { ...this.counters };
  }

  /** Subscribes to 'command' in the durable group. */
  async start(): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.bus.subscribe('command', (message: BusMessage<Command>) => this.handle(message), {
      group: this.group,
      concurrency: this.concurrency,
    });
  }

  /** Stops taking commands; a delivery in its retry wait gives up (the bus redelivers it later). */
  async close(): Promise<void> {
    this.abort.abort();
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
  }

  private async handle(message: BusMessage<Command>): Promise<void> {
    await this.execute(message.payload);
  }

  /**
   * Settles one command: the stored copy decides (a re-delivered command that is already settled
   * is left alone; one left 'sent' by a stopped gateway is tried again). Throws only when the
   * store cannot be written, so the bus delivers the command again.
   */
  async execute(command: Pick<Command, 'id' | 'deviceId'>): Promise<ExecutionOutcome> {
    if (!this.adapters.owns(command.deviceId)) return this.ignored(command, 'device not driven by this gateway');
    const stored = await this.batcher.get(command.id);
    if (!stored) return this.ignored(command, 'no such command in the store');
    if (TERMINAL_COMMAND_STATUSES.has(stored.status)) return this.ignored(command, `already ${stored.status}`);

    let current = stored;
    if (this.now() >= current.setpoint.expiry)
      return this.settle(current, 'expired', 'setpoint expired before delivery');

    for (;;) {
      const attempt = current.attempts + 1;
      const sent = await this.transition(current, 'sent', `attempt ${attempt}`, { attempts: attempt });
      if (!sent) return 'ignored';
      current = sent;

      const adapter = this.adapters.get(current.deviceId);
      let failure: unknown;
      try {
        if (!adapter)
          throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `device ${current.deviceId} is not connected`);
        const outcome = await adapter.apply(current.setpoint);
        const readBack = { at: outcome.readBack.at, value: outcome.readBack.value, matched: true };
        return await this.settle(current, 'confirmed', outcome.detail ?? 'read-back confirmed', { readBack });
      } catch (error) {
        failure = error;
      }
      const error = errorOf(failure);
      const retryable = GridseamError.is(failure) && failure.retryable;
      if (retryable && attempt < this.maxAttempts && this.now() < current.setpoint.expiry) {
        this.logger?.info({ commandId: current.id, deviceId: current.deviceId, error, attempt }, 'command retried');
        await this.sleep(this.retryDelayMs * 2 ** (attempt - 1));
        if (this.now() >= current.setpoint.expiry)
          return this.settle(current, 'expired', `setpoint expired while retrying after ${error.code}`, { error });
        continue;
      }
      this.logger?.warn({ commandId: current.id, deviceId: current.deviceId, error, attempt }, 'command failed');
      return this.settle(current, 'failed', `${error.code}: ${error.message}`, { error });
    }
  }

  private ignored(command: Pick<Command, 'id' | 'deviceId'>, reason: string): ExecutionOutcome {
    this.counters.ignored++;
    this.logger?.debug({ commandId: command.id, deviceId: command.deviceId, reason }, 'command ignored');
    return 'ignored';
  }

  /** Moves to a terminal status and publishes the result. */
  private async settle(
    command: Command,
    status: 'confirmed' | 'failed' | 'expired',
    detail: string,
    patch: Partial<Pick<Command, 'readBack' | 'error'>> = {},
  ): Promise<ExecutionOutcome> {
    const settled = await this.transition(command, status, detail, patch);
    if (!settled) return 'ignored';
    this.counters[status]++;
    const result: CommandResultMessage = {
      commandId: settled.id,
      deviceId: settled.deviceId,
      status,
      at: this.now(),
      ...(settled.readBack ? { readBack: { value: settled.readBack.value, matched: settled.readBack.matched } } : {}),
      ...(settled.error ? { error: settled.error } : {}),
    };
    try {
      await this.bus.publish('command.result', result, { key: settled.deviceId, id: `${settled.id}:${status}` });
    } catch (error) {
      // The stored command is the record; the result message is a notification.
      this.logger?.warn({ err: error, commandId: settled.id }, 'command result could not be published');
    }
    return status;
  }

  /**
   * Transitions with an audit row. A transition the stored command no longer allows (another
   * actor superseded or settled it meanwhile) resolves undefined: there is nothing left to do.
   */
  private async transition(
    command: Command,
    status: CommandStatus,
    detail: string,
    patch: Partial<Pick<Command, 'readBack' | 'error' | 'attempts'>> = {},
  ): Promise<Command | undefined> {
    const at = this.now();
    const audit: AuditDraft = {
      at,
      actor: EDGE_ACTOR,
      action: 'command.transition',
      targetType: 'command',
      targetId: command.id,
      detail: {
        deviceId: command.deviceId,
        from: command.status,
        to: status,
        ...(patch.error ? { error: patch.error } : {}),
      },
    };
    const result = await this.batcher.transition({
      id: command.id,
      status,
      at,
      detail: detail.slice(0, 1024),
      patch,
      audit,
    });
    if (result.ok) return result.command;
    if (result.error.code === 'GW_ERR_INVALID_TRANSITION') {
      this.logger?.info({ commandId: command.id, status, reason: result.error.message }, 'command changed meanwhile');
      this.counters.ignored++;
      return undefined;
    }
    throw result.error;
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    if (signal.aborted)
      return Promise.reject(new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'the command executor is closed'));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'the command executor is closed'));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
