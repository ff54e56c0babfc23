/** The CSMS (issue 6): `createCsms` and the pieces a caller may want to reason about. */
export { CSMS_DEFAULTS, createCsms } from './csms.ts';
export { LIMIT_PURPOSES, limitProfileId, PROFILE_ID_BASE, READ_BACK_TOLERANCE } from './limits.ts';
