/**
 * @gridseam/sunspec: SunSpec Modbus models, register codec, discovery and the Modbus TCP transport.
 * Planned in issue 3 (SunSpec Modbus device edge); this package holds no code yet.
 */
export const PACKAGE = '@gridseam/sunspec';
