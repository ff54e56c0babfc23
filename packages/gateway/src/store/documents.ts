import { GridseamError } from '@gridseam/model';
import { guard } from './errors.ts';
import type { StoreContext } from './repositories.ts';
import type { DocumentChange, DocumentRepository, StoredDocument } from './types.ts';

/**
 * Namespaced JSON documents in one table, `documents(namespace, id, doc, updated_at)`, keyed by
 * (namespace, id). The JSON text is kept as written (text in both dialects, see migrations.ts
 * `0004_documents`); the store never looks inside it. A write is one transaction: its deletes,
 * then its upserts in chunks (INSERT ... ON CONFLICT (namespace, id) DO UPDATE), so a batch of
 * thousands of documents is a handful of statements.
 */

export const MAX_NAMESPACE_LENGTH = 200;
export const MAX_DOCUMENT_ID_LENGTH = 500;
/** Rows per statement: 4 parameters each stays far below both dialects' parameter limits. */
const CHUNK_ROWS = 1000;

function invalid(message: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message);
}

function checkKey(what: 'namespace' | 'document id', value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw invalid(
      `${what} must be a string of 1 to ${max} characters (got ${typeof value === 'string' ? `${value.length} characters` : typeof value})`,
    );
  return value;
}

/** JSON text of a document; numbers that JSON cannot carry (NaN, Infinity) are refused, not turned into null. */
function jsonOf(namespace: string, id: string, doc: unknown): string {
  if (doc === undefined) throw invalid(`document ${namespace}/${id}: doc is missing (use null to delete)`);
  let text: string | undefined;
  try {
    text = JSON.stringify(doc, (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) throw invalid(`a number is ${value}`);
      return value;
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new GridseamError('GW_ERR_VALIDATION', `document ${namespace}/${id} is not JSON: ${reason}`, {
      cause: error,
    });
  }
  if (text === undefined) throw invalid(`document ${namespace}/${id} is not JSON (a ${typeof doc})`);
  return text;
}

export function parseDocument(text: unknown): unknown {
  return typeof text === 'string' ? JSON.parse(text) : text;
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK_ROWS) out.push(items.slice(i, i + CHUNK_ROWS));
  return out;
}

/** A write checked and reduced (the later change of an id wins) before the database is touched. */
export interface DocumentWritePlan {
  readonly deletes: string[];
  readonly upserts: Array<{ id: string; doc: string }>;
  readonly updatedAt: number;
}

/** Validates a write's namespace and changes; undefined when there is nothing to write. */
export function planDocumentWrite(
  namespace: string,
  changes: readonly DocumentChange[],
): DocumentWritePlan | undefined {
  checkKey('namespace', namespace, MAX_NAMESPACE_LENGTH);
  if (!Array.isArray(changes)) throw invalid('changes must be an array');
  const last = new Map<string, string | null>();
  for (const change of changes) {
    const id = checkKey('document id', (change as Partial<DocumentChange> | null)?.id, MAX_DOCUMENT_ID_LENGTH);
    last.set(id, change.doc === null ? null : jsonOf(namespace, id, change.doc));
  }
  if (last.size === 0) return undefined;
  const deletes: string[] = [];
  const upserts: Array<{ id: string; doc: string }> = [];
  for (const [id, doc] of last) {
    if (doc === null) deletes.push(id);
    else upserts.push({ id, doc });
  }
  return { deletes, upserts, updatedAt: Date.now() };
}

export function checkNamespace(namespace: unknown): string {
  return checkKey('namespace', namespace, MAX_NAMESPACE_LENGTH);
}

export function checkDocumentId(id: unknown): string {
  return checkKey('document id', id, MAX_DOCUMENT_ID_LENGTH);
}

export function documentRepository(ctx: StoreContext): DocumentRepository {
  const { db } = ctx;
  return {
    list(namespace) {
      return guard(`list documents of ${namespace}`, async () => {
        checkKey('namespace', namespace, MAX_NAMESPACE_LENGTH);
        const rows = await db
          .selectFrom('documents')
          .select(['id', 'doc', 'updated_at'])
          .where('namespace', '=', namespace)
          .orderBy('id')
          .execute();
        return rows.map<StoredDocument>((row) => ({
          id: row.id,
          doc: parseDocument(row.doc),
          updatedAt: Number(row.updated_at),
        }));
      });
    },

    get(namespace, id) {
      return guard(`get document ${namespace}/${id}`, async () => {
        checkKey('namespace', namespace, MAX_NAMESPACE_LENGTH);
        checkKey('document id', id, MAX_DOCUMENT_ID_LENGTH);
        const row = await db
          .selectFrom('documents')
          .select('doc')
          .where('namespace', '=', namespace)
          .where('id', '=', id)
          .executeTakeFirst();
        return row === undefined ? undefined : parseDocument(row.doc);
      });
    },

    write(namespace, changes: readonly DocumentChange[]) {
      return guard(`write documents of ${namespace}`, async () => {
        const plan = planDocumentWrite(namespace, changes);
        if (plan === undefined) return;
        const { deletes } = plan;
        const upserts = plan.upserts.map(({ id, doc }) => ({ namespace, id, doc, updated_at: plan.updatedAt }));
        await db.transaction().execute(async (trx) => {
          for (const ids of chunks(deletes))
            await trx.deleteFrom('documents').where('namespace', '=', namespace).where('id', 'in', ids).execute();
          for (const rows of chunks(upserts))
            await trx
              .insertInto('documents')
              .values(rows)
              .onConflict((conflict) =>
                conflict.columns(['namespace', 'id']).doUpdateSet((eb) => ({
                  doc: eb.ref('excluded.doc'),
                  updated_at: eb.ref('excluded.updated_at'),
                })),
              )
              .execute();
        });
      });
    },

    count(namespace) {
      return guard(`count documents of ${namespace}`, async () => {
        checkKey('namespace', namespace, MAX_NAMESPACE_LENGTH);
        const row = await db
          .selectFrom('documents')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('namespace', '=', namespace)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      });
    },
  };
}
