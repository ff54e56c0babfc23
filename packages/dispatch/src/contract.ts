/**
 * The dispatch optimiser's contract: what a plan request holds and what a plan answers. Units are
 * the ones operators use: kW, kWh, $/MWh for energy, $/MW-h for capacity, fractions of nameplate
 * energy for SoC. Formulation: ../shared/docs/notes/bess_market.md §1 (SoC dynamics, Xu et al. 2018
 * cycle-depth segments, capacity headroom and energy sustain, firm commitments).
 */

/** Capacity products a battery can offer beside energy. Up = more discharge / less charge. */
export const CAPACITY_PRODUCTS = ['regUp', 'regDown', 'spinning', 'nonSpinning', 'drCapacity'] as const;
export type CapacityProduct = (typeof CAPACITY_PRODUCTS)[number];
/** Which direction a product's headroom is held in. */
export const PRODUCT_DIRECTION: Readonly<Record<CapacityProduct, 'up' | 'down'>> = {
  regUp: 'up',
  regDown: 'down',
  spinning: 'up',
  nonSpinning: 'up',
  drCapacity: 'up',
};

/** Cycle-depth stress Phi(depth) = k * depth^b (depth a fraction of usable energy, b >= 1: convex). */
export interface StressFunction {
  k: number;
  b: number;
}

export interface DegradationCosts {
  /** $ per MWh discharged (throughput wear); 0 or absent: none. */
  throughputUsdPerMwh?: number;
  /**
   * Cycle-depth cost (Xu et al. 2018): usable energy split into `segments` equal parts whose
   * marginal discharge cost rises with depth: c_j = (R * J / eta_d) * (Phi(j/J) - Phi((j-1)/J)).
   */
  cycleDepth?: { segments: number; replacementUsdPerMwh: number; stress: StressFunction };
  /** Calendar ageing as a holding cost: $ per MWh stored per hour. */
  calendarUsdPerMwhHour?: number;
}

/** What must hold at the end of the horizon. Default: final energy >= initial energy. */
export type TerminalCondition =
  | { kind: 'at-least-initial' }
  | { kind: 'target'; energyKwh: number }
  | { kind: 'value'; usdPerMwh: number }
  | { kind: 'free' };

export interface BatteryParams {
  id: string;
  /** Nameplate energy, kWh. With `soh`, usable energy is soh x nameplate. */
  energyKwh: number;
  /** Charge and discharge power limits, kW (>= 0). */
  chargeKw: number;
  dischargeKw: number;
  /** State of health, (0, 1]; absent: 1. */
  soh?: number;
  /** Allowed SoC band as fractions of nameplate energy (default 0 and 1, then scaled by soh). */
  socMin?: number;
  socMax?: number;
  /** Measured SoC at the plan's start, fraction of nameplate; may lie outside the band (penalised slack). */
  soc0: number;
  /** One-way efficiencies (0, 1]; default 0.95 each. */
  etaCharge?: number;
  etaDischarge?: number;
  /** Fraction of stored energy lost per hour (default 0). */
  selfDischargePerHour?: number;
  degradation?: DegradationCosts;
  terminal?: TerminalCondition;
  /**
   * Intervals in which the battery's net discharge is held within bounds, e.g. a utility or
   * operator control of higher precedence that overrides the plan (min = max fixes the power).
   * Added for the gateway's rolling horizon (docs/dispatch-engine.md).
   */
  powerWindows?: PowerWindow[];
  /** Site limits at the battery's connection point and the site's own forecasts (kW per interval). */
  site?: {
    importLimitKw?: number;
    exportLimitKw?: number;
    /** Other load on the site, kW >= 0 per interval. */
    loadKw?: number[];
    /** PV output on the site, kW >= 0 per interval. */
    pvKw?: number[];
  };
}

/**
 * Bounds on a battery's net discharge (discharge - charge, kW) over intervals [fromInterval,
 * toInterval); an absent bound leaves that side free. Bounds beyond the battery's power limits
 * are clipped to them; overlapping windows must intersect. Only column bounds change, so a
 * request that differs from the previous one only here re-solves warm.
 */
