import { checkReadings } from '@gridseam/model';
import { discoverSunSpec, SunSpecAdapter, SunSpecConnections } from '@gridseam/sunspec';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApi } from './api/server.ts';
import { openBus } from './bus/index.ts';
import type { Bus } from './bus/types.ts';
import { controlEngineOptions } from './config/control.ts';
import { resolveApiTokens } from './config/index.ts';
import type { GatewayConfig } from './config/schema.ts';
import { seedFleet } from './config/seed.ts';
import { settlementServiceOptions } from './config/settlement.ts';
import { prepareStoreLocation } from './config/store-location.ts';
import { parseUnits, type SunSpecSection, sunspecAddress } from './config/sunspec.ts';
import { ControlEngine } from './control/engine.ts';
import { type DispatchScheduler, type DispatchTimeScale, startDispatch } from './dispatch/index.ts';
import { DEFAULT_POLL_CONCURRENCY, EdgeRuntime, type EdgeSource, systemClock } from './edge/index.ts';
import { MarketService } from './market/service.ts';
import { FleetRegistry } from './registry/index.ts';
import { type Ieee2030_5Seam, startIeee2030_5Seam } from './seams/ieee2030-5.ts';
import { type OcppSeam, prepareOcpp } from './seams/ocpp.ts';
import { type Openadr2bSeam, startOpenadr2bSeam } from './seams/openadr2b.ts';
import { type Openadr3Seam, startOpenadr3Seam } from './seams/openadr3.ts';
import { SettlementService, type SettlementServiceOptions } from './settlement/index.ts';
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
  /** The control engine's period, ms; overrides the config's control.periodSeconds (tests). */
  controlPeriodMs?: number;
  /** Dispatch plans on this simulated clock (the demo's accelerated fleet); docs/dispatch-engine.md "Simulated time". */
  dispatchTimeScale?: DispatchTimeScale;
  /** Settlement's market time zone, interval, program rules and prices (default UTC, 15 min; docs/reference/api.md, Settlement). */
  settlement?: Omit<SettlementServiceOptions, 'store' | 'plans' | 'now'>;
}

/** The registry's adapter kind for SunSpec Modbus TCP devices. */
export const SUNSPEC_ADAPTER_KIND = 'sunspec-modbus';

/**
 * The edge sources of the `sunspec` section: one per configured device and one per discovery
 * range, over one shared Modbus TCP connection per host:port. This is the only place the gateway
 * core meets the SunSpec package; the edge runtime sees DeviceAdapters.
 */
export function sunspecSources(section: SunSpecSection, connections: SunSpecConnections, logger: Logger): EdgeSource[] {
  const sources: EdgeSource[] = section.devices.map((device) => {
    const address = sunspecAddress(device.host, device.port, device.unit);
    return {
      name: address,
      open: async () => {
        const transport = await connections.get(device.host, device.port);
        return [
          {
            spec: {
              id: device.id,
              siteId: device.siteId,
              pollIntervalMs: device.pollIntervalMs,
              adapter: { kind: SUNSPEC_ADAPTER_KIND, address },
              ...(device.name !== undefined ? { name: device.name } : {}),
            },
            adapter: new SunSpecAdapter({ deviceId: device.id, transport, unit: device.unit }),
          },
        ];
      },
    };
  });
  for (const range of section.discover) {
    const units = parseUnits(range.units);
    sources.push({
      name: `${sunspecAddress(range.host, range.port, units[0] ?? 0)}..${units[units.length - 1] ?? 0}`,
      open: async () => {
        const transport = await connections.get(range.host, range.port);
        const found = await discoverSunSpec(transport, units, {
          deviceIdOf: (unit) => `${range.idPrefix}${unit}`,
          onSkip: (unit, error) =>
            logger.debug({ host: range.host, port: range.port, unit, error: error.message }, 'no SunSpec device'),
        });
        logger.info(
          { host: range.host, port: range.port, probed: units.length, found: found.map((f) => f.unit) },
          'SunSpec discovery done',
        );
        return found.map(({ unit, adapter, description }) => ({
          spec: {
            id: adapter.deviceId,
            siteId: range.siteId,
            pollIntervalMs: range.pollIntervalMs,
            adapter: { kind: SUNSPEC_ADAPTER_KIND, address: sunspecAddress(range.host, range.port, unit) },
          },
          adapter,
          description,
        }));
      },
    });
  }
  return sources;
}

