/**
 * Builds a full instance of any resource from the compiled schema tables: every optional field filled,
 * repeated elements with two items, values inside their XSD ranges, strings with characters that need escaping.
 */
import { COMPILED_ROOTS, type CompiledField, type CompiledType } from '../../src/codec/compiled.ts';
import type { CsipAusVersion, ResourceName, ResourceTypes } from '../../src/resources/types.ts';

export interface GenerateOptions {
  /** Which CSIP-AUS extension elements to include: none (plain 2030.5), 1.2's, or all of 1.3's. */
  csipaus: CsipAusVersion | 'none';
  /** Resource carried by Notification.Resource. */
  notificationResource?: ResourceName;
  /** Only the required fields (repeated ones with their minimum count). */
  minimal?: boolean;
}

function includeField(field: CompiledField, options: GenerateOptions): boolean {
  const isExtension = field.ns === 'csipaus' || field.onlyV13;
  if (!isExtension) return true;
  if (options.csipaus === 'none') return false;
  return !field.onlyV13 || options.csipaus === 'v1.3';
}

function simpleValue(field: CompiledField, seed: number): unknown {
  const spec = field.simple;
  if (spec === undefined) throw new Error('not simple');
  switch (spec.kind) {
    case 'int': {
      const min = spec.min ?? 0;
      const max = spec.max ?? 0;
      // Alternate between a small value, a negative one where allowed, and the type's extremes.
      const candidates = [Math.min(max, 7 + seed), min < 0 ? Math.max(min, -3 - seed) : max, max, min];
      return candidates[seed % candidates.length] ?? 0;
    }
    case 'boolean':
      return seed % 2 === 0;
    case 'hex': {
      const bytes = spec.maxLength ?? 1;
      let hex = '';
      for (let i = 0; i < bytes; i++) hex += ((0xa1 + i * 7 + seed) & 0xff).toString(16).padStart(2, '0');
      return hex;
    }
    case 'string': {
      if (field.simpleName === 'anyURI') return `/r/${field.name}/${seed}?a=1&b="2"`;
      const text = `${field.name.slice(0, 4)}&<>"' ${seed}`;
      return spec.maxLength === undefined ? text : text.slice(0, spec.maxLength);
    }
  }
}

function complexValue(type: CompiledType, options: GenerateOptions, seed: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of [...type.attrs, ...type.elements]) {
    if (!includeField(field, options)) continue;
    if (options.minimal === true && !field.required && !field.requiredByCsipaus) {
      if (field.emptyArrayWhenAbsent) out[field.name] = [];
      continue;
    }
    const make = (i: number): unknown => {
      if (field.simple !== undefined) return simpleValue(field, seed + i);
      if (field.complex !== undefined) return complexValue(field.complex, options, seed + i + 1);
      const name = options.notificationResource ?? 'DERControlList';
      return {
        type: name,
        value: generateResource(name, { csipaus: options.csipaus, minimal: options.minimal }, seed + 1),
      };
    };
    out[field.name] = !field.repeated ? make(0) : options.minimal === true ? [make(0)] : [make(0), make(1)];
  }
  return out;
}

export function generateResource<N extends ResourceName>(
  name: N,
  options: GenerateOptions,
  seed = 0,
): ResourceTypes[N] {
  const root = COMPILED_ROOTS.get(name);
  if (root === undefined) throw new Error(`unknown resource ${name}`);
  return complexValue(root.type, options, seed) as unknown as ResourceTypes[N];
}
