import { GridseamError, type Measurand, type Reading } from '@gridseam/model';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { guard, mapStoreError } from './errors.ts';
import {
  bySeriesKey,
  queryLimit,
  readingKey,
  readingOf,
  type SeriesColumns,
  SeriesIds,
  type ValueColumns,
} from './readings.ts';
import type { Database } from './schema.ts';
import type { Bucket, DownsampleQuery, TelemetryQuery, TelemetryStore } from './types.ts';

/** Unquoted, lower-case identifiers only: the name goes into search_path and DDL as is. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** bigint (int8) as a JS number: every instant and count here is far below 2^53. */
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === pg.types.builtins.INT8 && format !== 'binary'
    ? (value: string) => Number(value)
    : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;

export interface PostgresHandles {
  db: Kysely<Database>;
  schema: string;
}

/**
 * Connects a pool whose sessions use the given schema (search_path, so unqualified table names in
 * migrations and queries resolve there), creating the schema when missing. Fails with
 * GW_ERR_STORE_UNAVAILABLE when the server cannot be reached.
 */
export async function openPostgres(
  config: { url: string; schema?: string; poolSize?: number },
  logger: Logger,
): Promise<PostgresHandles> {
  const schema = config.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `PostgreSQL schema name ${JSON.stringify(schema)} must match ${SCHEMA_NAME}`,
    );
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    options: `-c search_path=${schema}`,
    types: { getTypeParser },
    connectionTimeoutMillis: 5000,
  });
  // An idle client losing its connection emits on the pool; unhandled, that would end the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Two processes creating the same schema at once: the loser sees a duplicate.
    if (code !== '23505' && code !== '42P06') {
      await pool.end().catch(() => undefined);
      throw mapStoreError(error, 'connect to PostgreSQL');
    }
  }
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), schema };
}

/** Rows per INSERT ... SELECT FROM unnest(...): seven array parameters whatever the size. */
const CHUNK = 10_000;

interface Month {
  start: number;
  end: number;
  name: string;
}

function monthOf(ts: number): Month {
  const date = new Date(ts);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    start: Date.UTC(year, month, 1),
    end: Date.UTC(year, month + 1, 1),
    name: `readings_p${String(year).padStart(4, '0')}${String(month + 1).padStart(2, '0')}`,
  };
}

const PARTITION_NAME = /^readings_p(\d{4})(\d{2})$/;

function isMissingPartition(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e.code === '23514' && typeof e.message === 'string' && e.message.includes('no partition');
}

/**
 * Telemetry on PostgreSQL: monthly range partitions of readings, created before a write touches a
 * new month; multi-row upserts as one INSERT ... SELECT FROM unnest(typed arrays) per chunk, all
 * chunks of a call in one transaction. Series ids come from an in-process cache; misses are
 * resolved in the write's transaction (see #resolveSeries).
 */
export class PostgresTelemetry implements TelemetryStore {
  /** Month starts whose partition is known to exist. */
  readonly #partitions = new Set<number>();
  readonly #seriesIds = new SeriesIds();

  constructor(private readonly db: Kysely<Database>) {}

  async #ensurePartitions(readings: readonly Reading[]): Promise<void> {
    const needed = new Map<number, Month>();
    let current: Month | undefined;
    for (const reading of readings) {
      if (current && reading.ts >= current.start && reading.ts < current.end) continue;
      current = monthOf(reading.ts);
      if (!this.#partitions.has(current.start)) needed.set(current.start, current);
    }
    for (const month of needed.values()) {
      try {
        await sql
          .raw(
            `CREATE TABLE IF NOT EXISTS ${month.name} PARTITION OF readings FOR VALUES FROM (${month.start}) TO (${month.end})`,
          )
          .execute(this.db);
      } catch (error) {
        // Another writer created it between our check and our create.
        const code = (error as { code?: unknown }).code;
        if (code !== '42P07' && code !== '23505') throw error;
      }
      this.#partitions.add(month.start);
    }
  }

