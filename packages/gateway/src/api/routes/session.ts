/**
 * GET /api/session: who the presented token is (the console shows it and hides the forms a viewer
 * may not use). Not to be confused with sessions.ts, an OCPP station's charging sessions.
 */
import Type from 'typebox';
import { errorResponses } from '../schemas.ts';
import { ROLES } from '../types.ts';
import { type Api, principalOf } from './context.ts';

const SessionSchema = Type.Object(
  { name: Type.String({ description: "The token's name in the config" }), role: Type.Enum(ROLES) },
  { additionalProperties: false },
);

export function sessionInfoRoutes(app: Api): void {
  app.get(
    '/api/session',
    {
      schema: {
        tags: ['system'],
        operationId: 'session',
        summary: 'The name and role of the presented token',
        response: { 200: SessionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { name, role } = principalOf(request);
      return { name, role };
    },
  );
}
