import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { consoleAssetsDir } from '@gridseam/console';
import { GridseamError } from '@gridseam/model';
import Fastify, { type FastifyInstance } from 'fastify';
import { REDACTED_PATHS as GATEWAY_REDACTED_PATHS } from '../log.ts';
import { MarketService } from '../market/service.ts';
import { FleetRegistry } from '../registry/index.ts';
import { SettlementService } from '../settlement/index.ts';
import { bearerToken, TokenVerifier } from './auth.ts';
import { errorAnswer, validatorCompiler } from './errors.ts';
import { FleetSummarizer } from './fleet-summary.ts';
import { DeviceStates } from './live/device-states.ts';
import { LiveHub } from './live/hub.ts';
import { createApiMetrics } from './metrics.ts';
import { type Access, accessFor, RBAC_RULES, roleAllows, ruleKey } from './rbac.ts';
import { chargerRoutes } from './routes/chargers.ts';
import { consoleRoutes } from './routes/console.ts';
import { type Api, type RouteContext, setPrincipal } from './routes/context.ts';
import { controlRoutes } from './routes/control.ts';
import { deviceRoutes, deviceStatusRoutes } from './routes/devices.ts';
import { dispatchRoutes } from './routes/dispatch.ts';
import { eventReportRoutes } from './routes/event-reports.ts';
import { eventRoutes } from './routes/events.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { groupRoutes } from './routes/groups.ts';
import { liveRoutes } from './routes/live.ts';
import { marketRoutes } from './routes/market.ts';
import { resourceRoutes } from './routes/resources.ts';
import { sessionInfoRoutes } from './routes/session.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { settlementRoutes } from './routes/settlement.ts';
import { openApiRoute, systemRoutes } from './routes/system.ts';
import type { ApiOptions } from './types.ts';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
const API_VERSION = '0.1.0';

/**
 * Log fields that could carry a secret. A pino child's redact list replaces its parent's, so the
 * gateway's own list (log.ts) is repeated here, plus the request headers.
 */
const REDACTED_PATHS = [
  ...new Set([
    ...GATEWAY_REDACTED_PATHS,
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    'authorization',
  ]),
];

const liveHubs = new WeakMap<FastifyInstance, LiveHub>();

/** The live-feed hub of an API built by buildApi (its stats() for tests and the demo's status line). */
export function liveHubOf(app: FastifyInstance): LiveHub | undefined {
  return liveHubs.get(app);
}

