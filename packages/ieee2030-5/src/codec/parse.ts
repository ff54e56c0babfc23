/**
 * IEEE 2030.5 XML parser.
 *
 * Lenient where real peers deviate: any element order, hex in any case (normalised to lower case, an odd digit
 * count is left-padded), mis-cased element names when unambiguous (`LFDI` for `lFDI`), unknown elements and
 * attributes ignored, namespace prefixes ignored, the legacy 2.0.4 namespace `http://ieee.org/2030.5` and a
 * missing namespace accepted.
 *
 * Strict where it matters: DOCTYPE/ENTITY (any `<!` declaration) and processing instructions other than the XML
 * declaration are GW_ERR_HOSTILE_INPUT; bodies over `maxBytes` are GW_ERR_BODY_TOO_LARGE; XML that is not well
 * formed, not UTF-8 or carries characters XML 1.0 forbids is GW_ERR_MALFORMED; a wrong or unknown root element, missing required fields, repeated
 * single fields, and values that do not fit their XSD type (integers out of range, NaN/Infinity, exponents,
 * booleans other than true/false/1/0, non-hex or too-long hex, too-long strings) are GW_ERR_VALIDATION.
 * Error messages and `details.path` name the element path, e.g. `DERControl/DERControlBase/opModExpLimW/value`.
 */
import { type ErrorCode, GridseamError } from '@gridseam/model';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CSIPAUS_NAMESPACES, SEP_LEGACY_NAMESPACE, SEP_NAMESPACE } from '../resources/schema.ts';
import type { CsipAusVersion, ResourceName, SepDocument } from '../resources/types.ts';
import { COMPILED_ROOTS, COMPILED_ROOTS_BY_TYPE_NAME, type CompiledField, type CompiledType } from './compiled.ts';
import { decodeReferences, hasForbiddenXmlChar, XmlReferenceError } from './xml-text.ts';

