/**
 * What each version of the API serves: the operations (method, path template, operationId, required scopes,
 * as in the `paths` of openadr3.yaml 3.0.1 and 3.1.0), the query parameters each list accepts, the properties
 * each request schema defines, and the scopes each role gets. A test checks the operation table against the
 * OpenAPI documents.
 */
import type { Oadr3Version, VtnObjectKind, VtnRole } from './contract.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type OperationAction =
  | { kind: 'list' | 'get' | 'create' | 'update' | 'delete'; object: VtnObjectKind }
  | { kind: 'authServer' | 'authToken' | 'notifiers' | 'mqttTopics' };

export interface VtnOperation {
  method: HttpMethod;
  /** OpenAPI path template, e.g. '/programs/{programID}'. */
  path: string;
  operationId: string;
  /** oAuth2ClientCredentials scopes the caller must hold (all of them); absent for the auth endpoints. */
  scopes?: readonly string[];
  action: OperationAction;
}

type Crud = Array<[HttpMethod, string, string, string, OperationAction]>;

function crud(
  object: VtnObjectKind,
  collection: string,
  idParam: string,
  ids: { list: string; create: string; get: string; update: string; delete: string },
  readScope: string,
  writeScope: string,
): Crud {
  const item = `${collection}/{${idParam}}`;
  return [
    ['GET', collection, ids.list, readScope, { kind: 'list', object }],
    ['POST', collection, ids.create, writeScope, { kind: 'create', object }],
    ['GET', item, ids.get, readScope, { kind: 'get', object }],
    ['PUT', item, ids.update, writeScope, { kind: 'update', object }],
    ['DELETE', item, ids.delete, writeScope, { kind: 'delete', object }],
  ];
}

const PROGRAM_IDS = {
  list: 'searchAllPrograms',
  create: 'createProgram',
  get: 'searchProgramByProgramId',
  update: 'updateProgram',
  delete: 'deleteProgram',
};
const REPORT_IDS = {
  list: 'searchAllReports',
  create: 'createReport',
  get: 'searchReportsByReportID',
  update: 'updateReport',
  delete: 'deleteReport',
};
const EVENT_IDS = {
  list: 'searchAllEvents',
  create: 'createEvent',
  get: 'searchEventsByID',
  update: 'updateEvent',
  delete: 'deleteEvent',
};
const SUBSCRIPTION_IDS = {
  list: 'searchSubscriptions',
  create: 'createSubscription',
  get: 'searchSubscriptionByID',
  update: 'updateSubscription',
  delete: 'deleteSubscription',
};
const VEN_IDS = {
  list: 'searchVens',
  create: 'createVen',
  get: 'searchVenByID',
  update: 'updateVen',
  delete: 'deleteVen',
};
const RESOURCE_IDS = {
  list: 'searchVenResources',
  create: 'createResource',
  get: 'searchVenResourceByID',
  update: 'updateVenResource',
  delete: 'deleteVenResource',
};

function table(rows: Crud): VtnOperation[] {
  return rows.map(([method, path, operationId, scope, action]) => ({
    method,
    path,
    operationId,
    ...(scope === '' ? {} : { scopes: [scope] }),
    action,
  }));
}

const MQTT_TOPIC_PATHS: Array<[string, string, string]> = [
  ['/notifiers/mqtt/topics/programs', 'listAllMqttNotifierTopicsPrograms', 'read_all'],
  ['/notifiers/mqtt/topics/programs/{programID}', 'listAllMqttNotifierTopicsProgram', 'read_all'],
  ['/notifiers/mqtt/topics/events', 'listAllMqttNotifierTopicsEvents', 'read_bl'],
  ['/notifiers/mqtt/topics/programs/{programID}/events', 'listAllMqttNotifierTopicsProgramEvents', 'read_all'],
  ['/notifiers/mqtt/topics/reports', 'listAllMqttNotifierTopicsReports', 'read_bl'],
  ['/notifiers/mqtt/topics/subscriptions', 'listAllMqttNotifierTopicsSubscriptions', 'read_bl'],
  ['/notifiers/mqtt/topics/vens', 'listAllMqttNotifierTopicsVens', 'read_bl'],
  ['/notifiers/mqtt/topics/vens/{venID}', 'listAllMqttNotifierTopicsVen', 'read_ven_objects'],
  ['/notifiers/mqtt/topics/resources', 'listAllMqttNotifierTopicsResources', 'read_bl'],
  ['/notifiers/mqtt/topics/vens/{venID}/events', 'listAllMqttNotifierTopicsVenEvents', 'read_ven_objects'],
  ['/notifiers/mqtt/topics/vens/{venID}/programs', 'listAllMqttNotifierTopicsVenPrograms', 'read_ven_objects'],
  ['/notifiers/mqtt/topics/vens/{venID}/resources', 'listAllMqttNotifierTopicsVenResources', 'read_ven_objects'],
];

