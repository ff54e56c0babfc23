/**
 * Operator actions on the OCPP charging stations of this gateway (issue 6, "control as DER"):
 * remote start and stop, reset, availability, configuration (1.6 GetConfiguration /
 * ChangeConfiguration keys; 2.0.1 GetVariables / SetVariables as "Component.Variable" keys) and
 * the composite schedule. The station is addressed by its registry device id; the seam's map
 * gives its OCPP identity.
 *
 * Answers: the station's own status in a 200 body (`Accepted`, `Rejected`, `Scheduled`, ...; a
 * refusal is the station's answer, not an API error). A device the registry does not know: 404
 * GW_ERR_NOT_FOUND; a device that is not one of this gateway's OCPP stations (or no CSMS runs):
 * 422 GW_ERR_NOT_SUPPORTED; a station that is not connected or does not answer in time: 504
 * GW_ERR_DEVICE_UNREACHABLE (nothing is queued: an operator action is meant for now). Every write
 * appends one audit row with the token's name, the request and its outcome (status or error code).
 */
import { GridseamError, type ValidationIssue, validationError } from '@gridseam/model';
import type { Csms } from '@gridseam/ocpp';
import Type from 'typebox';
import type { AuditDraft, Store } from '../../store/types.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import { type Api, principalOf, type RouteContext } from './context.ts';

/** What the charger routes need of the running CSMS. */
export type ChargerCsms = Pick<
  Csms,
  | 'station'
  | 'remoteStart'
  | 'remoteStop'
  | 'reset'
  | 'changeAvailability'
  | 'getSettings'
  | 'setSettings'
  | 'getCompositeSchedule'
>;

export interface ChargerService {
  csms: ChargerCsms;
  /** Registry device id -> OCPP identity, for the stations this gateway manages. */
  stations: ReadonlyMap<string, string>;
}

/** Settings asked or written in one request, at most. */
export const MAX_SETTING_KEYS = 100;
const DEFAULT_COMPOSITE_DURATION_S = 3600;
/** A week: longer than any charging schedule an operator inspects. */
const MAX_COMPOSITE_DURATION_S = 604_800;

/**
 * A setting key: printable ASCII without spaces or commas (commas separate keys in the query),
 * e.g. 1.6 "MeterValueSampleInterval" (CiString50) or 2.0.1 "SampledDataCtrlr.TxUpdatedInterval"
 * ("Component[instance].Variable[instance]", each name at most 50 characters).
 */
const SETTING_KEY_PATTERN = '^[!-+.-~-]{1,200}$';
const SETTING_KEY = new RegExp(SETTING_KEY_PATTERN);
/** 1.6 ChangeConfiguration.req: key CiString50, value CiString500 (checked before any key is sent). */
const V16_KEY_MAX = 50;
const V16_VALUE_MAX = 500;
/** Keys whose values are secrets (1.6 Security Whitepaper AuthorizationKey, 2.0.1 BasicAuthPassword): never audited. */
const SECRET_SETTING = /password|authorizationkey|secret|token|privatekey/i;

const EvseId = Type.Integer({
  minimum: 0,
  maximum: 1000,
  description: '2.0.1 evseId / 1.6 connectorId; 0 = the station',
});
/** IdToken: 1.6 CiString20, 2.0.1 identifierString of at most 36 (the station's version decides). */
const IdTag = Type.String({ pattern: '^[!-~]{1,36}$', description: 'The id token to start with' });

const RemoteStartBody = Type.Object(
  {
    evseId: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1000, description: 'Where to start; 0 or absent: the station chooses' }),
    ),
    idTag: IdTag,
  },
  { additionalProperties: false },
);

const RemoteStopBody = Type.Object(
  {
    transactionId: Type.String({
      pattern: '^[!-~]{1,36}$',
      description: 'As in the sessions list (1.6: an integer as text; 2.0.1: the station id, at most 36)',
    }),
  },
  { additionalProperties: false },
);

