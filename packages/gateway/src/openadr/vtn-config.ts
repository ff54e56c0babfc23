/**
 * The configuration file of `gridseam openadr vtn` (YAML; documented in docs/openadr-vtn.md, example
 * examples/openadr-vtn.yaml). Loaded like the gateway's own config (config/load.ts): at most 1 MiB, YAML 1.2
 * core schema, no duplicate keys, few aliases, unknown keys refused, every problem reported as GW_ERR_CONFIG
 * naming the file, the key path and what was expected. Relative paths (TLS and key files, the SQLite file)
 * resolve against the config file's folder. Secrets are never in the file: client secrets are SHA-256
 * digests or environment variables, the token signing secret an environment variable or a key file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { GridseamError } from '@gridseam/model';
import type { VtnAuthOptions, VtnClient, VtnIssuerKey, VtnOptions } from '@gridseam/openadr';
import { Ajv } from 'ajv';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { type ConfigIssue, issuesFromAjv, keyPathOf } from '../config/issues.ts';
import { configError, parseYaml, readConfigText } from '../config/load.ts';
import { LogSection, PostgresStoreConfig } from '../config/schema.ts';

export const DEFAULT_VTN_HOST = '127.0.0.1';
export const DEFAULT_VTN_PORT = 8081;
export const DEFAULT_VTN_SQLITE_PATH = './data/openadr-vtn.db';

const FilePath = Type.String({ minLength: 1, maxLength: 4096 });
const EnvName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' });

export const VtnListenSection = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, default: DEFAULT_VTN_HOST }),
    /** 0 picks a free port (tests). */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: DEFAULT_VTN_PORT }),
  },
  { additionalProperties: false, default: {} },
);

export const VtnClientConfig = Type.Object(
  {
    clientId: Type.String({ minLength: 1, maxLength: 128 }),
    /** SHA-256 hex digest of the client secret. */
    secretSha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    /** An environment variable holding the client secret. */
    secretEnv: Type.Optional(EnvName),
    role: Type.Enum(['bl', 'ven']),
    /** The VEN's venName: the only ven it may create, and a target it is granted. */
    venName: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** Scopes instead of the role's defaults. */
    scopes: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z_]{1,64}$' }), { maxItems: 32, uniqueItems: true })),
  },
  { additionalProperties: false },
);

export const VtnExternalKeyConfig = Type.Object(
  {
    alg: Type.Enum(['RS256', 'ES256']),
    /** PEM public key (or certificate) file. */
    publicKey: FilePath,
    kid: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const VtnExternalIssuerConfig = Type.Object(
  {
    keys: Type.Array(VtnExternalKeyConfig, { minItems: 1, maxItems: 16 }),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    audience: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    /** Told to VENs by GET /auth/server (3.1.0). */
    tokenUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
    roleClaim: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    clientIdClaim: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

export const VtnAuthSection = Type.Object(
  {
    /** HS256: an environment variable holding the token signing secret (at least 32 bytes). */
    tokenSecretEnv: Type.Optional(EnvName),
    /** ES256: a PEM file with the EC P-256 private key that signs tokens. */
    keys: Type.Optional(
      Type.Object(
        { es256PrivateKey: FilePath, kid: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) },
        { additionalProperties: false },
      ),
    ),
    /** Tokens come from an external authorization server; POST /auth/token answers 501. */
    external: Type.Optional(VtnExternalIssuerConfig),
    tokenTtlSeconds: Type.Integer({ minimum: 60, maximum: 86400, default: 3600 }),
    /** `iss` of the tokens this VTN issues. */
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    clockToleranceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 600 })),
    clients: Type.Array(VtnClientConfig, { maxItems: 100000, default: [] }),
  },
  { additionalProperties: false },
);

export const VtnWebhooksSection = Type.Object(
  {
    allowLoopback: Type.Optional(Type.Boolean()),
    allowPrivateNetworks: Type.Optional(Type.Boolean()),
    allowHttp: Type.Optional(Type.Boolean()),
    verifyCallbacks: Type.Optional(Type.Boolean()),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120000 })),
    attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    initialDelayMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600000 })),
    maxDelayMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 86400000 })),
    maxQueuePerCallback: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    /** Extra CA certificate files for https callbacks. */
    ca: Type.Optional(Type.Array(FilePath, { maxItems: 16 })),
  },
  { additionalProperties: false, default: {} },
);

export const VtnSqliteStore = Type.Object(
  {
    kind: Type.Literal('sqlite'),
    /** A file path (relative to the config file's folder) or ':memory:' (nothing survives a restart). */
    path: Type.String({ minLength: 1, maxLength: 4096, default: DEFAULT_VTN_SQLITE_PATH }),
  },
  { additionalProperties: false },
);

