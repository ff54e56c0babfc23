/**
 * The OCPP CSMS wired to the gateway: the `ocpp` section's stations become `ev-charger` devices
 * driven by the edge runtime through `OcppChargerAdapter`s (polled readings, commands, the control
 * engine), the CSMS's authority is the configuration (unknown identities and wrong passwords are
 * refused before the WebSocket opens; configured stations are Accepted at boot), charging sessions
 * are kept in the store, and a station's own BootNotification facts (vendor, model, serial, EVSEs)
 * update its registry device.
 *
 * Two steps, so the devices are registered before any station can connect: `prepareOcpp` builds
 * the adapters and the edge source (no I/O), then `OcppSeam.start()` listens.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Device } from '@gridseam/model';
import { GridseamError } from '@gridseam/model';
import {
  type ChargingSession,
  CSMS_DEFAULTS,
  type Csms,
  type CsmsTlsOptions,
  createCsms,
  OcppChargers,
  type OcppVersion,
  type StationAuthority,
  type StationInfo,
} from '@gridseam/ocpp';
import type { Logger } from 'pino';
import { type OcppSection, ocppAddress, ocppDeviceId, resolveStationPasswords } from '../config/ocpp.ts';
import type { EdgeSource } from '../edge/index.ts';
import type { FleetRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';
import { OcppSessionStore } from './ocpp-sessions.ts';

/** The registry's adapter kind for OCPP charging stations. */
export const OCPP_ADAPTER_KIND = 'ocpp';
/** Who the audit log names for device updates from a station's BootNotification. */
export const OCPP_ACTOR = 'ocpp';

export interface OcppSeamOptions {
  config: OcppSection;
  store: Store;
  registry: FleetRegistry;
  logger: Logger;
  /** Where passwordEnv secrets are read from; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
}

const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

/** Configured stations: Basic-auth passwords by SHA-256 digest in constant time (profiles 1, 2), certificate CN (3). */
export function configAuthority(
  config: OcppSection,
  digests: ReadonlyMap<string, Buffer>,
  logger: Logger,
): StationAuthority {
  const known = new Set(config.stations.map((s) => s.identity));
  const profile = config.securityProfile;
  return {
    async authenticate(identity, password, certificateCn) {
      if (!known.has(identity)) {
        // acceptUnknown is refused by the config for profiles 1 and 2 (no password to check).
        const allowed = config.acceptUnknown && (profile === 0 || (profile === 3 && certificateCn === identity));
        logger.info(
          { identity, allowed },
          allowed ? 'unknown charging station admitted' : 'unknown charging station refused',
        );
        return allowed;
      }
      if (profile === 0) return true;
      if (profile === 3) return certificateCn === identity;
      const digest = digests.get(identity);
      // Compare digests, not the secrets: equal lengths, and the password is never kept.
      const ok = digest !== undefined && password !== undefined && timingSafeEqual(sha256(password), digest);
      if (!ok) logger.warn({ identity }, 'charging station refused: wrong or missing password');
      return ok;
    },
    async boot(station) {
      if (known.has(station.identity)) return 'Accepted';
      logger.warn(
        { identity: station.identity, vendor: station.vendor, model: station.model },
        'unknown charging station booted: answered Pending; add it to ocpp.stations to manage it',
      );
      return 'Pending';
    },
  };
}

export interface PreparedOcpp {
  chargers: OcppChargers;
  /** One edge source listing every configured station. */
  source: EdgeSource;
  /** Listens and returns the running seam. */
  start(): Promise<OcppSeam>;
}

export interface OcppSeam {
  csms: Csms;
  /** Where stations connect: ws(s)://host:port/path (the identity is appended). */
  endpoint: string;
  chargers: OcppChargers;
  sessions: OcppSessionStore;
  close(): Promise<void>;
}

async function readTls(config: OcppSection): Promise<CsmsTlsOptions | undefined> {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const read = async (key: string, path: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new GridseamError('GW_ERR_CONFIG', `ocpp.tls.${key}: cannot read ${path} (${String(error)})`, {
        cause: error,
      });
    }
  };
  return {
    cert: await read('certificate', tls.certificate),
    key: await read('key', tls.key),
    ...(tls.ca !== undefined ? { ca: await read('ca', tls.ca) } : {}),
  };
}

/** JSON with sorted keys, to compare descriptions without the key order. */
function sameJson(a: unknown, b: unknown): boolean {
  const sorted = (value: unknown) =>
    JSON.stringify(value, (_key, inner: unknown) =>
      typeof inner === 'object' && inner !== null && !Array.isArray(inner)
        ? Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
        : inner,
    );
  return sorted(a) === sorted(b);
}

