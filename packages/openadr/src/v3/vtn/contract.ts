/**
 * The contract of the OpenADR 3 VTN (issue 7): the versions it serves, who may call it (clients, roles,
 * scopes, token issuers), what it persists (`VtnStore`) and what `createVtn` returns. Everything here is
 * data and types; the server is in ./server.ts.
 *
 * One VTN instance serves one version of the API (3.0.1 or 3.1.0: 3.1.0 is not backward compatible,
 * changeLog.md) under one base path.
 */

import type { Oadr3Version } from '../validate.ts';

export type { Oadr3Version };

/** The objects of the API (objectTypes enum, both versions). */
export type VtnObjectKind = 'program' | 'event' | 'report' | 'subscription' | 'ven' | 'resource';

export const VTN_OBJECT_KINDS: readonly VtnObjectKind[] = [
  'program',
  'event',
  'report',
  'subscription',
  'ven',
  'resource',
];

/** The objectType each kind carries on the wire (objectTypes enum). */
export const OBJECT_TYPES: Readonly<Record<VtnObjectKind, string>> = {
  program: 'PROGRAM',
  event: 'EVENT',
  report: 'REPORT',
  subscription: 'SUBSCRIPTION',
  ven: 'VEN',
  resource: 'RESOURCE',
};

/**
 * Client roles (Definition §Security "Assumptions"): business logic (BL) publishes programs and events and
 * reads everything; a VEN reads what it is targeted by and writes its own ven, resources, reports and
 * subscriptions.
 */
export type VtnRole = 'bl' | 'ven';

/** A JSON object as it travels on the wire. */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

// ---------------------------------------------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------------------------------------------

/** Who created a stored object (kept beside the wire object, never sent). */
export interface VtnOwner {
  clientId: string;
  role: VtnRole;
  /** The venName configured for that client, if any. */
  venName?: string;
}

/** What is stored per object: the wire object (with its metadata), its creation order and its creator. */
export interface VtnStoredDoc {
  object: JsonObject;
  /** Creation order; lists are served in this order. */
  seq: number;
  owner?: VtnOwner;
}

export interface VtnStoredRecord {
  kind: VtnObjectKind;
  id: string;
  doc: VtnStoredDoc;
}

/** One change: `doc: null` deletes the record. */
export interface VtnChange {
  kind: VtnObjectKind;
  id: string;
  doc: VtnStoredDoc | null;
}

/**
 * Where the VTN keeps its objects. The VTN loads everything once at start and serves reads from memory;
 * every write goes to the store first and only then to memory, so an acknowledged write is never lost.
 * Docs are JSON-compatible values.
 */
