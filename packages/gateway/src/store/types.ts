import type {
  Command,
  CommandStatus,
  Device,
  DeviceClass,
  Enrolment,
  EpochMs,
  EventStatus,
  GridseamError,
  Group,
  Measurand,
  Membership,
  NumericMeasurand,
  Phase,
  Program,
  ProgramEvent,
  Reading,
  Site,
} from '@gridseam/model';

/**
 * The store contract. Two implementations (SQLite through better-sqlite3, PostgreSQL through pg),
 * both over kysely with the same migrations, and one contract suite (test/store/contract.ts) run
 * against each. Every write resolves only after it is committed: a resolved write is durable.
 * Entities are validated by the caller (registry, API); the store trusts its input types.
 *
 * Every write takes an optional last `audit` draft: when given, the write and the audit row are
 * committed in one transaction, so an audited write never lands without its audit row (nor the
 * row without the write). A write that fails appends nothing.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the names of those applied now. Idempotent. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
  readonly sites: EntityRepository<Site, SiteFilter>;
  readonly devices: EntityRepository<Device, DeviceFilter>;
  readonly groups: EntityRepository<Group, GroupFilter>;
  readonly memberships: MembershipRepository;
  readonly programs: EntityRepository<Program, ProgramFilter>;
  readonly events: EventRepository;
  readonly enrolments: EntityRepository<Enrolment, EnrolmentFilter>;
  readonly commands: CommandRepository;
  readonly telemetry: TelemetryStore;
  readonly audit: AuditLog;
  /** Opaque JSON documents by (namespace, id), for components that keep their own state (documents.ts). */
  readonly documents: DocumentRepository;
}

export interface Page {
  /** At most this many rows (default 100, capped at 1000). */
  limit?: number;
  offset?: number;
}

export interface SiteFilter extends Page {}
export interface DeviceFilter extends Page {
  siteId?: string;
  class?: DeviceClass;
}
export interface GroupFilter extends Page {
  kind?: Group['kind'];
}
export interface ProgramFilter extends Page {}
export interface EventFilter extends Page {
  programId?: string;
  status?: EventStatus;
  /** Events whose span overlaps [from, to). */
  from?: EpochMs;
  to?: EpochMs;
}
export interface EnrolmentFilter extends Page {
  programId?: string;
  deviceId?: string;
  siteId?: string;
}

/**
 * Generic CRUD over one entity kind, keyed by `id`. `create` fails with GW_ERR_CONFLICT when the
 * id exists; `update` replaces the whole entity and fails with GW_ERR_NOT_FOUND when it does not.
 * Foreign keys are enforced (a device's site must exist): violations are GW_ERR_CONFLICT.
 */
export interface EntityRepository<T extends { id: string }, F extends Page = Page> {
  create(entity: T, audit?: AuditDraft): Promise<T>;
  get(id: string): Promise<T | undefined>;
  list(filter?: F): Promise<T[]>;
  update(entity: T, audit?: AuditDraft): Promise<T>;
  /** Resolves false when there was nothing to delete; the audit draft is then not appended. */
  delete(id: string, audit?: AuditDraft): Promise<boolean>;
  count(filter?: F): Promise<number>;
}

export interface MembershipRepository {
  /** Opens a membership at validFrom; GW_ERR_CONFLICT if the device already has an open one in the group. */
  add(membership: Membership, audit?: AuditDraft): Promise<Membership>;
  /** Closes the open membership at validTo; GW_ERR_NOT_FOUND if none is open. */
  end(groupId: string, deviceId: string, validTo: EpochMs, audit?: AuditDraft): Promise<Membership>;
  /** Full history of a group (or of a device across groups). */
  list(filter: { groupId?: string; deviceId?: string }): Promise<Membership[]>;
  /** Device ids that were members of the group at the instant. */
  membersAt(groupId: string, at: EpochMs): Promise<string[]>;
}

export interface EventRepository extends EntityRepository<ProgramEvent, EventFilter> {
  /** Looks an event up by the identifier its source protocol gave it. */
  getByExternalId(source: ProgramEvent['source'], externalId: string): Promise<ProgramEvent | undefined>;
  /** Appends to the status history and sets the current status in one transaction. */
  setStatus(id: string, status: EventStatus, at: EpochMs, reason?: string, audit?: AuditDraft): Promise<ProgramEvent>;
}

export interface CommandFilter extends Page {
  deviceId?: string;
  status?: CommandStatus;
  /** By creation time (then id): 'asc' oldest first (the default), 'desc' newest first. */
  order?: 'asc' | 'desc';
}

/** One move of a transitionMany batch: the arguments `transition` takes. */
export interface CommandTransition {
  id: string;
  status: CommandStatus;
  at: EpochMs;
  detail?: string;
  patch?: Partial<Pick<Command, 'readBack' | 'error' | 'attempts'>>;
  audit?: AuditDraft;
}

/** What one move of a transitionMany batch came to: the command after it, or why it was refused. */
export type CommandTransitionResult = { ok: true; command: Command } | { ok: false; error: GridseamError };