/**
 * Builds the adapters and the edge source of the `ocpp` section. Passwords from the environment
 * are read now, so a missing variable stops the start before anything listens.
 */
export function prepareOcpp(options: OcppSeamOptions): PreparedOcpp {
  const { config, store, registry, logger } = options;
  const digests = resolveStationPasswords(config, options.env ?? process.env);
  const sessions = new OcppSessionStore(store, { logger });
  const deviceOf = new Map(config.stations.map((s) => [s.identity, ocppDeviceId(s)]));

  /** A booted station's own facts replace the configured ones in its registry device. */
  const refreshDevice = async (station: StationInfo): Promise<void> => {
    const adapter = chargers.get(station.identity);
    if (adapter === undefined) return;
    const existing = await store.devices.get(adapter.deviceId);
    // Not registered yet: the edge runtime describes it (with these facts) when it brings it up.
    if (existing === undefined) return;
    const described = await adapter.describe();
    const { createdAt: _c, updatedAt: _u, manufacturer: _m, model: _md, serial: _s, ...kept } = existing;
    const wanted: Device = {
      ...kept,
      capabilities: described.capabilities,
      ...(described.manufacturer !== undefined ? { manufacturer: described.manufacturer } : {}),
      ...(described.model !== undefined ? { model: described.model } : {}),
      ...(described.serial !== undefined ? { serial: described.serial } : {}),
    };
    const { createdAt: _c2, updatedAt: _u2, ...current } = existing;
    if (sameJson(wanted, current)) return;
    await registry.updateDevice(wanted, OCPP_ACTOR);
    logger.info(
      { deviceId: adapter.deviceId, identity: station.identity },
      'charging station device updated from its boot',
    );
  };

  const chargers = new OcppChargers({
    connected: (identity: string, version: OcppVersion) =>
      logger.info({ identity, version }, 'charging station connected'),
    disconnected: (identity: string) => logger.info({ identity }, 'charging station disconnected'),
    booted: (station: StationInfo) => {
      refreshDevice(station).catch((error: unknown) =>
        logger.warn({ err: error, identity: station.identity }, 'charging station device could not be updated'),
      );
    },
    session: (session: ChargingSession) => {
      const deviceId = deviceOf.get(session.identity);
      if (deviceId !== undefined) sessions.record(deviceId, session);
    },
  });
  for (const station of config.stations)
    chargers.add({
      deviceId: ocppDeviceId(station),
      identity: station.identity,
      defaults: config.defaults,
      controlEvseId: station.controlEvseId,
      ...(station.maxCurrentA !== undefined ? { maxCurrentA: station.maxCurrentA } : {}),
      ...(station.phases !== undefined ? { phases: station.phases } : {}),
      ...(station.evses !== undefined ? { evses: station.evses } : {}),
      ...(options.now ? { now: options.now } : {}),
    });

  const source: EdgeSource = {
    name: `ocpp ${config.path}`,
    open: async () =>
      config.stations.map((station) => {
        const adapter = chargers.get(station.identity);
        if (adapter === undefined) throw new GridseamError('GW_ERR_INTERNAL', `no adapter for ${station.identity}`);
        return {
          spec: {
            id: adapter.deviceId,
            siteId: station.siteId,
            pollIntervalMs: config.pollIntervalMs,
            adapter: { kind: OCPP_ADAPTER_KIND, address: ocppAddress(station.identity) },
            ...(station.name !== undefined ? { name: station.name } : {}),
          },
          adapter,
        };
      }),
  };

  const start = async (): Promise<OcppSeam> => {
    const tls = await readTls(config);
    const csms = await createCsms({
      host: config.host,
      port: config.port,
      path: config.path,
      securityProfile: config.securityProfile,
      ...(tls !== undefined ? { tls } : {}),
      versions: [...config.versions],
      authority: configAuthority(config, digests, logger),
      events: chargers,
      heartbeatIntervalS: config.heartbeatIntervalSeconds,
      maxStations: Math.max(CSMS_DEFAULTS.maxStations, config.stations.length),
      meterIntervalS: config.meterIntervalSeconds,
      log: {
        warn: (message, fields) => logger.warn(fields ?? {}, message),
        info: (message, fields) => logger.info(fields ?? {}, message),
      },
      ...(options.now ? { now: options.now } : {}),
    });
    chargers.attach(csms);
    const endpoint = `${csms.url}${config.path}`;
    logger.info(
      { endpoint, securityProfile: config.securityProfile, stations: config.stations.length },
      `OCPP CSMS listening on ${endpoint}`,
    );
    let closed: Promise<void> | undefined;
    return {
      csms,
      endpoint,
      chargers,
      sessions,
      close: () => {
        closed ??= csms.close().finally(() => sessions.close());
        return closed;
      },
    };
  };

  return { chargers, source, start };
}
