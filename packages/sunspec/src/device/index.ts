/** The SunSpec device edge: discovery, reading, canonical mapping and controls. */

export {
  type ApplyResult,
  applySetpoint,
  CONTROL_CONTEXT_MODELS,
  encodePlan,
  type ReadBackEntry,
  type WriteFrame,
} from './apply.ts';
export {
  capabilitiesOf,
  classify,
  controlsOf,
  type ReadingQuirks,
  type ReadingsOptions,
  readingsOf,
} from './canonical.ts';
export { type PlannedWrite, type PlanOptions, planSetpoint, type WritePlan } from './controls.ts';
export { planReads, type ReadOptions, type ReadRequest, readModels } from './read.ts';
export {
  DEFAULT_BASES,
  END_MODEL_ID,
  type ScannedModel,
  type ScanOptions,
  type ScanResult,
  SUNS_MARKER,
  scanSunSpec,
} from './scan.ts';
