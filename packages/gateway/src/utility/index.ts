/**
 * `startUtilityServer`: the composition root of `gridseam utility-server`. Opens and migrates the
 * store, creates the IEEE 2030.5 utility server on it (state in the store's documents, namespace
 * 'utility-server'), registers the configured aggregators and applies the scenario (both
 * idempotent), then listens on the 2030.5 port and on the admin API port. Closes in reverse order.
 */
import { readFile } from 'node:fs/promises';
import {
  createUtilityServer,
  type UtilityServer,
  type UtilityServerOptions,
  type UtilityVariances,
} from '@gridseam/ieee2030-5';
import { GridseamError } from '@gridseam/model';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { prepareStoreLocation } from '../config/store-location.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { buildAdminApi } from './admin-api.ts';
import { resolveAdminTokens, type UtilityConfig } from './config.ts';
import { applyScenario, type Scenario, type ScenarioResult } from './scenario.ts';
import { DEFAULT_UTILITY_NAMESPACE, documentStateStore } from './state-store.ts';

export { buildAdminApi } from './admin-api.ts';
export * from './config.ts';
export * from './scenario.ts';
export { DEFAULT_UTILITY_NAMESPACE, documentStateStore } from './state-store.ts';

export interface StartUtilityServerOptions {
  scenario?: Scenario;
  /** Names the scenario in messages. */
  scenarioFile?: string;
  /** Names the config in messages. */
  configFile?: string;
  logger?: Logger;
  /** Where tokenEnv tokens are read from; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Documents namespace of the server's state; default 'utility-server'. */
  namespace?: string;
}

