/**
 * Run-time validation of OpenADR 3 messages against the vendored OpenAPI documents
 * (packages/openadr/spec/{3.0.1,3.1.0}/openadr3.yaml; nothing is read from ../shared).
 *
 * `openapiValidator(version)` reads and converts its document once; each operation's request body,
 * each response body per status, each named schema and each parameter gets an ajv validator the
 * first time it is asked for. Problems are `{ path, message }` with `path` a JSON Pointer into the
 * body ('/' is the body itself) or, for parameters, `/<name>[/<index>]`.
 *
 * OpenAPI 3.0 Schema Objects become JSON Schema for ajv as follows:
 *   - `nullable: true` adds null to `type` (or `enum`), or wraps the schema in `anyOf [schema, null]`;
 *   - a `$ref` ignores its siblings (OpenAPI 3.0 section 4.7.24.3) and points into the document's
 *     components.schemas, registered once per version;
 *   - boolean `exclusiveMaximum`/`exclusiveMinimum` (draft 4 style) become the numeric form;
 *   - `example`, `description`, `default` are dropped (documentation only; defaults are not applied);
 *   - `discriminator` (only `propertyName` is used; the documents give no `mapping`) selects the
 *     branch by the property's value: the branch whose schema fixes that property to one value, or,
 *     when the branch allows many (3.1.0 objects take `objectType` from `objectTypes`), the value
 *     equal to the schema name in upper case (OpenAPI 3.0 implicit mapping by schema name). A body
 *     without the property falls back to plain oneOf/anyOf;
 *   - formats through ajv-formats, plus `int32`/`int64` (integers in range), `float`/`double`
 *     (finite, float within ±3.4028234663852886e38); `date-time` is RFC 3339 or one of the "now"
 *     sentinels '0001-01-01' and '0001-01-01T00:00:00' the intervalPeriod schema documents (3.1.0
 *     components.schemas.intervalPeriod description; User Guide "do it now" events);
 *   - the corrections of src/v3/types/errata.ts are applied (ven/resource objectType).
 * Numbers JSON.parse turned into Infinity (a literal such as 1e400) are refused wherever they sit.
 */
import { readFileSync } from 'node:fs';
import type { ValidationIssue } from '@gridseam/model';
import { Ajv, type AnySchema, type ErrorObject, type Format, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';
import { parse } from 'yaml';
import { correctedSchemas, OMIT_KEYWORD } from './types/errata.ts';
import type { V301, V310 } from './types/index.ts';

export const OADR3_VERSIONS = ['3.0.1', '3.1.0'] as const;
export type Oadr3Version = (typeof OADR3_VERSIONS)[number];

/** One problem with one field: a JSON Pointer to it and what was expected. */
export type Problem = ValidationIssue;

/** The component schema names of a version, and the type each one describes. */
export type Oadr3SchemaMap<V extends Oadr3Version> = V extends '3.0.1' ? V301.SchemaMap : V310.SchemaMap;

export interface Oadr3Operation {
  /** Upper case: GET, POST, PUT, DELETE. */
  method: string;
  /** The path template exactly as in the document, e.g. '/programs/{programID}'. */
  path: string;
  operationId: string;
  /** The OAuth2 client-credentials scopes the operation asks for (any one of the alternatives), in document order. */
  scopes: string[];
  /** False when the document declares no security for the operation (the token endpoint, /auth/server). */
  secured: boolean;
  /** The request body's media type, when the operation takes a body. */
  requestContentType: string | undefined;
  /** The response statuses the document declares, as written ('200', '400', ...). */
  statuses: string[];
}

/** Query or path parameters as a router hands them over: repeated keys as arrays. */
export type RawParameters = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface ParsedParameters {
  /** The parameters that passed, coerced to their schema types (integers, booleans, arrays). */
  values: Record<string, unknown>;
  problems: Problem[];
}

export interface OpenapiValidator<V extends Oadr3Version = Oadr3Version> {
  readonly version: V;
  /** Problems of a request body for `method pathTemplate`; an undeclared operation is one problem at '/'. */
  request(method: string, pathTemplate: string, body: unknown): Problem[];
  /** Problems of a response body for `status`; a status the operation does not declare is one problem at '/'. */
  response(method: string, pathTemplate: string, status: number | string, body: unknown): Problem[];
  /** Problems of `value` against components.schemas[name]. */
  schema(name: string, value: unknown): Problem[];
  /** Whether `value` is a valid `name` (narrowing it to the generated type). */
  isValid<N extends keyof Oadr3SchemaMap<V>>(name: N, value: unknown): value is Oadr3SchemaMap<V>[N];
  /** Query parameters: unknown names, missing required ones, values that do not coerce or break the schema. */
  queryProblems(method: string, pathTemplate: string, query: RawParameters): Problem[];
  /** The query parameters coerced from strings, and their problems. */
  parseQuery(method: string, pathTemplate: string, query: RawParameters): ParsedParameters;
  /** Path parameters (e.g. programID against objectID's pattern and length). */
  pathProblems(method: string, pathTemplate: string, params: RawParameters): Problem[];
  /** Every operation of the document, in document order. */
  operations(): readonly Oadr3Operation[];
  operation(method: string, pathTemplate: string): Oadr3Operation | undefined;
}

/** At most this many problems are listed; the last one then says how many were left out. */
const MAX_PROBLEMS = 20;
/** Names and values echoed in messages are cut to this length (they come from the wire). */
const MAX_ECHO = 64;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
const FLOAT32_MAX = 3.4028234663852886e38;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** The "now" start values the intervalPeriod schema allows besides RFC 3339 date-times. */
const NOW_SENTINELS = new Set(['0001-01-01', '0001-01-01T00:00:00']);

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header' | 'cookie';
  required: boolean;
  schema: Json;
}

