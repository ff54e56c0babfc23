/**
 * IEEE 2030.5 XML emitter. Writes elements strictly in schema (xs:sequence) order, base-type fields first,
 * CSIP-AUS extension elements last with the `csipaus:` prefix (where csipaus-core's xs:redefine appends them).
 * Values of the wrong JS type, out of range, NaN/Infinity or missing required fields throw GridseamError
 * GW_ERR_VALIDATION; properties the schema does not know are ignored.
 */
import { GridseamError } from '@gridseam/model';
import { CSIPAUS_NAMESPACES, SEP_NAMESPACE, XSI_NAMESPACE } from '../resources/schema.ts';
import type { CsipAusVersion, ResourceName, ResourceTypes } from '../resources/types.ts';
import { COMPILED_ROOTS, type CompiledField, type CompiledType } from './compiled.ts';
import { escapeAttr, escapeText, hasForbiddenXmlChar } from './xml-text.ts';

export interface EmitOptions {
  /**
   * CSIP-AUS version of the `csipaus` namespace (declared on the root only when an extension element is
   * written). Default 'v1.2' (https://csipaus.org/ns). Elements that only CSIP-AUS 1.3 defines
   * (opModStorageTargetW, setMinWh, vpp*) are left out of a 1.2 document.
   */
  csipaus?: CsipAusVersion;
  /** Prefix the document with `<?xml version="1.0" encoding="UTF-8"?>`. Default false. */
  xmlDeclaration?: boolean;
}

export const DEFAULT_CSIPAUS_VERSION: CsipAusVersion = 'v1.2';

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const HEX_RE = /^[0-9a-fA-F]*$/;

class EmitContext {
  usesCsipaus = false;
  usesXsi = false;
  readonly path: Array<string | number> = [];
  constructor(
    readonly rootName: string,
    readonly version: CsipAusVersion,
  ) {}

