/**
 * Object privacy (Definition §Object Privacy, 3.1.0; carried over to 3.0.1 where that version is silent).
 *
 * - BL reads and writes every object its scopes allow.
 * - A VEN sees only the ven, resource, report and subscription objects it owns: in 3.1.0 those whose clientID
 *   is its client id; in 3.0.1 (no clientID on the wire) those it created, the ven named after its configured
 *   venName and the resources of its vens.
 * - Programs and events: an object without targets is public. A targeted one reaches a VEN only through the
 *   targets "granted" to it: the targets BL wrote on its ven and resource objects, plus its configured venName
 *   (3.0.1: a VEN_NAME target). The VEN's request targets (query `targets`; 3.0.1 `targetType` and
 *   `targetValues`) are intersected with the granted ones and matched against the object's; a VEN that names
 *   none reads with all of its granted targets. Only matched targets are shown (target hiding).
 * - Request targets are a filter for everyone: an object matches when one of its targets is requested.
 *
 * Targets are compared as keys: 3.1.0 target strings as they are; 3.0.1 valuesMap targets as `type NUL value`.
 */
import type { JsonObject, JsonValue, Oadr3Version, VtnPrincipal } from './contract.ts';
import type { Entry, VtnState } from './state.ts';

const SEPARATOR = '\u0000';
/** 3.0.1 target type naming a VEN (Definition 3.0 target enumerations). */
export const VEN_NAME_TARGET = 'VEN_NAME';

/** Request targets: a test on target keys. */
export interface TargetFilter {
  matches(key: string): boolean;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalarKey(value: JsonValue): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}

/** The target keys of an object (empty when it has no targets). */
export function targetKeys(version: Oadr3Version, object: JsonObject): string[] {
  const targets = object.targets;
  if (!Array.isArray(targets)) return [];
  const keys: string[] = [];
  for (const target of targets) {
    if (version === '3.1.0') {
      if (typeof target === 'string') keys.push(target);
      continue;
    }
    if (!isObject(target) || typeof target.type !== 'string' || !Array.isArray(target.values)) continue;
    for (const value of target.values) {
      const key = scalarKey(value);
      if (key !== undefined) keys.push(`${target.type}${SEPARATOR}${key}`);
    }
  }
  return keys;
}

/** The filter of a request's targets, or undefined when it names none. */
export function requestTargetFilter(
  version: Oadr3Version,
  query: { targets?: readonly string[]; targetType?: string; targetValues?: readonly string[] },
): TargetFilter | undefined {
  if (version === '3.1.0') {
    if (query.targets === undefined || query.targets.length === 0) return undefined;
    const wanted = new Set(query.targets);
    return { matches: (key) => wanted.has(key) };
  }
  const type = query.targetType;
  const values =
    query.targetValues === undefined || query.targetValues.length === 0 ? undefined : new Set(query.targetValues);
  if (type === undefined && values === undefined) return undefined;
  return {
    matches: (key) => {
      const at = key.indexOf(SEPARATOR);
      return (
        (type === undefined || key.slice(0, at) === type) && (values === undefined || values.has(key.slice(at + 1)))
      );
    },
  };
}

/** A 3.0.1 subscription's valuesMap targets or a 3.1.0 subscription's strings, as a filter. */
export function subscriptionTargetFilter(version: Oadr3Version, subscription: JsonObject): TargetFilter | undefined {
  const keys = targetKeys(version, subscription);
  if (keys.length === 0) return undefined;
  const wanted = new Set(keys);
  return { matches: (key) => wanted.has(key) };
}

export class Access {
  constructor(
    private readonly version: Oadr3Version,
    private readonly state: VtnState,
  ) {}

  /** The ven ids a VEN client owns. */
  ownedVenIds(principal: VtnPrincipal): Set<string> {
    const ids = new Set(this.state.vensByClient.get(principal.clientId));
    if (this.version === '3.0.1' && principal.venName !== undefined) {
      const named = this.state.venNames.get(principal.venName);
      if (named !== undefined) ids.add(named);
    }
    return ids;
  }

