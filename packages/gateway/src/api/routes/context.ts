import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { GridseamError } from '@gridseam/model';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from 'fastify';
import type { FleetRegistry } from '../../registry/index.ts';
import type { Principal } from '../auth.ts';
import type { ApiMetrics } from '../metrics.ts';

/** The fastify instance routes are declared on: TypeBox schemas give typed bodies and replies. */
export type Api = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RouteContext {
  registry: FleetRegistry;
  metrics: ApiMetrics;
  now: () => number;
}

const principals = new WeakMap<FastifyRequest, Principal>();

export function setPrincipal(request: FastifyRequest, principal: Principal): void {
  principals.set(request, principal);
}

/** The authenticated caller; routes that need one are never public, so it is always there. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw new GridseamError('GW_ERR_INTERNAL', 'no authenticated principal on a protected route');
  return principal;
}
