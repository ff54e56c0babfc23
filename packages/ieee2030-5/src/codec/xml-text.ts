/** XML 1.0 character escaping for the emitter and reference decoding for the parser (entities stay off). */

/** Characters that are not allowed in an XML 1.0 document, and lone surrogates. */
const FORBIDDEN_CHAR_RE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching forbidden control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasForbiddenXmlChar(s: string): boolean {
  return FORBIDDEN_CHAR_RE.test(s);
}

const TEXT_SPECIAL_RE = /[&<>\r]/;
const TEXT_SPECIAL_RE_G = /[&<>\r]/g;
const ATTR_SPECIAL_RE = /[&<>"\r\n\t]/;
const ATTR_SPECIAL_RE_G = /[&<>"\r\n\t]/g;

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
};

const replaceSpecial = (ch: string): string => ESCAPES[ch] ?? ch;

/** Escape character data. The caller has already rejected forbidden characters. */
export function escapeText(s: string): string {
  return TEXT_SPECIAL_RE.test(s) ? s.replace(TEXT_SPECIAL_RE_G, replaceSpecial) : s;
}

/** Escape a double-quoted attribute value (whitespace kept as character references so it survives). */
export function escapeAttr(s: string): string {
  return ATTR_SPECIAL_RE.test(s) ? s.replace(ATTR_SPECIAL_RE_G, replaceSpecial) : s;
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Thrown by decodeReferences; the parser turns it into a GridseamError with the element path. */
export class XmlReferenceError extends Error {}

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

/**
 * Replace the five predefined entities and character references. Any other reference (`&name;`) is an
 * undefined entity, because documents with a DOCTYPE are refused before this point.
 */
export function decodeReferences(raw: string): string {
  let amp = raw.indexOf('&');
  if (amp === -1) return raw;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    const semi = raw.indexOf(';', amp + 1);
    if (semi === -1 || semi - amp > 12) throw new XmlReferenceError('bare "&" or unterminated reference');
    const name = raw.slice(amp + 1, semi);
    let replacement: string;
    if (name.startsWith('#')) {
      const hex = name[1] === 'x';
      const digits = name.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) {
        throw new XmlReferenceError(`bad character reference "&${name};"`);
      }
      const cp = Number.parseInt(digits, hex ? 16 : 10);
      if (!isXmlChar(cp)) throw new XmlReferenceError(`character reference "&${name};" is not an XML character`);
      replacement = String.fromCodePoint(cp);
    } else {
      const predefined = PREDEFINED[name];
      if (predefined === undefined) throw new XmlReferenceError(`undefined entity "&${name};"`);
      replacement = predefined;
    }
    out += raw.slice(from, amp) + replacement;
    from = semi + 1;
    amp = raw.indexOf('&', from);
  }
  return out + raw.slice(from);
}
