/**
 * Types of the control engine's pure core: arbitration of control intents and allocation of
 * site and aggregate targets to devices. Protocol-free (the canonical model only), no I/O, no
 * clocks: every function takes the instant it reasons about.
 *
 * Signs follow the model's generator convention (docs/MODEL.md): power out of a device or site
 * towards the grid is positive (PV generation, battery discharge, site export), power into it is
 * negative (battery charge, load, site import).
 */
import type { DeviceClass, EventSourceProtocol, SetpointKind } from '@gridseam/model';

// ---------------------------------------------------------------- arbitration

/**
 * What a control intent constrains. Every canonical setpoint kind, plus two control modes that
 * exist at the program level but are delivered to a device as another kind:
 * - `maxLimitPct`: largest output as a percentage of the device's rating (2030.5 opModMaxLimW);
 *   delivered as a generationLimit of value x rating / 100.
 * - `storageTargetW`: signed storage power, generator convention (CSIP-AUS opModStorageTargetW
 *   after the protocol adapter converted its sign); delivered as fixedW.
 */
export type ControlType = SetpointKind | 'maxLimitPct' | 'storageTargetW';

export const CONTROL_TYPES: readonly ControlType[] = [
  'exportLimit',
  'importLimit',
  'generationLimit',
  'loadLimit',
  'fixedW',
  'targetSoc',
  'chargeLimit',
  'dischargeLimit',
  'connect',
  'energize',
  'evChargingLimit',
  'maxLimitPct',
  'storageTargetW',
];

/** Where an intent came from: the canonical event sources (2030.5, OpenADR, OCPP, market, operator). */
export type IntentSource = EventSourceProtocol;

/** Whom an intent applies to: one site, one group (or aggregation) or one device. */
export interface ControlScope {
  kind: 'site' | 'group' | 'device';
  id: string;
}

/** A half-open window [start, end); an absent end means open-ended (docs/MODEL.md). */
export interface ControlWindow {
  start: number;
  end?: number;
}

/**
 * One control some source wants in force: an interval signal of a program event, a
 * DefaultDERControl, a market award, an operator's manual setpoint.
 */
export interface ControlIntent {
  /** Unique within its (scope, type); the program event id, setpoint id or award id. */
  id: string;
  source: IntentSource;
  scope: ControlScope;
  type: ControlType;
  /** In the unit of the type (W, %, 0/1); limits are magnitudes >= 0, fixedW is signed. */
  value: number;
  /** Lower wins (IEEE 2030.5 primacy), integer 0..255. */
  primacy: number;
  /** When the source created it (2030.5 creationTime), epoch ms: newer wins at equal primacy. */
  createdAt: number;
  window: ControlWindow;
  /** A default (2030.5 DefaultDERControl, a program's defaultControls): applies only when nothing else is active. */
  isDefault?: boolean;
  /** The originating object for the event history (program event id, mRID, operator token name). */
  ref?: string;
}

/** Why an intent did not win, as a stable code (the text beside it is for people). */
export type LossCode =
  | 'not-started'
  | 'expired'
  | 'default-superseded'
  | 'lower-priority'
  | 'operator-precedence'
  | 'older'
  | 'id-order';

/** The facts of an intent a decision record keeps (enough for the event history). */
export interface IntentSummary {
  id: string;
  source: IntentSource;
  value: number;
  primacy: number;
  createdAt: number;
  window: ControlWindow;
  isDefault: boolean;
  ref?: string;
}

export interface RankedLoser {
  intent: IntentSummary;
  /** 1 = the winner's runner-up. Active intents rank before defaults, then those outside their window. */
  rank: number;
  code: LossCode;
  reason: string;
}

/** The explained outcome for one (scope, control type). */
export interface ArbitrationDecision {
  /** `${scope.kind}:${scope.id}|${type}`. */
  key: string;
  scope: ControlScope;
  type: ControlType;
  at: number;
  /** Undefined when every intent of this key is outside its window. */
  winner?: IntentSummary;
  /** Why the winner won: 'only active control', 'primacy 1 beats 2 (ctl-2)', 'default: no active control'. */
  winnerReason: string;
  losers: RankedLoser[];
  /** One line for logs and the event history. */
  summary: string;
}

/** An intent arbitration refused to consider (malformed input), with what is wrong with it. */
export interface RejectedIntent {
  /** The intent's id when it had a usable one, else '(no id)'. */
  id: string;
  index: number;
  problems: string[];
}

export interface ArbitrationResult {
  at: number;
  /** Sorted by key, so the same input always gives the same output. */
  decisions: ArbitrationDecision[];
  rejected: RejectedIntent[];
  /**
   * The next instant after `at` when some intent starts or ends, so the caller knows when to
   * arbitrate again (undefined when nothing will change).
   */
  nextChangeAt?: number;
}

// ---------------------------------------------------------------- allocation

/**
 * One device as allocation sees it: canonical class and capabilities flattened, plus its present
 * telemetry. Optional numbers are absent when unknown; an allocation never guesses a power or
 * energy limit that could push a device outside its ratings (an unknown limit is treated as 0
 * headroom, not as unlimited).
 */
