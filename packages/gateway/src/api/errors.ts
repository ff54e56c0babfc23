import {
  check,
  ERROR_CODES,
  type ErrorCode,
  GridseamError,
  type ValidationIssue,
  validationError,
} from '@gridseam/model';
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';

const PART_NAMES: Readonly<Record<string, string>> = {
  body: 'request body',
  querystring: 'query string',
  params: 'path parameters',
  headers: 'headers',
};

const NUMERIC_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Query strings and path parameters arrive as text: numbers are converted where the schema asks
 * for one, and nothing else is touched (so `?limit=ten` still fails as "must be integer").
 */
function coerceScalars(schema: TSchema, value: unknown): unknown {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (typeof value !== 'object' || value === null || properties === undefined) return value;
  const coerced: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const type = properties[key]?.type;
    const numeric = type === 'integer' || type === 'number';
    coerced[key] = numeric && typeof raw === 'string' && NUMERIC_TEXT.test(raw) ? Number(raw) : raw;
  }
  return coerced;
}

/**
 * Validates every request part with the model's validator (ajv, all errors, no coercion of bodies,
 * no defaults, no silent removal of unknown properties), so the API reports the same JSON Pointer
 * paths as the registry. A failure becomes a GridseamError that the error handler sends as is.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const part = httpPart ?? 'body';
  const what = PART_NAMES[part] ?? part;
  return (value: unknown) => {
    const input = part === 'body' ? value : coerceScalars(schema, value);
    const result = check(schema, input);
    return result.ok ? { value: input } : { error: validationError(what, result.issues) };
  };
};

export interface ErrorAnswer {
  status: number;
  body: { code: ErrorCode; message: string; retryable: boolean; issues?: readonly ValidationIssue[] };
  /** Whether this is our fault (logged as an error) rather than the client's. */
  internal: boolean;
}

function answer(code: ErrorCode, message: string, issues?: readonly ValidationIssue[]): ErrorAnswer {
  const error = new GridseamError(code, message, issues === undefined ? {} : { issues });
  return { status: error.statusCode, body: error.toJSON(), internal: error.statusCode >= 500 };
}

/** fastify's own error codes that are the client's doing, and what we call them. */
const FASTIFY_CODES: Readonly<Record<string, [ErrorCode, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['GW_ERR_BODY_TOO_LARGE', 'request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['GW_ERR_UNSUPPORTED_MEDIA_TYPE', 'content type must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_TYPE_PARSER: ['GW_ERR_UNSUPPORTED_MEDIA_TYPE', 'content type must be application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: [
    'GW_ERR_MALFORMED',
    'request body is not valid JSON (or contains a forbidden __proto__ or constructor property)',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['GW_ERR_MALFORMED', 'request body is empty but the content type is application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['GW_ERR_MALFORMED', 'content-length does not match the body'],
  FST_ERR_BAD_URL: ['GW_ERR_MALFORMED', 'the URL cannot be decoded'],
};

const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'GW_ERR_MALFORMED',
  401: 'GW_ERR_UNAUTHORIZED',
  403: 'GW_ERR_FORBIDDEN',
  404: 'GW_ERR_ROUTE_NOT_FOUND',
  413: 'GW_ERR_BODY_TOO_LARGE',
  415: 'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
};

/** Turns anything thrown while handling a request into a status and a stable error body. */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (GridseamError.is(error)) {
    // Server-side failures carry driver or host details in their message: the log gets those,
    // the client gets the code's fixed summary.
    if (error.statusCode >= 500) return answer(error.code, ERROR_CODES[error.code].summary);
    return { status: error.statusCode, body: error.toJSON(), internal: false };
  }
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    statusCode?: unknown;
    validation?: unknown;
  };
  const known = typeof record.code === 'string' ? FASTIFY_CODES[record.code] : undefined;
  if (known) return answer(known[0], known[1]);
  if (Array.isArray(record.validation)) {
    // A fastify validation error from a compiler other than ours: keep its paths.
    const issues = record.validation.map((v: { instancePath?: string; message?: string }) => ({
      path: v.instancePath || '/',
      message: v.message ?? 'is invalid',
    }));
    return answer('GW_ERR_VALIDATION', 'request does not match its schema', issues);
  }
  const status = typeof record.statusCode === 'number' ? record.statusCode : 500;
  const mapped = STATUS_CODES[status];
  if (mapped && typeof record.code === 'string' && record.code.startsWith('FST_'))
    return answer(mapped, 'the request was rejected');
  return answer('GW_ERR_INTERNAL', ERROR_CODES.GW_ERR_INTERNAL.summary);
}
