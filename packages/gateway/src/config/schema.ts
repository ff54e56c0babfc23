import { Device, Group, Id, Site } from '@gridseam/model';
import Type, { type Static, type TSchema } from 'typebox';
import { ControlSection } from './control.ts';
import { DispatchSection } from './dispatch.ts';
import { OcppSection } from './ocpp.ts';
import { SettlementSection } from './settlement.ts';
import { SunSpecSection } from './sunspec.ts';
import { UtilitySection } from './utility.ts';

/**
 * The gateway configuration file (YAML), as a TypeBox schema. Fields with a `default` are filled
 * in before validation, so the validated type has them all. Every object refuses unknown keys:
 * a misspelt key is an error, never silently ignored.
 */

export const DEFAULT_SQLITE_PATH = './data/gridseam.sqlite';
export const DEFAULT_API_HOST = '127.0.0.1';
export const DEFAULT_API_PORT = 8080;
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SqliteStoreConfig = Type.Object(
  {
    kind: Type.Literal('sqlite'),
    /** A file path (relative paths resolve against the config file's folder) or ':memory:'. */
    path: Type.String({ minLength: 1, maxLength: 4096, default: DEFAULT_SQLITE_PATH }),
  },
  { additionalProperties: false },
);

export const PostgresStoreConfig = Type.Object(
  {
    kind: Type.Literal('postgres'),
    url: Type.String({ pattern: '^postgres(ql)?://', maxLength: 4096 }),
    /** Schema to use, created if missing; default 'public'. */
    schema: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' })),
    poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const StoreSection = Type.Union([SqliteStoreConfig, PostgresStoreConfig], {
  default: { kind: 'sqlite' },
});

export const MemoryBusConfig = Type.Object({ kind: Type.Literal('memory') }, { additionalProperties: false });

export const NatsBusConfig = Type.Object(
  {
    kind: Type.Literal('nats'),
    servers: Type.Union([
      Type.String({ minLength: 1 }),
      Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 32 }),
    ]),
    /** Stream and subject prefix; default 'gridseam'. */
    prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  },
  { additionalProperties: false },
);

export const BusSection = Type.Union([MemoryBusConfig, NatsBusConfig], { default: { kind: 'memory' } });

export const ROLE_NAMES = ['viewer', 'operator', 'admin'] as const;

/**
 * An API token. The secret itself never appears in the file: either its SHA-256 digest, or the
 * name of an environment variable that holds it (exactly one of the two; checked after the schema).
 */
export const TokenConfig = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
    role: Type.Enum(ROLE_NAMES),
    tokenSha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    tokenEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' })),
  },
  { additionalProperties: false },
);
export type TokenConfig = Static<typeof TokenConfig>;

export const ApiSection = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, default: DEFAULT_API_HOST }),
    /** 0 picks a free port (tests). */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: DEFAULT_API_PORT }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: DEFAULT_BODY_LIMIT_BYTES }),
    tokens: Type.Array(TokenConfig, { maxItems: 1000, default: [] }),
    /** Serve /metrics without a token, for a Prometheus scraper on a trusted network. */
    publicMetrics: Type.Boolean({ default: false }),
  },
  { additionalProperties: false, default: {} },
);

export const TelemetrySection = Type.Object(
  {
    /** Readings older than this are pruned. */
    retentionDays: Type.Integer({ minimum: 1, maximum: 36500, default: 90 }),
    /** Largest number of readings the telemetry writer commits in one transaction. */
    batchSize: Type.Integer({ minimum: 1, maximum: 100000, default: 5000 }),
    /** Longest a reading waits in the writer's buffer before it is committed. */
    flushIntervalMs: Type.Integer({ minimum: 10, maximum: 60000, default: 1000 }),
  },
  { additionalProperties: false, default: {} },
);

export const LogSection = Type.Object(
  {
    level: Type.Enum(LOG_LEVELS, { default: 'info' }),
    /** Human-readable lines instead of JSON lines (for a terminal; keep JSON for log collectors). */
    pretty: Type.Boolean({ default: false }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * Builds the configuration schema around the three fleet item schemas. The real ones give the
 * static type and the published schema; the loader validates the fleet items itself with the
 * model's own checks (same messages as the API, plus the cross-field rules) and so builds a
 * variant with `unknown` items for the outer validation.
 */
export function buildConfigSchema<S extends TSchema, D extends TSchema, G extends TSchema>(
  site: S,
  device: D,
  group: G,
) {
  return Type.Object(
    {
      store: StoreSection,
      bus: BusSection,
      api: ApiSection,
      telemetry: TelemetrySection,
      log: LogSection,
      /**
       * Objects created or updated at every start, so the file is the source of truth for them.
       * Objects created through the API are left alone; objects removed from the file are not deleted.
       */
      fleet: Type.Object(
        {
          sites: Type.Array(site, { maxItems: 10000, default: [] }),
          devices: Type.Array(device, { maxItems: 100000, default: [] }),
          groups: Type.Array(group, { maxItems: 10000, default: [] }),
        },
        { additionalProperties: false, default: {} },
      ),
      /** SunSpec Modbus TCP devices the edge polls and controls (see sunspec.ts); absent: none. */
      sunspec: Type.Optional(SunSpecSection),
      /** Utility protocols the gateway speaks as a client (see utility.ts); absent: none. */
      utility: Type.Optional(UtilitySection),
      /** The OCPP CSMS and the charging stations it manages (see ocpp.ts); absent: none. */
      ocpp: Type.Optional(OcppSection),
      /** The control engine's period, setpoint margin and telemetry freshness (see control.ts); absent: defaults. */
      control: Type.Optional(ControlSection),
      /** Rolling-horizon battery dispatch (see dispatch.ts); absent: none. */
      dispatch: Type.Optional(DispatchSection),
      /** How local operating days are settled (see settlement.ts); absent: UTC days, 15-minute intervals. */
      settlement: Type.Optional(SettlementSection),
    },
    { additionalProperties: false },
  );
}

/** A group as seeded from the config: the model's Group plus the devices it holds. */
export const FleetGroup = Type.Object(
  {
    ...Type.Omit(Group, ['createdAt', 'updatedAt']).properties,
    /**
     * Device ids that are members. When given, it is the whole list: a seeded device missing from
     * it has its open membership ended at start. When absent, memberships are left alone.
     */
    members: Type.Optional(Type.Array(Id, { uniqueItems: true, maxItems: 100000 })),
  },
  { additionalProperties: false },
);
export type FleetGroup = Static<typeof FleetGroup>;

export const GatewayConfig = buildConfigSchema(Site, Device, FleetGroup);
export type GatewayConfig = Static<typeof GatewayConfig>;
export type StoreSection = Static<typeof StoreSection>;
export type BusSection = Static<typeof BusSection>;
export type ApiSection = Static<typeof ApiSection>;
export type TelemetrySection = Static<typeof TelemetrySection>;
export type LogSection = Static<typeof LogSection>;
