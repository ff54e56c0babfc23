import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static, TSchema } from 'typebox';
import { Capabilities, Device } from './device.ts';
import { GridseamError, type ValidationIssue } from './errors.ts';
import { Reading } from './reading.ts';
import { Setpoint, setpointValueProblems } from './setpoint.ts';
import { type Measurand, OPERATING_STATES, unitOf } from './units.ts';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let validateFn = compiled.get(schema);
  if (!validateFn) {
    // Compile a copy without $id so a schema can be compiled here and also registered elsewhere.
    const { $id: _id, ...rest } = schema as TSchema & { $id?: string };
    validateFn = ajv.compile(rest);
    compiled.set(schema, validateFn);
  }
  return validateFn;
}

function describe(error: ErrorObject): ValidationIssue {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  switch (error.keyword) {
    case 'required':
      return { path: `${error.instancePath}/${String(error.params.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${error.instancePath}/${String(error.params.additionalProperty)}`,
        message: 'is not an allowed property',
      };
    case 'enum':
      return { path, message: `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

/** Collapses anyOf noise: when a union fails, keep the branch errors that got furthest. */
function issuesFrom(errors: readonly ErrorObject[]): ValidationIssue[] {
  const relevant = errors.filter((e) => e.keyword !== 'anyOf');
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const error of relevant.length > 0 ? relevant : errors) {
    const issue = describe(error);
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** Validates against a schema and returns every failing field with its JSON Pointer path. */
export function check<S extends TSchema>(schema: S, value: unknown): ValidationResult<Static<S>> {
  const validateFn = compile(schema);
  const nonFinite = nonFiniteNumbers(value, '', []);
  if (validateFn(value) && nonFinite.length === 0) return { ok: true, value: value as Static<S> };
  return { ok: false, issues: [...nonFinite, ...issuesFrom(validateFn.errors ?? [])] };
}

/** Escapes a property name for a JSON Pointer (RFC 6901 section 3). */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * JSON text cannot spell NaN or Infinity, but JSON.parse turns an overflowing literal such as
 * 1e400 into Infinity, values built in-process can be NaN, and JSON Schema's `type: number`
 * accepts both. Every number in the model must be finite.
 */
function nonFiniteNumbers(value: unknown, path: string, issues: ValidationIssue[]): ValidationIssue[] {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) issues.push({ path: path === '' ? '/' : path, message: 'must be a finite number' });
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) nonFiniteNumbers(value[i], `${path}/${i}`, issues);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) nonFiniteNumbers(child, `${path}/${pointerToken(key)}`, issues);
  }
  return issues;
}

/** Like check, but throws GW_ERR_VALIDATION naming what was being validated. */
export function assertValid<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  const result = check(schema, value);
  if (!result.ok) throw validationError(what, result.issues);
  return result.value;
}

export function validationError(what: string, issues: ValidationIssue[]): GridseamError {
  const first = issues[0];
  const summary = first ? `${first.path} ${first.message}` : 'invalid';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new GridseamError('GW_ERR_VALIDATION', `invalid ${what}: ${summary}${more}`, { issues });
}

function prefixed(prefix: string, problems: Array<[string, string]>): ValidationIssue[] {
  return problems.map(([path, message]) => ({ path: `${prefix}${path}`, message }));
}

/** Rules across fields of a reading: the unit belongs to the measurand; ranges of % measurands. */
export function readingProblems(reading: Reading, prefix = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const expected = unitOf(reading.measurand as Measurand);
  if (reading.unit !== expected)
    issues.push({ path: `${prefix}/unit`, message: `must be ${expected} for ${reading.measurand}` });
  if (
    reading.measurand === 'operatingState' &&
    !(OPERATING_STATES as readonly string[]).includes(reading.value as string)
  )
    issues.push({ path: `${prefix}/value`, message: `must be one of: ${OPERATING_STATES.join(', ')}` });
  if (
    (reading.measurand === 'stateOfCharge' || reading.measurand === 'stateOfHealth') &&
    ((reading.value as number) < 0 || (reading.value as number) > 100)
  )
    issues.push({ path: `${prefix}/value`, message: 'must be within 0..100' });
  return issues;
}

/** Validates a batch of readings: schema and cross-field rules, paths prefixed with the index. */
export function checkReadings(values: unknown): ValidationResult<Reading[]> {
  if (!Array.isArray(values)) return { ok: false, issues: [{ path: '/', message: 'must be an array of readings' }] };
  const issues: ValidationIssue[] = [];
  values.forEach((value, index) => {
    const result = check(Reading, value);
    if (!result.ok) {
      for (const issue of result.issues)
        issues.push({ path: `/${index}${issue.path === '/' ? '' : issue.path}`, message: issue.message });
    } else {
      issues.push(...readingProblems(result.value, `/${index}`));
    }
  });
  return issues.length === 0 ? { ok: true, value: values as Reading[] } : { ok: false, issues };
}

export function checkSetpoint(value: unknown): ValidationResult<Setpoint> {
  const result = check(Setpoint, value);
  if (!result.ok) return result;
  const issues = prefixed('', setpointValueProblems(result.value));
  return issues.length === 0 ? result : { ok: false, issues };
}

export function checkCapabilities(value: unknown, prefix = ''): ValidationIssue[] {
  const result = check(Capabilities, value);
  if (!result.ok) return result.issues.map((i) => ({ ...i, path: `${prefix}${i.path === '/' ? '' : i.path}` }));
  const storage = result.value.storage;
  const issues: ValidationIssue[] = [];
  if (storage?.socMinPct !== undefined && storage.socMaxPct !== undefined && storage.socMinPct > storage.socMaxPct)
    issues.push({ path: `${prefix}/storage/socMinPct`, message: 'must not exceed socMaxPct' });
  const thermal = result.value.thermal;
  if (thermal && thermal.setpointMinC > thermal.setpointMaxC)
    issues.push({ path: `${prefix}/thermal/setpointMinC`, message: 'must not exceed setpointMaxC' });
  return issues;
}

export function checkDevice(value: unknown): ValidationResult<Device> {
  const result = check(Device, value);
  if (!result.ok) return result;
  const issues = checkCapabilities(result.value.capabilities, '/capabilities');
  return issues.length === 0 ? result : { ok: false, issues };
}
