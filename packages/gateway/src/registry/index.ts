export { canTransitionEvent } from './event-status.ts';
export {
  DeviceInput,
  EventInput,
  EventStatusInput,
  MembershipEndInput,
  MembershipInput,
} from './inputs.ts';
export { type Actor, FleetRegistry, type FleetRegistryOptions } from './registry.ts';