export interface ParseOptions {
  /** Largest accepted body in bytes (UTF-8). Default DEFAULT_MAX_BYTES (1 MiB). */
  maxBytes?: number;
  /** Accepted root element(s); anything else is GW_ERR_VALIDATION. */
  expect?: ResourceName | readonly ResourceName[];
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;
/** 2030.5 documents nest a handful of levels; deeper input is refused before it costs stack. */
const MAX_NESTED_TAGS = 32;

/** Namespaces accepted on the root element ('' = none declared). */
const ACCEPTED_NAMESPACES: ReadonlySet<string> = new Set<string>([
  SEP_NAMESPACE,
  SEP_LEGACY_NAMESPACE,
  ...Object.values(CSIPAUS_NAMESPACES),
  '',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  maxNestedTags: MAX_NESTED_TAGS,
});

/** `<!` other than a comment or CDATA section: DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION. */
const MARKUP_DECLARATION_RE = /<!(?!--|\[CDATA\[)/;
const XML_DECLARATION_RE = /^\s*<\?xml[ \t\r\n][^<>?]*\?>/;
const INTEGER_RE = /^[+-]?[0-9]+$/;
const HEX_RE = /^[0-9a-fA-F]*$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(code: ErrorCode, message: string, details: Record<string, unknown> = {}): never {
  throw new GridseamError(code, message, { details });
}

class ParseContext {
  readonly path: Array<string | number>;
  constructor(
    rootName: string,
    /** The document is in the pre-publication 2.0.4 namespace: accept its renamed elements. */
    readonly legacy: boolean,
  ) {
    this.path = [rootName];
  }

  pathString(): string {
    let out = '';
    for (const segment of this.path) {
      if (typeof segment === 'number') out += `[${segment}]`;
      else out += out === '' ? segment : `/${segment}`;
    }
    return out;
  }

  fail(code: ErrorCode, message: string): never {
    const path = this.pathString();
    const pointer = `/${this.path
      .slice(1)
      .map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('/')}`;
    throw new GridseamError(code, `${path}: ${message}`, {
      details: { path },
      issues: [{ path: pointer, message }],
    });
  }
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

function prefixOf(qualified: string): string | undefined {
  const colon = qualified.indexOf(':');
  return colon === -1 ? undefined : qualified.slice(0, colon);
}

function quote(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
}

function decode(raw: string, ctx: ParseContext): string {
  try {
    return decodeReferences(raw);
  } catch (error) {
    if (error instanceof XmlReferenceError) return ctx.fail('GW_ERR_MALFORMED', error.message);
    throw error;
  }
}

/** The character content of an element as the XML parser delivered it (string, or object with #text/#cdata). */
function textOf(node: unknown, ctx: ParseContext): string {
  if (typeof node === 'string') return decode(node, ctx);
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
    const record = node as Record<string, unknown>;
    let text = '';
    const t = record['#text'];
    if (typeof t === 'string') text += decode(t, ctx);
    const c = record['#cdata'];
    if (typeof c === 'string') text += c;
    else if (Array.isArray(c)) text += c.filter((x) => typeof x === 'string').join('');
    for (const key of Object.keys(record)) {
      if (key !== '#text' && key !== '#cdata' && !key.startsWith('@_')) {
        ctx.fail('GW_ERR_VALIDATION', `expected a simple value, found child element <${key}>`);
      }
    }
    return text;
  }
  return '';
}

function readSimple(field: CompiledField, raw: string, ctx: ParseContext): string | number | boolean {
  const spec = field.simple;
  if (spec === undefined) return ctx.fail('GW_ERR_INTERNAL', 'not a simple field');
  switch (spec.kind) {
    case 'int': {
      const s = raw.trim();
      if (!INTEGER_RE.test(s))
        return ctx.fail('GW_ERR_VALIDATION', `${quote(s)} is not an integer (${field.simpleName})`);
      const min = spec.min ?? 0;
      const max = spec.max ?? 0;
      const digits = s.length - (s[0] === '+' || s[0] === '-' ? 1 : 0);
      if (digits > 15) {
        const big = BigInt(s);
        if (big < BigInt(min) || big > BigInt(max)) {
          return ctx.fail('GW_ERR_VALIDATION', `${quote(s)} is outside ${min}..${max} (${field.simpleName})`);
        }
      }
      const n = Number(s) + 0; // + 0 turns -0 into 0
      if (n < min || n > max) {
        return ctx.fail('GW_ERR_VALIDATION', `${quote(s)} is outside ${min}..${max} (${field.simpleName})`);
      }
      return n;
    }
    case 'boolean': {
      const s = raw.trim();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      return ctx.fail('GW_ERR_VALIDATION', `${quote(s)} is not a boolean (true, false, 1 or 0)`);
    }
    case 'hex': {
      let s = raw.trim();
      if (!HEX_RE.test(s)) return ctx.fail('GW_ERR_VALIDATION', `${quote(s)} is not hex (${field.simpleName})`);
      if (s.length % 2 === 1) s = `0${s}`;
      const maxBytes = spec.maxLength ?? 0;
      if (s.length > maxBytes * 2) {
        return ctx.fail('GW_ERR_VALIDATION', `${quote(s)} is longer than ${maxBytes} byte(s) (${field.simpleName})`);
      }
      return s.toLowerCase();
    }
    case 'string': {
      // anyURI collapses whitespace; the String* types keep it.
      const s = field.simpleName === 'anyURI' ? raw.trim() : raw;
      if (spec.maxLength !== undefined && s.length > spec.maxLength && [...s].length > spec.maxLength) {
        return ctx.fail(
          'GW_ERR_VALIDATION',
          `${quote(s)} is longer than ${spec.maxLength} characters (${field.simpleName})`,
        );
      }
      return s;
    }
  }
}

function readElement(field: CompiledField, node: unknown, ctx: ParseContext): unknown {
  if (field.simple !== undefined) return readSimple(field, textOf(node, ctx), ctx);
  if (field.complex !== undefined) return readComplex(field.complex, node, ctx);
  return readAnyResource(node, ctx);
}

/** Notification.Resource: the content type is named by xsi:type (prefix ignored). */
function readAnyResource(node: unknown, ctx: ParseContext): unknown {
  let xsiType: string | undefined;
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
    for (const key of Object.keys(node)) {
      if (key.startsWith('@_') && prefixOf(key.slice(2)) !== undefined && localName(key) === 'type') {
        const value = (node as Record<string, unknown>)[key];
        if (typeof value === 'string') xsiType = localName(value.trim());
      }
    }
  }
  if (xsiType === undefined) return ctx.fail('GW_ERR_VALIDATION', 'Resource has no xsi:type');
  const root = COMPILED_ROOTS_BY_TYPE_NAME.get(xsiType);
  if (root === undefined) return ctx.fail('GW_ERR_VALIDATION', `unsupported xsi:type ${quote(xsiType)}`);
  return { type: root.name, value: readComplex(root.type, node, ctx) };
}

function readComplex(type: CompiledType, node: unknown, ctx: ParseContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const raw = record[key];
      if (key.startsWith('@_')) {
        const name = key.slice(2);
        if (name === 'xmlns' || name.startsWith('xmlns:') || prefixOf(name) !== undefined) continue;
        const field = type.attrByName.get(name);
        if (field === undefined || typeof raw !== 'string') continue;
        ctx.path.push(`@${name}`);
        out[field.name] = readSimple(field, decode(raw, ctx), ctx);
        ctx.path.pop();
        continue;
      }
      if (key === '#text' || key === '#cdata') continue;
      const local = localName(key);
      const field =
        type.elementByName.get(local) ??
        type.elementByLowerName.get(local.toLowerCase()) ??
        (ctx.legacy ? type.elementByLegacyName.get(local) : undefined);
      if (field === undefined) continue;
      ctx.path.push(field.name);
      if (Object.hasOwn(out, field.name)) ctx.fail('GW_ERR_VALIDATION', 'element appears more than once');
      const items = Array.isArray(raw) ? raw : [raw];
      if (field.repeated) {
        if (items.length > field.maxOccurs) {
          ctx.fail('GW_ERR_VALIDATION', `${items.length} items exceed the maximum of ${field.maxOccurs}`);
        }
        const values: unknown[] = [];
        for (let i = 0; i < items.length; i++) {
          ctx.path.push(i);
          values.push(readElement(field, items[i], ctx));
          ctx.path.pop();
        }
        out[field.name] = values;
      } else {
        if (items.length > 1) ctx.fail('GW_ERR_VALIDATION', 'element appears more than once');
        out[field.name] = readElement(field, items[0], ctx);
      }
      ctx.path.pop();
    }
  }
  for (const field of type.attrs) {
    if (field.required && out[field.name] === undefined) {
      ctx.path.push(`@${field.name}`);
      ctx.fail('GW_ERR_VALIDATION', 'required attribute is missing');
    }
  }
  for (const field of type.elements) {
    if (out[field.name] !== undefined) continue;
    if (field.emptyArrayWhenAbsent) out[field.name] = [];
    else if (field.required) {
      ctx.path.push(field.name);
      ctx.fail('GW_ERR_VALIDATION', 'required element is missing');
    }
  }
  return out;
}

