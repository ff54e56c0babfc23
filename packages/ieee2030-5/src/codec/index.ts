/** IEEE 2030.5 XML codec: emitSep / parseSep and hex helpers. */
export { DEFAULT_CSIPAUS_VERSION, type EmitOptions, emitSep } from './emit.ts';
export { bitsToHex, hasBit, hexBitmap, parseHexBitmap } from './hex.ts';
export { DEFAULT_MAX_BYTES, type ParseOptions, parseSep } from './parse.ts';
