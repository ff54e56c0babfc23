/** OpenADR 2.0b XML codec: messages, emitOadr / parseOadr, signOadr / verifyOadr. */
export { DEFAULT_SIGNED_OBJECT_ID, type EmitOptions, emitOadr, emitOadrItemBase } from './emit.ts';
export { NS as OADR_NAMESPACES } from './namespaces.ts';
export {
  DEFAULT_MAX_BYTES,
  type OadrEnvelope,
  type ParseOptions,
  parseOadr,
  parseOadrEnvelope,
  parseOadrItemBase,
} from './parse.ts';
export {
  type SignOptions,
  signOadr,
  type VerifiedOadr,
  type VerifiedSigner,
  type VerifyOptions,
  verifyOadr,
} from './signature.ts';
export * from './types.ts';
export { formatDateTime, formatDuration, parseDateTime, parseDuration } from './values.ts';
