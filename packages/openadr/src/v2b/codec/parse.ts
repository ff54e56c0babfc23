/**
 * OpenADR 2.0b XML parser: oadrPayload (optional ds:Signature, then oadrSignedObject holding one payload) to a
 * typed OadrMessage.
 *
 * Lenient on prefixes (any prefix, or a default namespace, bound to the right namespace URI), child order and
 * unknown elements (ignored). Strict on namespaces and types: values must fit their schema type (integers in
 * range, finite floats, ISO 8601 durations, xcal date-times, enumeration members or `x-` extensions), required
 * elements present, single elements not repeated (GW_ERR_VALIDATION, with the element path in the message and
 * `details.path`). Hostile input (DOCTYPE/entities, processing instructions, deep nesting, huge attributes) is
 * GW_ERR_HOSTILE_INPUT, broken XML GW_ERR_MALFORMED, bodies over `maxBytes` GW_ERR_BODY_TOO_LARGE.
 */
import { GridseamError } from '@gridseam/model';
import { readItemBase } from './common.ts';
import { isMessageType, readMessage } from './messages.ts';
import { NS } from './namespaces.ts';
import { ElementReader } from './reader.ts';
import type { ItemBase, OadrMessage, OadrMessageOf, OadrMessageType } from './types.ts';
import { DEFAULT_MAX_BYTES, readXml, type XmlElement } from './xml.ts';

export interface ParseOptions {
  /** Largest accepted body in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
  /** Accepted payload type(s); anything else is GW_ERR_VALIDATION. */
  expect?: OadrMessageType | readonly OadrMessageType[];
}

export interface OadrEnvelope<M extends OadrMessage = OadrMessage> {
  message: M;
  /** A ds:Signature precedes the oadrSignedObject (not verified here: see verifyOadr). */
  signed: boolean;
  /** The oadrSignedObject's Id attribute (`oadr:Id`), when present. */
  signedObjectId?: string;
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new GridseamError('GW_ERR_VALIDATION', message, { details });
}

/** The element's Id attribute in the oadr namespace (as the schema qualifies it) or without a namespace. */
export function signedObjectIdOf(element: XmlElement): string | undefined {
  return element.attributes.find((a) => a.local === 'Id' && (a.ns === NS.oadr || a.ns === ''))?.value;
}

/** Validate an already parsed tree (the signature verifier reuses this). */
export function readEnvelope(root: XmlElement, options: ParseOptions = {}): OadrEnvelope {
  if (root.local !== 'oadrPayload' || root.ns !== NS.oadr) {
    fail(`expected <oadrPayload> in namespace ${NS.oadr}, got <${root.name}> in "${root.ns}"`, { root: root.local });
  }
  const signatures = root.children.filter((c) => c.local === 'Signature' && c.ns === NS.ds);
  if (signatures.length > 1) fail('oadrPayload: more than one ds:Signature');
  const signedObjects = root.children.filter((c) => c.local === 'oadrSignedObject' && c.ns === NS.oadr);
  const signedObject = signedObjects[0];
  if (signedObject === undefined) fail('oadrPayload: required element oadr:oadrSignedObject is missing');
  if (signedObjects.length > 1) fail('oadrPayload: more than one oadrSignedObject');

  const payloads = signedObject.children.filter((c) => c.ns === NS.oadr && isMessageType(c.local));
  const payload = payloads[0];
  if (payload === undefined) {
    const found = signedObject.children[0];
    fail(
      found === undefined
        ? 'oadrSignedObject is empty'
        : `oadrSignedObject: unsupported payload <${found.name}> in namespace "${found.ns}"`,
    );
  }
  if (payloads.length > 1) fail('oadrSignedObject: more than one payload');
  const type = payload.local as OadrMessageType;
  const expect = options.expect;
  if (expect !== undefined) {
    const accepted = typeof expect === 'string' ? expect === type : expect.includes(type);
    if (!accepted) {
      const wanted = typeof expect === 'string' ? expect : expect.join(' or ');
      fail(`expected ${wanted}, got ${type}`, { type, expected: expect });
    }
  }
  const message = readMessage(type, new ElementReader(payload, type));
  const envelope: OadrEnvelope = { message, signed: signatures.length === 1 };
  const id = signedObjectIdOf(signedObject);
  if (id !== undefined) envelope.signedObjectId = id;
  return envelope;
}

/** Parse an OpenADR 2.0b document with its envelope facts. */
export function parseOadrEnvelope(input: string | Uint8Array, options: ParseOptions = {}): OadrEnvelope {
  return readEnvelope(readXml(input, options.maxBytes ?? DEFAULT_MAX_BYTES), options);
}

/** Parse an OpenADR 2.0b document (oadrPayload) to its message. */
export function parseOadr<T extends OadrMessageType>(
  input: string | Uint8Array,
  options: ParseOptions & { expect: T | readonly T[] },
): OadrMessageOf<T>;
export function parseOadr(input: string | Uint8Array, options?: ParseOptions): OadrMessage;
export function parseOadr(input: string | Uint8Array, options: ParseOptions = {}): OadrMessage {
  return parseOadrEnvelope(input, options).message;
}

export { DEFAULT_MAX_BYTES };

/**
 * Parse a standalone emix:itemBase document (a global element such as `<oadr:currency>` or `<power:powerReal>`),
 * as units are exchanged outside an oadrPayload in some tools and test fixtures.
 */
export function parseOadrItemBase(input: string | Uint8Array, options: { maxBytes?: number } = {}): ItemBase {
  const root = readXml(input, options.maxBytes ?? DEFAULT_MAX_BYTES);
  const holder: XmlElement = {
    ns: '',
    local: '#document',
    name: '#document',
    attributes: [],
    children: [root],
    text: '',
  };
  const item = readItemBase(new ElementReader(holder, ''));
  if (item === undefined) fail(`<${root.name}> in "${root.ns}" is not an itemBase element`, { root: root.local });
  return item;
}
