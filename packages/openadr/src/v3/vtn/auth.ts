/**
 * OAuth 2.0 client credentials for the VTN (Definition §OAuth 2.0 client credential flow, RFC 6749 §4.4):
 * the token endpoint (`POST /auth/token`, form-encoded; client authentication in the body or by HTTP Basic,
 * RFC 6749 §2.3.1; the Reference Implementation's clientID/clientSecret headers are accepted too), tokens as
 * signed JWTs carrying the client's role and scopes, and bearer token checks on every request (RFC 6750:
 * 401 with WWW-Authenticate for a missing, bad or expired token, 403 insufficient_scope).
 */
import { createHash, createSecretKey, randomUUID, timingSafeEqual } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import type {
  Oadr3Version,
  VtnAuthOptions,
  VtnClient,
  VtnExternalIssuer,
  VtnInternalIssuer,
  VtnPrincipal,
  VtnRole,
} from './contract.ts';
import {
  es256PrivateKey,
  type JwtClaims,
  JwtError,
  type JwtSigner,
  type JwtVerifier,
  publicKeyFor,
  signJwt,
  verifyJwt,
} from './jwt.ts';
import { defaultScopes, knownScopes } from './operations.ts';

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
export const DEFAULT_ISSUER = 'gridseam-vtn';
const REALM = 'openadr3';
/** Verified tokens remembered (the signature check is skipped for them until they expire). */
const TOKEN_CACHE_SIZE = 10_000;

/** An error answered by the token endpoint (RFC 6749 §5.2). */
export class TokenError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error:
      | 'invalid_request'
      | 'invalid_client'
      | 'invalid_grant'
      | 'invalid_scope'
      | 'unauthorized_client'
      | 'unsupported_grant_type',
    readonly description: string,
    readonly basic = false,
  ) {
    super(description);
    this.name = 'TokenError';
  }
}

/** A request the bearer check refused: 401 (with WWW-Authenticate) or 403 (insufficient_scope). */
export function unauthorized(description: string | undefined): GridseamError {
  const challenge =
    description === undefined
      ? `Bearer realm="${REALM}"`
      : `Bearer realm="${REALM}", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`;
  return new GridseamError('GW_ERR_UNAUTHORIZED', description ?? 'a bearer token is required', {
    details: { wwwAuthenticate: challenge },
  });
}

export function insufficientScope(missing: readonly string[]): GridseamError {
  return new GridseamError('GW_ERR_FORBIDDEN', `the token lacks the scope ${missing.join(' ')}`, {
    details: {
      wwwAuthenticate: `Bearer realm="${REALM}", error="insufficient_scope", scope="${missing.join(' ')}"`,
    },
  });
}