/** 3.0.1: every read needs read_all; resources live under /vens/{venID}/resources. */
const OPERATIONS_301: readonly VtnOperation[] = table([
  ...crud('program', '/programs', 'programID', PROGRAM_IDS, 'read_all', 'write_programs'),
  ...crud('report', '/reports', 'reportID', REPORT_IDS, 'read_all', 'write_reports'),
  ...crud('event', '/events', 'eventID', EVENT_IDS, 'read_all', 'write_events'),
  ...crud('subscription', '/subscriptions', 'subscriptionID', SUBSCRIPTION_IDS, 'read_all', 'write_subscriptions'),
  ...crud('ven', '/vens', 'venID', VEN_IDS, 'read_all', 'write_vens'),
  ...crud('resource', '/vens/{venID}/resources', 'resourceID', RESOURCE_IDS, 'read_all', 'write_vens'),
  ['POST', '/auth/token', 'fetchToken', '', { kind: 'authToken' }],
]);

/** 3.1.0: reads of targeted objects need read_targets, of VEN-owned objects read_ven_objects (Object Privacy). */
const OPERATIONS_310: readonly VtnOperation[] = table([
  ...crud('program', '/programs', 'programID', PROGRAM_IDS, 'read_targets', 'write_programs'),
  ...crud('report', '/reports', 'reportID', REPORT_IDS, 'read_ven_objects', 'write_reports'),
  ...crud('event', '/events', 'eventID', EVENT_IDS, 'read_targets', 'write_events'),
  ...crud(
    'subscription',
    '/subscriptions',
    'subscriptionID',
    SUBSCRIPTION_IDS,
    'read_ven_objects',
    'write_subscriptions',
  ),
  ...crud('ven', '/vens', 'venID', VEN_IDS, 'read_ven_objects', 'write_vens'),
  ...crud('resource', '/resources', 'resourceID', RESOURCE_IDS, 'read_ven_objects', 'write_vens'),
  ['GET', '/auth/server', 'getAuthServerInfo', '', { kind: 'authServer' }],
  ['POST', '/auth/token', 'fetchToken', '', { kind: 'authToken' }],
  ['GET', '/notifiers', 'listAllNotifiers', 'read_all', { kind: 'notifiers' }],
  ...MQTT_TOPIC_PATHS.map(([path, operationId, scope]): [HttpMethod, string, string, string, OperationAction] => [
    'GET',
    path,
    operationId,
    scope,
    { kind: 'mqttTopics' },
  ]),
]);

export function operationsFor(version: Oadr3Version): readonly VtnOperation[] {
  return version === '3.0.1' ? OPERATIONS_301 : OPERATIONS_310;
}

/** Default scopes per role (securitySchemes.oAuth2ClientCredentials and Definition §Object Privacy). */
const DEFAULT_SCOPES: Readonly<Record<Oadr3Version, Readonly<Record<VtnRole, readonly string[]>>>> = {
  '3.0.1': {
    bl: ['read_all', 'write_programs', 'write_events', 'write_subscriptions', 'write_vens'],
    ven: ['read_all', 'write_reports', 'write_subscriptions', 'write_vens'],
  },
  '3.1.0': {
    bl: [
      'read_all',
      'read_bl',
      'read_targets',
      'read_ven_objects',
      'write_programs',
      'write_events',
      'write_subscriptions',
      'write_vens',
    ],
    // "VENs are assigned a default security scope of 'read_targets'" (Definition §Object Privacy).
    ven: ['read_targets', 'read_ven_objects', 'write_reports', 'write_subscriptions', 'write_vens'],
  },
};

export function defaultScopes(version: Oadr3Version, role: VtnRole): readonly string[] {
  return DEFAULT_SCOPES[version][role];
}

/** Every scope a version defines (securitySchemes), plus read_bl which 3.1.0 operations use. */
export function knownScopes(version: Oadr3Version): ReadonlySet<string> {
  return new Set([...DEFAULT_SCOPES[version].bl, ...DEFAULT_SCOPES[version].ven]);
}

// ---------------------------------------------------------------------------------------------------------------
// Query parameters
// ---------------------------------------------------------------------------------------------------------------

