import { GridseamError, Id } from '@gridseam/model';
import Type from 'typebox';
import type { ControlEngine } from '../../control/engine.ts';
import { CONTROL_TYPES } from '../../control/types.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import { type Api, principalOf, type RouteContext } from './context.ts';

/** What the control routes need of the engine. */
export type ControlService = Pick<
  ControlEngine,
  'decisions' | 'compliance' | 'overrides' | 'operatorOverride' | 'cancelOverride'
>;

/** An open record: the engine's decision, compliance and override documents (see control/engine.ts). */
const Open = Type.Object({}, { additionalProperties: true });

const OverrideBody = Type.Object(
  {
    scope: Type.Object({ kind: Type.Enum(['site', 'group', 'device']), id: Id }, { additionalProperties: false }),
    type: Type.Enum([...CONTROL_TYPES]),
    value: Type.Number(),
    durationS: Type.Integer({ minimum: 1, maximum: 86_400, description: 'An override always expires (at most 24 h)' }),
  },
  { additionalProperties: false },
);

function running(control: ControlService | undefined): ControlService {
  if (!control) throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'the control engine is not running in this gateway');
  return control;
}

/** The control engine's decisions, compliance and operator overrides; an event's decision history. */
export function controlRoutes(app: Api, { registry }: RouteContext, control: ControlService | undefined): void {
  app.get(
    '/api/control/decisions',
    {
      schema: {
        tags: ['control'],
        operationId: 'listControlDecisions',
        summary:
          'The latest decision per (scope, control type): winner, ranked losers with reasons, allocation, delivery',
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async () => running(control).decisions(),
  );

  app.get(
    '/api/control/compliance',
    {
      schema: {
        tags: ['control'],
        operationId: 'listControlCompliance',
        summary: 'Per live event: its targets against the latest telemetry, its commands and failures',
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async () => running(control).compliance(),
  );

  app.get(
    '/api/control/overrides',
    {
      schema: {
        tags: ['control'],
        operationId: 'listControlOverrides',
        summary: 'Operator overrides not yet ended',
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async () => running(control).overrides(),
  );

  app.post(
    '/api/control/overrides',
    {
      schema: {
        tags: ['control'],
        operationId: 'createControlOverride',
        summary: 'Override the control of a site, group or device (primacy 0, expires after durationS)',
        body: OverrideBody,
        response: { 201: Open, ...errorResponses },
      },
    },
    async (request, reply) => {
      const intent = await running(control).operatorOverride(request.body, principalOf(request).name);
      return reply.code(201).send(intent);
    },
  );

  app.delete(
    '/api/control/overrides/:id',
    {
      schema: {
        tags: ['control'],
        operationId: 'deleteControlOverride',
        summary: 'End an operator override now',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await running(control).cancelOverride(request.params.id, principalOf(request).name);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/events/:id/decisions',
    {
      schema: {
        tags: ['events'],
        operationId: 'listEventDecisions',
        summary: "The control engine's decisions involving an event, oldest first (from the audit log)",
        params: IdParams,
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async (request) => {
      await registry.getEvent(request.params.id);
      const entries = await registry.listAudit({ targetType: 'event', targetId: request.params.id, limit: 1000 });
      return entries
        .filter((entry) => entry.action === 'control.decision')
        .map((entry) => ({ seq: entry.seq, at: entry.at, ...entry.detail }));
    },
  );
}
