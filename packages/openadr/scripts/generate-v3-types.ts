/**
 * Regenerates packages/openadr/src/v3/types/v301.ts and v310.ts from the vendored OpenAPI documents
 * packages/openadr/spec/{3.0.1,3.1.0}/openadr3.yaml (`components.schemas`).
 * Run: `npm run generate:openadr-types`, or `npx tsx packages/openadr/scripts/generate-v3-types.ts [--check]`.
 * With --check nothing is written; the exit code says whether the committed files are current.
 *
 * Conventions (other modules rely on them):
 *   - one exported type per components.schemas entry, named in PascalCase (`program` -> `Program`,
 *     `objectID` -> `ObjectID`, `BlVenRequest` stays); objects become interfaces, everything else a
 *     type alias (`export type ObjectID = string;`);
 *   - `required` decides optionality; `nullable: true` adds `| null`; enums are literal unions;
 *     `oneOf`/`anyOf` are unions, `allOf` an intersection; a `$ref` is the target's name; `format`,
 *     `pattern`, lengths and bounds stay `string`/`number` and are shown as JSDoc tags (ajv enforces
 *     them at run time, src/v3/validate.ts); integer and number are `number`;
 *   - the documents never close an object (no `additionalProperties: false`), yet the interfaces list
 *     only the declared properties, so a typo in a literal is a compile error;
 *   - objects written inline are named after their owner and property
 *     (`ReportRequestResources` is one element of `reportRequest.resources`), inline `allOf` members
 *     `<Owner>AllOf<index>`;
 *   - declarations follow the document's order, each inline type right after its owner; then
 *     `SchemaMap` (schema name -> type) and the runtime `SCHEMA_NAMES`;
 *   - the corrections of src/v3/types/errata.ts are applied (`Omit<BlVenRequest, 'objectType'>`).
 * The text is written the way Biome formats it, so `biome check` has nothing to change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { correctedSchemas, OMIT_KEYWORD } from '../src/v3/types/errata.ts';

const scriptDir = dirname(fileURLToPath(import.meta.url));
export const SPEC_DIR = resolve(scriptDir, '../spec');
export const TYPES_DIR = resolve(scriptDir, '../src/v3/types');

/** Biome's configured line width (biome.json `formatter.lineWidth`). */
const LINE_WIDTH = 120;

/** The OpenAPI 3.0 Schema Object subset the OpenADR documents use; anything else stops the generator. */
interface Schema {
  $ref?: string;
  [OMIT_KEYWORD]?: string[];
  type?: string;
  description?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  nullable?: boolean;
  default?: unknown;
  example?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMaximum?: boolean;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  discriminator?: { propertyName: string };
}

const KNOWN_KEYWORDS = new Set([
  '$ref',
  OMIT_KEYWORD,
  'type',
  'description',
  'required',
  'properties',
  'items',
  'enum',
  'nullable',
  'default',
  'example',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMaximum',
  'allOf',
  'oneOf',
  'anyOf',
  'discriminator',
]);
/** Constraints shown as JSDoc tags (ajv enforces them at run time). */
const TAG_KEYWORDS = ['format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMaximum'] as const;

export interface VersionLayout {
  version: '3.0.1' | '3.1.0';
  /** Generated file name under src/v3/types. */
  file: 'v301.ts' | 'v310.ts';
}

export const VERSION_LAYOUTS: readonly VersionLayout[] = [
  { version: '3.0.1', file: 'v301.ts' },
  { version: '3.1.0', file: 'v310.ts' },
];

function fail(message: string): never {
  throw new Error(`generate-v3-types: ${message}`);
}

