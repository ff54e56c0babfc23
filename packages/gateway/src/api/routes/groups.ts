import Type from 'typebox';
import { MembershipEndInput, MembershipInput } from '../../registry/index.ts';
import {
  errorResponses,
  GroupMemberParams,
  IdParams,
  MembershipSchema,
  MembersQuery,
  routeSchema,
} from '../schemas.ts';
import { type Api, principalOf, type RouteContext } from './context.ts';

/** Group membership over time: add, end, and the history or the members at an instant. */
export function groupRoutes(app: Api, { registry }: RouteContext): void {
  app.get(
    '/api/groups/:id/members',
    {
      schema: {
        tags: ['groups'],
        operationId: 'listGroupMembers',
        summary: "A group's membership history; with ?at= only the memberships in force at that instant",
        params: IdParams,
        querystring: MembersQuery,
        response: { 200: Type.Array(MembershipSchema), ...errorResponses },
      },
    },
    async (request) => registry.listMembers(request.params.id, request.query.at),
  );

  app.post(
    '/api/groups/:id/members',
    {
      schema: {
        tags: ['groups'],
        operationId: 'addGroupMember',
        summary: 'Add a device to a group from validFrom (default now)',
        params: IdParams,
        body: routeSchema(MembershipInput),
        response: { 201: MembershipSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const membership = await registry.addMember(request.params.id, request.body, principalOf(request).name);
      return reply.code(201).send(membership);
    },
  );

  app.post(
    '/api/groups/:id/members/:deviceId/end',
    {
      schema: {
        tags: ['groups'],
        operationId: 'endGroupMember',
        summary: "End a device's open membership at validTo (default now); the body may be omitted",
        params: GroupMemberParams,
        body: routeSchema(MembershipEndInput),
        response: { 200: MembershipSchema, ...errorResponses },
      },
      // An absent body means "end it now"; fastify would otherwise validate `undefined`.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
    },
    async (request) =>
      registry.endMember(request.params.id, request.params.deviceId, request.body, principalOf(request).name),
  );
}
