import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { GridseamError, Id } from '@gridseam/model';
import Type, { type Static } from 'typebox';
import { type ConfigIssue, keyPathOf } from './issues.ts';

/**
 * The `ocpp` section: the gateway as an OCPP CSMS (central system). Charging stations connect to
 * ws(s)://host:port/path/<identity> with OCPP-J 1.6 or 2.0.1; each configured station becomes an
 * `ev-charger` device of its site, polled (its buffered MeterValues) and controlled (charging
 * profiles) through the edge runtime like any other device. Certificate, key and CA paths are
 * relative to the config file's folder.
 *
 * Secrets follow the API tokens' rule: a station's Basic-auth password never appears in the file,
 * only its SHA-256 digest (`passwordSha256`) or the environment variable holding it (`passwordEnv`).
 */

export const DEFAULT_OCPP_HOST = '127.0.0.1';
export const DEFAULT_OCPP_PORT = 9220;
export const DEFAULT_OCPP_PATH = '/ocpp';
export const DEFAULT_OCPP_HEARTBEAT_S = 300;
export const DEFAULT_OCPP_METER_INTERVAL_S = 30;
export const DEFAULT_OCPP_POLL_INTERVAL_MS = 5000;
/** 2.0.1 SmartChargingCtrlr defaults (SupplyVoltage 230 V, 3 phases); 32 A is a common 22 kW wallbox. */
export const DEFAULT_OCPP_MAX_CURRENT_A = 32;
export const DEFAULT_OCPP_PHASES = 3;
export const DEFAULT_OCPP_VOLTAGE = 230;

const FilePath = Type.String({ minLength: 1, maxLength: 4096 });
/**
 * A charging station identity: the last segment of its connection URL (OCPP-J 1.6 §3.1.1;
 * 2.0.1 Part 4 §3.1.1, identifierString of at most 48 characters).
 */
export const OCPP_IDENTITY_PATTERN = '^[A-Za-z0-9*_=:+|@.-]{1,48}$';
const Identity = Type.String({ pattern: OCPP_IDENTITY_PATTERN });
const Phases = Type.Union([Type.Literal(1), Type.Literal(3)]);
const MaxCurrent = Type.Number({ exclusiveMinimum: 0, maximum: 1000 });

export const OcppStationConfig = Type.Object(
  {
    /** The station's identity (the last URL path segment it connects with). */
    identity: Identity,
    siteId: Id,
    /** The registry's device id; default the identity (which must then be a valid id). */
    id: Type.Optional(Id),
    /** Display name for the registry. */
    name: Type.Optional(Type.String({ maxLength: 256 })),
    /** Security profiles 1 and 2: the SHA-256 hex digest of the station's Basic-auth password ... */
    passwordSha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    /** ... or the name of an environment variable holding the password (read at start). */
    passwordEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' })),
    /** Per-EVSE current limit, A; default ocpp.defaults.maxCurrentA. */
    maxCurrentA: Type.Optional(MaxCurrent),
    phases: Type.Optional(Phases),
    /** EVSEs (1.6: connectors) the station has; the station's own reports win once it has booted. */
    evses: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    /** The EVSE a limit setpoint is installed on: 0 (default) limits the whole station (StationMax). */
    controlEvseId: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
  },
  { additionalProperties: false },
);
export type OcppStationConfig = Static<typeof OcppStationConfig>;

export const OcppTlsConfig = Type.Object(
  {
    /** PEM server certificate (chain) and its private key (profiles 2 and 3). */
    certificate: FilePath,
    key: FilePath,
    /** PEM CA that station certificates must chain to (profile 3). */
    ca: Type.Optional(FilePath),
  },
  { additionalProperties: false },
);
export type OcppTlsConfig = Static<typeof OcppTlsConfig>;

export const OcppDefaults = Type.Object(
  {
    maxCurrentA: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: DEFAULT_OCPP_MAX_CURRENT_A }),
    phases: Type.Union([Type.Literal(1), Type.Literal(3)], { default: DEFAULT_OCPP_PHASES }),
    /** Phase-to-neutral voltage for A <-> W conversion. */
    voltage: Type.Number({ minimum: 50, maximum: 1000, default: DEFAULT_OCPP_VOLTAGE }),
  },
  { additionalProperties: false, default: {} },
);
export type OcppDefaults = Static<typeof OcppDefaults>;

