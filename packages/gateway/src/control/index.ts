/**
 * The control engine's pure core (issue 5): arbitration of control intents from any source, and
 * allocation of site and aggregate targets to devices. Protocol-free and without I/O: the caller
 * passes the instant; the engine around it (commands, read-back, history) lives elsewhere.
 */

export {
  allocatableFromDevice,
  allocateAggregate,
  allocateSite,
  DEFAULT_MARGIN_MS,
  type DeviceState,
  deviceSetpointFor,
  type FleetSolution,
  type PreparedFleet,
  prepareFleet,
  solveFleet,
} from './allocate.ts';
export {
  arbitrate,
  decisionKey,
  intentProblems,
  OPERATOR_OVERRIDE_MAX_S,
  OPERATOR_OVERRIDE_PRIMACY,
  operatorOverride,
  winnersByKey,
} from './arbitrate.ts';
export * from './types.ts';
