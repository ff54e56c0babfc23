import type { ColumnType, Generated } from 'kysely';

/**
 * The tables as kysely sees them. `doc` holds the whole entity as JSON: text in SQLite, jsonb in
 * PostgreSQL (the pg driver hands jsonb back already parsed, hence `unknown` on select). Instants
 * are integer milliseconds (SQLite integer, PostgreSQL bigint parsed to number by the pool).
 */
export type JsonDoc = ColumnType<unknown, string, string>;

export interface DocumentRow {
  id: string;
  doc: JsonDoc;
}

export interface SitesTable extends DocumentRow {}

export interface DevicesTable extends DocumentRow {
  site_id: string;
  class: string;
}

export interface GroupsTable extends DocumentRow {
  kind: string;
}

export interface MembershipsTable {
  id: Generated<number>;
  group_id: string;
  device_id: string;
  valid_from: number;
  valid_to: number | null;
}

export interface ProgramsTable extends DocumentRow {}

export interface EventsTable extends DocumentRow {
  program_id: string;
  source: string;
  external_id: string | null;
  status: string;
  start_ts: number;
  end_ts: number;
}

export interface EnrolmentsTable extends DocumentRow {
  program_id: string;
  device_id: string | null;
  site_id: string | null;
  status: string;
}

export interface CommandsTable extends DocumentRow {
  device_id: string;
  status: string;
  created_at: number;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  detail: ColumnType<unknown, string | null, never>;
}

/** One telemetry series; readings refer to it by id. */
export interface SeriesTable {
  id: Generated<number>;
  device_id: string;
  measurand: string;
  /** '' for the total over all phases, so the unique key needs no NULL handling. */
  phase: string;
}

export interface ReadingsTable {
  series_id: number;
  ts: number;
  value_num: number | null;
  value_text: string | null;
  quality: string | null;
}

/**
 * Opaque documents by (namespace, id): JSON text in both dialects, so a document reads back exactly
 * as written (jsonb would reorder keys and refuses \u0000). Written by store/documents.ts.
 */
export interface DocumentsTable {
  namespace: string;
  id: string;
  doc: ColumnType<string, string, string>;
  updated_at: number;
}

export interface Database {
  sites: SitesTable;
  devices: DevicesTable;
  groups: GroupsTable;
  memberships: MembershipsTable;
  programs: ProgramsTable;
  events: EventsTable;
  enrolments: EnrolmentsTable;
  commands: CommandsTable;
  audit_log: AuditLogTable;
  series: SeriesTable;
  readings: ReadingsTable;
  documents: DocumentsTable;
}

export type DocumentTableName = 'sites' | 'devices' | 'groups' | 'programs' | 'events' | 'enrolments' | 'commands';

export type Dialect = 'sqlite' | 'postgres';
