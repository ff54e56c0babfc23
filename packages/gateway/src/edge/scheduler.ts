/**
 * PollScheduler: polls many devices, each at its own cadence, through the protocol-free
 * DeviceAdapter contract, and hands each poll's readings to a sink (by default the bus topic
 * 'telemetry', which the TelemetryWriter stores).
 *
 * - Cadence: each device has a nominal schedule (first poll spread uniformly over its first
 *   interval, then every pollIntervalMs after the previous nominal time, so the cadence does not
 *   drift by the poll's duration). A device that fell behind is polled once as soon as it can be,
 *   never several times to catch up: an overloaded fleet degrades to "as often as possible".
 * - Jitter: each poll starts up to `jitter` x interval after its nominal time, so devices that
 *   were added together (or recovered together) do not stay in lockstep.
 * - Concurrency: at most `concurrency` polls run at once over all devices; a device is never
 *   polled twice at the same time.
 * - Back-off: after n failures in a row a device is next polled interval x 2^(n-1) later, capped
 *   at maxBackoffMs. After `faultyAfter` failures in a row it is 'faulty' and a 'device.state'
 *   message (online: false) is published; the first successful poll makes it 'ok' again (online: true).
 */
import { GridseamError, type Reading } from '@gridseam/model';
import type { Logger } from 'pino';
import type { Bus, DeviceStateMessage } from '../bus/types.ts';
import { type EdgeClock, systemClock } from './clock.ts';

/** What the runtime needs of an adapter to poll it (a DeviceAdapter has it). */
export interface Pollable {
  readonly deviceId: string;
  poll(at: number): Promise<Reading[]>;
}

export type DeviceHealth = 'ok' | 'faulty';

/** Where poll results go. Its promises give back-pressure: a poll's slot is held until they settle. */
export interface PollSink {
  readings(deviceId: string, readings: Reading[]): Promise<void>;
  state(message: DeviceStateMessage): Promise<void>;
}

/** The default sink: 'telemetry' and 'device.state' on the bus, keyed by device id. */
export function busSink(bus: Pick<Bus, 'publish'>): PollSink {
  return {
    readings: (deviceId, readings) => bus.publish('telemetry', { readings }, { key: deviceId }),
    state: (message) => bus.publish('device.state', message, { key: message.deviceId }),
  };
}

export const DEFAULT_POLL_CONCURRENCY = 64;
export const DEFAULT_POLL_JITTER = 0.1;
export const DEFAULT_FAULTY_AFTER = 3;
export const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000;

export interface PollSchedulerOptions {
  sink: PollSink;
  /** Polls running at once, over all devices (default 64). */
  concurrency?: number;
  /** Largest random delay added to a poll, as a fraction of its interval (default 0.1). */
  jitter?: number;
  /** Failures in a row that make a device 'faulty' (default 3). */
  faultyAfter?: number;
  /** Longest back-off after repeated failures (default 5 minutes; never below the interval). */
  maxBackoffMs?: number;
  clock?: EdgeClock;
  /** Uniform [0, 1) source for the spread and the jitter (default Math.random). */
  random?: () => number;
  logger?: Logger;
}

export interface DevicePollStatus {
  deviceId: string;
  pollIntervalMs: number;
  health: DeviceHealth;
  consecutiveFailures: number;
  polls: number;
  failures: number;
  lastPollAt?: number;
  lastError?: { code: string; message: string };
  /** When the next poll is due (absent while one runs). */
  nextDueAt?: number;
}

export interface PollSchedulerStats {
  devices: number;
  /** Polls that succeeded (readings handed to the sink). */
  polls: number;
  /** Polls that failed (the device's fault). */
  failures: number;
  /** Readings handed to the sink. */
  readings: number;
  /** Sink calls that failed (the readings are lost; the device is not blamed). */
  sinkFailures: number;
  inFlight: number;
  /** The most polls ever running at once. */
  maxInFlight: number;
}

interface DeviceEntry {
  adapter: Pollable;
  intervalMs: number;
  /** Nominal time of the next poll (before jitter). */
  nominal: number;
  due: number;
  /** Bumped at every (re)schedule and on removal: heap entries of older generations are stale. */
  generation: number;
  running: Promise<void> | undefined;
  removed: boolean;
  health: DeviceHealth;
  consecutiveFailures: number;
  polls: number;
  failures: number;
  /** Set (never deleted) so every entry keeps one shape: `delete` would turn it into a slow dictionary object. */
  lastPollAt: number | undefined;
  lastError: { code: string; message: string } | undefined;
}

interface HeapItem {
  due: number;
  seq: number;
  generation: number;
  entry: DeviceEntry;
}

