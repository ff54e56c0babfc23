/**
 * The market interface (docs/reference/api.md "Market", docs/settlement.md): FERC 2222
 * aggregations and their registration, offers from the latest dispatch plan, awards imported as
 * program events (JSON or CSV, at most 1 MiB) and the stored awards. Viewer reads, operator writes.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { MarketService } from '../../market/service.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import { type Api, principalOf } from './context.ts';

/** Largest awards body (the ISO files are small; parseAwards enforces the same bound). */
export const AWARDS_BODY_LIMIT_BYTES = 1024 * 1024;

/** An open record: the shapes of @gridseam/settlement's contract and src/market. */
const Open = Type.Object({}, { additionalProperties: true });
const Instant = Type.Integer({ minimum: 0, maximum: 253402300799999 });
const Window = Type.Object(
  {
    from: Type.Optional({ ...Instant, description: 'Inclusive, epoch ms' }),
    to: Type.Optional({ ...Instant, description: 'Exclusive, epoch ms' }),
  },
  { additionalProperties: false },
);
const OffersQuery = Type.Object(
  {
    from: Type.Optional({ ...Instant, description: 'Inclusive, epoch ms; default the plan start' }),
    to: Type.Optional({ ...Instant, description: 'Exclusive, epoch ms; default the plan end' }),
    market: Type.Optional(Type.Enum(['DA', 'RT', 'FMM', 'RTD'], { description: 'Market run (default DA)' })),
  },
  { additionalProperties: false },
);
const RegistrationBody = Type.Object(
  {
    to: Type.Enum(['draft', 'utility-review', 'iso-review', 'active', 'suspended', 'rejected', 'withdrawn']),
    note: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false },
);
const AwardsQuery = Type.Object(
  {
    timeZone: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'IANA zone for date,hour_ending rows (e.g. America/Los_Angeles); default UTC for epoch-ms times',
      }),
    ),
  },
  { additionalProperties: false },
);

export function marketRoutes(app: Api, options: { market: MarketService }): void {
  const { market } = options;

  app.get(
    '/api/market/aggregations',
    {
      schema: {
        tags: ['market'],
        operationId: 'listAggregations',
        summary: 'FERC 2222 aggregations, each with its problems from now on, capacity now and market time zone',
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async () => market.listAggregations(),
  );

  app.get(
    '/api/market/aggregations/:id',
    {
      schema: {
        tags: ['market'],
        operationId: 'getAggregation',
        summary: 'One aggregation: {aggregation, problems, capacityKw, timeZone, utilityReviewDue?}',
        params: IdParams,
        response: { 200: Open, ...errorResponses },
      },
    },
    async (request) => market.getAggregation(request.params.id),
  );

  app.put(
    '/api/market/aggregations/:id',
    {
      schema: {
        tags: ['market'],
        operationId: 'putAggregation',
        summary: 'Create (201) or replace (200) an aggregation; its registration changes only through /registration',
        params: IdParams,
        body: Open,
        response: { 200: Open, 201: Open, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { view, created } = await market.putAggregation(request.params.id, request.body, principalOf(request).name);
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.post(
    '/api/market/aggregations/:id/registration',
    {
      schema: {
        tags: ['market'],
        operationId: 'moveAggregationRegistration',
        summary:
          'A registration move (draft -> utility-review -> iso-review -> active; suspended, withdrawn, rejected); audited',
        params: IdParams,
        body: RegistrationBody,
        response: { 200: Open, ...errorResponses },
      },
    },
    async (request) =>
      market.transition(request.params.id, request.body.to, principalOf(request).name, request.body.note),
  );

  app.get(
    '/api/market/aggregations/:id/offers',
    {
      schema: {
        tags: ['market'],
        operationId: 'getAggregationOffers',
        summary: 'Energy curves and capacity offers per interval of the latest dispatch plan, for the members',
        params: IdParams,
        querystring: OffersQuery,
        response: { 200: Open, ...errorResponses },
      },
    },
    async (request) => market.offers(request.params.id, request.query),
  );

  app.get(
    '/api/market/awards',
    {
      schema: {
        tags: ['market'],
        operationId: 'listAwards',
        summary: 'Imported awards overlapping [from, to), by start, with their aggregation, program and events',
        querystring: Window,
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async (request) => market.awards(request.query.from, request.query.to),
  );

  // The import reads its body as text (CSV or JSON, checked by parseAwards): its own parsers, in its own scope.
  void (app as unknown as FastifyInstance).register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    for (const type of ['application/json', 'text/csv'])
      scope.addContentTypeParser(
        type,
        { parseAs: 'string', bodyLimit: AWARDS_BODY_LIMIT_BYTES },
        (_request, body, done) => done(null, body),
      );
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/api/market/awards',
      {
        bodyLimit: AWARDS_BODY_LIMIT_BYTES,
        schema: {
          tags: ['market'],
          operationId: 'importAwards',
          summary:
            'Import awards (application/json or text/csv, at most 1 MiB): program events for the engine, stored for settlement',
          querystring: AwardsQuery,
          response: { 200: Open, ...errorResponses },
        },
      },
      async (request) => {
        const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
        const format = contentType.startsWith('text/csv') ? 'csv' : 'json';
        const text = typeof request.body === 'string' ? request.body : '';
        return market.importAwards(text, format, {
          actor: principalOf(request).name,
          ...(request.query.timeZone === undefined ? {} : { timeZone: request.query.timeZone }),
        });
      },
    );
  });
}