function toText(input: string | Uint8Array, maxBytes: number): string {
  if (typeof input === 'string') {
    if (input.length > maxBytes || (input.length * 3 > maxBytes && Buffer.byteLength(input, 'utf8') > maxBytes)) {
      fail('GW_ERR_BODY_TOO_LARGE', `XML body exceeds ${maxBytes} bytes`, { maxBytes });
    }
    return input;
  }
  if (!(input instanceof Uint8Array)) fail('GW_ERR_MALFORMED', 'XML body must be a string or bytes');
  if (input.byteLength > maxBytes) {
    fail('GW_ERR_BODY_TOO_LARGE', `XML body of ${input.byteLength} bytes exceeds ${maxBytes} bytes`, { maxBytes });
  }
  try {
    return utf8.decode(input);
  } catch (cause) {
    throw new GridseamError('GW_ERR_MALFORMED', 'XML body is not valid UTF-8', { cause });
  }
}

function rejectHostileConstructs(text: string): void {
  if (MARKUP_DECLARATION_RE.test(text)) {
    fail('GW_ERR_HOSTILE_INPUT', 'XML markup declarations (DOCTYPE, ENTITY, ...) are not accepted');
  }
  const declaration = XML_DECLARATION_RE.exec(text);
  const from = declaration === null ? 0 : declaration[0].length;
  if (text.indexOf('<?', from) !== -1) {
    fail('GW_ERR_HOSTILE_INPUT', 'XML processing instructions other than the XML declaration are not accepted');
  }
}

