/** The IEEE 2030.5 utility server (CSIP / CSIP-AUS headend): contract, in-memory store and the server. */
export * from './contract.ts';
export { MemoryStateStore } from './memory-store.ts';
export { DEFAULT_POLL_RATE, DEFAULT_REGISTRATION_PIN } from './options.ts';
export { createUtilityServer, SEP_CONTENT_TYPE } from './server.ts';
export { isValidNmi } from './writes.ts';
