/**
 * GET /api/live without an upgrade: the live feed is a WebSocket (api/live/hub.ts takes the
 * upgrades on the HTTP server before fastify routes anything); a plain request is told so.
 */
import { GridseamError } from '@gridseam/model';
import Type from 'typebox';
import { errorResponses } from '../schemas.ts';
import type { Api } from './context.ts';

export function liveRoutes(app: Api): void {
  app.get(
    '/api/live',
    {
      schema: {
        tags: ['live'],
        operationId: 'live',
        summary: 'The live feed: a WebSocket (send {"type":"auth","token":"..."} first); plain GET answers 400',
        description: 'Messages and close codes: docs/reference/api.md "Live feed".',
        response: { 200: Type.Null(), ...errorResponses },
      },
    },
    async (_request, reply) => {
      reply.header('upgrade', 'websocket');
      throw new GridseamError('GW_ERR_VALIDATION', 'GET /api/live is a WebSocket: connect with Upgrade: websocket');
    },
  );
}