/** The source commit named in spec/README.md ("Commit: <40 hex>"). */
export function readSourceCommit(specDir: string): string {
  const readme = readFileSync(join(specDir, 'README.md'), 'utf8');
  const match = /Commit:\s*`?([0-9a-f]{40})/i.exec(readme);
  if (!match?.[1]) fail(`${join(specDir, 'README.md')}: no "Commit: <sha>" line`);
  return match[1];
}

export function pascal(name: string): string {
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
  if (value === null) return 'null';
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
    const value = schema[keyword];
    if (value !== undefined) tags.push(`@${keyword} ${String(value).replaceAll('*/', '*\\/')}`);
  }
  if (schema.default !== undefined && schema.default !== null) tags.push(`@default ${JSON.stringify(schema.default)}`);
  return tags;
}

function checkKeywords(schema: Schema, where: string): void {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) fail(`${where}: not a schema object`);
  for (const keyword of Object.keys(schema))
    if (!KNOWN_KEYWORDS.has(keyword)) fail(`${where}: unsupported keyword "${keyword}"`);
}

/** Wraps a union or intersection so it can take `[]`. */
function element(type: string): string {
  return /[ |&]/.test(type) && !/^[A-Za-z]+<.*>$/.test(type) ? `(${type})` : type;
}

/** The members of a union at its top level (not inside parentheses or type arguments). */
function topLevelUnion(type: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < type.length; i++) {
    const char = type[i];
    if (char === '(' || char === '<') depth++;
    else if (char === ')' || char === '>') depth--;
    else if (depth === 0 && type.startsWith(' | ', i)) {
      parts.push(type.slice(start, i));
      start = i + 3;
      i += 2;
    }
  }
  parts.push(type.slice(start));
  return parts;
}

function union(types: readonly string[]): string {
  const unique = [...new Set(types)];
  return unique.join(' | ');
}

/** Collects the declarations of one version. */
class VersionEmitter {
  /** Declared names (components and inline types), to catch collisions. */
  private readonly names = new Set<string>();
  /** Inline declarations made while rendering the current component, emitted after it. */
  private pending: string[] = [];

  constructor(
    private readonly schemas: Readonly<Record<string, Schema>>,
    private readonly version: string,
  ) {
    for (const name of Object.keys(schemas)) this.claim(pascal(name), `components.schemas.${name}`);
  }

  private claim(name: string, where: string): void {
    if (this.names.has(name)) fail(`${this.version} ${where}: the type name ${name} is taken twice`);
    this.names.add(name);
  }

  /** The component's declaration followed by the inline types it needed. */
  component(name: string): string {
    const schema = this.schemas[name];
    if (schema === undefined) return fail(`${this.version}: no schema ${name}`);
    this.pending = [];
    const text = this.declare(pascal(name), schema, `components.schemas.${name}`);
    const inline = this.pending;
    this.pending = [];
    return [text, ...inline].join('\n');
  }

  private declare(typeName: string, schema: Schema, where: string): string {
    checkKeywords(schema, where);
    const doc = docBlock([...descriptionLines(schema.description), ...constraintTags(schema)], '');
    if (isObjectShape(schema)) return `${doc}${this.objectInterface(typeName, schema, where)}`;
    const type = this.typeOf(schema, typeName, where);
    const oneLine = `export type ${typeName} = ${type};`;
    if (oneLine.length <= LINE_WIDTH) return `${doc}${oneLine}\n`;
    const members = topLevelUnion(type);
    if (members.length < 2) return `${doc}${oneLine}\n`;
    return `${doc}export type ${typeName} =\n${members.map((member) => `  | ${member}`).join('\n')};\n`;
  }

  private objectInterface(typeName: string, schema: Schema, where: string): string {
    const properties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    for (const property of required)
      if (!Object.hasOwn(properties, property)) fail(`${where}: required "${property}" is not among the properties`);
    const members: string[] = [];
    for (const [property, propertySchema] of Object.entries(properties)) {
      const propertyWhere = `${where}.properties.${property}`;
      checkKeywords(propertySchema, propertyWhere);
      const type = this.typeOf(propertySchema, `${typeName}${pascal(property)}`, propertyWhere);
      const propertyDoc = docBlock(
        [...descriptionLines(propertySchema.description), ...constraintTags(propertySchema)],
        '  ',
      );
      const optional = required.has(property) ? '' : '?';
      const oneLine = `  ${propertyKey(property)}${optional}: ${type};`;
      const parts = topLevelUnion(type);
      const text =
        oneLine.length <= LINE_WIDTH || parts.length < 2
          ? oneLine
          : `  ${propertyKey(property)}${optional}:\n${parts.map((part) => `    | ${part}`).join('\n')};`;
      members.push(`${propertyDoc}${text}\n`);
    }
    if (members.length === 0) members.push('  [key: string]: unknown;\n');
    return `export interface ${typeName} {\n${members.join('')}}\n`;
  }

  /** A named inline object type, declared after the current component. */
  private inlineObject(typeName: string, schema: Schema, where: string): string {
    this.claim(typeName, where);
    const doc = docBlock(descriptionLines(schema.description), '');
    this.pending.push(`${doc}${this.objectInterface(typeName, schema, where)}`);
    return typeName;
  }

  /** The type expression of `schema`; `inlineName` names an object written inline. */
  private typeOf(schema: Schema, inlineName: string, where: string): string {
    checkKeywords(schema, where);
    const base = this.baseTypeOf(schema, inlineName, where);
    return schema.nullable === true && base !== 'unknown' ? `${base} | null` : base;
  }

  private baseTypeOf(schema: Schema, inlineName: string, where: string): string {
    if (schema.$ref !== undefined) {
      // OpenAPI 3.0: the siblings of a $ref are ignored (only the errata marker is ours).
      const target = this.refTarget(schema.$ref, where);
      const omit = schema[OMIT_KEYWORD];
      if (omit === undefined || omit.length === 0) return target;
      return `Omit<${target}, ${omit.map(quote).join(' | ')}>`;
    }
    if (schema.allOf !== undefined) {
      if (schema.properties !== undefined || schema.oneOf !== undefined || schema.anyOf !== undefined)
        fail(`${where}: allOf beside properties/oneOf/anyOf is not supported`);
      return schema.allOf
        .map((member, index) =>
          element(this.memberType(member, `${inlineName}AllOf${index}`, `${where}.allOf[${index}]`)),
        )
        .join(' & ');
    }
    const alternatives = schema.oneOf ?? schema.anyOf;
    if (alternatives !== undefined) {
      if (schema.oneOf !== undefined && schema.anyOf !== undefined) fail(`${where}: oneOf and anyOf together`);
      const keyword = schema.oneOf !== undefined ? 'oneOf' : 'anyOf';
      return union(
        alternatives.map((member, index) =>
          this.memberType(member, `${inlineName}${pascal(keyword)}${index}`, `${where}.${keyword}[${index}]`),
        ),
      );
    }
    if (schema.enum !== undefined) {
      if (schema.enum.length === 0) fail(`${where}: empty enum`);
      return union(schema.enum.map((value) => literal(value, where)));
    }
    if (isObjectShape(schema)) {
      if (schema.properties === undefined) return 'Record<string, unknown>';
      return this.inlineObject(inlineName, schema, where);
    }
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (schema.items === undefined) return fail(`${where}: array without items`);
        return `${element(this.typeOf(schema.items, inlineName, `${where}.items`))}[]`;
      }
      case undefined:
        return 'unknown';
      default:
        return fail(`${where}: unsupported type ${JSON.stringify(schema.type)}`);
    }
  }

  /** A member of allOf/oneOf/anyOf: a $ref, or an inline schema. */
  private memberType(member: Schema, inlineName: string, where: string): string {
    checkKeywords(member, where);
    return this.typeOf(member, inlineName, where);
  }

  private refTarget(ref: string, where: string): string {
    const match = /^#\/components\/schemas\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(ref);
    const target = match?.[1];
    if (target === undefined) return fail(`${where}: unsupported $ref ${ref}`);
    if (!Object.hasOwn(this.schemas, target)) return fail(`${where}: $ref to a missing schema ${target}`);
    return pascal(target);
  }
}

/** An object with its own properties (not a composition): `type: object`, or `properties`/`required` without a type. */
function isObjectShape(schema: Schema): boolean {
  if (schema.$ref !== undefined || schema.allOf !== undefined || schema.oneOf !== undefined) return false;
  if (schema.anyOf !== undefined || schema.enum !== undefined) return false;
  if (schema.type === 'object') return true;
  return schema.type === undefined && (schema.properties !== undefined || schema.required !== undefined);
}

/** The parsed OpenAPI document of `version` from the vendored copy. */
export function readDocument(specDir: string, version: string): Record<string, unknown> {
  const path = join(specDir, version, 'openadr3.yaml');
  const parsed: unknown = parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(`${path}: not a YAML mapping`);
  return parsed as Record<string, unknown>;
}

function schemasOf(document: Record<string, unknown>, version: string): Record<string, Schema> {
  const components = document.components as { schemas?: unknown } | undefined;
  const schemas = components?.schemas;
  if (typeof schemas !== 'object' || schemas === null) fail(`${version}: no components.schemas`);
  return correctedSchemas(version, schemas as Record<string, unknown>) as Record<string, Schema>;
}

function header(layout: VersionLayout, commit: string, schemaCount: number): string {
  return [
    '/**',
    ` * OpenADR ${layout.version} types. GENERATED by packages/openadr/scripts/generate-v3-types.ts: do not edit.`,
    ' *',
    ` * Source: packages/openadr/spec/${layout.version}/openadr3.yaml, components.schemas (${schemaCount} schemas), the OpenADR`,
    ` * Alliance's OpenAPI document (openadr3-specification commit ${commit}, Apache-2.0); descriptions are the`,
    " * Alliance's, verbatim.",
    ' * Regenerate: `npm run generate:openadr-types`. packages/openadr/test/v3/types/drift.test.ts fails when this file',
    ' * is stale.',
    ' *',
    ' * One type per schema in PascalCase (`program` -> `Program`, `valuesMap` -> `ValuesMap`); inline objects are named',
    ' * after their owner and property. Formats, patterns and lengths are JSDoc tags; run-time validation:',
    ' * src/v3/validate.ts. Corrections to the document: src/v3/types/errata.ts.',
    ' */',
    '',
  ].join('\n');
}

