/**
 * The document repository on SQLite: every call runs through cached better-sqlite3 statements
 * instead of kysely, which builds, compiles and prepares every statement again on every call (a
 * VTN report or a 2030.5 write is one small document write per request).
 *
 * Same contract as the kysely path (documents.ts): the same checks before the database is touched,
 * a write is one transaction (its deletes, then its upserts) that commits or rolls back whole, the
 * promise settles after COMMIT, driver errors are mapped by `guard`. Writes begin IMMEDIATE, so a
 * second process on the same file waits for the write lock (busy_timeout) at BEGIN instead of
 * failing on the upgrade from a read. Each call runs synchronously while holding kysely's
 * single-connection mutex (`db.connection()`), so it never lands inside a kysely transaction left
 * open across an await, as the command (sqlite-commands.ts) and telemetry (sqlite.ts) paths do.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  checkDocumentId,
  checkNamespace,
  type DocumentWritePlan,
  parseDocument,
  planDocumentWrite,
} from './documents.ts';
import { guard } from './errors.ts';
import type { StoreContext } from './repositories.ts';
import type { DocumentChange, DocumentRepository, StoredDocument } from './types.ts';

interface DocumentStatements {
  list: BetterSqlite3.Statement<[string], { id: string; doc: string; updated_at: number | bigint }>;
  get: BetterSqlite3.Statement<[string, string], { doc: string }>;
  count: BetterSqlite3.Statement<[string], { n: number | bigint }>;
  write: BetterSqlite3.Transaction<(namespace: string, plan: DocumentWritePlan) => void>;
}

/** The document repository of a SQLite store opened by openSqlite (`raw` is the connection under `ctx.db`). */
export function sqliteDocumentRepository(ctx: StoreContext, raw: BetterSqlite3.Database): DocumentRepository {
  let statements: DocumentStatements | undefined;

  /** Prepared on first use: the table exists only after migrate(). */
  function prepared(): DocumentStatements {
    if (statements) return statements;
    const remove = raw.prepare<[string, string]>('DELETE FROM documents WHERE namespace = ? AND id = ?');
    const upsert = raw.prepare<[string, string, string, number]>(
      'INSERT INTO documents (namespace, id, doc, updated_at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (namespace, id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at',
    );
    statements = {
      list: raw.prepare('SELECT id, doc, updated_at FROM documents WHERE namespace = ? ORDER BY id'),
      get: raw.prepare('SELECT doc FROM documents WHERE namespace = ? AND id = ?'),
      count: raw.prepare('SELECT count(*) AS n FROM documents WHERE namespace = ?'),
      write: raw.transaction((namespace: string, plan: DocumentWritePlan) => {
        for (const id of plan.deletes) remove.run(namespace, id);
        for (const { id, doc } of plan.upserts) upsert.run(namespace, id, doc, plan.updatedAt);
      }),
    };
    return statements;
  }

  /** Runs synchronous work holding kysely's connection (see the header). */
  function exclusive<T>(what: string, work: (s: DocumentStatements) => T): Promise<T> {
    return guard(what, () => ctx.db.connection().execute(async () => work(prepared())));
  }

  return {
    list(namespace) {
      return guard(`list documents of ${namespace}`, async () => {
        checkNamespace(namespace);
        return exclusive(`list documents of ${namespace}`, (s) =>
          s.list.all(namespace).map<StoredDocument>((row) => ({
            id: row.id,
            doc: parseDocument(row.doc),
            updatedAt: Number(row.updated_at),
          })),
        );
      });
    },

    get(namespace, id) {
      return guard(`get document ${namespace}/${id}`, async () => {
        checkNamespace(namespace);
        checkDocumentId(id);
        return exclusive(`get document ${namespace}/${id}`, (s) => {
          const row = s.get.get(namespace, id);
          return row === undefined ? undefined : parseDocument(row.doc);
        });
      });
    },

    write(namespace, changes: readonly DocumentChange[]) {
      return guard(`write documents of ${namespace}`, async () => {
        const plan = planDocumentWrite(namespace, changes);
        if (plan === undefined) return;
        await exclusive(`write documents of ${namespace}`, (s) => s.write.immediate(namespace, plan));
      });
    },

    count(namespace) {
      return guard(`count documents of ${namespace}`, async () => {
        checkNamespace(namespace);
        return exclusive(`count documents of ${namespace}`, (s) => Number(s.count.get(namespace)?.n ?? 0));
      });
    },
  };
}
