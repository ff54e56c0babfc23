/**
 * The VTN's object operations: list (filters, privacy, pagination), read, create, update and delete of programs,
 * events, reports, subscriptions, vens and resources, for one version of the API. Bodies arrive already checked
 * against the version's request schema (./server.ts); what is left here are the rules the schema cannot say:
 *
 * - metadata is the VTN's: id, createdDateTime, modificationDateTime and objectType in a body are ignored
 *   (Definition §POST and PUT), properties the schema does not define are dropped (§Required and optional
 *   properties);
 * - programName and venName are unique per VTN, resourceName per ven (§Object names): 409;
 * - references (an event's programID, a report's eventID, a subscription's programID) must name an object:
 *   409 (the spec's "violation of a foreign key constraint"); a resource's ven: 404;
 * - VEN-created vens, resources, reports and subscriptions carry the caller's clientID (3.1.0 §VEN created
 *   object privacy); only BL writes targets and clientID on vens and resources (3.1.0 BlVenRequest /
 *   BlResourceRequest; a VEN that sends them gets 403, in 3.0.1 its targets are ignored);
 * - a VEN reads, updates and deletes only its own objects and the programs and events targeted at it
 *   (./access.ts); objects it may not see answer 404, as if they did not exist;
 * - deleting a program deletes its events; deleting a ven deletes its resources.
 */
import { randomUUID } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import { Access, requestTargetFilter, type TargetFilter, targetKeys } from './access.ts';
import {
  type JsonObject,
  type JsonValue,
  type Oadr3Version,
  OBJECT_TYPES,
  type VtnObjectKind,
  type VtnPrincipal,
} from './contract.ts';
import { requestProperties } from './operations.ts';
import type { ListQuery } from './query.ts';
import type { Entry, VtnState } from './state.ts';
import { eventEndMs } from './timing.ts';

export type ChangeOperation = 'CREATE' | 'UPDATE' | 'DELETE';

/** One object changed by a committed write, for the notifier. */
export interface ObjectChange {
  operation: ChangeOperation;
  entry: Entry;
}

export interface ObjectResult {
  status: number;
  body: JsonValue;
  changes: ObjectChange[];
}

export interface ObjectServiceOptions {
  version: Oadr3Version;
  now: () => Date;
  maxObjectsPerKind: number;
  /** Checks (and echo-verifies) callback URLs before a subscription is written; throws GW_ERR_VALIDATION. */
  verifyCallback(url: string): Promise<void>;
  /** Called with every committed change, in commit order, before the next write starts. */
  onCommitted(changes: readonly ObjectChange[]): void;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(object: JsonObject, name: string): string | undefined {
  const value = object[name];
  return typeof value === 'string' ? value : undefined;
}

function notFound(kind: VtnObjectKind, id: string): GridseamError {
  return new GridseamError('GW_ERR_NOT_FOUND', `no ${kind} ${id}`);
}

function conflict(message: string): GridseamError {
  return new GridseamError('GW_ERR_CONFLICT', message);
}

function forbidden(message: string): GridseamError {
  return new GridseamError('GW_ERR_FORBIDDEN', message);
}

function badRequest(message: string, path = ''): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path, message }] });
}

/** The callback URLs of a subscription object. */
export function callbackUrls(object: JsonObject): string[] {
  const operations = object.objectOperations;
  if (!Array.isArray(operations)) return [];
  const urls: string[] = [];
  for (const operation of operations)
    if (isObject(operation) && typeof operation.callbackUrl === 'string') urls.push(operation.callbackUrl);
  return urls;
}

export class ObjectService {
  readonly access: Access;
  readonly #version: Oadr3Version;
  readonly #state: VtnState;
  readonly #options: ObjectServiceOptions;

