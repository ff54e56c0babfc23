export { canTransitionEvent } from './event-status.ts';
export {
  DeviceInput,
  EventInput,
  EventStatusInput,
  MembershipEndInput,
  MembershipInput,
} from './inputs.ts';
export { type Actor, busKeyFor, FleetRegistry, type FleetRegistryOptions } from './registry.ts';
export { checkValue, nonFiniteIssues, validated } from './validation.ts';
