/**
 * The defaults and bounds of `gridseam demo`'s options (no imports, so the CLI can read them without
 * loading the demo).
 */
export const DEFAULT_SITES = 20;
export const MAX_SITES = 5000;
/** Simulated seconds per real second: a day in 10 minutes. */
export const DEFAULT_SPEED = 144;
export const MAX_SPEED = 3600;
export const DEFAULT_PORT = 8080;
export const DEFAULT_DATA_DIR = './gridseam-demo-data';
