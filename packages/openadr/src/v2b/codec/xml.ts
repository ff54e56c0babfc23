/**
 * XML text to a namespace-resolved element tree, with the hostile-input gate in front, and XML escaping for
 * the emitter. Entities stay off: only the five predefined entities and character references are decoded.
 *
 * Refused: a DOCTYPE or any other markup declaration (`<!ENTITY`, `<!ELEMENT`...) and processing instructions
 * other than the XML declaration (GW_ERR_HOSTILE_INPUT), nesting deeper than MAX_DEPTH, more than
 * MAX_ATTRIBUTES attributes on one element or an attribute value longer than MAX_ATTRIBUTE_LENGTH
 * (GW_ERR_HOSTILE_INPUT), bodies over the byte limit (GW_ERR_BODY_TOO_LARGE), XML that is not well formed,
 * not UTF-8, uses a character XML 1.0 forbids, an unbound prefix or a duplicate attribute (GW_ERR_MALFORMED).
 */
import { type ErrorCode, GridseamError } from '@gridseam/model';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { XML_NAMESPACE } from './namespaces.ts';

export const DEFAULT_MAX_BYTES = 1024 * 1024;
/** 2.0b payloads nest about 15 levels (gml targets, report status payloads, the signature); 48 is ample. */
export const MAX_DEPTH = 48;
export const MAX_ATTRIBUTES = 64;
export const MAX_ATTRIBUTE_LENGTH = 4096;

export interface XmlAttribute {
  ns: string;
  local: string;
  /** Qualified name as written. */
  name: string;
  value: string;
}

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  local: string;
  /** Qualified name as written. */
  name: string;
  attributes: XmlAttribute[];
  children: XmlElement[];
  /** Character data directly inside this element (text and CDATA, references decoded). */
  text: string;
}

function fail(code: ErrorCode, message: string, details: Record<string, unknown> = {}): never {
  throw new GridseamError(code, message, { details });
}

// ------------------------------------------------------------------ characters and references

