/**
 * The shapes the console reads from the operator API (docs/reference/api.md, docs/MODEL.md).
 * The console talks to the gateway over HTTP only, so these are written here as what the JSON
 * carries, narrowed to the fields the pages use; unknown extra fields are ignored.
 */

export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  name: string;
  role: Role;
}

/** The body of every API error (docs/reference/api.md, Errors). */
export interface ApiErrorBody {
  code: string;
  message: string;
  retryable?: boolean;
  issues?: Array<{ path: string; message: string }>;
}

export interface ConnectionLimits {
  exportLimitW?: number;
  importLimitW?: number;
  phases?: number;
  nominalVoltageV?: number;
}

export interface Site {
  id: string;
  name: string;
  nmi?: string;
  servicePointId?: string;
  timezone?: string;
  connection?: ConnectionLimits;
}

export interface StorageCapability {
  capacityWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  socMinPct?: number;
  socMaxPct?: number;
  roundTripEfficiency?: number;
}

export interface Capabilities {
  ratings?: { maxW?: number; maxVA?: number; maxVarInjected?: number; maxVarAbsorbed?: number; nominalV?: number };
  storage?: StorageCapability;
  ramp?: { upWPerS?: number; downWPerS?: number };
  ev?: { minCurrentA?: number; maxCurrentA?: number; phases?: number; connectors?: number; bidirectional?: boolean };
  thermal?: { setpointMinC: number; setpointMaxC: number; ratedPowerW?: number };
  controls: string[];
}

export interface Device {
  id: string;
  siteId: string;
  class: string;
  name?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  adapter: { kind: string; address: string };
  capabilities: Capabilities;
  enabled: boolean;
}

export interface Group {
  id: string;
  name: string;
  kind: 'group' | 'aggregation';
  description?: string;
  market?: { iso: string; resourceId?: string; pricingNode?: string; minSizeW?: number };
}

export interface Membership {
  groupId: string;
  deviceId: string;
  validFrom: number;
  validTo?: number;
}

export interface Reading {
  deviceId: string;
  ts: number;
  measurand: string;
  value: number | string;
  unit: string;
  phase?: string;
  quality?: string;
}

export interface TelemetryBuckets {
  deviceId: string;
  measurand: string;
  from: number;
  to: number;
  bucketMs: number;
  buckets: Array<{ start: number; avg: number; min: number; max: number; count: number }>;
}

export interface Setpoint {
  id: string;
  deviceId: string;
  kind: string;
  value: number;
  unit?: 'W' | 'A';
  start: number;
  expiry: number;
  source: { kind: string; ref?: string; primacy?: number };
}

export interface Command {
  id: string;
  deviceId: string;
  setpoint: Setpoint;
  status: string;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  history: Array<{ status: string; at: number; detail?: string }>;
  readBack?: { at: number; value: number; matched: boolean };
  error?: { code: string; message: string };
}

export interface Signal {
  kind: string;
  value: number;
  unit?: string;
}

export interface ProgramEvent {
  id: string;
  programId: string;
  source: string;
  externalId?: string;
  primacy: number;
  intervals: Array<{ start: number; durationS: number; signals: Signal[] }>;
  targets: { groupIds?: string[]; siteIds?: string[]; deviceIds?: string[] };
  status: string;
  statusHistory: Array<{ status: string; at: number; reason?: string }>;
  createdAt: number;
}

export interface Program {
  id: string;
  name: string;
  kind: string;
  source: string;
  primacy: number;
}

/** One row of GET /api/events/{id}/decisions: an audit row of the control engine's decision. */
export interface DecisionRow {
  seq: number;
  at: number;
  key?: string;
  summary?: string;
  winnerReason?: string;
  role?: 'winner' | 'loser';
  winner?: { id: string; ref?: string; value: number };
  losers?: Array<{ id: string; ref?: string; code: string; reason: string }>;
  allocation?: {
    met: boolean;
    shortfallW: number;
    reason: string;
    excluded: Array<{ deviceId: string; reason: string }>;
  };
  skipped?: Array<{ deviceId: string; reason: string }>;
  setpoints?: Array<{ deviceId: string; kind: string; value: number }>;
}

/** One row of GET /api/events/{id}/reports: an OpenADR report or an IEEE 2030.5 Response sent upstream. */
export interface ReportRow {
  seq: number;
  at: number;
  action: string;
  [field: string]: unknown;
}

/** EventSummary of GET /api/fleet/summary. */
export interface EventSummary {
  id: string;
  programId: string;
  source: string;
  status: string;
  start: number;
  end: number | null;
  signals: string[];
}

export interface FleetCounts {
  total: number;
  online: number;
  offline: number;
}

