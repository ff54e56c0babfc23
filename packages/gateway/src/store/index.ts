/**
 * # The store
 *
 * `openStore(config)` returns a `Store` (types.ts) over kysely: better-sqlite3 for the embedded
 * default, pg for PostgreSQL. Call `store.migrate()` once after opening; it applies the one set of
 * migrations (migrations.ts, an in-code provider shared by both dialects) and is idempotent.
 *
 * ## Entities: JSON documents plus indexed columns
 * Each entity table (sites, devices, groups, programs, events, enrolments, commands) keeps the
 * whole entity in `doc` (SQLite text, PostgreSQL jsonb) and copies out only the fields that
 * queries filter, sort or join on (site_id, class, kind, program_id, status, source+external_id,
 * start_ts/end_ts, device_id, created_at). The model is rich, nested and still changing; the
 * document keeps a read a single-row fetch with no mapping layer and lets the model grow without a
 * migration per field, while the copied columns carry the indexes, unique keys and foreign keys
 * (device -> site, membership -> group and device, event and enrolment -> program, command ->
 * device). Lists are ordered stably: by id; events by (start, id); commands by (createdAt, id);
 * memberships by (validFrom, insertion); audit by seq. Pages default to 100 rows, at most 1000.
 *
 * Memberships are rows over [validFrom, validTo); a partial unique index allows one open row per
 * (group, device). The audit log is append-only, enforced by triggers in both dialects that abort
 * UPDATE and DELETE (and TRUNCATE in PostgreSQL); seq is an autoincrement/identity column.
 *
 * ## Telemetry
 * Two tables. `series(id, device_id, measurand, phase)`, UNIQUE (device_id, measurand, phase),
 * names each series once with an integer id (SQLite INTEGER PRIMARY KEY, PostgreSQL bigint
 * identity). `readings(series_id, ts, value_num, value_text, quality)` is keyed by
 * (series_id, ts): re-delivery of a reading is an upsert, so it is idempotent, and the key is two
 * integers, cheap to sort and compare. phase '' is the total; a value the device did not report is
 * no row, never 0. The unit is not stored: each measurand has exactly one canonical unit. No
 * foreign keys (readings -> series, series -> devices): they would cost every insert a lookup, and
 * readings may outlive a device until retention.
 *
 * Series ids: each writer keeps an in-process cache (device -> measurand -> phase -> id,
 * readings.ts SeriesIds). A miss is resolved inside the write's own transaction with INSERT ...
 * ON CONFLICT DO NOTHING then SELECT, so the series row commits with its first readings, and
 * several processes (or two stores on one SQLite file) reach the same id through the unique key.
 * Ids enter the cache only after the commit (a rolled-back id may be handed out again). Series
 * rows are never deleted, retention included, so a cached id stays bound to its series. Reads do
 * not use the cache: query and downsample find the series by a unique-index probe in the same
 * statement, latest() walks the device's series through that index, then each range-scans or
 * probes readings by (series_id, ts).
 * - SQLite: readings WITHOUT ROWID (the key b-tree is the table), no index on ts (retention seeks
 *   each series' old range through the key). `write` appends (series_id, ts, value...) rows to an
 *   unindexed readings_inbox in one transaction through cached better-sqlite3 statements (under
 *   kysely's connection mutex); the inbox is merged into readings in (series_id, ts) order every
 *   100,000 rows and before every read. Live readings arrive time-major, so writing each batch
 *   straight into the series-ordered table would dirty one page per series per commit; the merge
 *   rewrites each page once per 100,000 rows (sqlite.ts).
 * - PostgreSQL: readings range-partitioned by ts into UTC calendar months (primary key
 *   (series_id, ts) in each), each partition created on demand before the first write into it.
 *   Chosen over one table + BRIN because retention is then a DROP of whole months (no vacuum debt,
 *   space returned at once) and time-bounded queries prune partitions. No default partition, since
 *   rows in it would block creating that month later. Writes are one INSERT ... SELECT FROM
 *   unnest(typed arrays) ON CONFLICT DO UPDATE per chunk, after the series misses are resolved,
 *   all in one transaction (postgres.ts).
 *
 * ## Documents
 * `documents(namespace, id, doc, updated_at)` keeps opaque JSON documents for components that own
 * their state's shape (the IEEE 2030.5 utility server, through gateway/src/utility/state-store.ts).
 * `doc` is text in both dialects so a document reads back exactly as written; a write is one
 * transaction of deletes and chunked upserts (documents.ts). On SQLite every documents call runs
 * through cached better-sqlite3 statements, a write in one IMMEDIATE transaction under kysely's
 * connection mutex (sqlite-documents.ts); PostgreSQL keeps kysely.
 *
 * Audit: every repository write takes an optional audit draft; when given, the write and the
 * audit insert commit in one transaction, so an operator write is never without its audit row.
 *
 * Commands on SQLite: the calls a control fan-out repeats per command (createMany, getMany,
 * transition, transitionMany) run through cached better-sqlite3 statements (sqlite-commands.ts)
 * instead of kysely, with the same checks, transactions and audit rows.
 *
 * Durability: a write resolves after COMMIT. SQLite runs WAL with synchronous=NORMAL, which keeps
 * commits across a process crash; a power loss may lose the last few.
 *
 * Errors: unique and foreign-key violations are GW_ERR_CONFLICT, missing rows on update and
 * transitions GW_ERR_NOT_FOUND, refused command transitions GW_ERR_INVALID_TRANSITION, an
 * unreachable database GW_ERR_STORE_UNAVAILABLE (retryable).
 */
