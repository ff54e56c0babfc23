import { MEASURAND_NAMES, type Measurand, PHASES, type Reading, unitOf } from '@gridseam/model';
import type { TelemetryQuery } from './types.ts';

/** Raw queries: default and largest number of readings returned. */
export const DEFAULT_QUERY_LIMIT = 10_000;
export const MAX_QUERY_LIMIT = 100_000;

/** Every (measurand, phase) key a reading can have; latest() probes each with an index lookup. */
export const SERIES_KEYS: ReadonlyArray<readonly [Measurand, string]> = MEASURAND_NAMES.flatMap((measurand) =>
  ['', ...PHASES].map((phase) => [measurand, phase] as const),
);

export function queryLimit(query: TelemetryQuery): number {
  if (query.limit === undefined || !Number.isFinite(query.limit)) return DEFAULT_QUERY_LIMIT;
  return Math.min(Math.max(Math.trunc(query.limit), 0), MAX_QUERY_LIMIT);
}

/** The columns of one reading; the total over all phases is stored as phase ''. */
export interface ReadingRow {
  device_id: string;
  measurand: string;
  phase: string;
  ts: number;
  value_num: number | null;
  value_text: string | null;
  quality: string | null;
}

/** Rebuilds a reading from its columns; the unit follows from the measurand (one canonical unit each). */
export function readingOf(row: ReadingRow): Reading {
  const measurand = row.measurand as Measurand;
  const reading: Record<string, unknown> = {
    deviceId: row.device_id,
    ts: Number(row.ts),
    measurand,
    value: row.value_num ?? row.value_text ?? '',
    unit: unitOf(measurand),
  };
  if (row.phase !== '') reading.phase = row.phase;
  if (row.quality !== null) reading.quality = row.quality;
  return reading as Reading;
}

/** Key of a reading's series and instant, as the primary key sees it. */
export function readingKey(reading: Reading): string {
  return `${reading.deviceId}\u0000${reading.measurand}\u0000${reading.phase ?? ''}\u0000${reading.ts}`;
}