export interface CommandRepository {
  create(command: Command, audit?: AuditDraft): Promise<Command>;
  /**
   * Creates the commands and appends the audit drafts (in the order given) in one transaction:
   * all of them or none (a duplicate id or missing device is GW_ERR_CONFLICT and writes nothing).
   */
  createMany(commands: readonly Command[], audits?: readonly AuditDraft[]): Promise<Command[]>;
  get(id: string): Promise<Command | undefined>;
  /** The commands with these ids that exist, in the order of `ids` (an id given twice comes once). */
  getMany(ids: readonly string[]): Promise<Command[]>;
  list(filter?: CommandFilter): Promise<Command[]>;
  /**
   * Moves a command to a new status if model.canTransition allows it (else GW_ERR_INVALID_TRANSITION),
   * appending to its history; `patch` may set readBack, error and attempts in the same write.
   */
  transition(
    id: string,
    status: CommandStatus,
    at: EpochMs,
    detail?: string,
    patch?: Partial<Pick<Command, 'readBack' | 'error' | 'attempts'>>,
    audit?: AuditDraft,
  ): Promise<Command>;
  /**
   * Applies the moves in order, each checked as `transition` checks it, in one transaction. A move
   * that is refused (GW_ERR_INVALID_TRANSITION) or names a missing command (GW_ERR_NOT_FOUND) is
   * reported in its result, changes nothing and appends no audit row; the allowed ones commit
   * together with their audit rows. Several moves of one command apply one after the other.
   * Resolves, one result per move, after the commit; rejects, committing nothing, when the write
   * fails (an audit row included).
   */
  transitionMany(transitions: readonly CommandTransition[]): Promise<CommandTransitionResult[]>;
}

export interface TelemetryQuery {
  deviceId: string;
  measurand: Measurand;
  /** Inclusive. */
  from: EpochMs;
  /** Exclusive. */
  to: EpochMs;
  /** Absent selects the total (no phase). */
  phase?: Phase;
  /** Raw queries only: at most this many readings, oldest first (default 10,000, capped at 100,000). */
  limit?: number;
}

export interface DownsampleQuery extends Omit<TelemetryQuery, 'limit' | 'measurand'> {
  measurand: NumericMeasurand;
  /** Bucket width, ms; buckets are aligned to multiples of bucketMs since the epoch. */
  bucketMs: number;
}

/** One downsampling bucket: [start, start + bucketMs). Empty buckets are omitted. */
export interface Bucket {
  start: EpochMs;
  avg: number;
  min: number;
  max: number;
  count: number;
}

export interface TelemetryStore {
  /**
   * Writes a batch in one transaction; resolves with the number written once committed.
   * Duplicate (deviceId, measurand, phase, ts) rows replace the earlier value (idempotent re-delivery).
   */
  write(readings: readonly Reading[]): Promise<number>;
  query(query: TelemetryQuery): Promise<Reading[]>;
  downsample(query: DownsampleQuery): Promise<Bucket[]>;
  /** The newest reading of each measurand (and phase) of a device. */
  latest(deviceId: string): Promise<Reading[]>;
  /**
   * For every device at once: the newest total (no phase) reading of each of these measurands, in
   * one query (fleet summaries). A device without such a series is simply absent; order unspecified.
   */
  latestOf(measurands: readonly Measurand[]): Promise<Reading[]>;
  /** Deletes readings older than the instant (the retention setting); returns how many. */
  prune(olderThan: EpochMs): Promise<number>;
}

export interface AuditEntry {
  /** Assigned by the store, increasing. */
  seq: number;
  at: EpochMs;
  /** Who: an API token's name, 'system', or a protocol endpoint's identity. */
  actor: string;
  /** What: e.g. 'site.create', 'device.update', 'setpoint.create', 'command.transition'. */
  action: string;
  targetType: string;
  targetId?: string;
  detail?: Record<string, unknown>;
}

/** An audit entry before the store has assigned its seq: what the write methods' `audit` takes. */
export type AuditDraft = Omit<AuditEntry, 'seq'>;

export interface AuditFilter extends Page {
  from?: EpochMs;
  to?: EpochMs;
  actor?: string;
  targetType?: string;
  targetId?: string;
}

/** Append-only: rows are never updated or deleted (the database refuses it with a trigger). */
export interface AuditLog {
  append(entry: AuditDraft): Promise<AuditEntry>;
  list(filter?: AuditFilter): Promise<AuditEntry[]>;
}

export type StoreConfig =
  | { kind: 'sqlite' /** File path, or ':memory:'. */; path: string }
  | {
      kind: 'postgres';
      url: string /** Schema to use (created if missing); default 'public'. */;
      schema?: string;
      poolSize?: number;
    };

/** One change to a namespace: `doc` replaces (or creates) the document; `null` deletes it. */
export interface DocumentChange {
  id: string;
  doc: unknown;
}

export interface StoredDocument {
  id: string;
  doc: unknown;
  /** When the document was last written (the store's clock), epoch ms. */
  updatedAt: EpochMs;
}

/**
 * A key-value store of JSON documents, grouped by namespace, for components that own their state
 * and its shape (the IEEE 2030.5 utility server). The store does not look inside a document: it
 * keeps the JSON text exactly as written. Namespaces and ids are non-empty strings of at most 200
 * and 500 characters; a document is any JSON value but null (null in a change means delete).
 */
export interface DocumentRepository {
  /** Every document of the namespace, ordered by id. */
  list(namespace: string): Promise<StoredDocument[]>;
  get(namespace: string, id: string): Promise<unknown | undefined>;
  /**
   * Applies the changes in one transaction: all of them or none. When an id appears twice, the
   * later change wins. Deleting a missing document is not an error.
   */
  write(namespace: string, changes: readonly DocumentChange[]): Promise<void>;
  count(namespace: string): Promise<number>;
}
