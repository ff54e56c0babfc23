/**
 * The command repository on SQLite: the writes and reads a control fan-out repeats per command
 * (createMany, getMany, transition, transitionMany) run through cached better-sqlite3 statements
 * instead of kysely, which builds, compiles and prepares every statement again on every call. The
 * rest (create, get, list, count) stays on the dialect-neutral repository (repositories.ts).
 *
 * Same semantics as the kysely path: each call is one transaction, the commands and their audit
 * rows (the same auditRow columns insertAudit writes) commit together or not at all, the promise
 * settles after COMMIT, each move is checked by planTransitions exactly as `transition` checks it,
 * and driver errors are mapped by `guard`. Write transactions begin IMMEDIATE, so a second process
 * on the same file waits for the write lock (busy_timeout) at BEGIN instead of failing on the
 * upgrade from a read. Each transaction runs synchronously while holding kysely's single-connection
 * mutex (`db.connection()`), so it never lands inside a kysely transaction left open across an
 * await, as the telemetry statements (sqlite.ts) do.
 */
import { type Command, type CommandStatus, type EpochMs, GridseamError } from '@gridseam/model';
import type BetterSqlite3 from 'better-sqlite3';
import { guard } from './errors.ts';
import { auditRow, COMMAND_SPEC, Commands, parseDoc, planTransitions, type StoreContext } from './repositories.ts';
import type { AuditDraft, CommandRepository, CommandTransition, CommandTransitionResult } from './types.ts';

interface CommandStatements {
  insert: BetterSqlite3.Statement<[string, string, string, number, string]>;
  select: BetterSqlite3.Statement<[string], { doc: string }>;
  update: BetterSqlite3.Statement<[string, string, string]>;
  audit: BetterSqlite3.Statement<[number, string, string, string, string | null, string | null]>;
  create: BetterSqlite3.Transaction<(commands: readonly Command[], audits: readonly AuditDraft[]) => void>;
  read: BetterSqlite3.Transaction<(ids: readonly string[]) => Map<string, Command>>;
  move: BetterSqlite3.Transaction<(transitions: readonly CommandTransition[]) => CommandTransitionResult[]>;
}

class SqliteCommands extends Commands {
  #statements: CommandStatements | undefined;

  constructor(
    ctx: StoreContext,
    private readonly raw: BetterSqlite3.Database,
  ) {
    super(ctx, COMMAND_SPEC);
  }

  /** Prepared on first use: the tables exist only after migrate(). */
  #prepared(): CommandStatements {
    if (this.#statements) return this.#statements;
    const raw = this.raw;
    const insert = raw.prepare<[string, string, string, number, string]>(
      'INSERT INTO commands (id, device_id, status, created_at, doc) VALUES (?, ?, ?, ?, ?)',
    );
    const select = raw.prepare<[string], { doc: string }>('SELECT doc FROM commands WHERE id = ?');
    const update = raw.prepare<[string, string, string]>('UPDATE commands SET doc = ?, status = ? WHERE id = ?');
    const audit = raw.prepare<[number, string, string, string, string | null, string | null]>(
      'INSERT INTO audit_log (at, actor, action, target_type, target_id, detail) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const appendAudits = (drafts: readonly AuditDraft[]): void => {
      for (const draft of drafts) {
        const row = auditRow(draft);
        audit.run(row.at, row.actor, row.action, row.target_type, row.target_id, row.detail);
      }
    };
    const readInto = (ids: readonly string[], found: Map<string, Command>): void => {
      for (const id of ids) {
        const row = select.get(id);
        if (row !== undefined) found.set(id, parseDoc<Command>(row.doc));
      }
    };
    this.#statements = {
      insert,
      select,
      update,
      audit,
      create: raw.transaction((commands: readonly Command[], audits: readonly AuditDraft[]) => {
        for (const c of commands) insert.run(c.id, c.deviceId, c.status, c.createdAt, JSON.stringify(c));
        appendAudits(audits);
      }),
      read: raw.transaction((ids: readonly string[]) => {
        const found = new Map<string, Command>();
        readInto(ids, found);
        return found;
      }),
      move: raw.transaction((transitions: readonly CommandTransition[]) => {
        const current = new Map<string, Command>();
        readInto([...new Set(transitions.map((t) => t.id))], current);
        const { results, changed, audits } = planTransitions(transitions, current);
        for (const c of changed) update.run(JSON.stringify(c), c.status, c.id);
        appendAudits(audits);
        return results;
      }),
    };
    return this.#statements;
  }

  /** Runs synchronous work holding kysely's connection (see the header). */
  #exclusive<T>(what: string, work: (statements: CommandStatements) => T): Promise<T> {
    return guard(what, () => this.ctx.db.connection().execute(async () => work(this.#prepared())));
  }

  override createMany(commands: readonly Command[], audits: readonly AuditDraft[] = []): Promise<Command[]> {
    if (commands.length === 0 && audits.length === 0) return Promise.resolve([]);
    return this.#exclusive(`create ${commands.length} commands`, (s) => {
      s.create.immediate(commands, audits);
      return [...commands];
    });
  }

  override getMany(ids: readonly string[]): Promise<Command[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return Promise.resolve([]);
    return this.#exclusive(`get ${unique.length} commands`, (s) => {
      // One read transaction, so the commands come from one snapshot.
      const found = s.read(unique);
      return unique.flatMap((id) => found.get(id) ?? []);
    });
  }

  override async transition(
    id: string,
    status: CommandStatus,
    at: EpochMs,
    detail?: string,
    patch?: Partial<Pick<Command, 'readBack' | 'error' | 'attempts'>>,
    audit?: AuditDraft,
  ): Promise<Command> {
    const move: CommandTransition = {
      id,
      status,
      at,
      ...(detail === undefined ? {} : { detail }),
      ...(patch === undefined ? {} : { patch }),
      ...(audit === undefined ? {} : { audit }),
    };
    const [result] = await this.#exclusive(`transition command ${id}`, (s) => s.move.immediate([move]));
    if (result?.ok) return result.command;
    throw result?.error ?? new GridseamError('GW_ERR_INTERNAL', `transition command ${id}: no result`);
  }

  override transitionMany(transitions: readonly CommandTransition[]): Promise<CommandTransitionResult[]> {
    if (transitions.length === 0) return Promise.resolve([]);
    return this.#exclusive(`transition ${transitions.length} commands`, (s) => s.move.immediate(transitions));
  }
}

/** The command repository of a SQLite store opened by openSqlite (`raw` is the connection under `ctx.db`). */
export function sqliteCommandRepository(ctx: StoreContext, raw: BetterSqlite3.Database): CommandRepository {
  return new SqliteCommands(ctx, raw);
}
