/**
 * @gridseam/ieee2030-5: IEEE 2030.5 resources and XML codec, LFDI/SFDI and the test PKI, TLS
 * settings, event rules, the utility server (issue 4) and the client (issue 5).
 */
export * from './client/index.ts';
export * from './codec/index.ts';
export * from './events/index.ts';
export * from './identity/index.ts';
export * from './pki/index.ts';
export * from './resources/index.ts';
export * from './server/index.ts';
export * from './tls.ts';
