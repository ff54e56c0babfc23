import { checkReadings } from '@gridseam/model';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApi } from './api/server.ts';
import { openBus } from './bus/index.ts';
import type { Bus } from './bus/types.ts';
import { resolveApiTokens } from './config/index.ts';
import type { GatewayConfig } from './config/schema.ts';
import { seedFleet } from './config/seed.ts';
import { prepareStoreLocation } from './config/store-location.ts';
import { FleetRegistry } from './registry/index.ts';
import { openStore } from './store/index.ts';
import type { Store } from './store/types.ts';
import { startRetention, TelemetryWriter } from './telemetry/index.ts';

/** The bus consumer group of the telemetry writer: one durable position, shared by every gateway instance. */
export const TELEMETRY_STORE_GROUP = 'telemetry-store';
/**
 * Telemetry handlers in flight at once (the bus's cap). Each handler's promise resolves only when
 * its readings are committed, so a batch can fill only from this many messages at a time; a low
 * value would hold every batch until flushIntervalMs instead of batchSize.
 */
export const TELEMETRY_SUBSCRIBER_CONCURRENCY = 1024;
/** A pause in telemetry deliveries this long commits what the writer holds (see startGateway). */
export const TELEMETRY_IDLE_FLUSH_MS = 5;
/** How often readings older than the retention period are pruned. */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface StartGatewayOptions {
  logger: Logger;
  /** Where tokenEnv tokens are read from; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock for the registry and the API (tests). */
  now?: () => number;
  /** Pruning interval; default hourly. */
  retentionIntervalMs?: number;
  /** Pause in telemetry deliveries that commits the writer's buffer; default TELEMETRY_IDLE_FLUSH_MS. */
  telemetryIdleFlushMs?: number;
}

export interface Gateway {
  api: FastifyInstance;
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  /** Batches telemetry from the bus into the store (its `buffered` count is a useful gauge). */
  telemetryWriter: TelemetryWriter;
  /** Where the API listens, e.g. http://127.0.0.1:8080. */
  address: string;
  /** Stops the API, retention, telemetry intake (flushing what is buffered), the bus and the store, in that order. */
  close(): Promise<void>;
}

/**
 * Starts the gateway: store (migrated), bus, the configured fleet, the telemetry writer on the bus
 * topic 'telemetry', retention pruning and the operator API. If a step fails, what was already
 * started is closed again before the error is thrown.
 */
export async function startGateway(config: GatewayConfig, options: StartGatewayOptions): Promise<Gateway> {
  const { logger } = options;
  // Tokens first: a missing environment variable should stop the start before anything opens.
  const tokens = resolveApiTokens(config.api.tokens, options.env ?? process.env);
  if (tokens.length === 0) logger.warn('no API tokens are configured: every API request that needs a role is refused');

  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  const closeAll = async () => {
    let firstError: unknown;
    for (const { name, close } of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ err: error, component: name }, `closing ${name} failed`);
        firstError ??= error;
      }
    }
    if (firstError !== undefined) throw firstError;
  };

  try {
    await prepareStoreLocation(config.store);
    const store = await openStore(config.store, { logger: logger.child({ component: 'store' }) });
    closers.push({ name: 'store', close: () => store.close() });
    const applied = await store.migrate();
    if (applied.length === 0) logger.info({ store: store.kind }, 'store schema up to date'); // else the store logs what it applied

    const bus = await openBus(config.bus, { logger: logger.child({ component: 'bus' }) });
    closers.push({ name: 'bus', close: () => bus.close() });

    const registry = new FleetRegistry({ store, bus, ...(options.now ? { now: options.now } : {}) });
    await seedFleet(registry, store, config.fleet, logger);

    const telemetryLogger = logger.child({ component: 'telemetry' });
    const writer = new TelemetryWriter(store.telemetry, {
      batchSize: config.telemetry.batchSize,
      flushIntervalMs: config.telemetry.flushIntervalMs,
      // The bus hands a key's next message over only after the handler resolves, i.e. after commit.
      idleFlushMs: options.telemetryIdleFlushMs ?? TELEMETRY_IDLE_FLUSH_MS,
      logger: telemetryLogger,
    });
    closers.push({ name: 'telemetry writer', close: () => writer.close() });
    const subscription = await bus.subscribe(
      'telemetry',
      (message) => {
        // The bus may span processes, so a payload is checked here: an invalid reading would fail
        // the whole batch it shares with other messages, again on every redelivery. Retrying cannot
        // fix it, so the message is dropped and logged.
        const checked = checkReadings((message.payload as { readings?: unknown } | undefined)?.readings);
        if (!checked.ok) {
          telemetryLogger.warn(
            { id: message.id, key: message.key, issues: checked.issues.slice(0, 5) },
            'telemetry message dropped: invalid readings',
          );
          return;
        }
        return writer.write(checked.value);
      },
      { group: TELEMETRY_STORE_GROUP, concurrency: TELEMETRY_SUBSCRIBER_CONCURRENCY },
    );
    closers.push({
      name: 'telemetry subscription',
      close: async () => {
        // Closing stops new deliveries at once; the handlers in flight wait for their readings to
        // be committed, so commit them now rather than at the next flush interval.
        const unsubscribed = subscription.close();
        await writer.flush();
        await unsubscribed;
      },
    });

    const stopRetention = startRetention(store, {
      retentionDays: config.telemetry.retentionDays,
      intervalMs: options.retentionIntervalMs ?? RETENTION_INTERVAL_MS,
      logger: logger.child({ component: 'retention' }),
      ...(options.now ? { now: options.now } : {}),
    });
    closers.push({ name: 'retention', close: () => stopRetention() });

    const api = await buildApi({
      store,
      bus,
      logger: logger.child({ component: 'api' }),
      tokens,
      bodyLimitBytes: config.api.bodyLimitBytes,
      publicMetrics: config.api.publicMetrics,
      ...(options.now ? { now: options.now } : {}),
    });
    closers.push({ name: 'api', close: () => api.close() });
    const address = await api.listen({ host: config.api.host, port: config.api.port });

    let closed: Promise<void> | undefined;
    return {
      api,
      store,
      bus,
      registry,
      telemetryWriter: writer,
      address,
      close: () => {
        closed ??= closeAll().then(() => logger.info('gateway closed'));
        return closed;
      },
    };
  } catch (error) {
    await closeAll().catch(() => {
      // Already logged; the start error is the one to report.
    });
    throw error;
  }
}
