/** Numbers with their units, times in the browser's zone. Absent values show as an en dash. */

const DASH = '–';

/** Names and ids in natural order: "site-2" before "site-10". */
export const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

function fixed(value: number, digits: number): string {
  return value.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Watts as kW (or MW above 10 MW), signed as given (generator convention: + is export). */
export function power(watts: number | null | undefined): string {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return DASH;
  if (Math.abs(watts) >= 10_000_000) return `${fixed(watts / 1_000_000, 2)} MW`;
  return `${fixed(watts / 1000, 2)} kW`;
}

/** Watt-hours as kWh (or MWh above 10 MWh). */
export function energy(wattHours: number | null | undefined): string {
  if (wattHours === null || wattHours === undefined || !Number.isFinite(wattHours)) return DASH;
  if (Math.abs(wattHours) >= 10_000_000) return `${fixed(wattHours / 1_000_000, 2)} MWh`;
  return `${fixed(wattHours / 1000, 1)} kWh`;
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${fixed(value, digits)} %`;
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return value.toLocaleString('en-GB');
}

/** Units of the canonical measurands (docs/MODEL.md). */
const MEASURAND_UNITS: Readonly<Record<string, string>> = {
  activePower: 'W',
  reactivePower: 'var',
  apparentPower: 'VA',
  powerFactor: '',
  voltage: 'V',
  current: 'A',
  frequency: 'Hz',
  energyImported: 'Wh',
  energyExported: 'Wh',
  stateOfCharge: '%',
  stateOfHealth: '%',
  availableEnergy: 'Wh',
  maxChargePower: 'W',
  maxDischargePower: 'W',
  temperature: '°C',
  setpointTemperature: '°C',
};

/** A canonical measurand name in words: stateOfCharge -> "State of charge". */
export function measurandLabel(measurand: string): string {
  const words = measurand.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One measurand's value with its unit, W and Wh shown in kilo. */
export function measurandValue(measurand: string, value: number | string): string {
  if (typeof value === 'string') return value === '' ? DASH : value;
  const unit = MEASURAND_UNITS[measurand];
  if (unit === 'W') return power(value);
  if (unit === 'Wh') return energy(value);
  if (unit === '%') return percent(value);
  if (unit === 'var' || unit === 'VA') return `${fixed(value / 1000, 2)} k${unit}`;
  if (unit === undefined || unit === '') return fixed(value, 2);
  return `${fixed(value, unit === 'Hz' ? 2 : 1)} ${unit}`;
}

/** A setpoint or signal value with the unit its kind implies (docs/MODEL.md, Setpoint kinds). */
export function setpointValue(kind: string, value: number, unit?: string): string {
  if (kind === 'targetSoc') return percent(value, 0);
  if (kind === 'connect' || kind === 'energize') return value === 1 ? 'on (1)' : 'off (0)';
  if (kind === 'evChargingLimit' && unit === 'A') return `${fixed(value, 1)} A`;
  if (kind === 'simpleLevel') return `level ${value}`;
  if (kind === 'price') return `${value} ${unit ?? ''}`.trim();
  if (unit !== undefined && unit !== 'W') return `${value} ${unit}`;
  return power(value);
}

export function time(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return DASH;
  return new Date(epochMs).toLocaleString('en-GB', {
    day: '2-digit',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function clock(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

/** "3 min ago", "in 2 h" relative to now. */
export function relative(epochMs: number, now = Date.now()): string {
  const seconds = Math.round((epochMs - now) / 1000);
  const size = Math.abs(seconds);
  const text =
    size < 60
      ? `${size} s`
      : size < 3600
        ? `${Math.round(size / 60)} min`
        : size < 172_800
          ? `${fixed(size / 3600, 1)} h`
          : `${Math.round(size / 86_400)} d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/**
 * How long ago something was seen: like `relative`, but never "in ..." (a reading stamped by a
 * device clock slightly ahead of the browser's is "just now"), and "just now" under 5 s.
 */
export function ago(epochMs: number, now = Date.now()): string {
  return now - epochMs < 5000 ? 'just now' : relative(epochMs, now);
}

export function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${fixed(seconds / 3600, 1)} h`;
}

/** US dollars (the dispatch's money): "$12.34", "−$0.05"; below a cent with more digits so it is not shown as 0. */
export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const size = Math.abs(value);
  const digits = size !== 0 && size < 0.01 ? 4 : 2;
  return `${value < 0 ? '−' : ''}$${fixed(size, digits)}`;
}

/** kW with two decimals (the dispatch's powers, discharge positive). */
export function kw(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${fixed(value, 2)} kW`;
}

/** A fraction of battery life (sum of Phi(depth)) as a percentage with two significant digits. */
export function lifeShare(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH;
  if (fraction === 0) return '0 %';
  const pct = fraction * 100;
  return `${pct.toLocaleString('en-GB', { maximumSignificantDigits: 2 })} %`;
}

/** A plain number with at most `digits` decimals. */
export function decimal(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return value.toLocaleString('en-GB', { maximumFractionDigits: digits });
}
