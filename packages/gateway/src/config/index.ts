export {
  ControlSection,
  controlEngineOptions,
  DEFAULT_CONTROL_PERIOD_S,
  DEFAULT_SETPOINT_MARGIN_S,
} from './control.ts';
export { type ConfigIssue, keyPathOf } from './issues.ts';
export {
  type LoadedConfig,
  loadConfig,
  MAX_ALIAS_COUNT,
  MAX_CONFIG_BYTES,
  parseConfig,
  parseConfigObject,
} from './load.ts';
export * from './ocpp.ts';
export * from './schema.ts';
export { type SeedResult, seedFleet } from './seed.ts';
export { isSqliteFile, prepareStoreLocation } from './store-location.ts';
export {
  DEFAULT_MODBUS_PORT,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_SUNSPEC_CONCURRENCY,
  DEFAULT_SUNSPEC_TIMEOUT_MS,
  parseUnits,
  SunSpecDeviceConfig,
  SunSpecDiscoverConfig,
  SunSpecSection,
  sunspecAddress,
  sunspecIssues,
} from './sunspec.ts';
export { resolveApiTokens, sha256Hex } from './tokens.ts';
