import { randomUUID } from 'node:crypto';
import {
  assertValid,
  type Command,
  checkDevice,
  type Device,
  Enrolment,
  type EpochMs,
  type EventStatus,
  GridseamError,
  Group,
  isMemberAt,
  isNumericMeasurand,
  Membership,
  Program,
  ProgramEvent,
  type Reading,
  Setpoint,
  SetpointRequest,
  Site,
  setpointValueProblems,
  type ValidationIssue,
  validationError,
} from '@gridseam/model';
import type { Bus } from '../bus/types.ts';
import type {
  AuditDraft,
  AuditEntry,
  AuditFilter,
  Bucket,
  CommandFilter,
  DeviceFilter,
  DownsampleQuery,
  EnrolmentFilter,
  EventFilter,
  GroupFilter,
  ProgramFilter,
  SiteFilter,
  Store,
  TelemetryQuery,
} from '../store/types.ts';
import { canTransitionEvent } from './event-status.ts';
import { DeviceInput, EventInput, EventStatusInput, MembershipEndInput, MembershipInput } from './inputs.ts';
import { assertNoIssues } from './validation.ts';

export interface FleetRegistryOptions {
  store: Store;
  bus: Bus;
  /** Clock for createdAt/updatedAt and defaults; Date.now when absent. */
  now?: () => number;
  /** Id source for setpoints and commands; random UUIDs when absent. */
  newId?: () => string;
}

/** Who did it: an API token's name, 'system', or a protocol endpoint's identity. */
export type Actor = string;

function notFound(kind: string, id: string): GridseamError {
  return new GridseamError('GW_ERR_NOT_FOUND', `${kind} ${id} not found`);
}

