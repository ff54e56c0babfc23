/**
 * The documents the rolling-horizon dispatch stores (store.documents, namespace 'dispatch-plans')
 * and the operator API serves (GET /api/dispatch/plan, GET /api/devices/:id/plan). Powers in kW,
 * net discharge positive (the model's generator convention: discharge is output), SoC in % of
 * the battery's usable energy (SoH x nameplate when the SoH is used), energies in kWh, money in USD.
 */
import type { CapacityProduct, InfeasibilityDiagnosis, Plan } from '@gridseam/dispatch';

/** A battery the plan holds, with the parameters it was planned with. */
export interface PlannedBattery {
  deviceId: string;
  siteId: string;
  /** Measured SoC the plan starts from, %, and when it was measured. */
  soc0Pct: number;
  socMeasuredAt: number;
  /** State of health used, % (absent: none known or not used). */
  sohPct?: number;
  nameplateKwh: number;
  usableKwh: number;
  chargeKw: number;
  dischargeKw: number;
  socMinPct: number;
  socMaxPct: number;
  etaCharge: number;
  etaDischarge: number;
  /** The site's import/export limits given to this battery (its share when several share a site), kW. */
  siteImportLimitKw?: number;
  siteExportLimitKw?: number;
}

export interface PlannedInterval {
  start: number;
  end: number;
  chargeKw: number;
  dischargeKw: number;
  /** dischargeKw - chargeKw: the fixedW setpoint / 1000. */
  netKw: number;
  /** Stored energy at the end of the interval, kWh, and as SoC %. */
  energyKwh: number;
  socPct: number;
  capacityKw?: Partial<Record<CapacityProduct, number>>;
}

/** A control of higher precedence the plan was solved around (its power held within bounds). */
export interface OverrideWindow {
  deviceId: string;
  from: number;
  to: number;
  /** Bounds on net discharge, kW (equal: the power is fixed). */
  minKw?: number;
  maxKw?: number;
  /** Who demands it: the event's source ('ieee2030.5', 'openadr3', 'operator', ...), its control type and value. */
  source: string;
  type: string;
  value: number;
  primacy: number;
  /** The event id, override id or manual setpoint it comes from. */
  ref: string;
  /** The plan intervals [fromInterval, toInterval) it governs. */
  fromInterval: number;
  toInterval: number;
}

/**
 * A baseline adjustment window a battery was kept from charging in (baseline-windows.ts): no net
 * charging over the plan intervals [fromInterval, toInterval) that overlap [from, to) (real epoch
 * ms), the window before event `eventId` of program `programId`.
 */
export interface BaselineWindowRecord {
  deviceId: string;
  eventId: string;
  programId: string;
  from: number;
  to: number;
  fromInterval: number;
  toInterval: number;
  /** Intervals left unprotected: a control of higher precedence forces net charging there (it wins). */
  skippedIntervals?: number[];
}

export interface BatteryWear {
  /** Rainflow (ASTM E1049) of the planned SoC trace: full-cycle equivalents and the life they consume. */
  rainflowCycles: number;
  deepestCyclePct: number;
  lifeConsumed: number;
}

export interface BatteryPlanDocument extends PlannedBattery {
  intervals: PlannedInterval[];
  revenueUsd: { energy: number } & Partial<Record<CapacityProduct, number>>;
  degradationCostUsd: number;
  /** Equivalent full cycles (the optimiser's: discharged energy / usable energy). */
  cycles: number;
  wear: BatteryWear;
  /** The program event carrying this plan's first intervals. */
  eventId?: string;
  overrides: OverrideWindow[];
}

export interface LeftOutBattery {
  deviceId: string;
  reason: string;
}

export type PlanStatus = 'ok' | 'failed';

/** One plan as stored (latest) and served. */
export interface DispatchPlanDocument {
  id: string;
  status: PlanStatus;
  createdAt: number;
  /** What made this plan: 'start', 'cadence', 'program-event', 'overridden', 'device-offline', 'soc-deviation', ... */
  triggers: string[];
  programId: string;
  primacy: number;
  /** Real epoch ms (start, end and every interval's start and end), whatever the time scale. */
  horizon: {
    start: number;
    end: number;
    /** Plan interval, simulated seconds (the configured one; real seconds at speed 1). */
    intervalSeconds: number;
    intervals: number;
    /** Intervals asked for; more than `intervals` when the prices end sooner. */
    requestedIntervals: number;
    /**
     * Simulated seconds per real second, and the simulated epoch ms at `start`: simulated(t) =
     * simulatedStart + (t - start) x speed (timescale.ts). Absent in plans stored before they were
     * added: speed 1, simulatedStart = start.
     */
    speed?: number;
    simulatedStart?: number;
    /** Real length of a plan interval, seconds: intervalSeconds / speed. */
    realIntervalSeconds?: number;
  };
  prices: {
    source: string;
    energyUsdPerMwh: number[];
    regUpUsdPerMwH?: number[];
    regDownUsdPerMwH?: number[];
    /** Intervals priced (at least partly) by OpenADR price signals. */
    openadrIntervals: number;
  };
  batteries: BatteryPlanDocument[];
  leftOut: LeftOutBattery[];
  /** Every control of higher precedence the plan was solved around. */
  overrides: OverrideWindow[];
  /** True when the overrides had to be loosened to bounds (fixed powers made the plan infeasible). */
  overridesRelaxed?: boolean;
  /** Baseline adjustment windows the batteries were kept from charging in (dispatch.baselineProtection). */
  baselineWindows?: BaselineWindowRecord[];
  /** True when the plan was infeasible with the baseline windows and was solved without them. */
  baselineWindowsDropped?: boolean;
  revenueUsd: { energy: number } & Partial<Record<CapacityProduct, number>>;
  degradationCostUsd: number;
  objectiveUsd: number;
  penaltyUsd: number;
  wear: { lifeConsumed: number; cycles: number };
  solver?: Plan['solver'];
  /** Why there is no schedule (status 'failed'); previous events run out at their end. */
  failure?: { code: string; message: string; diagnosis?: InfeasibilityDiagnosis };
  /** The program events the plan wrote. */
  events: Array<{ deviceId: string; eventId: string; intervals: number }>;
}

/** One plan in the bounded history: totals and each battery's first interval (what was executed). */
export interface PlanHistoryEntry {
  id: string;
  status: PlanStatus;
  createdAt: number;
  triggers: string[];
  revenueUsd: number;
  degradationCostUsd: number;
  lifeConsumed: number;
  solverMs?: number;
  failure?: { code: string; message: string };
  batteries: Record<string, { start: number; end: number; netKw: number; soc0Pct: number; socPct: number }>;
}
