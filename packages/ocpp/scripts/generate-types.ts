/**
 * Regenerates packages/ocpp/src/types/v16.ts and v201.ts from the OCA JSON schemas in
 * ../shared/specs/ocpp-schemas/{v16,v201} (relative to the repository root).
 * Run: `npm run generate:ocpp-types`, or `npx tsx packages/ocpp/scripts/generate-types.ts [--source DIR] [--check]`.
 * With --check nothing is written; the exit code says whether the committed files are current.
 *
 * Conventions (other modules rely on them):
 *   - every action has `<Action>Request` and `<Action>Response` (1.6 files `<Action>.json` and
 *     `<Action>Response.json`; 2.0.1 files `<Action>Request.json` and `<Action>Response.json`);
 *   - schema `definitions` are exported under their own names, once per version; two files that
 *     define a name differently (ignoring descriptions) stop the generator;
 *   - objects and enums written inline (most of 1.6) become named types called after their owner
 *     and property, e.g. `MeterValuesRequestMeterValue`, `MeterValuesRequestMeterValueSampledValue`
 *     (array items take the array property's name);
 *   - enums are string-literal unions, integer/number are `number`, string formats stay `string`,
 *     a schema without a type is `unknown`,
 *     `required` decides optionality, objects without `additionalProperties: false` get an
 *     `unknown` index signature, closed objects without properties a `never` one;
 *   - declarations are sorted by name, then come `<P>RequestMap`, `<P>ResponseMap`, `<P>Action`
 *     and the runtime `<P>_ACTIONS` (P = V16 or V201).
 * The text is written the way Biome formats it, so `biome check` has nothing to change.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const scriptDir = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(scriptDir, '../../..');
export const DEFAULT_SOURCE_DIR = resolve(REPO_ROOT, '../shared/specs/ocpp-schemas');
export const TYPES_DIR = resolve(scriptDir, '../src/types');

/** Biome's configured line width (biome.json `formatter.lineWidth`). */
const LINE_WIDTH = 120;

/** The JSON Schema subset the OCPP schemas use; anything else stops the generator. */
interface Schema {
  $schema?: string;
  $id?: string;
  $ref?: string;
  title?: string;
  comment?: string;
  description?: string;
  javaType?: string;
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: Schema;
  additionalItems?: boolean;
  definitions?: Record<string, Schema>;
  format?: string;
  maxLength?: number;
  minLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  default?: unknown;
}

