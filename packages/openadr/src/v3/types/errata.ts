/**
 * Corrections to the vendored OpenADR 3 OpenAPI documents (packages/openadr/spec), applied in code
 * by both the type generator (scripts/generate-v3-types.ts) and the run-time validator
 * (src/v3/validate.ts), so the documents themselves stay verbatim.
 *
 * A correction marks a `$ref` inside an `allOf` with `x-gridseam-omit`: the referenced schema is
 * used without the listed properties (the generator writes `Omit<Target, 'key'>`; the validator
 * inlines a copy without them in `properties` and `required`).
 */

/** The extension keyword a correction adds beside a `$ref`. */
export const OMIT_KEYWORD = 'x-gridseam-omit';

export interface SpecErratum {
  version: '3.0.1' | '3.1.0';
  /** The components.schemas entry corrected. */
  schema: string;
  /** The `$ref` target inside that schema's `allOf` that loses `omit`. */
  allOfRef: string;
  omit: readonly string[];
  reason: string;
}

export const SPEC_ERRATA: readonly SpecErratum[] = [
  {
    version: '3.1.0',
    schema: 'ven',
    allOfRef: 'BlVenRequest',
    omit: ['objectType'],
    reason:
      "ven = allOf(objectMetadata, BlVenRequest) asks objectType to be one of objectTypes ('VEN') and 'BL_VEN_REQUEST' " +
      'at once, which no object can be; the VTN sets objectType VEN (Definition: the VTN SHALL set objectType).',
  },
  {
    version: '3.1.0',
    schema: 'resource',
    allOfRef: 'BlResourceRequest',
    omit: ['objectType'],
    reason:
      "resource = allOf(objectMetadata, BlResourceRequest) asks objectType to be 'RESOURCE' and 'BL_RESOURCE_REQUEST' " +
      'at once; the VTN sets objectType RESOURCE (User Guide resource examples).',
  },
];

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `components.schemas` of `version` with the errata applied (a structural copy; the input is not
 * changed). Throws when an erratum no longer matches the document, so a new spec release cannot
 * silently skip one.
 */
export function correctedSchemas(version: string, schemas: Readonly<JsonObject>): JsonObject {
  const out: JsonObject = structuredClone(schemas) as JsonObject;
  for (const erratum of SPEC_ERRATA) {
    if (erratum.version !== version) continue;
    const schema = out[erratum.schema];
    const allOf = isObject(schema) ? schema.allOf : undefined;
    const ref = `#/components/schemas/${erratum.allOfRef}`;
    const member = Array.isArray(allOf) ? allOf.find((m) => isObject(m) && m.$ref === ref) : undefined;
    if (!isObject(member))
      throw new Error(`OpenADR ${version} erratum for ${erratum.schema}: no allOf $ref to ${erratum.allOfRef}`);
    member[OMIT_KEYWORD] = [...erratum.omit];
  }
  return out;
}
