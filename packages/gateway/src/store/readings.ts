import { MEASURAND_NAMES, type Measurand, PHASES, type Reading, unitOf } from '@gridseam/model';
import type { TelemetryQuery } from './types.ts';

/** Raw queries: default and largest number of readings returned. */
export const DEFAULT_QUERY_LIMIT = 10_000;
export const MAX_QUERY_LIMIT = 100_000;

/** Every (measurand, phase) key a reading can have, in the order latest() returns them. */
export const SERIES_KEYS: ReadonlyArray<readonly [Measurand, string]> = MEASURAND_NAMES.flatMap((measurand) =>
  ['', ...PHASES].map((phase) => [measurand, phase] as const),
);

const SERIES_RANK = new Map(SERIES_KEYS.map(([measurand, phase], rank) => [`${measurand}/${phase}`, rank]));

/** Orders a device's readings as SERIES_KEYS does (measurand, then total before phases). */
export function bySeriesKey(a: Reading, b: Reading): number {
  const rank = (r: Reading) => SERIES_RANK.get(`${r.measurand}/${r.phase ?? ''}`) ?? SERIES_KEYS.length;
  return rank(a) - rank(b);
}

export function queryLimit(query: TelemetryQuery): number {
  if (query.limit === undefined || !Number.isFinite(query.limit)) return DEFAULT_QUERY_LIMIT;
  return Math.min(Math.max(Math.trunc(query.limit), 0), MAX_QUERY_LIMIT);
}

/** The columns naming a series (a row of `series`); the total over all phases is phase ''. */
export interface SeriesColumns {
  device_id: string;
  measurand: string;
  phase: string;
}

/** The columns of one reading of a series. */
export interface ValueColumns {
  ts: number;
  value_num: number | null;
  value_text: string | null;
  quality: string | null;
}

/** Rebuilds a reading from its columns; the unit follows from the measurand (one canonical unit each). */
export function readingOf(series: SeriesColumns, row: ValueColumns): Reading {
  const measurand = series.measurand as Measurand;
  const reading: Record<string, unknown> = {
    deviceId: series.device_id,
    ts: Number(row.ts),
    measurand,
    value: row.value_num ?? row.value_text ?? '',
    unit: unitOf(measurand),
  };
  if (series.phase !== '') reading.phase = series.phase;
  if (row.quality !== null) reading.quality = row.quality;
  return reading as Reading;
}

/** Key of a reading's series and instant, as the primary key sees it. */
export function readingKey(reading: Reading): string {
  return `${reading.deviceId}\u0000${reading.measurand}\u0000${reading.phase ?? ''}\u0000${reading.ts}`;
}

/**
 * Series ids by (device, measurand, phase), nested by device then measurand so the hot path does
 * three Map lookups on the reading's own strings instead of building a key string per reading.
 * Holds only ids of committed series rows: a writer resolves misses into a pending SeriesIds and
 * `absorb`s it after its transaction commits, since a rolled-back id may be given to another
 * series later (SQLite reuses rowids; a PostgreSQL id would have no row).
 */
export class SeriesIds {
  readonly #byDevice = new Map<string, Map<string, Map<string, number>>>();

  get(deviceId: string, measurand: string, phase: string): number | undefined {
    return this.#byDevice.get(deviceId)?.get(measurand)?.get(phase);
  }

  set(deviceId: string, measurand: string, phase: string, id: number): void {
    let measurands = this.#byDevice.get(deviceId);
    if (measurands === undefined) {
      measurands = new Map();
      this.#byDevice.set(deviceId, measurands);
    }
    let phases = measurands.get(measurand);
    if (phases === undefined) {
      phases = new Map();
      measurands.set(measurand, phases);
    }
    phases.set(phase, id);
  }

  /** Moves every id of `other` into this map and empties `other`. */
  absorb(other: SeriesIds): void {
    for (const [deviceId, measurands] of other.#byDevice)
      for (const [measurand, phases] of measurands)
        for (const [phase, id] of phases) this.set(deviceId, measurand, phase, id);
    other.clear();
  }

  clear(): void {
    this.#byDevice.clear();
  }
}
