import {
  type ApplyOutcome,
  type DeviceAdapter,
  type DeviceDescription,
  GridseamError,
  type Reading,
  type Setpoint,
} from '@gridseam/model';
import type { DeviceStateMessage } from '../../src/bus/types.ts';
import type { EdgeClock } from '../../src/edge/clock.ts';
import type { PollSink } from '../../src/edge/scheduler.ts';

/** Lets pending promise chains (adapter -> scheduler -> sink) run to their next real wait. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A manual clock: timers fire only when the test advances time, in due order. */
export class FakeClock implements EdgeClock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; seq: number; callback: () => void }>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + Math.max(0, ms), seq: id, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms, firing each timer due on the way at its own instant. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; seq: number; callback: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at > end) continue;
        if (!next || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[1].seq < next[1].seq))
          next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

/** A sink that records what the scheduler publishes. */
export class RecordingSink implements PollSink {
  readonly batches: Array<{ deviceId: string; readings: Reading[] }> = [];
  readonly states: DeviceStateMessage[] = [];
  failReadings = false;

  async readings(deviceId: string, readings: Reading[]): Promise<void> {
    if (this.failReadings) throw new GridseamError('GW_ERR_BUS_UNAVAILABLE', 'bus down');
    this.batches.push({ deviceId, readings });
  }

  async state(message: DeviceStateMessage): Promise<void> {
    this.states.push(message);
  }
}

export const BATTERY_DESCRIPTION: DeviceDescription = {
  class: 'battery',
  manufacturer: 'Fake',
  model: 'FB-1',
  serial: 'SN-1',
  capabilities: {
    controls: ['fixedW', 'exportLimit'],
    storage: { capacityWh: 10000, maxChargeW: 5000, maxDischargeW: 5000 },
  },
};

/**
 * A scriptable DeviceAdapter. Polls record their `at`; `failPolls` makes the next n polls fail;
 * `gate` holds polls until released (to observe concurrency); `applyWith` scripts apply.
 */
export class FakeAdapter implements DeviceAdapter {
  readonly polls: number[] = [];
  readonly applied: Setpoint[] = [];
  failPolls = 0;
  describeFailures = 0;
  description: DeviceDescription = BATTERY_DESCRIPTION;
  gate: Gate | undefined;
  applyWith: (setpoint: Setpoint) => Promise<ApplyOutcome> = async (setpoint) => ({
    readBack: { at: 1, value: setpoint.value },
    detail: 'fake write',
  });
  closed = false;

  constructor(readonly deviceId: string) {}

  async describe(): Promise<DeviceDescription> {
    if (this.describeFailures > 0) {
      this.describeFailures--;
      throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `${this.deviceId} does not answer`);
    }
    return this.description;
  }

  async poll(at: number): Promise<Reading[]> {
    this.polls.push(at);
    if (this.gate) await this.gate.enter();
    if (this.failPolls > 0) {
      this.failPolls--;
      throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `${this.deviceId}: timeout`);
    }
    return [{ deviceId: this.deviceId, ts: at, measurand: 'activePower', value: this.polls.length, unit: 'W' }];
  }

  apply(setpoint: Setpoint): Promise<ApplyOutcome> {
    this.applied.push(setpoint);
    return this.applyWith(setpoint);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Holds callers until released; counts how many are inside at once. */
export class Gate {
  inside = 0;
  maxInside = 0;
  private waiting: Array<() => void> = [];

  enter(): Promise<void> {
    this.inside++;
    this.maxInside = Math.max(this.maxInside, this.inside);
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.inside--;
        resolve();
      }),
    );
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Lets the n longest-waiting callers go. */
  release(n = Number.POSITIVE_INFINITY): void {
    const out = this.waiting.splice(0, n);
    for (const go of out) go();
  }
}

/** Polls `check` until it returns a value; the bound only keeps a broken test from hanging. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}
