/**
 * What the OCPP benchmark's processes tell each other over the IPC channel (JSON), and the small
 * measuring helpers the children share. The parent (ocpp.bench.ts) drives two children per side:
 * a server under test (gateway-server.ts or floor-server.ts) and the stations (stations.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import {
  constants,
  createHistogram,
  type Histogram,
  type IntervalHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  type RecordableHistogram,
} from 'node:perf_hooks';

/** Memory of one process, bytes (process.memoryUsage() after a full GC when --expose-gc is given). */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** Percentiles of a latency or delay histogram, ms. */
export interface Percentiles {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

// ---------------------------------------------------------------------------------------------
// Server under test (gateway or floor) <-> parent

export interface ServerSettings {
  stations: number;
  intervalS: number;
  /** Station i's Basic-auth password is `${secret}:${identity}` (security profile 1). */
  secret: string;
  /** Where the server may keep files (the gateway's SQLite file and log). */
  dir: string;
  /** The gateway's ocpp.pollIntervalMs. */
  pollIntervalMs: number;
  logLevel: string;
  /** When set: the CPU profile of the server's main thread during the window is written to this file. */
  cpuProfilePath?: string;
  /** When set: a heap snapshot is written to this file at the end of the window (after the memory sample). */
  heapSnapshotPath?: string;
}

export type ServerCommand =
  | { type: 'window-start' }
  | { type: 'measure' }
  /** Gateway only: wait until every reading received is committed to the store. */
  | { type: 'drain' }
  | { type: 'stop' };

export interface ServerReady {
  type: 'ready';
  /** ws://host:port/path; a station connects to `${endpoint}/${identity}`. */
  endpoint: string;
  startupMs: number;
  /** Idle: listening, nothing connected. */
  baseline: MemorySample;
  openFilesLimit: number | undefined;
  /** Gateway only: devices in the registry. */
  devices?: number;
}

export interface ServerMeasured {
  type: 'measured';
  memory: MemorySample;
  /** Connections the server holds now. */
  connections: number;
  /** CPU of the whole process (all threads) since window-start, µs. */
  cpuMicros: number;
  windowMs: number;
  loopDelay: Percentiles;
  /** Garbage collection pauses of the main thread during the window. */
  gc: GcPauses;
  /** Gateway only: readings waiting in the adapters and the telemetry writer. */
  buffered?: number;
  dropped?: number;
}

export interface ServerDrained {
  type: 'drained';
  ms: number;
  /** Readings still buffered when the wait ended (0 unless it timed out). */
  buffered: number;
}

export interface ServerStopped {
  type: 'stopped';
  /** Gateway only: rows in the SQLite file (readings + inbox). */
  storedReadings?: number;
  /** Gateway only: log lines at warn or above, and the first few of them. */
  warnLines?: number;
  firstWarnings?: string[];
}

export type ServerMessage = ServerReady | ServerMeasured | ServerDrained | ServerStopped | ChildFailed;

// ---------------------------------------------------------------------------------------------
// Stations <-> parent

export interface StationSettings {
  /** ws://host:port/path of the server under test. */
  endpoint: string;
  stations: number;
  intervalS: number;
  seconds: number;
  /** Connection attempts in flight at once while connecting. */
  concurrency: number;
  secret: string;
  callTimeoutMs: number;
}

export type StationCommand = { type: 'run' } | { type: 'close' };

export interface StationsConnected {
  type: 'connected';
  /** Stations connected with BootNotification Accepted and their StatusNotification answered. */
  booted: number;
  failed: number;
  firstError?: string;
  ms: number;
  /** The load generator's own memory with every station connected. */
  memory: MemorySample;
  openFilesLimit: number | undefined;
}

export interface StationsWindow {
  type: 'window';
  windowMs: number;
  /** MeterValues CALLs sent in the window. */
  sent: number;
  /** CALLRESULTs received within the window. */
  answeredInWindow: number;
  /** Every CALL sent in the window answered (late ones included). */
  answered: number;
  /** Sampled values per MeterValues message. */
  sampledValues: number;
  errors: number;
  firstError?: string;
  /** Stations whose connection closed during the run. */
  disconnects: number;
  /** Stations with an open connection at the end of the window. */
  open: number;
  latency: Percentiles;
  /** The load generator's own event loop delay during the window (a busy generator inflates latency). */
  loopDelay: Percentiles;
  /** The seconds of the window (from its start, by send time) with the slowest answers. */
  slowestSeconds: Array<{ second: number; maxMs: number; over50Ms: number }>;
}

export interface StationsClosed {
  type: 'closed';
}

export type StationMessage = StationsConnected | StationsWindow | StationsClosed | ChildFailed;

export interface ChildFailed {
  type: 'failed';
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Station identity i (0-based). */
export function stationIdentity(index: number): string {
  return `BENCH-CP-${String(index + 1).padStart(6, '0')}`;
}

export function stationPassword(secret: string, identity: string): string {
  return `${secret}:${identity}`;
}

/**
 * Memory after full collections when the process has --expose-gc: collect, let finalisers and
 * V8's heap shrinking run for a second, collect again, then read process.memoryUsage().
 */
export async function sampleMemory(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

/** The soft limit on open files of this process (Linux /proc), or undefined. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** A histogram of latencies recorded in µs, read back in ms. */
export function latencyHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 });
}

