/** The simulated station's smart-charging limits, as its configuration reports them. */

/**
 * IEC 61851-1: the control pilot cannot offer less than 6 A; below it a real EV stops charging.
 * The simulator applies it only when asked (`minChargingCurrentA`), by default any offer is drawn.
 */
export const IEC_61851_MIN_CURRENT_A = 6;
/** ChargeProfileMaxStackLevel (1.6) / SmartChargingCtrlr.ProfileStackLevel (2.0.1). */
export const MAX_STACK_LEVEL = 8;
/** ChargingScheduleMaxPeriods (1.6) / SmartChargingCtrlr.PeriodsPerSchedule (2.0.1). */
export const MAX_PERIODS_PER_SCHEDULE = 1024;
/** MaxChargingProfilesInstalled (1.6) / SmartChargingCtrlr.Entries ChargingProfiles (2.0.1). */
export const MAX_INSTALLED_PROFILES = 64;
/** The measurands the simulator samples (both versions spell them the same way). */
export const SAMPLED_MEASURANDS = [
  'Energy.Active.Import.Register',
  'Power.Active.Import',
  'Current.Import',
  'Current.Offered',
  'SoC',
] as const;
export type SampledMeasurand = (typeof SAMPLED_MEASURANDS)[number];