export const OcppSection = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, default: DEFAULT_OCPP_HOST }),
    /** 0 picks a free port (tests). */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: DEFAULT_OCPP_PORT }),
    /** URL path prefix; a station connects to <path>/<identity>. */
    path: Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$', maxLength: 256, default: DEFAULT_OCPP_PATH }),
    /** 0 none, 1 HTTP Basic, 2 TLS + Basic, 3 mutual TLS (OCPP 1.6 Security Whitepaper §2; 2.0.1 Part 2 A00). */
    securityProfile: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Literal(3)], {
      default: 0,
    }),
    tls: Type.Optional(OcppTlsConfig),
    versions: Type.Array(Type.Enum(['1.6', '2.0.1']), {
      minItems: 1,
      maxItems: 2,
      uniqueItems: true,
      default: ['1.6', '2.0.1'],
    }),
    heartbeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: DEFAULT_OCPP_HEARTBEAT_S }),
    /** MeterValueSampleInterval (1.6) / SampledDataCtrlr.TxUpdatedInterval (2.0.1) asked of stations at boot. */
    meterIntervalSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: DEFAULT_OCPP_METER_INTERVAL_S }),
    /** How often the edge collects each station's buffered readings. */
    pollIntervalMs: Type.Integer({ minimum: 100, maximum: 86_400_000, default: DEFAULT_OCPP_POLL_INTERVAL_MS }),
    defaults: OcppDefaults,
    /**
     * Let stations missing from `stations` connect (profiles 0 and 3 only): they are answered
     * BootNotification Pending and logged, never registered. Default false: refused with 401.
     */
    acceptUnknown: Type.Boolean({ default: false }),
    stations: Type.Array(OcppStationConfig, { maxItems: 100000, default: [] }),
  },
  { additionalProperties: false },
);
export type OcppSection = Static<typeof OcppSection>;

/** The registry address of a charging station. */
export function ocppAddress(identity: string): string {
  return `ocpp://${identity}`;
}

