/**
 * `gridseam market import-awards --file FILE [--format csv|json] [--url URL] [--token-env NAME]
 * [--time-zone ZONE] [--json]`: sends an ISO award file to a running gateway's
 * `POST /api/market/awards` (docs/reference/api.md "Market"; docs/settlement.md "Offers and
 * awards"), where the awards become market program events for the control engine and are stored
 * for settlement. The gateway checks the awards (parseAwards); this command reads the file
 * (bounded, UTF-8), sends it with the content type of its format and an operator's bearer token
 * from the environment, and prints what the gateway answers: the events created or updated, or one
 * `error:` line with the gateway's error code.
 *
 * Exit codes (main.ts's rule: the error's code decides): 0 imported; 2 a usage problem (options,
 * an unreadable or oversized file, the token variable unset) and awards the gateway refuses as
 * invalid (GW_ERR_VALIDATION: a bad row, an unknown or inactive aggregation's resource); 1 every
 * other refusal (GW_ERR_UNAUTHORIZED, GW_ERR_FORBIDDEN, GW_ERR_BODY_TOO_LARGE, ...) and a gateway
 * that cannot be reached (ECONNREFUSED, ETIMEDOUT, ...).
 */
import { ERROR_CODES, type ErrorCode, GridseamError, type ValidationIssue } from '@gridseam/model';
import { type Command, InvalidArgumentError } from 'commander';
import type { AwardImport } from '../market/service.ts';
import type { CliIo } from './main.ts';
import { formatTable, write } from './output.ts';

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';
export const DEFAULT_TOKEN_ENV = 'GRIDSEAM_TOKEN';
/** The API's body limit for awards (routes/market.ts AWARDS_BODY_LIMIT_BYTES, parseAwards' bound). */
export const MAX_AWARDS_FILE_BYTES = 1024 * 1024;
/** The gateway's answer lists one entry per event: far below this. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** A guard against a gateway that accepts the connection and never answers; not a tuning knob. */
const REQUEST_TIMEOUT_MS = 120_000;
const AWARDS_PATH = '/api/market/awards';

export type AwardsFormat = 'csv' | 'json';

/** `--url`: an http(s) URL without credentials, query or fragment (a path prefix is kept, for proxies). */
export function parseGatewayUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--url must be an http(s) URL such as ${DEFAULT_GATEWAY_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`--url must use http or https (got ${url.protocol})`);
  if (url.username !== '' || url.password !== '')
    throw new InvalidArgumentError('--url must not carry credentials: the token comes from --token-env');
  if (url.search !== '' || url.hash !== '') throw new InvalidArgumentError('--url must not have a query or fragment');
  return url;
}

function tokenEnvName(value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(value))
    throw new InvalidArgumentError('--token-env must name an environment variable (letters, digits, _)');
  return value;
}

function format(value: string): AwardsFormat {
  if (value !== 'csv' && value !== 'json') throw new InvalidArgumentError('--format must be csv or json');
  return value;
}

function timeZone(value: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
  } catch {
    throw new InvalidArgumentError(`--time-zone must be an IANA time zone such as America/Los_Angeles`);
  }
  return value;
}

