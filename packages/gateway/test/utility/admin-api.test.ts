import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createUtilityServer, type UtilityServer } from '@gridseam/ieee2030-5';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { sha256Hex } from '../../src/api/auth.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { buildAdminApi } from '../../src/utility/admin-api.ts';
import { documentStateStore } from '../../src/utility/state-store.ts';
import { derControlLists, elementTexts, sepClient } from './support.ts';

const LFDI = '3e4f45ab31edfe5b67e343e5e4562e31984e23e5';
const VIEWER = 'viewer-secret';
const OPERATOR = 'operator-secret';
const tokens = [
  { name: 'watcher', role: 'viewer' as const, tokenSha256: sha256Hex(VIEWER) },
  { name: 'lab', role: 'operator' as const, tokenSha256: sha256Hex(OPERATOR) },
];

interface Call {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  payload?: string;
}

describe('utility admin API', () => {
  let store: Store;
  let server: UtilityServer;
  let app: FastifyInstance;

  before(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    server = await createUtilityServer(
      { profile: 'csip-aus', terminator: { header: 'x-forwarded-client-cert' } },
      documentStateStore(store),
    );
    app = await buildAdminApi({ admin: server.admin, tokens, logger: pino({ level: 'silent' }), store });
  });

  after(async () => {
    await app.close();
    await server.close();
    await store.close();
  });

  async function call(request: Call) {
    const headers: Record<string, string> = { ...request.headers };
    if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
    const response = await app.inject({
      method: request.method,
      url: request.url,
      headers,
      ...(request.payload !== undefined
        ? { payload: request.payload }
        : request.body === undefined
          ? {}
          : { payload: request.body as object }),
    });
    return { status: response.statusCode, json: response.body === '' ? undefined : response.json(), response };
  }

  test('tokens: none or unknown is 401, a viewer may read but not write, health is public', async () => {
    const none = await call({ method: 'GET', url: '/admin/end-devices' });
    assert.equal(none.status, 401);
    assert.equal(none.json.code, 'GW_ERR_UNAUTHORIZED');
    assert.match(String(none.response.headers['www-authenticate']), /^Bearer /);
    assert.equal((await call({ method: 'GET', url: '/admin/end-devices', token: 'nope' })).status, 401);
    assert.equal((await call({ method: 'GET', url: '/admin/end-devices', token: VIEWER })).status, 200);
    const forbidden = await call({
      method: 'POST',
      url: '/admin/programs',
      token: VIEWER,
      body: { description: 'x', primacy: 1 },
    });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.json.code, 'GW_ERR_FORBIDDEN');
    const health = await call({ method: 'GET', url: '/admin/health' });
    assert.equal(health.status, 200);
    assert.equal(health.json.status, 'ok');
    const missing = await call({ method: 'GET', url: '/admin/nothing', token: VIEWER });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'GW_ERR_ROUTE_NOT_FOUND');
  });

  test('bodies are validated: 400 with GW_ERR_* bodies and JSON Pointer issues', async () => {
    const empty = await call({ method: 'POST', url: '/admin/programs', token: OPERATOR, body: {} });
    assert.equal(empty.status, 400);
    assert.equal(empty.json.code, 'GW_ERR_VALIDATION');
    assert.deepEqual(
      empty.json.issues.map((i: { path: string }) => i.path).sort(),
      ['/description', '/primacy'].sort(),
    );
    const typo = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      body: { description: 'x', primacy: 1, primacyy: 2 },
    });
    assert.equal(typo.status, 400);
    assert.equal(typo.json.code, 'GW_ERR_VALIDATION');
    const range = await call({
      method: 'POST',
      url: '/admin/programs/doe/controls',
      token: OPERATOR,
      body: { duration: 60, base: { opModExpLimW: { multiplier: 0, value: 40000 } } },
    });
    assert.equal(range.status, 400);
    assert.equal(range.json.issues[0].path, '/base/opModExpLimW/value');
    const unknownMode = await call({
      method: 'POST',
      url: '/admin/programs/doe/controls',
      token: OPERATOR,
      body: { duration: 60, base: { opModExportLimit: 1 } },
    });
    assert.equal(unknownMode.status, 400);
    const infinite = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      payload: '{"description":"x","primacy":1e400}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(infinite.status, 400);
    assert.equal(infinite.json.code, 'GW_ERR_VALIDATION');
    const malformed = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      payload: '{"description":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.code, 'GW_ERR_MALFORMED');
    const poisoned = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      payload: '{"description":"x","primacy":1,"__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(poisoned.status, 400);
    const text = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      payload: 'description=x',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 415);
    assert.equal(text.json.code, 'GW_ERR_UNSUPPORTED_MEDIA_TYPE');
    const huge = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      payload: JSON.stringify({ description: 'x'.repeat(2 * 1024 * 1024), primacy: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(huge.status, 413);
    const noId = await call({ method: 'POST', url: '/admin/end-devices', token: OPERATOR, body: { pin: 111115 } });
    assert.equal(noId.status, 400);
    const query = await call({ method: 'GET', url: '/admin/responses?limit=ten', token: VIEWER });
    assert.equal(query.status, 400);
    const both = await call({
      method: 'POST',
      url: '/admin/programs/doe/controls',
      token: OPERATOR,
      body: { start: 1, startInS: 1, duration: 60, base: { opModEnergize: true } },
    });
    assert.equal(both.status, 400);
  });

  test('register, program, default control and control; the control is served on the 2030.5 side; cancel', async () => {
    const device = await call({
      method: 'POST',
      url: '/admin/end-devices',
      token: OPERATOR,
      body: { lfdi: LFDI.toUpperCase(), pin: 111115, connectionPointId: '4102345678' },
    });
    assert.equal(device.status, 201, JSON.stringify(device.json));
    assert.equal(device.json.lfdi, LFDI);
    assert.equal(device.response.headers.location, `/admin/end-devices/${device.json.id}`);
    const byLfdi = await call({ method: 'GET', url: `/admin/end-devices/${LFDI}`, token: VIEWER });
    assert.equal(byLfdi.json.id, device.json.id);
    const listed = await call({ method: 'GET', url: `/admin/end-devices?lfdi=${LFDI}`, token: VIEWER });
    assert.deepEqual(
      listed.json.map((d: { id: number }) => d.id),
      [device.json.id],
    );

    const program = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      body: { id: 'doe', description: 'Dynamic exports', primacy: 10 },
    });
    assert.equal(program.status, 201, JSON.stringify(program.json));
    assert.equal(program.json.id, 'doe');
    const duplicate = await call({
      method: 'POST',
      url: '/admin/programs',
      token: OPERATOR,
      body: { id: 'doe', description: 'again', primacy: 1 },
    });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.json.code, 'GW_ERR_CONFLICT');

    const fallback = await call({
      method: 'PUT',
      url: '/admin/programs/doe/default-control',
      token: OPERATOR,
      body: { base: { opModExpLimW: { multiplier: 0, value: 1500 } } },
    });
    assert.equal(fallback.status, 200, JSON.stringify(fallback.json));
    assert.deepEqual(fallback.json.base, { opModExpLimW: { multiplier: 0, value: 1500 } });

    const created = await call({
      method: 'POST',
      url: '/admin/programs/doe/controls',
      token: OPERATOR,
      body: {
        startInS: -10,
        duration: 600,
        description: 'Export 2 kW',
        base: { opModExpLimW: { multiplier: 0, value: 2000 } },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const mRID: string = created.json.controls[0].mRID;
    assert.match(mRID, /^[0-9a-f]{32}$/);
    assert.equal(created.response.headers.location, `/admin/controls/${mRID}`);

    const view = await call({ method: 'GET', url: `/admin/controls/${mRID.toUpperCase()}`, token: VIEWER });
    assert.equal(view.status, 200);
    assert.equal(view.json.currentStatus, 1, 'active: it started 10 s ago');

    // The 2030.5 side, walked from /dcap as the device's client.
    const lists = await derControlLists(sepClient(server, LFDI));
    const served = lists.find((xml) => xml.toLowerCase().includes(mRID));
    assert.ok(served, `the DERControl ${mRID} is in a DERControlList: ${lists.join('\n')}`);
    assert.match(served, /opModExpLimW/);
    assert.ok(elementTexts(served, 'value').includes('2000'), served);
    assert.ok(elementTexts(served, 'currentStatus').includes('1'), served);

    // The client acknowledges it; the Response is readable through the admin API.
    const replyTo = new RegExp(`<DERControl\\b[^>]*href="[^"]*${mRID}"[^>]*replyTo="([^"]+)"`).exec(served)?.[1];
    assert.ok(replyTo, served);
    const posted = await server.inject({
      method: 'POST',
      url: replyTo,
      lfdi: LFDI,
      headers: { 'content-type': 'application/sep+xml' },
      body:
        '<DERControlResponse xmlns="urn:ieee:std:2030.5:ns"><createdDateTime>1700000000</createdDateTime>' +
        `<endDeviceLFDI>${LFDI.toUpperCase()}</endDeviceLFDI><status>1</status><subject>${mRID}</subject></DERControlResponse>`,
    });
    assert.equal(posted.statusCode, 201, posted.body);
    const responses = await call({ method: 'GET', url: `/admin/responses?subject=${mRID}`, token: VIEWER });
    assert.equal(responses.status, 200);
    assert.deepEqual(
      responses.json.map((r: { status: number; endDeviceId: number }) => [r.status, r.endDeviceId]),
      [[1, device.json.id]],
    );

    const cancelled = await call({ method: 'POST', url: `/admin/controls/${mRID}/cancel`, token: OPERATOR });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.json));
    assert.equal(typeof cancelled.json.cancelledAt, 'number');
    const afterCancel = await call({ method: 'GET', url: `/admin/controls/${mRID}`, token: VIEWER });
    assert.equal(afterCancel.json.currentStatus, 2);

    const audit = await store.audit.list({ actor: 'lab' });
    assert.deepEqual(
      audit.map((entry) => entry.action),
      [
        'utility.end-device.register',
        'utility.program.create',
        'utility.default-control.set',
        'utility.control.create',
        'utility.control.cancel',
      ],
    );
  });

  test('unknown EndDevices, programs and controls are 404 GW_ERR_NOT_FOUND', async () => {
    for (const [method, url, body] of [
      ['GET', '/admin/end-devices/999999', undefined],
      ['GET', `/admin/end-devices/${'0'.repeat(40)}/der`, undefined],
      ['PUT', '/admin/programs/nope/default-control', { base: { opModEnergize: true } }],
      ['POST', '/admin/programs/nope/controls', { duration: 60, base: { opModEnergize: true } }],
      ['GET', `/admin/controls/${'a'.repeat(32)}`, undefined],
      ['POST', `/admin/controls/${'a'.repeat(32)}/cancel`, undefined],
    ] as const) {
      const answer = await call({ method, url, token: OPERATOR, ...(body === undefined ? {} : { body }) });
      assert.equal(answer.status, 404, `${method} ${url}: ${JSON.stringify(answer.json)}`);
      assert.equal(answer.json.code, 'GW_ERR_NOT_FOUND');
    }
  });

  test('the read views answer lists; poll rates can be read and set', async () => {
    for (const url of [
      '/admin/responses',
      '/admin/mirror-readings?limit=5',
      '/admin/log-events?since=0',
      '/admin/mirror-usage-points',
      '/admin/controls?includeExpired=true',
      '/admin/programs',
    ]) {
      const answer = await call({ method: 'GET', url, token: VIEWER });
      assert.equal(answer.status, 200, `${url}: ${JSON.stringify(answer.json)}`);
      assert.ok(Array.isArray(answer.json), url);
    }
    const der = await call({ method: 'GET', url: `/admin/end-devices/${LFDI}/der`, token: VIEWER });
    assert.equal(der.status, 200);
    assert.deepEqual(der.json, []);
    const set = await call({
      method: 'PUT',
      url: '/admin/poll-rates/DERProgramList',
      token: OPERATOR,
      body: { seconds: 60 },
    });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    assert.equal(set.json.DERProgramList, 60);
    const bad = await call({ method: 'PUT', url: '/admin/poll-rates/Nope', token: OPERATOR, body: { seconds: 60 } });
    assert.equal(bad.status, 400);
  });

  test('listens on a real socket', async () => {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${address}/admin/end-devices`, { headers: { authorization: `Bearer ${VIEWER}` } });
    assert.equal(response.status, 200);
    assert.ok(Array.isArray(await response.json()));
  });
});
