import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { pino } from 'pino';
import { bearerToken, sha256Hex, TokenVerifier } from '../../src/api/auth.ts';
import { RBAC_RULES, roleAllows } from '../../src/api/rbac.ts';
import { buildApi } from '../../src/api/server.ts';
import { ROLES, type Role } from '../../src/api/types.ts';
import { openBus } from '../../src/bus/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type Harness, harness, json, SECRETS, site } from './support.ts';

/** A concrete URL for a route pattern, with ids that do not exist (so allowed writes change nothing). */
function concrete(pattern: string): string {
  return pattern.replace(/:[A-Za-z]+/g, 'nope');
}

function splitRule(rule: string): [method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string] {
  const [method, url] = rule.split(' ');
  return [method as 'GET' | 'POST' | 'PUT' | 'DELETE', url ?? ''];
}

describe('API authentication and RBAC', () => {
  let h: Harness;

  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  it('has exactly one rule per route: the RBAC table and the OpenAPI document agree', async () => {
    const doc = json<{ paths: Record<string, Record<string, unknown>> }>(
      await h.call(undefined, { method: 'GET', url: '/openapi.json' }),
    );
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map(
        // OpenAPI spells fastify's :param as {param} and a wildcard as {*}.
        (m) => `${m.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1').replace('{*}', '*')}`,
      ),
    );
    // /openapi.json hides itself from its own document.
    assert.deepEqual([...documented, 'GET /openapi.json'].sort(), Object.keys(RBAC_RULES).sort());
  });

  it('answers each role as the table says: allowed calls pass auth, others get 403', async () => {
    for (const [rule, access] of Object.entries(RBAC_RULES)) {
      if (access === 'public') continue;
      const [method, pattern] = splitRule(rule);
      for (const role of ROLES) {
        const response = await h.call(role, {
          method,
          url: concrete(pattern),
          ...(method === 'POST' || method === 'PUT' ? { payload: {} } : {}),
        });
        const allowed = roleAllows(role, access);
        if (allowed) {
          assert.ok(
            ![401, 403].includes(response.statusCode),
            `${role} ${rule}: ${response.statusCode} ${response.body}`,
          );
        } else {
          assert.equal(response.statusCode, 403, `${role} ${rule}`);
          assert.equal(json(response).code, 'GW_ERR_FORBIDDEN');
        }
      }
      const anonymous = await h.call(undefined, { method, url: concrete(pattern) });
      assert.equal(anonymous.statusCode, 401, `anonymous ${rule}`);
    }
  });

  it('spells out the intended matrix: viewer reads, operator writes, admin deletes and audits', async () => {
    const expect = async (role: Role, method: 'GET' | 'POST' | 'DELETE', url: string, status: number) => {
      const response = await h.call(role, {
        method,
        url,
        ...(method === 'POST' ? { payload: site('matrix-site') } : {}),
      });
      assert.equal(response.statusCode, status, `${role} ${method} ${url}: ${response.body}`);
    };
    await expect('viewer', 'POST', '/api/sites', 403);
    await expect('viewer', 'GET', '/api/audit', 403);
    await expect('operator', 'POST', '/api/sites', 201);
    await expect('viewer', 'GET', '/api/sites/matrix-site', 200);
    await expect('operator', 'DELETE', '/api/sites/matrix-site', 403);
    await expect('operator', 'GET', '/api/audit', 403);
    await expect('admin', 'GET', '/api/audit', 200);
    await expect('admin', 'DELETE', '/api/sites/matrix-site', 204);
    await expect('admin', 'POST', '/api/sites', 201);
  });

  it('records the token name as the actor of a write', async () => {
    await h.call('operator', { method: 'POST', url: '/api/sites', payload: site('actor-site') });
    const audit = json<Array<{ actor: string; action: string; targetId: string }>>(
      await h.call('admin', { method: 'GET', url: '/api/audit?targetType=site&targetId=actor-site' }),
    );
    assert.deepEqual(
      audit.map((a) => [a.actor, a.action, a.targetId]),
      [['operator-token', 'site.create', 'actor-site']],
    );
  });

  it('401 GW_ERR_UNAUTHORIZED for a missing, unknown or malformed token, with WWW-Authenticate', async () => {
    for (const authorization of [
      undefined,
      'Bearer not-a-token',
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      `Bearer ${SECRETS.admin} extra`,
      `Bearer${SECRETS.admin}`,
      'Bearer ',
    ]) {
      const response = await h.app.inject({
        method: 'GET',
        url: '/api/sites',
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(response.statusCode, 401, String(authorization));
      assert.equal(json(response).code, 'GW_ERR_UNAUTHORIZED');
      assert.match(String(response.headers['www-authenticate']), /^Bearer/);
    }
    const metrics = await h.metrics.getSingleMetricAsString('gridseam_api_auth_failures_total');
    assert.match(metrics, /reason="missing"/);
    assert.match(metrics, /reason="unknown"/);
  });

  it('lets health and the OpenAPI document through without a token, but not /metrics', async () => {
    assert.equal((await h.call(undefined, { method: 'GET', url: '/api/health' })).statusCode, 200);
    assert.equal((await h.call(undefined, { method: 'GET', url: '/openapi.json' })).statusCode, 200);
    assert.equal((await h.call(undefined, { method: 'GET', url: '/metrics' })).statusCode, 401);
    assert.equal((await h.call('viewer', { method: 'GET', url: '/metrics' })).statusCode, 200);
  });
});

describe('API tokens', () => {
  it('match by SHA-256 digest, in either hex case, and never by the digest itself', () => {
    const verifier = new TokenVerifier([
      { name: 'a', role: 'viewer', tokenSha256: sha256Hex('alpha') },
      { name: 'b', role: 'admin', tokenSha256: sha256Hex('beta').toUpperCase() },
    ]);
    assert.deepEqual(verifier.verify('alpha'), { name: 'a', role: 'viewer' });
    assert.deepEqual(verifier.verify('beta'), { name: 'b', role: 'admin' });
    assert.equal(verifier.verify('gamma'), undefined);
    assert.equal(verifier.verify(sha256Hex('alpha')), undefined);
    assert.equal(bearerToken('bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=');
    assert.equal(bearerToken('Bearer a b'), undefined);
  });

  it('buildApi fails with GW_ERR_CONFIG on a digest that is not 64 hex digits', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    const bus = await openBus({ kind: 'memory' });
    try {
      await assert.rejects(
        buildApi({
          store,
          bus,
          logger: pino({ level: 'silent' }),
          tokens: [{ name: 'x', role: 'admin', tokenSha256: 'abc' }],
        }),
        (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_CONFIG',
      );
    } finally {
      await bus.close();
      await store.close();
    }
  });

  it('refuses to register a route that has no RBAC rule', async () => {
    const fresh = await harness();
    try {
      assert.throws(
        () => fresh.app.get('/api/unlisted', async () => 'open?'),
        (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_CONFIG',
      );
    } finally {
      await fresh.close();
    }
  });

  it('serves /metrics without a token when publicMetrics is set', async () => {
    const h = await harness({ api: { publicMetrics: true } });
    try {
      const response = await h.call(undefined, { method: 'GET', url: '/metrics' });
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /gridseam_http_request_duration_seconds/);
    } finally {
      await h.close();
    }
  });
});
