import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  requestDuration: Histogram<'route' | 'method' | 'status'>;
  authFailures: Counter<'reason'>;
  errors: Counter<'code'>;
  setpoints: Counter<'kind'>;
  /** Open connections of the live feed (GET /api/live). */
  liveConnections: Gauge;
  /** Live-feed connections closed, by why (client, slow, unauthorized, auth_timeout, malformed, ...). */
  liveClosed: Counter<'reason'>;
}

/** Reuses a metric already in the registry (buildApi twice on one registry), else registers it. */
function once<M extends Metric>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

export function createApiMetrics(registry: Registry = new Registry()): ApiMetrics {
  // Default process metrics, unless whoever owns the registry already added them.
  if (registry.getSingleMetric('process_cpu_user_seconds_total') === undefined)
    collectDefaultMetrics({ register: registry });
  return {
    registry,
    requestDuration: once(
      registry,
      'gridseam_http_request_duration_seconds',
      () =>
        new Histogram({
          name: 'gridseam_http_request_duration_seconds',
          help: 'Operator API request duration by route pattern, method and status code.',
          labelNames: ['route', 'method', 'status'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers: [registry],
        }),
    ),
    authFailures: once(
      registry,
      'gridseam_api_auth_failures_total',
      () =>
        new Counter({
          name: 'gridseam_api_auth_failures_total',
          help: 'Requests refused by authentication (missing or unknown token) or authorisation (role).',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
    errors: once(
      registry,
      'gridseam_api_errors_total',
      () =>
        new Counter({
          name: 'gridseam_api_errors_total',
          help: 'Error answers by GW_ERR_* code.',
          labelNames: ['code'],
          registers: [registry],
        }),
    ),
    setpoints: once(
      registry,
      'gridseam_api_setpoints_total',
      () =>
        new Counter({
          name: 'gridseam_api_setpoints_total',
          help: 'Operator setpoints accepted by the API, by kind.',
          labelNames: ['kind'],
          registers: [registry],
        }),
    ),
    liveConnections: once(
      registry,
      'gridseam_live_connections',
      () =>
        new Gauge({
          name: 'gridseam_live_connections',
          help: 'Open connections of the live feed (GET /api/live).',
          registers: [registry],
        }),
    ),
    liveClosed: once(
      registry,
      'gridseam_live_closed_total',
      () =>
        new Counter({
          name: 'gridseam_live_closed_total',
          help: 'Live-feed connections closed, by reason (client, shutdown, slow, too_many, unauthorized, forbidden, auth_timeout, malformed, unknown_type, too_big, protocol, heartbeat, bus, internal).',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
  };
}