/** Top-level keys whose values differ, for a compact audit detail of an update. */
function changedKeys(before: object, after: object): string[] {
  const ignored = new Set(['updatedAt', 'createdAt', 'statusHistory']);
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  return [...keys].filter((k) => !ignored.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

/**
 * The fleet registry: the one write path for sites, devices, groups, programs, events,
 * enrolments and operator setpoints. It validates against the canonical model, checks references,
 * fills timestamps from its clock and appends an audit entry for every write. It knows nothing of
 * HTTP; the operator API and protocol endpoints call it.
 *
 * Each write hands its audit entry to the store call that writes (the repositories' `audit`
 * parameter), so the write and its audit row commit in one transaction or not at all.
 */
export class FleetRegistry {
  readonly #store: Store;
  readonly #bus: Bus;
  readonly #now: () => number;
  readonly #newId: () => string;

  constructor(options: FleetRegistryOptions) {
    this.#store = options.store;
    this.#bus = options.bus;
    this.#now = options.now ?? Date.now;
    this.#newId = options.newId ?? randomUUID;
  }

  /** The audit entry a write commits with. */
  #auditEntry(
    actor: Actor,
    action: string,
    targetType: string,
    targetId: string,
    detail?: Record<string, unknown>,
  ): AuditDraft {
    return {
      at: this.#now(),
      actor,
      action,
      targetType,
      targetId,
      ...(detail === undefined ? {} : { detail }),
    };
  }

  // ---- sites ----

  async createSite(input: Site, actor: Actor): Promise<Site> {
    const now = this.#now();
    const site = assertValid(Site, { ...input, createdAt: now, updatedAt: now }, 'site');
    return this.#store.sites.create(site, this.#auditEntry(actor, 'site.create', 'site', site.id, { name: site.name }));
  }

  async getSite(id: string): Promise<Site> {
    const site = await this.#store.sites.get(id);
    if (!site) throw notFound('site', id);
    return site;
  }

  listSites(filter: SiteFilter = {}): Promise<Site[]> {
    return this.#store.sites.list(filter);
  }

  async updateSite(input: Site, actor: Actor): Promise<Site> {
    assertValid(Site, input, 'site');
    const existing = await this.getSite(input.id);
    const site: Site = { ...input, createdAt: existing.createdAt ?? this.#now(), updatedAt: this.#now() };
    return this.#store.sites.update(
      site,
      this.#auditEntry(actor, 'site.update', 'site', site.id, { changed: changedKeys(existing, site) }),
    );
  }

  /** Enrolments name devices and sites without a foreign key, so the registry guards them. */
  async #assertNotEnrolled(filter: { deviceId: string } | { siteId: string }, what: string): Promise<void> {
    const enrolments = await this.#store.enrolments.count(filter);
    if (enrolments > 0)
      throw new GridseamError('GW_ERR_CONFLICT', `${what} still has ${enrolments} enrolment(s); delete them first`);
  }

  async deleteSite(id: string, actor: Actor): Promise<void> {
    await this.#assertNotEnrolled({ siteId: id }, `site ${id}`);
    if (!(await this.#store.sites.delete(id, this.#auditEntry(actor, 'site.delete', 'site', id))))
      throw notFound('site', id);
  }

  // ---- devices ----

  #validDevice(input: DeviceInput, createdAt: EpochMs): Device {
    // Validate the input shape first so a bad `enabled` is reported as such, then the full device
    // (schema plus the capability rules, e.g. socMinPct <= socMaxPct).
    assertValid(DeviceInput, input, 'device');
    const result = checkDevice({ ...input, enabled: input.enabled ?? true, createdAt, updatedAt: this.#now() });
    if (!result.ok) throw validationError('device', result.issues);
    return result.value;
  }

  async #assertSiteExists(siteId: string, what: string): Promise<void> {
    if (!(await this.#store.sites.get(siteId)))
      throw validationError(what, [{ path: '/siteId', message: `site ${siteId} does not exist` }]);
  }

  async createDevice(input: DeviceInput, actor: Actor): Promise<Device> {
    const device = this.#validDevice(input, this.#now());
    await this.#assertSiteExists(device.siteId, 'device');
    return this.#store.devices.create(
      device,
      this.#auditEntry(actor, 'device.create', 'device', device.id, { siteId: device.siteId, class: device.class }),
    );
  }

  async getDevice(id: string): Promise<Device> {
    const device = await this.#store.devices.get(id);
    if (!device) throw notFound('device', id);
    return device;
  }

  listDevices(filter: DeviceFilter = {}): Promise<Device[]> {
    return this.#store.devices.list(filter);
  }

  async updateDevice(input: DeviceInput, actor: Actor): Promise<Device> {
    assertValid(DeviceInput, input, 'device');
    const existing = await this.getDevice(input.id);
    const device = this.#validDevice(input, existing.createdAt ?? this.#now());
    if (device.siteId !== existing.siteId) await this.#assertSiteExists(device.siteId, 'device');
    return this.#store.devices.update(
      device,
      this.#auditEntry(actor, 'device.update', 'device', device.id, { changed: changedKeys(existing, device) }),
    );
  }

  async deleteDevice(id: string, actor: Actor): Promise<void> {
    await this.#assertNotEnrolled({ deviceId: id }, `device ${id}`);
    if (!(await this.#store.devices.delete(id, this.#auditEntry(actor, 'device.delete', 'device', id))))
      throw notFound('device', id);
  }

  // ---- groups and memberships ----

  async createGroup(input: Group, actor: Actor): Promise<Group> {
    const now = this.#now();
    const group = assertValid(Group, { ...input, createdAt: now, updatedAt: now }, 'group');
    return this.#store.groups.create(
      group,
      this.#auditEntry(actor, 'group.create', 'group', group.id, { kind: group.kind }),
    );
  }

  async getGroup(id: string): Promise<Group> {
    const group = await this.#store.groups.get(id);
    if (!group) throw notFound('group', id);
    return group;
  }

  listGroups(filter: GroupFilter = {}): Promise<Group[]> {
    return this.#store.groups.list(filter);
  }

  async updateGroup(input: Group, actor: Actor): Promise<Group> {
    assertValid(Group, input, 'group');
    const existing = await this.getGroup(input.id);
    const group: Group = { ...input, createdAt: existing.createdAt ?? this.#now(), updatedAt: this.#now() };
    return this.#store.groups.update(
      group,
      this.#auditEntry(actor, 'group.update', 'group', group.id, { changed: changedKeys(existing, group) }),
    );
  }

  async deleteGroup(id: string, actor: Actor): Promise<void> {
    if (!(await this.#store.groups.delete(id, this.#auditEntry(actor, 'group.delete', 'group', id))))
      throw notFound('group', id);
  }

  /** Opens a membership of a device in a group from validFrom (default now). */
  async addMember(groupId: string, input: MembershipInput, actor: Actor): Promise<Membership> {
    const { deviceId, validFrom } = assertValid(MembershipInput, input, 'membership');
    await this.getGroup(groupId);
    if (!(await this.#store.devices.get(deviceId)))
      throw validationError('membership', [{ path: '/deviceId', message: `device ${deviceId} does not exist` }]);
    const membership = assertValid(
      Membership,
      { groupId, deviceId, validFrom: validFrom ?? this.#now() },
      'membership',
    );
    return this.#store.memberships.add(
      membership,
      this.#auditEntry(actor, 'membership.add', 'group', groupId, { deviceId, validFrom: membership.validFrom }),
    );
  }

  /** Closes the device's open membership in the group at validTo (default now). */
  async endMember(groupId: string, deviceId: string, input: MembershipEndInput, actor: Actor): Promise<Membership> {
    const { validTo: requestedTo } = assertValid(MembershipEndInput, input, 'membership end');
    await this.getGroup(groupId);
    const validTo = requestedTo ?? this.#now();
    const open = (await this.#store.memberships.list({ groupId, deviceId })).find((m) => m.validTo === undefined);
    if (!open) throw new GridseamError('GW_ERR_NOT_FOUND', `device ${deviceId} has no open membership in ${groupId}`);
    if (validTo < open.validFrom)
      throw validationError('membership end', [
        { path: '/validTo', message: `must not be before validFrom (${open.validFrom})` },
      ]);
    return this.#store.memberships.end(
      groupId,
      deviceId,
      validTo,
      this.#auditEntry(actor, 'membership.end', 'group', groupId, { deviceId, validTo }),
    );
  }

  /** The group's membership history; with `at`, only the memberships in force at that instant. */
  async listMembers(groupId: string, at?: EpochMs): Promise<Membership[]> {
    await this.getGroup(groupId);
    const all = await this.#store.memberships.list({ groupId });
    return at === undefined ? all : all.filter((m) => isMemberAt(m, at));
  }

  /** Device ids that were members of the group at the instant (settlement's question). */
  async membersAt(groupId: string, at: EpochMs): Promise<string[]> {
    await this.getGroup(groupId);
    return this.#store.memberships.membersAt(groupId, at);
  }

  // ---- programs ----

  async createProgram(input: Program, actor: Actor): Promise<Program> {
    const now = this.#now();
    const program = assertValid(Program, { ...input, createdAt: now, updatedAt: now }, 'program');
    return this.#store.programs.create(
      program,
      this.#auditEntry(actor, 'program.create', 'program', program.id, {
        kind: program.kind,
        primacy: program.primacy,
      }),
    );
  }

  async getProgram(id: string): Promise<Program> {
    const program = await this.#store.programs.get(id);
    if (!program) throw notFound('program', id);
    return program;
  }

  listPrograms(filter: ProgramFilter = {}): Promise<Program[]> {
    return this.#store.programs.list(filter);
  }

  async updateProgram(input: Program, actor: Actor): Promise<Program> {
    assertValid(Program, input, 'program');
    const existing = await this.getProgram(input.id);
    const program: Program = { ...input, createdAt: existing.createdAt ?? this.#now(), updatedAt: this.#now() };
    return this.#store.programs.update(
      program,
      this.#auditEntry(actor, 'program.update', 'program', program.id, { changed: changedKeys(existing, program) }),
    );
  }

  async deleteProgram(id: string, actor: Actor): Promise<void> {
    if (!(await this.#store.programs.delete(id, this.#auditEntry(actor, 'program.delete', 'program', id))))
      throw notFound('program', id);
  }

  // ---- events ----

  async #programFor(programId: string, what: string): Promise<Program> {
    const program = await this.#store.programs.get(programId);
    if (!program) throw validationError(what, [{ path: '/programId', message: `program ${programId} does not exist` }]);
    return program;
  }

  /**
   * Creates a program event: primacy defaults from the program, source to 'operator', status to
   * 'scheduled'. The event is published on the bus topic 'program.event' for the control engine.
   */
  async createEvent(input: EventInput, actor: Actor): Promise<ProgramEvent> {
    assertValid(EventInput, input, 'event');
    const program = await this.#programFor(input.programId, 'event');
    const now = this.#now();
    const status: EventStatus = input.status ?? 'scheduled';
    const event = assertValid(
      ProgramEvent,
      {
        ...input,
        source: input.source ?? 'operator',
        primacy: input.primacy ?? program.primacy,
        status,
        statusHistory: [{ status, at: now }],
        createdAt: now,
        updatedAt: now,
      },
      'event',
    );
    const created = await this.#store.events.create(
      event,
      this.#auditEntry(actor, 'event.create', 'event', event.id, { programId: event.programId, status }),
    );
    await this.#bus.publish('program.event', created, { key: created.programId });
    return created;
  }

  async getEvent(id: string): Promise<ProgramEvent> {
    const event = await this.#store.events.get(id);
    if (!event) throw notFound('event', id);
    return event;
  }

  listEvents(filter: EventFilter = {}): Promise<ProgramEvent[]> {
    return this.#store.events.list(filter);
  }

  /** Replaces an event's content; its status and history stay as they are (see setEventStatus). */
  async updateEvent(input: EventInput, actor: Actor): Promise<ProgramEvent> {
    assertValid(EventInput, input, 'event');
    const existing = await this.getEvent(input.id);
    if (input.status !== undefined && input.status !== existing.status)
      throw validationError('event', [
        { path: '/status', message: `is ${existing.status}; change it through the event status operation` },
      ]);
    const program =
      input.programId === existing.programId
        ? await this.getProgram(existing.programId)
        : await this.#programFor(input.programId, 'event');
    const event = assertValid(
      ProgramEvent,
      {
        ...input,
        source: input.source ?? existing.source,
        primacy: input.primacy ?? program.primacy,
        status: existing.status,
        statusHistory: existing.statusHistory,
        createdAt: existing.createdAt,
        updatedAt: this.#now(),
      },
      'event',
    );
    const updated = await this.#store.events.update(
      event,
      this.#auditEntry(actor, 'event.update', 'event', event.id, { changed: changedKeys(existing, event) }),
    );
    await this.#bus.publish('program.event', updated, { key: updated.programId });
    return updated;
  }

  /** Moves an event to a new status (see event-status.ts for the allowed changes). */
  async setEventStatus(id: string, input: EventStatusInput, actor: Actor): Promise<ProgramEvent> {
    const change = assertValid(EventStatusInput, input, 'event status');
    const existing = await this.getEvent(id);
    if (!canTransitionEvent(existing.status, change.status))
      throw new GridseamError(
        'GW_ERR_INVALID_TRANSITION',
        `event ${id} cannot go from ${existing.status} to ${change.status}`,
      );
    const updated = await this.#store.events.setStatus(
      id,
      change.status,
      change.at ?? this.#now(),
      change.reason,
      this.#auditEntry(actor, 'event.status', 'event', id, {
        from: existing.status,
        to: change.status,
        ...(change.reason === undefined ? {} : { reason: change.reason }),
      }),
    );
    await this.#bus.publish('program.event', updated, { key: updated.programId });
    return updated;
  }

  async deleteEvent(id: string, actor: Actor): Promise<void> {
    if (!(await this.#store.events.delete(id, this.#auditEntry(actor, 'event.delete', 'event', id))))
      throw notFound('event', id);
  }

  // ---- enrolments ----

  async #validEnrolment(input: Enrolment, createdAt: EpochMs): Promise<Enrolment> {
    const enrolment = assertValid(Enrolment, { ...input, createdAt }, 'enrolment');
    const issues: ValidationIssue[] = [];
    if ((enrolment.deviceId === undefined) === (enrolment.siteId === undefined))
      issues.push({ path: '/deviceId', message: 'exactly one of deviceId and siteId is required' });
    if (enrolment.validTo !== undefined && enrolment.validTo <= enrolment.validFrom)
      issues.push({ path: '/validTo', message: 'must be after validFrom' });
    assertNoIssues('enrolment', issues);
    if (!(await this.#store.programs.get(enrolment.programId)))
      issues.push({ path: '/programId', message: `program ${enrolment.programId} does not exist` });
    if (enrolment.deviceId !== undefined && !(await this.#store.devices.get(enrolment.deviceId)))
      issues.push({ path: '/deviceId', message: `device ${enrolment.deviceId} does not exist` });
    if (enrolment.siteId !== undefined && !(await this.#store.sites.get(enrolment.siteId)))
      issues.push({ path: '/siteId', message: `site ${enrolment.siteId} does not exist` });
    assertNoIssues('enrolment', issues);
    return enrolment;
  }

  async createEnrolment(input: Enrolment, actor: Actor): Promise<Enrolment> {
    const enrolment = await this.#validEnrolment(input, this.#now());
    return this.#store.enrolments.create(
      enrolment,
      this.#auditEntry(actor, 'enrolment.create', 'enrolment', enrolment.id, {
        programId: enrolment.programId,
        ...(enrolment.deviceId === undefined ? { siteId: enrolment.siteId } : { deviceId: enrolment.deviceId }),
      }),
    );
  }

  async getEnrolment(id: string): Promise<Enrolment> {
    const enrolment = await this.#store.enrolments.get(id);
    if (!enrolment) throw notFound('enrolment', id);
    return enrolment;
  }

  listEnrolments(filter: EnrolmentFilter = {}): Promise<Enrolment[]> {
    return this.#store.enrolments.list(filter);
  }

  async updateEnrolment(input: Enrolment, actor: Actor): Promise<Enrolment> {
    assertValid(Enrolment, input, 'enrolment');
    const existing = await this.getEnrolment(input.id);
    const enrolment = await this.#validEnrolment(input, existing.createdAt ?? this.#now());
    return this.#store.enrolments.update(
      enrolment,
      this.#auditEntry(actor, 'enrolment.update', 'enrolment', enrolment.id, {
        changed: changedKeys(existing, enrolment),
      }),
    );
  }

  async deleteEnrolment(id: string, actor: Actor): Promise<void> {
    if (!(await this.#store.enrolments.delete(id, this.#auditEntry(actor, 'enrolment.delete', 'enrolment', id))))
      throw notFound('enrolment', id);
  }

  // ---- setpoints and commands ----

  /**
   * Accepts an operator's manual setpoint: validates it against the model and the device's
   * declared controls, persists a 'pending' Command, audits it and publishes it on the bus topic
   * 'command' (key = device id). Delivery is not done here: the control engine consumes that
   * topic, arbitrates against other sources and hands the setpoint to the device's adapter.
   *
   * If the publish fails, the command would never be delivered: it is moved to 'failed' with the
   * publish error (audited) so it does not linger as 'pending' beside the client's retry, and the
   * publish error is rethrown (GW_ERR_BUS_UNAVAILABLE answers 503).
   */
  async submitSetpoint(deviceId: string, request: SetpointRequest, actor: Actor): Promise<Command> {
    const valid = assertValid(SetpointRequest, request, 'setpoint request');
    const device = await this.getDevice(deviceId);
    const now = this.#now();
    const start = valid.start ?? now;
    const issues: ValidationIssue[] = [];
    if ((valid.expiry === undefined) === (valid.durationS === undefined))
      issues.push({ path: '/expiry', message: 'exactly one of expiry and durationS is required' });
    if (!device.capabilities.controls.includes(valid.kind))
      issues.push({
        path: '/kind',
        message: `device ${deviceId} does not support ${valid.kind} (controls: ${device.capabilities.controls.join(', ') || 'none'})`,
      });
    assertNoIssues('setpoint request', issues);
    const expiry = valid.expiry ?? start + (valid.durationS ?? 0) * 1000;
    for (const [path, message] of setpointValueProblems({ ...valid, start, expiry })) issues.push({ path, message });
    if (expiry <= now && !issues.some((i) => i.path === '/expiry'))
      issues.push({ path: '/expiry', message: 'must be in the future' });
    assertNoIssues('setpoint request', issues);

    const setpoint = assertValid(
      Setpoint,
      {
        id: this.#newId(),
        deviceId,
        kind: valid.kind,
        value: valid.value,
        ...(valid.unit === undefined ? {} : { unit: valid.unit }),
        start,
        expiry,
        source: { kind: 'operator', ref: actor },
        createdAt: now,
      },
      'setpoint',
    );
    const command: Command = {
      id: this.#newId(),
      deviceId,
      setpoint,
      status: 'pending',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      history: [{ status: 'pending', at: now }],
    };
    const created = await this.#store.commands.create(
      command,
      this.#auditEntry(actor, 'setpoint.create', 'device', deviceId, {
        commandId: command.id,
        kind: setpoint.kind,
        value: setpoint.value,
        start,
        expiry,
      }),
    );
    try {
      await this.#bus.publish('command', created, { key: deviceId, id: created.id });
    } catch (publishError) {
      await this.#failUnpublished(created, publishError, actor);
      throw publishError;
    }
    return created;
  }

  /**
   * Marks a command whose publish failed as 'failed'. Best effort: if the store fails too, the
   * command stays 'pending' and the caller still sees the publish error, which is the cause.
   */
  async #failUnpublished(command: Command, publishError: unknown, actor: Actor): Promise<void> {
    const error = GridseamError.is(publishError)
      ? { code: publishError.code, message: publishError.message }
      : {
          code: 'GW_ERR_INTERNAL',
          message: publishError instanceof Error ? publishError.message : String(publishError),
        };
    try {
      await this.#store.commands.transition(
        command.id,
        'failed',
        this.#now(),
        'publish on the command topic failed',
        { error },
        this.#auditEntry(actor, 'command.transition', 'command', command.id, {
          deviceId: command.deviceId,
          from: command.status,
          to: 'failed',
          error,
        }),
      );
    } catch {
      // Deliberately swallowed: the publish error is the one to report.
    }
  }

  async getCommand(id: string): Promise<Command> {
    const command = await this.#store.commands.get(id);
    if (!command) throw notFound('command', id);
    return command;
  }

  /** Commands of one device, in the store's order. */
  async listCommands(deviceId: string, filter: Omit<CommandFilter, 'deviceId'> = {}): Promise<Command[]> {
    await this.getDevice(deviceId);
    return this.#store.commands.list({ ...filter, deviceId });
  }

  // ---- telemetry (read side) ----

  async queryTelemetry(query: TelemetryQuery): Promise<Reading[]> {
    await this.getDevice(query.deviceId);
    return this.#store.telemetry.query(query);
  }

  async downsampleTelemetry(query: Omit<DownsampleQuery, 'measurand'> & { measurand: string }): Promise<Bucket[]> {
    const { measurand } = query;
    if (!isNumericMeasurand(measurand))
      throw validationError('telemetry query', [{ path: '/measurand', message: 'must be a numeric measurand' }]);
    await this.getDevice(query.deviceId);
    return this.#store.telemetry.downsample({ ...query, measurand });
  }

  async latestTelemetry(deviceId: string): Promise<Reading[]> {
    await this.getDevice(deviceId);
    return this.#store.telemetry.latest(deviceId);
  }

  // ---- audit ----

  listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    return this.#store.audit.list(filter);
  }
}
