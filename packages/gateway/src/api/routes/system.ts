import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Bus } from '../../bus/types.ts';
import type { Store } from '../../store/types.ts';
import { AuditEntrySchema, AuditQuery, errorResponses, Health } from '../schemas.ts';
import type { Api, RouteContext } from './context.ts';

export interface SystemRouteOptions {
  store: Store;
  bus: Bus;
  startedAt: number;
}

/** Health, audit log, metrics and the OpenAPI document. */
export function systemRoutes(app: Api, context: RouteContext, options: SystemRouteOptions): void {
  const { registry, metrics, now } = context;

  app.get(
    '/api/health',
    {
      schema: {
        tags: ['system'],
        operationId: 'health',
        summary: 'Liveness and the backends in use; no token needed',
        security: [],
        response: { 200: Health, 503: Health },
      },
    },
    async (request, reply) => {
      let status: 'ok' | 'degraded' = 'ok';
      try {
        // A cheap read proves the store answers.
        await options.store.sites.count({ limit: 1 });
      } catch (error) {
        request.log.warn({ err: error }, 'health check: store did not answer');
        status = 'degraded';
      }
      const body = {
        status,
        store: options.store.kind,
        bus: options.bus.kind,
        uptimeS: Math.max(0, (now() - options.startedAt) / 1000),
      };
      return reply.code(status === 'ok' ? 200 : 503).send(body);
    },
  );

  app.get(
    '/api/audit',
    {
      schema: {
        tags: ['system'],
        operationId: 'listAudit',
        summary: 'The audit trail of every write (admin only)',
        querystring: AuditQuery,
        response: { 200: Type.Array(AuditEntrySchema), ...errorResponses },
      },
    },
    async (request) => registry.listAudit(request.query),
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['system'],
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: Type.String(), ...errorResponses },
      },
    },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}

/** GET /openapi.json: the document @fastify/swagger builds from the route schemas. */
export function openApiRoute(app: FastifyInstance): void {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