import { GridseamError } from '@gridseam/model';
import { type Kysely, Migrator } from 'kysely';
import { type Logger, pino } from 'pino';
import { documentRepository } from './documents.ts';
import { guard, mapStoreError } from './errors.ts';
import { GridseamMigrations } from './migrations.ts';
import { openPostgres, PostgresTelemetry } from './postgres.ts';
import {
  auditLog,
  commandRepository,
  deviceRepository,
  enrolmentRepository,
  eventRepository,
  groupRepository,
  membershipRepository,
  programRepository,
  type StoreContext,
  siteRepository,
} from './repositories.ts';
import type { Database, Dialect } from './schema.ts';
import { openSqlite, SqliteTelemetry } from './sqlite.ts';
import { sqliteCommandRepository } from './sqlite-commands.ts';
import { sqliteDocumentRepository } from './sqlite-documents.ts';
import type { CommandRepository, DocumentRepository, Store, StoreConfig, TelemetryStore } from './types.ts';

export { mapStoreError } from './errors.ts';
export type * from './types.ts';

/** What a store is built on, for tests and tools that must reach under the Store interface. */
export interface StoreInternals {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
}

const internals = new WeakMap<Store, StoreInternals>();

/** The kysely instance under a store opened by openStore (tests use it to try raw SQL). */
export function storeInternals(store: Store): StoreInternals {
  const found = internals.get(store);
  if (!found) throw new GridseamError('GW_ERR_INTERNAL', 'not a store opened by openStore');
  return found;
}

export interface OpenStoreOptions {
  logger?: Logger;
}

function assemble(
  dialect: Dialect,
  db: Kysely<Database>,
  telemetry: TelemetryStore,
  logger: Logger,
  options: { migrationTableSchema?: string; commands?: CommandRepository; documents?: DocumentRepository } = {},
): Store {
  const { migrationTableSchema } = options;
  const ctx: StoreContext = { db, dialect };
  let closed = false;
  const store: Store = {
    kind: dialect,
    migrate: () =>
      guard('migrate', async () => {
        const migrator = new Migrator({
          db,
          provider: new GridseamMigrations(dialect),
          ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
        });
        const { error, results } = await migrator.migrateToLatest();
        if (error !== undefined) throw mapStoreError(error, 'migrate');
        const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
        if (applied.length > 0) logger.info({ applied }, 'store migrations applied');
        return applied;
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
    sites: siteRepository(ctx),
    devices: deviceRepository(ctx),
    groups: groupRepository(ctx),
    memberships: membershipRepository(ctx),
    programs: programRepository(ctx),
    events: eventRepository(ctx),
    enrolments: enrolmentRepository(ctx),
    commands: options.commands ?? commandRepository(ctx),
    telemetry,
    audit: auditLog(ctx),
    documents: options.documents ?? documentRepository(ctx),
  };
  internals.set(store, ctx);
  return store;
}

/**
 * Opens a store; call `migrate()` before first use. SQLite: `{ kind: 'sqlite', path }` (a file or
 * ':memory:'). PostgreSQL: `{ kind: 'postgres', url, schema? }`; the schema is created if missing.
 */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<Store> {
  const logger = options.logger ?? pino({ level: 'silent' });
  switch (config.kind) {
    case 'sqlite': {
      const { db, raw } = openSqlite(config.path);
      const ctx: StoreContext = { db, dialect: 'sqlite' };
      const commands = sqliteCommandRepository(ctx, raw);
      const documents = sqliteDocumentRepository(ctx, raw);
      return assemble('sqlite', db, new SqliteTelemetry(db, raw, logger), logger, { commands, documents });
    }
    case 'postgres': {
      const { db, schema } = await openPostgres(config, logger);
      return assemble('postgres', db, new PostgresTelemetry(db), logger, { migrationTableSchema: schema });
    }
    default:
      throw new GridseamError('GW_ERR_CONFIG', `unknown store kind ${(config as { kind: unknown }).kind}`);
  }
}
