/**
 * From the registry to a plan request, as pure functions (the scheduler gathers the inputs):
 * which devices are the program's batteries, which of them can be planned now and why not, and
 * each one's parameters.
 *
 * - Batteries: devices of class battery or hybrid-inverter enrolled in the program (by device, or
 *   through their site) with an enrolment in force.
 * - Left out, with the reason in the plan: no storage capability, no fixedW control, disabled,
 *   offline, no SoC reading, or a SoC reading older than the freshness limit.
 * - Energy: nameplate = capacityWh; with the SoH (a stateOfHealth reading, when used) usable =
 *   SoH x nameplate and the measured SoC is read as a share of usable energy, so soc0 (a fraction
 *   of nameplate in the optimiser's contract) = SoC x SoH. The SoC band is the capability's
 *   socMinPct/socMaxPct, the floor raised by the enrolment's socReservePct.
 * - Efficiencies: each way sqrt(round-trip), from the capability or the configured default.
 * - Site limits: the site's connection import/export limits, shared between the site's planned
 *   batteries in proportion to their power (no load or PV forecast is assumed).
 */
import type { BatteryParams, PlanRequest } from '@gridseam/dispatch';
import type { Device, Enrolment, Site } from '@gridseam/model';
import { enrolmentsInForce } from '../control/intents.ts';
import type { IntervalPrices } from './prices.ts';
import type { DispatchSettings } from './settings.ts';
import type { LeftOutBattery, PlannedBattery } from './types.ts';

export const BATTERY_CLASSES: ReadonlySet<Device['class']> = new Set(['battery', 'hybrid-inverter']);

/** A reading's value and instant. */
export interface TimedValue {
  value: number;
  ts: number;
}

/** A battery of the program with what is known about it now. */
export interface BatteryCandidate {
  device: Device;
  site?: Site;
  /** The enrolment that puts it in the program (for its SoC reserve). */
  enrolment: Enrolment;
  online: boolean;
  /** Latest total readings by measurand. */
  readings: ReadonlyMap<string, TimedValue>;
  /** A reading older than this (ms) does not count. */
  staleAfterMs: number;
}

/** Devices enrolled in the program at `now`, with their enrolment; devices enrolled directly that are not batteries are left out. */
export function enrolledBatteries(
  programId: string,
  devices: readonly Device[],
  enrolments: readonly Enrolment[],
  now: number,
): { batteries: Array<{ device: Device; enrolment: Enrolment }>; leftOut: LeftOutBattery[] } {
  const inForce = enrolmentsInForce(enrolments, now).filter((e) => e.programId === programId);
  const byDevice = new Map<string, Enrolment>();
  const bySite = new Map<string, Enrolment>();
  for (const enrolment of inForce) {
    if (enrolment.deviceId !== undefined) byDevice.set(enrolment.deviceId, enrolment);
    else if (enrolment.siteId !== undefined) bySite.set(enrolment.siteId, enrolment);
  }
  const batteries: Array<{ device: Device; enrolment: Enrolment }> = [];
  const leftOut: LeftOutBattery[] = [];
  for (const device of [...devices].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const direct = byDevice.get(device.id);
    const enrolment = direct ?? bySite.get(device.siteId);
    if (enrolment === undefined) continue;
    if (BATTERY_CLASSES.has(device.class)) batteries.push({ device, enrolment });
    else if (direct !== undefined)
      leftOut.push({ deviceId: device.id, reason: `not a battery (class ${device.class})` });
  }
  return { batteries, leftOut };
}