export interface FleetSummary {
  at: number;
  devices: FleetCounts & { byClass: Record<string, FleetCounts>; byState: Record<string, number> };
  powerW: { total: number; byClass: Record<string, number> };
  storage: {
    count: number;
    reporting: number;
    meanSocPct: number | null;
    storedWh: number;
    capacityWh: number;
    socHistogram: Array<{ fromPct: number; toPct: number; count: number }>;
  };
  events: { active: EventSummary[]; upcoming: EventSummary[] };
}

/** One row of GET /api/devices/status: a device by the fleet summary's rules. */
export interface DeviceStatus {
  deviceId: string;
  online: boolean;
  state: 'online' | 'offline';
  /** The latest operatingState reading, whatever its age. */
  operatingState: string | null;
  /** No older than 5 min, + towards the grid. */
  activePowerW: number | null;
  /** No older than 5 min. */
  socPct: number | null;
  /** The newest sign of life: a reading or an online announcement. */
  lastSeenAt: number | null;
}

/** A reading as the live WebSocket sends it (`at`, not `ts`). */
export interface LiveReading {
  deviceId: string;
  measurand: string;
  value: number | string;
  at: number;
  /** Absent: the total over all phases. */
  phase?: string;
}

/** Server -> client messages of GET /api/live. */
export type LiveMessage =
  | { type: 'hello'; role: Role; name: string }
  | { type: 'telemetry'; at: number; readings: LiveReading[] }
  | { type: 'subscribed'; deviceIds: string[] }
  | {
      type: 'device.state';
      deviceId: string;
      /** 'online' or 'offline', as `online` says. */
      state?: string;
      online?: boolean;
      operatingState?: string;
      at: number;
    }
  | { type: 'command'; command: Command }
  | { type: 'event'; event: ProgramEvent }
  | { type: 'summary'; summary: FleetSummary };

/** Capacity products beside energy (docs/dispatch.md); regulation in $/MW-h. */
export type CapacityProduct = 'regUp' | 'regDown' | 'spinning' | 'nonSpinning' | 'drCapacity';

/** Revenue of a plan per product, USD; `energy` always present. */
export type ProductRevenue = { energy: number } & Partial<Record<CapacityProduct, number>>;

/** One plan interval of a battery (GET /api/dispatch/plan): kW with discharge positive, SoC % of usable energy at its end. */
export interface PlannedInterval {
  start: number;
  end: number;
  chargeKw: number;
  dischargeKw: number;
  netKw: number;
  energyKwh: number;
  socPct: number;
  capacityKw?: Partial<Record<CapacityProduct, number>>;
}

/** A control of higher precedence the plan was solved around. */
export interface OverrideWindow {
  deviceId: string;
  from: number;
  to: number;
  minKw?: number;
  maxKw?: number;
  source: string;
  type: string;
  value: number;
  primacy: number;
  ref: string;
}

/** A battery's parameters, revenue and wear in the latest plan (without its intervals on /api/devices/{id}/plan). */
export interface BatteryPlanFacts {
  deviceId: string;
  siteId: string;
  soc0Pct: number;
  socMeasuredAt: number;
  sohPct?: number;
  nameplateKwh: number;
  usableKwh: number;
  chargeKw: number;
  dischargeKw: number;
  socMinPct: number;
  socMaxPct: number;
  etaCharge: number;
  etaDischarge: number;
  siteImportLimitKw?: number;
  siteExportLimitKw?: number;
  revenueUsd: ProductRevenue;
  degradationCostUsd: number;
  cycles: number;
  wear: { rainflowCycles: number; deepestCyclePct: number; lifeConsumed: number };
  eventId?: string;
  overrides: OverrideWindow[];
}

export interface BatteryPlan extends BatteryPlanFacts {
  intervals: PlannedInterval[];
}

/** Why a request cannot be met (the optimiser's diagnosis of an infeasible plan). */
export interface InfeasibilityDiagnosis {
  constraint: string;
  subject: string;
  interval?: number;
  message: string;
}

export interface PlanFailure {
  code: string;
  message: string;
  diagnosis?: InfeasibilityDiagnosis;
}

/** GET /api/dispatch/plan: the latest plan of the rolling-horizon dispatch (docs/dispatch-engine.md). */
export interface DispatchPlan {
  id: string;
  status: 'ok' | 'failed';
  createdAt: number;
  triggers: string[];
  programId: string;
  primacy: number;
  horizon: { start: number; end: number; intervalSeconds: number; intervals: number; requestedIntervals: number };
  prices: {
    source: string;
    energyUsdPerMwh: number[];
    regUpUsdPerMwH?: number[];
    regDownUsdPerMwH?: number[];
    openadrIntervals: number;
  };
  batteries: BatteryPlan[];
  leftOut: Array<{ deviceId: string; reason: string }>;
  overrides: OverrideWindow[];
  overridesRelaxed?: boolean;
  revenueUsd: ProductRevenue;
  degradationCostUsd: number;
  objectiveUsd: number;
  penaltyUsd: number;
  wear: { lifeConsumed: number; cycles: number };
  solver?: {
    runMs: number;
    totalMs: number;
    objectiveValue: number;
    columns: number;
    rows: number;
    binaries: number;
    warm: boolean;
  };
  failure?: PlanFailure;
  events: Array<{ deviceId: string; eventId: string; intervals: number }>;
}

