import { Writable } from 'node:stream';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import type { LogLevel } from './config/schema.ts';

export type { Logger } from 'pino';

/**
 * Fields never written to a log: credentials in request headers and anything that is a token or
 * its digest, at the top level or one or two levels down (pino's redact paths are explicit).
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
  'request.headers.cookie',
  '*.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
  '*.*.token',
  'tokenSha256',
  '*.tokenSha256',
  '*.*.tokenSha256',
  'tokens[*].tokenSha256',
  '*.tokens[*].tokenSha256',
  'password',
  '*.password',
];

export interface CreateLoggerOptions {
  level?: LogLevel;
  /** Human-readable lines for a terminal instead of JSON lines. */
  pretty?: boolean;
  /** Where lines go: a file descriptor (default 1, stdout) or a stream. */
  destination?: number | NodeJS.WritableStream;
  /** Extra fields on every line. */
  base?: Record<string, unknown>;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMITTED_IN_PRETTY = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** Formats one JSON log line as `12:00:01.234 INFO  message key=value ...`. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED_IN_PRETTY.has(key) && key !== 'err')
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const err = entry.err as { message?: string; stack?: string } | undefined;
  const errorText = err ? `\n    ${(err.stack ?? err.message ?? '').split('\n').join('\n    ')}` : '';
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}${errorText}\n`;
}

function prettyStream(target: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (const line of text.split('\n')) if (line !== '') target.write(prettyLine(line));
      callback();
    },
  });
}

/** The gateway's logger: pino, JSON lines to stdout by default, secrets redacted. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, ...options.base },
  };
  const destination = options.destination ?? 1;
  if (options.pretty) {
    const target =
      typeof destination === 'number' ? (destination === 2 ? process.stderr : process.stdout) : destination;
    return pino(loggerOptions, prettyStream(target));
  }
  // Synchronous writes: a CLI that exits right after an error must not lose the line saying why.
  const stream: DestinationStream =
    typeof destination === 'number' ? pino.destination({ dest: destination, sync: true }) : destination;
  return pino(loggerOptions, stream);
}