/**
 * The query parameters each list operation declares (parameters of the OpenAPI documents); they are checked
 * and coerced by the OpenAPI validator, others are ignored. A test keeps these lists equal to the documents.
 */
const QUERY_301: Readonly<Record<string, readonly string[]>> = {
  searchAllPrograms: ['targetType', 'targetValues', 'skip', 'limit'],
  searchAllReports: ['programID', 'eventID', 'clientName', 'skip', 'limit'],
  searchAllEvents: ['programID', 'targetType', 'targetValues', 'skip', 'limit'],
  searchSubscriptions: ['programID', 'clientName', 'targetType', 'targetValues', 'objects', 'skip', 'limit'],
  searchVens: ['venName', 'targetType', 'targetValues', 'skip', 'limit'],
  searchVenResources: ['resourceName', 'targetType', 'targetValues', 'skip', 'limit'],
};

const QUERY_310: Readonly<Record<string, readonly string[]>> = {
  searchAllPrograms: ['targets', 'skip', 'limit'],
  searchAllReports: ['programID', 'eventID', 'clientName', 'skip', 'limit'],
  searchAllEvents: ['programID', 'targets', 'skip', 'limit', 'active'],
  searchSubscriptions: ['programID', 'clientName', 'objects', 'skip', 'limit'],
  searchVens: ['venName', 'targets', 'skip', 'limit'],
  searchVenResources: ['resourceName', 'venID', 'targets', 'skip', 'limit'],
};

export function queryParamsFor(version: Oadr3Version, operationId: string): readonly string[] {
  return (version === '3.0.1' ? QUERY_301 : QUERY_310)[operationId] ?? [];
}

/**
 * Gridseam extension (3.1.0): a VEN may name its `targets` when it reads one targeted program or event by id
 * (the spec gives those operations no parameters; without it the VEN reads with all targets granted to it).
 */
export const BY_ID_TARGET_OPERATIONS: ReadonlySet<string> = new Set(['searchProgramByProgramId', 'searchEventsByID']);

/** The spec's maximum `limit` (int32, maximum 50, both versions). */
export const MAX_PAGE_LIMIT = 50;

// ---------------------------------------------------------------------------------------------------------------
// Request properties (components.schemas); anything else in a body is dropped (Definition §Required and
// optional properties: "a VTN may create a corresponding resource without the additional property").
// ---------------------------------------------------------------------------------------------------------------

const PROPERTIES_301: Readonly<Record<VtnObjectKind, readonly string[]>> = {
  program: [
    'programName',
    'programLongName',
    'retailerName',
    'retailerLongName',
    'programType',
    'country',
    'principalSubdivision',
    'timeZoneOffset',
    'intervalPeriod',
    'programDescriptions',
    'bindingEvents',
    'localPrice',
    'payloadDescriptors',
    'targets',
  ],
  report: ['programID', 'eventID', 'clientName', 'reportName', 'payloadDescriptors', 'resources'],
  event: [
    'programID',
    'eventName',
    'priority',
    'targets',
    'reportDescriptors',
    'payloadDescriptors',
    'intervalPeriod',
    'intervals',
  ],
  subscription: ['clientName', 'programID', 'objectOperations', 'targets'],
  // `resources` is rendered from the ven's resource objects, not stored.
  ven: ['venName', 'attributes', 'targets'],
  resource: ['resourceName', 'venID', 'attributes', 'targets'],
};

const PROPERTIES_310: Readonly<Record<VtnObjectKind, readonly string[]>> = {
  program: ['programName', 'intervalPeriod', 'programDescriptions', 'payloadDescriptors', 'attributes', 'targets'],
  report: ['eventID', 'clientName', 'reportName', 'payloadDescriptors', 'resources'],
  event: [
    'programID',
    'eventName',
    'duration',
    'priority',
    'targets',
    'reportDescriptors',
    'payloadDescriptors',
    'intervalPeriod',
    'intervals',
  ],
  subscription: ['clientName', 'programID', 'objectOperations', 'targets'],
  // BlVenRequest / BlResourceRequest; the VEN forms are subsets.
  ven: ['clientID', 'targets', 'venName', 'attributes'],
  resource: ['clientID', 'targets', 'resourceName', 'venID', 'attributes'],
};

export function requestProperties(version: Oadr3Version, kind: VtnObjectKind): readonly string[] {
  return (version === '3.0.1' ? PROPERTIES_301 : PROPERTIES_310)[kind];
}
