import { EpochMs } from '@gridseam/model';
import Type from 'typebox';
import { readSessions } from '../../seams/ocpp-sessions.ts';
import type { Store } from '../../store/types.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import type { Api, RouteContext } from './context.ts';

/** A charging session as the API shows it (OCPP 1.6 Start/StopTransaction; 2.0.1 TransactionEvent). */
export const ChargingSessionSchema = Type.Object(
  {
    transactionId: Type.String(),
    /** The station's OCPP identity. */
    identity: Type.String(),
    evseId: Type.Integer({ minimum: 0 }),
    idTag: Type.Optional(Type.String()),
    startedAt: EpochMs,
    endedAt: Type.Optional(EpochMs),
    meterStartWh: Type.Optional(Type.Number()),
    meterStopWh: Type.Optional(Type.Number()),
    /** Energy delivered so far, Wh. */
    energyWh: Type.Optional(Type.Number()),
    stopReason: Type.Optional(Type.String()),
    evSocPct: Type.Optional(Type.Number()),
    state: Type.Enum(['active', 'ended']),
  },
  { additionalProperties: false },
);

export const SessionQuery = Type.Object({
  state: Type.Optional(Type.Enum(['active', 'ended'])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'At most this many (default 100)' })),
});

const DEFAULT_LIMIT = 100;

/** Charging sessions of a device (an OCPP charging station), newest first. */
export function sessionRoutes(
  app: Api,
  { registry }: RouteContext,
  options: { store: Pick<Store, 'documents'> },
): void {
  app.get(
    '/api/devices/:id/sessions',
    {
      schema: {
        tags: ['devices'],
        operationId: 'listDeviceSessions',
        summary: "A charging station's charging sessions, newest first",
        params: IdParams,
        querystring: SessionQuery,
        response: { 200: Type.Array(ChargingSessionSchema), ...errorResponses },
      },
    },
    async (request) => {
      await registry.getDevice(request.params.id); // 404 for an unknown device
      const { state, limit } = request.query;
      const sessions = await readSessions(options.store, request.params.id);
      return sessions
        .filter((s) => state === undefined || s.state === state)
        .reverse()
        .slice(0, limit ?? DEFAULT_LIMIT);
    },
  );
}