/** Why a candidate cannot be planned now, or undefined. */
export function exclusionOf(candidate: BatteryCandidate, now: number): string | undefined {
  const { device } = candidate;
  if (device.capabilities.storage === undefined) return 'no storage capability (capacityWh, maxChargeW, maxDischargeW)';
  if (!device.capabilities.controls.includes('fixedW'))
    return `cannot take fixedW setpoints (controls: ${device.capabilities.controls.join(', ') || 'none'})`;
  if (!device.enabled) return 'disabled';
  if (!candidate.online) return 'offline';
  const soc = candidate.readings.get('stateOfCharge');
  if (soc === undefined) return 'no stateOfCharge reading yet';
  if (soc.ts < now - candidate.staleAfterMs)
    return `stale: last stateOfCharge ${Math.round((now - soc.ts) / 1000)} s old (limit ${Math.round(candidate.staleAfterMs / 1000)} s)`;
  return undefined;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/** The parameters of a plannable candidate (exclusionOf gave undefined). */
export function plannedBattery(candidate: BatteryCandidate, settings: DispatchSettings): PlannedBattery {
  const { device } = candidate;
  const storage = device.capabilities.storage;
  if (storage === undefined) throw new Error(`${device.id} has no storage capability`);
  const soc = candidate.readings.get('stateOfCharge') as TimedValue;
  const soh = candidate.readings.get('stateOfHealth')?.value;
  const sohPct = settings.useStateOfHealth && soh !== undefined && soh > 0 && soh <= 100 ? soh : undefined;
  const nameplateKwh = storage.capacityWh / 1000;
  const reservePct = candidate.enrolment.reserve?.socReservePct ?? 0;
  const socMaxPct = clamp(storage.socMaxPct ?? 100, 0, 100);
  const socMinPct = Math.min(socMaxPct, clamp(Math.max(storage.socMinPct ?? 0, reservePct), 0, 100));
  const eta = Math.sqrt(storage.roundTripEfficiency ?? settings.roundTripEfficiency);
  const planned: PlannedBattery = {
    deviceId: device.id,
    siteId: device.siteId,
    soc0Pct: clamp(soc.value, 0, 100),
    socMeasuredAt: soc.ts,
    nameplateKwh,
    usableKwh: nameplateKwh * ((sohPct ?? 100) / 100),
    chargeKw: storage.maxChargeW / 1000,
    dischargeKw: storage.maxDischargeW / 1000,
    socMinPct,
    socMaxPct,
    etaCharge: eta,
    etaDischarge: eta,
  };
  if (sohPct !== undefined) planned.sohPct = sohPct;
  return planned;
}

/** Splits each site's connection limits between its planned batteries by power. */
function shareSiteLimits(planned: PlannedBattery[], sites: ReadonlyMap<string, Site | undefined>): void {
  const power = (b: PlannedBattery) => Math.max(b.chargeKw, b.dischargeKw);
  const totals = new Map<string, number>();
  for (const battery of planned) totals.set(battery.siteId, (totals.get(battery.siteId) ?? 0) + power(battery));
  for (const battery of planned) {
    const connection = sites.get(battery.siteId)?.connection;
    const total = totals.get(battery.siteId) ?? 0;
    const share = total > 0 ? power(battery) / total : 1;
    if (connection?.importLimitW !== undefined) battery.siteImportLimitKw = (connection.importLimitW / 1000) * share;
    if (connection?.exportLimitW !== undefined) battery.siteExportLimitKw = (connection.exportLimitW / 1000) * share;
  }
}

/** The optimiser's view of a planned battery. */
export function batteryParams(battery: PlannedBattery, settings: DispatchSettings): BatteryParams {
  const soh = (battery.sohPct ?? 100) / 100;
  const params: BatteryParams = {
    id: battery.deviceId,
    energyKwh: battery.nameplateKwh,
    chargeKw: battery.chargeKw,
    dischargeKw: battery.dischargeKw,
    socMin: battery.socMinPct / 100,
    socMax: battery.socMaxPct / 100,
    soc0: (battery.soc0Pct / 100) * soh,
    etaCharge: battery.etaCharge,
    etaDischarge: battery.etaDischarge,
    terminal: settings.terminal,
  };
  if (battery.sohPct !== undefined) params.soh = soh;
  if (settings.selfDischargePerHour > 0) params.selfDischargePerHour = settings.selfDischargePerHour;
  if (Object.keys(settings.degradation).length > 0) params.degradation = settings.degradation;
  const site: NonNullable<BatteryParams['site']> = {};
  if (battery.siteImportLimitKw !== undefined) site.importLimitKw = battery.siteImportLimitKw;
  if (battery.siteExportLimitKw !== undefined) site.exportLimitKw = battery.siteExportLimitKw;
  if (Object.keys(site).length > 0) params.site = site;
  return params;
}

export interface BuiltRequest {
  request: PlanRequest;
  batteries: PlannedBattery[];
  leftOut: LeftOutBattery[];
}

/**
 * The plan request over the priced intervals: every plannable candidate, the others left out
 * with their reason. `request.batteries` is empty when nothing can be planned.
 */
export function buildPlanRequest(input: {
  now: number;
  settings: DispatchSettings;
  starts: readonly number[];
  prices: IntervalPrices;
  candidates: readonly BatteryCandidate[];
}): BuiltRequest {
  const { settings, prices } = input;
  const leftOut: LeftOutBattery[] = [];
  const planned: PlannedBattery[] = [];
  const sites = new Map<string, Site | undefined>();
  for (const candidate of input.candidates) {
    const reason = exclusionOf(candidate, input.now);
    if (reason !== undefined) {
      leftOut.push({ deviceId: candidate.device.id, reason });
      continue;
    }
    planned.push(plannedBattery(candidate, settings));
    sites.set(candidate.device.siteId, candidate.site);
  }
  if (settings.siteLimits) shareSiteLimits(planned, sites);
  const intervals = prices.energyUsdPerMwh.length;
  const request: PlanRequest = {
    starts: input.starts.slice(0, intervals),
    intervalMinutes: settings.intervalMs / 60_000,
    energyPriceUsdPerMwh: prices.energyUsdPerMwh,
    batteries: planned.map((battery) => batteryParams(battery, settings)),
  };
  const sustainHours = settings.regulationSustainHours;
  if (sustainHours !== undefined && prices.regUpUsdPerMwH && prices.regDownUsdPerMwH)
    request.products = {
      regUp: { priceUsdPerMwH: prices.regUpUsdPerMwH, sustainHours },
      regDown: { priceUsdPerMwH: prices.regDownUsdPerMwH, sustainHours },
    };
  return { request, batteries: planned, leftOut };
}