/** A binary min-heap on (due, seq): the next poll in O(log n) among thousands of devices. */
class DueHeap {
  private readonly items: HeapItem[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapItem | undefined {
    return this.items[0];
  }

  push(item: HeapItem): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent]!;
      if (!before(item, above)) break;
      items[i] = above;
      items[parent] = item;
      i = parent;
    }
  }

  pop(): HeapItem | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) break;
      // Plain swaps: a destructuring swap allocates an array each time.
      items[i] = items[smallest]!;
      items[smallest] = last;
      i = smallest;
    }
    return top;
  }
}

function before(a: HeapItem, b: HeapItem): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function errorSummary(error: unknown): { code: string; message: string } {
  if (GridseamError.is(error)) return { code: error.code, message: error.message.slice(0, 1024) };
  return { code: 'GW_ERR_INTERNAL', message: String(error).slice(0, 1024) };
}

export class PollScheduler {
  private readonly sink: PollSink;
  private readonly concurrency: number;
  private readonly jitter: number;
  private readonly faultyAfter: number;
  private readonly maxBackoffMs: number;
  private readonly clock: EdgeClock;
  private readonly random: () => number;
  private readonly logger: Logger | undefined;
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly heap = new DueHeap();
  private seq = 0;
  private running = false;
  private timer: unknown;
  private timerDue = Number.POSITIVE_INFINITY;
  private readonly counters = { polls: 0, failures: 0, readings: 0, sinkFailures: 0, inFlight: 0, maxInFlight: 0 };

