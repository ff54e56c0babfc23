/**
 * The configuration file of `gridseam utility-server` (YAML; documented in docs/utility-server.md,
 * example examples/utility-server.yaml). Loaded like the gateway's own config (config/load.ts): at
 * most 1 MiB, YAML 1.2 core schema, no duplicate keys, few aliases, unknown keys refused, and every
 * problem reported as GW_ERR_CONFIG naming the file, the key path and what was expected. Relative
 * paths (TLS files, the SQLite file) resolve against the config file's folder.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { POLL_RATE_FAMILIES } from '@gridseam/ieee2030-5';
import { GridseamError } from '@gridseam/model';
import { Ajv } from 'ajv';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { sha256Hex } from '../api/auth.ts';
import type { ApiToken } from '../api/types.ts';
import { type ConfigIssue, issuesFromAjv, keyPathOf } from '../config/issues.ts';
import { configError, parseYaml, readConfigText } from '../config/load.ts';
import { LogSection, PostgresStoreConfig, TokenConfig } from '../config/schema.ts';

export const DEFAULT_UTILITY_HOST = '127.0.0.1';
export const DEFAULT_UTILITY_PORT = 8443;
export const DEFAULT_ADMIN_PORT = 8444;
export const DEFAULT_UTILITY_SQLITE_PATH = './data/utility.db';
export const DEFAULT_CLIENT_CERT_HEADER = 'x-forwarded-client-cert';

/** 40 hex characters (either case; stored lower-case). */
export const LFDI_PATTERN = '^[0-9a-fA-F]{40}$';

const Host = Type.String({ minLength: 1, maxLength: 255 });
const FilePath = Type.String({ minLength: 1, maxLength: 4096 });
/** Seconds for pollRate and postRate: 2030.5 UInt32, kept to one day at most. */
const RateSeconds = Type.Integer({ minimum: 1, maximum: 86400 });

export const ListenSection = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, default: DEFAULT_UTILITY_HOST }),
    /** 0 picks a free port (tests). */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: DEFAULT_UTILITY_PORT }),
  },
  { additionalProperties: false, default: {} },
);

/** Mutual TLS served by the server itself: PEM files, relative to the config file. */
export const TlsSection = Type.Object(
  {
    key: FilePath,
    cert: FilePath,
    /** The CA (or CAs) client certificates must chain to. */
    ca: Type.Union([FilePath, Type.Array(FilePath, { minItems: 1, maxItems: 16 })]),
    /** OpenSSL cipher list; default ECDHE-ECDSA-AES128-CCM8 (the 2030.5 suite). */
    ciphers: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false },
);

/** Plain HTTP behind a TLS terminator that passes the client certificate (or its fingerprint or LFDI) in a header. */
export const TerminatorSection = Type.Object(
  {
    header: Type.String({ pattern: '^[A-Za-z0-9-]{1,128}$', default: DEFAULT_CLIENT_CERT_HEADER }),
    /** Remote addresses allowed to set the header; default loopback only. */
    trustedProxies: Type.Optional(Type.Array(Host, { minItems: 1, maxItems: 64 })),
  },
  { additionalProperties: false },
);

export const PollRatesSection = Type.Object(
  Object.fromEntries(POLL_RATE_FAMILIES.map((family) => [family, Type.Optional(RateSeconds)])),
  { additionalProperties: false },
);

export const RegistrationSection = Type.Object(
  {
    /** out-of-band: EndDevices are registered by the admin API or the scenario only (POST /edev is 403). */
    model: Type.Enum(['out-of-band', 'in-band', 'both'], { default: 'out-of-band' }),
    /** The PIN in-band registered EndDevices get (Registration.pIN); default 111115. */
    pin: Type.Optional(Type.Integer({ minimum: 0, maximum: 999999 })),
  },
  { additionalProperties: false, default: {} },
);

