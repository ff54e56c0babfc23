import { Enrolment, Group, Program, Site } from '@gridseam/model';
import type { FastifyInstance } from 'fastify';
import { DeviceInput, EventInput } from '../../registry/index.ts';
import {
  DeviceQuery,
  DeviceSchema,
  EnrolmentQuery,
  EnrolmentSchema,
  EventQuery,
  EventSchema,
  GroupQuery,
  GroupSchema,
  PageQuery,
  ProgramSchema,
  SiteSchema,
} from '../schemas.ts';
import type { RouteContext } from './context.ts';
import { crudRoutes } from './crud.ts';

/** The plain CRUD resources; their extra routes live in devices.ts, groups.ts and events.ts. */
export function resourceRoutes(app: FastifyInstance, { registry }: RouteContext): void {
  crudRoutes(app, {
    path: '/api/sites',
    tag: 'sites',
    names: ['site', 'Site', 'Sites'],
    entity: SiteSchema,
    input: Site,
    query: PageQuery,
    list: (query) => registry.listSites(query),
    get: (id) => registry.getSite(id),
    create: (input, actor) => registry.createSite(input, actor),
    update: (input, actor) => registry.updateSite(input, actor),
    remove: (id, actor) => registry.deleteSite(id, actor),
  });

  crudRoutes(app, {
    path: '/api/devices',
    tag: 'devices',
    names: ['device', 'Device', 'Devices'],
    entity: DeviceSchema,
    input: DeviceInput,
    query: DeviceQuery,
    list: (query) => registry.listDevices(query),
    get: (id) => registry.getDevice(id),
    create: (input, actor) => registry.createDevice(input, actor),
    update: (input, actor) => registry.updateDevice(input, actor),
    remove: (id, actor) => registry.deleteDevice(id, actor),
  });

  crudRoutes(app, {
    path: '/api/groups',
    tag: 'groups',
    names: ['group', 'Group', 'Groups'],
    entity: GroupSchema,
    input: Group,
    query: GroupQuery,
    list: (query) => registry.listGroups(query),
    get: (id) => registry.getGroup(id),
    create: (input, actor) => registry.createGroup(input, actor),
    update: (input, actor) => registry.updateGroup(input, actor),
    remove: (id, actor) => registry.deleteGroup(id, actor),
  });

  crudRoutes(app, {
    path: '/api/programs',
    tag: 'programs',
    names: ['program', 'Program', 'Programs'],
    entity: ProgramSchema,
    input: Program,
    query: PageQuery,
    list: (query) => registry.listPrograms(query),
    get: (id) => registry.getProgram(id),
    create: (input, actor) => registry.createProgram(input, actor),
    update: (input, actor) => registry.updateProgram(input, actor),
    remove: (id, actor) => registry.deleteProgram(id, actor),
  });

  crudRoutes(app, {
    path: '/api/events',
    tag: 'events',
    names: ['event', 'Event', 'Events'],
    entity: EventSchema,
    input: EventInput,
    query: EventQuery,
    list: (query) => registry.listEvents(query),
    get: (id) => registry.getEvent(id),
    create: (input, actor) => registry.createEvent(input, actor),
    update: (input, actor) => registry.updateEvent(input, actor),
    remove: (id, actor) => registry.deleteEvent(id, actor),
  });

  crudRoutes(app, {
    path: '/api/enrolments',
    tag: 'enrolments',
    names: ['enrolment', 'Enrolment', 'Enrolments'],
    entity: EnrolmentSchema,
    input: Enrolment,
    query: EnrolmentQuery,
    list: (query) => registry.listEnrolments(query),
    get: (id) => registry.getEnrolment(id),
    create: (input, actor) => registry.createEnrolment(input, actor),
    update: (input, actor) => registry.updateEnrolment(input, actor),
    remove: (id, actor) => registry.deleteEnrolment(id, actor),
  });
}
