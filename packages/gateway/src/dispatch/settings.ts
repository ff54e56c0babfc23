/**
 * The `dispatch` config section with its defaults applied and times in ms: what the scheduler,
 * the request builder and the price sources read.
 */
import type { DegradationCosts, StressFunction, TerminalCondition } from '@gridseam/dispatch';
import { DEFAULT_STRESS } from '@gridseam/dispatch';
import type { Program } from '@gridseam/model';
import {
  DEFAULT_BASELINE_GAP_HOURS,
  DEFAULT_BASELINE_PROGRAM_KINDS,
  DEFAULT_BASELINE_WINDOW_HOURS,
  DEFAULT_DISPATCH_CADENCE_S,
  DEFAULT_DISPATCH_HISTORY,
  DEFAULT_DISPATCH_HORIZON_MIN,
  DEFAULT_DISPATCH_INTERVAL_S,
  DEFAULT_DISPATCH_MIN_REPLAN_S,
  DEFAULT_DISPATCH_PRIMACY,
  DEFAULT_DISPATCH_PROGRAM_ID,
  DEFAULT_DISPATCH_SOC_DEVIATION_PCT,
  DEFAULT_ROUND_TRIP_EFFICIENCY,
  type DispatchPrices,
  type DispatchSection,
} from '../config/dispatch.ts';
import { type DispatchTimeScale, REAL_TIME, realIntervalMs } from './timescale.ts';

export interface DispatchSettings {
  programId: string;
  programName: string;
  primacy: number;
  enrolSiteIds: readonly string[];
  enrolDeviceIds: readonly string[];
  cadenceMs: number;
  minReplanMs: number;
  /** Plan interval, ms of simulated time (real time without a time scale): the optimiser's interval. */
  intervalMs: number;
  /** How simulated time relates to the real clock (timescale.ts); REAL_TIME by default. */
  timeScale: DispatchTimeScale;
  /** Real length of a plan interval, ms: intervalMs / speed (at least 1 s). */
  realIntervalMs: number;
  /** Intervals in the horizon (>= 1). */
  horizonIntervals: number;
  /** Plan intervals each battery's event carries. */
  setpointIntervals: number;
  socDeviationPct: number;
  /** Absent: the control engine's freshness limit of each device. */
  socStaleMs?: number;
  historySize: number;
  prices: DispatchPrices;
  openadrPrices: boolean;
  roundTripEfficiency: number;
  selfDischargePerHour: number;
  useStateOfHealth: boolean;
  siteLimits: boolean;
  degradation: DegradationCosts;
  /** Phi(depth) for the rainflow wear of each plan. */
  stress: StressFunction;
  terminal: TerminalCondition;
  /** Regulation offered with this sustain time, hours; absent: energy only. */
  regulationSustainHours?: number;
  /** No net charging in baseline adjustment windows before events of these program kinds (baseline-windows.ts). */
  baselineProtection: BaselineProtection;
}

/** `dispatch.baselineProtection` with its defaults. */
export interface BaselineProtection {
  enabled: boolean;
  /** Length of the day-of adjustment window, whole hours (CAISO, PJM: 3). */
  windowHours: number;
  /** Hours between the window's end and the event start (CAISO, PJM: 1). */
  gapHours: number;
  programKinds: readonly Program['kind'][];
}

function terminalOf(section: DispatchSection['terminal']): TerminalCondition {
  if (section === undefined || section === 'at-least-initial') return { kind: 'at-least-initial' };
  if (section === 'free') return { kind: 'free' };
  return { kind: 'value', usdPerMwh: section.valueUsdPerMwh };
}

function degradationOf(section: DispatchSection['degradation']): DegradationCosts {
  const costs: DegradationCosts = {};
  if (section?.throughputUsdPerMwh !== undefined) costs.throughputUsdPerMwh = section.throughputUsdPerMwh;
  if (section?.cycleDepth !== undefined) costs.cycleDepth = section.cycleDepth;
  if (section?.calendarUsdPerMwhHour !== undefined) costs.calendarUsdPerMwhHour = section.calendarUsdPerMwhHour;
  return costs;
}

/**
 * The section with its defaults (docs/dispatch-engine.md lists them). With a time scale the plan
 * interval and the horizon are simulated time, the cadence, minReplan and staleness real seconds;
 * GW_ERR_CONFIG when a plan interval would last less than one real second.
 */
export function dispatchSettings(section: DispatchSection, timeScale: DispatchTimeScale = REAL_TIME): DispatchSettings {
  const intervalMs = (section.intervalSeconds ?? DEFAULT_DISPATCH_INTERVAL_S) * 1000;
  const realMs = realIntervalMs(intervalMs, timeScale);
  const cadenceMs = (section.cadenceSeconds ?? DEFAULT_DISPATCH_CADENCE_S) * 1000;
  const horizonMs = (section.horizonMinutes ?? DEFAULT_DISPATCH_HORIZON_MIN) * 60_000;
  const settings: DispatchSettings = {
    programId: section.programId ?? DEFAULT_DISPATCH_PROGRAM_ID,
    programName: section.programName ?? 'Battery dispatch',
    primacy: section.primacy ?? DEFAULT_DISPATCH_PRIMACY,
    enrolSiteIds: section.enrol?.siteIds ?? [],
    enrolDeviceIds: section.enrol?.deviceIds ?? [],
    cadenceMs,
    minReplanMs: (section.minReplanSeconds ?? DEFAULT_DISPATCH_MIN_REPLAN_S) * 1000,
    intervalMs,
    timeScale,
    realIntervalMs: realMs,
    horizonIntervals: Math.max(1, Math.floor(horizonMs / intervalMs)),
    // An event must outlast the gap to the next plan (real time), so a late plan never leaves the battery idle.
    setpointIntervals: section.setpointIntervals ?? Math.ceil(cadenceMs / realMs) + 1,
    socDeviationPct: section.socDeviationPct ?? DEFAULT_DISPATCH_SOC_DEVIATION_PCT,
    historySize: section.historySize ?? DEFAULT_DISPATCH_HISTORY,
    prices: section.prices ?? { kind: 'sample' },
    openadrPrices: section.openadrPrices ?? true,
    roundTripEfficiency: section.battery?.roundTripEfficiency ?? DEFAULT_ROUND_TRIP_EFFICIENCY,
    selfDischargePerHour: section.battery?.selfDischargePerHour ?? 0,
    useStateOfHealth: section.battery?.useStateOfHealth ?? true,
    siteLimits: section.battery?.siteLimits ?? true,
    degradation: degradationOf(section.degradation),
    stress: section.degradation?.stress ?? section.degradation?.cycleDepth?.stress ?? DEFAULT_STRESS,
    terminal: terminalOf(section.terminal),
    baselineProtection: {
      enabled: section.baselineProtection?.enabled ?? true,
      windowHours: section.baselineProtection?.windowHours ?? DEFAULT_BASELINE_WINDOW_HOURS,
      gapHours: section.baselineProtection?.gapHours ?? DEFAULT_BASELINE_GAP_HOURS,
      programKinds: section.baselineProtection?.programKinds ?? DEFAULT_BASELINE_PROGRAM_KINDS,
    },
  };
  if (section.socStaleSeconds !== undefined) settings.socStaleMs = section.socStaleSeconds * 1000;
  if (section.regulation !== undefined) settings.regulationSustainHours = section.regulation.sustainHours;
  return settings;
}