/** The env and clock options a seam takes, when the caller gave them. */
function optionalEnvAndClock(options: StartGatewayOptions): {
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
} {
  return { ...(options.env ? { env: options.env } : {}), ...(options.now ? { now: options.now } : {}) };
}

export interface Gateway {
  api: FastifyInstance;
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  /** Batches telemetry from the bus into the store (its `buffered` count is a useful gauge). */
  telemetryWriter: TelemetryWriter;
  /** The device edge (polling and commands), when the configuration lists devices for it. */
  edge: EdgeRuntime | undefined;
  /** The control engine: program events and overrides to device setpoints (submitEvent for in-process sources). */
  control: ControlEngine;
  /** The IEEE 2030.5 client wired to the fleet and the engine, when the config has utility.ieee2030_5. */
  ieee2030_5: Ieee2030_5Seam | undefined;
  /** The OCPP CSMS and its charging stations, when the config has an `ocpp` section. */
  ocpp: OcppSeam | undefined;
  /** The OpenADR 3 VEN wired to the fleet and the engine, when the config has utility.openadr3. */
  openadr3: Openadr3Seam | undefined;
  /** The OpenADR 2.0b VEN wired to the fleet and the engine, when the config has utility.openadr2b. */
  openadr2b: Openadr2bSeam | undefined;
  /** The rolling-horizon battery dispatch, when the config has a `dispatch` section. */
  dispatch: DispatchScheduler | undefined;
  /** Settles local days into the ledger (/api/settlement/*). */
  settlement: SettlementService;
  /** Where the API listens, e.g. http://127.0.0.1:8080. */
  address: string;
  /**
   * Stops the API, the edge and its connections, retention, telemetry intake (flushing what is
   * buffered), the bus and the store, in that order.
   */
  close(): Promise<void>;
}

