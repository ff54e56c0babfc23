/**
 * Compiles the declarative tables of ../resources/schema.ts once into flat, ordered field lists with
 * precomputed tags, used by both the emitter and the parser.
 */
import {
  COMPLEX_TYPES,
  CSIPAUS_EXTENSIONS,
  type FieldNamespace,
  type FieldSpec,
  LEGACY_ELEMENT_ALIASES,
  ROOT_ELEMENTS,
  SIMPLE_TYPES,
  type SimpleTypeSpec,
} from '../resources/schema.ts';
import type { CsipAusVersion, ResourceName } from '../resources/types.ts';

export interface CompiledField {
  readonly name: string;
  readonly isAttr: boolean;
  readonly ns: FieldNamespace;
  /** Only emitted in CSIP-AUS 1.3 documents. */
  readonly onlyV13: boolean;
  readonly required: boolean;
  /** Extension elements the CSIP-AUS schema requires (the codec itself treats them as optional). */
  readonly requiredByCsipaus: boolean;
  readonly maxOccurs: number;
  readonly repeated: boolean;
  /** Parse an absent repeated element as [] (the items of a List resource). */
  readonly emptyArrayWhenAbsent: boolean;
  readonly simple: SimpleTypeSpec | undefined;
  readonly simpleName: string | undefined;
  /** Set once all types are created. */
  complex: CompiledType | undefined;
  readonly anyResource: boolean;
  /** Element: qualified tag (`name` or `csipaus:name`). Attribute: the name. */
  readonly tag: string;
  /** Element: `<tag>`. Attribute: ` name="`. */
  readonly open: string;
  /** Element: `</tag>`. Attribute: `"`. */
  readonly close: string;
}

export interface CompiledType {
  readonly name: string;
  readonly attrs: readonly CompiledField[];
  readonly elements: readonly CompiledField[];
  readonly attrByName: ReadonlyMap<string, CompiledField>;
  readonly elementByName: ReadonlyMap<string, CompiledField>;
  /** Lower-cased element names (only those without a case collision), for peers that mis-case names. */
  readonly elementByLowerName: ReadonlyMap<string, CompiledField>;
  /** Pre-publication (2.0.4) element names, for documents in the legacy namespace. */
  readonly elementByLegacyName: ReadonlyMap<string, CompiledField>;
  readonly hasV13Fields: boolean;
}

function derivesFromList(typeName: string): boolean {
  let current: string | undefined = typeName;
  while (current !== undefined) {
    if (current === 'List' || current === 'SubscribableList') return true;
    current = COMPLEX_TYPES[current]?.base;
  }
  return false;
}

function collectFields(typeName: string): FieldSpec[] {
  const spec = COMPLEX_TYPES[typeName];
  if (spec === undefined) throw new Error(`schema table: unknown complex type ${typeName}`);
  const inherited = spec.base === undefined ? [] : collectFields(spec.base);
  return [...inherited, ...spec.fields];
}

function compileField(owner: string, spec: FieldSpec): CompiledField {
  const isAttr = spec.kind === 'attr';
  const simple = (SIMPLE_TYPES as Readonly<Record<string, SimpleTypeSpec>>)[spec.type];
  const anyResource = spec.type === 'AnyResource';
  if (simple === undefined && !anyResource && COMPLEX_TYPES[spec.type] === undefined) {
    throw new Error(`schema table: ${owner}.${spec.name} has unknown type ${spec.type}`);
  }
  const qualified = spec.ns === 'csipaus' ? `csipaus:${spec.name}` : spec.name;
  const repeated = spec.maxOccurs > 1;
  const isExtension = spec.since !== undefined;
  return {
    name: spec.name,
    isAttr,
    ns: spec.ns,
    onlyV13: spec.since === 'v1.3',
    required: spec.minOccurs > 0 && !isExtension,
    requiredByCsipaus: spec.minOccurs > 0 && isExtension,
    maxOccurs: spec.maxOccurs,
    repeated,
    emptyArrayWhenAbsent: repeated && derivesFromList(owner),
    simple,
    simpleName: simple === undefined ? undefined : spec.type,
    complex: undefined,
    anyResource,
    tag: qualified,
    open: isAttr ? ` ${spec.name}="` : `<${qualified}>`,
    close: isAttr ? '"' : `</${qualified}>`,
  };
}