const KNOWN_KEYWORDS = new Set([
  '$schema',
  '$id',
  '$ref',
  'title',
  'comment',
  'description',
  'javaType',
  'type',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'additionalItems',
  'definitions',
  'format',
  'maxLength',
  'minLength',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'multipleOf',
  'default',
]);
/** Keywords that only document; they do not change the type. */
const DOC_KEYWORDS = new Set(['$schema', '$id', 'title', 'comment', 'description', 'javaType']);
/** Constraints shown as JSDoc tags on properties (ajv enforces them at run time, see src/validate.ts). */
const TAG_KEYWORDS = ['format', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minimum', 'maximum', 'multipleOf'];

export interface VersionLayout {
  /** Folder under the source directory. */
  dir: 'v16' | 'v201';
  /** Prefix of the map names: V16RequestMap, V16_ACTIONS. */
  prefix: 'V16' | 'V201';
  label: '1.6' | '2.0.1';
  /** Where the schemas came from inside the upstream repository (README.md beside them). */
  upstreamPath: string;
  requestFile(action: string): string;
  responseFile(action: string): string;
  /** The action a request file belongs to, or undefined for response files. */
  actionOfRequestFile(file: string): string | undefined;
}

export const VERSION_LAYOUTS: readonly VersionLayout[] = [
  {
    dir: 'v16',
    prefix: 'V16',
    label: '1.6',
    upstreamPath: 'ocpp/v16/schemas',
    requestFile: (action) => `${action}.json`,
    responseFile: (action) => `${action}Response.json`,
    actionOfRequestFile: (file) =>
      file.endsWith('.json') && !file.endsWith('Response.json') ? file.slice(0, -'.json'.length) : undefined,
  },
  {
    dir: 'v201',
    prefix: 'V201',
    label: '2.0.1',
    upstreamPath: 'ocpp/v201/schemas',
    requestFile: (action) => `${action}Request.json`,
    responseFile: (action) => `${action}Response.json`,
    actionOfRequestFile: (file) => (file.endsWith('Request.json') ? file.slice(0, -'Request.json'.length) : undefined),
  },
];

function fail(message: string): never {
  throw new Error(`generate-types: ${message}`);
}

function readSchema(path: string): Schema {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(`${path}: not a JSON object`);
  return parsed as Schema;
}

/** The source commit named in the README beside the schemas ("Commit: <40 hex>"). */
export function readSourceCommit(sourceDir: string): string {
  const readme = readFileSync(join(sourceDir, 'README.md'), 'utf8');
  const match = /Commit:\s*`?([0-9a-f]{40})/i.exec(readme);
  if (!match?.[1]) fail(`${join(sourceDir, 'README.md')}: no "Commit: <sha>" line`);
  return match[1];
}

/** The schema without documentation keywords and with sorted keys: two types are the same when these match. */
function structuralKey(schema: unknown): string {
  const strip = (value: unknown, inMap: boolean): unknown => {
    if (Array.isArray(value)) return value.map((v) => strip(v, false));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (!inMap && DOC_KEYWORDS.has(key)) continue;
      const child = (value as Record<string, unknown>)[key];
      out[key] = strip(child, !inMap && (key === 'properties' || key === 'definitions'));
    }
    return out;
  };
  return JSON.stringify(strip(schema, false));
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function propertyKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : quote(name);
}

function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function literal(value: unknown, where: string): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return fail(`${where}: unsupported enum value ${JSON.stringify(value)}`);
}

/** Description lines for a JSDoc block: CR/LF normalised, trailing blanks and repeated empty lines dropped. */
function descriptionLines(text: string | undefined): string[] {
  if (text === undefined) return [];
  const lines = text
    .replaceAll('*/', '*\\/')
    .split(/\r\n|\r|\n/)
    .map((line) => line.trimEnd());
  const out: string[] = [];
  for (const line of lines) {
    if (line === '' && (out.length === 0 || out[out.length - 1] === '')) continue;
    out.push(line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

function docBlock(lines: readonly string[], indent: string): string {
  if (lines.length === 0) return '';
  const only = lines[0];
  if (lines.length === 1 && only !== undefined && indent.length + only.length + 7 <= LINE_WIDTH)
    return `${indent}/** ${only} */\n`;
  const body = lines.map((line) => (line === '' ? `${indent} *` : `${indent} * ${line}`)).join('\n');
  return `${indent}/**\n${body}\n${indent} */\n`;
}

function constraintTags(schema: Schema): string[] {
  const tags: string[] = [];
  for (const keyword of TAG_KEYWORDS) {
    const value = (schema as Record<string, unknown>)[keyword];
    if (value !== undefined) tags.push(`@${keyword} ${String(value)}`);
  }
  if (schema.default !== undefined) tags.push(`@default ${JSON.stringify(schema.default)}`);
  return tags;
}

/** Where a schema sits: its file (for messages), the definitions it may reference, the name of its owner. */
interface Place {
  file: string;
  definitions: Record<string, Schema>;
}

interface Declaration {
  key: string;
  origin: string;
  text: string;
}

/** Collects the declarations of one version, deduplicated by name. */
class VersionEmitter {
  readonly declarations = new Map<string, Declaration>();

  /** Declares `name` for `schema` (first come renders it; a later, different one is an error). */
  declare(name: string, schema: Schema, place: Place, doc: readonly string[] = []): void {
    checkKeywords(schema, `${place.file} ${name}`);
    const key = structuralKey(schema);
    const existing = this.declarations.get(name);
    if (existing) {
      if (existing.key !== key)
        fail(`"${name}" is defined differently in ${existing.origin} and ${place.file}; resolve by hand`);
      return;
    }
    const declaration: Declaration = { key, origin: place.file, text: '' };
    this.declarations.set(name, declaration);
    declaration.text = this.render(name, schema, place, doc);
  }

  private render(name: string, schema: Schema, place: Place, extraDoc: readonly string[]): string {
    const doc = docBlock([...descriptionLines(schema.description), ...extraDoc], '');
    if (schema.enum !== undefined) {
      if (schema.enum.length === 0) fail(`${place.file} ${name}: empty enum`);
      const values = schema.enum.map((value) => literal(value, `${place.file} ${name}`));
      const oneLine = `export type ${name} = ${values.join(' | ')};`;
      if (oneLine.length <= LINE_WIDTH) return `${doc}${oneLine}\n`;
      return `${doc}export type ${name} =\n${values.map((value) => `  | ${value}`).join('\n')};\n`;
    }
    if (schema.type !== 'object') fail(`${place.file} ${name}: a named type must be an object or an enum`);
    const properties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    for (const property of required)
      if (!Object.hasOwn(properties, property))
        fail(`${place.file} ${name}: required "${property}" is not among the properties`);
    const members: string[] = [];
    for (const [property, propertySchema] of Object.entries(properties)) {
      const type = this.typeOf(propertySchema, place, name, property);
      const propertyDoc = docBlock(
        [...descriptionLines(propertySchema.description), ...constraintTags(propertySchema)],
        '  ',
      );
      const optional = required.has(property) ? '' : '?';
      members.push(`${propertyDoc}  ${propertyKey(property)}${optional}: ${type};\n`);
    }
    if (typeof schema.additionalProperties === 'object')
      fail(`${place.file} ${name}: additionalProperties as a schema is not supported`);
    // additionalProperties absent or true: open (JSON Schema's default); false: closed, and a
    // closed object without properties accepts no key at all.
    if (schema.additionalProperties !== false) members.push('  [key: string]: unknown;\n');
    else if (members.length === 0) members.push('  [key: string]: never;\n');
    return `${doc}export interface ${name} {\n${members.join('')}}\n`;
  }

  /** The type expression of a property; named types are declared on the way. */
  private typeOf(schema: Schema, place: Place, owner: string, property: string): string {
    const where = `${place.file} ${owner}.${property}`;
    checkKeywords(schema, where);
    if (schema.$ref !== undefined) {
      const match = /^#\/definitions\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(schema.$ref);
      const target = match?.[1];
      if (target === undefined) return fail(`${where}: unsupported $ref ${schema.$ref}`);
      const definition = place.definitions[target];
      if (definition === undefined) return fail(`${where}: $ref to a missing definition ${target}`);
      this.declare(target, definition, place);
      return target;
    }
    if (schema.enum !== undefined) {
      const name = `${owner}${pascal(property)}`;
      this.declare(name, schema, place);
      return name;
    }
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case undefined:
        return 'unknown'; // no type: any JSON value (2.0.1 DataTransferRequest.data)
      case 'array': {
        if (schema.items === undefined) return fail(`${where}: array without items`);
        return `${this.typeOf(schema.items, place, owner, property)}[]`;
      }
      case 'object': {
        const name = `${owner}${pascal(property)}`;
        this.declare(name, schema, place);
        return name;
      }
      default:
        return fail(`${where}: unsupported type ${JSON.stringify(schema.type)}`);
    }
  }
}

function checkKeywords(schema: Schema, where: string): void {
  for (const keyword of Object.keys(schema))
    if (!KNOWN_KEYWORDS.has(keyword)) fail(`${where}: unsupported keyword "${keyword}"`);
}

/** The actions of one version: every request file with its response beside it, in name order. */
export function actionsIn(sourceDir: string, layout: VersionLayout): string[] {
  const files = new Set(readdirSync(join(sourceDir, layout.dir)).filter((file) => file.endsWith('.json')));
  const actions = [...files]
    .map((file) => layout.actionOfRequestFile(file))
    .filter((action): action is string => action !== undefined)
    .sort(byCodeUnit);
  const claimed = new Set<string>();
  for (const action of actions) {
    for (const file of [layout.requestFile(action), layout.responseFile(action)]) {
      if (!files.has(file)) fail(`${layout.dir}/${file} is missing (action ${action})`);
      claimed.add(file);
    }
  }
  for (const file of files) if (!claimed.has(file)) fail(`${layout.dir}/${file} belongs to no action`);
  return actions;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function arrayLiteral(name: string, type: string, values: readonly string[]): string {
  const quoted = values.map(quote);
  const oneLine = `export const ${name}: ${type} = [${quoted.join(', ')}];`;
  if (oneLine.length <= LINE_WIDTH) return `${oneLine}\n`;
  return `export const ${name}: ${type} = [\n${quoted.map((value) => `  ${value},\n`).join('')}];\n`;
}

function header(layout: VersionLayout, commit: string, fileCount: number): string {
  const inline =
    layout.dir === 'v16'
      ? [
          ' * Nested objects and enums are inline in the 1.6 schemas; here they are named after their owner and',
          ' * property (`MeterValuesRequestMeterValue`, `MeterValuesRequestMeterValueSampledValueMeasurand`); the',
          ' * Security Whitepaper messages keep the names of their `definitions`.',
        ]
      : [' * Schema `definitions` keep their names (`ChargingProfileType`, `MeterValueType`, enums `...EnumType`).'];
  return [
    '/**',
    ` * OCPP ${layout.label} message types. GENERATED by packages/ocpp/scripts/generate-types.ts: do not edit.`,
    ' *',
    ` * Source: ../shared/specs/ocpp-schemas/${layout.dir} (${fileCount} files), the Open Charge Alliance's JSON schemas`,
    ` * as kept by github.com/mobilityhouse/ocpp (\`${layout.upstreamPath}\`, commit ${commit}, MIT);`,
    " * descriptions are the OCA's, verbatim.",
    ' * Regenerate: `npm run generate:ocpp-types`. packages/ocpp/test/types/drift.test.ts fails when this file is stale.',
    ' *',
    ' * Each action has `<Action>Request` (the CALL payload) and `<Action>Response` (the CALLRESULT payload).',
    ...inline,
    ' * Run-time validation: src/validate.ts.',
    ' */',
    '',
  ].join('\n');
}

