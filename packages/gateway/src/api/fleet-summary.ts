/**
 * The fleet at a glance (GET /api/fleet/summary and the live feed's `summary` message): devices by
 * class and operating state, online/offline, aggregate power by class, the batteries' state of
 * charge, and the active and upcoming program events.
 *
 * Rules (docs/reference/api.md, "Fleet summary"):
 * - online: the device is enabled, has shown a sign of life within FRESH_MS (a reading, or the edge
 *   announcing it online on 'device.state') and the edge has not announced it offline since;
 * - power: each device's latest total `activePower` no older than FRESH_MS, in the model's sign
 *   convention (positive towards the grid). `total` leaves meters out (a site meter measures the
 *   same flows as the devices behind it); they are in `byClass`;
 * - storage: devices with a storage capability; SoC from their latest `stateOfCharge` no older than
 *   FRESH_MS; stored and capacity energy over the reporting devices only;
 * - byState: online devices by their latest `operatingState` reading ('unknown' when none).
 * The same rules give each device's status (GET /api/devices/status, `deviceStatus`), so the
 * device list and the summary never disagree.
 * Cost: the devices page by page, one store query for the latest readings of the whole fleet
 * (store.telemetry.latestOf) and two event queries; answers are cached for a second, and the
 * latest readings too (shared by the summary and every page of device statuses).
 */
import {
  type Device,
  type DeviceClass,
  EVENT_SOURCES,
  EVENT_STATUSES,
  eventEnd,
  eventStart,
  type Measurand,
  type ProgramEvent,
  type Reading,
  storageOf,
} from '@gridseam/model';
import Type, { type Static } from 'typebox';
import { listAll } from '../store/list-all.ts';
import type { Store } from '../store/types.ts';
import type { DeviceStates } from './live/device-states.ts';

/** Readings older than this do not count (power, SoC, signs of life). */
export const FRESH_MS = 5 * 60_000;
/** Answers are reused for this long (a dashboard and the live feed may ask often). */
export const SUMMARY_CACHE_MS = 1000;
/** Active and upcoming events listed at most, each, soonest start first. */
export const EVENTS_LISTED = 50;
const SOC_BINS = 10;
const SUMMARY_MEASURANDS: readonly Measurand[] = ['activePower', 'stateOfCharge', 'operatingState'];

const Count = Type.Integer({ minimum: 0 });
const DeviceCounts = Type.Object({ total: Count, online: Count, offline: Count }, { additionalProperties: false });

export const EventSummarySchema = Type.Object(
  {
    id: Type.String(),
    programId: Type.String(),
    source: Type.Enum(EVENT_SOURCES),
    status: Type.Enum(EVENT_STATUSES),
    start: Type.Integer({ description: 'epoch ms: start of the first interval' }),
    end: Type.Union([Type.Integer(), Type.Null()], { description: 'epoch ms: end of the last interval' }),
    signals: Type.Array(Type.String(), { description: 'The signal kinds of its intervals, each once' }),
  },
  { additionalProperties: false },
);
export type EventSummary = Static<typeof EventSummarySchema>;

