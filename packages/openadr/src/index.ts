/**
 * @gridseam/openadr: OpenADR 2.0b codec and VEN, 3.x types, VEN and VTN (issue 7).
 */

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
