import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { battery, type Harness, harness, json, SECRETS, site } from './support.ts';

interface ErrorJson {
  code: string;
  message: string;
  retryable: boolean;
  issues?: Array<{ path: string; message: string }>;
}

describe('API error answers', () => {
  let h: Harness;

  before(async () => {
    h = await harness({ api: { bodyLimitBytes: 4096 } });
    await h.call('operator', { method: 'POST', url: '/api/sites', payload: site() });
  });
  after(() => h.close());

  function post(url: string, payload: string | object, headers: Record<string, string> = {}) {
    return h.call('operator', {
      method: 'POST',
      url,
      payload,
      headers: { 'content-type': 'application/json', ...headers },
    });
  }

  it('400 GW_ERR_VALIDATION names the exact failing path of a bad device', async () => {
    const device = battery();
    device.capabilities.storage = { capacityWh: -1, maxChargeW: 5000, maxDischargeW: 5000 };
    const response = await post('/api/devices', device);
    assert.equal(response.statusCode, 400);
    const body = json<ErrorJson>(response);
    assert.equal(body.code, 'GW_ERR_VALIDATION');
    assert.equal(body.retryable, false);
    assert.deepEqual(body.issues, [{ path: '/capabilities/storage/capacityWh', message: 'must be > 0' }]);
    assert.match(body.message, /capacityWh/);
  });

  it('reports every failing field, unknown properties and wrong types', async () => {
    const response = await post('/api/devices', {
      ...battery(),
      class: 'toaster',
      enabled: 'yes',
      colour: 'red',
    });
    assert.equal(response.statusCode, 400);
    const issuePaths = json<ErrorJson>(response).issues?.map((i) => i.path) ?? [];
    for (const path of ['/class', '/enabled', '/colour'])
      assert.ok(issuePaths.includes(path), `${path} in ${issuePaths}`);
  });

  it('400 for numbers out of range or not finite (1e400 parses to Infinity)', async () => {
    const huge = await post('/api/sites', '{"id":"s2","name":"n","location":{"latitude":1e400,"longitude":0}}');
    assert.equal(huge.statusCode, 400);
    assert.deepEqual(json<ErrorJson>(huge).issues?.[0]?.path, '/location/latitude');
    const setpoint = await post('/api/devices/bat-1/setpoints', '{"kind":"fixedW","value":-1e999,"durationS":60}');
    // bat-1 does not exist yet in this suite, but the body is checked before the device is looked up.
    assert.equal(setpoint.statusCode, 400);
    assert.deepEqual(json<ErrorJson>(setpoint).issues, [{ path: '/value', message: 'must be a finite number' }]);
    const epoch = await h.call('viewer', { method: 'GET', url: '/api/events?from=99999999999999999999' });
    assert.equal(epoch.statusCode, 400);
    assert.deepEqual(json<ErrorJson>(epoch).issues?.[0]?.path, '/from');
    const wrongType = await h.call('viewer', { method: 'GET', url: '/api/sites?limit=ten' });
    assert.equal(wrongType.statusCode, 400);
    assert.deepEqual(json<ErrorJson>(wrongType).issues, [{ path: '/limit', message: 'must be integer' }]);
    const badId = await h.call('viewer', { method: 'GET', url: '/api/sites/bad%20id' });
    assert.equal(badId.statusCode, 400);
    assert.equal(json<ErrorJson>(badId).issues?.[0]?.path, '/id');
  });

  it('400 GW_ERR_MALFORMED for JSON that does not parse or is empty', async () => {
    for (const payload of ['{"id": "s3", "name": ', '']) {
      const response = await post('/api/sites', payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      assert.equal(json<ErrorJson>(response).code, 'GW_ERR_MALFORMED');
    }
  });

  it('400 for __proto__ and constructor.prototype poisoning; nothing is created', async () => {
    for (const payload of [
      '{"id":"s4","name":"x","__proto__":{"isAdmin":true}}',
      '{"id":"s4","name":"x","constructor":{"prototype":{"isAdmin":true}}}',
    ]) {
      const response = await post('/api/sites', payload);
      assert.equal(response.statusCode, 400, payload);
      assert.equal(json<ErrorJson>(response).code, 'GW_ERR_MALFORMED');
    }
    const lookup = await h.call('viewer', { method: 'GET', url: '/api/sites/s4' });
    assert.equal(lookup.statusCode, 404);
  });

  it('413 GW_ERR_BODY_TOO_LARGE beyond bodyLimitBytes', async () => {
    const response = await post('/api/sites', { id: 's5', name: 'x'.repeat(5000) });
    assert.equal(response.statusCode, 413);
    assert.equal(json<ErrorJson>(response).code, 'GW_ERR_BODY_TOO_LARGE');
  });

  it('415 GW_ERR_UNSUPPORTED_MEDIA_TYPE for a body that is not JSON', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await post('/api/sites', 'id=s6&name=x', { 'content-type': type });
      assert.equal(response.statusCode, 415, type);
      assert.equal(json<ErrorJson>(response).code, 'GW_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('404 GW_ERR_ROUTE_NOT_FOUND for unknown routes, GW_ERR_NOT_FOUND for unknown ids', async () => {
    for (const [method, url] of [
      ['GET', '/api/nothing'],
      ['GET', '/nothing'],
      ['PATCH', '/api/sites/site-1'],
    ] as const) {
      const response = await h.call('admin', { method, url });
      assert.equal(response.statusCode, 404, `${method} ${url}`);
      assert.equal(json<ErrorJson>(response).code, 'GW_ERR_ROUTE_NOT_FOUND');
    }
    const missing = await h.call('viewer', { method: 'GET', url: '/api/devices/nobody' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(json<ErrorJson>(missing), {
      code: 'GW_ERR_NOT_FOUND',
      message: 'device nobody not found',
      retryable: false,
    });
  });
});

describe('API internal errors', () => {
  let h: Harness;
  let inner: Store;

  before(async () => {
    inner = await openStore({ kind: 'sqlite', path: ':memory:' });
    await inner.migrate();
    // A store whose site listing fails with an unexpected, internal-looking error.
    const failingSites = {
      ...inner.sites,
      list: async () => {
        throw new Error('SQLITE_IOERR at /var/lib/gridseam/secret-path.db');
      },
      get: async (id: string) => {
        if (id === 'unavailable')
          throw new GridseamError('GW_ERR_STORE_UNAVAILABLE', 'get site: connect ECONNREFUSED 10.1.2.3:5432');
        throw new GridseamError('GW_ERR_INTERNAL', 'get site: no such column: secret_column');
      },
    };
    const store: Store = Object.create(inner, { sites: { value: failingSites } });
    h = await harness({ store });
  });
  after(async () => {
    await h.close();
    await inner.close();
  });

  it('500 GW_ERR_INTERNAL without leaking the cause, which is logged without the token', async () => {
    const response = await h.call('viewer', { method: 'GET', url: '/api/sites' });
    assert.equal(response.statusCode, 500);
    assert.deepEqual(json(response), {
      code: 'GW_ERR_INTERNAL',
      message: 'An unexpected failure; the log has details.',
      retryable: false,
    });
    assert.doesNotMatch(response.body, /SQLITE|secret-path/);
    const logText = h.logs.join('');
    assert.match(logText, /SQLITE_IOERR/, 'the cause is in the log');
    assert.doesNotMatch(logText, new RegExp(SECRETS.viewer), 'the token is not');
  });

  it('answers a GridseamError of the server side with its code and a fixed message', async () => {
    const internal = await h.call('viewer', { method: 'GET', url: '/api/sites/s1' });
    assert.equal(internal.statusCode, 500);
    assert.deepEqual(json(internal), {
      code: 'GW_ERR_INTERNAL',
      message: 'An unexpected failure; the log has details.',
      retryable: false,
    });
    const unavailable = await h.call('viewer', { method: 'GET', url: '/api/sites/unavailable' });
    assert.equal(unavailable.statusCode, 503);
    assert.deepEqual(json(unavailable), {
      code: 'GW_ERR_STORE_UNAVAILABLE',
      message: 'The database could not be reached.',
      retryable: true,
    });
    assert.match(h.logs.join(''), /ECONNREFUSED 10\.1\.2\.3/);
  });

  it("redacts authorization headers in whatever the API's logger is given", () => {
    h.app.log.warn(
      {
        headers: { authorization: `Bearer ${SECRETS.admin}` },
        authorization: `Bearer ${SECRETS.admin}`,
        token: SECRETS.admin,
      },
      'probe',
    );
    const line = h.logs.find((l) => l.includes('"probe"'));
    assert.ok(line);
    assert.doesNotMatch(line, new RegExp(SECRETS.admin));
    assert.equal(line.match(/\[redacted\]/g)?.length, 3);
  });
});
