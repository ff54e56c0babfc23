/**
 * Amps and watts for AC charging: P = I x U x phases, with U the phase-to-neutral voltage
 * (OCPP 2.0.1 SmartChargingCtrlr defaults: SupplyVoltage 230 V, 3 phases; evcc converts the same way).
 */
import type { ChargingRateUnit, ElectricalFacts } from '../contract.ts';

export function ampsToWatts(amps: number, facts: ElectricalFacts): number {
  return amps * facts.voltage * facts.phases;
}

export function wattsToAmps(watts: number, facts: ElectricalFacts): number {
  return watts / (facts.voltage * facts.phases);
}

/**
 * A limit in `from` expressed in `to`. `numberPhases` (a schedule period's, when it gives one)
 * replaces the facts' phase count: a 1-phase period of 16 A is 3,680 W at 230 V.
 */
export function convertLimit(
  limit: number,
  from: ChargingRateUnit,
  to: ChargingRateUnit,
  facts: ElectricalFacts,
  numberPhases?: number,
): number {
  if (from === to) return limit;
  const phases = numberPhases === 1 || numberPhases === 2 || numberPhases === 3 ? numberPhases : facts.phases;
  const used: ElectricalFacts = { voltage: facts.voltage, phases };
  return from === 'A' ? ampsToWatts(limit, used) : wattsToAmps(limit, used);
}

/** One digit after the decimal point, as the 1.6 and 2.0.1 schemas ask of limits ("e.g. 8.1"). */
export function roundLimit(value: number): number {
  return Math.round(value * 10) / 10;
}