export const VtnConfigSchema = Type.Object(
  {
    version: Type.Enum(['3.0.1', '3.1.0']),
    /** Default /openadr3/{version}. */
    basePath: Type.Optional(Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)*/?$', maxLength: 512 })),
    /** The public URL of the base path (behind a proxy), for GET /auth/server. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
    listen: VtnListenSection,
    /** HTTPS served here (Definition §HTTPS/TLS); without it, put a TLS terminator in front. */
    tls: Type.Optional(Type.Object({ key: FilePath, cert: FilePath }, { additionalProperties: false })),
    auth: VtnAuthSection,
    webhooks: VtnWebhooksSection,
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
    store: Type.Union([VtnSqliteStore, PostgresStoreConfig], { default: { kind: 'sqlite' } }),
    /** Documents namespace of the VTN's objects; default openadr-vtn-{version}. */
    storeNamespace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,200}$' })),
    log: LogSection,
  },
  { additionalProperties: false },
);

export type VtnConfig = Static<typeof VtnConfigSchema>;

export interface LoadedVtnConfig {
  config: VtnConfig;
  file: string;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: false, useDefaults: false });
const validator = ajv.compile(VtnConfigSchema);

function issueAt(path: string, root: unknown, message: string): ConfigIssue {
  return { path, keyPath: keyPathOf(path, root), message };
}

function crossIssues(config: VtnConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const auth = config.auth;
  const issuers = [auth.tokenSecretEnv, auth.keys, auth.external].filter((value) => value !== undefined).length;
  if (issuers !== 1)
    issues.push(
      issueAt(
        '/auth',
        config,
        'must have exactly one of tokenSecretEnv (HS256 secret in an environment variable), keys (ES256 key file) or external (an external authorization server)',
      ),
    );
  const ids = new Map<string, number>();
  const venNames = new Map<string, number>();
  auth.clients.forEach((client, index) => {
    const path = `/auth/clients/${index}`;
    if (auth.external === undefined && (client.secretSha256 === undefined) === (client.secretEnv === undefined))
      issues.push(
        issueAt(
          path,
          config,
          'must have exactly one of secretSha256 (the SHA-256 hex digest of the secret) or secretEnv',
        ),
      );
    if (auth.external !== undefined && (client.secretSha256 !== undefined || client.secretEnv !== undefined))
      issues.push(issueAt(path, config, 'takes no secret with an external issuer (tokens come from it)'));
    if (client.role === 'bl' && client.venName !== undefined)
      issues.push(issueAt(`${path}/venName`, config, 'only applies to role ven'));
    const first = ids.get(client.clientId);
    if (first !== undefined)
      issues.push(
        issueAt(`${path}/clientId`, config, `duplicates auth.clients[${first}].clientId '${client.clientId}'`),
      );
    else ids.set(client.clientId, index);
    if (client.venName !== undefined) {
      const named = venNames.get(client.venName);
      if (named !== undefined)
        issues.push(
          issueAt(`${path}/venName`, config, `duplicates auth.clients[${named}].venName '${client.venName}'`),
        );
      else venNames.set(client.venName, index);
    }
  });
  return issues;
}

function resolvedPath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function resolvePaths(config: VtnConfig, baseDir: string): VtnConfig {
  const next: VtnConfig = { ...config, auth: { ...config.auth } };
  if (config.tls !== undefined)
    next.tls = { key: resolvedPath(config.tls.key, baseDir), cert: resolvedPath(config.tls.cert, baseDir) };
  if (config.auth.keys !== undefined)
    next.auth.keys = { ...config.auth.keys, es256PrivateKey: resolvedPath(config.auth.keys.es256PrivateKey, baseDir) };
  if (config.auth.external !== undefined)
    next.auth.external = {
      ...config.auth.external,
      keys: config.auth.external.keys.map((key) => ({ ...key, publicKey: resolvedPath(key.publicKey, baseDir) })),
    };
  if (config.webhooks.ca !== undefined)
    next.webhooks = { ...config.webhooks, ca: config.webhooks.ca.map((path) => resolvedPath(path, baseDir)) };
  if (config.store.kind === 'sqlite') {
    const { path } = config.store;
    if (path !== ':memory:' && !path.startsWith('file:'))
      next.store = { ...config.store, path: resolvedPath(path, baseDir) };
  }
  return next;
}

/** Parses, defaults and validates `gridseam openadr vtn` configuration text. */
export function parseVtnConfig(text: string, file: string): VtnConfig {
  if (Buffer.byteLength(text, 'utf8') > 1024 * 1024)
    throw new GridseamError('GW_ERR_CONFIG', `${file}: the configuration is larger than 1048576 bytes (1 MiB)`);
  const raw = parseYaml(text, file, 'a mapping of sections (version, listen, auth, store, ...)');
  // YAML reads `version: 3.0` style values as numbers; 3.0.1 is a string anyway, but say so clearly.
  if (typeof raw.version === 'number') raw.version = String(raw.version);
  const config = Value.Default(VtnConfigSchema, raw);
  if (!validator(config)) throw configError(file, issuesFromAjv(validator.errors ?? [], config));
  const typed = config as VtnConfig;
  const issues = crossIssues(typed);
  if (issues.length > 0) throw configError(file, issues);
  return resolvePaths(typed, dirname(resolve(file)));
}