  /**
   * Finds or creates, inside the write's transaction, the series of the readings that the cache
   * does not know, and records their ids in `resolved`. ON CONFLICT DO NOTHING waits for a
   * concurrent writer inserting the same series and the SELECT (a new statement, so a new
   * snapshot under READ COMMITTED) then sees its row. New keys are inserted in key order, so two
   * writers creating overlapping sets wait for each other instead of deadlocking.
   */
  async #resolveSeries(trx: Transaction<Database>, readings: readonly Reading[], resolved: SeriesIds): Promise<void> {
    const missing = new Map<string, readonly [string, string, string]>();
    for (const reading of readings) {
      const phase = reading.phase ?? '';
      if (this.#seriesIds.get(reading.deviceId, reading.measurand, phase) !== undefined) continue;
      missing.set(`${reading.deviceId}\u0000${reading.measurand}\u0000${phase}`, [
        reading.deviceId,
        reading.measurand,
        phase,
      ]);
    }
    if (missing.size === 0) return;
    const keys = [...missing.values()];
    const deviceIds = keys.map((k) => k[0]);
    const measurands = keys.map((k) => k[1]);
    const phases = keys.map((k) => k[2]);
    await sql`INSERT INTO series (device_id, measurand, phase)
      SELECT * FROM unnest(${deviceIds}::text[], ${measurands}::text[], ${phases}::text[]) ORDER BY 1, 2, 3
      ON CONFLICT DO NOTHING`.execute(trx);
    const { rows } = await sql<SeriesColumns & { id: number }>`
      SELECT s.id, s.device_id, s.measurand, s.phase
      FROM unnest(${deviceIds}::text[], ${measurands}::text[], ${phases}::text[]) AS k(device_id, measurand, phase)
      JOIN series s ON s.device_id = k.device_id AND s.measurand = k.measurand AND s.phase = k.phase`.execute(trx);
    for (const row of rows) resolved.set(row.device_id, row.measurand, row.phase, Number(row.id));
  }

