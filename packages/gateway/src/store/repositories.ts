import {
  type Command,
  type CommandStatus,
  canTransition,
  type Device,
  type Enrolment,
  type EpochMs,
  type EventStatus,
  eventEnd,
  eventStart,
  GridseamError,
  type Group,
  type Membership,
  type Program,
  type ProgramEvent,
  type Site,
} from '@gridseam/model';
import type { Expression, ExpressionBuilder, Kysely, SqlBool, Transaction } from 'kysely';
import { guard } from './errors.ts';
import type { Database, Dialect, DocumentTableName } from './schema.ts';
import type {
  AuditDraft,
  AuditEntry,
  AuditFilter,
  AuditLog,
  CommandFilter,
  CommandRepository,
  CommandTransition,
  CommandTransitionResult,
  DeviceFilter,
  EnrolmentFilter,
  EntityRepository,
  EventFilter,
  EventRepository,
  GroupFilter,
  MembershipRepository,
  Page,
  ProgramFilter,
  SiteFilter,
} from './types.ts';

export interface StoreContext {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
}

/**
 * The document repositories address their table by name, so they see the database through a
 * loose view: every table a bag of columns. The typed `Database` still documents the schema.
 */
type LooseDatabase = Record<string, Record<string, unknown>>;
type LooseExpressions = ExpressionBuilder<LooseDatabase, string>;

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export function pageOf(page: Page | undefined): { limit: number; offset: number } {
  const limit = page?.limit === undefined ? DEFAULT_PAGE_LIMIT : Math.trunc(page.limit);
  const offset = page?.offset === undefined ? 0 : Math.trunc(page.offset);
  return {
    limit: Math.min(Math.max(Number.isFinite(limit) ? limit : DEFAULT_PAGE_LIMIT, 0), MAX_PAGE_LIMIT),
    offset: Math.max(Number.isFinite(offset) ? offset : 0, 0),
  };
}

/** jsonb comes back parsed from pg; SQLite text needs parsing. */
export function parseDoc<T>(raw: unknown): T {
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as T;
}

function loose(db: Kysely<Database> | Transaction<Database>): Kysely<LooseDatabase> {
  return db as unknown as Kysely<LooseDatabase>;
}

/** An audit draft as the columns of its audit_log row (detail as JSON text). */
export function auditRow(entry: AuditDraft) {
  return {
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId ?? null,
    detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
  };
}

/**
 * The one audit insert: AuditLog.append and every audited write go through it (or insertAudits;
 * the SQLite command path, sqlite-commands.ts, binds the same auditRow columns to a cached statement).
 */
async function insertAudit(db: Kysely<Database>, entry: AuditDraft): Promise<AuditEntry> {
  const row = await db.insertInto('audit_log').values(auditRow(entry)).returning('seq').executeTakeFirstOrThrow();
  const appended: AuditEntry = {
    seq: Number(row.seq),
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    targetType: entry.targetType,
  };
  if (entry.targetId !== undefined) appended.targetId = entry.targetId;
  if (entry.detail !== undefined) appended.detail = entry.detail;
  return appended;
}

/** Rows per multi-row statement: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const ROWS_PER_STATEMENT = 500;

export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The batch form of insertAudit, for writes of many rows: multi-row inserts, seq in the order given. */
async function insertAudits(db: Kysely<Database>, entries: readonly AuditDraft[]): Promise<void> {
  for (const chunk of chunksOf(entries, ROWS_PER_STATEMENT))
    await db.insertInto('audit_log').values(chunk.map(auditRow)).execute();
}

/**
 * Runs a single-statement write on its own or, given an audit draft, in one transaction with the
 * audit insert, so both commit or neither does. `appendIf` lets a write that changed nothing (a
 * delete of a missing row) leave no audit row.
 */
