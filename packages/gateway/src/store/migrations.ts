import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import type { Dialect } from './schema.ts';

/**
 * The one set of migrations, used by both dialects. Names sort in the order they apply; never edit
 * a shipped migration, add a new one. Dialect differences are kept to column types, the audit
 * trigger body and the readings table layout (see the comment on index.ts).
 */

/** Column types that differ by dialect. */
function types(dialect: Dialect) {
  return dialect === 'postgres'
    ? { json: sql`jsonb`, instant: sql`bigint`, serial: sql`bigint generated always as identity primary key` }
    : { json: sql`text`, instant: sql`integer`, serial: sql`integer primary key autoincrement` };
}

/**
 * Telemetry series: one row per (device, measurand, phase), numbered by an integer id that the
 * readings carry instead of the three text columns, so the readings key is (series_id, ts), small
 * and compared as integers. The unique key lets several processes resolve a series concurrently
 * (INSERT ... ON CONFLICT DO NOTHING, then SELECT) and reach the same id. Rows are never deleted,
 * not even when retention empties a series: writers cache ids in memory for the life of the
 * process, so an id must stay bound to its series. The index behind the unique key also finds a
 * device's series (latest()).
 */
const SERIES_DDL = (dialect: Dialect) => `CREATE TABLE series (
    id ${dialect === 'postgres' ? 'bigint generated always as identity primary key' : 'INTEGER PRIMARY KEY'},
    device_id text NOT NULL,
    measurand text NOT NULL,
    phase text NOT NULL DEFAULT '',
    UNIQUE (device_id, measurand, phase)
  )`;

/**
 * SQLite readings table. WITHOUT ROWID stores rows in the primary-key b-tree itself, so an insert
 * touches one b-tree instead of a rowid table plus a unique index. No index on ts: retention walks
 * the series through the key instead (sqlite.ts), and a ts index costs ingest dearly when readings
 * arrive device by device. No foreign key to series: it would cost every merged row a lookup, and
 * series rows are never deleted. Exported so the benchmark's raw floor uses exactly the same
 * tables.
 */
export const SQLITE_READINGS_DDL = [
  SERIES_DDL('sqlite'),
  `CREATE TABLE readings (
    series_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value_num REAL,
    value_text TEXT,
    quality TEXT,
    PRIMARY KEY (series_id, ts)
  ) WITHOUT ROWID`,
] as const;

/**
 * SQLite write-ahead inbox for readings: a plain rowid table with no index, so committing a batch
 * appends to a few pages whatever the number of series in it. Its rows are merged into readings
 * in (series_id, ts) order in bulk (sqlite.ts); rowid order decides between duplicates (the later
 * wins).
 */
export const SQLITE_INBOX_DDL = `CREATE TABLE readings_inbox (
    series_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value_num REAL,
    value_text TEXT,
    quality TEXT
  )`;

/**
 * PostgreSQL readings table: range-partitioned by ts into calendar months (UTC), partitions created
 * on demand by the writer (postgres.ts). No default partition: rows in a default partition would
 * block creating the matching range later. The key includes ts, as partitioned keys must.
 */
const PG_READINGS_DDL = `CREATE TABLE readings (
    series_id bigint NOT NULL,
    ts bigint NOT NULL,
    value_num double precision,
    value_text text,
    quality text,
    PRIMARY KEY (series_id, ts)
  ) PARTITION BY RANGE (ts)`;

