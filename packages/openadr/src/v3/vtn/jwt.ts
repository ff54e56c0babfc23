/**
 * JSON Web Tokens (RFC 7519) in compact JWS form (RFC 7515) with node:crypto only: HS256, ES256 and RS256
 * (RFC 7518 §3.2-3.4). The algorithm comes from the key, never from the token alone: a token whose header
 * names another algorithm than its key's is refused ('none' and algorithm confusion are impossible).
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as signDigest,
  timingSafeEqual,
  verify as verifyDigest,
} from 'node:crypto';

export type JwtAlgorithm = 'HS256' | 'ES256' | 'RS256';

export type JwtSigner = { alg: 'HS256'; secret: Buffer; kid?: string } | { alg: 'ES256'; key: KeyObject; kid?: string };

export type JwtVerifier =
  | { alg: 'HS256'; secret: Buffer; kid?: string }
  | { alg: 'ES256' | 'RS256'; key: KeyObject; kid?: string };

export type JwtClaims = Record<string, unknown>;

/** Longest token accepted; a real one is a few hundred bytes. */
export const MAX_TOKEN_LENGTH = 8192;

/** Why a token was refused; `message` is safe to return to the caller. */
export class JwtError extends Error {
  constructor(
    message: string,
    readonly expired = false,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function encodeJson(value: unknown): string {
  return base64url(JSON.stringify(value));
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new JwtError(`the token ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError(`the token ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new JwtError(`the token ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Signs `claims` as a compact JWS. */
export function signJwt(claims: JwtClaims, signer: JwtSigner): string {
  const header: Record<string, string> = { alg: signer.alg, typ: 'JWT' };
  if (signer.kid !== undefined) header.kid = signer.kid;
  const input = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature =
    signer.alg === 'HS256'
      ? createHmac('sha256', signer.secret).update(input).digest()
      : signDigest('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${base64url(signature)}`;
}

function signatureValid(verifier: JwtVerifier, input: string, signature: Buffer): boolean {
  switch (verifier.alg) {
    case 'HS256': {
      const expected = createHmac('sha256', verifier.secret).update(input).digest();
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    }
    case 'ES256':
      // RFC 7518 §3.4: R || S, 32 bytes each.
      if (signature.length !== 64) return false;
      return verifyDigest('sha256', Buffer.from(input), { key: verifier.key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return verifyDigest('sha256', Buffer.from(input), verifier.key, signature);
  }
}

export interface VerifyOptions {
  /** Seconds since the epoch. */
  nowSeconds: number;
  clockToleranceSeconds: number;
  issuer?: string;
  audience?: string;
}

/**
 * Verifies a compact JWS against the verifiers whose algorithm (and kid, when both name one) match its
 * header, then checks exp (required), nbf, iss and aud. Returns the claims; throws JwtError.
 */
export function verifyJwt(token: string, verifiers: readonly JwtVerifier[], options: VerifyOptions): JwtClaims {
  if (token.length > MAX_TOKEN_LENGTH) throw new JwtError('the token is too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('the token is not a compact JWS (header.payload.signature)');
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = decodeJson(headerPart, 'header');
  const alg = header.alg;
  if (alg !== 'HS256' && alg !== 'ES256' && alg !== 'RS256') throw new JwtError(`algorithm ${String(alg)} is refused`);
  if (header.crit !== undefined) throw new JwtError('critical header parameters are not supported');
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const candidates = verifiers.filter(
    (verifier) => verifier.alg === alg && (verifier.kid === undefined || kid === undefined || verifier.kid === kid),
  );
  if (candidates.length === 0) throw new JwtError(`no key accepts algorithm ${alg}${kid ? ` and kid ${kid}` : ''}`);
  if (!/^[A-Za-z0-9_-]+$/.test(signaturePart)) throw new JwtError('the token signature is not base64url');
  const signature = Buffer.from(signaturePart, 'base64url');
  const input = `${headerPart}.${payloadPart}`;
  if (!candidates.some((verifier) => signatureValid(verifier, input, signature)))
    throw new JwtError('the token signature is not valid');
  const claims = decodeJson(payloadPart, 'payload');
  const { nowSeconds, clockToleranceSeconds } = options;
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw new JwtError('the token has no exp');
  if (nowSeconds - clockToleranceSeconds >= claims.exp) throw new JwtError('the token has expired', true);
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number' || !Number.isFinite(claims.nbf)) throw new JwtError('the token nbf is invalid');
    if (nowSeconds + clockToleranceSeconds < claims.nbf) throw new JwtError('the token is not valid yet');
  }
  if (options.issuer !== undefined && claims.iss !== options.issuer)
    throw new JwtError('the token issuer is not accepted');
  if (options.audience !== undefined) {
    const aud = claims.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.includes(options.audience)) throw new JwtError('the token audience is not accepted');
  }
  return claims;
}

/** A private key for ES256 signing (PEM, P-256). */
export function es256PrivateKey(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new TypeError('an ES256 key must be an EC P-256 private key');
  return key;
}

/** A public key for RS256 or ES256 verification (PEM public key, certificate, or a private key). */
export function publicKeyFor(alg: 'RS256' | 'ES256', pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (alg === 'ES256' && (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1'))
    throw new TypeError('an ES256 key must be an EC P-256 key');
  if (alg === 'RS256' && key.asymmetricKeyType !== 'rsa') throw new TypeError('an RS256 key must be an RSA key');
  if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new TypeError('an RS256 key must have at least 2048 bits');
  return key;
}