interface OperationEntry {
  info: Oadr3Operation;
  requestSchema: Json | undefined;
  responseSchemas: Map<string, Json | undefined>;
  parameters: Parameter[];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function echo(text: string): string {
  return JSON.stringify(text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}...` : text);
}

/** Escapes a property name for a JSON Pointer (RFC 6901 section 3). */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function documentPath(version: Oadr3Version): URL {
  return new URL(`../../spec/${version}/openadr3.yaml`, import.meta.url);
}

/** Converts the OpenAPI 3.0 schemas of one document into JSON Schema (see the header). */
class SchemaConverter {
  readonly base: string;

  constructor(
    version: Oadr3Version,
    /** components.schemas with the errata applied (OpenAPI form). */
    private readonly schemas: Readonly<Record<string, Json>>,
  ) {
    this.base = `https://gridseam.invalid/openadr/${version}/openadr3.json`;
  }

  refTo(name: string): string {
    return `${this.base}#/definitions/${name}`;
  }

  private refName(ref: unknown, where: string): string {
    const match = typeof ref === 'string' ? /^#\/components\/schemas\/([A-Za-z0-9_]+)$/.exec(ref) : null;
    if (!match?.[1] || !Object.hasOwn(this.schemas, match[1])) throw new Error(`${where}: unsupported $ref ${ref}`);
    return match[1];
  }

  convert(schema: unknown, where: string): Json {
    if (!isObject(schema)) throw new Error(`${where}: not a schema object`);
    if (schema.$ref !== undefined) return this.convertRef(schema, where);
    const out: Json = {};
    for (const [keyword, value] of Object.entries(schema)) {
      switch (keyword) {
        case 'example':
        case 'examples':
        case 'description':
        case 'default':
        case 'nullable':
        case 'discriminator':
          break;
        case 'properties': {
          const properties: Json = {};
          for (const [name, child] of Object.entries(value as Json))
            properties[name] = this.convert(child, `${where}.properties.${name}`);
          out.properties = properties;
          break;
        }
        case 'items':
        case 'not':
        case 'additionalProperties':
          out[keyword] = typeof value === 'boolean' ? value : this.convert(value, `${where}.${keyword}`);
          break;
        case 'allOf':
        case 'oneOf':
        case 'anyOf':
          out[keyword] = (value as unknown[]).map((member, i) => this.convert(member, `${where}.${keyword}[${i}]`));
          break;
        case 'exclusiveMaximum':
        case 'exclusiveMinimum': {
          // OpenAPI 3.0 (JSON Schema draft 4): a boolean beside maximum/minimum.
          if (typeof value === 'number') out[keyword] = value;
          else if (value === true) {
            const bound = keyword === 'exclusiveMaximum' ? 'maximum' : 'minimum';
            out[keyword] = schema[bound];
          }
          break;
        }
        default:
          out[keyword] = value;
      }
    }
    if (schema.exclusiveMaximum === true) delete out.maximum;
    if (schema.exclusiveMinimum === true) delete out.minimum;
    const discriminator = schema.discriminator;
    if (isObject(discriminator) && typeof discriminator.propertyName === 'string')
      this.applyDiscriminator(schema, out, discriminator.propertyName, where);
    return schema.nullable === true ? nullable(out) : out;
  }