export interface RunningUtilityServer {
  /** The 2030.5 port (the one bound, when listen.port was 0). */
  sepPort: number;
  adminPort: number;
  server: UtilityServer;
  store: Store;
  /** What the scenario created and what it found (absent without a scenario). */
  scenario?: ScenarioResult;
  close(): Promise<void>;
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

/** The server's options from the config: TLS files read, variances passed as set. */
export async function utilityServerOptions(
  config: UtilityConfig,
  logger: Logger,
  configFile?: string,
): Promise<UtilityServerOptions> {
  const options: UtilityServerOptions = { profile: config.profile };
  if (config.csipausVersion !== undefined) options.csipausVersion = `v${config.csipausVersion}`;
  if (config.tls !== undefined) {
    const { ca } = config.tls;
    options.tls = {
      key: await readPem('tls.key', config.tls.key, configFile),
      cert: await readPem('tls.cert', config.tls.cert, configFile),
      ca: Array.isArray(ca)
        ? await Promise.all(ca.map((path, index) => readPem(`tls.ca[${index}]`, path, configFile)))
        : await readPem('tls.ca', ca, configFile),
      ...(config.tls.ciphers === undefined ? {} : { ciphers: config.tls.ciphers }),
    };
  }
  if (config.terminator !== undefined)
    options.terminator = {
      header: config.terminator.header,
      ...(config.terminator.trustedProxies === undefined ? {} : { trustedProxies: config.terminator.trustedProxies }),
    };
  const v = config.variances;
  const variances: UtilityVariances = { registration: v.registration.model };
  if (v.pollRates !== undefined) variances.pollRates = v.pollRates;
  if (v.postRate !== undefined) variances.postRate = v.postRate;
  if (v.defaultExportLimitW !== undefined) variances.defaultExportLimitW = v.defaultExportLimitW;
  if (v.registration.pin !== undefined) variances.registrationPin = v.registration.pin;
  if (v.sharedControls !== undefined) variances.sharedControls = v.sharedControls;
  if (v.allowConnectionPointUpdates !== undefined)
    variances.allowConnectionPointUpdates = v.allowConnectionPointUpdates;
  if (v.responseStatuses !== undefined) variances.responseStatuses = v.responseStatuses;
  options.variances = variances;
  const n = config.notifications;
  options.notifications = {
    ...(n.allowLoopback === undefined ? {} : { allowLoopback: n.allowLoopback }),
    ...(n.verifyServer === undefined ? {} : { verifyServer: n.verifyServer }),
    ...(n.timeoutMs === undefined ? {} : { timeoutMs: n.timeoutMs }),
    ...(n.attempts === undefined ? {} : { retry: { attempts: n.attempts } }),
  };
  const s = config.server;
  if (s.bodyLimitBytes !== undefined) options.bodyLimit = s.bodyLimitBytes;
  if (s.defaultListLimit !== undefined) options.defaultListLimit = s.defaultListLimit;
  if (s.maxListLimit !== undefined) options.maxListLimit = s.maxListLimit;
  if (s.keepAliveTimeoutMs !== undefined) options.keepAliveTimeoutMs = s.keepAliveTimeoutMs;
  if (s.readingRetention !== undefined) options.readingRetention = s.readingRetention;
  const log = logger.child({ component: 'ieee2030-5' });
  options.log = (level, message, details) => log[level](details ?? {}, message);
  return options;
}

/** A listen failure (port taken, no permission) as a configuration error naming the key. */
function listenError(keyPath: string, host: string, port: number, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const reasons: Record<string, string> = {
    EADDRINUSE: 'the address is already in use',
    EACCES: 'permission denied (ports below 1024 need privileges)',
    EADDRNOTAVAIL: 'the address is not available on this host',
  };
  const reason = typeof code === 'string' ? reasons[code] : undefined;
  if (reason === undefined) return error;
  return new GridseamError('GW_ERR_CONFIG', `${keyPath}: cannot listen on ${host}:${port}: ${reason}`, {
    cause: error,
  });
}

/** Registers the aggregator certificates named in variances.aggregators that are not registered yet. */
async function registerAggregators(server: UtilityServer, lfdis: readonly string[]): Promise<number> {
  let created = 0;
  for (const lfdi of lfdis) {
    if (server.admin.getEndDevice(lfdi.toLowerCase()) !== undefined) continue;
    await server.admin.registerEndDevice({ lfdi: lfdi.toLowerCase(), role: 'aggregator', registeredBy: 'admin' });
    created++;
  }
  return created;
}

/**
 * Starts the utility server and its admin API. Whatever fails half-way closes what was opened
 * before rethrowing, so a failed start leaves no socket or database handle behind.
 */
export async function startUtilityServer(
  config: UtilityConfig,
  options: StartUtilityServerOptions = {},
): Promise<RunningUtilityServer> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const tokens = resolveAdminTokens(config, options.env);
  const serverOptions = await utilityServerOptions(config, logger, options.configFile);
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn({ err: error }, 'utility server: close step failed');
      }
    }
  };
  try {
    await prepareStoreLocation(config.store);
    const store = await openStore(config.store, { logger });
    cleanups.push(() => store.close());
    await store.migrate();

    const server = await createUtilityServer(
      serverOptions,
      documentStateStore(store, options.namespace ?? DEFAULT_UTILITY_NAMESPACE),
    );
    cleanups.push(() => server.close());

    const aggregators = await registerAggregators(server, config.variances.aggregators);
    if (aggregators > 0) logger.info({ aggregators }, 'registered aggregator EndDevices from variances.aggregators');
    let scenario: ScenarioResult | undefined;
    if (options.scenario !== undefined) {
      scenario = await applyScenario(server.admin, options.scenario, {
        ...(options.scenarioFile === undefined ? {} : { file: options.scenarioFile }),
      });
      logger.info({ ...scenario, scenario: options.scenarioFile }, 'scenario applied');
    }

    const { host, port } = config.listen;
    let sepPort: number;
    try {
      ({ port: sepPort } = await server.listen({ host, port }));
    } catch (error) {
      throw listenError('listen.port', host, port, error);
    }

    const adminApi: FastifyInstance = await buildAdminApi({
      admin: server.admin,
      tokens,
      logger,
      store,
      bodyLimitBytes: config.admin.bodyLimitBytes,
    });
    cleanups.push(() => adminApi.close());
    try {
      await adminApi.listen({ host: config.admin.host, port: config.admin.port });
    } catch (error) {
      throw listenError('admin.port', config.admin.host, config.admin.port, error);
    }
    const address = adminApi.server.address();
    const adminPort = typeof address === 'object' && address !== null ? address.port : config.admin.port;

    let closing: Promise<void> | undefined;
    return {
      sepPort,
      adminPort,
      server,
      store,
      ...(scenario === undefined ? {} : { scenario }),
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