export const VariancesSection = Type.Object(
  {
    pollRates: Type.Optional(PollRatesSection),
    postRate: Type.Optional(RateSeconds),
    /** Export limit (W) of the DefaultDERControl served where none is configured (CSIP-AUS; SAPN 1500). */
    defaultExportLimitW: Type.Optional(Type.Number({ minimum: 0, maximum: 1e9 })),
    registration: RegistrationSection,
    /** One DERControl (one mRID) shared by every EndDevice it addresses; false: one per EndDevice. */
    sharedControls: Type.Optional(Type.Boolean()),
    /** False: a PUT changing an existing ConnectionPoint answers 409 (Ausgrid). */
    allowConnectionPointUpdates: Type.Optional(Type.Boolean()),
    /** Aggregator certificates (LFDIs), registered as aggregator EndDevices at start. */
    aggregators: Type.Array(Type.String({ pattern: LFDI_PATTERN }), {
      maxItems: 10000,
      uniqueItems: true,
      default: [],
    }),
    /** ResponseType values clients may POST; default every 2030.5 ResponseType. */
    responseStatuses: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: 255 }), { minItems: 1, maxItems: 256, uniqueItems: true }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const UtilitySqliteStore = Type.Object(
  {
    kind: Type.Literal('sqlite'),
    /** A file path (relative to the config file's folder) or ':memory:' (nothing survives a restart). */
    path: Type.String({ minLength: 1, maxLength: 4096, default: DEFAULT_UTILITY_SQLITE_PATH }),
  },
  { additionalProperties: false },
);

export const UtilityStoreSection = Type.Union([UtilitySqliteStore, PostgresStoreConfig], {
  default: { kind: 'sqlite' },
});

export const AdminSection = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, default: DEFAULT_UTILITY_HOST }),
    /** 0 picks a free port (tests). */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: DEFAULT_ADMIN_PORT }),
    /** Bearer tokens, as in the gateway's api.tokens: viewer reads, operator writes. */
    tokens: Type.Array(TokenConfig, { maxItems: 1000, default: [] }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
  },
  { additionalProperties: false, default: {} },
);

/** Tuning of the 2030.5 side; every key is optional (the server's defaults apply). */
export const ServerSection = Type.Object(
  {
    bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024 })),
    /** Page size when a list request has no `l`. */
    defaultListLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    maxListLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    keepAliveTimeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86400 * 1000 })),
    /** MirrorMeterReading readings kept (oldest dropped first). */
    readingRetention: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  },
  { additionalProperties: false, default: {} },
);

export const NotificationsSection = Type.Object(
  {
    /** Allow notificationURIs on loopback/private addresses (labs and tests only). */
    allowLoopback: Type.Optional(Type.Boolean()),
    /** Verify subscribers' server certificates against tls.ca; default true. */
    verifyServer: Type.Optional(Type.Boolean()),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120000 })),
    attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false, default: {} },
);

