/**
 * TLS settings for IEEE 2030.5 (security, §6.11): TLS 1.2 only, the cipher suite
 * TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 on curve P-256, and mutual authentication with certificates that chain
 * to the configured CA(s).
 *
 * Decision: the server refuses any client that presents no certificate or one that does not chain to `ca`
 * (rejectUnauthorized: true). Without a certificate OpenSSL ends the handshake with alert 40
 * (handshake_failure). With a certificate from another CA, Node completes the handshake and then closes the
 * connection before any application data: the application never sees that client. A client whose certificate
 * does chain, but whose LFDI is not registered, still connects. Whether it may see anything is decided per
 * request from its LFDI (peerLfdi): the server can answer 403 or apply its in-band registration rules.
 */
import { createPrivateKey } from 'node:crypto';
import type { PeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls';
import { GridseamError } from '@gridseam/model';
import { pemFromCertificateDer } from './identity/certificate.ts';
import { lfdiFromCertificate, sfdiFromLfdi } from './identity/lfdi.ts';
import { sepProfileProblems } from './pki/profile.ts';

/** The one cipher suite 2030.5 requires (IANA 0xC0AE, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8). */
export const SEP_CIPHER = 'ECDHE-ECDSA-AES128-CCM8';
/** Offered after SEP_CIPHER when default ciphers are allowed: clients in the field that never set a list use it. */
export const SEP_FALLBACK_CIPHER = 'ECDHE-ECDSA-AES128-GCM-SHA256';
export const SEP_TLS_VERSION = 'TLSv1.2';
export const SEP_CURVE = 'P-256';

/** PEM text, or DER bytes (a Buffer that does not start with '-----'). */
type PemOrDer = string | Buffer;

export interface SepTlsCredentials {
  /** Private key: PEM, or PKCS#8 DER. */
  key: PemOrDer;
  /** Certificate: PEM (optionally followed by intermediate certificates), or DER (the `.x509` file). */
  cert: PemOrDer;
  /** Certificate(s) of the CA(s) the peer's certificate must chain to, PEM or DER. */
  ca: PemOrDer | PemOrDer[];
}

function isDer(value: PemOrDer): value is Buffer {
  return Buffer.isBuffer(value) && !value.subarray(0, 64).toString('latin1').includes('-----BEGIN');
}

/** Node's TLS takes PEM only: DER certificates and keys are converted. */
function certificatePem(value: PemOrDer): PemOrDer {
  return isDer(value) ? pemFromCertificateDer(value) : value;
}

function keyPem(value: PemOrDer): PemOrDer {
  if (!isDer(value)) return value;
  try {
    return createPrivateKey({ key: value, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });
  } catch (error) {
    throw new GridseamError('GW_ERR_CONFIG', 'the TLS private key is neither PEM nor PKCS#8 DER', { cause: error });
  }
}

function caPem(value: PemOrDer | PemOrDer[]): PemOrDer | PemOrDer[] {
  return Array.isArray(value) ? value.map(certificatePem) : certificatePem(value);
}

export type SepServerTlsOptions = SecureContextOptions & {
  requestCert: true;
  rejectUnauthorized: true;
  honorCipherOrder: true;
};

/**
 * Options for `https.createServer` / `tls.createServer`: TLS 1.2, CCM8 (plus AES128-GCM only with
 * `allowDefaultCiphers`), P-256, and a client certificate that chains to `ca` required at the handshake.
 */
export function sepServerTlsOptions(
  options: SepTlsCredentials & { allowDefaultCiphers?: boolean },
): SepServerTlsOptions {
  return {
    key: keyPem(options.key),
    cert: certificatePem(options.cert),
    ca: caPem(options.ca),
    minVersion: SEP_TLS_VERSION,
    maxVersion: SEP_TLS_VERSION,
    ciphers: options.allowDefaultCiphers ? `${SEP_CIPHER}:${SEP_FALLBACK_CIPHER}` : SEP_CIPHER,
    ecdhCurve: SEP_CURVE,
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: true,
  };
}

export type SepClientTlsOptions = SecureContextOptions & {
  rejectUnauthorized: true;
  checkServerIdentity: (host: string, certificate: PeerCertificate) => Error | undefined;
};

/**
 * Options for `tls.connect` / `https.request` from a Node 2030.5 client: TLS 1.2, CCM8, P-256, our certificate,
 * and a server certificate that must chain to `ca`. The host-name check is skipped, because a 2030.5 server
 * certificate names hardware (HardwareModuleName), not a host. With `requireSepProfile` the server certificate
 * must also meet the 2030.5 profile (critical extensions etc.), as strict clients require.
 */
export function sepClientTlsOptions(options: SepTlsCredentials & { requireSepProfile?: boolean }): SepClientTlsOptions {
  const requireProfile = options.requireSepProfile === true;
  return {
    key: keyPem(options.key),
    cert: certificatePem(options.cert),
    ca: caPem(options.ca),
    minVersion: SEP_TLS_VERSION,
    maxVersion: SEP_TLS_VERSION,
    ciphers: SEP_CIPHER,
    ecdhCurve: SEP_CURVE,
    rejectUnauthorized: true,
    checkServerIdentity: (_host, certificate) => {
      if (!requireProfile) return undefined;
      if (!certificate?.raw) return new Error('the server presented no certificate');
      let problems: string[];
      try {
        problems = sepProfileProblems(new Uint8Array(certificate.raw), { role: 'end-entity' });
      } catch (error) {
        return new Error(`the server certificate cannot be read: ${(error as Error).message}`);
      }
      return problems.length === 0
        ? undefined
        : new Error(`the server certificate is not in the IEEE 2030.5 profile: ${problems.join('; ')}`);
    },
  };
}

export interface PeerIdentity {
  lfdi: string;
  sfdi: number;
}

/**
 * The LFDI and SFDI of the peer's certificate (hashed over its DER bytes), or undefined when the peer sent no
 * certificate or it did not verify against the CA(s) (socket.authorized is false).
 */
export function peerLfdi(socket: TLSSocket): PeerIdentity | undefined {
  if (!socket.authorized) return undefined;
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw || raw.length === 0) return undefined;
  const lfdi = lfdiFromCertificate(new Uint8Array(raw));
  return { lfdi, sfdi: sfdiFromLfdi(lfdi) };
}
