/**
 * The checks a charging station makes before it installs a charging profile (OCPP 2.0.1 K01, as
 * libocpp lists its rejection reasons in doc/ocpp_201_smart_charging.md; the 1.6 equivalents of
 * §3.13 / §5.16 / §7.8). Pure: station state (is there a transaction, does the EVSE exist, stack
 * level limits) is the station's own business. Each message starts with the requirement it cites.
 */
import type { ChargingProfileSpec, OcppVersion } from '../contract.ts';

export function profileProblems(spec: ChargingProfileSpec, version: OcppVersion, evseId?: number): string[] {
  const problems: string[] = [];
  const is201 = version === '2.0.1';
  const add = (requirement: string, message: string): void => {
    problems.push(`${requirement}: ${message}`);
  };

  if (!Number.isInteger(spec.id)) add('ChargingProfile.id', 'the profile id must be an integer');
  if (!Number.isInteger(spec.stackLevel) || spec.stackLevel < 0) {
    add(
      'ChargingProfile.stackLevel',
      `stackLevel must be an integer >= 0 ("Lowest level is 0"), got ${spec.stackLevel}`,
    );
  }
  if (spec.unit !== 'A' && spec.unit !== 'W') {
    add(is201 ? 'K01.FR.26' : 'ChargingRateUnitType', `chargingRateUnit must be A or W, got ${String(spec.unit)}`);
  }
  if (!is201 && spec.purpose === 'ExternalConstraints') {
    add('1.6 ChargingProfilePurposeType', 'OCPP 1.6 has no ExternalConstraints purpose');
  }

  // Schedule periods.
  if (spec.periods.length === 0) {
    add(is201 ? 'K01 ChargingProfileNoChargingSchedulePeriods' : '1.6 ChargingSchedule', 'the schedule has no periods');
  } else {
    const first = spec.periods[0]!;
    if (first.startPeriod !== 0) {
      add('K01.FR.31', `the startPeriod of the first chargingSchedulePeriod must be 0, got ${first.startPeriod}`);
    }
    for (let i = 0; i < spec.periods.length; i++) {
      const period = spec.periods[i]!;
      if (!Number.isInteger(period.startPeriod) || period.startPeriod < 0) {
        add('ChargingSchedulePeriod.startPeriod', `period ${i}: startPeriod must be a whole number of seconds >= 0`);
      }
      if (i > 0 && period.startPeriod <= spec.periods[i - 1]!.startPeriod) {
        add(
          'K01.FR.35',
          `period ${i}: startPeriod values must increase (${period.startPeriod} after ${spec.periods[i - 1]!.startPeriod})`,
        );
      }
      if (!Number.isFinite(period.limit) || period.limit < 0) {
        add('ChargingSchedulePeriod.limit', `period ${i}: limit must be a number >= 0, got ${period.limit}`);
      }
      if (period.numberPhases !== undefined && ![1, 2, 3].includes(period.numberPhases)) {
        add(
          'ChargingSchedulePeriod.numberPhases',
          `period ${i}: numberPhases must be 1, 2 or 3, got ${period.numberPhases}`,
        );
      }
    }
  }
  if (spec.durationS !== undefined && (!Number.isInteger(spec.durationS) || spec.durationS <= 0)) {
    add('ChargingSchedule.duration', `duration must be a whole number of seconds > 0, got ${spec.durationS}`);
  }

  // Kind and its start.
  if ((spec.kind === 'Absolute' || spec.kind === 'Recurring') && spec.startSchedule === undefined) {
    add('K01.FR.40', `an ${spec.kind} profile needs a startSchedule`);
  }
  if (spec.kind === 'Relative' && spec.startSchedule !== undefined) {
    add('K01.FR.41', 'a Relative profile must not have a startSchedule');
  }
  if (spec.kind === 'Recurring' && spec.recurrency === undefined) {
    add('ChargingProfile.recurrencyKind', 'a Recurring profile needs a recurrencyKind (Daily or Weekly)');
  }
  if (spec.kind !== 'Recurring' && spec.recurrency !== undefined) {
    add('ChargingProfile.recurrencyKind', `recurrencyKind only goes with Recurring profiles, not ${spec.kind}`);
  }
  if (spec.validFrom !== undefined && spec.validTo !== undefined && spec.validTo <= spec.validFrom) {
    add('ChargingProfile.validTo', 'validTo must be later than validFrom');
  }

  // Purpose.
  if (spec.purpose === 'StationMax') {
    if (spec.kind === 'Relative') add('K01.FR.38', 'a station maximum profile cannot be Relative');
    if (evseId !== undefined && evseId !== 0) {
      add(is201 ? 'K01.FR.03' : '1.6 ChargePointMaxProfile', `a station maximum profile goes on EVSE 0, not ${evseId}`);
    }
  }
  if (spec.purpose === 'Tx') {
    if (is201 && spec.transactionId === undefined) {
      add('K01.FR.03', 'a TxProfile needs the transactionId it applies to');
    }
    if (evseId === 0) add(is201 ? 'K01.FR.16' : '1.6 TxProfile', 'a TxProfile goes on an EVSE > 0');
  } else if (spec.transactionId !== undefined) {
    add('ChargingProfile.transactionId', 'transactionId is only allowed with TxProfile');
  }
  return problems;
}
