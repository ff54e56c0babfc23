/**
 * Certificates in PEM form, and the identity a TLS terminator forwards in a request header.
 */
import { X509Certificate } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import {
  certificateFingerprint,
  FINGERPRINT_HEX_LENGTH,
  LFDI_HEX_LENGTH,
  lfdiFromCertificate,
  sfdiFromLfdi,
} from './lfdi.ts';

/** PEM text longer than this is refused before it is parsed (a 2030.5 device certificate is < 1 KiB). */
export const MAX_PEM_LENGTH = 64 * 1024;
/** A forwarded identity header longer than this is refused (a URL-encoded PEM certificate is a few KiB). */
export const MAX_FORWARDED_HEADER_LENGTH = 16 * 1024;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/;

function malformed(message: string, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_MALFORMED', message, cause === undefined ? {} : { cause });
}

/**
 * The DER bytes of the first CERTIFICATE block of PEM text (anything around it, such as a key or a chain, is
 * ignored). Throws GW_ERR_MALFORMED when there is no such block or it is not an X.509 certificate.
 */
export function certificateDerFromPem(pem: string): Uint8Array {
  if (typeof pem !== 'string') throw malformed('a PEM certificate must be text');
  if (pem.length > MAX_PEM_LENGTH) throw malformed(`PEM text is longer than ${MAX_PEM_LENGTH} characters`);
  const match = PEM_CERTIFICATE.exec(pem);
  const body = match?.[1]?.replace(/\s+/g, '');
  if (!body) throw malformed('no -----BEGIN CERTIFICATE----- block with base64 content found');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0)
    throw malformed('the CERTIFICATE block is not valid base64');
  const der = new Uint8Array(Buffer.from(body, 'base64'));
  try {
    new X509Certificate(der);
  } catch (error) {
    throw malformed('the CERTIFICATE block does not hold an X.509 certificate', error);
  }
  return der;
}

/** The DER bytes of the certificate in `pem` encoded as PEM (64-character base64 lines). */
export function pemFromCertificateDer(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** LFDI of the first certificate in PEM text (hashed over its DER bytes, not the PEM text). */
export function lfdiFromPem(pem: string): string {
  return lfdiFromCertificate(certificateDerFromPem(pem));
}

export type ForwardedIdentitySource = 'certificate' | 'fingerprint' | 'lfdi';

export interface ForwardedIdentity {
  /** Lower-case, 40 hex characters. */
  lfdi: string;
  sfdi: number;
  /** What the header carried. */
  source: ForwardedIdentitySource;
  /** The SHA-256 certificate fingerprint, when the header carried a certificate or a fingerprint. */
  fingerprint?: string;
}

function unauthorized(message: string, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_UNAUTHORIZED', message, cause === undefined ? {} : { cause });
}

function fromHex(hex: string, source: ForwardedIdentitySource): ForwardedIdentity {
  const lower = hex.toLowerCase();
  const lfdi = lower.slice(0, LFDI_HEX_LENGTH);
  return {
    lfdi,
    sfdi: sfdiFromLfdi(lfdi),
    source,
    ...(source === 'fingerprint' ? { fingerprint: lower } : {}),
  };
}

/**
 * The value of a key in an Envoy-style `x-forwarded-client-cert` element (`Hash=…;Cert="…";Subject="…"`).
 * Only the first element (before any comma outside quotes) is read: that is the one the edge proxy added.
 */
function xfccField(value: string, key: 'cert' | 'hash'): string | undefined {
  const pattern = /\s*([A-Za-z]+)=("(?:[^"\\]|\\.)*"|[^;,]*)\s*([;,]|$)/y;
  let offset = 0;
  while (offset < value.length) {
    pattern.lastIndex = offset;
    const match = pattern.exec(value);
    if (!match) return undefined;
    const [, name = '', raw = '', separator] = match;
    if (name.toLowerCase() === key) return raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    if (separator !== ';') return undefined;
    offset = pattern.lastIndex;
  }
  return undefined;
}

function identityFromPemText(text: string): ForwardedIdentity {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch (error) {
    throw unauthorized('the forwarded client certificate is not valid URL encoding', error);
  }
  let der: Uint8Array;
  try {
    der = certificateDerFromPem(decoded);
  } catch (error) {
    throw unauthorized(`the forwarded client certificate cannot be read: ${(error as Error).message}`, error);
  }
  const fingerprint = certificateFingerprint(der);
  const lfdi = lfdiFromCertificate(der);
  return { lfdi, sfdi: sfdiFromLfdi(lfdi), source: 'certificate', fingerprint };
}

/**
 * The client identity a TLS terminator forwards in a header (deployments where TLS ends at a proxy in
 * front of the 2030.5 server). The header may carry:
 * - a URL-encoded PEM certificate (nginx `$ssl_client_escaped_cert`); the LFDI is hashed over its DER bytes;
 * - a SHA-256 certificate fingerprint, 64 hex characters, optionally colon-separated: its first 40 hex
 *   characters are the LFDI (§6.3.4);
 * - an LFDI, 40 hex characters;
 * - an Envoy-style element `Hash=…;Cert="…"` (Cert preferred over Hash).
 *
 * Anything else, an empty header or a repeated header throws GW_ERR_UNAUTHORIZED: without a readable
 * identity the request is unauthenticated. Trust this header only from the terminator itself.
 */
export function identityFromForwardedHeader(value: string | readonly string[] | undefined): ForwardedIdentity {
  if (Array.isArray(value)) {
    if (value.length !== 1) throw unauthorized('the forwarded client identity header appears more than once');
    return identityFromForwardedHeader(value[0] as string);
  }
  if (typeof value !== 'string' || value.trim() === '')
    throw unauthorized('no client identity was forwarded (the header is missing or empty)');
  if (value.length > MAX_FORWARDED_HEADER_LENGTH)
    throw unauthorized(`the forwarded client identity header is longer than ${MAX_FORWARDED_HEADER_LENGTH} characters`);
  const text = value.trim();

  if (new RegExp(`^[0-9a-fA-F]{${LFDI_HEX_LENGTH}}$`).test(text)) return fromHex(text, 'lfdi');
  if (new RegExp(`^[0-9a-fA-F]{${FINGERPRINT_HEX_LENGTH}}$`).test(text)) return fromHex(text, 'fingerprint');
  if (/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){31}$/.test(text)) return fromHex(text.replaceAll(':', ''), 'fingerprint');
  if (/BEGIN(%20|\+|\s)CERTIFICATE/i.test(text)) return identityFromPemText(text);

  const cert = xfccField(text, 'cert');
  if (cert !== undefined && cert !== '') return identityFromPemText(cert);
  const hash = xfccField(text, 'hash');
  if (hash !== undefined && /^[0-9a-fA-F]{64}$/.test(hash)) return fromHex(hash, 'fingerprint');

  throw unauthorized(
    'the forwarded client identity is not a URL-encoded PEM certificate, a SHA-256 fingerprint (64 hex) or an LFDI (40 hex)',
  );
}
