/**
 * @gridseam/ieee2030-5: IEEE 2030.5 resources, XML codec, LFDI/SFDI, event rules, client and server.
 * Planned in issues 4 and 5; this package holds no code yet.
 */
export const PACKAGE = '@gridseam/ieee2030-5';
