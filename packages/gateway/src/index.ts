/**
 * @gridseam/gateway: the gateway application. The entry points of each part; their modules hold
 * the details (store/, bus/, registry/, telemetry/, api/, config/, control/, utility/).
 */
export type { EventSummary, FleetSummary } from './api/fleet-summary.ts';
export type { LiveLimits } from './api/live/hub.ts';
export type { ServerMessage as LiveMessage } from './api/live/protocol.ts';
export { buildApi, liveHubOf } from './api/server.ts';
export type { ApiOptions, ApiToken, Role } from './api/types.ts';
export { ROLES } from './api/types.ts';
export {
  type Gateway,
  RETENTION_INTERVAL_MS,
  type StartGatewayOptions,
  startGateway,
  TELEMETRY_STORE_GROUP,
  TELEMETRY_SUBSCRIBER_CONCURRENCY,
} from './app.ts';
export { openBus } from './bus/index.ts';
export type { Bus, BusConfig, BusMessage, Subscription, Topic, TopicMap } from './bus/types.ts';
export { main as runCli } from './cli/main.ts';
export {
  type ConfigIssue,
  GatewayConfig,
  type LoadedConfig,
  loadConfig,
  parseConfig,
  resolveApiTokens,
  type SeedResult,
  seedFleet,
} from './config/index.ts';
export * as control from './control/index.ts';
export { type CreateLoggerOptions, createLogger, type Logger } from './log.ts';
export { type Actor, FleetRegistry, type FleetRegistryOptions } from './registry/index.ts';
export { openStore } from './store/index.ts';
export type { Store, StoreConfig } from './store/types.ts';
export { startRetention, TelemetryWriter } from './telemetry/index.ts';
export * from './utility/index.ts';
