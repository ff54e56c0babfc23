import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/types.ts';
import type { ControlEngine } from '../control/engine.ts';
import type { DispatchPlanReader } from '../dispatch/plan-store.ts';
import type { MarketService } from '../market/service.ts';
import type { SettlementService } from '../settlement/service.ts';
import type { Store } from '../store/types.ts';
import type { LiveLimits } from './live/hub.ts';
import type { ChargerService } from './routes/chargers.ts';

/** Roles in increasing power: each role may do everything the ones before it may. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** An API token as configured: the secret is kept only as its SHA-256 hex digest. */
export interface ApiToken {
  name: string;
  role: Role;
  tokenSha256: string;
}

export interface ApiOptions {
  store: Store;
  bus: Bus;
  logger: Logger;
  tokens: readonly ApiToken[];
  /** Largest accepted request body; larger ones get 413 GW_ERR_BODY_TOO_LARGE. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Metrics registry to expose at /metrics; a fresh one is made when absent. */
  metrics?: Registry;
  /** Serve /metrics without a token (for a scraper on a trusted network). Default false: a viewer token is needed. */
  publicMetrics?: boolean;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /** The control engine behind /api/control (absent: those routes answer GW_ERR_NOT_SUPPORTED). */
  control?: Pick<ControlEngine, 'decisions' | 'compliance' | 'overrides' | 'operatorOverride' | 'cancelOverride'>;
  /** The dispatch plans behind /api/dispatch/* and /api/devices/:id/plan (absent: GW_ERR_NOT_SUPPORTED). */
  dispatch?: DispatchPlanReader;
  /** Settlement behind /api/settlement/* (default: a SettlementService in UTC over the store and `dispatch`). */
  settlement?: SettlementService;
  /** The market interface behind /api/market/* (default: a MarketService over the store and `dispatch`, award events written through the registry). */
  market?: MarketService;
  /** The OCPP CSMS and its stations behind /api/devices/:id/charger/* (absent: those routes answer GW_ERR_NOT_SUPPORTED). */
  chargers?: ChargerService | undefined;
  /** The built console served at / and /assets/* (default: consoleAssetsDir() of @gridseam/console). */
  consoleDir?: string;
  /** Bounds and periods of the live feed GET /api/live (defaults: DEFAULT_LIVE_LIMITS in api/live/hub.ts). */
  live?: Partial<LiveLimits>;
}
