/** The charge-point simulator: one station (OCPP 1.6J or 2.0.1) and fleets of them. */
export {
  IEC_61851_MIN_CURRENT_A,
  MAX_INSTALLED_PROFILES,
  MAX_PERIODS_PER_SCHEDULE,
  MAX_STACK_LEVEL,
} from './constants.ts';
export { type FleetStats, SimulatorFleet, type SimulatorFleetOptions } from './fleet.ts';
export { ChargePointSimulator } from './station.ts';
export type {
  ChargePointSimulatorOptions,
  EvSpec,
  MeterSample,
  ProfileRejection,
  SimulatorArrivals,
  SimulatorEvents,
  SimulatorEvseOptions,
  SimulatorStats,
  StopCause,
} from './types.ts';