  constructor(state: VtnState, options: ObjectServiceOptions) {
    this.#version = options.version;
    this.#state = state;
    this.#options = options;
    this.access = new Access(options.version, state);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------------------------

  /** How an entry appears to a caller, or undefined when the caller may not see it. */
  view(
    entry: Entry,
    principal: VtnPrincipal,
    filter?: TargetFilter,
    granted?: ReadonlySet<string>,
  ): JsonObject | undefined {
    const object = entry.doc.object;
    switch (entry.kind) {
      case 'program':
      case 'event':
        return this.access.viewTargeted(object, principal, filter, granted);
      case 'ven':
        if (!this.access.owns(principal, entry)) return undefined;
        return this.#version === '3.0.1' ? this.#venWithResources(entry, principal) : object;
      default:
        return this.access.owns(principal, entry) ? object : undefined;
    }
  }

  /** 3.0.1 ven.resources: the ven's resource objects, rendered from /vens/{venID}/resources. */
  #venWithResources(entry: Entry, principal: VtnPrincipal): JsonObject {
    const resources: JsonObject[] = [];
    for (const resource of this.#entries('resource', this.#state.resourcesByVen.get(entry.id)))
      if (this.access.owns(principal, resource)) resources.push(resource.doc.object);
    return resources.length === 0 ? entry.doc.object : { ...entry.doc.object, resources };
  }

  /** The program an object belongs to (subscription and report filters). */
  programOf(entry: Entry): string | undefined {
    const object = entry.doc.object;
    switch (entry.kind) {
      case 'program':
        return entry.id;
      case 'event':
      case 'subscription':
        return str(object, 'programID');
      case 'report': {
        const direct = str(object, 'programID');
        if (direct !== undefined) return direct;
        const eventId = str(object, 'eventID');
        const event = eventId === undefined ? undefined : this.#state.get('event', eventId);
        return event === undefined ? undefined : str(event.doc.object, 'programID');
      }
      default:
        return undefined;
    }
  }

  list(kind: VtnObjectKind, principal: VtnPrincipal, query: ListQuery, pathVenId?: string): JsonObject[] {
    const filter = requestTargetFilter(this.#version, query);
    let source: Iterable<Entry>;
    if (kind === 'resource' && pathVenId !== undefined) {
      const ven = this.#state.get('ven', pathVenId);
      if (ven === undefined || !this.access.owns(principal, ven)) throw notFound('ven', pathVenId);
      source = this.#entries('resource', this.#state.resourcesByVen.get(pathVenId));
    } else if (principal.role === 'ven' && kind === 'ven') {
      source = this.#entries('ven', this.access.ownedVenIds(principal));
    } else source = this.#state.all(kind);
    const granted =
      principal.role === 'ven' && (kind === 'program' || kind === 'event')
        ? this.access.grantedTargets(principal)
        : undefined;
    const nowMs = this.#options.now().getTime();
    const page: JsonObject[] = [];
    let skipped = 0;
    if (query.limit === 0) return page;
    for (const entry of source) {
      const viewed = this.view(entry, principal, kind === 'program' || kind === 'event' ? filter : undefined, granted);
      if (viewed === undefined || !this.#matches(entry, viewed, query, filter, nowMs)) continue;
      if (skipped < query.skip) {
        skipped += 1;
        continue;
      }
      page.push(viewed);
      if (page.length >= query.limit) break;
    }
    return page;
  }

  *#entries(kind: VtnObjectKind, ids: Iterable<string>): Generator<Entry> {
    const entries: Entry[] = [];
    for (const id of ids) {
      const entry = this.#state.get(kind, id);
      if (entry !== undefined) entries.push(entry);
    }
    entries.sort((a, b) => a.doc.seq - b.doc.seq);
    yield* entries;
  }

  /** The list filters besides targets on programs and events (those are applied by the view). */
  #matches(
    entry: Entry,
    viewed: JsonObject,
    query: ListQuery,
    filter: TargetFilter | undefined,
    nowMs: number,
  ): boolean {
    const object = entry.doc.object;
    if (query.programID !== undefined && this.programOf(entry) !== query.programID) return false;
    if (query.eventID !== undefined && object.eventID !== query.eventID) return false;
    if (query.clientName !== undefined && object.clientName !== query.clientName) return false;
    if (query.venName !== undefined && object.venName !== query.venName) return false;
    if (query.resourceName !== undefined && object.resourceName !== query.resourceName) return false;
    if (query.venID !== undefined && object.venID !== query.venID) return false;
    if (query.active === true && entry.kind === 'event' && eventEndMs(viewed) <= nowMs) return false;
    if (query.objects !== undefined && entry.kind === 'subscription') {
      const wanted = new Set(query.objects);
      const operations = Array.isArray(object.objectOperations) ? object.objectOperations : [];
      const hit = operations.some(
        (operation) =>
          isObject(operation) &&
          Array.isArray(operation.objects) &&
          operation.objects.some((type) => typeof type === 'string' && wanted.has(type)),
      );
      if (!hit) return false;
    }
    if (filter !== undefined && entry.kind !== 'program' && entry.kind !== 'event') {
      if (!targetKeys(this.#version, object).some((key) => filter.matches(key))) return false;
    }
    return true;
  }

  get(kind: VtnObjectKind, id: string, principal: VtnPrincipal, query: ListQuery, pathVenId?: string): JsonObject {
    const entry = this.#visibleEntry(kind, id, principal, pathVenId);
    const filter = kind === 'program' || kind === 'event' ? requestTargetFilter(this.#version, query) : undefined;
    const viewed = this.view(entry, principal, filter);
    if (viewed === undefined) throw notFound(kind, id);
    return viewed;
  }

  /** An entry the caller may address (404 otherwise, also for a 3.0.1 resource under another ven). */
  #visibleEntry(kind: VtnObjectKind, id: string, principal: VtnPrincipal, pathVenId?: string): Entry {
    if (pathVenId !== undefined) {
      const ven = this.#state.get('ven', pathVenId);
      if (ven === undefined || !this.access.owns(principal, ven)) throw notFound('ven', pathVenId);
    }
    const entry = this.#state.get(kind, id);
    if (entry === undefined) throw notFound(kind, id);
    if (pathVenId !== undefined && entry.doc.object.venID !== pathVenId) throw notFound(kind, id);
    if (this.view(entry, principal) === undefined) throw notFound(kind, id);
    return entry;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------------------------------------------

  async create(kind: VtnObjectKind, principal: VtnPrincipal, body: unknown, pathVenId?: string): Promise<ObjectResult> {
    if (!isObject(body)) throw badRequest('the body must be a JSON object');
    if (kind === 'subscription') await this.#verifyCallbacks(body, []);
    return this.#state.exclusive(async () => {
      if (this.#state.count(kind) >= this.#options.maxObjectsPerKind)
        throw conflict(`this VTN holds the most ${kind} objects it keeps (${this.#options.maxObjectsPerKind})`);
      const fields = this.#prepare(kind, principal, body, undefined, pathVenId);
      const now = this.#options.now().toISOString();
      const id = randomUUID();
      const object: JsonObject = {
        id,
        createdDateTime: now,
        modificationDateTime: now,
        objectType: OBJECT_TYPES[kind],
        ...fields,
      };
      const entry: Entry = {
        kind,
        id,
        doc: {
          object,
          seq: this.#state.nextSeq(),
          owner: {
            clientId: principal.clientId,
            role: principal.role,
            ...(principal.venName === undefined ? {} : { venName: principal.venName }),
          },
        },
      };
      await this.#state.commit([entry], []);
      return this.#committed(201, this.view(entry, principal) ?? object, [{ operation: 'CREATE', entry }]);
    });
  }

  async update(
    kind: VtnObjectKind,
    id: string,
    principal: VtnPrincipal,
    body: unknown,
    pathVenId?: string,
  ): Promise<ObjectResult> {
    if (!isObject(body)) throw badRequest('the body must be a JSON object');
    if (kind === 'subscription') {
      const current = this.#state.get('subscription', id);
      await this.#verifyCallbacks(body, current === undefined ? [] : callbackUrls(current.doc.object));
    }
    return this.#state.exclusive(async () => {
      const existing = this.#visibleEntry(kind, id, principal, pathVenId);
      const fields = this.#prepare(kind, principal, body, existing, pathVenId);
      const object: JsonObject = {
        id,
        createdDateTime: existing.doc.object.createdDateTime ?? this.#options.now().toISOString(),
        modificationDateTime: this.#options.now().toISOString(),
        objectType: OBJECT_TYPES[kind],
        ...fields,
      };
      const entry: Entry = { kind, id, doc: { ...existing.doc, object } };
      await this.#state.commit([entry], []);
      return this.#committed(200, this.view(entry, principal) ?? object, [{ operation: 'UPDATE', entry }]);
    });
  }

  async delete(kind: VtnObjectKind, id: string, principal: VtnPrincipal, pathVenId?: string): Promise<ObjectResult> {
    return this.#state.exclusive(async () => {
      const existing = this.#visibleEntry(kind, id, principal, pathVenId);
      const body = this.view(existing, principal) ?? existing.doc.object;
      const removed: Entry[] = [existing];
      if (kind === 'program')
        for (const eventId of this.#state.eventsByProgram.get(id)) {
          const event = this.#state.get('event', eventId);
          if (event !== undefined) removed.push(event);
        }
      if (kind === 'ven')
        for (const resourceId of this.#state.resourcesByVen.get(id)) {
          const resource = this.#state.get('resource', resourceId);
          if (resource !== undefined) removed.push(resource);
        }
      await this.#state.commit(
        [],
        removed.map((entry) => ({ kind: entry.kind, id: entry.id })),
      );
      return this.#committed(
        200,
        body,
        removed.map((entry) => ({ operation: 'DELETE' as const, entry })),
      );
    });
  }

  #committed(status: number, body: JsonValue, changes: ObjectChange[]): ObjectResult {
    try {
      this.#options.onCommitted(changes);
    } catch {
      // Notifications are best effort; the write itself is done.
    }
    return { status, body, changes };
  }

  async #verifyCallbacks(body: JsonObject, known: readonly string[]): Promise<void> {
    const urls = new Set(callbackUrls(body).filter((url) => !known.includes(url)));
    for (const url of urls) await this.#options.verifyCallback(url);
  }

  /** The stored fields of a create or update (without metadata), after every rule the schema cannot say. */
  #prepare(
    kind: VtnObjectKind,
    principal: VtnPrincipal,
    body: JsonObject,
    existing: Entry | undefined,
    pathVenId: string | undefined,
  ): JsonObject {
    const allowed = requestProperties(this.#version, kind);
    const fields: JsonObject = {};
    for (const name of allowed) {
      const value = body[name];
      if (value !== undefined) fields[name] = value;
    }
    const isVen = principal.role === 'ven';
    const previous = existing?.doc.object;
    switch (kind) {
      case 'program': {
        const name = str(fields, 'programName');
        const holder = name === undefined ? undefined : this.#state.programNames.get(name);
        if (holder !== undefined && holder !== existing?.id) throw conflict(`a program named ${name} exists`);
        break;
      }
      case 'event': {
        const programId = str(fields, 'programID');
        if (programId === undefined || this.#state.get('program', programId) === undefined)
          throw conflict(`programID ${programId} names no program`);
        break;
      }
      case 'report': {
        const eventId = str(fields, 'eventID');
        const event = eventId === undefined ? undefined : this.#state.get('event', eventId);
        if (event === undefined) throw conflict(`eventID ${eventId} names no event`);
        if (this.#version === '3.0.1') {
          const programId = str(fields, 'programID');
          if (programId !== event.doc.object.programID)
            throw conflict(`programID ${programId} is not the program of event ${eventId}`);
        } else fields.clientID = str(previous ?? {}, 'clientID') ?? principal.clientId;
        break;
      }
      case 'subscription': {
        const programId = str(fields, 'programID');
        if (programId !== undefined && this.#state.get('program', programId) === undefined)
          throw conflict(`programID ${programId} names no program`);
        if (this.#version === '3.1.0') fields.clientID = str(previous ?? {}, 'clientID') ?? principal.clientId;
        break;
      }
      case 'ven':
        this.#prepareVen(fields, body, principal, isVen, previous, existing);
        break;
      case 'resource':
        this.#prepareResource(fields, body, principal, isVen, previous, existing, pathVenId);
        break;
    }
    return fields;
  }

  /** 3.1.0 ven and resource requests: the objectType discriminator must match the caller's role. */
  #checkRequestType(body: JsonObject, isVen: boolean, blType: string, venType: string): void {
    if (this.#version !== '3.1.0') return;
    const type = body.objectType;
    if (isVen && type === blType)
      throw forbidden(`only BL may send ${blType} (clientID and targets are written by BL)`);
    if (!isVen && type === venType)
      throw badRequest(`BL writes this object as ${blType} with a clientID`, '/objectType');
  }

  #prepareVen(
    fields: JsonObject,
    body: JsonObject,
    principal: VtnPrincipal,
    isVen: boolean,
    previous: JsonObject | undefined,
    existing: Entry | undefined,
  ): void {
    this.#checkRequestType(body, isVen, 'BL_VEN_REQUEST', 'VEN_VEN_REQUEST');
    const name = str(fields, 'venName');
    if (isVen) {
      if (principal.venName !== undefined && name !== principal.venName)
        throw forbidden(`this client may only hold the ven named ${principal.venName}`);
      this.#keepBlFields(fields, previous, principal);
    }
    const holder = name === undefined ? undefined : this.#state.venNames.get(name);
    if (holder !== undefined && holder !== existing?.id) throw conflict(`a ven named ${name} exists`);
  }

  #prepareResource(
    fields: JsonObject,
    body: JsonObject,
    principal: VtnPrincipal,
    isVen: boolean,
    previous: JsonObject | undefined,
    existing: Entry | undefined,
    pathVenId: string | undefined,
  ): void {
    this.#checkRequestType(body, isVen, 'BL_RESOURCE_REQUEST', 'VEN_RESOURCE_REQUEST');
    if (pathVenId !== undefined) fields.venID = pathVenId;
    const venId = str(fields, 'venID');
    const ven = venId === undefined ? undefined : this.#state.get('ven', venId);
    if (ven === undefined || !this.access.owns(principal, ven)) throw notFound('ven', String(venId));
    if (isVen) this.#keepBlFields(fields, previous, principal);
    const name = str(fields, 'resourceName');
    for (const id of this.#state.resourcesByVen.get(ven.id)) {
      if (id === existing?.id) continue;
      if (this.#state.get('resource', id)?.doc.object.resourceName === name)
        throw conflict(`ven ${ven.id} has a resource named ${name}`);
    }
  }

  /** A VEN's write keeps the targets (and 3.1.0 clientID) BL wrote; a new object gets the caller's clientID. */
  #keepBlFields(fields: JsonObject, previous: JsonObject | undefined, principal: VtnPrincipal): void {
    delete fields.targets;
    if (previous?.targets !== undefined) fields.targets = previous.targets;
    if (this.#version === '3.1.0') fields.clientID = str(previous ?? {}, 'clientID') ?? principal.clientId;
  }
}
