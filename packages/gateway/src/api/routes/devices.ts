import { SetpointRequest, validationError } from '@gridseam/model';
import Type from 'typebox';
import { parseDurationMs } from '../duration.ts';
import { DeviceStatusSchema, type FleetSummarizer } from '../fleet-summary.ts';
import {
  CommandQuery,
  CommandSchema,
  DeviceQuery,
  DownsampledTelemetry,
  errorResponses,
  IdParams,
  RawTelemetry,
  ReadingSchema,
  routeSchema,
  TelemetryQuery,
} from '../schemas.ts';
import { type Api, principalOf, type RouteContext } from './context.ts';

const DAY_MS = 86_400_000;
/** A downsampled answer has at most this many buckets; ask for a wider bucket or a shorter span. */
export const MAX_BUCKETS = 100_000;

/** Setpoints, commands and telemetry of one device. */
export function deviceRoutes(app: Api, { registry, metrics, now }: RouteContext): void {
  app.post(
    '/api/devices/:id/setpoints',
    {
      schema: {
        tags: ['commands'],
        operationId: 'submitSetpoint',
        summary: 'Submit a manual setpoint; answers 202 with the pending Command',
        description:
          'Give exactly one of expiry (epoch ms) and durationS. The device must list the kind in capabilities.controls. ' +
          'The command is queued for the control engine; follow it with GET /api/commands/{id}.',
        params: IdParams,
        body: routeSchema(SetpointRequest),
        response: { 202: CommandSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const command = await registry.submitSetpoint(request.params.id, request.body, principalOf(request).name);
      metrics.setpoints.inc({ kind: command.setpoint.kind });
      return reply
        .code(202)
        .header('location', `/api/commands/${encodeURIComponent(command.id)}`)
        .send(command);
    },
  );

  app.get(
    '/api/devices/:id/commands',
    {
      schema: {
        tags: ['commands'],
        operationId: 'listDeviceCommands',
        summary: "List a device's commands, by creation time (oldest first unless order=desc)",
        params: IdParams,
        querystring: CommandQuery,
        response: { 200: Type.Array(CommandSchema), ...errorResponses },
      },
    },
    async (request) => registry.listCommands(request.params.id, request.query),
  );

  app.get(
    '/api/commands/:id',
    {
      schema: {
        tags: ['commands'],
        operationId: 'getCommand',
        summary: 'Get one command with its status history',
        params: IdParams,
        response: { 200: CommandSchema, ...errorResponses },
      },
    },
    async (request) => registry.getCommand(request.params.id),
  );

  app.get(
    '/api/devices/:id/telemetry',
    {
      schema: {
        tags: ['telemetry'],
        operationId: 'queryTelemetry',
        summary: 'Readings of one measurand over [from, to): raw, or downsampled with ?bucket=',
        params: IdParams,
        querystring: TelemetryQuery,
        response: { 200: Type.Union([DownsampledTelemetry, RawTelemetry]), ...errorResponses },
      },
    },
    async (request) => {
      const { measurand, phase, bucket, limit } = request.query;
      const to = request.query.to ?? now();
      const from = request.query.from ?? Math.max(0, to - DAY_MS);
      if (from >= to) throw validationError('query string', [{ path: '/from', message: 'must be before to' }]);
      const deviceId = request.params.id;
      const span = { deviceId, measurand, from, to, ...(phase === undefined ? {} : { phase }) };
      if (bucket === undefined) {
        const readings = await registry.queryTelemetry({ ...span, ...(limit === undefined ? {} : { limit }) });
        return { deviceId, measurand, from, to, readings };
      }
      const bucketMs = parseDurationMs(bucket);
      if (bucketMs === undefined)
        throw validationError('query string', [
          { path: '/bucket', message: 'must be a duration such as 60000, 30s, 5m, 1h, 1d or PT5M' },
        ]);
      if ((to - from) / bucketMs > MAX_BUCKETS)
        throw validationError('query string', [
          { path: '/bucket', message: `too narrow for the span: more than ${MAX_BUCKETS} buckets` },
        ]);
      const buckets = await registry.downsampleTelemetry({ ...span, bucketMs });
      return { deviceId, measurand, from, to, bucketMs, buckets };
    },
  );

  app.get(
    '/api/devices/:id/telemetry/latest',
    {
      schema: {
        tags: ['telemetry'],
        operationId: 'latestTelemetry',
        summary: 'The newest reading of each measurand (and phase) of a device',
        params: IdParams,
        response: { 200: Type.Array(ReadingSchema), ...errorResponses },
      },
    },
    async (request) => registry.latestTelemetry(request.params.id),
  );
}

/**
 * GET /api/devices/status: online/offline, operating state, power and SoC of a page of devices
 * (the filters and paging of GET /api/devices), by the fleet summary's rules and from the same
 * cached latest readings (api/fleet-summary.ts). The path is static, so the router prefers it to
 * GET /api/devices/:id whatever the registration order: a device whose id is `status` can only be
 * read through GET /api/devices (its other routes, /api/devices/status/commands..., are unaffected).
 */
export function deviceStatusRoutes(
  app: Api,
  { registry }: RouteContext,
  summaries: Pick<FleetSummarizer, 'statuses'>,
): void {
  app.get(
    '/api/devices/status',
    {
      schema: {
        tags: ['devices'],
        operationId: 'listDeviceStatuses',
        summary: 'Online/offline, operating state, power and SoC of each device (the device list, in bulk)',
        description:
          'The devices of GET /api/devices with the same filters and paging, in the same order, each with the ' +
          "fleet summary's online rule (enabled, alive within 5 minutes, no offline announcement since), its " +
          'latest operatingState, and power and SoC no older than 5 minutes. One query for the whole fleet, ' +
          'shared with the summary and cached for one second.',
        querystring: DeviceQuery,
        response: { 200: Type.Array(DeviceStatusSchema), ...errorResponses },
      },
    },
    async (request) => summaries.statuses(await registry.listDevices(request.query)),
  );
}
