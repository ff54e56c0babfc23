import type { ErrorObject } from 'ajv';

/** One problem in the configuration: where (JSON Pointer and dotted key path) and what was expected. */
export interface ConfigIssue {
  /** JSON Pointer into the parsed document, e.g. /fleet/devices/2/class. */
  path: string;
  /** The same place as a reader writes it, e.g. fleet.devices[2].class. */
  keyPath: string;
  message: string;
}

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function unescapePointerSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer.slice(1).split('/').map(unescapePointerSegment);
}

/**
 * Turns a JSON Pointer into a key path, walking the document so array positions print as [i]
 * and object keys as .key (quoted when they are not plain identifiers).
 */
export function keyPathOf(pointer: string, root: unknown): string {
  let keyPath = '';
  let node: unknown = root;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(node) && /^\d+$/.test(segment)) {
      keyPath += `[${segment}]`;
      node = node[Number(segment)];
    } else {
      keyPath += SIMPLE_KEY.test(segment) ? (keyPath === '' ? segment : `.${segment}`) : `[${JSON.stringify(segment)}]`;
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return keyPath === '' ? '(top level)' : keyPath;
}

function valueAt(pointer: string, root: unknown): unknown {
  let node: unknown = root;
  for (const segment of pointerSegments(pointer)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest allowed key, to suggest when a key is misspelt. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return String(value);
}

/** One ajv error as a sentence fragment; `verbose` errors carry the parent schema and the data. */
function describeError(error: ErrorObject): { pointer: string; message: string } {
  const at = error.instancePath;
  switch (error.keyword) {
    case 'required':
      return { pointer: `${at}/${String(error.params.missingProperty)}`, message: 'is required' };
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty);
      const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
      const allowed = properties ? Object.keys(properties) : [];
      const suggestion = closestKey(key, allowed);
      return {
        pointer: `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
        message:
          `is not an allowed key` +
          (suggestion
            ? ` (did you mean '${suggestion}'?)`
            : allowed.length > 0
              ? ` (allowed: ${allowed.join(', ')})`
              : ''),
      };
    }
    case 'enum':
      return { pointer: at, message: `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { pointer: at, message: `must be ${JSON.stringify(error.params.allowedValue)}` };
    case 'type':
      return {
        pointer: at,
        message: `must be ${article(String(error.params.type))} (got ${describeValue(error.data)})`,
      };
    case 'minLength':
      return {
        pointer: at,
        message:
          error.params.limit === 1 ? 'must not be empty' : `must be at least ${error.params.limit} characters long`,
      };
    case 'maxLength':
      return { pointer: at, message: `must be at most ${error.params.limit} characters long` };
    case 'minItems':
      return { pointer: at, message: `must have at least ${error.params.limit} item(s)` };
    case 'maxItems':
      return { pointer: at, message: `must have at most ${error.params.limit} items` };
    case 'uniqueItems':
      return {
        pointer: at,
        message: `must not repeat an item (items ${error.params.j} and ${error.params.i} are the same)`,
      };
    case 'pattern':
      return { pointer: at, message: `must match the pattern ${String(error.params.pattern)}` };
    default:
      return { pointer: at, message: error.message ?? `fails ${error.keyword}` };
  }
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'a boolean (true or false)',
    null: 'null',
  };
  return type
    .split(',')
    .map((t) => names[t] ?? t)
    .join(' or ');
}

function branchOf(error: ErrorObject, anyOfSchemaPath: string): number | undefined {
  const prefix = `${anyOfSchemaPath}/`;
  if (!error.schemaPath.startsWith(prefix)) return undefined;
  const index = Number.parseInt(error.schemaPath.slice(prefix.length), 10);
  return Number.isNaN(index) ? undefined : index;
}

/**
 * Reduces ajv's errors for a failed union to the ones a reader needs. A union of constants
 * becomes "must be one of: ...". A union of objects told apart by `kind` keeps only the errors
 * of the branch the document chose (or says which kinds exist). Any other union keeps the branch
 * with the fewest errors. Applied outermost first, so nested unions are reduced in turn.
 */
