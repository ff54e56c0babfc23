/**
 * @gridseam/console: the operator console (web UI) served by the gateway.
 * Planned in issue 8 (the main job); this package holds no code yet. Until then the gateway's
 * operator API (/api, /openapi.json) is the operator's interface.
 */
export const PACKAGE = '@gridseam/console';