/**
 * Parse an IEEE 2030.5 XML document. Returns the root resource name, the resource in the types.ts convention,
 * the root element's namespace ('' when none) and the CSIP-AUS version whose namespace the document declares.
 */
export function parseSep<N extends ResourceName>(
  input: string | Uint8Array,
  options: ParseOptions & { expect: N | readonly N[] },
): SepDocument<N>;
export function parseSep(input: string | Uint8Array, options?: ParseOptions): SepDocument;
export function parseSep(input: string | Uint8Array, options: ParseOptions = {}): SepDocument {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let text = toText(input, maxBytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  rejectHostileConstructs(text);
  if (hasForbiddenXmlChar(text)) fail('GW_ERR_MALFORMED', 'XML contains a character that XML 1.0 does not allow');

  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    fail('GW_ERR_MALFORMED', `XML is not well formed: ${msg} (line ${line}, column ${col})`, { line, col });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const code: ErrorCode = message.includes('[SECURITY]') ? 'GW_ERR_HOSTILE_INPUT' : 'GW_ERR_MALFORMED';
    throw new GridseamError(code, `XML could not be parsed: ${message}`, { cause });
  }

  const rootKeys = Object.keys(doc);
  const rootKey = rootKeys[0];
  if (rootKey === undefined) fail('GW_ERR_MALFORMED', 'XML has no root element');
  const rootNode = doc[rootKey];
  if (rootKeys.length > 1 || Array.isArray(rootNode)) fail('GW_ERR_MALFORMED', 'XML has more than one root element');

  const rootLocal = localName(rootKey);
  const root = COMPILED_ROOTS.get(rootLocal);
  if (root === undefined) fail('GW_ERR_VALIDATION', `unsupported root element <${rootLocal}>`, { root: rootLocal });
  const expect = options.expect;
  if (expect !== undefined) {
    const accepted = typeof expect === 'string' ? expect === root.name : expect.includes(root.name);
    if (!accepted) {
      const wanted = typeof expect === 'string' ? expect : expect.join(' or ');
      fail('GW_ERR_VALIDATION', `expected <${wanted}>, got <${root.name}>`, { root: root.name, expected: expect });
    }
  }

  const attrs = typeof rootNode === 'object' && rootNode !== null ? (rootNode as Record<string, unknown>) : {};
  const prefix = prefixOf(rootKey);
  const declared = attrs[prefix === undefined ? '@_xmlns' : `@_xmlns:${prefix}`];
  const namespace = typeof declared === 'string' ? declared.trim() : '';
  if (!ACCEPTED_NAMESPACES.has(namespace)) {
    fail('GW_ERR_VALIDATION', `unexpected namespace ${quote(namespace)} on <${root.name}>`, { namespace });
  }

  const value = readComplex(root.type, rootNode, new ParseContext(root.name, namespace === SEP_LEGACY_NAMESPACE));
  let csipaus: CsipAusVersion | undefined;
  if (text.includes(CSIPAUS_NAMESPACES['v1.3'])) csipaus = 'v1.3';
  else if (text.includes(CSIPAUS_NAMESPACES['v1.2'])) csipaus = 'v1.2';
  const result = { name: root.name, value, namespace } as SepDocument;
  if (csipaus !== undefined) result.csipaus = csipaus;
  return result;
}