/** One entry of GET /api/dispatch/history: a past plan's totals and each battery's first interval. */
export interface PlanHistoryEntry {
  id: string;
  status: 'ok' | 'failed';
  createdAt: number;
  triggers: string[];
  revenueUsd: number;
  degradationCostUsd: number;
  lifeConsumed: number;
  solverMs?: number;
  failure?: { code: string; message: string };
  batteries: Record<string, { start: number; end: number; netKw: number; soc0Pct: number; socPct: number }>;
}

/** The first interval of a past plan for one battery (what was executed). */
export interface ExecutedInterval {
  planId: string;
  createdAt: number;
  start: number;
  end: number;
  netKw: number;
  soc0Pct: number;
  socPct: number;
}

/** GET /api/devices/{id}/plan: one battery's plan next to what it did. */
export interface DevicePlan {
  deviceId: string;
  planId: string;
  planCreatedAt: number;
  status: 'ok' | 'failed';
  window: { from: number; to: number };
  /** The latest plan's horizon and prices per interval (absent from gateways before they were added). */
  horizon?: DispatchPlan['horizon'];
  prices?: DispatchPlan['prices'];
  battery?: BatteryPlanFacts;
  leftOut?: string;
  failure?: PlanFailure;
  planned: PlannedInterval[];
  executed: ExecutedInterval[];
  actual: { socPct: Array<{ ts: number; value: number }>; powerW: Array<{ ts: number; value: number }> };
}

import type {
  BaselineMethod,
  DailyProgramSummary,
  EventReport,
  MarketProduct,
  MarketRun,
  ReconciliationGap,
  SettlementTotals,
} from '@gridseam/settlement';

// ---------------------------------------------------------------- settlement and market shapes
// The pure package's own types (type-only: nothing of it reaches the browser bundle).

export type {
  Aggregation,
  AggregationMember,
  AggregationProblem,
  AggregationView,
  BaselineInterval,
  BaselineMethod,
  BaselineResult,
  DailyProgramSummary,
  DistributionFactor,
  EventSettlement,
  EventSettlementInterval,
  Iso,
  MarketProduct,
  MarketRun,
  RegistrationState,
  RetailEnrolment,
} from '@gridseam/settlement';

export type ReconciliationGapKind = ReconciliationGap['kind'];

/** One entry of GET /api/settlement/days: a settled local day (docs/reference/api.md, Settlement). */
export interface SettlementDay {
  date: string;
  timeZone: string;
  intervalMinutes: number;
  from: number;
  to: number;
  settledUntil: number;
  complete: boolean;
  settledAt: number;
  settledBy: string;
  devices: number;
  totals: SettlementTotals;
  programs: DailyProgramSummary[];
  gapsByKind: Record<ReconciliationGapKind, number>;
}

// ---------------------------------------------------------------- market (docs/reference/api.md "Market")

/** A period [validFrom, validTo), epoch ms; no validTo = open-ended (factors, members, enrolments). */
export interface ValidityPeriod {
  validFrom: number;
  validTo?: number;
}

/** One entry of GET /api/market/awards (StoredAward): the ISO's award and the events it became. */
export interface StoredAward {
  resourceId: string;
  interval: { start: string; end: string; startMs: number; endMs: number; market: MarketRun };
  product: MarketProduct;
  /** Energy: MW, discharge positive; capacity: MW held. */
  mw: number;
  /** $/MWh (energy) or $/MW-h (capacity). */
  clearingPrice: number;
  aggregationId: string;
  programId: string;
  eventIds: string[];
  importedAt: number;
  importedBy: string;
}

/** The answer of POST /api/market/awards (AwardImport). */
export interface AwardImport {
  awards: number;
  aggregations: Array<{ aggregationId: string; resourceId: string; programId: string; awards: number }>;
  events: Array<{
    id: string;
    programId: string;
    aggregationId: string;
    start: number;
    end: number;
    intervals: number;
    targets: ProgramEvent['targets'];
    created: boolean;
  }>;
}

// ---------------------------------------------------------------- event M&V (docs/reference/api.md "Event M&V")

/** GET /api/settlement/events/{id}/report (the gateway's GatewayEventReport). */
export interface EventMvReport extends EventReport {
  notes: string[];
  method: BaselineMethod;
  timeZone: string;
  eventDay: string;
  eventHours: number[];
  window: { start: number; end: number };
  intervalMinutes: number;
  exclusions: Array<{ siteId: string; kind: 'program-event' | 'battery-dispatch'; days: string[] }>;
}