export interface AllocatableDevice {
  id: string;
  class: DeviceClass;
  /** Online and healthy: false excludes the device and re-allocates its share to the others. */
  online: boolean;
  /**
   * Its telemetry is too old to plan with (the engine: older than its freshness limit, or, for
   * storage, taken before the engine started): excluded like an offline device, so it gets no
   * SoC-dependent setpoint and its share goes to the others. A stale meter counts as absent.
   */
  stale?: boolean;
  /** Setpoint kinds the device's adapter can deliver (Capabilities.controls). */
  controls: readonly SetpointKind[];
  /** Inverter or nameplate rating, W (Ratings.maxW). */
  maxW?: number;
  /** Storage: present largest charge and discharge power, W (the rating, or lower when the BMS says so). */
  maxChargeW?: number;
  maxDischargeW?: number;
  /** Storage: usable energy between 0 and 100 % SoC, Wh (StorageCapability.capacityWh). */
  capacityWh?: number;
  /** Storage: SoC floor and ceiling, % (default 0 and 100). */
  socMinPct?: number;
  socMaxPct?: number;
  /** Storage: round-trip efficiency (0, 1]; discharge headroom is reduced by its square root. */
  roundTripEfficiency?: number;
  /** Controllable load: largest consumption, W (thermal ratedPowerW, EV charger rating). */
  maxLoadW?: number;
  /** Present active power, generator convention. */
  powerW?: number;
  /** Present state of charge, %. */
  socPct?: number;
  /** PV (and hybrid): what the array could produce now, uncurtailed, W. */
  availablePvW?: number;
  /**
   * What the device would do this period if left alone, W (generator convention). Default: PV at
   * its available power, everything else at its present power. A battery whose present power is
   * the gateway's own previous command should pass its own plan (e.g. 0) here.
   */
  baselineW?: number;
}

/** How the allocator uses a device. */
export type DeviceRole = 'storage' | 'hybrid' | 'pv' | 'load' | 'meter' | 'fixed';

/** Why a device got no share. */
export type ExclusionReason = 'offline' | 'stale' | 'invalid-data' | 'no-soc' | 'meter' | 'not-controllable';

/** A canonical setpoint to deliver to one device (the engine adds id, source and tracking). */
export interface SetpointRequestOut {
  deviceId: string;
  kind: SetpointKind;
  value: number;
  unit?: 'W';
  start: number;
  /** now + period + margin: the device falls back on its own if the gateway goes quiet. */
  expiry: number;
}

export interface DeviceAllocation {
  deviceId: string;
  role: DeviceRole;
  /** Excluded devices take no share; 'not-controllable' devices still count at their baseline. */
  excluded?: ExclusionReason;
  /** Problems of an 'invalid-data' device. */
  problem?: string;
  baselineW: number;
  /** The output the allocation plans for the device, W. */
  allocatedW: number;
  /** The feasible output range over the setpoint's lifetime (power ratings and SoC bounds). */
  minW: number;
  maxW: number;
  /** Absent when the device needs no new setpoint. */
  setpoint?: SetpointRequestOut;
}

/** Timing shared by every allocation. */
export interface AllocationTiming {
  now: number;
  /** Control period: how often the engine re-allocates, ms. */
  periodMs: number;
  /** Extra lifetime of a setpoint beyond the period, ms (default 30,000). */
  marginMs?: number;
}

/**
 * A target for the sum of a set of devices' outputs (generator convention): fixedW (exact net
 * output), exportLimit (net output <= value), importLimit (net output >= -value).
 */
export interface AggregateTarget extends AllocationTiming {
  kind: 'fixedW' | 'exportLimit' | 'importLimit';
  valueW: number;
}

/** Dynamic limits at a site's connection point (from arbitration), combined with the site's static ones. */
export interface SiteConstraints extends AllocationTiming {
  exportLimitW?: number;
  importLimitW?: number;
  /** Net export at the connection point to hold, W (generator convention). */
  fixedW?: number;
  /** Site meter power (generator convention: export positive); default: the site's one online meter device. */
  siteMeterW?: number;
}

/** The site as allocation needs it (a canonical Site fits). */
export interface AllocationSite {
  id: string;
  connection?: { exportLimitW?: number; importLimitW?: number };
}

/** The tiers, in the order they are used. */
export type AllocationTier = 'storage-charge' | 'pv-curtail' | 'storage-discharge' | 'load-reduce';

export interface TierUse {
  tier: AllocationTier;
  headroomW: number;
  usedW: number;
}

export interface AllocationSummary {
  /** Bounds on the devices' summed output the target asks for, W. */
  lowW: number;
  highW: number;
  /** Summed output if every device were left at its baseline. */
  baselineW: number;
  /** Summed output after allocation. */
  allocatedW: number;
  /** Range the included devices can reach. */
  fleetMinW: number;
  fleetMaxW: number;
  /** 'none' when the baseline already satisfies the target. */
  direction: 'down' | 'up' | 'none';
  /** Distance from the target that remains, W (0 when met). */
  shortfallW: number;
  met: boolean;
  tiers: TierUse[];
  devices: {
    total: number;
    included: number;
    controllable: number;
    setpoints: number;
    excluded: Record<ExclusionReason, number>;
  };
  /** Why, in words: what was done and, on a shortfall, what ran out. */
  reason: string;
}

export interface AggregateAllocation {
  target: AggregateTarget;
  summary: AllocationSummary;
  devices: DeviceAllocation[];
}

export interface SiteAllocation {
  siteId: string;
  /** The limits applied: the tighter of the dynamic constraint and the site's connection limit. */
  exportLimitW?: number;
  importLimitW?: number;
  fixedW?: number;
  /** Site load (consumption >= 0) derived from the meter and the devices' present power. */
  siteLoadW: number;
  meter: { source: 'constraint' | 'device' | 'absent'; deviceId?: string; powerW?: number; note?: string };
  /** Site net export at the connection point before and after allocation. */
  baselineExportW: number;
  plannedExportW: number;
  summary: AllocationSummary;
  devices: DeviceAllocation[];
}
