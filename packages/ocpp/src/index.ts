/**
 * @gridseam/ocpp: OCPP 1.6J and 2.0.1 typed messages, smart-charging schedules and the CSMS.
 * Planned in issue 6; this package holds no code yet.
 */
export const PACKAGE = '@gridseam/ocpp';
