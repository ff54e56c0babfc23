/** Smart charging, pure: units, wire profiles, the station's profile checks, composite schedules. */

export type { CompositeQuery } from './composite.ts';
export { compositeSchedule, DEFAULT_LIMIT_AMPS, DEFAULT_LIMIT_WATTS, limitAt, periodInForce } from './composite.ts';
export { profileProblems } from './problems.ts';
export { ampsToWatts, convertLimit, roundLimit, wattsToAmps } from './units.ts';
export type { V16ChargingProfile, V201ChargingProfile } from './wire.ts';
export { fromV16Profile, fromV201Profile, toV16Profile, toV201Profile } from './wire.ts';
