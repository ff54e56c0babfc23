/**
 * @gridseam/openadr: OpenADR 2.0b codec and VEN, 3.x types, VEN and VTN (issue 7).
 */

// OpenADR 2.0b XML codec (messages as typed data, emit/parse, XML signatures).
export * as Oadr2b from './v2b/codec/index.ts';
export {
  emitOadr,
  type OadrMessage,
  type OadrMessageType,
  parseOadr,
  parseOadrEnvelope,
  signOadr,
  verifyOadr,
} from './v2b/codec/index.ts';
export * from './v3/types/index.ts';
export {
  OADR3_VERSIONS,
  type Oadr3Operation,
  type Oadr3SchemaMap,
  type Oadr3Version,
  type OpenapiValidator,
  openapiValidator,
  type ParsedParameters,
  type Problem,
  type RawParameters,
} from './v3/validate.ts';
// OpenADR 3 VTN (createVtn, VtnStore, MemoryVtnStore).
export * from './v3/vtn/index.ts';