  private convertRef(schema: Json, where: string): Json {
    const name = this.refName(schema.$ref, where);
    const omit = schema[OMIT_KEYWORD];
    if (!Array.isArray(omit) || omit.length === 0) return { $ref: this.refTo(name) };
    // An erratum: the target without some properties (src/v3/types/errata.ts).
    const target = this.convert(this.schemas[name], `${where} -> ${name}`);
    if (!isObject(target.properties)) throw new Error(`${where}: ${OMIT_KEYWORD} needs an object target`);
    const properties = { ...target.properties };
    for (const key of omit) delete properties[String(key)];
    const required = Array.isArray(target.required) ? target.required.filter((key) => !omit.includes(key)) : [];
    return { ...target, properties, required };
  }

  /** The values of `property` that select `member` (a $ref) under a discriminator. */
  private discriminatorValue(member: unknown, property: string, where: string): string {
    if (!isObject(member) || member.$ref === undefined) throw new Error(`${where}: discriminator member without $ref`);
    const name = this.refName(member.$ref, where);
    const allowed = this.allowedValues(this.schemas[name], property, where, new Set());
    if (allowed === undefined) throw new Error(`${where}: ${name} does not constrain ${property}`);
    if (allowed.length === 1 && typeof allowed[0] === 'string') return allowed[0];
    // OpenAPI 3.0 implicit mapping: the schema name (objectType values are its upper-case form).
    const implicit = name.toUpperCase();
    if (allowed.includes(implicit)) return implicit;
    throw new Error(`${where}: no single ${property} value selects ${name} (allowed: ${allowed.join(', ')})`);
  }

  /** The enum values `schema` allows for `property` (intersected across allOf), or undefined when unconstrained. */
  private allowedValues(schema: unknown, property: string, where: string, seen: Set<string>): unknown[] | undefined {
    if (!isObject(schema)) return undefined;
    if (schema.$ref !== undefined) {
      const name = this.refName(schema.$ref, where);
      if (seen.has(name)) return undefined;
      const omit = schema[OMIT_KEYWORD];
      if (Array.isArray(omit) && omit.includes(property)) return undefined;
      return this.allowedValues(this.schemas[name], property, where, new Set([...seen, name]));
    }
    let allowed: unknown[] | undefined;
    const narrow = (values: unknown[] | undefined): void => {
      if (values === undefined) return;
      allowed = allowed === undefined ? values : allowed.filter((value) => values.includes(value));
    };
    if (Array.isArray(schema.enum)) narrow(schema.enum);
    const ownProperty = isObject(schema.properties) ? schema.properties[property] : undefined;
    if (ownProperty !== undefined) narrow(this.enumOf(ownProperty, where, seen));
    if (Array.isArray(schema.allOf))
      for (const member of schema.allOf) narrow(this.allowedValues(member, property, where, seen));
    return allowed;
  }

  private enumOf(schema: unknown, where: string, seen: Set<string>): unknown[] | undefined {
    if (!isObject(schema)) return undefined;
    if (Array.isArray(schema.enum)) return schema.enum;
    if (schema.$ref !== undefined) {
      const name = this.refName(schema.$ref, where);
      return seen.has(name) ? undefined : this.enumOf(this.schemas[name], where, new Set([...seen, name]));
    }
    return undefined;
  }

  private applyDiscriminator(schema: Json, out: Json, property: string, where: string): void {
    const keyword = Array.isArray(schema.oneOf) ? 'oneOf' : Array.isArray(schema.anyOf) ? 'anyOf' : undefined;
    if (keyword === undefined) throw new Error(`${where}: discriminator without oneOf/anyOf`);
    const members = schema[keyword] as unknown[];
    const converted = out[keyword] as Json[];
    const values = members.map((member, i) => this.discriminatorValue(member, property, `${where}.${keyword}[${i}]`));
    if (new Set(values).size !== values.length) throw new Error(`${where}: two branches share a ${property} value`);
    delete out[keyword];
    const branches: Json[] = values.map((value, i) =>
      conditional({ properties: { [property]: { const: value } }, required: [property] }, converted[i] ?? {}),
    );
    branches.push(
      conditional({ required: [property] }, { properties: { [property]: { enum: values } } }, { [keyword]: converted }),
    );
    out.allOf = [...(Array.isArray(out.allOf) ? out.allOf : []), ...branches];
  }
}

