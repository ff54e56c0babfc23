import { GridseamError } from '@gridseam/model';

function field(error: unknown, name: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

/** PostgreSQL SQLSTATEs that mean the server is unreachable or refusing work for now. */
function isPgUnavailable(code: string): boolean {
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now
    code === '53300' || // too_many_connections
    code === '3D000' // invalid_catalog_name: the database does not exist
  );
}

/** SQLite result codes (extended codes start with the primary one) that mean the file is unusable now. */
function isSqliteUnavailable(code: string): boolean {
  return /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|NOTADB|CORRUPT|PROTOCOL)/.test(code);
}

/**
 * Maps a driver error to a GridseamError with a stable code: key and foreign-key violations are
 * GW_ERR_CONFLICT, an unreachable or unusable database is GW_ERR_STORE_UNAVAILABLE (retryable).
 * GridseamErrors pass through unchanged; anything else becomes GW_ERR_INTERNAL with the cause kept.
 */
export function mapStoreError(error: unknown, what: string): GridseamError {
  if (GridseamError.is(error)) return error;
  const code = field(error, 'code');
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string') {
    // SQLite (better-sqlite3 SqliteError.code)
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE')
      return new GridseamError('GW_ERR_CONFLICT', `${what}: already exists`, { cause: error });
    if (code === 'SQLITE_CONSTRAINT_CHECK')
      return new GridseamError('GW_ERR_VALIDATION', `${what}: a value breaks a table constraint`, { cause: error });
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY')
      return new GridseamError('GW_ERR_CONFLICT', `${what}: a referenced object is missing or still referenced`, {
        cause: error,
      });
    if (isSqliteUnavailable(code))
      return new GridseamError('GW_ERR_STORE_UNAVAILABLE', `${what}: database unavailable (${code})`, { cause: error });
    // PostgreSQL SQLSTATE (pg DatabaseError.code)
    if (code === '23505') return new GridseamError('GW_ERR_CONFLICT', `${what}: already exists`, { cause: error });
    if (code === '23503')
      return new GridseamError('GW_ERR_CONFLICT', `${what}: a referenced object is missing or still referenced`, {
        cause: error,
      });
    if (code === '23514')
      return new GridseamError('GW_ERR_VALIDATION', `${what}: a value breaks a table constraint`, { cause: error });
    if (code === '40001' || code === '40P01')
      return new GridseamError('GW_ERR_CONFLICT', `${what}: changed concurrently, retry`, { cause: error });
    if (isPgUnavailable(code) || CONNECTION_ERRNOS.has(code))
      return new GridseamError('GW_ERR_STORE_UNAVAILABLE', `${what}: database unavailable (${code})`, { cause: error });
  }
  // pg reports a dropped or never-made connection with plain Errors.
  if (
    /Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
      message,
    )
  )
    return new GridseamError('GW_ERR_STORE_UNAVAILABLE', `${what}: database unavailable (${message})`, {
      cause: error,
    });
  return new GridseamError('GW_ERR_INTERNAL', `${what}: ${message}`, { cause: error });
}

/** Runs a store operation, mapping whatever it throws. */
export async function guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw mapStoreError(error, what);
  }
}
