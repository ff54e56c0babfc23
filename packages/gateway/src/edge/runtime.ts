/**
 * EdgeRuntime: brings devices up and keeps them running, protocol-free. Sources (built by the
 * wiring that knows the protocol, e.g. SunSpec in app.ts) provide adapters; for each device the
 * runtime describes it, upserts it into the registry (class and capabilities from the device
 * itself, audited as 'edge'), then polls it (PollScheduler) and delivers its commands
 * (CommandExecutor). A source or a device that cannot be reached at start is retried in the
 * background with back-off; start() waits for the first attempt of each only.
 */
import type { AdapterRef, Device, DeviceAdapter, DeviceDescription } from '@gridseam/model';
import { GridseamError } from '@gridseam/model';
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.ts';
import type { FleetRegistry } from '../registry/index.ts';
import type { DeviceInput } from '../registry/inputs.ts';
import type { Store } from '../store/types.ts';
import { type EdgeClock, systemClock } from './clock.ts';
import { type AdapterDirectory, CommandExecutor, EDGE_ACTOR } from './executor.ts';
import { busSink, type DeviceHealth, PollScheduler, type PollSink } from './scheduler.ts';

/** How the registry should know a device the edge drives. */
export interface EdgeDeviceSpec {
  id: string;
  siteId: string;
  pollIntervalMs: number;
  adapter: AdapterRef;
  name?: string;
}

/** A device a source provides: its spec, its adapter, and its description when the source already made one. */
export interface EdgeDevice {
  spec: EdgeDeviceSpec;
  adapter: DeviceAdapter;
  description?: DeviceDescription;
}

/** A group of devices reached together (one configured device, or a discovery range). */
export interface EdgeSource {
  /** For logs, e.g. 'tcp://10.0.0.5:502'. */
  name: string;
  /** Connects and lists the devices; throws when the source cannot be reached (retried with back-off). */
  open(): Promise<EdgeDevice[]>;
}

export interface EdgeRuntimeOptions {
  registry: FleetRegistry;
  store: Store;
  bus: Bus;
  logger: Logger;
  /** Polls running at once over all devices. */
  concurrency: number;
  /** Where poll results go (default: the bus topics 'telemetry' and 'device.state'). */
  sink?: PollSink;
  clock?: EdgeClock;
  random?: () => number;
  /** First retry delay for a source or device that could not be brought up (default 1 s, doubling). */
  retryInitialMs?: number;
  /** Longest retry delay (default 60 s). */
  retryMaxMs?: number;
  /**
   * How long start() waits for the first attempt of every source and device (default 10 s); what is
   * still connecting or probing then (a discovery range of absent units costs a timeout each)
   * carries on in the background.
   */
  startWaitMs?: number;
  /** Options for the command executor's retries. */
  commandMaxAttempts?: number;
  commandRetryDelayMs?: number;
}

export type EdgeDeviceState = 'connecting' | 'describing' | 'running' | 'disabled' | 'closed';

export interface EdgeDeviceStatus {
  id: string;
  source: string;
  state: EdgeDeviceState;
  health?: DeviceHealth;
  lastError?: { code: string; message: string };
}

export interface EdgeStartReport {
  /** Devices described, registered and polled. */
  running: string[];
  /** Devices (or whole sources, by name) still being brought up or retried in the background. */
  retrying: string[];
}

interface DeviceSlot {
  device: EdgeDevice;
  source: string;
  state: EdgeDeviceState;
  attempts: number;
  lastError?: { code: string; message: string };
}

function errorSummary(error: unknown): { code: string; message: string } {
  if (GridseamError.is(error)) return { code: error.code, message: error.message };
  return { code: 'GW_ERR_INTERNAL', message: String(error) };
}