export interface VtnStore {
  load(): Promise<VtnStoredRecord[]>;
  /** Applies all changes atomically (one call is one transaction); rejects if nothing was applied. */
  write(changes: readonly VtnChange[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------------------------

/** A client allowed to trade its credentials for a token at `POST {basePath}/auth/token`. */
export interface VtnClient {
  clientId: string;
  /** SHA-256 of the client secret, lower- or upper-case hex. Exactly one of secretSha256 / secret. */
  secretSha256?: string;
  /** The secret itself (tests, or read from an environment variable by the caller). */
  secret?: string;
  role: VtnRole;
  /**
   * The venName of this VEN client: it may only create a ven object with this name, it owns the ven of that
   * name (3.0.1, where ven objects carry no clientID) and programs/events targeted at this name reach it.
   */
  venName?: string;
  /** Scopes granted instead of the role's defaults (`defaultScopes`). */
  scopes?: readonly string[];
}

/** Tokens this VTN issues and verifies itself: HS256 with a shared secret, or ES256 with a key pair (PEM). */
export type VtnTokenKey =
  | { alg: 'HS256'; secret: string | Buffer; kid?: string }
  | { alg: 'ES256'; privateKey: string | Buffer; kid?: string };

/** A public key of an external issuer (PEM), RS256 or ES256. */
export interface VtnIssuerKey {
  alg: 'RS256' | 'ES256';
  publicKey: string | Buffer;
  /** When set, only tokens whose header names this kid are checked against this key. */
  kid?: string;
}

export interface VtnInternalIssuer {
  kind: 'internal';
  key: VtnTokenKey;
  /** Token lifetime, seconds; default 3600. */
  tokenTtlSeconds?: number;
  /** `iss` written and required; default 'gridseam-vtn'. */
  issuer?: string;
  /** `aud` written and required; default none. */
  audience?: string;
}

export interface VtnExternalIssuer {
  kind: 'external';
  keys: readonly VtnIssuerKey[];
  /** Required `iss`. */
  issuer?: string;
  /** Required audience (one of the token's `aud`). */
  audience?: string;
  /** The token endpoint VENs are told about in GET /auth/server (3.1.0). */
  tokenUrl?: string;
  /** Claim holding 'bl' or 'ven'; default 'role'. Without it, a token with write_programs or write_events is BL. */
  roleClaim?: string;
  /** Claim holding the client id; default: client_id, then azp, then sub. */
  clientIdClaim?: string;
}

export interface VtnAuthOptions {
  issuer: VtnInternalIssuer | VtnExternalIssuer;
  /**
   * Clients of the token endpoint (internal issuer). With an external issuer, entries map client ids to a
   * role, venName and scopes the token does not carry.
   */
  clients?: readonly VtnClient[];
  /** Clock tolerance for exp/nbf, seconds; default 60. */
  clockToleranceSeconds?: number;
}

/** The caller of a request, resolved from its bearer token. */
export interface VtnPrincipal {
  clientId: string;
  role: VtnRole;
  scopes: ReadonlySet<string>;
  venName?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------------------------

export interface VtnWebhookOptions {
  /** Allow callback URLs on loopback addresses (tests, labs). Default false. */
  allowLoopback?: boolean;
  /** Allow callback URLs on private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). Default false. */
  allowPrivateNetworks?: boolean;
  /** Allow http:// callback URLs (Definition §Webhooks requires https). Default false. */
  allowHttp?: boolean;
  /**
   * Send the `GET callbackUrl?echo=...` challenge before a subscription is created or a callback changes
   * (Definition §Webhooks: MUST). Default true.
   */
  verifyCallbacks?: boolean;
  /** Per request, ms; default 10000 (the Definition recommends 10-30 s). */
  timeoutMs?: number;
  /** Attempts per notification in total; default 5. */
  attempts?: number;
  /** First back-off, ms, doubled per attempt; default 1000. */
  initialDelayMs?: number;
  /** Back-off cap, ms; default 60000. */
  maxDelayMs?: number;
  /** Notifications waiting per callback; the oldest is dropped beyond this. Default 100. */
  maxQueuePerCallback?: number;
  /** Notifications in flight at once over all callbacks; default 32. */
  maxConcurrent?: number;
  /** Extra CA certificates for https callbacks (labs). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify callback certificates; default true. */
  rejectUnauthorized?: boolean;
}

export interface VtnWebhookStats {
  delivered: number;
  /** Gave up after the last attempt, or on an answer that retrying cannot fix (4xx, redirect). */
  failed: number;
  /** Attempts that were retried. */
  retried: number;
  /** Dropped from a full queue. */
  dropped: number;
  /** Waiting or in flight. */
  pending: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Options and the VTN
// ---------------------------------------------------------------------------------------------------------------

export type VtnLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type VtnLog = (level: VtnLogLevel, message: string, details?: Record<string, unknown>) => void;

export interface VtnOptions {
  version: Oadr3Version;
  /** Where the API lives; default `/openadr3/{version}`. '' serves it at the root. */
  basePath?: string;
  auth: VtnAuthOptions;
  /** Default: a new MemoryVtnStore (nothing survives the process). */
  store?: VtnStore;
  webhooks?: VtnWebhookOptions;
  /** HTTPS served by Node itself (Definition §HTTPS/TLS: MUST use TLS in production). PEM. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Request body limit, bytes; default 1 MiB. */
  bodyLimit?: number;
  /** The public URL of the base path (e.g. behind a proxy); used for `tokenURL` in GET /auth/server. */
  publicUrl?: string;
  /** Objects kept per kind; creating more answers 409. Default 1,000,000. */
  maxObjectsPerKind?: number;
  /** Clock (tests). */
  now?: () => Date;
  log?: VtnLog;
}

/** An HTTP answer from `Vtn.inject` (tests, benchmarks). */
export interface VtnInjectResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json<T = unknown>(): T;
}

export interface VtnInjectRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'PATCH' | 'OPTIONS';
  /** Path including the base path and query. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Vtn {
  readonly version: Oadr3Version;
  /** Normalised: '' or '/segment...' without a trailing slash. */
  readonly basePath: string;
  /** Binds the listener; port 0 picks a free one. Resolves with the bound port and the API's base URL. */
  listen(options?: { host?: string; port?: number }): Promise<{ port: number; url: string }>;
  /** The API's base URL once listening (e.g. http://127.0.0.1:40123/openadr3/3.1.0). */
  readonly url: string | undefined;
  /** A request without a socket (fastify inject). */
  inject(request: VtnInjectRequest): Promise<VtnInjectResponse>;
  /**
   * A token for a configured client without its secret (internal issuer only): for in-process callers such as
   * benchmarks and the operator's own BL tooling.
   */
  issueToken(clientId: string): { accessToken: string; expiresIn: number };
  /** Every stored object of a kind, in creation order, as BL reads it. */
  objects(kind: VtnObjectKind): JsonObject[];
  readonly webhooks: {
    stats(): VtnWebhookStats;
    /** Resolves once no notification is waiting or in flight (parked retries included). */
    drain(): Promise<void>;
  };
  close(): Promise<void>;
}