/**
 * Builds the operator API: routes under /api, /openapi.json and /metrics, bearer-token auth with
 * RBAC from rbac.ts, stable error bodies, request metrics and structured logs. The caller owns
 * the store and the bus (closing the app closes neither) and calls `app.listen` itself.
 */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const verifier = new TokenVerifier(options.tokens);
  const metrics = createApiMetrics(options.metrics);
  const rules: Record<string, Access> = {
    ...RBAC_RULES,
    ...(options.publicMetrics === true ? { 'GET /metrics': 'public' } : {}),
  };

  const app = Fastify({
    loggerInstance: options.logger.child({}, { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Reject, rather than strip, prototype poisoning attempts in JSON bodies.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true },
  });
  // Bodies are JSON only: without a text/plain parser other content types answer 415.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);

  // Every route must have an access rule; a route without one is a start-up error, not an open door.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (accessFor(method, route.url, rules) === undefined)
        throw new GridseamError(
          'GW_ERR_CONFIG',
          `no RBAC rule for ${ruleKey(method, route.url)} (add it to api/rbac.ts)`,
        );
    }
    if (methods.every((m) => accessFor(m, route.url, rules) === 'public')) {
      route.schema = { ...route.schema, security: [] };
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gridseam operator API',
        version: API_VERSION,
        description: 'Fleet registry, programs, events, setpoints and telemetry. Errors: docs/reference/errors.md.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token from the config' } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'sites' },
        { name: 'devices' },
        { name: 'groups' },
        { name: 'programs' },
        { name: 'events' },
        { name: 'enrolments' },
        { name: 'commands' },
        { name: 'telemetry' },
        { name: 'control' },
        { name: 'dispatch' },
        { name: 'settlement' },
        { name: 'market' },
        { name: 'fleet' },
        { name: 'live' },
        { name: 'console' },
        { name: 'system' },
      ],
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    if (url === undefined) return; // no such route: the not-found handler answers
    const access = accessFor(request.method, url, rules);
    if (access === 'public') return;
    const token = bearerToken(request.headers.authorization);
    const principal = token === undefined ? undefined : verifier.verify(token);
    if (!principal) {
      metrics.authFailures.inc({ reason: token === undefined ? 'missing' : 'unknown' });
      reply.header('www-authenticate', 'Bearer realm="gridseam"');
      throw new GridseamError('GW_ERR_UNAUTHORIZED', 'a valid bearer token is required');
    }
    if (access === undefined || !roleAllows(principal.role, access)) {
      metrics.authFailures.inc({ reason: 'role' });
      throw new GridseamError(
        'GW_ERR_FORBIDDEN',
        `${request.method} ${url} needs the ${access ?? 'admin'} role; token ${principal.name} is ${principal.role}`,
      );
    }
    setPrincipal(request, principal);
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.requestDuration.observe(
      { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body, internal } = errorAnswer(error);
    if (internal) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, message: body.message }, 'request refused');
    metrics.errors.inc({ code: body.code });
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    metrics.errors.inc({ code: 'GW_ERR_ROUTE_NOT_FOUND' });
    const path = request.url.split('?')[0]?.slice(0, 200) ?? '';
    return reply.code(404).send({
      code: 'GW_ERR_ROUTE_NOT_FOUND',
      message: `no route ${request.method} ${path}`,
      retryable: false,
    });
  });

  const registry = new FleetRegistry({ store: options.store, bus: options.bus, now });
  const context: RouteContext = { registry, metrics, now };
  const typed = app.withTypeProvider<TypeBoxTypeProvider>() as unknown as Api;
  const plain = app as unknown as FastifyInstance;

  resourceRoutes(plain, context);
  deviceRoutes(typed, context);
  sessionRoutes(typed, context, { store: options.store });
  chargerRoutes(typed, context, { store: options.store, chargers: options.chargers });
  groupRoutes(typed, context);
  eventRoutes(typed, context);
  eventReportRoutes(typed, context);
  controlRoutes(typed, context, options.control);
  dispatchRoutes(typed, context, { store: options.store, plans: options.dispatch });
  settlementRoutes(typed, {
    settlement: options.settlement ?? new SettlementService({ store: options.store, plans: options.dispatch, now }),
  });
  marketRoutes(typed, {
    market: options.market ?? new MarketService({ store: options.store, registry, plans: options.dispatch, now }),
  });
  systemRoutes(typed, context, { store: options.store, bus: options.bus, startedAt });
  sessionInfoRoutes(typed);
  consoleRoutes(typed, options.consoleDir ?? consoleAssetsDir());
  openApiRoute(plain);

  // The fleet summary and the live feed share the online states the edge announces on the bus.
  const states = new DeviceStates();
  const summaries = new FleetSummarizer({ store: options.store, states, now });
  fleetRoutes(typed, summaries);
  deviceStatusRoutes(typed, context, summaries);
  liveRoutes(typed);
  const live = new LiveHub({
    bus: options.bus,
    store: options.store,
    verifier,
    summaries,
    states,
    logger: options.logger.child({ component: 'live' }),
    metrics,
    now,
    ...(options.live ? { limits: options.live } : {}),
  });
  // Before the HTTP server closes: it would wait for the upgraded sockets otherwise.
  app.addHook('preClose', async () => live.close());
  try {
    await live.start();
  } catch (error) {
    await app.close();
    throw error;
  }
  live.attach(app.server);
  liveHubs.set(plain, live);

  return plain;
}
