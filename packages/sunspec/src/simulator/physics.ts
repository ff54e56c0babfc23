/**
 * The small physical models behind the simulated devices: a clear-sky PV curve, a household load
 * profile and a battery with round-trip efficiency and SoC limits. Pure and deterministic: the same
 * simulated time (and unit) gives the same value, so tests can assert exact numbers.
 */

export const HOUR_MS = 3_600_000;

/** Hour of day in [0, 24) of a simulated epoch time, in UTC shifted by `utcOffsetMinutes`. */
export function hourOfDay(simMs: number, utcOffsetMinutes = 0): number {
  const hours = (simMs + utcOffsetMinutes * 60_000) / HOUR_MS;
  return ((hours % 24) + 24) % 24;
}

export interface SolarDay {
  /** Hour of sunrise and sunset (local), 6 and 18 by default. */
  sunrise: number;
  sunset: number;
}

export const DEFAULT_SOLAR_DAY: SolarDay = { sunrise: 6, sunset: 18 };

/**
 * Clear-sky production as a fraction of the peak: 0 at night, a bell between sunrise and sunset
 * (sin^1.5 of the sun's progress, so the shoulders are lower than a plain sine), 1 at solar noon.
 */
export function clearSkyFraction(hour: number, day: SolarDay = DEFAULT_SOLAR_DAY): number {
  if (hour <= day.sunrise || hour >= day.sunset) return 0;
  const progress = (hour - day.sunrise) / (day.sunset - day.sunrise);
  return Math.sin(Math.PI * progress) ** 1.5;
}

/**
 * A household load in W: a base load, a morning and an evening peak (Gaussian bumps around 07:30
 * and 19:00) and some daytime use. `scale` 1 gives 400 W at night and about 2.7 kW at 19:00.
 */
export function siteLoadW(hour: number, scale = 1): number {
  const morning = 1200 * Math.exp(-(((hour - 7.5) / 1) ** 2));
  const evening = 2000 * Math.exp(-(((hour - 19) / 1.5) ** 2));
  const daytime = hour > 8 && hour < 17 ? 300 : 0;
  return scale * (400 + morning + evening + daytime);
}

/** A deterministic number in [0, 1) per unit id, for small differences between simulated units. */
export function unitVariation(unit: number): number {
  // Knuth's multiplicative hash, reduced to [0, 1).
  return ((Math.imul(unit, 2654435761) >>> 0) % 1000) / 1000;
}

export interface BatteryParams {
  capacityWh: number;
  /** Round-trip efficiency in (0, 1]; charging and discharging each lose sqrt of it. */
  roundTripEfficiency: number;
}

export interface BatteryStep {
  /** Average AC power over the step (W, positive = discharge), after the SoC limits. */
  averageW: number;
  /** AC power at the end of the step: 0 when a limit stopped it. */
  endW: number;
  /** Energy moved at the AC side in this step, Wh (positive = discharged). */
  acWh: number;
}

/** A battery pack: stored energy integrated from AC power with efficiency, clamped to SoC limits. */
export class BatteryPack {
  readonly capacityWh: number;
  readonly oneWayEfficiency: number;
  energyWh: number;
  /** Energy charged plus discharged at the cell side, Wh (for the cycle count). */
  throughputWh = 0;

  constructor(params: BatteryParams, initialSocPct: number) {
    this.capacityWh = params.capacityWh;
    this.oneWayEfficiency = Math.sqrt(params.roundTripEfficiency);
    this.energyWh = (params.capacityWh * initialSocPct) / 100;
  }

  get socPct(): number {
    return (this.energyWh / this.capacityWh) * 100;
  }

  /**
   * Applies AC power `powerW` (positive = discharge, the SunSpec sign) for `dtMs`, stopping at
   * `maxPct` when charging and at `minPct` when discharging. Charging stores P * eta; discharging
   * draws P / eta from the cells (eta = sqrt(round-trip efficiency)).
   */
  step(powerW: number, dtMs: number, minPct: number, maxPct: number): BatteryStep {
    if (powerW === 0 || dtMs <= 0) {
      const blocked = (powerW < 0 && this.socPct >= maxPct) || (powerW > 0 && this.socPct <= minPct);
      return { averageW: 0, endW: blocked ? 0 : powerW, acWh: 0 };
    }
    const hours = dtMs / HOUR_MS;
    if (powerW < 0) {
      const room = Math.max(0, (this.capacityWh * maxPct) / 100 - this.energyWh);
      const wanted = -powerW * this.oneWayEfficiency * hours;
      const stored = Math.min(room, wanted);
      this.energyWh += stored;
      this.throughputWh += stored;
      const fraction = stored / wanted;
      return { averageW: powerW * fraction, endW: stored < wanted ? 0 : powerW, acWh: powerW * fraction * hours };
    }
    const available = Math.max(0, this.energyWh - (this.capacityWh * minPct) / 100);
    const wanted = (powerW / this.oneWayEfficiency) * hours;
    const drawn = Math.min(available, wanted);
    this.energyWh -= drawn;
    this.throughputWh += drawn;
    const fraction = drawn / wanted;
    return { averageW: powerW * fraction, endW: drawn < wanted ? 0 : powerW, acWh: powerW * fraction * hours };
  }
}
