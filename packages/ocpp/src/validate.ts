/**
 * Run-time validation of OCPP payloads against the JSON schemas ocpp-rpc ships
 * (`ocpp-rpc/lib/schemas/ocpp1_6.json`, `ocpp2_0_1.json`: the OCA schemas as draft-07, one entry
 * per `urn:<Action>.req` / `urn:<Action>.conf`). The bundles are loaded through the module
 * resolver, never from ../shared. Each version gets one ajv instance on first use, and each
 * action's validator is compiled the first time that action is checked.
 *
 * Paths are JSON Pointers into the payload ('/' is the payload itself), the convention of
 * @gridseam/model's `check`.
 */
import { createRequire } from 'node:module';
import { GridseamError, type ValidationIssue } from '@gridseam/model';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';
import type { OcppVersion } from './contract.ts';
import type { V16, V201 } from './types/index.ts';

/** `req`: the CALL payload; `conf`: the CALLRESULT payload (OCPP-J's names, as in the bundles' $ids). */
export type OcppDirection = 'req' | 'conf';

/** The payload type of an action in one direction, when the action is known at compile time. */
export type OcppPayload<V extends OcppVersion, A extends string, D extends OcppDirection> = V extends '1.6'
  ? A extends V16.V16Action
    ? D extends 'req'
      ? V16.V16RequestMap[A]
      : V16.V16ResponseMap[A]
    : unknown
  : A extends V201.V201Action
    ? D extends 'req'
      ? V201.V201RequestMap[A]
      : V201.V201ResponseMap[A]
    : unknown;

const BUNDLE_OF: Readonly<Record<OcppVersion, string>> = {
  '1.6': 'ocpp-rpc/lib/schemas/ocpp1_6.json',
  '2.0.1': 'ocpp-rpc/lib/schemas/ocpp2_0_1.json',
};

/** At most this many problems are listed; the last one then says how many were left out. */
const MAX_PROBLEMS = 20;
/** Action names echoed in messages are cut to this length (they come from the wire). */
const MAX_ECHOED_ACTION = 64;

interface VersionValidators {
  ajv: Ajv;
  actions: ReadonlySet<string>;
  compiled: Map<string, ValidateFunction>;
}

const byVersion = new Map<OcppVersion, VersionValidators>();

function schemaIdOf(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const id = (entry as { $id?: unknown }).$id;
  return typeof id === 'string' ? id : undefined;
}

function validatorsOf(version: OcppVersion): VersionValidators {
  const existing = byVersion.get(version);
  if (existing) return existing;
  const bundle: unknown = createRequire(import.meta.url)(BUNDLE_OF[version]);
  if (!Array.isArray(bundle)) throw new Error(`${BUNDLE_OF[version]}: expected an array of schemas`);
  // strict: false because the OCA schemas carry javaType/comment and `additionalProperties` on
  // strings; multipleOfPrecision because 1.6 charging limits use multipleOf 0.1 on binary floats.
  const ajv = new Ajv({ allErrors: true, strict: false, multipleOfPrecision: 6 });
  // ajv-formats is CommonJS; under NodeNext its default import is the module object.
  formatsPlugin.default(ajv);
  const actions = new Set<string>();
  for (const entry of bundle) {
    const match = /^urn:([A-Za-z0-9]+)\.(req|conf)$/.exec(schemaIdOf(entry) ?? '');
    if (!match?.[1]) throw new Error(`${BUNDLE_OF[version]}: a schema without a urn:<Action>.req|conf $id`);
    actions.add(match[1]);
    // Registered under "<Action>.<direction>" without the $id: ajv's URI library refuses
    // "urn:<Action>.req" (a URN needs a namespace id), and the `#/definitions/...` refs are local.
    const { $id: _id, ...schema } = entry as Record<string, unknown>;
    ajv.addSchema(schema, `${match[1]}.${match[2]}`);
  }
  const validators: VersionValidators = { ajv, actions, compiled: new Map() };
  byVersion.set(version, validators);
  return validators;
}

/** Whether `action` is an action of `version` (per the bundled schemas). */
export function isOcppAction(version: OcppVersion, action: string): boolean {
  return Object.hasOwn(BUNDLE_OF, version) && validatorsOf(version).actions.has(action);
}

