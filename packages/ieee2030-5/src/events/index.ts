/** IEEE 2030.5 event rules (randomisation, server EventStatus and supersession, client schedule and responses). */
export {
  type ActiveSchedule,
  type ControlTypeResolution,
  clientWindow,
  type DueResponse,
  resolveActiveControls,
  responseKey,
  responsesDue,
  type ScheduleInput,
  stateFromEventStatus,
  type ValueSource,
} from './client.ts';
export { controlTypesOf, intervalsOverlap, responseRequiredBits } from './control-types.ts';
export {
  drawRandomization,
  earliestEffectiveStart,
  effectiveWindow,
  hasRandomization,
  latestEffectiveEnd,
  ONE_HOUR_RANGE,
  randomizationBound,
  ZERO_OFFSETS,
} from './randomization.ts';
export {
  type ServerEventStatus,
  type SupersessionFieldRule,
  type SupersessionOptions,
  type SupersessionOutcome,
  serverEventStatus,
  supersededBy,
  visibleUntil,
} from './server.ts';
export {
  CONTROL_RESPONSE,
  CONTROL_TYPES,
  type ControlBaseValues,
  type ControlResponseStatus,
  type ControlType,
  CURRENT_STATUS,
  type CurrentStatus,
  type DefaultControl,
  type EffectiveWindow,
  type EventInterval,
  type RandomizationOffsets,
  type ScheduledControl,
} from './types.ts';