/** JSON with sorted keys and without server-owned timestamps, to skip writes that change nothing. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (key, inner: unknown) => {
    if (key === 'createdAt' || key === 'updatedAt') return undefined;
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(inner).sort()) sorted[k] = (inner as Record<string, unknown>)[k];
      return sorted;
    }
    return inner;
  });
}

export class EdgeRuntime {
  readonly scheduler: PollScheduler;
  readonly executor: CommandExecutor;
  private readonly options: EdgeRuntimeOptions;
  private readonly clock: EdgeClock;
  private readonly logger: Logger;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly slots = new Map<string, DeviceSlot>();
  private readonly pendingSources = new Set<string>();
  private readonly timers = new Set<unknown>();
  private readonly inProgress = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly sources: readonly EdgeSource[],
    options: EdgeRuntimeOptions,
  ) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.retryInitialMs = options.retryInitialMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 60_000;
    this.scheduler = new PollScheduler({
      sink: options.sink ?? busSink(options.bus),
      concurrency: options.concurrency,
      clock: this.clock,
      logger: options.logger.child({ component: 'edge-poll' }),
      ...(options.random ? { random: options.random } : {}),
    });
    const directory: AdapterDirectory = {
      owns: (id) => this.slots.has(id),
      get: (id) => this.slots.get(id)?.device.adapter,
    };
    this.executor = new CommandExecutor({
      bus: options.bus,
      store: options.store,
      adapters: directory,
      now: () => this.clock.now(),
      logger: options.logger.child({ component: 'edge-commands' }),
      ...(options.commandMaxAttempts !== undefined ? { maxAttempts: options.commandMaxAttempts } : {}),
      ...(options.commandRetryDelayMs !== undefined ? { retryDelayMs: options.commandRetryDelayMs } : {}),
    });
  }

  /** Opens every source and brings its devices up (first attempt of each), then polls and takes commands. */
  async start(): Promise<EdgeStartReport> {
    this.scheduler.start();
    await this.executor.start();
    const firstAttempts = this.track(Promise.all(this.sources.map((source) => this.openSource(source, 0))));
    let timer: unknown;
    const waited = new Promise<void>((resolve) => {
      timer = this.clock.setTimeout(resolve, this.options.startWaitMs ?? 10_000);
    });
    await Promise.race([firstAttempts, waited]);
    this.clock.clearTimeout(timer);
    const running = [...this.slots.values()].filter((s) => s.state === 'running').map((s) => s.device.spec.id);
    const retrying = [
      ...[...this.slots.values()]
        .filter((s) => s.state === 'connecting' || s.state === 'describing')
        .map((s) => s.device.spec.id),
      ...this.pendingSources,
    ];
    this.logger.info({ devices: this.slots.size, running: running.length, retrying: retrying.length }, 'edge started');
    return { running, retrying };
  }

  /** Every device the sources provided so far. */
  devices(): EdgeDeviceStatus[] {
    return [...this.slots.values()].map((slot) => {
      const health = this.scheduler.health(slot.device.spec.id);
      return {
        id: slot.device.spec.id,
        source: slot.source,
        state: slot.state,
        ...(health ? { health } : {}),
        ...(slot.lastError ? { lastError: slot.lastError } : {}),
      };
    });
  }

  /** Stops retries, polling and commands, then closes the adapters (not their shared connections). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
    await this.executor.close();
    await this.scheduler.stop();
    await Promise.allSettled([...this.inProgress]);
    await Promise.allSettled(
      [...this.slots.values()].map((slot) => {
        slot.state = 'closed';
        return slot.device.adapter.close();
      }),
    );
  }

  private backoff(attempt: number): number {
    return Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(30, attempt));
  }

  /** Runs `task` later unless the runtime closes first. */
  private later(ms: number, task: () => Promise<void>): void {
    if (this.closed) return;
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) void this.track(task());
    }, ms);
    this.timers.add(timer);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inProgress.add(promise);
    void promise.finally(() => this.inProgress.delete(promise)).catch(() => undefined);
    return promise;
  }

  private async openSource(source: EdgeSource, attempt: number): Promise<void> {
    if (this.closed) return;
    this.pendingSources.add(source.name);
    let devices: EdgeDevice[];
    try {
      devices = await source.open();
    } catch (error) {
      const delay = this.backoff(attempt);
      this.logger.warn(
        { source: source.name, error: errorSummary(error), retryInMs: delay },
        'edge source unreachable; retrying',
      );
      this.later(delay, () => this.openSource(source, attempt + 1));
      return;
    }
    this.pendingSources.delete(source.name);
    if (this.closed) {
      await Promise.allSettled(devices.map((d) => d.adapter.close()));
      return;
    }
    const fresh: DeviceSlot[] = [];
    for (const device of devices) {
      const id = device.spec.id;
      if (this.slots.has(id)) {
        this.logger.warn(
          { deviceId: id, source: source.name, first: this.slots.get(id)?.source },
          'device provided twice; the first source keeps it',
        );
        void device.adapter.close();
        continue;
      }
      const slot: DeviceSlot = { device, source: source.name, state: 'describing', attempts: 0 };
      this.slots.set(id, slot);
      fresh.push(slot);
    }
    this.logger.info({ source: source.name, devices: fresh.map((s) => s.device.spec.id) }, 'edge source opened');
    await Promise.all(fresh.map((slot) => this.bringUp(slot)));
  }

  /** Describe, register, poll; on failure retry later. */
  private async bringUp(slot: DeviceSlot): Promise<void> {
    if (this.closed) return;
    const { spec, adapter } = slot.device;
    try {
      const description = slot.device.description ?? (await adapter.describe());
      delete slot.device.description; // describe afresh on a later bring-up
      const device = await this.register(spec, description);
      if (this.closed) return;
      delete slot.lastError;
      if (!device.enabled) {
        slot.state = 'disabled';
        this.logger.info({ deviceId: spec.id }, 'device is disabled in the registry: not polled');
        return;
      }
      slot.state = 'running';
      if (!this.scheduler.has(spec.id)) this.scheduler.add(adapter, { pollIntervalMs: spec.pollIntervalMs });
      this.logger.info(
        { deviceId: spec.id, class: device.class, controls: device.capabilities.controls },
        'device registered and polled',
      );
    } catch (error) {
      slot.lastError = errorSummary(error);
      const delay = this.backoff(slot.attempts++);
      this.logger.warn(
        { deviceId: spec.id, address: spec.adapter.address, error: slot.lastError, retryInMs: delay },
        'device could not be brought up; retrying',
      );
      this.later(delay, () => this.bringUp(slot));
    }
  }

  /**
   * Creates or updates the registry's device from what the device says about itself. Fields the
   * operator owns (name unless configured, labels, enabled) are kept; an unchanged device is not
   * written again, so restarts add no audit noise.
   */
  private async register(spec: EdgeDeviceSpec, description: DeviceDescription): Promise<Device> {
    const { registry, store } = this.options;
    const existing = await store.devices.get(spec.id);
    const fromDevice: DeviceInput = {
      id: spec.id,
      siteId: spec.siteId,
      class: description.class,
      adapter: spec.adapter,
      capabilities: description.capabilities,
      ...(description.manufacturer !== undefined ? { manufacturer: description.manufacturer } : {}),
      ...(description.model !== undefined ? { model: description.model } : {}),
      ...(description.serial !== undefined ? { serial: description.serial } : {}),
    };
    if (!existing) {
      return registry.createDevice(
        { ...fromDevice, ...(spec.name !== undefined ? { name: spec.name } : {}) },
        EDGE_ACTOR,
      );
    }
    const { manufacturer: _m, model: _md, serial: _s, createdAt: _c, updatedAt: _u, ...kept } = existing;
    const wanted: DeviceInput = {
      ...kept,
      ...fromDevice,
      ...(spec.name !== undefined ? { name: spec.name } : {}),
    };
    if (canonical(wanted) === canonical({ ...existing })) return existing;
    return registry.updateDevice(wanted, EDGE_ACTOR);
  }
}
