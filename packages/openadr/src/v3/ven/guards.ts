/**
 * Structural checks of what a VTN answers, before the VEN uses it: the fields the VEN reads, their
 * types and bounds (the OpenAPI document's objectID pattern, arrays of at most MAX_ITEMS). An object
 * that fails is skipped and reported, never trusted; the rest of the answer is still used.
 */
import type { Oadr3EventLike, Oadr3ProgramLike, Oadr3Target } from '../canonical.ts';

const OBJECT_ID = /^[a-zA-Z0-9_-]{1,128}$/;
const MAX_ITEMS = 10_000;

type Check = (value: unknown, path: string) => string | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const optionalString =
  (max = 8000): Check =>
  (value, path) =>
    value === undefined || value === null || (typeof value === 'string' && value.length <= max)
      ? undefined
      : `${path} must be a string of at most ${max} characters`;

function checkArray(value: unknown, path: string, item: Check, optional = true): string | undefined {
  if (value === undefined || value === null) return optional ? undefined : `${path} is required`;
  if (!Array.isArray(value) || value.length > MAX_ITEMS) return `${path} must be an array of at most ${MAX_ITEMS}`;
  for (let i = 0; i < value.length; i++) {
    const problem = item(value[i], `${path}/${i}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

const checkValuesMap: Check = (value, path) => {
  if (!isRecord(value) || typeof value.type !== 'string' || value.type.length === 0 || value.type.length > 128)
    return `${path} must be a valuesMap with a type`;
  return checkArray(
    value.values,
    `${path}/values`,
    (v, p) => {
      if (typeof v === 'number') return Number.isFinite(v) ? undefined : `${p} must be finite`;
      if (typeof v === 'string') return v.length <= 8000 ? undefined : `${p} is too long`;
      if (typeof v === 'boolean') return undefined;
      if (isRecord(v) && typeof v.x === 'number' && typeof v.y === 'number') return undefined;
      return `${p} must be a number, string, boolean or point`;
    },
    false,
  );
};

const checkTarget: Check = (value, path) =>
  typeof value === 'string' ? (value.length <= 128 ? undefined : `${path} is too long`) : checkValuesMap(value, path);

const checkPeriod: Check = (value, path) => {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) return `${path} must be an intervalPeriod`;
  return (
    optionalString(64)(value.start, `${path}/start`) ??
    optionalString(64)(value.duration, `${path}/duration`) ??
    optionalString(64)(value.randomizeStart, `${path}/randomizeStart`)
  );
};

const checkInterval: Check = (value, path) => {
  if (!isRecord(value) || typeof value.id !== 'number' || !Number.isInteger(value.id))
    return `${path} must be an interval with an integer id`;
  return (
    checkPeriod(value.intervalPeriod, `${path}/intervalPeriod`) ??
    checkArray(value.payloads, `${path}/payloads`, checkValuesMap, false)
  );
};

const checkDescriptor: Check = (value, path) =>
  isRecord(value) && typeof value.payloadType === 'string' && value.payloadType.length <= 128
    ? (optionalString(128)(value.units, `${path}/units`) ?? optionalString(128)(value.currency, `${path}/currency`))
    : `${path} must have a payloadType`;

function checkMetadata(value: Record<string, unknown>): string | undefined {
  if (typeof value.id !== 'string' || !OBJECT_ID.test(value.id)) return '/id must be an objectID';
  return (
    optionalString(64)(value.createdDateTime, '/createdDateTime') ??
    optionalString(64)(value.modificationDateTime, '/modificationDateTime')
  );
}

export type Guarded<T> = { ok: true; value: T } | { ok: false; problem: string };

export function guardProgram(value: unknown): Guarded<Oadr3ProgramLike> {
  if (!isRecord(value)) return { ok: false, problem: 'a program must be an object' };
  const problem =
    checkMetadata(value) ??
    (typeof value.programName === 'string' && value.programName.length > 0 && value.programName.length <= 128
      ? undefined
      : '/programName must be a string of 1..128') ??
    checkPeriod(value.intervalPeriod, '/intervalPeriod') ??
    checkArray(value.payloadDescriptors, '/payloadDescriptors', checkDescriptor) ??
    checkArray(value.targets, '/targets', checkTarget) ??
    checkArray(value.programDescriptions, '/programDescriptions', (d, p) =>
      isRecord(d) && typeof d.URL === 'string' ? undefined : `${p} must have a URL`,
    ) ??
    optionalString(256)(value.programLongName, '/programLongName') ??
    optionalString(256)(value.retailerName, '/retailerName');
  return problem === undefined ? { ok: true, value: value as unknown as Oadr3ProgramLike } : { ok: false, problem };
}

export function guardEvent(value: unknown): Guarded<Oadr3EventLike> {
  if (!isRecord(value)) return { ok: false, problem: 'an event must be an object' };
  const problem =
    checkMetadata(value) ??
    (typeof value.programID === 'string' && OBJECT_ID.test(value.programID)
      ? undefined
      : '/programID must be an objectID') ??
    (value.priority === undefined ||
    value.priority === null ||
    (typeof value.priority === 'number' && Number.isInteger(value.priority) && value.priority >= 0)
      ? undefined
      : '/priority must be an integer >= 0') ??
    optionalString(64)(value.duration, '/duration') ??
    optionalString(8000)(value.eventName, '/eventName') ??
    checkPeriod(value.intervalPeriod, '/intervalPeriod') ??
    checkArray(value.intervals, '/intervals', checkInterval) ??
    checkArray(value.targets, '/targets', checkTarget) ??
    checkArray(value.payloadDescriptors, '/payloadDescriptors', checkDescriptor) ??
    checkArray(value.reportDescriptors, '/reportDescriptors', (d, p) =>
      isRecord(d) && typeof d.payloadType === 'string' && d.payloadType.length <= 128
        ? checkArray(d.targets, `${p}/targets`, checkTarget)
        : `${p} must have a payloadType`,
    );
  return problem === undefined ? { ok: true, value: value as unknown as Oadr3EventLike } : { ok: false, problem };
}

export interface VenObject {
  id: string;
  venName: string;
  targets?: readonly Oadr3Target[] | null;
}

export interface ResourceObject {
  id: string;
  resourceName: string;
  venID?: string;
  targets?: readonly Oadr3Target[] | null;
}

export interface SubscriptionObject {
  id: string;
  clientName?: string;
  programID?: string | null;
  objectOperations: ReadonlyArray<{ callbackUrl?: string }>;
}

export function guardVen(value: unknown): Guarded<VenObject> {
  if (!isRecord(value)) return { ok: false, problem: 'a ven must be an object' };
  const problem =
    checkMetadata(value) ??
    (typeof value.venName === 'string' ? undefined : '/venName must be a string') ??
    checkArray(value.targets, '/targets', checkTarget);
  return problem === undefined ? { ok: true, value: value as unknown as VenObject } : { ok: false, problem };
}

export function guardResource(value: unknown): Guarded<ResourceObject> {
  if (!isRecord(value)) return { ok: false, problem: 'a resource must be an object' };
  const problem =
    checkMetadata(value) ??
    (typeof value.resourceName === 'string' ? undefined : '/resourceName must be a string') ??
    checkArray(value.targets, '/targets', checkTarget);
  return problem === undefined ? { ok: true, value: value as unknown as ResourceObject } : { ok: false, problem };
}

export function guardSubscription(value: unknown): Guarded<SubscriptionObject> {
  if (!isRecord(value)) return { ok: false, problem: 'a subscription must be an object' };
  const problem =
    checkMetadata(value) ??
    checkArray(
      value.objectOperations,
      '/objectOperations',
      (o, p) => (isRecord(o) ? optionalString(8000)(o.callbackUrl, `${p}/callbackUrl`) : `${p} must be an object`),
      false,
    );
  return problem === undefined ? { ok: true, value: value as unknown as SubscriptionObject } : { ok: false, problem };
}