export interface TokenRequest {
  /** The form fields (application/x-www-form-urlencoded). */
  form: URLSearchParams | undefined;
  authorization: string | undefined;
  /** The Reference Implementation's headers (Definition §Reference Implementation, step 1). */
  clientIdHeader: string | undefined;
  clientSecretHeader: string | undefined;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

interface ResolvedClient {
  clientId: string;
  digest: Buffer | undefined;
  role: VtnRole;
  venName: string | undefined;
  scopes: readonly string[];
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function resolveClient(client: VtnClient, version: Oadr3Version, index: number): ResolvedClient {
  if (typeof client.clientId !== 'string' || client.clientId.length === 0 || client.clientId.length > 128)
    throw new TypeError(`auth.clients[${index}].clientId must be 1 to 128 characters`);
  if (client.secret !== undefined && client.secretSha256 !== undefined)
    throw new TypeError(`auth.clients[${index}] must have only one of secret and secretSha256`);
  let digest: Buffer | undefined;
  if (client.secretSha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(client.secretSha256))
      throw new TypeError(`auth.clients[${index}].secretSha256 must be 64 hex characters`);
    digest = Buffer.from(client.secretSha256, 'hex');
  } else if (client.secret !== undefined) {
    if (client.secret.length === 0) throw new TypeError(`auth.clients[${index}].secret must not be empty`);
    digest = sha256(client.secret);
  }
  const known = knownScopes(version);
  for (const scope of client.scopes ?? [])
    if (!known.has(scope)) throw new TypeError(`auth.clients[${index}].scopes: ${scope} is not a ${version} scope`);
  return {
    clientId: client.clientId,
    digest,
    role: client.role,
    venName: client.venName,
    scopes: client.scopes ?? defaultScopes(version, client.role),
  };
}

function parseBasic(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

function claimString(claims: JwtClaims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function claimScopes(claims: JwtClaims): string[] {
  const value = claims.scope ?? claims.scp;
  if (typeof value === 'string') return value.split(' ').filter((scope) => scope.length > 0);
  if (Array.isArray(value)) return value.filter((scope): scope is string => typeof scope === 'string');
  return [];
}

export class VtnAuth {
  readonly #version: Oadr3Version;
  readonly #clients = new Map<string, ResolvedClient>();
  readonly #issuer: VtnInternalIssuer | VtnExternalIssuer;
  readonly #signer: JwtSigner | undefined;
  readonly #verifiers: JwtVerifier[];
  readonly #tolerance: number;
  readonly #now: () => Date;
  readonly #cache = new Map<string, { principal: VtnPrincipal; exp: number }>();
  /** A digest compared when the client is unknown, so a wrong id costs the same as a wrong secret. */
  readonly #decoy = sha256(randomUUID());

  constructor(options: VtnAuthOptions, version: Oadr3Version, now: () => Date) {
    this.#version = version;
    this.#now = now;
    this.#issuer = options.issuer;
    this.#tolerance = options.clockToleranceSeconds ?? 60;
    (options.clients ?? []).forEach((client, index) => {
      if (this.#clients.has(client.clientId))
        throw new TypeError(`auth.clients[${index}].clientId ${client.clientId} is listed twice`);
      this.#clients.set(client.clientId, resolveClient(client, version, index));
    });
    const issuer = options.issuer;
    if (issuer.kind === 'internal') {
      const key = issuer.key;
      if (key.alg === 'HS256') {
        const secret = Buffer.isBuffer(key.secret) ? key.secret : Buffer.from(key.secret, 'utf8');
        // RFC 7518 §3.2: a key of the same size as the hash output or larger.
        if (secret.length < 32) throw new TypeError('the HS256 token secret must be at least 32 bytes');
        createSecretKey(secret);
        this.#signer = { alg: 'HS256', secret, ...(key.kid === undefined ? {} : { kid: key.kid }) };
        this.#verifiers = [{ alg: 'HS256', secret, ...(key.kid === undefined ? {} : { kid: key.kid }) }];
      } else {
        const privateKey = es256PrivateKey(key.privateKey);
        this.#signer = { alg: 'ES256', key: privateKey, ...(key.kid === undefined ? {} : { kid: key.kid }) };
        this.#verifiers = [
          {
            alg: 'ES256',
            key: publicKeyFor('ES256', privateKey.export({ format: 'pem', type: 'pkcs8' })),
            ...(key.kid === undefined ? {} : { kid: key.kid }),
          },
        ];
      }
      if (issuer.tokenTtlSeconds !== undefined && !(issuer.tokenTtlSeconds >= 1 && issuer.tokenTtlSeconds <= 86400))
        throw new TypeError('tokenTtlSeconds must be from 1 to 86400');
    } else {
      if (issuer.keys.length === 0) throw new TypeError('an external issuer needs at least one public key');
      this.#signer = undefined;
      this.#verifiers = issuer.keys.map((key) => ({
        alg: key.alg,
        key: publicKeyFor(key.alg, key.publicKey),
        ...(key.kid === undefined ? {} : { kid: key.kid }),
      }));
    }
  }

  /** True when this VTN answers POST /auth/token itself. */
  get issuesTokens(): boolean {
    return this.#issuer.kind === 'internal';
  }