  /** Whether a VEN owns a ven, resource, report or subscription (BL owns everything). */
  owns(principal: VtnPrincipal, entry: Entry): boolean {
    if (principal.role === 'bl') return true;
    const object = entry.doc.object;
    if (this.version === '3.1.0') {
      if (object.clientID === principal.clientId) return true;
      return false;
    }
    switch (entry.kind) {
      case 'ven':
        return (
          entry.doc.owner?.clientId === principal.clientId ||
          (principal.venName !== undefined && object.venName === principal.venName)
        );
      case 'resource': {
        const venId = typeof object.venID === 'string' ? object.venID : undefined;
        const ven = venId === undefined ? undefined : this.state.get('ven', venId);
        return entry.doc.owner?.clientId === principal.clientId || (ven !== undefined && this.owns(principal, ven));
      }
      default:
        return entry.doc.owner?.clientId === principal.clientId;
    }
  }

  /** The target keys granted to a VEN (its vens' and resources' targets, and its configured venName). */
  grantedTargets(principal: VtnPrincipal): Set<string> {
    const granted = new Set<string>();
    if (principal.venName !== undefined)
      granted.add(this.version === '3.1.0' ? principal.venName : `${VEN_NAME_TARGET}${SEPARATOR}${principal.venName}`);
    const venIds = this.ownedVenIds(principal);
    const resourceIds = new Set(this.state.resourcesByClient.get(principal.clientId));
    for (const venId of venIds) {
      const ven = this.state.get('ven', venId);
      if (ven !== undefined) for (const key of targetKeys(this.version, ven.doc.object)) granted.add(key);
      for (const resourceId of this.state.resourcesByVen.get(venId)) resourceIds.add(resourceId);
    }
    for (const resourceId of resourceIds) {
      const resource = this.state.get('resource', resourceId);
      if (resource !== undefined) for (const key of targetKeys(this.version, resource.doc.object)) granted.add(key);
    }
    return granted;
  }

  /**
   * How a program or event appears to a caller: undefined when it must not see it (or the request's targets
   * filter it out), else the object with only the targets it may see (VEN) or as stored (BL).
   */
  viewTargeted(
    object: JsonObject,
    principal: VtnPrincipal,
    filter: TargetFilter | undefined,
    granted: ReadonlySet<string> | undefined,
  ): JsonObject | undefined {
    const keys = targetKeys(this.version, object);
    if (principal.role === 'bl') {
      if (filter !== undefined && !keys.some((key) => filter.matches(key))) return undefined;
      return object;
    }
    if (keys.length === 0) return filter === undefined ? object : undefined;
    const grantedKeys = granted ?? this.grantedTargets(principal);
    const shown = new Set(keys.filter((key) => grantedKeys.has(key) && (filter === undefined || filter.matches(key))));
    if (shown.size === 0) return undefined;
    return this.#withTargets(object, shown);
  }

  /** A copy of `object` keeping only the targets in `shown` (target hiding). */
  #withTargets(object: JsonObject, shown: ReadonlySet<string>): JsonObject {
    const targets = object.targets;
    if (!Array.isArray(targets)) return object;
    if (this.version === '3.1.0')
      return { ...object, targets: targets.filter((target) => typeof target === 'string' && shown.has(target)) };
    const kept: JsonValue[] = [];
    for (const target of targets) {
      if (!isObject(target) || typeof target.type !== 'string' || !Array.isArray(target.values)) continue;
      const type = target.type;
      const values = target.values.filter((value) => {
        const key = scalarKey(value);
        return key !== undefined && shown.has(`${type}${SEPARATOR}${key}`);
      });
      if (values.length > 0) kept.push({ ...target, values });
    }
    return { ...object, targets: kept };
  }
}
