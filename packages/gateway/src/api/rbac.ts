import { ROLES, type Role } from './types.ts';

/** 'public' needs no token; a role needs a token of that role or a more powerful one. */
export type Access = 'public' | Role;

/**
 * Who may call what, as data: `METHOD /route/pattern` -> the least role allowed. A route missing
 * here cannot be registered (buildApi fails at start-up), so a new route is never open by accident.
 * HEAD follows GET. /metrics is 'viewer' unless ApiOptions.publicMetrics is set.
 */
export const RBAC_RULES: Readonly<Record<string, Access>> = {
  'GET /api/health': 'public',
  'GET /openapi.json': 'public',
  'GET /metrics': 'viewer',
  'GET /api/session': 'viewer',
  // The console's files: the page asks for a token and sends it with every API call.
  'GET /': 'public',
  'GET /assets/*': 'public',
  'GET /favicon.ico': 'public',
  // A WebSocket authenticated by its first message (api/live/hub.ts, LIVE_ROLE).
  'GET /api/live': 'public',
  'GET /api/fleet/summary': 'viewer',

  'GET /api/sites': 'viewer',
  'GET /api/sites/:id': 'viewer',
  'POST /api/sites': 'operator',
  'PUT /api/sites/:id': 'operator',
  'DELETE /api/sites/:id': 'admin',

  'GET /api/devices': 'viewer',
  'GET /api/devices/:id': 'viewer',
  'GET /api/devices/status': 'viewer',
  'POST /api/devices': 'operator',
  'PUT /api/devices/:id': 'operator',
  'DELETE /api/devices/:id': 'admin',
  'POST /api/devices/:id/setpoints': 'operator',
  'GET /api/devices/:id/commands': 'viewer',
  'GET /api/commands/:id': 'viewer',
  'GET /api/devices/:id/telemetry': 'viewer',
  'GET /api/devices/:id/telemetry/latest': 'viewer',
  'GET /api/devices/:id/sessions': 'viewer',
  'POST /api/devices/:id/charger/remote-start': 'operator',
  'POST /api/devices/:id/charger/remote-stop': 'operator',
  'POST /api/devices/:id/charger/reset': 'operator',
  'POST /api/devices/:id/charger/availability': 'operator',
  'GET /api/devices/:id/charger/settings': 'viewer',
  'PUT /api/devices/:id/charger/settings': 'operator',
  'GET /api/devices/:id/charger/composite-schedule': 'viewer',

  'GET /api/groups': 'viewer',
  'GET /api/groups/:id': 'viewer',
  'POST /api/groups': 'operator',
  'PUT /api/groups/:id': 'operator',
  'DELETE /api/groups/:id': 'admin',
  'GET /api/groups/:id/members': 'viewer',
  'POST /api/groups/:id/members': 'operator',
  'POST /api/groups/:id/members/:deviceId/end': 'operator',

  'GET /api/programs': 'viewer',
  'GET /api/programs/:id': 'viewer',
  'POST /api/programs': 'operator',
  'PUT /api/programs/:id': 'operator',
  'DELETE /api/programs/:id': 'admin',

  'GET /api/events': 'viewer',
  'GET /api/events/:id': 'viewer',
  'POST /api/events': 'operator',
  'PUT /api/events/:id': 'operator',
  'DELETE /api/events/:id': 'admin',
  'POST /api/events/:id/status': 'operator',
  'GET /api/events/:id/decisions': 'viewer',
  'GET /api/events/:id/reports': 'viewer',

  'GET /api/control/decisions': 'viewer',
  'GET /api/control/compliance': 'viewer',
  'GET /api/control/overrides': 'viewer',
  'POST /api/control/overrides': 'operator',
  'DELETE /api/control/overrides/:id': 'operator',

  'GET /api/dispatch/plan': 'viewer',
  'GET /api/dispatch/history': 'viewer',
  'GET /api/devices/:id/plan': 'viewer',

  'POST /api/settlement/days/:date': 'operator',
  'GET /api/settlement/days': 'viewer',
  'GET /api/settlement/days/:date': 'viewer',
  'GET /api/settlement/days/:date/lines.csv': 'viewer',
  'GET /api/settlement/days/:date/ledger.csv': 'viewer',
  'GET /api/settlement/days/:date/reconciliation.csv': 'viewer',
  'GET /api/settlement/summary': 'viewer',
  'GET /api/settlement/events/:id/report': 'viewer',

  'GET /api/market/aggregations': 'viewer',
  'GET /api/market/aggregations/:id': 'viewer',
  'PUT /api/market/aggregations/:id': 'operator',
  'POST /api/market/aggregations/:id/registration': 'operator',
  'GET /api/market/aggregations/:id/offers': 'viewer',
  'POST /api/market/awards': 'operator',
  'GET /api/market/awards': 'viewer',

  'GET /api/enrolments': 'viewer',
  'GET /api/enrolments/:id': 'viewer',
  'POST /api/enrolments': 'operator',
  'PUT /api/enrolments/:id': 'operator',
  'DELETE /api/enrolments/:id': 'admin',

  'GET /api/audit': 'admin',
};

export function ruleKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/** The access rule of a route, or undefined when the table has none. */
export function accessFor(method: string, url: string, rules: Readonly<Record<string, Access>> = RBAC_RULES) {
  return Object.hasOwn(rules, ruleKey(method, url)) ? rules[ruleKey(method, url)] : undefined;
}

/** Roles are ordered (ROLES): each may do everything the ones before it may. */
export function roleAllows(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}