/** A JSON Schema if/then/else (built from entries: a literal `then` key reads like a thenable to linters). */
function conditional(condition: Json, consequence: Json, alternative?: Json): Json {
  const entries: Array<[string, Json]> = [
    ['if', condition],
    ['then', consequence],
  ];
  if (alternative) entries.push(['else', alternative]);
  return Object.fromEntries(entries);
}

function nullable(schema: Json): Json {
  if (typeof schema.type === 'string') {
    const out: Json = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  if (Array.isArray(schema.enum) && Object.keys(schema).length === 1) return { enum: [...schema.enum, null] };
  return { anyOf: [schema, { type: 'null' }] };
}

function registerFormats(ajv: Ajv): void {
  // ajv-formats is CommonJS; under NodeNext its default import is the module object.
  formatsPlugin.default(ajv);
  const rfc3339 = ajv.formats['date-time'];
  const checkRfc3339 = (text: string): boolean => {
    if (typeof rfc3339 === 'function') return rfc3339(text);
    if (rfc3339 instanceof RegExp) return rfc3339.test(text);
    if (isObject(rfc3339) && typeof rfc3339.validate === 'function') return Boolean(rfc3339.validate(text));
    if (isObject(rfc3339) && rfc3339.validate instanceof RegExp) return rfc3339.validate.test(text);
    return false;
  };
  const dateTime: Format = {
    type: 'string',
    validate: (text: string) => NOW_SENTINELS.has(text) || checkRfc3339(text),
  };
  ajv.addFormat('date-time', dateTime);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) && Math.abs(n) <= FLOAT32_MAX });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
}

function describe(error: ErrorObject): Problem {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  switch (error.keyword) {
    case 'required':
      return {
        path: `${error.instancePath}/${pointerToken(String(error.params.missingProperty))}`,
        message: 'is required',
      };
    case 'enum':
      return { path, message: `must be one of: ${(error.params.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(error.params.allowedValue)}` };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

/** Infinity and NaN cannot be JSON, yet JSON.parse turns 1e400 into Infinity; walked without recursion. */
function nonFiniteNumbers(value: unknown, prefix = ''): Problem[] {
  const problems: Problem[] = [];
  const pending: Array<[unknown, string]> = [[value, prefix]];
  while (pending.length > 0 && problems.length < MAX_PROBLEMS) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) problems.push({ path: path === '' ? '/' : path, message: 'must be a finite number' });
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([item[i], `${path}/${i}`]);
    } else if (isObject(item)) {
      for (const [key, child] of Object.entries(item)) pending.push([child, `${path}/${pointerToken(key)}`]);
    }
  }
  return problems;
}

function capped(problems: Problem[]): Problem[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  const shown = problems.slice(0, MAX_PROBLEMS - 1);
  shown.push({ path: '/', message: `and ${problems.length - shown.length} more problems` });
  return shown;
}

/**
 * The errors worth reporting. The discriminator's if/then errors repeat their branch's errors. An
 * anyOf/oneOf failure is reported by its branches' errors below it when there are any (a missing
 * property inside the object), else by its one summary instead of every branch's type mismatch.
 */
function relevantErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const kept = errors.filter((error) => error.keyword !== 'if');
  const summaries = kept.filter((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  const dropped = new Set<ErrorObject>();
  for (const summary of summaries) {
    const path = summary.instancePath;
    const deeper = kept.some((error) => describe(error).path.startsWith(`${path}/`));
    if (deeper) dropped.add(summary);
    // The branches' complaints about the value itself (`must be number`, `must be string`, ...).
    for (const error of kept)
      if (error !== summary && error.instancePath === path && error.schemaPath.startsWith(summary.schemaPath))
        if (error.keyword !== 'required') dropped.add(error);
  }
  return kept.filter((error) => !dropped.has(error));
}

function run(validate: ValidateFunction, value: unknown, prefix = ''): Problem[] {
  const problems: Problem[] = [];
  if (!validate(value)) {
    const seen = new Set<string>();
    for (const error of relevantErrors(validate.errors ?? [])) {
      const problem = describe(error);
      const withPrefix =
        prefix === '' ? problem : { ...problem, path: `${prefix}${problem.path === '/' ? '' : problem.path}` };
      const key = `${withPrefix.path}\u0000${withPrefix.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(withPrefix);
    }
  }
  problems.push(...nonFiniteNumbers(value, prefix));
  return capped(problems);
}

function upper(method: string): string {
  return method.toUpperCase();
}

class Validator implements OpenapiValidator {
  private readonly ajv: Ajv;
  private readonly converter: SchemaConverter;
  private readonly entries = new Map<string, OperationEntry>();
  private readonly ordered: Oadr3Operation[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly schemaNames: ReadonlySet<string>;
  /** components.schemas in OpenAPI form (errata applied), for parameter coercion. */
  private readonly openapiSchemas: Readonly<Record<string, Json>>;

  constructor(readonly version: Oadr3Version) {
    const document: unknown = parse(readFileSync(documentPath(version), 'utf8'));
    if (!isObject(document) || !isObject(document.components) || !isObject(document.components.schemas))
      throw new Error(`OpenADR ${version}: the document has no components.schemas`);
    const schemas = correctedSchemas(version, document.components.schemas) as Record<string, Json>;
    this.openapiSchemas = schemas;
    this.schemaNames = new Set(Object.keys(schemas));
    this.converter = new SchemaConverter(version, schemas);
    const definitions: Json = {};
    for (const [name, schema] of Object.entries(schemas))
      definitions[name] = this.converter.convert(schema, `components.schemas.${name}`);
    // strict: false because the documents carry OpenAPI-only keywords the conversion keeps harmlessly.
    this.ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    registerFormats(this.ajv);
    this.ajv.addSchema({ $id: this.converter.base, definitions } as AnySchema);
    this.indexOperations(document);
  }

  private indexOperations(document: Json): void {
    const components = document.components as Json;
    const responses = isObject(components.responses) ? components.responses : {};
    const rootSecurity = document.security;
    const paths = isObject(document.paths) ? document.paths : {};
    for (const [path, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      const shared = Array.isArray(item.parameters) ? item.parameters : [];
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        if (!isObject(operation)) continue;
        const where = `${upper(method)} ${path}`;
        const security = operation.security ?? rootSecurity;
        const scopes: string[] = [];
        let secured = false;
        if (Array.isArray(security)) {
          for (const requirement of security) {
            if (!isObject(requirement)) continue;
            secured = true;
            for (const [scheme, list] of Object.entries(requirement)) {
              const type = (document.components as Json).securitySchemes;
              const schemeType = isObject(type) && isObject(type[scheme]) ? type[scheme].type : undefined;
              if (schemeType !== 'oauth2' || !Array.isArray(list)) continue;
              for (const scope of list) if (typeof scope === 'string' && !scopes.includes(scope)) scopes.push(scope);
            }
          }
        }
        let requestSchema: Json | undefined;
        let requestContentType: string | undefined;
        if (isObject(operation.requestBody) && isObject(operation.requestBody.content)) {
          const [contentType, media] = Object.entries(operation.requestBody.content)[0] ?? [];
          if (contentType !== undefined && isObject(media) && isObject(media.schema)) {
            requestContentType = contentType;
            requestSchema = media.schema;
          }
        }
        const responseSchemas = new Map<string, Json | undefined>();
        for (const [status, declared] of Object.entries(isObject(operation.responses) ? operation.responses : {})) {
          let response: unknown = declared;
          if (isObject(response) && typeof response.$ref === 'string') {
            const match = /^#\/components\/responses\/(\w+)$/.exec(response.$ref);
            response = match?.[1] ? responses[match[1]] : undefined;
            if (response === undefined) throw new Error(`${where} ${status}: unresolved ${String(declared)}`);
          }
          const content = isObject(response) && isObject(response.content) ? response.content : undefined;
          const media = content?.['application/json'];
          responseSchemas.set(status, isObject(media) && isObject(media.schema) ? media.schema : undefined);
        }
        const parameters = new Map<string, Parameter>();
        for (const raw of [...shared, ...(Array.isArray(operation.parameters) ? operation.parameters : [])]) {
          if (!isObject(raw) || typeof raw.name !== 'string' || typeof raw.in !== 'string') continue;
          parameters.set(`${raw.in} ${raw.name}`, {
            name: raw.name,
            in: raw.in as Parameter['in'],
            required: raw.required === true || raw.in === 'path',
            schema: isObject(raw.schema) ? raw.schema : {},
          });
        }
        const info: Oadr3Operation = {
          method: upper(method),
          path,
          operationId: typeof operation.operationId === 'string' ? operation.operationId : `${method} ${path}`,
          scopes,
          secured,
          requestContentType,
          statuses: [...responseSchemas.keys()],
        };
        Object.freeze(info.scopes);
        Object.freeze(info.statuses);
        Object.freeze(info);
        this.entries.set(`${info.method} ${path}`, {
          info,
          requestSchema,
          responseSchemas,
          parameters: [...parameters.values()],
        });
        this.ordered.push(info);
      }
    }
  }

  private entry(method: string, pathTemplate: string): OperationEntry | undefined {
    return this.entries.get(`${upper(String(method))} ${String(pathTemplate)}`);
  }

  private unknownOperation(method: string, pathTemplate: string): Problem[] {
    return [
      {
        path: '/',
        message: `OpenADR ${this.version} has no operation ${echo(upper(String(method)))} ${echo(String(pathTemplate))}`,
      },
    ];
  }

  private compile(key: string, schema: Json, where: string): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(this.converter.convert(schema, where));
      this.compiled.set(key, validate);
    }
    return validate;
  }

  request(method: string, pathTemplate: string, body: unknown): Problem[] {
    const entry = this.entry(method, pathTemplate);
    if (!entry) return this.unknownOperation(method, pathTemplate);
    const { info, requestSchema } = entry;
    if (requestSchema === undefined)
      return body === undefined || body === null ? [] : [{ path: '/', message: 'no request body is expected' }];
    // Every body these documents declare is the object to create or replace (or the token form);
    // most omit `required: true`, but an absent one cannot be meant.
    if (body === undefined) return [{ path: '/', message: 'a request body is required' }];
    return run(this.compile(`request ${info.method} ${info.path}`, requestSchema, `${info.method} ${info.path}`), body);
  }

  response(method: string, pathTemplate: string, status: number | string, body: unknown): Problem[] {
    const entry = this.entry(method, pathTemplate);
    if (!entry) return this.unknownOperation(method, pathTemplate);
    const code = String(status);
    const key = [code, `${code.charAt(0)}XX`, 'default'].find((candidate) => entry.responseSchemas.has(candidate));
    if (key === undefined)
      return [
        { path: '/', message: `status ${echo(code)} is not declared for ${entry.info.method} ${entry.info.path}` },
      ];
    const schema = entry.responseSchemas.get(key);
    if (schema === undefined) return [];
    const where = `${entry.info.method} ${entry.info.path} ${key}`;
    return run(this.compile(`response ${where}`, schema, where), body);
  }

  schema(name: string, value: unknown): Problem[] {
    if (!this.schemaNames.has(name))
      return [{ path: '/', message: `OpenADR ${this.version} has no schema ${echo(String(name))}` }];
    let validate = this.compiled.get(`schema ${name}`);
    if (!validate) {
      validate = this.ajv.compile({ $ref: this.converter.refTo(name) });
      this.compiled.set(`schema ${name}`, validate);
    }
    return run(validate, value);
  }

  isValid<N extends keyof Oadr3SchemaMap<Oadr3Version>>(
    name: N,
    value: unknown,
  ): value is Oadr3SchemaMap<Oadr3Version>[N] {
    return this.schema(String(name), value).length === 0;
  }

  queryProblems(method: string, pathTemplate: string, query: RawParameters): Problem[] {
    return this.parseQuery(method, pathTemplate, query).problems;
  }

  parseQuery(method: string, pathTemplate: string, query: RawParameters): ParsedParameters {
    return this.parameters('query', method, pathTemplate, query);
  }

  pathProblems(method: string, pathTemplate: string, params: RawParameters): Problem[] {
    return this.parameters('path', method, pathTemplate, params).problems;
  }

  private parameters(
    location: 'query' | 'path',
    method: string,
    pathTemplate: string,
    raw: RawParameters,
  ): ParsedParameters {
    const entry = this.entry(method, pathTemplate);
    if (!entry) return { values: {}, problems: this.unknownOperation(method, pathTemplate) };
    const declared = entry.parameters.filter((parameter) => parameter.in === location);
    const values: Record<string, unknown> = {};
    const problems: Problem[] = [];
    for (const name of Object.keys(raw)) {
      if (raw[name] === undefined || declared.some((parameter) => parameter.name === name)) continue;
      problems.push({
        path: `/${pointerToken(name.slice(0, MAX_ECHO))}`,
        message: `is not a ${location} parameter of ${entry.info.method} ${entry.info.path}`,
      });
    }
    for (const parameter of declared) {
      const given = Object.hasOwn(raw, parameter.name) ? raw[parameter.name] : undefined;
      const path = `/${pointerToken(parameter.name)}`;
      if (given === undefined) {
        if (parameter.required) problems.push({ path, message: 'is required' });
        continue;
      }
      const schema = this.resolve(parameter.schema);
      const coerced = coerce(given, schema, this, path);
      if ('problem' in coerced) {
        problems.push(coerced.problem);
        continue;
      }
      const where = `${entry.info.method} ${entry.info.path} ${location} ${parameter.name}`;
      const found = run(this.compile(`parameter ${where}`, parameter.schema, where), coerced.value, path);
      if (found.length === 0) values[parameter.name] = coerced.value;
      else problems.push(...found);
    }
    return { values, problems: capped(problems) };
  }

  /** A parameter schema with its top-level $ref resolved (OpenAPI form), for coercion only. */
  resolve(schema: Json): Json {
    let current = schema;
    for (let depth = 0; depth < 8 && typeof current.$ref === 'string'; depth++) {
      const match = /^#\/components\/schemas\/([A-Za-z0-9_]+)$/.exec(current.$ref as string);
      const target = match?.[1] ? this.openapiSchemas[match[1]] : undefined;
      if (!target) break;
      current = target;
    }
    return current;
  }

  operations(): readonly Oadr3Operation[] {
    return this.ordered;
  }

  operation(method: string, pathTemplate: string): Oadr3Operation | undefined {
    return this.entry(method, pathTemplate)?.info;
  }
}

type Coerced = { value: unknown } | { problem: Problem };

/** A query/path string (or repeated strings) as the schema's type (OpenAPI style: form, explode: true). */
function coerce(given: string | readonly string[], schema: Json, validator: Validator, path: string): Coerced {
  const type = schema.type;
  if (type === 'array') {
    const items = isObject(schema.items) ? validator.resolve(schema.items) : {};
    const list = typeof given === 'string' ? [given] : [...given];
    const out: unknown[] = [];
    for (const [index, text] of list.entries()) {
      const one = coerceScalar(text, items.type, `${path}/${index}`);
      if ('problem' in one) return one;
      out.push(one.value);
    }
    return { value: out };
  }
  if (typeof given !== 'string') {
    if (given.length !== 1) return { problem: { path, message: 'must be given once' } };
    return coerceScalar(given[0] ?? '', type, path);
  }
  return coerceScalar(given, type, path);
}

function coerceScalar(text: string, type: unknown, path: string): Coerced {
  switch (type) {
    case 'integer':
      return /^-?\d{1,16}$/.test(text) ? { value: Number(text) } : { problem: { path, message: 'must be an integer' } };
    case 'number': {
      const value = Number(text);
      return text.trim() !== '' && Number.isFinite(value)
        ? { value }
        : { problem: { path, message: 'must be a number' } };
    }
    case 'boolean':
      return text === 'true' || text === 'false'
        ? { value: text === 'true' }
        : { problem: { path, message: 'must be true or false' } };
    default:
      return { value: text };
  }
}

const validators = new Map<Oadr3Version, Validator>();

/**
 * The validator of one OpenADR 3 version (created once per process; the document is read on first
 * use). Throws on a version other than OADR3_VERSIONS.
 */
export function openapiValidator<V extends Oadr3Version>(version: V): OpenapiValidator<V> {
  if (!OADR3_VERSIONS.includes(version)) throw new Error(`unknown OpenADR 3 version ${echo(String(version))}`);
  let validator = validators.get(version);
  if (!validator) {
    validator = new Validator(version);
    validators.set(version, validator);
  }
  return validator as unknown as OpenapiValidator<V>;
}