function auditedWrite<T>(
  db: Kysely<Database>,
  audit: AuditDraft | undefined,
  write: (executor: Kysely<Database>) => Promise<T>,
  appendIf: (result: T) => boolean = () => true,
): Promise<T> {
  if (audit === undefined) return write(db);
  return db.transaction().execute(async (trx) => {
    const result = await write(trx);
    if (appendIf(result)) await insertAudit(trx, audit);
    return result;
  });
}

export interface DocumentSpec<T, F> {
  table: DocumentTableName;
  /** What the rows are called in messages, e.g. 'device'. */
  noun: string;
  /** The indexed columns derived from the entity. */
  columns(entity: T): Record<string, string | number | null>;
  conditions(eb: LooseExpressions, filter: F): Expression<SqlBool>[];
  orderBy: readonly string[];
  /** Whether a filter asks for the orderBy columns descending (newest first); ascending when absent. */
  descending?(filter: F): boolean;
}

/** CRUD over a table of JSON documents plus the indexed columns that filters use. */
export class DocumentRepository<T extends { id: string }, F extends Page> implements EntityRepository<T, F> {
  constructor(
    protected readonly ctx: StoreContext,
    protected readonly spec: DocumentSpec<T, F>,
  ) {}

  create(entity: T, audit?: AuditDraft): Promise<T> {
    return guard(`create ${this.spec.noun} ${entity.id}`, () =>
      auditedWrite(this.ctx.db, audit, async (db) => {
        await loose(db)
          .insertInto(this.spec.table)
          .values({ id: entity.id, doc: JSON.stringify(entity), ...this.spec.columns(entity) })
          .execute();
        return entity;
      }),
    );
  }

  get(id: string): Promise<T | undefined> {
    return guard(`get ${this.spec.noun} ${id}`, async () => {
      const row = await loose(this.ctx.db)
        .selectFrom(this.spec.table)
        .select('doc')
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : parseDoc<T>(row.doc);
    });
  }

  list(filter?: F): Promise<T[]> {
    return guard(`list ${this.spec.noun}s`, async () => {
      const { limit, offset } = pageOf(filter);
      if (limit === 0) return [];
      let query = loose(this.ctx.db)
        .selectFrom(this.spec.table)
        .select('doc')
        .where((eb) => eb.and(filter ? this.spec.conditions(eb, filter) : []));
      const direction = filter !== undefined && this.spec.descending?.(filter) === true ? 'desc' : 'asc';
      for (const column of this.spec.orderBy) query = query.orderBy(column, direction);
      const rows = await query.limit(limit).offset(offset).execute();
      return rows.map((row) => parseDoc<T>(row.doc));
    });
  }