/** The registry device id of a configured station. */
export function ocppDeviceId(station: Pick<OcppStationConfig, 'id' | 'identity'>): string {
  return station.id ?? station.identity;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function idsOf(items: unknown): Map<string, number> {
  const ids = new Map<string, number>();
  if (Array.isArray(items))
    items.forEach((item, index) => {
      const id = (item as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && !ids.has(id)) ids.set(id, index);
    });
  return ids;
}

/**
 * Rules across keys, checked after the schema: sites exist, identities and device ids are unique
 * (and clash with no fleet or SunSpec device), a default device id is a valid id, TLS files are
 * given for profiles 2 and 3 (with a CA for 3), each station has exactly one password source in
 * profiles 1 and 2 and none in 0 and 3, acceptUnknown only in profiles 0 and 3, and a station's
 * controlEvseId is one of its EVSEs.
 */
export function ocppIssues(root: unknown): ConfigIssue[] {
  const section = (root as { ocpp?: unknown }).ocpp;
  if (typeof section !== 'object' || section === null) return [];
  const s = section as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const at = (path: string, message: string) =>
    issues.push({ path: `/ocpp${path}`, keyPath: keyPathOf(`/ocpp${path}`, root), message });
  const fleet = (root as { fleet?: { sites?: unknown; devices?: unknown } }).fleet;
  const siteIds = idsOf(fleet?.sites);
  const fleetDeviceIds = idsOf(fleet?.devices);
  const sunspecDeviceIds = idsOf((root as { sunspec?: { devices?: unknown } }).sunspec?.devices);
  const profile = s.securityProfile;
  const withPassword = profile === 1 || profile === 2;

  const tls = s.tls as Record<string, unknown> | undefined;
  if (profile === 2 || profile === 3) {
    if (tls === undefined)
      at('', `needs tls (certificate and key) for securityProfile ${String(profile)} (TLS is part of the profile)`);
    else if (profile === 3 && tls.ca === undefined)
      at('/tls', 'needs ca for securityProfile 3 (station certificates must chain to it)');
  } else if (tls !== undefined && typeof profile === 'number') {
    at('/tls', `only applies to securityProfile 2 and 3 (securityProfile is ${profile})`);
  }
  if (s.acceptUnknown === true && withPassword)
    at(
      '/acceptUnknown',
      `cannot be true with securityProfile ${String(profile)}: an unknown station has no password to check`,
    );

  const stations = s.stations;
  if (!Array.isArray(stations)) return issues;
  const identities = new Map<string, number>();
  const deviceIds = new Map<string, number>();
  stations.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null) return;
    const station = entry as Record<string, unknown>;
    const path = `/stations/${index}`;
    if (typeof station.siteId === 'string' && !siteIds.has(station.siteId))
      at(`${path}/siteId`, `must name a site in fleet.sites (no site '${station.siteId}')`);
    if (typeof station.identity === 'string') {
      const first = identities.get(station.identity);
      if (first !== undefined) at(`${path}/identity`, `duplicates ocpp.stations[${first}].identity`);
      else identities.set(station.identity, index);
    }
    const id = station.id ?? station.identity;
    const idPath = station.id === undefined ? `${path}/identity` : `${path}/id`;
    if (typeof id === 'string') {
      if (station.id === undefined && !ID_PATTERN.test(id))
        at(idPath, `'${id}' is not a valid device id; give the station an id`);
      const first = deviceIds.get(id);
      if (first !== undefined) at(idPath, `duplicates the device id of ocpp.stations[${first}]`);
      else deviceIds.set(id, index);
      const fleetIndex = fleetDeviceIds.get(id);
      if (fleetIndex !== undefined) at(idPath, `duplicates fleet.devices[${fleetIndex}].id '${id}'`);
      const sunspecIndex = sunspecDeviceIds.get(id);
      if (sunspecIndex !== undefined) at(idPath, `duplicates sunspec.devices[${sunspecIndex}].id '${id}'`);
    }
    const sources = [station.passwordSha256, station.passwordEnv].filter((v) => v !== undefined).length;
    if (withPassword && sources !== 1)
      at(
        path,
        `needs exactly one of passwordSha256 (the SHA-256 hex digest of its Basic-auth password) or passwordEnv (an environment variable holding it) for securityProfile ${String(profile)}`,
      );
    if (!withPassword && sources > 0 && typeof profile === 'number')
      at(
        station.passwordSha256 !== undefined ? `${path}/passwordSha256` : `${path}/passwordEnv`,
        `only applies to securityProfile 1 and 2 (securityProfile is ${profile})`,
      );
    if (
      typeof station.controlEvseId === 'number' &&
      typeof station.evses === 'number' &&
      station.controlEvseId > station.evses
    )
      at(`${path}/controlEvseId`, `must be 0 (the whole station) or an EVSE 1..${station.evses}`);
  });
  return issues;
}

function resolvedPath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** TLS file paths resolved against the config file's folder. */
export function resolveOcppPaths(section: OcppSection | undefined, baseDir: string): OcppSection | undefined {
  const tls = section?.tls;
  if (section === undefined || tls === undefined) return section;
  return {
    ...section,
    tls: {
      certificate: resolvedPath(tls.certificate, baseDir),
      key: resolvedPath(tls.key, baseDir),
      ...(tls.ca !== undefined ? { ca: resolvedPath(tls.ca, baseDir) } : {}),
    },
  };
}

/**
 * The password digests of the configured stations, by identity, for security profiles 1 and 2.
 * A passwordEnv station reads its secret from the environment now, so a missing variable stops
 * the start rather than every connection; the secret is hashed at once and never kept.
 */
export function resolveStationPasswords(
  section: OcppSection,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Map<string, Buffer> {
  const digests = new Map<string, Buffer>();
  if (section.securityProfile !== 1 && section.securityProfile !== 2) return digests;
  section.stations.forEach((station, index) => {
    if (station.passwordSha256 !== undefined) {
      digests.set(station.identity, Buffer.from(station.passwordSha256, 'hex'));
      return;
    }
    const variable = station.passwordEnv ?? '';
    const secret = env[variable];
    if (secret === undefined || secret === '')
      throw new GridseamError(
        'GW_ERR_CONFIG',
        `ocpp.stations[${index}].passwordEnv: the environment variable ${variable} (station '${station.identity}') is not set or is empty`,
      );
    digests.set(station.identity, createHash('sha256').update(secret, 'utf8').digest());
  });
  return digests;
}