export const UtilityConfigSchema = Type.Object(
  {
    profile: Type.Enum(['csip', 'csip-aus']),
    /** CSIP-AUS namespace version (profile csip-aus only): 1.2 (https://csipaus.org/ns) or 1.3. */
    csipausVersion: Type.Optional(Type.Enum(['1.2', '1.3'])),
    listen: ListenSection,
    tls: Type.Optional(TlsSection),
    terminator: Type.Optional(TerminatorSection),
    variances: VariancesSection,
    store: UtilityStoreSection,
    admin: AdminSection,
    server: ServerSection,
    notifications: NotificationsSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type UtilityConfig = Static<typeof UtilityConfigSchema>;

export interface LoadedUtilityConfig {
  config: UtilityConfig;
  /** The file as it was named. */
  file: string;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: false, useDefaults: false });
const validator = ajv.compile(UtilityConfigSchema);

function issueAt(path: string, root: unknown, message: string): ConfigIssue {
  return { path, keyPath: keyPathOf(path, root), message };
}

/** Rules across keys that the schema cannot say. */
function crossIssues(config: UtilityConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if ((config.tls === undefined) === (config.terminator === undefined))
    issues.push(
      issueAt(
        '',
        config,
        'must have exactly one of tls (mutual TLS served here: key, cert, ca) or terminator (plain HTTP behind a TLS terminator that passes the client certificate in a header)',
      ),
    );
  if (config.csipausVersion !== undefined && config.profile !== 'csip-aus')
    issues.push(issueAt('/csipausVersion', config, `only applies to profile csip-aus (profile is ${config.profile})`));
  const names = new Map<string, number>();
  config.admin.tokens.forEach((token, index) => {
    const path = `/admin/tokens/${index}`;
    if ((token.tokenSha256 === undefined) === (token.tokenEnv === undefined))
      issues.push(
        issueAt(
          path,
          config,
          'must have exactly one of tokenSha256 (the SHA-256 hex digest of the token) or tokenEnv (an environment variable holding it)',
        ),
      );
    const first = names.get(token.name);
    if (first !== undefined)
      issues.push(issueAt(`${path}/name`, config, `duplicates admin.tokens[${first}].name '${token.name}'`));
    else names.set(token.name, index);
  });
  if (config.listen.port !== 0 && config.listen.port === config.admin.port && config.listen.host === config.admin.host)
    issues.push(issueAt('/admin/port', config, `must differ from listen.port (both are ${config.listen.port})`));
  const { maxListLimit, defaultListLimit } = config.server;
  if (maxListLimit !== undefined && defaultListLimit !== undefined && defaultListLimit > maxListLimit)
    issues.push(issueAt('/server/defaultListLimit', config, `must not exceed server.maxListLimit (${maxListLimit})`));
  return issues;
}

function resolvedPath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** TLS files and the SQLite file resolve against the config file's folder. */
function resolvePaths(config: UtilityConfig, baseDir: string): UtilityConfig {
  const next: UtilityConfig = { ...config };
  if (config.tls !== undefined) {
    const { ca } = config.tls;
    next.tls = {
      ...config.tls,
      key: resolvedPath(config.tls.key, baseDir),
      cert: resolvedPath(config.tls.cert, baseDir),
      ca: Array.isArray(ca) ? ca.map((p) => resolvedPath(p, baseDir)) : resolvedPath(ca, baseDir),
    };
  }
  if (config.store.kind === 'sqlite') {
    const { path } = config.store;
    if (path !== ':memory:' && !path.startsWith('file:'))
      next.store = { ...config.store, path: resolvedPath(path, baseDir) };
  }
  return next;
}

/** Parses, defaults and validates utility-server configuration text; `file` names it in messages and anchors relative paths. */
export function parseUtilityConfig(text: string, file: string): UtilityConfig {
  if (Buffer.byteLength(text, 'utf8') > 1024 * 1024)
    throw new GridseamError('GW_ERR_CONFIG', `${file}: the configuration is larger than 1048576 bytes (1 MiB)`);
  const raw = parseYaml(text, file, 'a mapping of sections (profile, listen, tls, variances, store, admin, ...)');
  // YAML reads `csipausVersion: 1.3` as a number; accept it as the version it spells.
  if (typeof raw.csipausVersion === 'number') raw.csipausVersion = String(raw.csipausVersion);
  const config = Value.Default(UtilityConfigSchema, raw);
  if (!validator(config)) throw configError(file, issuesFromAjv(validator.errors ?? [], config));
  const typed = config as UtilityConfig;
  const issues = crossIssues(typed);
  if (issues.length > 0) throw configError(file, issues);
  return resolvePaths(typed, dirname(resolve(file)));
}

/** Reads and validates a utility-server configuration file. Throws GW_ERR_CONFIG naming the file and key. */
export async function loadUtilityConfig(path: string): Promise<LoadedUtilityConfig> {
  return { config: parseUtilityConfig(await readConfigText(path), path), file: path };
}

/** Admin tokens in the API's form; tokenEnv secrets are read now, so a missing variable stops the start. */
export function resolveAdminTokens(
  config: UtilityConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ApiToken[] {
  return config.admin.tokens.map((token, index) => {
    if (token.tokenSha256 !== undefined)
      return { name: token.name, role: token.role, tokenSha256: token.tokenSha256.toLowerCase() };
    const variable = token.tokenEnv ?? '';
    const secret = env[variable];
    if (secret === undefined || secret === '')
      throw new GridseamError(
        'GW_ERR_CONFIG',
        `admin.tokens[${index}].tokenEnv: the environment variable ${variable} (token '${token.name}') is not set or is empty`,
      );
    return { name: token.name, role: token.role, tokenSha256: sha256Hex(secret) };
  });
}