  update(entity: T, audit?: AuditDraft): Promise<T> {
    return guard(`update ${this.spec.noun} ${entity.id}`, () =>
      auditedWrite(this.ctx.db, audit, async (db) => {
        const result = await loose(db)
          .updateTable(this.spec.table)
          .set({ doc: JSON.stringify(entity), ...this.spec.columns(entity) })
          .where('id', '=', entity.id)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n)
          throw new GridseamError('GW_ERR_NOT_FOUND', `${this.spec.noun} ${entity.id} not found`);
        return entity;
      }),
    );
  }

  delete(id: string, audit?: AuditDraft): Promise<boolean> {
    return guard(`delete ${this.spec.noun} ${id}`, () =>
      auditedWrite(
        this.ctx.db,
        audit,
        async (db) => {
          const result = await loose(db).deleteFrom(this.spec.table).where('id', '=', id).executeTakeFirst();
          return result.numDeletedRows > 0n;
        },
        (deleted) => deleted,
      ),
    );
  }

  count(filter?: F): Promise<number> {
    return guard(`count ${this.spec.noun}s`, async () => {
      const row = await loose(this.ctx.db)
        .selectFrom(this.spec.table)
        .select((eb) => eb.fn.countAll().as('n'))
        .where((eb) => eb.and(filter ? this.spec.conditions(eb, filter) : []))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  /** Reads one document inside a transaction, locking its row where the dialect can. */
  protected async lockedGet(trx: Transaction<Database>, id: string): Promise<T> {
    let query = loose(trx).selectFrom(this.spec.table).select('doc').where('id', '=', id);
    if (this.ctx.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (row === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `${this.spec.noun} ${id} not found`);
    return parseDoc<T>(row.doc);
  }

  protected async replaceIn(trx: Transaction<Database>, entity: T): Promise<void> {
    await loose(trx)
      .updateTable(this.spec.table)
      .set({ doc: JSON.stringify(entity), ...this.spec.columns(entity) })
      .where('id', '=', entity.id)
      .execute();
  }
}

/** Equality conditions for the filter fields that are set. */
function equalities(eb: LooseExpressions, pairs: ReadonlyArray<[string, unknown]>): Expression<SqlBool>[] {
  return pairs.filter(([, value]) => value !== undefined).map(([column, value]) => eb(column, '=', value));
}

export function siteRepository(ctx: StoreContext): EntityRepository<Site, SiteFilter> {
  return new DocumentRepository<Site, SiteFilter>(ctx, {
    table: 'sites',
    noun: 'site',
    columns: () => ({}),
    conditions: () => [],
    orderBy: ['id'],
  });
}

export function deviceRepository(ctx: StoreContext): EntityRepository<Device, DeviceFilter> {
  return new DocumentRepository<Device, DeviceFilter>(ctx, {
    table: 'devices',
    noun: 'device',
    columns: (device) => ({ site_id: device.siteId, class: device.class }),
    conditions: (eb, filter) =>
      equalities(eb, [
        ['site_id', filter.siteId],
        ['class', filter.class],
      ]),
    orderBy: ['id'],
  });
}

export function groupRepository(ctx: StoreContext): EntityRepository<Group, GroupFilter> {
  return new DocumentRepository<Group, GroupFilter>(ctx, {
    table: 'groups',
    noun: 'group',
    columns: (group) => ({ kind: group.kind }),
    conditions: (eb, filter) => equalities(eb, [['kind', filter.kind]]),
    orderBy: ['id'],
  });
}

export function programRepository(ctx: StoreContext): EntityRepository<Program, ProgramFilter> {
  return new DocumentRepository<Program, ProgramFilter>(ctx, {
    table: 'programs',
    noun: 'program',
    columns: () => ({}),
    conditions: () => [],
    orderBy: ['id'],
  });
}

export function enrolmentRepository(ctx: StoreContext): EntityRepository<Enrolment, EnrolmentFilter> {
  return new DocumentRepository<Enrolment, EnrolmentFilter>(ctx, {
    table: 'enrolments',
    noun: 'enrolment',
    columns: (enrolment) => ({
      program_id: enrolment.programId,
      device_id: enrolment.deviceId ?? null,
      site_id: enrolment.siteId ?? null,
      status: enrolment.status,
    }),
    conditions: (eb, filter) =>
      equalities(eb, [
        ['program_id', filter.programId],
        ['device_id', filter.deviceId],
        ['site_id', filter.siteId],
      ]),
    orderBy: ['id'],
  });
}

class Events extends DocumentRepository<ProgramEvent, EventFilter> implements EventRepository {
  getByExternalId(source: ProgramEvent['source'], externalId: string): Promise<ProgramEvent | undefined> {
    return guard(`get event ${source}/${externalId}`, async () => {
      const row = await this.ctx.db
        .selectFrom('events')
        .select('doc')
        .where('source', '=', source)
        .where('external_id', '=', externalId)
        .executeTakeFirst();
      return row === undefined ? undefined : parseDoc<ProgramEvent>(row.doc);
    });
  }

  setStatus(id: string, status: EventStatus, at: EpochMs, reason?: string, audit?: AuditDraft): Promise<ProgramEvent> {
    return guard(`set status of event ${id}`, () =>
      this.ctx.db.transaction().execute(async (trx) => {
        const event = await this.lockedGet(trx, id);
        const change = reason === undefined ? { status, at } : { status, at, reason };
        const next: ProgramEvent = { ...event, status, statusHistory: [...event.statusHistory, change], updatedAt: at };
        await this.replaceIn(trx, next);
        if (audit !== undefined) await insertAudit(trx, audit);
        return next;
      }),
    );
  }
}

export function eventRepository(ctx: StoreContext): EventRepository {
  return new Events(ctx, {
    table: 'events',
    noun: 'event',
    columns: (event) => ({
      program_id: event.programId,
      source: event.source,
      external_id: event.externalId ?? null,
      status: event.status,
      start_ts: eventStart(event),
      end_ts: eventEnd(event),
    }),
    conditions: (eb, filter) => {
      const conditions = equalities(eb, [
        ['program_id', filter.programId],
        ['status', filter.status],
      ]);
      // Overlap of [start, end) with [from, to).
      if (filter.to !== undefined) conditions.push(eb('start_ts', '<', filter.to));
      if (filter.from !== undefined) conditions.push(eb('end_ts', '>', filter.from));
      return conditions;
    },
    orderBy: ['start_ts', 'id'],
  });
}

/** The command after an allowed move: status, history entry and patch applied. */
export function moved(command: Command, move: CommandTransition): Command {
  const { status, at, detail, patch } = move;
  const change = detail === undefined ? { status, at } : { status, at, detail };
  const next: Command = { ...command, status, updatedAt: at, history: [...command.history, change] };
  if (patch?.readBack !== undefined) next.readBack = patch.readBack;
  if (patch?.error !== undefined) next.error = patch.error;
  if (patch?.attempts !== undefined) next.attempts = patch.attempts;
  return next;
}

function refusedMove(command: Command, status: CommandStatus): GridseamError {
  return new GridseamError(
    'GW_ERR_INVALID_TRANSITION',
    `command ${command.id} cannot move from ${command.status} to ${status}`,
  );
}

/** What a batch of moves comes to, given the stored commands it touches (read in its transaction). */
export interface TransitionPlan {
  /** One per move, in order. */
  results: CommandTransitionResult[];
  /** Each command changed by the batch once, as it ends up (several moves of one command chain). */
  changed: Command[];
  /** The audit drafts of the allowed moves, in order. */
  audits: AuditDraft[];
}

/**
 * Applies the moves in order to `current` (the stored commands by id; updated in place), each
 * checked as `transition` checks it: a missing command is GW_ERR_NOT_FOUND, a move
 * model.canTransition refuses is GW_ERR_INVALID_TRANSITION; both leave the batch going.
 */
export function planTransitions(
  transitions: readonly CommandTransition[],
  current: Map<string, Command>,
): TransitionPlan {
  const results: CommandTransitionResult[] = [];
  const changed = new Map<string, Command>();
  const audits: AuditDraft[] = [];
  for (const move of transitions) {
    const command = current.get(move.id);
    if (command === undefined) {
      results.push({ ok: false, error: new GridseamError('GW_ERR_NOT_FOUND', `command ${move.id} not found`) });
      continue;
    }
    if (!canTransition(command.status, move.status)) {
      results.push({ ok: false, error: refusedMove(command, move.status) });
      continue;
    }
    const next = moved(command, move);
    current.set(next.id, next);
    changed.set(next.id, next);
    if (move.audit !== undefined) audits.push(move.audit);
    results.push({ ok: true, command: next });
  }
  return { results, changed: [...changed.values()], audits };
}

export class Commands extends DocumentRepository<Command, CommandFilter> implements CommandRepository {
  createMany(commands: readonly Command[], audits: readonly AuditDraft[] = []): Promise<Command[]> {
    if (commands.length === 0 && audits.length === 0) return Promise.resolve([]);
    return guard(`create ${commands.length} commands`, () =>
      this.ctx.db.transaction().execute(async (trx) => {
        for (const chunk of chunksOf(commands, ROWS_PER_STATEMENT))
          await loose(trx)
            .insertInto(this.spec.table)
            .values(chunk.map((c) => ({ id: c.id, doc: JSON.stringify(c), ...this.spec.columns(c) })))
            .execute();
        await insertAudits(trx, audits);
        return [...commands];
      }),
    );
  }

  getMany(ids: readonly string[]): Promise<Command[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return Promise.resolve([]);
    return guard(`get ${unique.length} commands`, async () => {
      const found = new Map<string, Command>();
      for (const chunk of chunksOf(unique, ROWS_PER_STATEMENT))
        for (const row of await this.ctx.db.selectFrom('commands').select('doc').where('id', 'in', chunk).execute()) {
          const command = parseDoc<Command>(row.doc);
          found.set(command.id, command);
        }
      return unique.flatMap((id) => found.get(id) ?? []);
    });
  }

  transition(
    id: string,
    status: CommandStatus,
    at: EpochMs,
    detail?: string,
    patch?: Partial<Pick<Command, 'readBack' | 'error' | 'attempts'>>,
    audit?: AuditDraft,
  ): Promise<Command> {
    return guard(`transition command ${id}`, () =>
      this.ctx.db.transaction().execute(async (trx) => {
        const command = await this.lockedGet(trx, id);
        if (!canTransition(command.status, status)) throw refusedMove(command, status);
        const next = moved(command, {
          id,
          status,
          at,
          ...(detail === undefined ? {} : { detail }),
          ...(patch === undefined ? {} : { patch }),
        });
        await this.replaceIn(trx, next);
        if (audit !== undefined) await insertAudit(trx, audit);
        return next;
      }),
    );
  }

  transitionMany(transitions: readonly CommandTransition[]): Promise<CommandTransitionResult[]> {
    if (transitions.length === 0) return Promise.resolve([]);
    return guard(`transition ${transitions.length} commands`, () =>
      this.ctx.db.transaction().execute(async (trx) => {
        // Rows are read (and in PostgreSQL locked) in id order, so two batches cannot deadlock.
        const ids = [...new Set(transitions.map((t) => t.id))].sort();
        const current = new Map<string, Command>();
        for (const chunk of chunksOf(ids, ROWS_PER_STATEMENT)) {
          let query = loose(trx).selectFrom(this.spec.table).select('doc').where('id', 'in', chunk).orderBy('id');
          if (this.ctx.dialect === 'postgres') query = query.forUpdate();
          for (const row of await query.execute()) {
            const command = parseDoc<Command>(row.doc);
            current.set(command.id, command);
          }
        }
        const { results, changed, audits } = planTransitions(transitions, current);
        // Every changed row exists and is ours for the transaction (read above, locked in
        // PostgreSQL, commands are never deleted), so the upsert only ever takes its update path:
        // one statement per chunk instead of one UPDATE per command.
        for (const chunk of chunksOf(changed, ROWS_PER_STATEMENT))
          await trx
            .insertInto('commands')
            .values(
              chunk.map((c) => ({
                id: c.id,
                doc: JSON.stringify(c),
                device_id: c.deviceId,
                status: c.status,
                created_at: c.createdAt,
              })),
            )
            .onConflict((conflict) =>
              conflict
                .column('id')
                .doUpdateSet((eb) => ({ doc: eb.ref('excluded.doc'), status: eb.ref('excluded.status') })),
            )
            .execute();
        await insertAudits(trx, audits);
        return results;
      }),
    );
  }
}

/** The commands table as a document table (sqlite-commands.ts extends Commands over the same spec). */
export const COMMAND_SPEC: DocumentSpec<Command, CommandFilter> = {
  table: 'commands',
  noun: 'command',
  columns: (command) => ({ device_id: command.deviceId, status: command.status, created_at: command.createdAt }),
  conditions: (eb, filter) =>
    equalities(eb, [
      ['device_id', filter.deviceId],
      ['status', filter.status],
    ]),
  orderBy: ['created_at', 'id'],
  descending: (filter) => filter.order === 'desc',
};

export function commandRepository(ctx: StoreContext): CommandRepository {
  return new Commands(ctx, COMMAND_SPEC);
}

function membershipOf(row: { group_id: string; device_id: string; valid_from: number; valid_to: number | null }) {
  const membership: Membership = { groupId: row.group_id, deviceId: row.device_id, validFrom: Number(row.valid_from) };
  if (row.valid_to !== null) membership.validTo = Number(row.valid_to);
  return membership;
}

export function membershipRepository(ctx: StoreContext): MembershipRepository {
  const { db } = ctx;
  return {
    add(membership, audit) {
      return guard(`add device ${membership.deviceId} to group ${membership.groupId}`, () =>
        auditedWrite(db, audit, async (executor) => {
          const row = {
            group_id: membership.groupId,
            device_id: membership.deviceId,
            valid_from: membership.validFrom,
            valid_to: membership.validTo ?? null,
          };
          await executor.insertInto('memberships').values(row).execute();
          return membershipOf(row);
        }),
      );
    },
    end(groupId, deviceId, validTo, audit) {
      return guard(`end membership of device ${deviceId} in group ${groupId}`, () =>
        auditedWrite(db, audit, async (executor) => {
          const row = await executor
            .updateTable('memberships')
            .set({ valid_to: validTo })
            .where('group_id', '=', groupId)
            .where('device_id', '=', deviceId)
            .where('valid_to', 'is', null)
            .returning(['group_id', 'device_id', 'valid_from', 'valid_to'])
            .executeTakeFirst();
          if (row === undefined)
            throw new GridseamError(
              'GW_ERR_NOT_FOUND',
              `device ${deviceId} has no open membership in group ${groupId}`,
            );
          return membershipOf(row);
        }),
      );
    },
    list(filter) {
      return guard('list memberships', async () => {
        let query = db.selectFrom('memberships').select(['group_id', 'device_id', 'valid_from', 'valid_to']);
        if (filter.groupId !== undefined) query = query.where('group_id', '=', filter.groupId);
        if (filter.deviceId !== undefined) query = query.where('device_id', '=', filter.deviceId);
        const rows = await query.orderBy('valid_from').orderBy('id').execute();
        return rows.map(membershipOf);
      });
    },
    membersAt(groupId, at) {
      return guard(`members of group ${groupId}`, async () => {
        const rows = await db
          .selectFrom('memberships')
          .select('device_id')
          .distinct()
          .where('group_id', '=', groupId)
          .where('valid_from', '<=', at)
          .where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', at)]))
          .orderBy('device_id')
          .execute();
        return rows.map((row) => row.device_id);
      });
    },
  };
}

export function auditLog(ctx: StoreContext): AuditLog {
  const { db } = ctx;
  return {
    append(entry) {
      return guard(`append audit ${entry.action}`, () => insertAudit(db, entry));
    },
    list(filter?: AuditFilter) {
      return guard('list audit entries', async () => {
        const { limit, offset } = pageOf(filter);
        if (limit === 0) return [];
        let query = db.selectFrom('audit_log').selectAll();
        if (filter?.from !== undefined) query = query.where('at', '>=', filter.from);
        if (filter?.to !== undefined) query = query.where('at', '<', filter.to);
        if (filter?.actor !== undefined) query = query.where('actor', '=', filter.actor);
        if (filter?.targetType !== undefined) query = query.where('target_type', '=', filter.targetType);
        if (filter?.targetId !== undefined) query = query.where('target_id', '=', filter.targetId);
        const rows = await query.orderBy('seq').limit(limit).offset(offset).execute();
        return rows.map((row) => {
          const entry: AuditEntry = {
            seq: Number(row.seq),
            at: Number(row.at),
            actor: row.actor,
            action: row.action,
            targetType: row.target_type,
          };
          if (row.target_id !== null) entry.targetId = row.target_id;
          if (row.detail !== null && row.detail !== undefined)
            entry.detail = parseDoc<Record<string, unknown>>(row.detail);
          return entry;
        });
      });
    },
  };
}