export interface PowerWindow {
  fromInterval: number;
  toInterval: number;
  minNetDischargeKw?: number;
  maxNetDischargeKw?: number;
}

/** Prices of a capacity product, $/MW-h per interval, and how long an award must be sustainable. */
export interface ProductOffer {
  priceUsdPerMwH: number[];
  /** tau: hours an award of r must be deliverable (energy sustain). */
  sustainHours: number;
}

/** A firm commitment: at least `minNetDischargeKw` of net discharge over [fromInterval, toInterval). */
export interface Commitment {
  id: string;
  fromInterval: number;
  toInterval: number;
  minNetDischargeKw: number;
  /** The batteries that share it; default every battery (an aggregate commitment). */
  batteryIds?: string[];
}

export interface PlanRequest {
  /** Interval starts, epoch ms, equally spaced by intervalMinutes. */
  starts: number[];
  intervalMinutes: number;
  /** Energy price per interval, $/MWh (negative allowed). */
  energyPriceUsdPerMwh: number[];
  batteries: BatteryParams[];
  products?: Partial<Record<CapacityProduct, ProductOffer>>;
  commitments?: Commitment[];
  /** Limits shared by all batteries (a feeder or aggregation point), kW of net export / import. */
  shared?: { exportLimitKw?: number; importLimitKw?: number };
  /** Intervals [from, to) in which no battery may charge (a baseline adjustment window). */
  noChargeWindows?: Array<{ fromInterval: number; toInterval: number }>;
  /** $ per kWh of SoC-band slack (initial SoC outside the band); default 1000. */
  socSlackPenaltyUsdPerKwh?: number;
}

export interface IntervalPlan {
  start: number;
  chargeKw: number;
  dischargeKw: number;
  /** Stored energy at the end of the interval, kWh. */
  energyKwh: number;
  capacityKw: Partial<Record<CapacityProduct, number>>;
}

export interface BatteryPlan {
  id: string;
  intervals: IntervalPlan[];
  revenueUsd: { energy: number } & Partial<Record<CapacityProduct, number>>;
  degradationCostUsd: number;
  /** Equivalent full cycles: discharged energy / usable energy. */
  cycles: number;
}

export interface Plan {
  /**
   * revenue - degradation cost - penalties (+ terminalValueUsd when terminal.kind is 'value'), $
   * (recomputed from the schedule).
   */
  objectiveUsd: number;
  revenueUsd: { energy: number } & Partial<Record<CapacityProduct, number>>;
  degradationCostUsd: number;
  /** Penalised slack used ($), e.g. an initial SoC outside the band. */
  penaltyUsd: number;
  /** Value of the energy stored at the end, $, for batteries with terminal.kind 'value' (else 0). */
  terminalValueUsd: number;
  batteries: BatteryPlan[];
  solver: {
    /**
     * HiGHS's own run time, ms (the floor the benchmarks compare with), summed over every run
     * the plan needed: a fleet's decoupled start, the MILP rounds when binaries were added.
     */
    runMs: number;
    /** Wall time of model build + solve + extraction, ms. */
    totalMs: number;
    /** The solver's objective value, for checking against objectiveUsd. */
    objectiveValue: number;
    columns: number;
    rows: number;
    /** Integer variables added to forbid simultaneous charge and discharge (0 when the LP needed none). */
    binaries: number;
    /** True when a kept model (DispatchSession / DispatchWorker key) was re-solved from its last basis. */
    warm: boolean;
  };
}

/** Why a request cannot be met: which constraint binds, in words and as data. */
export interface InfeasibilityDiagnosis {
  constraint:
    | 'commitment'
    | 'terminal'
    | 'site-limit'
    | 'shared-limit'
    | 'no-charge-window'
    | 'energy-sustain'
    | 'input';
  /** The commitment, battery or limit concerned. */
  subject: string;
  interval?: number;
  message: string;
}
