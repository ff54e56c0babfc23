export { runSunSpecSimulatorCli, type SunSpecSimulatorCliOptions } from './cli.ts';
export { DeviceBase, isProfileName, PROFILES, type ProfileName, Reversion, type SimulatedDevice } from './device.ts';
export { MapLayout, type ModelPlacement, type PointLimits, type PointSlot } from './layout.ts';
export {
  BatteryPack,
  clearSkyFraction,
  HOUR_MS,
  hourOfDay,
  siteLoadW,
  unitVariation,
} from './physics.ts';
export {
  Battery,
  type DeviceFactory,
  deviceFactory,
  Hybrid,
  LegacyInverter,
  Meter,
  PROFILE_MODELS,
  type ProfileOptions,
  PvInverter,
} from './profiles/index.ts';
export {
  END_MODEL_ID,
  type ModbusExceptionResult,
  RegisterMap,
  type RegisterMapOptions,
  SUNS_MARKER,
} from './register-map.ts';
export { MAX_UNITS_PER_PORT, parseProfiles, SunSpecSimulator, type SunSpecSimulatorOptions } from './simulator.ts';
