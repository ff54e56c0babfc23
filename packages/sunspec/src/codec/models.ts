/**
 * The SunSpec model definitions shipped with this package (models/sunspec-models.json, generated
 * by scripts/bundle-models.ts from sunspec/models; Apache-2.0, see models/NOTICE.md).
 */
import bundle from '../../models/sunspec-models.json' with { type: 'json' };
import type { ModelDef } from './types.ts';

// The JSON follows sunspec/models json/schema.json; its inferred literal type is wider than ModelDef
// (type: string), so it is narrowed once here. The bundle test decodes every definition.
const definitions = bundle as unknown as Readonly<Record<string, ModelDef>>;
const ids: readonly number[] = Object.keys(definitions)
  .map(Number)
  .sort((a, b) => a - b);

/** The shipped definition of a model id, or undefined for an id the bundle does not hold (e.g. a vendor model). */
export function getModelDefinition(id: number): ModelDef | undefined {
  return Object.hasOwn(definitions, id) ? definitions[id] : undefined;
}

/** Every model id in the shipped bundle, ascending. */
export function modelIds(): number[] {
  return [...ids];
}

/** The model's name: the name of its top-level group (e.g. 'common', 'DERCtlAC'). */
export function modelName(def: ModelDef): string {
  return def.group.name;
}