function entities(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE sites (id text PRIMARY KEY, doc ${t.json} NOT NULL)`.execute(db);
      await sql`CREATE TABLE devices (
        id text PRIMARY KEY,
        site_id text NOT NULL REFERENCES sites (id),
        class text NOT NULL,
        doc ${t.json} NOT NULL)`.execute(db);
      await sql`CREATE INDEX devices_site ON devices (site_id, id)`.execute(db);
      await sql`CREATE INDEX devices_class ON devices (class, id)`.execute(db);
      await sql`CREATE TABLE groups (id text PRIMARY KEY, kind text NOT NULL, doc ${t.json} NOT NULL)`.execute(db);
      await sql`CREATE TABLE memberships (
        id ${t.serial},
        group_id text NOT NULL REFERENCES groups (id),
        device_id text NOT NULL REFERENCES devices (id),
        valid_from ${t.instant} NOT NULL,
        valid_to ${t.instant},
        CHECK (valid_to IS NULL OR valid_to >= valid_from))`.execute(db);
      // At most one open membership of a device in a group; closed ones are history.
      await sql`CREATE UNIQUE INDEX memberships_open ON memberships (group_id, device_id) WHERE valid_to IS NULL`.execute(
        db,
      );
      await sql`CREATE INDEX memberships_group ON memberships (group_id, valid_from)`.execute(db);
      await sql`CREATE INDEX memberships_device ON memberships (device_id, valid_from)`.execute(db);
      await sql`CREATE TABLE programs (id text PRIMARY KEY, doc ${t.json} NOT NULL)`.execute(db);
      await sql`CREATE TABLE events (
        id text PRIMARY KEY,
        program_id text NOT NULL REFERENCES programs (id),
        source text NOT NULL,
        external_id text,
        status text NOT NULL,
        start_ts ${t.instant} NOT NULL,
        end_ts ${t.instant} NOT NULL,
        doc ${t.json} NOT NULL)`.execute(db);
      // NULL external ids are distinct in both dialects, so events without one never collide.
      await sql`CREATE UNIQUE INDEX events_external ON events (source, external_id)`.execute(db);
      await sql`CREATE INDEX events_program ON events (program_id, start_ts)`.execute(db);
      await sql`CREATE INDEX events_span ON events (start_ts, end_ts)`.execute(db);
      await sql`CREATE TABLE enrolments (
        id text PRIMARY KEY,
        program_id text NOT NULL REFERENCES programs (id),
        device_id text,
        site_id text,
        status text NOT NULL,
        doc ${t.json} NOT NULL)`.execute(db);
      await sql`CREATE INDEX enrolments_program ON enrolments (program_id)`.execute(db);
      await sql`CREATE INDEX enrolments_device ON enrolments (device_id)`.execute(db);
      await sql`CREATE INDEX enrolments_site ON enrolments (site_id)`.execute(db);
      await sql`CREATE TABLE commands (
        id text PRIMARY KEY,
        device_id text NOT NULL REFERENCES devices (id),
        status text NOT NULL,
        created_at ${t.instant} NOT NULL,
        doc ${t.json} NOT NULL)`.execute(db);
      await sql`CREATE INDEX commands_device ON commands (device_id, created_at)`.execute(db);
      await sql`CREATE INDEX commands_status ON commands (status, created_at)`.execute(db);
    },
  };
}

function audit(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE audit_log (
        seq ${t.serial},
        at ${t.instant} NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        target_type text NOT NULL,
        target_id text,
        detail ${t.json})`.execute(db);
      await sql`CREATE INDEX audit_log_at ON audit_log (at)`.execute(db);
      await sql`CREATE INDEX audit_log_target ON audit_log (target_type, target_id)`.execute(db);
      // Append-only is enforced by the database, not by convention: UPDATE and DELETE abort.
      if (dialect === 'postgres') {
        await sql`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'raise_exception';
          END $$`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
          FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
          FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);
      } else {
        await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE refused)'); END`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END`.execute(db);
      }
    },
  };
}

/**
 * Rewritten in place before the first release (nothing had shipped): readings were first keyed by
 * (device_id, measurand, phase, ts); they now reference a series id (see SERIES_DDL).
 */
function telemetry(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === 'postgres') {
        await sql.raw(SERIES_DDL('postgres')).execute(db);
        await sql.raw(PG_READINGS_DDL).execute(db);
      } else {
        for (const statement of SQLITE_READINGS_DDL) await sql.raw(statement).execute(db);
        await sql.raw(SQLITE_INBOX_DDL).execute(db);
      }
    },
  };
}

/**
 * Namespaced JSON documents (store/documents.ts). `doc` is text in both dialects: the documents
 * are opaque to the store and must read back byte for byte. The primary key serves the one query
 * pattern, a namespace listed in id order.
 */
function documents(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE documents (
        namespace text NOT NULL,
        id text NOT NULL,
        doc text NOT NULL,
        updated_at ${t.instant} NOT NULL,
        PRIMARY KEY (namespace, id))`.execute(db);
    },
  };
}

export class GridseamMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001_entities': entities(this.dialect),
      '0002_audit_log': audit(this.dialect),
      '0003_telemetry': telemetry(this.dialect),
      '0004_documents': documents(this.dialect),
    };
  }
}