function echo(action: string): string {
  return JSON.stringify(action.length > MAX_ECHOED_ACTION ? `${action.slice(0, MAX_ECHOED_ACTION)}...` : action);
}

function validatorFor(version: OcppVersion, action: string, direction: OcppDirection): ValidateFunction | undefined {
  const validators = validatorsOf(version);
  if (!validators.actions.has(action) || (direction !== 'req' && direction !== 'conf')) return undefined;
  const id = `${action}.${direction}`;
  let validate = validators.compiled.get(id);
  if (!validate) {
    validate = validators.ajv.getSchema(id);
    if (!validate) return undefined;
    validators.compiled.set(id, validate);
  }
  return validate;
}

function describe(error: ErrorObject): ValidationIssue {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  switch (error.keyword) {
    case 'required':
      return { path: `${error.instancePath}/${String(error.params.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${error.instancePath}/${pointerToken(String(error.params.additionalProperty))}`,
        message: 'is not an allowed property',
      };
    case 'enum':
      return { path, message: `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

/** Escapes a property name for a JSON Pointer (RFC 6901 section 3). */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * JSON.parse turns an overflowing literal such as 1e400 into Infinity, which JSON Schema's
 * `type: number` accepts. Walked without recursion so deep nesting cannot exhaust the stack.
 */
function nonFiniteNumbers(payload: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const pending: Array<[unknown, string]> = [[payload, '']];
  while (pending.length > 0 && issues.length < MAX_PROBLEMS) {
    const [value, path] = pending.pop()!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) issues.push({ path: path === '' ? '/' : path, message: 'must be a finite number' });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push([value[i], `${path}/${i}`]);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) pending.push([child, `${path}/${pointerToken(key)}`]);
    }
  }
  return issues;
}

function capped(issues: ValidationIssue[]): ValidationIssue[] {
  if (issues.length <= MAX_PROBLEMS) return issues;
  const shown = issues.slice(0, MAX_PROBLEMS - 1);
  shown.push({ path: '/', message: `and ${issues.length - shown.length} more problems` });
  return shown;
}

/**
 * Every way `payload` breaks the schema of `action` in `direction`; empty when it is valid.
 * An unknown action (or direction) is one problem at '/', naming it.
 */
export function ocppProblems(
  version: OcppVersion,
  action: string,
  direction: OcppDirection,
  payload: unknown,
): ValidationIssue[] {
  if (!Object.hasOwn(BUNDLE_OF, version))
    return [{ path: '/', message: `unknown OCPP version ${echo(String(version))}` }];
  const validate = validatorFor(version, action, direction);
  if (!validate) return [{ path: '/', message: `unknown OCPP ${version} action ${echo(String(action))}.${direction}` }];
  const issues: ValidationIssue[] = [];
  if (!validate(payload)) {
    const seen = new Set<string>();
    for (const error of validate.errors ?? []) {
      const issue = describe(error);
      const key = `${issue.path}\u0000${issue.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(issue);
    }
  }
  issues.push(...nonFiniteNumbers(payload));
  return capped(issues);
}

/**
 * Throws GW_ERR_VALIDATION unless `payload` is a valid `action` payload in `direction`; an
 * unknown action throws the same code with a message naming it (`details.unknownAction`).
 */
export function assertValidOcpp<V extends OcppVersion, A extends string, D extends OcppDirection>(
  version: V,
  action: A,
  direction: D,
  payload: unknown,
): asserts payload is OcppPayload<V, A, D> {
  const issues = ocppProblems(version, action, direction, payload);
  if (issues.length === 0) return;
  const details = { ocppVersion: String(version), action: String(action).slice(0, MAX_ECHOED_ACTION), direction };
  const first = issues[0]!;
  if (!Object.hasOwn(BUNDLE_OF, version) || !validatorFor(version, action, direction))
    throw new GridseamError('GW_ERR_VALIDATION', first.message, { details: { ...details, unknownAction: true } });
  throw new GridseamError(
    'GW_ERR_VALIDATION',
    `OCPP ${version} ${action}.${direction}: ${first.path} ${first.message}` +
      (issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''),
    { issues, details },
  );
}