function compileAll(): Map<string, CompiledType> {
  const types = new Map<string, CompiledType>();
  const pending: Array<{ field: CompiledField; typeName: string }> = [];
  for (const typeName of Object.keys(COMPLEX_TYPES)) {
    const specs = [...collectFields(typeName), ...(CSIPAUS_EXTENSIONS[typeName] ?? [])];
    const fields = specs.map((spec) => {
      const field = compileField(typeName, spec);
      if (field.simple === undefined && !field.anyResource) pending.push({ field, typeName: spec.type });
      return field;
    });
    const attrs = fields.filter((f) => f.isAttr);
    const elements = fields.filter((f) => !f.isAttr);
    const lower = new Map<string, CompiledField>();
    const collisions = new Set<string>();
    for (const f of elements) {
      const key = f.name.toLowerCase();
      if (lower.has(key)) collisions.add(key);
      lower.set(key, f);
    }
    for (const key of collisions) lower.delete(key);
    const legacy = new Map<string, CompiledField>();
    for (const [oldName, newName] of Object.entries(LEGACY_ELEMENT_ALIASES[typeName] ?? {})) {
      const field = elements.find((f) => f.name === newName);
      if (field === undefined)
        throw new Error(`schema table: legacy alias ${typeName}.${oldName} -> unknown ${newName}`);
      legacy.set(oldName, field);
    }
    types.set(typeName, {
      name: typeName,
      attrs,
      elements,
      attrByName: new Map(attrs.map((f) => [f.name, f])),
      elementByName: new Map(elements.map((f) => [f.name, f])),
      elementByLowerName: lower,
      elementByLegacyName: legacy,
      hasV13Fields: fields.some((f) => f.onlyV13),
    });
  }
  for (const { field, typeName } of pending) field.complex = types.get(typeName);
  return types;
}

export const COMPILED_TYPES: ReadonlyMap<string, CompiledType> = compileAll();

export interface CompiledRoot {
  readonly name: ResourceName;
  readonly type: CompiledType;
  readonly ns: FieldNamespace;
  /** Qualified root tag (`DERControl` or `csipaus:ConnectionPoint`). */
  readonly tag: string;
  /** Qualified XSD type name for xsi:type (`DERControlList`, `csipaus:ConnectionPointType`). */
  readonly xsiType: string;
}

export const COMPILED_ROOTS: ReadonlyMap<string, CompiledRoot> = new Map(
  (Object.keys(ROOT_ELEMENTS) as ResourceName[]).map((name) => {
    const root = ROOT_ELEMENTS[name];
    const type = COMPILED_TYPES.get(root.type);
    if (type === undefined) throw new Error(`schema table: root ${name} has unknown type ${root.type}`);
    const prefix = root.ns === 'csipaus' ? 'csipaus:' : '';
    return [name, { name, type, ns: root.ns, tag: prefix + name, xsiType: prefix + (root.xsdTypeName ?? name) }];
  }),
);

/** Roots by element name and by XSD type name (what xsi:type carries), without prefix. */
export const COMPILED_ROOTS_BY_TYPE_NAME: ReadonlyMap<string, CompiledRoot> = new Map(
  [...COMPILED_ROOTS.values()].flatMap((root) => [
    [root.name, root] as const,
    [ROOT_ELEMENTS[root.name].xsdTypeName ?? root.name, root] as const,
  ]),
);

/** True when a field belongs in a document for this CSIP-AUS version. */
export function fieldAllowed(field: CompiledField, version: CsipAusVersion): boolean {
  return !field.onlyV13 || version === 'v1.3';
}