/** The generated TypeScript of one version. */
export function generateVersion(sourceDir: string, layout: VersionLayout): string {
  const commit = readSourceCommit(sourceDir);
  const actions = actionsIn(sourceDir, layout);
  const emitter = new VersionEmitter();
  for (const action of actions) {
    for (const [file, name, role] of [
      [layout.requestFile(action), `${action}Request`, 'request (CALL payload)'],
      [layout.responseFile(action), `${action}Response`, 'response (CALLRESULT payload)'],
    ] as const) {
      const schema = readSchema(join(sourceDir, layout.dir, file));
      const place: Place = { file: `${layout.dir}/${file}`, definitions: schema.definitions ?? {} };
      if (schema.type !== 'object') fail(`${place.file}: the message schema is not an object`);
      // Every definition, referenced or not, so that conflicting duplicates are always caught.
      for (const [definitionName, definition] of Object.entries(place.definitions))
        emitter.declare(definitionName, definition, place);
      const { definitions: _definitions, ...message } = schema;
      if (emitter.declarations.has(name)) fail(`${place.file}: "${name}" is also a definition name`);
      emitter.declare(name, message, place, [`${action} ${role}, from ${layout.dir}/${file}.`]);
    }
  }
  const declarations = [...emitter.declarations.entries()]
    .sort(([a], [b]) => byCodeUnit(a, b))
    .map(([, declaration]) => declaration.text);
  const p = layout.prefix;
  const requestMap = actions.map((action) => `  ${action}: ${action}Request;\n`).join('');
  const responseMap = actions.map((action) => `  ${action}: ${action}Response;\n`).join('');
  const maps = [
    `/** Every ${layout.label} action's request payload, by action. */\n`,
    `export interface ${p}RequestMap {\n${requestMap}}\n`,
    '\n',
    `/** Every ${layout.label} action's response payload, by action. */\n`,
    `export interface ${p}ResponseMap {\n${responseMap}}\n`,
    '\n',
    `export type ${p}Action = keyof ${p}RequestMap;\n`,
    '\n',
    `/** The ${layout.label} actions, in name order. */\n`,
    arrayLiteral(`${p}_ACTIONS`, `readonly ${p}Action[]`, actions),
  ].join('');
  const fileCount = actions.length * 2;
  return `${header(layout, commit, fileCount)}\n${declarations.join('\n')}\n${maps}`;
}

/** Generated file name -> text, for both versions. */
export function generateOcppTypes(sourceDir: string = DEFAULT_SOURCE_DIR): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const layout of VERSION_LAYOUTS) outputs[`${layout.dir}.ts`] = generateVersion(sourceDir, layout);
  return outputs;
}

function main(argv: string[]): number {
  const sourceIndex = argv.indexOf('--source');
  const sourceArg = sourceIndex >= 0 ? argv[sourceIndex + 1] : undefined;
  const sourceDir = sourceArg !== undefined ? resolve(sourceArg) : DEFAULT_SOURCE_DIR;
  const check = argv.includes('--check');
  let stale = 0;
  for (const [file, text] of Object.entries(generateOcppTypes(sourceDir))) {
    const path = join(TYPES_DIR, file);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // missing counts as stale
      }
      if (current !== text) {
        stale++;
        console.error(`stale: ${path}`);
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${path}`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