  /** The external token endpoint, if one is configured. */
  get externalTokenUrl(): string | undefined {
    return this.#issuer.kind === 'external' ? this.#issuer.tokenUrl : undefined;
  }

  #nowSeconds(): number {
    return Math.floor(this.#now().getTime() / 1000);
  }

  /** A signed token for a known client (no secret check). */
  issue(clientId: string, requestedScopes?: readonly string[]): TokenResponse {
    const signer = this.#signer;
    const issuer = this.#issuer;
    if (signer === undefined || issuer.kind !== 'internal')
      throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'tokens come from the external issuer');
    const client = this.#clients.get(clientId);
    if (client === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `no client ${clientId}`);
    const scopes = requestedScopes ?? client.scopes;
    const ttl = issuer.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    const iat = this.#nowSeconds();
    const claims: JwtClaims = {
      iss: issuer.issuer ?? DEFAULT_ISSUER,
      sub: client.clientId,
      client_id: client.clientId,
      ...(issuer.audience === undefined ? {} : { aud: issuer.audience }),
      iat,
      exp: iat + ttl,
      jti: randomUUID(),
      role: client.role,
      scope: scopes.join(' '),
      ...(client.venName === undefined ? {} : { venName: client.venName }),
    };
    return { access_token: signJwt(claims, signer), token_type: 'Bearer', expires_in: ttl, scope: scopes.join(' ') };
  }

  /** The token endpoint (RFC 6749 §4.4.2 request, §5.1 answer, §5.2 errors). */
  token(request: TokenRequest): TokenResponse {
    if (!this.issuesTokens)
      throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'this VTN does not issue tokens: see GET /auth/server');
    const form = request.form ?? new URLSearchParams();
    for (const name of ['grant_type', 'client_id', 'client_secret', 'scope'])
      if (form.getAll(name).length > 1) throw new TokenError(400, 'invalid_request', `${name} is repeated`);
    const basic = request.authorization === undefined ? undefined : parseBasic(request.authorization);
    if (request.authorization !== undefined && basic === undefined && /^Basic\b/i.test(request.authorization))
      throw new TokenError(401, 'invalid_client', 'the Basic credentials are malformed', true);
    const bodyId = form.get('client_id') ?? undefined;
    const bodySecret = form.get('client_secret') ?? undefined;
    if (basic !== undefined && (bodyId !== undefined || bodySecret !== undefined) && bodyId !== basic.id)
      throw new TokenError(400, 'invalid_request', 'use one client authentication method (RFC 6749 §2.3)');
    const grantType = form.get('grant_type') ?? (request.clientIdHeader !== undefined ? 'client_credentials' : null);
    if (grantType === null) throw new TokenError(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials')
      throw new TokenError(400, 'unsupported_grant_type', 'only grant_type client_credentials is supported');
    const clientId = basic?.id ?? bodyId ?? request.clientIdHeader;
    const secret = basic?.secret ?? bodySecret ?? request.clientSecretHeader;
    if (clientId === undefined || clientId.length === 0)
      throw new TokenError(400, 'invalid_request', 'client_id is required');
    if (secret === undefined || secret.length === 0)
      throw new TokenError(400, 'invalid_request', 'client_secret is required');
    if (clientId.length > 4096 || secret.length > 4096)
      throw new TokenError(400, 'invalid_request', 'client_id and client_secret are at most 4096 characters');
    const client = this.#clients.get(clientId);
    const presented = sha256(secret);
    const expected = client?.digest ?? this.#decoy;
    const matches = timingSafeEqual(presented, expected);
    if (client === undefined || client.digest === undefined || !matches)
      throw new TokenError(401, 'invalid_client', 'unknown client or wrong secret', basic !== undefined);
    const scopeParam = form.get('scope');
    let scopes = client.scopes;
    if (scopeParam !== null && scopeParam.trim() !== '') {
      const requested = [...new Set(scopeParam.split(' ').filter((scope) => scope.length > 0))];
      const refused = requested.filter((scope) => !client.scopes.includes(scope));
      if (refused.length > 0)
        throw new TokenError(400, 'invalid_scope', `scope ${refused.join(' ')} is not granted to this client`);
      scopes = requested;
    }
    return this.issue(client.clientId, scopes);
  }

  /** The principal of an Authorization header; throws GW_ERR_UNAUTHORIZED (401). */
  authenticate(authorization: string | undefined): VtnPrincipal {
    if (authorization === undefined || authorization === '') throw unauthorized(undefined);
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
    if (match?.[1] === undefined) throw unauthorized('the Authorization header is not a bearer token');
    const token = match[1];
    const nowSeconds = this.#nowSeconds();
    const cached = this.#cache.get(token);
    if (cached !== undefined) {
      if (nowSeconds - this.#tolerance < cached.exp) return cached.principal;
      this.#cache.delete(token);
      throw unauthorized('the token has expired');
    }
    let claims: JwtClaims;
    try {
      const issuer = this.#issuer;
      const expectedIssuer = issuer.kind === 'internal' ? (issuer.issuer ?? DEFAULT_ISSUER) : issuer.issuer;
      claims = verifyJwt(token, this.#verifiers, {
        nowSeconds,
        clockToleranceSeconds: this.#tolerance,
        ...(expectedIssuer === undefined ? {} : { issuer: expectedIssuer }),
        ...(issuer.audience === undefined ? {} : { audience: issuer.audience }),
      });
    } catch (error) {
      if (error instanceof JwtError) throw unauthorized(error.message);
      throw unauthorized('the token could not be verified');
    }
    const principal = this.#principalOf(claims);
    if (this.#cache.size >= TOKEN_CACHE_SIZE) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(token, { principal, exp: claims.exp as number });
    return principal;
  }

  #principalOf(claims: JwtClaims): VtnPrincipal {
    const issuer = this.#issuer;
    const clientId =
      issuer.kind === 'external' && issuer.clientIdClaim !== undefined
        ? claimString(claims, issuer.clientIdClaim)
        : (claimString(claims, 'client_id') ?? claimString(claims, 'azp') ?? claimString(claims, 'sub'));
    if (clientId === undefined || clientId.length > 128) throw unauthorized('the token names no client');
    const configured = this.#clients.get(clientId);
    const tokenScopes = claimScopes(claims);
    const roleClaim = claims[issuer.kind === 'external' ? (issuer.roleClaim ?? 'role') : 'role'];
    let role: VtnRole;
    if (roleClaim === 'bl' || roleClaim === 'ven') role = roleClaim;
    else if (configured !== undefined) role = configured.role;
    else role = tokenScopes.includes('write_programs') || tokenScopes.includes('write_events') ? 'bl' : 'ven';
    // An internal token's role must still be the client's (a client whose role changed needs a new token).
    if (issuer.kind === 'internal' && (configured === undefined || configured.role !== role))
      throw unauthorized('the token names an unknown client');
    const scopes =
      issuer.kind === 'external' && tokenScopes.length === 0 && configured !== undefined
        ? configured.scopes
        : tokenScopes;
    const venName = configured?.venName ?? claimString(claims, 'venName');
    return {
      clientId,
      role,
      scopes: new Set(scopes),
      ...(venName === undefined ? {} : { venName }),
    };
  }

  /** A principal for a stored owner (webhook filtering): the configured client if known. */
  principalFor(clientId: string, role: VtnRole, venName: string | undefined): VtnPrincipal {
    const configured = this.#clients.get(clientId);
    const name = configured?.venName ?? venName;
    return {
      clientId,
      role: configured?.role ?? role,
      scopes: new Set(configured?.scopes ?? defaultScopes(this.#version, role)),
      ...(name === undefined ? {} : { venName: name }),
    };
  }
}
