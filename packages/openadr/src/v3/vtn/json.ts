/**
 * Request bodies as JSON, refused when hostile: not JSON, nested deeper than MAX_JSON_DEPTH, a number JSON.parse
 * turned into Infinity (1e400), or a `__proto__` key (prototype pollution through later merges). The walk is
 * iterative, so no depth can exhaust the stack. Pure.
 */
import { GridseamError } from '@gridseam/model';

/** Deepest nesting accepted; the deepest OpenADR 3 object (a report's point values) is about 8 levels. */
export const MAX_JSON_DEPTH = 32;

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new GridseamError('GW_ERR_MALFORMED', 'the body is empty; a JSON value was expected');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 200) : 'unreadable';
    throw new GridseamError('GW_ERR_MALFORMED', `the body is not JSON: ${reason}`);
  }
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item === 'number') {
      if (!Number.isFinite(item))
        throw new GridseamError('GW_ERR_VALIDATION', 'the body holds a number out of range', {
          issues: [{ path: '/', message: 'numbers must be finite' }],
        });
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= MAX_JSON_DEPTH)
      throw new GridseamError('GW_ERR_HOSTILE_INPUT', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(item)) {
      for (const child of item) pending.push([child, depth + 1]);
      continue;
    }
    for (const key of Object.keys(item)) {
      if (key === '__proto__')
        throw new GridseamError('GW_ERR_HOSTILE_INPUT', 'the body uses the forbidden property name __proto__');
      pending.push([(item as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return value;
}