/** Percentiles in ms of a histogram holding µs (or ns for event loop delay: `unitMs` = 1e6). */
export function percentilesOf(histogram: Histogram, unitMs = 1000): Percentiles {
  const ms = (value: number) => Math.round((value / unitMs) * 1000) / 1000;
  const count = histogram.count;
  if (count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count,
    min: ms(histogram.min),
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    p999: ms(histogram.percentile(99.9)),
    max: ms(histogram.max),
  };
}

/** GC pauses by kind: how many, their total and the longest, ms. */
export interface GcPauses {
  minor: { count: number; totalMs: number; maxMs: number };
  major: { count: number; totalMs: number; maxMs: number };
  /** Incremental marking and weak-callback processing steps. */
  other: { count: number; totalMs: number; maxMs: number };
}

/** Records the main thread's GC pauses (PerformanceObserver 'gc') until read. */
export function gcMonitor(): { read(): GcPauses } {
  const pauses: GcPauses = {
    minor: { count: 0, totalMs: 0, maxMs: 0 },
    major: { count: 0, totalMs: 0, maxMs: 0 },
    other: { count: 0, totalMs: 0, maxMs: 0 },
  };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      const bucket =
        kind === constants.NODE_PERFORMANCE_GC_MINOR
          ? pauses.minor
          : kind === constants.NODE_PERFORMANCE_GC_MAJOR
            ? pauses.major
            : pauses.other;
      bucket.count++;
      bucket.totalMs += entry.duration;
      bucket.maxMs = Math.max(bucket.maxMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    read() {
      observer.disconnect();
      const round = (b: GcPauses['minor']) => ({
        count: b.count,
        totalMs: Math.round(b.totalMs),
        maxMs: Math.round(b.maxMs * 10) / 10,
      });
      return { minor: round(pauses.minor), major: round(pauses.major), other: round(pauses.other) };
    },
  };
}

/** Sampling period of loopDelayMonitor, ms. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** Event loop delay of this process, sampled every LOOP_DELAY_RESOLUTION_MS (read it with loopDelayOf). */
export function loopDelayMonitor(): IntervalHistogram {
  const monitor = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  monitor.enable();
  return monitor;
}

/**
 * Percentiles of a loopDelayMonitor, ms. Node records the whole time between two samples (ns),
 * the sampling period included, so the period is taken off to leave the delay.
 */
export function loopDelayOf(monitor: IntervalHistogram): Percentiles {
  const raw = percentilesOf(monitor, 1e6);
  if (raw.count === 0) return raw;
  const less = (ms: number) => Math.max(0, Math.round((ms - LOOP_DELAY_RESOLUTION_MS) * 1000) / 1000);
  return {
    count: raw.count,
    min: less(raw.min),
    mean: less(raw.mean),
    p50: less(raw.p50),
    p90: less(raw.p90),
    p99: less(raw.p99),
    p999: less(raw.p999),
    max: less(raw.max),
  };
}

/**
 * A CPU profile of this process's main thread over the measured window only (node:inspector, the
 * same V8 sampling profiler as --cpu-prof, which would also record start-up and connecting).
 */
export class WindowProfiler {
  private session: Session | undefined;

  constructor(private readonly path: string | undefined) {}

  async start(): Promise<void> {
    if (this.path === undefined || this.session) return;
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    this.session = session;
  }

  /** Stops and writes the profile (open it in Chrome DevTools or speedscope). */
  async stop(): Promise<void> {
    const session = this.session;
    if (this.path === undefined || !session) return;
    this.session = undefined;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(this.path, JSON.stringify(profile));
  }
}

/**
 * Wires a child's IPC channel: each command goes to `handle`, each answer back to the parent;
 * any failure is reported as `failed` and ends the process with code 1.
 */
export function serveParent<C, M>(handle: (command: C) => Promise<M | undefined>): void {
  process.on('message', (command: C) => {
    handle(command).then(
      (message) => {
        if (message !== undefined) process.send?.(message);
      },
      (error: unknown) => fail(error),
    );
  });
  // The parent went away: nothing left to measure for.
  process.on('disconnect', () => process.exit(0));
}

/** Reports a failure to the parent and ends the process with code 1. */
export function fail(error: unknown): void {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (process.send) process.send({ type: 'failed', message } satisfies ChildFailed, () => process.exit(1));
  else console.error(message);
  // If the channel is gone, exit anyway.
  setTimeout(() => process.exit(1), 1000);
}