const ResetBody = Type.Object(
  {
    type: Type.Enum(['Hard', 'Soft'], {
      description: '1.6 Reset Hard/Soft; 2.0.1 Immediate/OnIdle (OnIdle waits for transactions: Scheduled)',
    }),
  },
  { additionalProperties: false },
);

const AvailabilityBody = Type.Object(
  { evseId: EvseId, available: Type.Boolean({ description: 'true: Operative; false: Inoperative' }) },
  { additionalProperties: false },
);

const SettingsQuery = Type.Object(
  {
    keys: Type.Optional(
      Type.String({
        maxLength: 8192,
        description: 'Comma-separated keys; absent (1.6 only): every key the station reports',
      }),
    ),
  },
  { additionalProperties: false },
);

const SettingsBody = Type.Object(
  {
    values: Type.Record(Type.String({ pattern: SETTING_KEY_PATTERN }), Type.String({ maxLength: 1000 }), {
      minProperties: 1,
      maxProperties: MAX_SETTING_KEYS,
      additionalProperties: false,
      description: 'key -> value (1.6 configuration keys; 2.0.1 "Component.Variable")',
    }),
  },
  { additionalProperties: false },
);

const CompositeQuery = Type.Object(
  {
    evseId: Type.Optional(EvseId),
    durationS: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_COMPOSITE_DURATION_S, description: 'Default 3600' }),
    ),
    unit: Type.Optional(Type.Enum(['A', 'W'])),
  },
  { additionalProperties: false },
);

const StatusAnswer = Type.Object(
  { status: Type.String({ description: "The station's answer, e.g. Accepted, Rejected, Scheduled" }) },
  { additionalProperties: false },
);

const SettingsAnswer = Type.Object(
  {
    values: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]), {
      description: 'key -> value; null when the station reported none (unknown, write-only or not readable)',
    }),
  },
  { additionalProperties: false },
);

const SettingStatusesAnswer = Type.Object(
  {
    statuses: Type.Record(Type.String(), Type.String(), {
      description: "key -> the station's status (Accepted, Rejected, RebootRequired, NotSupported, ...)",
    }),
  },
  { additionalProperties: false },
);

