/**
 * @gridseam/model: the canonical DER model. Types and JSON Schemas (TypeBox), validation that
 * names the path of every bad field, stable error codes, and the pure rules that go with them.
 * No I/O: every other package may import this one; this one imports nothing of ours.
 */
export * from './adapter.ts';
export * from './command.ts';
export * from './common.ts';
export * from './device.ts';
export * from './errors.ts';
export * from './group.ts';
export * from './program.ts';
export * from './random.ts';
export * from './reading.ts';
export * from './schemas.ts';
export * from './setpoint.ts';
export * from './site.ts';
export * from './units.ts';
export * from './validate.ts';
