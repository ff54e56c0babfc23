/**
 * How `gridseam demo` fails to start: one line the CLI prints as `error: ... [CODE]` (cli/main.ts
 * report), never a stack trace. An operating-system cause (permission denied, address in use ...)
 * keeps its errno code (exit 1); a problem the user fixes with an option is GW_ERR_CONFIG (exit 2);
 * anything else becomes GW_ERR_INTERNAL with the cause's first line (exit 1).
 */
import { GridseamError } from '@gridseam/model';

const ERRNO_CODE = /^E[A-Z]+$/;

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ERRNO_CODE.test(code) ? code : undefined;
}

/** The readable reason of a file-system or socket error. */
export function fsReason(error: unknown): string {
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    ENOTDIR: 'a part of the path is not a folder',
    EEXIST: 'a file of that name exists',
    ENOENT: 'no such file or folder',
    EADDRINUSE: 'the address is already in use',
    EADDRNOTAVAIL: 'the address is not available on this host',
  };
  const code = errnoOf(error);
  if (code !== undefined && reasons[code] !== undefined) return reasons[code];
  return firstLine(error instanceof Error ? error.message : String(error));
}

export function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).trim();
}

/** A start failure with an operating-system cause: printed with its errno code, exit 1. */
export class DemoStartError extends Error {
  readonly code: string;

  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DemoStartError';
    this.code = options.code ?? errnoOf(options.cause) ?? 'EDEMO';
  }
}

/** A problem the user fixes with an option: exit 2. */
export function demoUsageError(message: string): GridseamError {
  return new GridseamError('GW_ERR_CONFIG', message);
}

/**
 * Any error thrown while starting, as one the CLI prints on one line: GridseamErrors and
 * DemoStartErrors as they are, errno errors with `what` in front, the rest as GW_ERR_INTERNAL.
 */
export function startFailure(what: string, error: unknown): Error {
  if (error instanceof DemoStartError || GridseamError.is(error)) return error as Error;
  if (errnoOf(error) !== undefined) return new DemoStartError(`${what}: ${fsReason(error)}`, { cause: error });
  return new GridseamError(
    'GW_ERR_INTERNAL',
    `${what}: ${firstLine(error instanceof Error ? error.message : String(error))}`,
    { cause: error },
  );
}
