import { EventStatusInput } from '../../registry/index.ts';
import { EventSchema, errorResponses, IdParams, routeSchema } from '../schemas.ts';
import { type Api, principalOf, type RouteContext } from './context.ts';

/** Event status changes; the plain CRUD routes of events are in resources.ts. */
export function eventRoutes(app: Api, { registry }: RouteContext): void {
  app.post(
    '/api/events/:id/status',
    {
      schema: {
        tags: ['events'],
        operationId: 'setEventStatus',
        summary: 'Change the status of an event (409 GW_ERR_INVALID_TRANSITION when not allowed from its status)',
        params: IdParams,
        body: routeSchema(EventStatusInput),
        response: { 200: EventSchema, ...errorResponses },
      },
    },
    async (request) => registry.setEventStatus(request.params.id, request.body, principalOf(request).name),
  );
}