export const FleetSummarySchema = Type.Object(
  {
    at: Type.Integer({ description: 'epoch ms the summary was computed at' }),
    devices: Type.Object(
      {
        total: Count,
        online: Count,
        offline: Count,
        byClass: Type.Record(Type.String(), DeviceCounts, { description: 'Classes that have devices' }),
        byState: Type.Record(Type.String(), Count, {
          description: "Online devices by their latest operatingState ('unknown' when none)",
        }),
      },
      { additionalProperties: false },
    ),
    powerW: Type.Object(
      {
        total: Type.Number({ description: 'W, positive towards the grid; meters left out' }),
        byClass: Type.Record(Type.String(), Type.Number()),
      },
      { additionalProperties: false },
    ),
    storage: Type.Object(
      {
        count: Count,
        reporting: Count,
        meanSocPct: Type.Union([Type.Number(), Type.Null()]),
        storedWh: Type.Number(),
        capacityWh: Type.Number(),
        socHistogram: Type.Array(
          Type.Object({ fromPct: Type.Number(), toPct: Type.Number(), count: Count }, { additionalProperties: false }),
        ),
      },
      { additionalProperties: false },
    ),
    events: Type.Object(
      { active: Type.Array(EventSummarySchema), upcoming: Type.Array(EventSummarySchema) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type FleetSummary = Static<typeof FleetSummarySchema>;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const DeviceStatusSchema = Type.Object(
  {
    deviceId: Type.String(),
    online: Type.Boolean({
      description: "The fleet summary's rule: enabled, alive within 5 min, not announced offline since",
    }),
    state: Type.Enum(['online', 'offline'], { description: 'online as a word, as the live feed says it' }),
    operatingState: Nullable(Type.String({ description: 'The latest operatingState reading, whatever its age' })),
    activePowerW: Nullable(
      Type.Number({ description: 'Latest total activePower no older than 5 min, + towards the grid' }),
    ),
    socPct: Nullable(Type.Number({ description: 'Latest stateOfCharge no older than 5 min, 0-100' })),
    lastSeenAt: Nullable(
      Type.Integer({ description: 'epoch ms: the newest sign of life (a reading or an online announcement)' }),
    ),
  },
  { additionalProperties: false },
);
export type DeviceStatus = Static<typeof DeviceStatusSchema>;

export interface FleetInputs {
  devices: readonly Device[];
  /** latestByDevice(store.telemetry.latestOf(['activePower', 'stateOfCharge', 'operatingState']), now - FRESH_MS). */
  latest: ReadonlyMap<string, DeviceLatest>;
  states: Pick<DeviceStates, 'get'>;
  active: readonly ProgramEvent[];
  upcoming: readonly ProgramEvent[];
  now: number;
}

/** What the latest readings say about one device (see latestByDevice). */
export interface DeviceLatest {
  powerW?: number;
  socPct?: number;
  state?: string;
  /** Newest reading of any kind, epoch ms. */
  seenAt: number;
}

/** The latest readings by device; power and SoC only from readings at or after freshAfter. */
export function latestByDevice(readings: readonly Reading[], freshAfter: number): Map<string, DeviceLatest> {
  const byDevice = new Map<string, DeviceLatest>();
  for (const reading of readings) {
    if (reading.phase !== undefined || reading.quality === 'invalid') continue;
    let entry = byDevice.get(reading.deviceId);
    if (entry === undefined) {
      entry = { seenAt: reading.ts };
      byDevice.set(reading.deviceId, entry);
    } else entry.seenAt = Math.max(entry.seenAt, reading.ts);
    if (reading.measurand === 'operatingState' && typeof reading.value === 'string') entry.state = reading.value;
    if (typeof reading.value !== 'number' || !Number.isFinite(reading.value) || reading.ts < freshAfter) continue;
    if (reading.measurand === 'activePower') entry.powerW = reading.value;
    else if (reading.measurand === 'stateOfCharge') entry.socPct = Math.min(100, Math.max(0, reading.value));
  }
  return byDevice;
}

/** One device's status by the summary's rules (module comment) from its latest readings and the edge's word. */
export function deviceStatus(
  device: Device,
  latest: DeviceLatest | undefined,
  states: FleetInputs['states'],
  now: number,
): DeviceStatus {
  const note = states.get(device.id);
  const aliveAt = Math.max(
    latest?.seenAt ?? Number.NEGATIVE_INFINITY,
    note?.online ? note.at : Number.NEGATIVE_INFINITY,
  );
  const announcedOffline = note?.online === false && note.at >= aliveAt;
  const online = device.enabled !== false && !announcedOffline && now - aliveAt <= FRESH_MS;
  return {
    deviceId: device.id,
    online,
    state: online ? 'online' : 'offline',
    operatingState: latest?.state ?? null,
    activePowerW: latest?.powerW ?? null,
    socPct: latest?.socPct ?? null,
    lastSeenAt: Number.isFinite(aliveAt) ? aliveAt : null,
  };
}

export function eventSummary(event: ProgramEvent): EventSummary {
  const signals = new Set<string>();
  for (const interval of event.intervals) for (const signal of interval.signals) signals.add(signal.kind);
  const start = eventStart(event);
  return {
    id: event.id,
    programId: event.programId,
    source: event.source,
    status: event.status,
    start: Number.isFinite(start) ? start : 0,
    end: event.intervals.length > 0 ? eventEnd(event) : null,
    signals: [...signals],
  };
}

function increment<K extends string>(record: Record<K, number>, key: K, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

/** The summary of a fleet from what the store and the bus said; pure. */
export function summarizeFleet(inputs: FleetInputs): FleetSummary {
  const { now, latest } = inputs;
  const byClass: Record<string, { total: number; online: number; offline: number }> = {};
  const byState: Record<string, number> = {};
  const powerByClass: Record<string, number> = {};
  const histogram = Array.from({ length: SOC_BINS }, (_, bin) => ({
    fromPct: bin * (100 / SOC_BINS),
    toPct: (bin + 1) * (100 / SOC_BINS),
    count: 0,
  }));
  let online = 0;
  let powerTotal = 0;
  const storage = { count: 0, reporting: 0, socSum: 0, storedWh: 0, capacityWh: 0 };

  for (const device of inputs.devices) {
    const status = deviceStatus(device, latest.get(device.id), inputs.states, now);
    const counts = byClass[device.class] ?? { total: 0, online: 0, offline: 0 };
    byClass[device.class] = counts;
    counts.total++;
    if (status.online) {
      online++;
      counts.online++;
      increment(byState, status.operatingState ?? 'unknown');
    } else counts.offline++;

    increment(powerByClass, device.class, status.activePowerW ?? 0);
    if (status.activePowerW !== null && device.class !== ('meter' satisfies DeviceClass))
      powerTotal += status.activePowerW;

    const capability = storageOf(device);
    if (capability === undefined) continue;
    storage.count++;
    if (status.socPct === null) continue;
    storage.reporting++;
    storage.socSum += status.socPct;
    storage.capacityWh += capability.capacityWh;
    storage.storedWh += (status.socPct / 100) * capability.capacityWh;
    const bin = histogram[Math.min(SOC_BINS - 1, Math.floor(status.socPct / (100 / SOC_BINS)))];
    if (bin) bin.count++;
  }

  return {
    at: now,
    devices: { total: inputs.devices.length, online, offline: inputs.devices.length - online, byClass, byState },
    powerW: { total: powerTotal, byClass: powerByClass },
    storage: {
      count: storage.count,
      reporting: storage.reporting,
      meanSocPct: storage.reporting === 0 ? null : storage.socSum / storage.reporting,
      storedWh: storage.storedWh,
      capacityWh: storage.capacityWh,
      socHistogram: histogram,
    },
    events: { active: inputs.active.map(eventSummary), upcoming: inputs.upcoming.map(eventSummary) },
  };
}

export interface FleetSummarizerOptions {
  store: Pick<Store, 'devices' | 'events' | 'telemetry'>;
  states: Pick<DeviceStates, 'get'>;
  now: () => number;
  /** How long an answer is reused, ms of the process's monotonic clock (default 1000). */
  cacheMs?: number;
}

/** `compute`'s answer reused for `cacheMs()` ms of the monotonic clock; concurrent callers share one computation. */
function reused<T>(compute: () => Promise<T>, cacheMs: () => number): () => Promise<T> {
  let cached: { value: T; until: number } | undefined;
  let running: Promise<T> | undefined;
  return () => {
    if (cached !== undefined && performance.now() < cached.until) return Promise.resolve(cached.value);
    running ??= compute()
      .then((value) => {
        cached = { value, until: performance.now() + cacheMs() };
        return value;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}

/**
 * Computes fleet summaries and device statuses from the store, at most once per cacheMs each;
 * both read one cached `telemetry.latestOf` answer, so a summary and the statuses asked for
 * within the same second agree.
 */
export class FleetSummarizer {
  readonly #options: FleetSummarizerOptions;
  readonly #summary: () => Promise<FleetSummary>;
  readonly #latest: () => Promise<Map<string, DeviceLatest>>;

  constructor(options: FleetSummarizerOptions) {
    this.#options = options;
    const cacheMs = () => options.cacheMs ?? SUMMARY_CACHE_MS;
    this.#latest = reused(async () => {
      const freshAfter = options.now() - FRESH_MS;
      return latestByDevice(await options.store.telemetry.latestOf(SUMMARY_MEASURANDS), freshAfter);
    }, cacheMs);
    this.#summary = reused(() => this.#compute(), cacheMs);
  }

  get(): Promise<FleetSummary> {
    return this.#summary();
  }

  /** The status of each device, in the order given, by the summary's rules. */
  async statuses(devices: readonly Device[]): Promise<DeviceStatus[]> {
    if (devices.length === 0) return [];
    const latest = await this.#latest();
    const now = this.#options.now();
    return devices.map((device) => deviceStatus(device, latest.get(device.id), this.#options.states, now));
  }

  async #compute(): Promise<FleetSummary> {
    const { store, states } = this.#options;
    const now = this.#options.now();
    const [devices, latest, active, upcoming] = await Promise.all([
      allDevices(store),
      this.#latest(),
      store.events.list({ status: 'active', limit: EVENTS_LISTED }),
      // Scheduled and not yet over: overlapping [now, far future).
      store.events.list({ status: 'scheduled', from: now, to: Number.MAX_SAFE_INTEGER, limit: EVENTS_LISTED }),
    ]);
    return summarizeFleet({ devices, latest, states, active, upcoming, now });
  }
}

function allDevices(store: Pick<Store, 'devices'>): Promise<Device[]> {
  return listAll((page) => store.devices.list(page));
}