/** The generated TypeScript of one version. */
export function generateVersion(specDir: string, layout: VersionLayout): string {
  const commit = readSourceCommit(specDir);
  const schemas = schemasOf(readDocument(specDir, layout.version), layout.version);
  const names = Object.keys(schemas);
  const emitter = new VersionEmitter(schemas, layout.version);
  const declarations = names.map((name) => emitter.component(name));
  const mapLines = names.map((name) => `  ${propertyKey(name)}: ${pascal(name)};\n`).join('');
  const quoted = names.map(quote);
  const namesOneLine = `export const SCHEMA_NAMES: readonly SchemaName[] = [${quoted.join(', ')}];`;
  const namesConst =
    namesOneLine.length <= LINE_WIDTH
      ? `${namesOneLine}\n`
      : `export const SCHEMA_NAMES: readonly SchemaName[] = [\n${quoted.map((value) => `  ${value},\n`).join('')}];\n`;
  const maps = [
    `/** Every ${layout.version} components.schemas entry, by its name in the document. */\n`,
    `export interface SchemaMap {\n${mapLines}}\n`,
    '\n',
    'export type SchemaName = keyof SchemaMap;\n',
    '\n',
    '/** The schema names, in document order. */\n',
    namesConst,
  ].join('');
  return `${header(layout, commit, names.length)}\n${declarations.join('\n')}\n${maps}`;
}

/** Generated file name -> text, for both versions. */
export function generateOpenadrTypes(specDir: string = SPEC_DIR): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const layout of VERSION_LAYOUTS) outputs[layout.file] = generateVersion(specDir, layout);
  return outputs;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  let stale = 0;
  for (const [file, text] of Object.entries(generateOpenadrTypes())) {
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