const CompositeAnswer = Type.Object(
  {
    evseId: Type.Integer({ minimum: 0 }),
    start: Type.Integer({ description: 'Epoch ms' }),
    durationS: Type.Integer({ minimum: 0 }),
    unit: Type.Enum(['A', 'W']),
    periods: Type.Array(
      Type.Object(
        {
          start: Type.Integer({ description: 'Epoch ms' }),
          limit: Type.Number(),
          numberPhases: Type.Optional(Type.Integer()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The comma-separated `keys` query parameter as distinct keys, each checked. */
export function parseSettingKeys(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const keys = [...new Set(text.split(',').map((key) => key.trim()))];
  const issues: ValidationIssue[] = [];
  if (keys.length > MAX_SETTING_KEYS) issues.push({ path: '/keys', message: `at most ${MAX_SETTING_KEYS} keys` });
  for (const key of keys)
    if (!SETTING_KEY.test(key))
      issues.push({
        path: '/keys',
        message: `${JSON.stringify(key.slice(0, 60))} is not a setting key (1 to 200 printable characters, no spaces)`,
      });
  if (issues.length > 0) throw validationError('query string', issues);
  return keys;
}

/** The values to audit: secrets replaced. */
function auditedValues(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) out[key] = SECRET_SETTING.test(key) ? '[redacted]' : value;
  return out;
}

function errorCodeOf(error: unknown): string {
  return GridseamError.is(error) ? error.code : 'GW_ERR_INTERNAL';
}

/** Operator actions on a charging station, and the reads that go with them. */
export function chargerRoutes(
  app: Api,
  { registry, now }: RouteContext,
  options: { store: Pick<Store, 'audit'>; chargers: ChargerService | undefined },
): void {
  const { store, chargers } = options;

  /** The station behind a device id: 404 for an unknown device, 422 for one that is not an OCPP station here. */
  async function stationOf(deviceId: string): Promise<{ csms: ChargerCsms; identity: string }> {
    await registry.getDevice(deviceId);
    const identity = chargers?.stations.get(deviceId);
    if (chargers === undefined || identity === undefined)
      throw new GridseamError(
        'GW_ERR_NOT_SUPPORTED',
        `device ${deviceId} is not an OCPP charging station of this gateway`,
        { details: { deviceId } },
      );
    return { csms: chargers.csms, identity };
  }

  /**
   * Runs an action on the station and audits it with its outcome (also when it failed), as the
   * token's name. A failed audit write after the station acted fails the request, and the log
   * keeps the audit row that could not be written.
   */
  async function audited<T>(
    request: Parameters<typeof principalOf>[0],
    deviceId: string,
    action: string,
    detail: Record<string, unknown>,
    run: (csms: ChargerCsms, identity: string) => Promise<T>,
    outcome: (result: T) => Record<string, unknown>,
    station?: { csms: ChargerCsms; identity: string },
  ): Promise<T> {
    const { csms, identity } = station ?? (await stationOf(deviceId));
    const entry = (result: Record<string, unknown>): AuditDraft => ({
      at: now(),
      actor: principalOf(request).name,
      action,
      targetType: 'device',
      targetId: deviceId,
      detail: { identity, ...detail, ...result },
    });
    let result: T;
    try {
      result = await run(csms, identity);
    } catch (error) {
      await store.audit.append(entry({ error: errorCodeOf(error) })).catch((auditError: unknown) => {
        request.log.error({ err: auditError, action, deviceId }, 'charger action could not be audited');
      });
      throw error;
    }
    const done = entry(outcome(result));
    await store.audit.append(done).catch((auditError: unknown) => {
      // The station has acted: say what it did before the request fails with the store's error.
      request.log.error({ err: auditError, audit: done }, 'charger action done but not audited');
      throw auditError;
    });
    return result;
  }

  const statusOutcome = (status: string) => ({ status });

  app.post(
    '/api/devices/:id/charger/remote-start',
    {
      schema: {
        tags: ['devices'],
        operationId: 'chargerRemoteStart',
        summary:
          'Ask a charging station to start a transaction (1.6 RemoteStartTransaction; 2.0.1 RequestStartTransaction)',
        description:
          "Answers the station's status; an accepted start shows in GET /api/devices/{id}/sessions once the station reports it.",
        params: IdParams,
        body: RemoteStartBody,
        response: { 200: StatusAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const evseId = request.body.evseId ?? 0;
      const { idTag } = request.body;
      const status = await audited(
        request,
        request.params.id,
        'charger.remote-start',
        { evseId, idTag },
        (csms, identity) => csms.remoteStart(identity, evseId, idTag),
        statusOutcome,
      );
      return { status };
    },
  );

  app.post(
    '/api/devices/:id/charger/remote-stop',
    {
      schema: {
        tags: ['devices'],
        operationId: 'chargerRemoteStop',
        summary:
          'Ask a charging station to stop a transaction (1.6 RemoteStopTransaction; 2.0.1 RequestStopTransaction)',
        params: IdParams,
        body: RemoteStopBody,
        response: { 200: StatusAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { transactionId } = request.body;
      const status = await audited(
        request,
        request.params.id,
        'charger.remote-stop',
        { transactionId },
        (csms, identity) => csms.remoteStop(identity, transactionId),
        statusOutcome,
      );
      return { status };
    },
  );

  app.post(
    '/api/devices/:id/charger/reset',
    {
      schema: {
        tags: ['devices'],
        operationId: 'chargerReset',
        summary: 'Reset a charging station (1.6 Reset; 2.0.1 Reset Immediate for Hard, OnIdle for Soft)',
        params: IdParams,
        body: ResetBody,
        response: { 200: StatusAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { type } = request.body;
      const status = await audited(
        request,
        request.params.id,
        'charger.reset',
        { type },
        (csms, identity) => csms.reset(identity, type),
        statusOutcome,
      );
      return { status };
    },
  );

  app.post(
    '/api/devices/:id/charger/availability',
    {
      schema: {
        tags: ['devices'],
        operationId: 'chargerAvailability',
        summary: 'Make an EVSE (or, with evseId 0, the station) operative or inoperative (ChangeAvailability)',
        description: 'Scheduled: a transaction runs; the change applies when it ends.',
        params: IdParams,
        body: AvailabilityBody,
        response: { 200: StatusAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { evseId, available } = request.body;
      const status = await audited(
        request,
        request.params.id,
        'charger.availability',
        { evseId, available },
        (csms, identity) => csms.changeAvailability(identity, evseId, available),
        statusOutcome,
      );
      return { status };
    },
  );

  app.get(
    '/api/devices/:id/charger/settings',
    {
      schema: {
        tags: ['devices'],
        operationId: 'chargerGetSettings',
        summary: "Read a charging station's settings (1.6 GetConfiguration; 2.0.1 GetVariables)",
        params: IdParams,
        querystring: SettingsQuery,
        response: { 200: SettingsAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const keys = parseSettingKeys(request.query.keys);
      const { csms, identity } = await stationOf(request.params.id);
      const read = await csms.getSettings(identity, keys);
      const values: Record<string, string | null> = {};
      for (const [key, value] of Object.entries(read)) values[key] = value ?? null;
      return { values };
    },
  );

  app.put(
    '/api/devices/:id/charger/settings',
    {
      schema: {
        tags: ['devices'],
        operationId: 'chargerSetSettings',
        summary: "Change a charging station's settings (1.6 ChangeConfiguration per key; 2.0.1 SetVariables)",
        description: "Answers each key's status as the station gave it; values of secret keys are not audited.",
        params: IdParams,
        body: SettingsBody,
        response: { 200: SettingStatusesAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { values } = request.body;
      const deviceId = request.params.id;
      const { csms, identity } = await stationOf(deviceId);
      if (csms.station(identity)?.version === '1.6') {
        // One ChangeConfiguration per key: check every key first, so that none is half applied.
        const issues: ValidationIssue[] = [];
        for (const [key, value] of Object.entries(values)) {
          const path = `/values/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
          if (key.length > V16_KEY_MAX)
            issues.push({ path, message: `a 1.6 key has at most ${V16_KEY_MAX} characters` });
          if (value.length > V16_VALUE_MAX)
            issues.push({ path, message: `a 1.6 value has at most ${V16_VALUE_MAX} characters` });
        }
        if (issues.length > 0) throw validationError('request body', issues);
      }
      const statuses = await audited(
        request,
        deviceId,
        'charger.settings',
        { values: auditedValues(values) },
        (service) => service.setSettings(identity, { ...values }),
        (result) => ({ statuses: result }),
        { csms, identity },
      ).catch((error: unknown) => {
        // The CSMS names a malformed 2.0.1 key at /keys; in this body it is under /values.
        if (GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION' && error.issues?.[0]?.path === '/keys')
          throw validationError(
            'request body',
            error.issues.map((issue) => ({ path: '/values', message: issue.message })),
          );
        throw error;
      });
      return { statuses };
    },
  );

  app.get(
    '/api/devices/:id/charger/composite-schedule',
    {
      schema: {
        tags: ['devices'],
        operationId: 'chargerCompositeSchedule',
        summary: "The station's composite charging schedule for an EVSE (GetCompositeSchedule)",
        description: 'What the station will apply from now: its limits after stacking every installed profile.',
        params: IdParams,
        querystring: CompositeQuery,
        response: { 200: CompositeAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { evseId = 0, durationS = DEFAULT_COMPOSITE_DURATION_S, unit } = request.query;
      const { csms, identity } = await stationOf(request.params.id);
      return csms.getCompositeSchedule(identity, evseId, durationS, unit);
    },
  );
}