  fail(message: string): never {
    let path = this.rootName;
    for (const segment of this.path) path += typeof segment === 'number' ? `[${segment}]` : `/${segment}`;
    throw new GridseamError('GW_ERR_VALIDATION', `cannot emit ${path}: ${message}`, { details: { path } });
  }
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

function formatSimple(field: CompiledField, value: unknown, ctx: EmitContext, inAttribute: boolean): string {
  const spec = field.simple;
  if (spec === undefined) return ctx.fail('internal: not a simple field');
  switch (spec.kind) {
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        return ctx.fail(`${describe(value)} is not an integer (${field.simpleName})`);
      }
      if (value < (spec.min ?? 0) || value > (spec.max ?? 0)) {
        return ctx.fail(`${value} is outside ${spec.min}..${spec.max} (${field.simpleName})`);
      }
      return String(value);
    }
    case 'boolean':
      if (typeof value !== 'boolean') return ctx.fail(`${describe(value)} is not a boolean`);
      return value ? 'true' : 'false';
    case 'hex': {
      if (typeof value !== 'string' || !HEX_RE.test(value) || value.length % 2 !== 0) {
        return ctx.fail(`${describe(value)} is not hex with an even number of digits (${field.simpleName})`);
      }
      if (value.length > (spec.maxLength ?? 0) * 2) {
        return ctx.fail(`${describe(value)} is longer than ${spec.maxLength} byte(s) (${field.simpleName})`);
      }
      return value.toLowerCase();
    }
    case 'string': {
      if (typeof value !== 'string') return ctx.fail(`${describe(value)} is not a string`);
      if (spec.maxLength !== undefined && value.length > spec.maxLength && codePointLength(value) > spec.maxLength) {
        return ctx.fail(`${describe(value)} is longer than ${spec.maxLength} characters (${field.simpleName})`);
      }
      if (hasForbiddenXmlChar(value)) return ctx.fail(`${describe(value)} contains a character XML cannot carry`);
      return inAttribute ? escapeAttr(value) : escapeText(value);
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function emitComplex(type: CompiledType, value: unknown, tag: string, extraAttrs: string, ctx: EmitContext): string {
  if (!isPlainObject(value)) return ctx.fail(`${describe(value)} is not an object (${type.name})`);
  let out = `<${tag}${extraAttrs}`;
  for (const field of type.attrs) {
    if (field.onlyV13 && ctx.version !== 'v1.3') continue;
    const v = value[field.name];
    if (v === undefined || v === null) {
      if (field.required) {
        ctx.path.push(`@${field.name}`);
        ctx.fail('required attribute is missing');
      }
      continue;
    }
    ctx.path.push(`@${field.name}`);
    out += field.open + formatSimple(field, v, ctx, true) + field.close;
    ctx.path.pop();
  }
  let body = '';
  for (const field of type.elements) {
    if (field.onlyV13 && ctx.version !== 'v1.3') continue;
    const v = value[field.name];
    if (v === undefined || v === null) {
      if (field.required) {
        ctx.path.push(field.name);
        ctx.fail('required element is missing');
      }
      continue;
    }
    if (field.ns === 'csipaus') ctx.usesCsipaus = true;
    ctx.path.push(field.name);
    if (field.repeated) {
      if (!Array.isArray(v)) ctx.fail(`${describe(v)} is not an array`);
      if (v.length > field.maxOccurs) ctx.fail(`${v.length} items exceed the maximum of ${field.maxOccurs}`);
      if (field.required && v.length === 0) ctx.fail('at least one item is required');
      for (let i = 0; i < v.length; i++) {
        ctx.path.push(i);
        body += emitElement(field, v[i], ctx);
        ctx.path.pop();
      }
    } else {
      body += emitElement(field, v, ctx);
    }
    ctx.path.pop();
  }
  return body === '' ? `${out}/>` : `${out}>${body}</${tag}>`;
}

function emitElement(field: CompiledField, value: unknown, ctx: EmitContext): string {
  if (field.simple !== undefined) return field.open + formatSimple(field, value, ctx, false) + field.close;
  if (field.complex !== undefined) return emitComplex(field.complex, value, field.tag, '', ctx);
  // Notification.Resource: any resource, typed with xsi:type.
  if (!isPlainObject(value) || typeof value.type !== 'string') {
    return ctx.fail('expected { type: ResourceName, value: resource }');
  }
  const root = COMPILED_ROOTS.get(value.type);
  if (root === undefined) return ctx.fail(`unknown resource type ${describe(value.type)}`);
  ctx.usesXsi = true;
  if (root.ns === 'csipaus') ctx.usesCsipaus = true;
  return emitComplex(root.type, value.value, field.tag, ` xsi:type="${root.xsiType}"`, ctx);
}

/**
 * Serialise a resource as an IEEE 2030.5 XML document (`application/sep+xml`). The default namespace is
 * urn:ieee:std:2030.5:ns; `xmlns:csipaus` (and `xmlns:xsi` for Notification) is declared on the root only when
 * used. Throws GridseamError GW_ERR_VALIDATION (with `details.path`) when the value does not fit the schema.
 */
export function emitSep<N extends ResourceName>(name: N, value: ResourceTypes[N], options: EmitOptions = {}): string {
  const root = COMPILED_ROOTS.get(name);
  if (root === undefined) throw new GridseamError('GW_ERR_VALIDATION', `cannot emit: unknown resource ${String(name)}`);
  const version = options.csipaus ?? DEFAULT_CSIPAUS_VERSION;
  const csipausNamespace = CSIPAUS_NAMESPACES[version];
  if (csipausNamespace === undefined) {
    throw new GridseamError('GW_ERR_VALIDATION', `cannot emit: unknown CSIP-AUS version ${String(version)}`);
  }
  const ctx = new EmitContext(name, version);
  if (root.ns === 'csipaus') ctx.usesCsipaus = true;
  const doc = emitComplex(root.type, value, root.tag, '', ctx);
  let namespaces = root.ns === 'sep' ? ` xmlns="${SEP_NAMESPACE}"` : '';
  if (ctx.usesCsipaus) namespaces += ` xmlns:csipaus="${csipausNamespace}"`;
  if (ctx.usesXsi) namespaces += ` xmlns:xsi="${XSI_NAMESPACE}"`;
  const xml = `<${root.tag}${namespaces}${doc.slice(root.tag.length + 1)}`;
  return options.xmlDeclaration === true ? XML_DECLARATION + xml : xml;
}
