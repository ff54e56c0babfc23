/**
 * `startOpenAdrVtn`: the composition root of `gridseam openadr vtn`. Opens and migrates the store, creates the
 * OpenADR 3 VTN on it (objects in the store's documents, namespace openadr-vtn-{version}) and listens. Closes in
 * reverse order; a start that fails half-way closes what it opened.
 */

import { GridseamError } from '@gridseam/model';
import { createVtn, type Vtn, type VtnLogLevel } from '@gridseam/openadr';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { prepareStoreLocation } from '../config/store-location.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { type VtnConfig, vtnOptionsFromConfig } from './vtn-config.ts';
import { defaultVtnNamespace, documentVtnStore } from './vtn-store.ts';

export * from './vtn-config.ts';
export { defaultVtnNamespace, documentVtnStore } from './vtn-store.ts';

export interface StartOpenAdrVtnOptions {
  logger?: Logger;
  /** Where secretEnv and tokenSecretEnv are read from; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Names the config in messages. */
  configFile?: string;
}

export interface RunningOpenAdrVtn {
  vtn: Vtn;
  store: Store;
  /** The port bound (the free one picked when listen.port was 0). */
  port: number;
  /** The API's base URL. */
  url: string;
  close(): Promise<void>;
}

function listenError(host: string, port: number, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const reasons: Record<string, string> = {
    EADDRINUSE: 'the address is already in use',
    EACCES: 'permission denied (ports below 1024 need privileges)',
    EADDRNOTAVAIL: 'the address is not available on this host',
  };
  const reason = typeof code === 'string' ? reasons[code] : undefined;
  if (reason === undefined) return error;
  return new GridseamError('GW_ERR_CONFIG', `listen.port: cannot listen on ${host}:${port}: ${reason}`, {
    cause: error,
  });
}

export async function startOpenAdrVtn(
  config: VtnConfig,
  options: StartOpenAdrVtnOptions = {},
): Promise<RunningOpenAdrVtn> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const vtnOptions = await vtnOptionsFromConfig(config, options.env ?? process.env, options.configFile);
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn({ err: error }, 'openadr vtn: close step failed');
      }
    }
  };
  try {
    await prepareStoreLocation(config.store);
    const store = await openStore(config.store, { logger });
    cleanups.push(() => store.close());
    await store.migrate();
    const log = logger.child({ component: 'openadr-vtn' });
    const vtn = await createVtn({
      ...vtnOptions,
      store: documentVtnStore(store, config.storeNamespace ?? defaultVtnNamespace(config.version)),
      log: (level: VtnLogLevel, message, details) => log[level](details ?? {}, message),
    });
    cleanups.push(() => vtn.close());
    const { host, port } = config.listen;
    let bound: { port: number; url: string };
    try {
      bound = await vtn.listen({ host, port });
    } catch (error) {
      throw listenError(host, port, error);
    }
    let closing: Promise<void> | undefined;
    return {
      vtn,
      store,
      port: bound.port,
      url: bound.url,
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
