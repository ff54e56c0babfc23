/**
 * The OpenADR 3 object types, one namespace per version, generated from the vendored OpenAPI
 * documents by scripts/generate-v3-types.ts (`npm run generate:openadr-types`): `V310.Program`,
 * `V310.EventRequest`, `V301.ValuesMap`, `V310.SchemaMap`, `V301.SCHEMA_NAMES`, ...
 */
export * as V301 from './v301.ts';
export * as V310 from './v310.ts';
