/**
 * The operator API over fetch, with the session's bearer token. Every failure becomes an ApiError
 * carrying the API's own `code` and `message` (docs/reference/api.md, Errors), or GW_ERR_NETWORK
 * when the gateway could not be reached at all.
 */
import type { ApiErrorBody } from './types.ts';

const TOKEN_KEY = 'gridseam.token';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: Array<{ path: string; message: string }>;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.issues = body.issues ?? [];
  }
}

/** The token in sessionStorage (kept for the tab's life, never in the address bar). */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Takes `#token=...` (what `gridseam demo` prints) out of the URL: stores the token and replaces
 * the address with the overview route, so the token is neither shown nor kept in history.
 */
export function takeTokenFromFragment(): void {
  const hash = window.location.hash;
  if (!hash.startsWith('#token=')) return;
  const token = decodeURIComponent(hash.slice('#token='.length).split('&')[0] ?? '');
  if (token !== '') storeToken(token);
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/`);
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiErrorBody).code === 'string' &&
    typeof (value as ApiErrorBody).message === 'string'
  );
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body: unknown = JSON.parse(text);
    if (isErrorBody(body)) return new ApiError(response.status, body);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(response.status, {
    code: `HTTP_${response.status}`,
    message: text.slice(0, 200) || response.statusText,
  });
}

/** Called when the API answers 401: the token is no longer good (the app shows the sign-in form). */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function request<T>(method: string, path: string, body?: unknown, token = storedToken()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new ApiError(0, {
      code: 'GW_ERR_NETWORK',
      message: `the gateway did not answer: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) onUnauthorized();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function get<T>(path: string): Promise<T> {
  return request<T>('GET', path);
}

export function post<T>(path: string, body: unknown): Promise<T> {
  return request<T>('POST', path, body);
}

/** GET with a token that is not stored yet (the sign-in check). */
export function getWithToken<T>(path: string, token: string): Promise<T> {
  return request<T>('GET', path, undefined, token);
}

/** A path with its query string; undefined values are left out. */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** Every page of a list route (limit 1000 per request), up to `max` items. */
export async function getAll<T>(path: string, max = 20_000): Promise<T[]> {
  const all: T[] = [];
  const separator = path.includes('?') ? '&' : '?';
  for (let offset = 0; offset < max; offset += 1000) {
    const page = await get<T[]>(`${path}${separator}limit=1000&offset=${offset}`);
    all.push(...page);
    if (page.length < 1000) break;
  }
  return all;
}

/** `work` over every item with at most `limit` requests in flight; results in the items' order. */
export async function inPool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function enc(id: string): string {
  return encodeURIComponent(id);
}
