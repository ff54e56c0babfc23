import { GridseamError, validationError } from '@gridseam/model';
import Type from 'typebox';
import type { DispatchPlanReader } from '../../dispatch/plan-store.ts';
import type { DispatchPlanDocument } from '../../dispatch/types.ts';
import type { Store } from '../../store/types.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import type { Api, RouteContext } from './context.ts';

/** An open record: the plan documents of src/dispatch/types.ts. */
const Open = Type.Object({}, { additionalProperties: true });
const Instant = Type.Integer({ minimum: 0, maximum: 253402300799999 });
const Window = Type.Object(
  {
    from: Type.Optional({ ...Instant, description: 'Inclusive, epoch ms; default the plan start minus its horizon' }),
    to: Type.Optional({ ...Instant, description: 'Exclusive, epoch ms; default the plan end' }),
  },
  { additionalProperties: false },
);
/** Actual readings are averaged into at most this many buckets per series. */
const MAX_POINTS = 2000;

function running(plans: DispatchPlanReader | undefined): DispatchPlanReader {
  if (!plans) throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'dispatch is not configured in this gateway');
  return plans;
}

async function latestPlan(plans: DispatchPlanReader | undefined): Promise<DispatchPlanDocument> {
  const plan = await running(plans).latest();
  if (!plan) throw new GridseamError('GW_ERR_NOT_FOUND', 'no dispatch plan has been made yet');
  return plan;
}

/** A measurand over [from, to) as bucket averages (bucket = span / MAX_POINTS, at least 1 s). */
async function series(
  store: Store,
  deviceId: string,
  measurand: 'stateOfCharge' | 'activePower',
  from: number,
  to: number,
) {
  if (to <= from) return [];
  const bucketMs = Math.max(1000, Math.ceil((to - from) / MAX_POINTS));
  const buckets = await store.telemetry.downsample({ deviceId, measurand, from, to, bucketMs });
  return buckets.map((b) => ({ ts: b.start, value: b.avg }));
}

/**
 * The dispatch plans: the latest in full, the compact history, and one battery's plan next to
 * what it actually did (plan-store.ts, types.ts).
 */
export function dispatchRoutes(
  app: Api,
  { registry, now }: RouteContext,
  options: { store: Store; plans: DispatchPlanReader | undefined },
): void {
  app.get(
    '/api/dispatch/plan',
    {
      schema: {
        tags: ['dispatch'],
        operationId: 'getDispatchPlan',
        summary:
          'The latest dispatch plan: per battery intervals, revenue, wear, overrides; solver figures; batteries left out and why',
        response: { 200: Open, ...errorResponses },
      },
    },
    async () => latestPlan(options.plans),
  );

  app.get(
    '/api/dispatch/history',
    {
      schema: {
        tags: ['dispatch'],
        operationId: 'listDispatchHistory',
        summary: 'Past plans created in [from, to), oldest first: totals and each battery first interval',
        querystring: Window,
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async (request) => running(options.plans).history(request.query.from, request.query.to),
  );

  app.get(
    '/api/devices/:id/plan',
    {
      schema: {
        tags: ['dispatch'],
        operationId: 'getDevicePlan',
        summary:
          "One battery's planned power and SoC (latest plan) with the plan's horizon and prices, the first intervals of past plans, and its actual SoC and power over the window",
        params: IdParams,
        querystring: Window,
        response: { 200: Open, ...errorResponses },
      },
    },
    async (request) => {
      const deviceId = request.params.id;
      await registry.getDevice(deviceId);
      const plans = running(options.plans);
      const plan = await latestPlan(plans);
      const span = plan.horizon.end - plan.horizon.start;
      const from = request.query.from ?? plan.horizon.start - span;
      const to = request.query.to ?? plan.horizon.end;
      if (from >= to) throw validationError('query string', [{ path: '/from', message: 'must be before to' }]);
      const battery = plan.batteries.find((b) => b.deviceId === deviceId);
      const leftOut = plan.leftOut.find((b) => b.deviceId === deviceId)?.reason;
      const executed = (await plans.history(from, to)).flatMap((entry) => {
        const first = entry.batteries[deviceId];
        return first === undefined ? [] : [{ planId: entry.id, createdAt: entry.createdAt, ...first }];
      });
      const until = Math.min(to, now());
      const { intervals = [], ...parameters } = battery ?? {};
      return {
        deviceId,
        planId: plan.id,
        planCreatedAt: plan.createdAt,
        status: plan.status,
        window: { from, to },
        // the plan's horizon and prices per interval, so the planned power can be read against the price
        horizon: plan.horizon,
        prices: plan.prices,
        ...(battery ? { battery: parameters } : {}),
        ...(leftOut !== undefined ? { leftOut } : {}),
        ...(plan.failure ? { failure: plan.failure } : {}),
        planned: intervals.filter((i) => i.end > from && i.start < to),
        executed,
        actual: {
          socPct: await series(options.store, deviceId, 'stateOfCharge', from, until),
          powerW: await series(options.store, deviceId, 'activePower', from, until),
        },
      };
    },
  );
}
