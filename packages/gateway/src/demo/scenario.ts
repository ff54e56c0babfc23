/**
 * The day `gridseam demo` plays (pure): what happens at which simulated time of day, decided once
 * from the fleet, the speed, the profile and the seed. The run (run.ts) turns it into actions on
 * the real chain at the matching real times (ScenarioClock.realAt).
 *
 * - Morning solar: the simulators' clear-sky curve (sunrise 06:00, noon peak, sunset 18:00).
 * - 11:00-14:00: an export limit from the IEEE 2030.5 utility (CSIP-AUS opModExpLimW per site
 *   connection point; CSIP has no export limit, so there a generation limit, opModMaxLimW, in
 *   percent of each site's setMaxW). One DERControl for every EndDevice of the program.
 * - 12:00-14:00: one battery stops answering on Modbus (a communications outage) and comes back.
 * - 16:30-19:30: EVs arrive at the charging stations (one each, seeded times and energy needs).
 * - 17:00-20:00: an evening peak event from the OpenADR 3 VTN: an IMPORT_CAPACITY_LIMIT per site
 *   (the engine discharges batteries first, then limits EV charging).
 * Each utility publishes its event ahead of time (PUBLISH_LEAD_MS simulated, at least
 * MIN_LEAD_REAL_MS real), so clients that poll see it before it starts.
 */
import { seededRandom } from '@gridseam/model';
import type { EvSpec } from '@gridseam/ocpp';
import { HOUR_MS, MINUTE_MS } from './clock.ts';
import type { FleetPlan } from './fleet.ts';

export type DemoProfile = 'csip-aus' | 'csip';

/** How long before its start a utility publishes an event, simulated ms. */
export const PUBLISH_LEAD_MS = 3 * HOUR_MS;
/** ... but never less than this in real ms, so a few polls happen before the start at any speed. */
export const MIN_LEAD_REAL_MS = 10_000;

export const EXPORT_LIMIT_W = 1500;
/** CSIP: opModMaxLimW in hundredths of a percent of setMaxW (40 %). */
export const GENERATION_LIMIT_PCT_HUNDREDTHS = 4000;
export const PEAK_IMPORT_LIMIT_KW = 1;
/** The EV chargers' per-phase current (a three-phase 11 kW wallbox). */
export const CHARGER_MAX_CURRENT_A = 16;
export const EV_CAPACITY_WH = 60_000;

export interface TimedWindow {
  /** Time of day, ms after midnight of the demo day. */
  startOffsetMs: number;
  endOffsetMs: number;
  /** When the utility publishes it (time of day; 0 at the earliest). */
  publishOffsetMs: number;
}

export interface ScenarioPlan {
  profile: DemoProfile;
  /** The 2030.5 DERControl: CSIP-AUS export limit (W) or CSIP generation limit (hundredths of %). */
  utilityControl: TimedWindow &
    ({ mode: 'opModExpLimW'; limitW: number } | { mode: 'opModMaxLimW'; pctHundredths: number });
  /** The OpenADR 3 event: IMPORT_CAPACITY_LIMIT per site, kW. */
  peakEvent: TimedWindow & { importLimitKw: number };
  /** The device that drops off the network and comes back. */
  outage: { deviceId: string; unit: number; startOffsetMs: number; endOffsetMs: number };
  /** One EV per charging station. */
  arrivals: Array<{ identity: string; atOffsetMs: number; ev: EvSpec }>;
}

/** The simulated lead of a publication at this speed: PUBLISH_LEAD_MS, or MIN_LEAD_REAL_MS of real time if longer. */
export function publishLeadMs(speed: number): number {
  return Math.max(PUBLISH_LEAD_MS, MIN_LEAD_REAL_MS * speed);
}

function window(startHour: number, endHour: number, speed: number): TimedWindow {
  const startOffsetMs = startHour * HOUR_MS;
  return {
    startOffsetMs,
    endOffsetMs: endHour * HOUR_MS,
    publishOffsetMs: Math.max(0, startOffsetMs - publishLeadMs(speed)),
  };
}

export function planScenario(
  fleet: FleetPlan,
  options: { profile: DemoProfile; speed: number; seed: number },
): ScenarioPlan {
  const random = seededRandom(options.seed);
  const midday = window(11, 14, options.speed);
  const utilityControl: ScenarioPlan['utilityControl'] =
    options.profile === 'csip-aus'
      ? { ...midday, mode: 'opModExpLimW', limitW: EXPORT_LIMIT_W }
      : { ...midday, mode: 'opModMaxLimW', pctHundredths: GENERATION_LIMIT_PCT_HUNDREDTHS };
  const first = fleet.sites[0];
  if (first === undefined) throw new RangeError('the fleet has no site');
  const arrivals: ScenarioPlan['arrivals'] = [];
  for (const site of fleet.sites) {
    if (site.charger === undefined) continue;
    const atOffsetMs = 16.5 * HOUR_MS + Math.floor(random() * 180) * MINUTE_MS;
    const socPct = Math.round(20 + random() * 40);
    arrivals.push({
      identity: site.charger.identity,
      atOffsetMs,
      ev: {
        capacityWh: EV_CAPACITY_WH,
        socPct,
        energyNeedWh: Math.round((EV_CAPACITY_WH * (90 - socPct)) / 100),
        maxCurrentA: CHARGER_MAX_CURRENT_A,
      },
    });
  }
  return {
    profile: options.profile,
    utilityControl,
    peakEvent: { ...window(17, 20, options.speed), importLimitKw: PEAK_IMPORT_LIMIT_KW },
    outage: {
      deviceId: first.storage.deviceId,
      unit: first.storage.unit,
      startOffsetMs: 12 * HOUR_MS,
      endOffsetMs: 14 * HOUR_MS,
    },
    arrivals,
  };
}
