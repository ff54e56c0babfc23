/**
 * The SunSpec codec: model definitions, register blocks to named and scaled values, and back.
 * Pure: no I/O, no timers.
 */
export { decodeModel } from './decode.ts';
export { encodeModel } from './encode.ts';
export { compileModel } from './layout.ts';
export { getModelDefinition, modelIds, modelName } from './models.ts';
export * from './types.ts';
export { encodeGroupWrite, encodePointWrite, pointAt } from './write.ts';