  constructor(options: PollSchedulerOptions) {
    this.sink = options.sink;
    this.concurrency = Math.max(1, Math.trunc(options.concurrency ?? DEFAULT_POLL_CONCURRENCY));
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? DEFAULT_POLL_JITTER));
    this.faultyAfter = Math.max(1, Math.trunc(options.faultyAfter ?? DEFAULT_FAULTY_AFTER));
    this.maxBackoffMs = Math.max(0, options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger;
  }

  /** Adds a device; its first poll falls at a random point of its first interval. */
  add(adapter: Pollable, options: { pollIntervalMs: number }): void {
    const intervalMs = options.pollIntervalMs;
    if (!(Number.isFinite(intervalMs) && intervalMs > 0))
      throw new GridseamError('GW_ERR_VALIDATION', `pollIntervalMs must be > 0, got ${intervalMs}`);
    if (this.devices.has(adapter.deviceId))
      throw new GridseamError('GW_ERR_CONFLICT', `device ${adapter.deviceId} is already scheduled`);
    const nominal = this.clock.now() + Math.floor(this.random() * intervalMs);
    const entry: DeviceEntry = {
      adapter,
      intervalMs,
      nominal,
      due: nominal,
      generation: 0,
      running: undefined,
      removed: false,
      health: 'ok',
      consecutiveFailures: 0,
      polls: 0,
      failures: 0,
      lastPollAt: undefined,
      lastError: undefined,
    };
    this.devices.set(adapter.deviceId, entry);
    this.enqueue(entry, nominal);
    this.pump();
  }

  /** Stops polling a device; resolves once a poll of it that is running has ended. */
  async remove(deviceId: string): Promise<boolean> {
    const entry = this.devices.get(deviceId);
    if (!entry) return false;
    this.devices.delete(deviceId);
    entry.removed = true;
    entry.generation++;
    await entry.running;
    return true;
  }

  has(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  health(deviceId: string): DeviceHealth | undefined {
    return this.devices.get(deviceId)?.health;
  }

  status(deviceId: string): DevicePollStatus | undefined {
    const entry = this.devices.get(deviceId);
    if (!entry) return undefined;
    return {
      deviceId,
      pollIntervalMs: entry.intervalMs,
      health: entry.health,
      consecutiveFailures: entry.consecutiveFailures,
      polls: entry.polls,
      failures: entry.failures,
      ...(entry.lastPollAt !== undefined ? { lastPollAt: entry.lastPollAt } : {}),
      ...(entry.lastError ? { lastError: entry.lastError } : {}),
      ...(entry.running ? {} : { nextDueAt: entry.due }),
    };
  }

  stats(): PollSchedulerStats {
    return { devices: this.devices.size, ...this.counters };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.pump();
  }

  /** Stops starting polls and resolves once the running ones have ended. Devices stay registered. */
  async stop(): Promise<void> {
    this.running = false;
    this.disarm();
    await Promise.all([...this.devices.values()].map((entry) => entry.running));
  }

  private enqueue(entry: DeviceEntry, nominal: number): void {
    entry.nominal = nominal;
    entry.due = nominal + Math.floor(this.random() * this.jitter * entry.intervalMs);
    entry.generation++;
    this.heap.push({ due: entry.due, seq: this.seq++, generation: entry.generation, entry });
  }

  /** The next live heap item, dropping stale ones (removed devices, superseded schedules). */
  private peekLive(): HeapItem | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return undefined;
      if (!top.entry.removed && top.generation === top.entry.generation) return top;
      this.heap.pop();
    }
  }

  /** Starts every due poll the concurrency limit allows, then waits for the next due time. */
  private pump(): void {
    if (!this.running) return;
    const now = this.clock.now();
    while (this.counters.inFlight < this.concurrency) {
      const top = this.peekLive();
      if (!top || top.due > now) break;
      this.heap.pop();
      this.startPoll(top.entry);
    }
    this.arm();
  }

  private arm(): void {
    // A full house needs no timer: the next poll to end pumps again.
    const top = this.counters.inFlight < this.concurrency ? this.peekLive() : undefined;
    if (!top) {
      this.disarm();
      return;
    }
    if (this.timer !== undefined && this.timerDue <= top.due) return;
    this.disarm();
    this.timerDue = top.due;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerDue = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, top.due - this.clock.now()),
    );
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
  }

  private startPoll(entry: DeviceEntry): void {
    this.counters.inFlight++;
    if (this.counters.inFlight > this.counters.maxInFlight) this.counters.maxInFlight = this.counters.inFlight;
    entry.running = this.runPoll(entry).then(
      (nextNominal) => this.pollDone(entry, nextNominal),
      (error: unknown) => {
        this.logger?.error({ err: error, deviceId: entry.adapter.deviceId }, 'poll bookkeeping failed');
        this.pollDone(entry, this.clock.now() + entry.intervalMs);
      },
    );
  }

  private pollDone(entry: DeviceEntry, nextNominal: number): void {
    entry.running = undefined;
    this.counters.inFlight--;
    // Scheduled only now, so a device is never polled twice at once.
    if (!entry.removed) this.enqueue(entry, nextNominal);
    this.pump();
  }

  /** One poll and its publication; never rejects. Resolves with the next nominal poll time. */
  private async runPoll(entry: DeviceEntry): Promise<number> {
    const deviceId = entry.adapter.deviceId;
    const at = this.clock.now();
    let readings: Reading[];
    try {
      readings = await entry.adapter.poll(at);
    } catch (error) {
      return this.failed(entry, error);
    }
    entry.polls++;
    entry.lastPollAt = at;
    this.counters.polls++;
    this.counters.readings += readings.length;
    const wasFaulty = entry.health === 'faulty';
    entry.consecutiveFailures = 0;
    entry.health = 'ok';
    entry.lastError = undefined;
    const next = Math.max(entry.nominal + entry.intervalMs, this.clock.now());
    if (readings.length > 0) {
      try {
        await this.sink.readings(deviceId, readings);
      } catch (error) {
        // The bus or store is at fault, not the device: the readings are lost, the device stays ok.
        this.counters.sinkFailures++;
        this.logger?.warn({ err: error, deviceId, readings: readings.length }, 'poll readings could not be published');
      }
    }
    if (wasFaulty) {
      this.logger?.info({ deviceId }, 'device answers again: ok');
      await this.publishState({ deviceId, at: this.clock.now(), online: true, detail: 'polled successfully' });
    }
    return next;
  }

  private async failed(entry: DeviceEntry, error: unknown): Promise<number> {
    const deviceId = entry.adapter.deviceId;
    entry.failures++;
    entry.consecutiveFailures++;
    entry.lastError = errorSummary(error);
    this.counters.failures++;
    const backoff = Math.min(
      Math.max(this.maxBackoffMs, entry.intervalMs),
      entry.intervalMs * 2 ** Math.min(30, entry.consecutiveFailures - 1),
    );
    const next = this.clock.now() + backoff;
    const turnsFaulty = entry.health === 'ok' && entry.consecutiveFailures >= this.faultyAfter;
    this.logger?.[turnsFaulty ? 'warn' : 'debug'](
      { deviceId, error: entry.lastError, failures: entry.consecutiveFailures, retryInMs: backoff },
      turnsFaulty ? 'device keeps failing: faulty' : 'poll failed',
    );
    if (turnsFaulty) {
      entry.health = 'faulty';
      await this.publishState({
        deviceId,
        at: this.clock.now(),
        online: false,
        detail:
          `${entry.consecutiveFailures} polls failed in a row; last: ${entry.lastError.code} ${entry.lastError.message}`.slice(
            0,
            1024,
          ),
      });
    }
    return next;
  }

  private async publishState(message: DeviceStateMessage): Promise<void> {
    try {
      await this.sink.state(message);
    } catch (error) {
      this.logger?.warn({ err: error, deviceId: message.deviceId }, 'device state could not be published');
    }
  }
}