  async #insert(readings: readonly Reading[], resolved: SeriesIds): Promise<void> {
    await this.#ensurePartitions(readings);
    await this.db.transaction().execute(async (trx) => {
      await this.#resolveSeries(trx, readings, resolved);
      for (let offset = 0; offset < readings.length; offset += CHUNK) {
        const chunk = readings.slice(offset, offset + CHUNK);
        const n = chunk.length;
        const seriesIds = new Array<number>(n);
        const timestamps = new Array<number>(n);
        const numbers = new Array<number | null>(n);
        const texts = new Array<string | null>(n);
        const qualities = new Array<string | null>(n);
        for (let i = 0; i < n; i++) {
          const reading = chunk[i] as Reading;
          const phase = reading.phase ?? '';
          const numeric = typeof reading.value === 'number';
          seriesIds[i] = (this.#seriesIds.get(reading.deviceId, reading.measurand, phase) ??
            resolved.get(reading.deviceId, reading.measurand, phase)) as number;
          timestamps[i] = reading.ts;
          numbers[i] = numeric ? (reading.value as number) : null;
          texts[i] = numeric ? null : (reading.value as string);
          qualities[i] = reading.quality ?? null;
        }
        await sql`INSERT INTO readings (series_id, ts, value_num, value_text, quality)
          SELECT * FROM unnest(${seriesIds}::bigint[], ${timestamps}::bigint[], ${numbers}::float8[],
                               ${texts}::text[], ${qualities}::text[])
          ON CONFLICT (series_id, ts) DO UPDATE SET
            value_num = excluded.value_num, value_text = excluded.value_text, quality = excluded.quality`.execute(trx);
      }
    });
  }

  write(readings: readonly Reading[]): Promise<number> {
    if (readings.length === 0) return Promise.resolve(0);
    return guard(`write ${readings.length} readings`, async () => {
      // ON CONFLICT DO UPDATE refuses to touch one row twice in a statement: keep the last of duplicates.
      const unique = dedupe(readings);
      // Ids resolved by this write; cached only once it commits (a rolled-back series has no row).
      const resolved = new SeriesIds();
      try {
        await this.#insert(unique, resolved);
      } catch (error) {
        // A partition we believed in was dropped (by another process's retention): recreate, retry once.
        if (!isMissingPartition(error)) throw error;
        this.#partitions.clear();
        resolved.clear();
        await this.#insert(unique, resolved);
      }
      this.#seriesIds.absorb(resolved);
      return readings.length;
    });
  }

  query(query: TelemetryQuery): Promise<Reading[]> {
    const limit = queryLimit(query);
    const series = { device_id: query.deviceId, measurand: query.measurand, phase: query.phase ?? '' };
    return guard(`query telemetry of ${query.deviceId}`, async () => {
      const { rows } = await sql<ValueColumns>`
        SELECT ts, value_num, value_text, quality FROM readings
        WHERE series_id = ${seriesOf(series)} AND ts >= ${query.from} AND ts < ${query.to}
        ORDER BY ts LIMIT ${limit}`.execute(this.db);
      return rows.map((row) => readingOf(series, row));
    });
  }

  downsample(query: DownsampleQuery): Promise<Bucket[]> {
    const bucketMs = Math.trunc(query.bucketMs);
    if (!(bucketMs > 0))
      return Promise.reject(new GridseamError('GW_ERR_VALIDATION', 'bucketMs must be a positive integer'));
    const series = { device_id: query.deviceId, measurand: query.measurand, phase: query.phase ?? '' };
    return guard(`downsample telemetry of ${query.deviceId}`, async () => {
      // bigint division truncates, which is the floor for ts >= 0: buckets align to the epoch.
      // Readings marked invalid are left out of aggregates ("do not use").
      const { rows } = await sql<Bucket>`
        SELECT (ts / ${bucketMs}::bigint) * ${bucketMs}::bigint AS start, avg(value_num) AS avg,
               min(value_num) AS min, max(value_num) AS max, count(*) AS count
        FROM readings
        WHERE series_id = ${seriesOf(series)} AND ts >= ${query.from} AND ts < ${query.to}
          AND value_num IS NOT NULL AND (quality IS NULL OR quality <> 'invalid')
        GROUP BY 1 ORDER BY 1`.execute(this.db);
      return rows.map((row) => ({
        start: Number(row.start),
        avg: Number(row.avg),
        min: Number(row.min),
        max: Number(row.max),
        count: Number(row.count),
      }));
    });
  }

  latest(deviceId: string): Promise<Reading[]> {
    return guard(`latest telemetry of ${deviceId}`, async () => {
      // The device's series through the unique index, then one backward key probe per series
      // (per partition) instead of scanning the device's history.
      const { rows } = await sql<SeriesColumns & ValueColumns>`
        SELECT s.device_id, s.measurand, s.phase, l.ts, l.value_num, l.value_text, l.quality
        FROM series s CROSS JOIN LATERAL (
          SELECT ts, value_num, value_text, quality FROM readings r
          WHERE r.series_id = s.id ORDER BY ts DESC LIMIT 1) l
        WHERE s.device_id = ${deviceId}`.execute(this.db);
      return rows.map((row) => readingOf(row, row)).sort(bySeriesKey);
    });
  }

  latestOf(measurands: readonly Measurand[]): Promise<Reading[]> {
    return guard('latest telemetry of the fleet', async () => {
      // Every total series of the measurands, then the same backward key probe per series.
      const { rows } = await sql<SeriesColumns & ValueColumns>`
        SELECT s.device_id, s.measurand, s.phase, l.ts, l.value_num, l.value_text, l.quality
        FROM series s CROSS JOIN LATERAL (
          SELECT ts, value_num, value_text, quality FROM readings r
          WHERE r.series_id = s.id ORDER BY ts DESC LIMIT 1) l
        WHERE s.phase = '' AND s.measurand = ANY(${[...measurands]}::text[])`.execute(this.db);
      return rows.map((row) => readingOf(row, row));
    });
  }

  prune(olderThan: number): Promise<number> {
    return guard('prune telemetry', () =>
      this.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ name: string }>`
          SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'readings'::regclass`.execute(trx);
        let removed = 0;
        // Whole months before the cut-off go by DROP (cheap, returns the space at once) ...
        for (const { name } of rows) {
          const match = PARTITION_NAME.exec(name);
          if (!match) continue;
          const month = monthOf(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
          if (month.end > olderThan) continue;
          const counted = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.id(name)}`.execute(trx);
          removed += Number(counted.rows[0]?.n ?? 0);
          await sql`DROP TABLE ${sql.id(name)}`.execute(trx);
          this.#partitions.delete(month.start);
        }
        // ... and the rest of the month that holds the cut-off by DELETE.
        const deleted = await sql`DELETE FROM readings WHERE ts < ${olderThan}`.execute(trx);
        return removed + Number(deleted.numAffectedRows ?? 0n);
      }),
    );
  }
}

function dedupe(readings: readonly Reading[]): readonly Reading[] {
  const seen = new Map<string, number>();
  let duplicates = false;
  for (let i = 0; i < readings.length; i++) {
    const key = readingKey(readings[i] as Reading);
    if (seen.has(key)) duplicates = true;
    seen.set(key, i);
  }
  if (!duplicates) return readings;
  return [...seen.values()].sort((a, b) => a - b).map((i) => readings[i] as Reading);
}

/** The id of a series, as a scalar subquery (a probe of the unique index). */
function seriesOf(series: SeriesColumns) {
  return sql<number>`(SELECT id FROM series
    WHERE device_id = ${series.device_id} AND measurand = ${series.measurand} AND phase = ${series.phase})`;
}