export async function loadVtnConfig(path: string): Promise<LoadedVtnConfig> {
  return { config: parseVtnConfig(await readConfigText(path), path), file: path };
}

async function readPem(keyPath: string, path: string, configFile: string | undefined): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `${configFile === undefined ? '' : `${configFile}: `}${keyPath}: cannot read ${path} (${reason})`,
      { cause: error },
    );
  }
}

function secretFromEnv(
  keyPath: string,
  name: string,
  env: Readonly<Record<string, string | undefined>>,
  configFile: string | undefined,
): string {
  const value = env[name];
  if (value === undefined || value === '')
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `${configFile === undefined ? '' : `${configFile}: `}${keyPath}: the environment variable ${name} is not set or is empty`,
    );
  return value;
}

/** The VTN's auth options: environment secrets and key files read now, so a missing one stops the start. */
export async function vtnAuthOptions(
  config: VtnConfig,
  env: Readonly<Record<string, string | undefined>>,
  configFile?: string,
): Promise<VtnAuthOptions> {
  const auth = config.auth;
  const clients: VtnClient[] = auth.clients.map((client, index) => ({
    clientId: client.clientId,
    role: client.role,
    ...(client.venName === undefined ? {} : { venName: client.venName }),
    ...(client.scopes === undefined ? {} : { scopes: client.scopes }),
    ...(client.secretSha256 === undefined ? {} : { secretSha256: client.secretSha256 }),
    ...(client.secretEnv === undefined
      ? {}
      : { secret: secretFromEnv(`auth.clients[${index}].secretEnv`, client.secretEnv, env, configFile) }),
  }));
  const common = {
    clients,
    ...(auth.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: auth.clockToleranceSeconds }),
  };
  if (auth.external !== undefined) {
    const external = auth.external;
    const keys: VtnIssuerKey[] = [];
    for (const [index, key] of external.keys.entries())
      keys.push({
        alg: key.alg,
        publicKey: await readPem(`auth.external.keys[${index}].publicKey`, key.publicKey, configFile),
        ...(key.kid === undefined ? {} : { kid: key.kid }),
      });
    return {
      ...common,
      issuer: {
        kind: 'external',
        keys,
        ...(external.issuer === undefined ? {} : { issuer: external.issuer }),
        ...(external.audience === undefined ? {} : { audience: external.audience }),
        ...(external.tokenUrl === undefined ? {} : { tokenUrl: external.tokenUrl }),
        ...(external.roleClaim === undefined ? {} : { roleClaim: external.roleClaim }),
        ...(external.clientIdClaim === undefined ? {} : { clientIdClaim: external.clientIdClaim }),
      },
    };
  }
  const base = {
    kind: 'internal' as const,
    tokenTtlSeconds: auth.tokenTtlSeconds,
    ...(auth.issuer === undefined ? {} : { issuer: auth.issuer }),
  };
  if (auth.keys !== undefined) {
    const privateKey = await readPem('auth.keys.es256PrivateKey', auth.keys.es256PrivateKey, configFile);
    return {
      ...common,
      issuer: {
        ...base,
        key: { alg: 'ES256', privateKey, ...(auth.keys.kid === undefined ? {} : { kid: auth.keys.kid }) },
      },
    };
  }
  const secret = secretFromEnv('auth.tokenSecretEnv', auth.tokenSecretEnv ?? '', env, configFile);
  if (Buffer.byteLength(secret, 'utf8') < 32)
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `${configFile === undefined ? '' : `${configFile}: `}auth.tokenSecretEnv: the secret in ${auth.tokenSecretEnv} must be at least 32 bytes (RFC 7518 §3.2)`,
    );
  return { ...common, issuer: { ...base, key: { alg: 'HS256', secret } } };
}

/** Everything of VtnOptions the config decides, except the store and the log. */
export async function vtnOptionsFromConfig(
  config: VtnConfig,
  env: Readonly<Record<string, string | undefined>>,
  configFile?: string,
): Promise<Omit<VtnOptions, 'store' | 'log'>> {
  const webhooks = config.webhooks;
  const ca =
    webhooks.ca === undefined
      ? undefined
      : await Promise.all(webhooks.ca.map((path, index) => readPem(`webhooks.ca[${index}]`, path, configFile)));
  const { ca: _files, ...webhookOptions } = webhooks;
  return {
    version: config.version,
    ...(config.basePath === undefined ? {} : { basePath: config.basePath }),
    ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
    auth: await vtnAuthOptions(config, env, configFile),
    webhooks: { ...webhookOptions, ...(ca === undefined ? {} : { ca }) },
    bodyLimit: config.bodyLimitBytes,
    ...(config.tls === undefined
      ? {}
      : {
          tls: {
            key: await readPem('tls.key', config.tls.key, configFile),
            cert: await readPem('tls.cert', config.tls.cert, configFile),
          },
        }),
  };
}
