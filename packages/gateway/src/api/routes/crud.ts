import { validationError } from '@gridseam/model';
import type { FastifyInstance } from 'fastify';
import Type, { type Static, type TSchema } from 'typebox';
import { errorResponses, IdParams, routeSchema } from '../schemas.ts';
import { principalOf } from './context.ts';

/** One entity kind's list/get/create/replace/delete, all through the registry. */
export interface CrudSpec<E extends TSchema, I extends TSchema, Q extends TSchema> {
  /** Collection path, e.g. /api/sites. */
  path: string;
  tag: string;
  /** Singular and plural names for summaries and operation ids: ['site', 'Site', 'Sites']. */
  names: [noun: string, singular: string, plural: string];
  entity: E;
  input: I;
  query: Q;
  list(query: Static<Q>): Promise<Static<E>[]>;
  get(id: string): Promise<Static<E>>;
  create(input: Static<I>, actor: string): Promise<Static<E>>;
  update(input: Static<I>, actor: string): Promise<Static<E>>;
  remove(id: string, actor: string): Promise<void>;
}

/**
 * Declares the five routes of a resource. Bodies and queries arrive validated against the schemas
 * given here (see errors.ts validatorCompiler); the casts only restate that for the compiler,
 * which cannot follow schema types through this generic helper.
 */
export function crudRoutes<E extends TSchema, I extends TSchema, Q extends TSchema>(
  app: FastifyInstance,
  spec: CrudSpec<E, I, Q>,
): void {
  const [noun, singular, plural] = spec.names;
  const item = `${spec.path}/:id`;
  const tags = [spec.tag];
  const input = routeSchema(spec.input);

  app.get(
    spec.path,
    {
      schema: {
        tags,
        operationId: `list${plural}`,
        summary: `List ${plural.toLowerCase()}`,
        querystring: spec.query,
        response: { 200: Type.Array(spec.entity), ...errorResponses },
      },
    },
    async (request) => spec.list(request.query as Static<Q>),
  );

  app.get(
    item,
    {
      schema: {
        tags,
        operationId: `get${singular}`,
        summary: `Get one ${noun}`,
        params: IdParams,
        response: { 200: spec.entity, ...errorResponses },
      },
    },
    async (request) => spec.get((request.params as Static<typeof IdParams>).id),
  );

  app.post(
    spec.path,
    {
      schema: {
        tags,
        operationId: `create${singular}`,
        summary: `Create a ${noun}`,
        body: input,
        response: { 201: spec.entity, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await spec.create(request.body as Static<I>, principalOf(request).name);
      const id = (created as { id: string }).id;
      return reply
        .code(201)
        .header('location', `${spec.path}/${encodeURIComponent(id)}`)
        .send(created);
    },
  );

  app.put(
    item,
    {
      schema: {
        tags,
        operationId: `replace${singular}`,
        summary: `Replace a ${noun} (the whole entity; the id must match the path)`,
        params: IdParams,
        body: input,
        response: { 200: spec.entity, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const body = request.body as Static<I> & { id: string };
      if (body.id !== id)
        throw validationError('request body', [{ path: '/id', message: `must equal the id in the path (${id})` }]);
      return spec.update(body, principalOf(request).name);
    },
  );

  app.delete(
    item,
    {
      schema: {
        tags,
        operationId: `delete${singular}`,
        summary: `Delete a ${noun}`,
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      await spec.remove((request.params as Static<typeof IdParams>).id, principalOf(request).name);
      return reply.code(204).send();
    },
  );
}