const FORBIDDEN_CHAR_RE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters XML 1.0 forbids is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasForbiddenXmlChar(s: string): boolean {
  return FORBIDDEN_CHAR_RE.test(s);
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Decode predefined entities and character references; any other `&name;` is an undefined entity. */
function decodeReferences(raw: string): string {
  let amp = raw.indexOf('&');
  if (amp === -1) return raw;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    const semi = raw.indexOf(';', amp + 1);
    if (semi === -1 || semi - amp > 12) fail('GW_ERR_MALFORMED', 'XML has a bare "&" or an unterminated reference');
    const name = raw.slice(amp + 1, semi);
    let replacement: string | undefined;
    if (name.startsWith('#')) {
      const hex = name[1] === 'x';
      const digits = name.slice(hex ? 2 : 1);
      if ((hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) {
        const cp = Number.parseInt(digits, hex ? 16 : 10);
        if (isXmlChar(cp)) replacement = String.fromCodePoint(cp);
      }
      if (replacement === undefined) fail('GW_ERR_MALFORMED', `XML has a bad character reference "&${name};"`);
    } else {
      replacement = PREDEFINED_ENTITIES[name];
      if (replacement === undefined) fail('GW_ERR_MALFORMED', `XML uses the undefined entity "&${name};"`);
    }
    out += raw.slice(from, amp) + replacement;
    from = semi + 1;
    amp = raw.indexOf('&', from);
  }
  return out + raw.slice(from);
}

const TEXT_SPECIAL_RE = /[&<>\r]/g;
const ATTR_SPECIAL_RE = /[&<>"\r\n\t]/g;
const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
};
const escapeChar = (ch: string): string => ESCAPES[ch] ?? ch;

/** Escape character data (the caller has refused forbidden characters). */
export function escapeText(s: string): string {
  return s.replace(TEXT_SPECIAL_RE, escapeChar);
}

/** Escape a double-quoted attribute value. */
export function escapeAttribute(s: string): string {
  return s.replace(ATTR_SPECIAL_RE, escapeChar);
}

// ------------------------------------------------------------------ the gate

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** `<!` other than a comment or a CDATA section: DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION. */
const MARKUP_DECLARATION_RE = /<!(?!--|\[CDATA\[)/;
const XML_DECLARATION_RE = /^\s*<\?xml[ \t\r\n][^<>?]*\?>/;

/** Bytes or a string to text, with the size limit applied before anything else. */
export function bodyText(input: string | Uint8Array, maxBytes: number): string {
  let text: string;
  if (typeof input === 'string') {
    if (input.length > maxBytes || (input.length * 3 > maxBytes && Buffer.byteLength(input, 'utf8') > maxBytes)) {
      fail('GW_ERR_BODY_TOO_LARGE', `XML body exceeds ${maxBytes} bytes`, { maxBytes });
    }
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) {
      fail('GW_ERR_BODY_TOO_LARGE', `XML body of ${input.byteLength} bytes exceeds ${maxBytes} bytes`, { maxBytes });
    }
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw new GridseamError('GW_ERR_MALFORMED', 'XML body is not valid UTF-8', { cause });
    }
  } else {
    return fail('GW_ERR_MALFORMED', 'XML body must be a string or bytes');
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Refuse markup declarations and processing instructions before any parser sees the text. */
export function refuseHostileConstructs(text: string): void {
  if (MARKUP_DECLARATION_RE.test(text)) {
    fail('GW_ERR_HOSTILE_INPUT', 'XML markup declarations (DOCTYPE, ENTITY, ...) are not accepted');
  }
  const declaration = XML_DECLARATION_RE.exec(text);
  const from = declaration === null ? 0 : declaration[0].length;
  if (text.indexOf('<?', from) !== -1) {
    fail('GW_ERR_HOSTILE_INPUT', 'XML processing instructions other than the XML declaration are not accepted');
  }
  if (hasForbiddenXmlChar(text)) fail('GW_ERR_MALFORMED', 'XML contains a character that XML 1.0 does not allow');
}

// ------------------------------------------------------------------ tree building

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  maxNestedTags: MAX_DEPTH,
});

type Scope = ReadonlyMap<string, string>;
const ROOT_SCOPE: Scope = new Map([['xml', XML_NAMESPACE]]);

type OrderedNode = Record<string, unknown>;

function splitName(name: string): [prefix: string | undefined, local: string] {
  const colon = name.indexOf(':');
  return colon === -1 ? [undefined, name] : [name.slice(0, colon), name.slice(colon + 1)];
}

function textOfCdata(value: unknown): string {
  if (!Array.isArray(value)) return '';
  let out = '';
  for (const item of value) {
    const t = (item as OrderedNode)['#text'];
    if (typeof t === 'string') out += t;
  }
  return out;
}

function buildElement(node: OrderedNode, scope: Scope, depth: number): XmlElement {
  if (depth > MAX_DEPTH) fail('GW_ERR_HOSTILE_INPUT', `XML nests deeper than ${MAX_DEPTH} elements`);
  let name: string | undefined;
  for (const key of Object.keys(node)) if (key !== ':@') name = key;
  if (name === undefined) return fail('GW_ERR_MALFORMED', 'XML could not be parsed: empty node');
  const rawAttributes = (node[':@'] ?? {}) as Record<string, unknown>;
  const attributeNames = Object.keys(rawAttributes);
  if (attributeNames.length > MAX_ATTRIBUTES) {
    fail('GW_ERR_HOSTILE_INPUT', `<${name}> has more than ${MAX_ATTRIBUTES} attributes`);
  }

  let inner: Map<string, string> | undefined;
  const plain: Array<[string, string]> = [];
  for (const attributeName of attributeNames) {
    const raw = rawAttributes[attributeName];
    const value = typeof raw === 'string' ? raw : '';
    if (value.length > MAX_ATTRIBUTE_LENGTH) {
      fail('GW_ERR_HOSTILE_INPUT', `attribute ${attributeName} of <${name}> is longer than ${MAX_ATTRIBUTE_LENGTH}`);
    }
    const decoded = decodeReferences(value);
    if (attributeName === 'xmlns' || attributeName.startsWith('xmlns:')) {
      const prefix = attributeName === 'xmlns' ? '' : attributeName.slice(6);
      if (prefix === 'xmlns' || (prefix === 'xml' && decoded !== XML_NAMESPACE)) {
        fail('GW_ERR_MALFORMED', `<${name}> rebinds the reserved prefix ${prefix}`);
      }
      if (prefix !== '' && decoded === '') fail('GW_ERR_MALFORMED', `<${name}> undeclares the prefix ${prefix}`);
      inner ??= new Map(scope);
      inner.set(prefix, decoded);
    } else {
      plain.push([attributeName, decoded]);
    }
  }
  const here: Scope = inner ?? scope;

  const [prefix, local] = splitName(name);
  const ns = here.get(prefix ?? '');
  if (ns === undefined) {
    if (prefix !== undefined) fail('GW_ERR_MALFORMED', `<${name}> uses the unbound prefix ${prefix}`);
  }
  const attributes: XmlAttribute[] = [];
  const seen = new Set<string>();
  for (const [attributeName, value] of plain) {
    const [attributePrefix, attributeLocal] = splitName(attributeName);
    let attributeNs = '';
    if (attributePrefix !== undefined) {
      const bound = here.get(attributePrefix);
      if (bound === undefined) fail('GW_ERR_MALFORMED', `attribute ${attributeName} uses an unbound prefix`);
      attributeNs = bound;
    }
    const key = `{${attributeNs}}${attributeLocal}`;
    if (seen.has(key)) fail('GW_ERR_MALFORMED', `<${name}> repeats the attribute ${attributeName}`);
    seen.add(key);
    attributes.push({ ns: attributeNs, local: attributeLocal, name: attributeName, value });
  }

  const element: XmlElement = { ns: ns ?? '', local, name, attributes, children: [], text: '' };
  const content = node[name];
  if (Array.isArray(content)) {
    for (const child of content as OrderedNode[]) {
      const text = child['#text'];
      if (typeof text === 'string') {
        element.text += decodeReferences(text);
        continue;
      }
      if ('#cdata' in child) {
        element.text += textOfCdata(child['#cdata']);
        continue;
      }
      element.children.push(buildElement(child, here, depth + 1));
    }
  }
  return element;
}

/** Parse XML text (already through the gate) into the root element. */
export function parseXmlTree(text: string): XmlElement {
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    fail('GW_ERR_MALFORMED', `XML is not well formed: ${msg} (line ${line}, column ${col})`, { line, col });
  }
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(text) as OrderedNode[];
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const code: ErrorCode =
      message.includes('[SECURITY]') || message.includes('nested') ? 'GW_ERR_HOSTILE_INPUT' : 'GW_ERR_MALFORMED';
    throw new GridseamError(code, `XML could not be parsed: ${message}`, { cause });
  }
  const roots = nodes.filter((node) => !('#text' in node) && !('#cdata' in node));
  const root = roots[0];
  if (root === undefined) return fail('GW_ERR_MALFORMED', 'XML has no root element');
  if (roots.length > 1) fail('GW_ERR_MALFORMED', 'XML has more than one root element');
  return buildElement(root, ROOT_SCOPE, 1);
}

/** The whole gate: size, encoding, hostile constructs, well-formedness, namespaces. */
export function readXml(input: string | Uint8Array, maxBytes: number): XmlElement {
  const text = bodyText(input, maxBytes);
  refuseHostileConstructs(text);
  return parseXmlTree(text);
}
