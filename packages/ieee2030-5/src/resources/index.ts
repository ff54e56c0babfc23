/** IEEE 2030.5 resource types, schema tables and enumerated values. */
export * from './enums.ts';
export {
  COMPLEX_TYPES,
  type ComplexTypeSpec,
  CSIPAUS_EXTENSIONS,
  CSIPAUS_NAMESPACES,
  type FieldNamespace,
  type FieldSpec,
  ROOT_ELEMENTS,
  SEP_LEGACY_NAMESPACE,
  SEP_NAMESPACE,
  SIMPLE_TYPES,
  type SimpleKind,
  type SimpleTypeName,
  type SimpleTypeSpec,
  XSI_NAMESPACE,
} from './schema.ts';
export type * from './types.ts';
