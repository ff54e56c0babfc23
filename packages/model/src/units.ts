/**
 * Measurands and their units. Each measurand has exactly one canonical unit; a reading
 * carrying another unit is rejected rather than converted silently.
 *
 * Sign convention (stated once, see docs/MODEL.md): active and reactive power are positive
 * when they flow OUT of the measured thing towards the grid (generation, battery discharge,
 * site export) and negative when they flow INTO it (battery charge, EV charging, load, site
 * import). Energy is never signed: imports and exports are two monotonic counters.
 */
export const NUMERIC_MEASURANDS = {
  activePower: 'W',
  reactivePower: 'var',
  apparentPower: 'VA',
  powerFactor: '1',
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
  temperature: 'Cel',
  setpointTemperature: 'Cel',
} as const;

/** Measurands whose value is a string, not a number. */
export const TEXT_MEASURANDS = {
  /** One of OPERATING_STATES. */
  operatingState: 'state',
  /** A device alarm code, one reading per active alarm; an empty string clears all alarms. */
  alarm: 'code',
} as const;

export type NumericMeasurand = keyof typeof NUMERIC_MEASURANDS;
export type TextMeasurand = keyof typeof TEXT_MEASURANDS;
export type Measurand = NumericMeasurand | TextMeasurand;
export type Unit = (typeof NUMERIC_MEASURANDS)[NumericMeasurand] | (typeof TEXT_MEASURANDS)[TextMeasurand];

export const NUMERIC_MEASURAND_NAMES = Object.keys(NUMERIC_MEASURANDS) as NumericMeasurand[];
export const TEXT_MEASURAND_NAMES = Object.keys(TEXT_MEASURANDS) as TextMeasurand[];
export const MEASURAND_NAMES: Measurand[] = [...NUMERIC_MEASURAND_NAMES, ...TEXT_MEASURAND_NAMES];

export function unitOf(measurand: Measurand): Unit {
  return measurand in NUMERIC_MEASURANDS
    ? NUMERIC_MEASURANDS[measurand as NumericMeasurand]
    : TEXT_MEASURANDS[measurand as TextMeasurand];
}

export function isNumericMeasurand(measurand: string): measurand is NumericMeasurand {
  return Object.hasOwn(NUMERIC_MEASURANDS, measurand);
}

/** Operating states, the union of SunSpec St/StVnd, OCPP connector status and 2030.5 DERStatus. */
export const OPERATING_STATES = [
  'off',
  'sleeping',
  'starting',
  'running',
  'throttled',
  'standby',
  'charging',
  'discharging',
  'idle',
  'fault',
  'unavailable',
] as const;
export type OperatingState = (typeof OPERATING_STATES)[number];