/**
 * Starts the gateway: store (migrated), bus, the configured fleet, the telemetry writer on the bus
 * topic 'telemetry', retention pruning, the device edge (SunSpec devices described, registered,
 * polled and commanded; unreachable ones retried in the background) and the operator API. If a
 * step fails, what was already started is closed again before the error is thrown.
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

    let edge: EdgeRuntime | undefined;
    const edgeSources: EdgeSource[] = [];
    const edgeLogger = logger.child({ component: 'edge' });
    const sunspec = config.sunspec;
    if (sunspec && (sunspec.devices.length > 0 || sunspec.discover.length > 0)) {
      const connections = new SunSpecConnections({ timeoutMs: sunspec.timeoutMs });
      closers.push({ name: 'sunspec connections', close: () => connections.close() });
      edgeSources.push(...sunspecSources(sunspec, connections, edgeLogger));
    }
    // OCPP stations are registered by the edge runtime before the CSMS listens (see seams/ocpp.ts).
    const ocppLogger = logger.child({ component: 'ocpp' });
    const ocppPrepared = config.ocpp
      ? prepareOcpp({ config: config.ocpp, store, registry, logger: ocppLogger, ...optionalEnvAndClock(options) })
      : undefined;
    if (ocppPrepared) edgeSources.push(ocppPrepared.source);
    if (edgeSources.length > 0) {
      const runtime = new EdgeRuntime(edgeSources, {
        registry,
        store,
        bus,
        logger: edgeLogger,
        concurrency: sunspec?.concurrency ?? DEFAULT_POLL_CONCURRENCY,
      });
      closers.push({ name: 'edge', close: () => runtime.close() });
      edge = runtime;
      await runtime.start();
    }
    let ocpp: OcppSeam | undefined;
    if (ocppPrepared) {
      const seam = await ocppPrepared.start();
      ocpp = seam;
      closers.push({ name: 'ocpp csms', close: () => seam.close() });
    }

    const control = new ControlEngine({
      store,
      bus,
      logger: logger.child({ component: 'control' }),
      ...controlEngineOptions(config.control),
      // Without control.staleAfterSeconds, telemetry freshness follows each polled device's interval.
      pollIntervalMs: (deviceId: string) => edge?.scheduler.status(deviceId)?.pollIntervalMs,
      ...(options.now ? { clock: { ...systemClock, now: options.now } } : {}),
      ...(options.controlPeriodMs !== undefined ? { periodMs: options.controlPeriodMs } : {}),
    });
    closers.push({ name: 'control', close: () => control.close() });
    await control.start();

    let ieee2030_5: Ieee2030_5Seam | undefined;
    // Set once dispatch starts (below); the OpenADR 3 seam's new prices ask it for a re-plan.
    let dispatch: DispatchScheduler | undefined;
    const utilityClient = config.utility?.ieee2030_5;
    if (utilityClient !== undefined) {
      ieee2030_5 = await startIeee2030_5Seam({
        config: utilityClient,
        store,
        bus,
        registry,
        engine: control,
        logger: logger.child({ component: 'ieee2030-5' }),
        ...(options.now ? { now: options.now } : {}),
      });
      const seam = ieee2030_5;
      closers.push({ name: 'ieee2030-5 client', close: () => seam.close() });
    }

    let openadr3: Openadr3Seam | undefined;
    const openadr3Config = config.utility?.openadr3;
    if (openadr3Config !== undefined) {
      const seam = await startOpenadr3Seam({
        config: openadr3Config,
        store,
        bus,
        registry,
        engine: control,
        logger: logger.child({ component: 'openadr3' }),
        ...optionalEnvAndClock(options),
        onPrices: () => dispatch?.trigger('prices'),
      });
      openadr3 = seam;
      closers.push({ name: 'openadr3 ven', close: () => seam.close() });
    }

    let openadr2b: Openadr2bSeam | undefined;
    const openadr2bConfig = config.utility?.openadr2b;
    if (openadr2bConfig !== undefined) {
      const seam = await startOpenadr2bSeam({
        config: openadr2bConfig,
        store,
        bus,
        registry,
        engine: control,
        logger: logger.child({ component: 'openadr2b' }),
        ...(options.now ? { now: options.now } : {}),
      });
      openadr2b = seam;
      closers.push({ name: 'openadr2b ven', close: () => seam.close() });
    }

    // Dispatch plans through the engine, after the seams whose events and prices it plans around.
    const dispatchStarted = config.dispatch
      ? await startDispatch(config.dispatch, {
          store,
          bus,
          registry,
          engine: control,
          logger: logger.child({ component: 'dispatch' }),
          ...(openadr3 ? { externalPrices: () => [...(openadr3?.prices().values() ?? [])].flat() } : {}),
          isOnline: (deviceId) => edge?.scheduler.status(deviceId)?.health !== 'faulty',
          ...(options.dispatchTimeScale ? { timeScale: options.dispatchTimeScale } : {}),
        })
      : undefined;
    if (dispatchStarted) {
      dispatch = dispatchStarted.scheduler;
      closers.push({ name: 'dispatch', close: () => dispatchStarted.scheduler.close() });
    }

    const settlement = new SettlementService({
      ...settlementServiceOptions(config.settlement),
      ...options.settlement,
      store,
      plans: dispatchStarted?.plans,
      ...(options.now ? { now: options.now } : {}),
    });
    // Award events from the market interface go to the engine in this process (/api/market/awards).
    const market = new MarketService({
      store,
      registry,
      engine: control,
      plans: dispatchStarted?.plans,
      logger: logger.child({ component: 'market' }),
      ...(options.now ? { now: options.now } : {}),
    });
    const api = await buildApi({
      ...(dispatchStarted ? { dispatch: dispatchStarted.plans } : {}),
      settlement,
      market,
      store,
      bus,
      control,
      chargers: ocpp && {
        csms: ocpp.csms,
        stations: new Map(ocpp.chargers.all().map((a) => [a.deviceId, a.identity])),
      },
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
      edge,
      control,
      ieee2030_5,
      ocpp,
      openadr3,
      openadr2b,
      dispatch,
      settlement,
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
