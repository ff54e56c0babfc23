import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RBAC_RULES } from '../../src/api/rbac.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { type Harness, harness, json, SECRETS, site } from './support.ts';

interface Operation {
  tags?: string[];
  security?: unknown[];
  responses: Record<string, unknown>;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
}

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  security: Array<Record<string, unknown>>;
}

describe('API documents, metrics and health', () => {
  let h: Harness;

  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  it('serves an OpenAPI 3.x document listing every route with tags, schemas and bearer security', async () => {
    const response = await h.call(undefined, { method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const doc = JSON.parse(response.body) as OpenApiDoc;
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      description: 'An API token from the config',
    });
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    const operations = Object.values(doc.paths).flatMap((ops) => Object.values(ops));
    assert.equal(operations.length, Object.keys(RBAC_RULES).length - 1); // all but /openapi.json itself
    for (const operation of operations) assert.ok(operation.tags?.length, 'every operation is tagged');
    // Public routes say so; the rest inherit the bearer requirement.
    assert.deepEqual(doc.paths['/api/health']?.get?.security, []);
    assert.equal(doc.paths['/api/sites']?.get?.security, undefined);
    // Bodies and responses carry the model's schemas.
    const createDevice = doc.paths['/api/devices']?.post;
    assert.ok(createDevice?.requestBody);
    const deviceProps = createDevice.requestBody.content['application/json']?.schema.properties ?? {};
    assert.ok(deviceProps.capabilities && deviceProps.adapter);
    assert.ok(createDevice.responses['201'] && createDevice.responses['4XX']);
    const telemetry = doc.paths['/api/devices/{id}/telemetry']?.get;
    assert.deepEqual(
      (telemetry?.parameters ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
        .sort(),
      ['bucket', 'from', 'limit', 'measurand', 'phase', 'to'],
    );
  });

  it('exposes the request duration histogram by route, method and status, and process metrics', async () => {
    await h.call('viewer', { method: 'GET', url: '/api/sites' });
    await h.call('viewer', { method: 'GET', url: '/api/sites/none' });
    const response = await h.call('viewer', { method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const text = response.body;
    assert.match(text, /# TYPE gridseam_http_request_duration_seconds histogram/);
    assert.match(
      text,
      /gridseam_http_request_duration_seconds_count\{route="\/api\/sites",method="GET",status="200"\} 1/,
    );
    assert.match(
      text,
      /gridseam_http_request_duration_seconds_bucket\{le="\+Inf",route="\/api\/sites\/:id",method="GET",status="404"\} 1/,
    );
    assert.match(text, /gridseam_api_errors_total\{code="GW_ERR_NOT_FOUND"\} 1/);
    assert.match(text, /process_cpu_user_seconds_total/);
  });

  it('reports health: store and bus kinds and uptime, without a token', async () => {
    h.clock.now += 1500;
    const response = await h.call(undefined, { method: 'GET', url: '/api/health' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(json(response), { status: 'ok', store: 'sqlite', bus: 'memory', uptimeS: 1.5 });
  });
});

describe('API health with a store that does not answer', () => {
  let h: Harness;
  let inner: Store;

  before(async () => {
    inner = await openStore({ kind: 'sqlite', path: ':memory:' });
    await inner.migrate();
    const sites = {
      ...inner.sites,
      count: async () => {
        throw new Error('connection refused');
      },
    };
    h = await harness({ store: Object.create(inner, { sites: { value: sites } }) as Store });
  });
  after(async () => {
    await h.close();
    await inner.close();
  });

  it('answers 503 degraded', async () => {
    const response = await h.call(undefined, { method: 'GET', url: '/api/health' });
    assert.equal(response.statusCode, 503);
    assert.equal(json(response).status, 'degraded');
  });
});

describe('API over a real socket', () => {
  let h: Harness;
  let base: string;

  before(async () => {
    h = await harness();
    base = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => h.close());

  it('serves requests with fetch on 127.0.0.1', async () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    const created = await fetch(`${base}/api/sites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.operator}`, 'content-type': 'application/json' },
      body: JSON.stringify(site('net-site')),
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/api/sites/net-site');

    const fetched = await fetch(`${base}/api/sites/net-site`, {
      headers: { authorization: `Bearer ${SECRETS.viewer}` },
    });
    assert.equal(fetched.status, 200);
    assert.equal(((await fetched.json()) as { name: string }).name, 'Site net-site');

    const anonymous = await fetch(`${base}/api/sites`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { code: string }).code, 'GW_ERR_UNAUTHORIZED');

    const malformed = await fetch(`${base}/api/sites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.operator}`, 'content-type': 'application/json' },
      body: '{"id":',
    });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { code: string }).code, 'GW_ERR_MALFORMED');
  });
});