/** The format of a file: --format, else its extension, else JSON when it starts with { or [, else CSV. */
export function awardsFormatOf(file: string, text: string, option?: AwardsFormat): AwardsFormat {
  if (option !== undefined) return option;
  const lower = file.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.json')) return 'json';
  return /^\s*[[{]/.test(text) ? 'json' : 'csv';
}

/** The endpoint under the gateway URL (keeping a proxy's path prefix), with the zone for hour-ending rows. */
export function awardsEndpoint(base: URL, zone?: string): string {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${AWARDS_PATH}`;
  if (zone !== undefined) url.searchParams.set('timeZone', zone);
  return url.href;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** HTTP statuses of answers without a Gridseam error body (a proxy's, say), as our codes. */
const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  401: 'GW_ERR_UNAUTHORIZED',
  403: 'GW_ERR_FORBIDDEN',
  404: 'GW_ERR_ROUTE_NOT_FOUND',
  413: 'GW_ERR_BODY_TOO_LARGE',
  415: 'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
};

/** The gateway's error answer as a GridseamError with its code (main.ts prints `error: ... [CODE]`). */
export function answerError(status: number, text: string, endpoint: string): GridseamError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isRecord(body) && isErrorCode(body.code) && typeof body.message === 'string') {
    const issues = Array.isArray(body.issues)
      ? body.issues.filter(
          (i): i is ValidationIssue => isRecord(i) && typeof i.path === 'string' && typeof i.message === 'string',
        )
      : [];
    return new GridseamError(body.code, `the gateway refused the awards (HTTP ${status}): ${body.message}`, {
      issues,
      details: { status },
    });
  }
  const code = STATUS_CODES[status] ?? 'GW_ERR_MALFORMED';
  return new GridseamError(code, `${endpoint} answered HTTP ${status} without a Gridseam error body`, {
    details: { status },
  });
}

/** A connection failure as an OS-style error (main.ts prints its code and exits 1). */
function unreachable(endpoint: string, error: unknown): Error {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const timedOut = (error as { name?: unknown } | null)?.name === 'TimeoutError';
  const code = timedOut ? 'ETIMEDOUT' : typeof cause?.code === 'string' ? cause.code : 'ECONNREFUSED';
  const reason = timedOut
    ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
    : typeof cause?.message === 'string'
      ? cause.message
      : error instanceof Error
        ? error.message
        : String(error);
  return Object.assign(new Error(`cannot reach the gateway at ${endpoint}: ${reason}`), { code });
}

/** The success answer's shape, checked (it is printed field by field). */
function importAnswer(text: string, endpoint: string): AwardImport {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (
    !isRecord(body) ||
    typeof body.awards !== 'number' ||
    !Array.isArray(body.events) ||
    !Array.isArray(body.aggregations)
  )
    throw new GridseamError('GW_ERR_MALFORMED', `${endpoint} answered 200 without an award import summary`);
  return body as unknown as AwardImport;
}

export interface ImportAwardsOptions {
  file: string;
  format?: AwardsFormat;
  url: URL;
  tokenEnv: string;
  timeZone?: string;
  json?: boolean;
}

/** Reads the file, POSTs it and returns the gateway's answer (its text and the parsed summary). */
export async function importAwards(
  options: ImportAwardsOptions,
  env: CliIo['env'],
): Promise<{ answer: AwardImport; format: AwardsFormat }> {
  const token = env[options.tokenEnv];
  if (token === undefined || token.trim() === '')
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `the environment variable ${options.tokenEnv} is not set: put an operator's API token in it (or name another with --token-env)`,
    );
  const { readBoundedTextFile } = await import('@gridseam/dispatch');
  const text = await readBoundedTextFile(options.file, MAX_AWARDS_FILE_BYTES);
  const awardsFormat = awardsFormatOf(options.file, text, options.format);
  const endpoint = awardsEndpoint(options.url, options.timeZone);
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token.trim()}`,
        'content-type': awardsFormat === 'csv' ? 'text/csv; charset=utf-8' : 'application/json',
        accept: 'application/json',
      },
      body: text,
      redirect: 'error',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw unreachable(endpoint, error);
  }
  const length = Number(response.headers.get('content-length') ?? '0');
  if (length > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    throw new GridseamError(
      'GW_ERR_BODY_TOO_LARGE',
      `${endpoint} answered ${length} bytes; the limit is ${MAX_ANSWER_BYTES}`,
    );
  }
  const answerText = await response.text();
  if (!response.ok) throw answerError(response.status, answerText, endpoint);
  return { answer: importAnswer(answerText, endpoint), format: awardsFormat };
}

function importText(answer: AwardImport, file: string, format: AwardsFormat): string {
  const created = answer.events.filter((e) => e.created).length;
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : String(ms));
  const target = (e: AwardImport['events'][number]) =>
    [
      ...(e.targets.groupIds ?? []).map((id) => `group ${id}`),
      ...(e.targets.siteIds ?? []).map((id) => `site ${id}`),
      ...(e.targets.deviceIds ?? []).map((id) => `device ${id}`),
    ].join(', ') || 'enrolled';
  const lines = [
    `${file} (${format}): ${answer.awards} award(s) for ${answer.aggregations.length} aggregation(s); ` +
      `${answer.events.length} event(s): ${created} created, ${answer.events.length - created} updated`,
  ];
  for (const a of answer.aggregations)
    lines.push(`  ${a.aggregationId} (${a.resourceId}): ${a.awards} award(s) -> program ${a.programId}`);
  if (answer.events.length > 0)
    lines.push(
      '',
      formatTable(
        ['event', 'aggregation', 'start (UTC)', 'end (UTC)', 'intervals', 'targets', 'import'],
        answer.events.map((e) => [
          e.id,
          e.aggregationId,
          iso(e.start),
          iso(e.end),
          String(e.intervals),
          target(e),
          e.created ? 'created' : 'updated',
        ]),
      ),
    );
  return lines.join('\n');
}

export function registerMarketCommands(program: Command, io: CliIo): void {
  const market = program.command('market').description('the wholesale-market interface of a running gateway');
  market
    .command('import-awards')
    .description('send an ISO award file (CSV or JSON) to a running gateway: awards become market program events')
    .requiredOption('--file <file>', `the award file, CSV or JSON (at most ${MAX_AWARDS_FILE_BYTES / 1024 / 1024} MiB)`)
    .option('--format <format>', 'csv or json (default: from the extension, else from the content)', format)
    .option('--url <url>', `the gateway's API (default ${DEFAULT_GATEWAY_URL})`, parseGatewayUrl)
    .option(
      '--token-env <name>',
      `environment variable holding an operator's API token (default ${DEFAULT_TOKEN_ENV})`,
      tokenEnvName,
    )
    .option('--time-zone <zone>', 'IANA zone of date,hour_ending rows (default: times carry their offsets)', timeZone)
    .option('--json', "print the gateway's answer as JSON: {awards, aggregations, events}")
    .addHelpText(
      'after',
      `
CSV header: resource_id,start,end,market,product,mw,clearing_price (times ISO-8601 with an offset),
or date,hour_ending instead of start,end with --time-zone. JSON: an array or {"awards": [...]} of the
same fields. Every award's resource must be an active aggregation's; nothing is imported if any
award is refused. Importing the same awards again updates the same events.

Exit codes: 0 imported; 2 usage, an unreadable file, the token variable unset, or awards the
gateway finds invalid (GW_ERR_VALIDATION); 1 any other refusal or an unreachable gateway.

Example:
  GRIDSEAM_TOKEN=... gridseam market import-awards --file awards.csv --url http://127.0.0.1:8080`,
    )
    .action(async (options: Omit<ImportAwardsOptions, 'url' | 'tokenEnv'> & { url?: URL; tokenEnv?: string }) => {
      const { answer, format: used } = await importAwards(
        {
          ...options,
          url: options.url ?? new URL(DEFAULT_GATEWAY_URL),
          tokenEnv: options.tokenEnv ?? DEFAULT_TOKEN_ENV,
        },
        io.env,
      );
      if (options.json) write(io.stdout, JSON.stringify(answer));
      else write(io.stdout, importText(answer, options.file, used));
    });
}
