/**
 * Stable error codes shared by every Gridseam package. Each code says whether a retry can help
 * and which HTTP status an endpoint answers with. The list is documented in docs/reference/errors.md;
 * a test keeps the two in step.
 */
export const ERROR_CODES = {
  GW_ERR_VALIDATION: { status: 400, retryable: false, summary: 'A value does not match its schema.' },
  GW_ERR_MALFORMED: {
    status: 400,
    retryable: false,
    summary: 'Input could not be parsed (bad JSON, XML, YAML or frame).',
  },
  GW_ERR_HOSTILE_INPUT: {
    status: 400,
    retryable: false,
    summary: 'The input uses a forbidden construct such as a DOCTYPE or entity declaration.',
  },
  GW_ERR_UNAUTHORIZED: { status: 401, retryable: false, summary: 'No valid credentials were presented.' },
  GW_ERR_FORBIDDEN: { status: 403, retryable: false, summary: 'The credentials do not allow this action.' },
  GW_ERR_NOT_FOUND: { status: 404, retryable: false, summary: 'The addressed object does not exist.' },
  GW_ERR_ROUTE_NOT_FOUND: { status: 404, retryable: false, summary: 'No such endpoint.' },
  GW_ERR_CONFLICT: { status: 409, retryable: false, summary: 'The object already exists or was changed concurrently.' },
  GW_ERR_INVALID_TRANSITION: {
    status: 409,
    retryable: false,
    summary: 'The requested state change is not allowed from the current state.',
  },
  GW_ERR_BODY_TOO_LARGE: { status: 413, retryable: false, summary: 'The request body exceeds the configured limit.' },
  GW_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    summary: 'The content type is not accepted by this endpoint.',
  },
  GW_ERR_CONFIG: { status: 500, retryable: false, summary: 'The configuration file is missing or invalid.' },
  GW_ERR_STORE_UNAVAILABLE: { status: 503, retryable: true, summary: 'The database could not be reached.' },
  GW_ERR_BUS_UNAVAILABLE: { status: 503, retryable: true, summary: 'The message bus could not be reached.' },
  GW_ERR_DEVICE_UNREACHABLE: {
    status: 504,
    retryable: true,
    summary: 'A device did not answer (connect refused, timeout, connection lost).',
  },
  GW_ERR_DEVICE_PROTOCOL: {
    status: 502,
    retryable: true,
    summary: 'A device answered with a malformed or unexpected frame.',
  },
  GW_ERR_DEVICE_REJECTED: {
    status: 502,
    retryable: false,
    summary: 'A device refused a request (protocol exception) or ignored a write.',
  },
  GW_ERR_NOT_SUPPORTED: {
    status: 422,
    retryable: false,
    summary: 'The device or its protocol data does not support what was asked.',
  },
  GW_ERR_INFEASIBLE: {
    status: 422,
    retryable: false,
    summary: 'The request is well formed but no plan can meet its constraints; the details say which constraint binds.',
  },
  GW_ERR_BASELINE_REFUSED: {
    status: 422,
    retryable: false,
    summary: 'A baseline cannot be computed under its rules (too few eligible days, no data for the event hours).',
  },
  GW_ERR_DOUBLE_ATTRIBUTION: {
    status: 409,
    retryable: false,
    summary: 'The same energy or capacity would be attributed to two programs; the details list every conflict.',
  },
  GW_ERR_INTERNAL: { status: 500, retryable: false, summary: 'An unexpected failure; the log has details.' },
} as const satisfies Record<string, { status: number; retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with one field: a JSON Pointer to it and what was expected. */
export interface ValidationIssue {
  path: string;
  message: string;
}

const kGridseamError = Symbol.for('gridseam.error');

export class GridseamError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly statusCode: number;
  readonly issues: readonly ValidationIssue[];
  /** Protocol specifics for logs and callers, e.g. `{ modbusException: 2 }`; never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: readonly ValidationIssue[]; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GridseamError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.statusCode = ERROR_CODES[code].status;
    this.issues = options.issues ?? [];
    this.details = options.details;
    Object.defineProperty(this, kGridseamError, { value: true });
  }

  /** Realm-safe check: survives two copies of this package in one process. */
  static is(value: unknown): value is GridseamError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kGridseamError] === true;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean; issues?: readonly ValidationIssue[] } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.issues.length > 0 ? { issues: this.issues } : {}),
    };
  }
}
