/**
 * OpenADR 2.0b XML emitter: an OadrMessage inside oadrPayload/oadrSignedObject, every namespace of the 2.0b
 * schema set declared once on the root, elements in xs:sequence order, `ei:schemaVersion="2.0b"` on the payload
 * and `oadr:Id` on oadrSignedObject (the target of a signature's Reference). Wrong JS types, missing required
 * fields, out-of-range numbers, NaN/Infinity and characters XML cannot carry throw GW_ERR_VALIDATION with the
 * element path.
 */
import { GridseamError } from '@gridseam/model';
import { writeItemBase } from './common.ts';
import { isMessageType, writeMessage } from './messages.ts';
import { EMITTED_PREFIXES, NS } from './namespaces.ts';
import type { ItemBase, OadrMessage } from './types.ts';
import { ValueError } from './values.ts';
import { attributeText, ElementWriter } from './writer.ts';

export interface EmitOptions {
  /** Start with `<?xml version="1.0" encoding="UTF-8"?>`. Default true. */
  xmlDeclaration?: boolean;
  /** The oadrSignedObject's `oadr:Id` (an NCName). Default 'oadrSignedObject', which signatures reference. */
  signedObjectId?: string;
}

export const DEFAULT_SIGNED_OBJECT_ID = 'oadrSignedObject';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NCNAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const ROOT_NAMESPACES = EMITTED_PREFIXES.map((prefix) => ` xmlns:${prefix}="${NS[prefix]}"`).join('');

/** Serialise a message as an OpenADR 2.0b document (Content-Type application/xml). */
export function emitOadr(message: OadrMessage, options: EmitOptions = {}): string {
  if (typeof message !== 'object' || message === null || typeof message.type !== 'string') {
    throw new GridseamError('GW_ERR_VALIDATION', 'cannot emit: the message must be an object with a type');
  }
  if (!isMessageType(message.type)) {
    throw new GridseamError('GW_ERR_VALIDATION', `cannot emit: unknown message type ${JSON.stringify(message.type)}`);
  }
  const id = options.signedObjectId ?? DEFAULT_SIGNED_OBJECT_ID;
  if (!NCNAME_RE.test(id))
    throw new GridseamError('GW_ERR_VALIDATION', `cannot emit: signedObjectId ${JSON.stringify(id)} is not an NCName`);
  const w = new ElementWriter(message.type);
  // The writer's path starts at the payload element (its root name), so it is opened by hand.
  w.raw(`<oadr:${message.type} ei:schemaVersion="2.0b">`);
  writeMessage(w, message);
  w.raw(`</oadr:${message.type}>`);
  let idAttribute: string;
  try {
    idAttribute = attributeText(id);
  } catch (error) {
    if (error instanceof ValueError) throw new GridseamError('GW_ERR_VALIDATION', `cannot emit: ${error.message}`);
    throw error;
  }
  const body =
    `<oadr:oadrPayload${ROOT_NAMESPACES}>` +
    `<oadr:oadrSignedObject oadr:Id="${idAttribute}">${w.result()}</oadr:oadrSignedObject>` +
    '</oadr:oadrPayload>';
  return options.xmlDeclaration === false ? body : XML_DECLARATION + body;
}

/** Serialise one emix:itemBase as a standalone document (the counterpart of parseOadrItemBase). */
export function emitOadrItemBase(item: ItemBase, options: Pick<EmitOptions, 'xmlDeclaration'> = {}): string {
  if (typeof item !== 'object' || item === null)
    throw new GridseamError('GW_ERR_VALIDATION', 'cannot emit: itemBase must be an object');
  const w = new ElementWriter(String(item.kind));
  writeItemBase(w, item);
  const xml = w.result();
  const open = xml.indexOf('>');
  const selfClosing = xml[open - 1] === '/';
  const at = selfClosing ? open - 1 : open;
  const body = `${xml.slice(0, at)}${ROOT_NAMESPACES}${xml.slice(at)}`;
  return options.xmlDeclaration === false ? body : XML_DECLARATION + body;
}