function collapseUnions(errors: ErrorObject[], root: unknown): ErrorObject[] {
  let remaining = [...errors];
  const synthesized: Array<{ pointer: string; message: string }> = [];
  const unions = remaining
    .filter((e) => e.keyword === 'anyOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (!remaining.includes(union)) continue; // dropped with an outer branch
    const branches = new Map<number, ErrorObject[]>();
    for (const error of remaining) {
      const branch = branchOf(error, union.schemaPath);
      if (branch === undefined) continue;
      const list = branches.get(branch) ?? [];
      list.push(error);
      branches.set(branch, list);
    }
    const inUnion = new Set([...branches.values()].flat());
    const keep = (chosen: ErrorObject[]) => {
      remaining = remaining.filter((e) => e !== union && (!inUnion.has(e) || chosen.includes(e)));
    };
    const all = [...branches.values()];
    const atUnion = (e: ErrorObject) =>
      e.instancePath === union.instancePath && (e.keyword === 'const' || e.keyword === 'type');
    const constsOnly = all.length > 0 && all.flat().every(atUnion) && all.flat().some((e) => e.keyword === 'const');
    if (constsOnly) {
      const allowed = all
        .flat()
        .filter((e) => e.keyword === 'const')
        .map((e) => JSON.stringify(e.params.allowedValue));
      synthesized.push({ pointer: union.instancePath, message: `must be one of: ${allowed.join(', ')}` });
      keep([]);
      continue;
    }
    const value = valueAt(union.instancePath, root);
    const kindPointer = `${union.instancePath}/kind`;
    const failsOnKind = (list: ErrorObject[]) =>
      list.some(
        (e) =>
          e.instancePath === kindPointer ||
          (e.keyword === 'required' && e.params.missingProperty === 'kind' && e.instancePath === union.instancePath),
      );
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && all.some((list) => failsOnKind(list))) {
      const matching = all.find((list) => !failsOnKind(list));
      if (matching) {
        keep(matching);
      } else {
        const kinds = kindsOf(union.schema);
        const present = (value as Record<string, unknown>).kind !== undefined;
        synthesized.push({
          pointer: kindPointer,
          message: `${present ? 'must be' : 'is required, and must be'} one of: ${kinds.join(', ')}`,
        });
        keep([]);
      }
      continue;
    }
    // No discriminator: among the branches that accept the value's type, the one with the fewest
    // errors is the one the author meant.
    const candidates = all.filter(
      (list) => !list.some((e) => e.keyword === 'type' && e.instancePath === union.instancePath),
    );
    const fewest = candidates.reduce<ErrorObject[] | undefined>(
      (best, list) => (best === undefined || list.length < best.length ? list : best),
      undefined,
    );
    if (fewest) {
      keep(fewest);
    } else {
      const types = [
        ...new Set(
          all
            .flat()
            .filter((e) => e.keyword === 'type')
            .map((e) => String(e.params.type)),
        ),
      ];
      synthesized.push({
        pointer: union.instancePath,
        message: `must be ${article(types.join(','))} (got ${describeValue(valueAt(union.instancePath, root))})`,
      });
      keep([]);
    }
  }
  return [...remaining, ...synthesized.map((s) => syntheticError(s.pointer, s.message))];
}

/** The `kind` constants of a union's branches (verbose errors carry the anyOf array as `schema`). */
function kindsOf(branches: unknown): string[] {
  if (!Array.isArray(branches)) return [];
  return branches.flatMap((branch) => {
    const kind = (branch as { properties?: { kind?: { const?: unknown } } }).properties?.kind?.const;
    return kind === undefined ? [] : [String(kind)];
  });
}

function syntheticError(pointer: string, message: string): ErrorObject {
  return { keyword: 'gridseam', instancePath: pointer, schemaPath: '#', params: {}, message };
}

/** ajv errors (from a validator compiled with allErrors and verbose) as config issues, de-duplicated. */
export function issuesFromAjv(errors: readonly ErrorObject[], root: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of collapseUnions([...errors], root)) {
    const { pointer, message } =
      error.keyword === 'gridseam'
        ? { pointer: error.instancePath, message: error.message ?? '' }
        : describeError(error);
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path: pointer === '' ? '/' : pointer, keyPath: keyPathOf(pointer, root), message });
  }
  return issues;
}
