/**
 * Query parameters of the list operations: the ones an operation declares are checked and coerced by the
 * OpenAPI validator (objectID pattern, name lengths, int32 skip >= 0, limit 0..50, booleans, objectTypes;
 * repeated keys make arrays, form style explode: true); parameters it does not declare are ignored. Pure.
 */
import { GridseamError, type ValidationIssue } from '@gridseam/model';
import type { OpenapiValidator, RawParameters } from '../validate.ts';
import { MAX_PAGE_LIMIT } from './operations.ts';

export interface ListQuery {
  skip: number;
  /** Default: the spec's maximum, 50. */
  limit: number;
  programID?: string;
  eventID?: string;
  clientName?: string;
  venName?: string;
  resourceName?: string;
  venID?: string;
  targets?: string[];
  targetType?: string;
  targetValues?: string[];
  active?: boolean;
  objects?: string[];
}

const MAX_REPEATS = 100;

function invalid(issues: readonly ValidationIssue[]): GridseamError {
  const listed = issues.slice(0, 5).map((issue) => `${issue.path} ${issue.message}`);
  return new GridseamError('GW_ERR_VALIDATION', `query: ${listed.join('; ')}`, { issues });
}

/** The raw values of `names` in a query string (arrays when repeated); throws GW_ERR_VALIDATION. */
export function rawQuery(search: string, names: readonly string[]): Record<string, string | string[]> {
  const params = new URLSearchParams(search);
  const raw: Record<string, string | string[]> = {};
  for (const name of names) {
    const values = params.getAll(name);
    if (values.length > MAX_REPEATS)
      throw invalid([{ path: `/${name}`, message: `must not be repeated more than ${MAX_REPEATS} times` }]);
    if (values.length === 1) raw[name] = values[0] ?? '';
    else if (values.length > 1) raw[name] = values;
  }
  return raw;
}

const INT32_MAX = 2_147_483_647;
const CANONICAL_INTEGER = /^(0|[1-9][0-9]{0,9})$/;

/**
 * The paging a VEN sends on every poll (`skip=0&limit=50`) without the validator: true, with `into` set, when
 * `raw` holds only skip and limit, each once, in plain decimal and in the spec's range (skip int32 >= 0, limit
 * 0..50); anything else (other parameters, repeats, signs, leading zeros) goes to the validator.
 */
function pagingOnly(raw: RawParameters, into: ListQuery): boolean {
  let skip = into.skip;
  let limit = into.limit;
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'string' || !CANONICAL_INTEGER.test(value)) return false;
    const n = Number(value);
    if (name === 'skip' && n <= INT32_MAX) skip = n;
    else if (name === 'limit' && n <= MAX_PAGE_LIMIT) limit = n;
    else return false;
  }
  into.skip = skip;
  into.limit = limit;
  return true;
}

/** Checks and coerces an operation's declared query parameters into a ListQuery; throws GW_ERR_VALIDATION (400). */
export function parseListQuery(
  validator: OpenapiValidator,
  method: string,
  pathTemplate: string,
  search: string,
  names: readonly string[],
): ListQuery {
  const query: ListQuery = { skip: 0, limit: MAX_PAGE_LIMIT };
  if (names.length === 0 || search === '') return query;
  const raw: RawParameters = rawQuery(search, names);
  if (Object.keys(raw).length === 0) return query;
  if (pagingOnly(raw, query)) return query;
  const { values, problems } = validator.parseQuery(method, pathTemplate, raw);
  if (problems.length > 0) throw invalid(problems);
  return Object.assign(query, values);
}

/** The Gridseam `targets` extension on reads by id: 1 to 128 characters each (the 3.1.0 target schema). */
export function parseTargetsExtension(search: string): ListQuery {
  const query: ListQuery = { skip: 0, limit: MAX_PAGE_LIMIT };
  if (search === '') return query;
  const raw = rawQuery(search, ['targets']).targets;
  if (raw === undefined) return query;
  const targets = typeof raw === 'string' ? [raw] : raw;
  if (targets.some((target) => target.length < 1 || target.length > 128))
    throw invalid([{ path: '/targets', message: 'each target must be 1 to 128 characters' }]);
  query.targets = targets;
  return query;
}
