import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BL, eventBody, programBody, startVtn, VEN1, VERSIONS } from './support.ts';

/** Hostile and malformed requests answer 4xx problems; the VTN keeps serving. Pagination and its limits. */

type Obj = Record<string, unknown> & { id: string };

for (const version of VERSIONS) {
  describe(`VTN ${version} hostile input`, () => {
    test('bodies: size, content type, JSON, nesting, numbers, __proto__, schema', async (t) => {
      const h = await startVtn(t, version, { bodyLimit: 4096 });
      const bl = await h.token(BL);
      const post = (body: string, contentType?: string) =>
        h.call<{ status: number; detail: string; code: string }>('POST', '/programs', {
          token: bl,
          body,
          headers: contentType === undefined ? {} : { 'content-type': contentType },
        });
      const big = await post(JSON.stringify({ programName: 'x'.repeat(5000) }), 'application/json');
      assert.equal(big.status, 413);
      assert.equal(big.body.code, 'GW_ERR_BODY_TOO_LARGE');
      assert.equal((await post('{"programName":"a"}', 'text/plain')).status, 415);
      assert.equal((await post('<program/>', 'application/xml')).status, 415);
      assert.equal((await post('programName=a', 'application/x-www-form-urlencoded')).status, 415);
      const charset = await post('{"programName":"utf8"}', 'application/json; charset=utf-8');
      assert.equal(charset.status, 201);
      const broken = await post('{"programName":', 'application/json');
      assert.equal(broken.status, 400);
      assert.equal(broken.body.code, 'GW_ERR_MALFORMED');
      assert.equal((await post('', 'application/json')).status, 400);
      assert.equal((await post('[]', 'application/json')).status, 400);
      assert.equal((await post('"programName"', 'application/json')).status, 400);
      const deep = await post(`${'['.repeat(2000)}${']'.repeat(2000)}`, 'application/json');
      assert.equal(deep.status, 400);
      assert.equal(deep.body.code, 'GW_ERR_HOSTILE_INPUT');
      const nested = await post(
        JSON.stringify({
          programName: 'n',
          attributes: [{ type: 'X', values: [JSON.parse(`${'['.repeat(40)}1${']'.repeat(40)}`)] }],
        }),
        'application/json',
      );
      assert.equal(nested.status, 400);
      const infinite = await post(
        '{"programName":"inf","attributes":[{"type":"X","values":[1e400]}]}',
        'application/json',
      );
      assert.equal(infinite.status, 400);
      const proto = await post('{"programName":"p","__proto__":{"admin":true}}', 'application/json');
      assert.equal(proto.status, 400);
      assert.equal(proto.body.code, 'GW_ERR_HOSTILE_INPUT');
      const wrongType = await post('{"programName":42}', 'application/json');
      assert.equal(wrongType.status, 400);
      assert.match(wrongType.body.detail, /programName/);
      const tooLong = await post(JSON.stringify({ programName: 'x'.repeat(129) }), 'application/json');
      assert.equal(tooLong.status, 400);

      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'ok') })).body;
      const event = eventBody(version, program.id);
      const hugeId = { ...event, intervals: [{ id: 1e12, payloads: [{ type: 'SIMPLE', values: [1] }] }] };
      assert.equal((await h.call('POST', '/events', { token: bl, json: hugeId })).status, 400, 'interval id is int32');
      const negative = { ...event, priority: -1 };
      assert.equal((await h.call('POST', '/events', { token: bl, json: negative })).status, 400);
      const badTime = { ...event, intervalPeriod: { start: 'yesterday', duration: 'PT1H' } };
      assert.equal((await h.call('POST', '/events', { token: bl, json: badTime })).status, 400);
      const badDuration = { ...event, intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: '1 hour' } };
      assert.equal((await h.call('POST', '/events', { token: bl, json: badDuration })).status, 400);
      const bigNumber = {
        ...event,
        intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [1.7976931348623157e308] }] }],
      };
      assert.equal((await h.call('POST', '/events', { token: bl, json: bigNumber })).status, 201);

      // Still serving.
      assert.equal((await h.call<Obj[]>('GET', '/programs', { token: bl })).body.length, 2);
    });

    test('paths, methods and query strings', async (t) => {
      const h = await startVtn(t, version);
      const bl = await h.token(BL);
      assert.equal((await h.call('GET', '/programs/bad$id', { token: bl })).status, 400);
      const long = await h.call('GET', `/programs/${'a'.repeat(300)}`, { token: bl });
      assert.ok(long.status === 400 || long.status === 414, String(long.status));
      assert.equal((await h.call('GET', `/programs/${'a'.repeat(129)}`, { token: bl })).status, 400);
      const unknown = await h.call<{ status: number }>('GET', '/nothing-here', { token: bl });
      assert.equal(unknown.status, 404);
      const method = await h.call('PATCH', '/programs', { token: bl, json: {} });
      assert.equal(method.status, 405);
      assert.match(method.headers.get('allow') ?? '', /GET/);
      assert.equal((await h.call('GET', '/programs?limit=51', { token: bl })).status, 400);
      assert.equal((await h.call('GET', '/programs?limit=-1', { token: bl })).status, 400);
      assert.equal((await h.call('GET', '/programs?skip=-1', { token: bl })).status, 400);
      assert.equal((await h.call('GET', '/programs?skip=abc', { token: bl })).status, 400);
      assert.equal((await h.call('GET', '/programs?skip=1&skip=2', { token: bl })).status, 400);
      assert.equal((await h.call('GET', '/programs?skip=99999999999', { token: bl })).status, 400);
      assert.equal((await h.call('GET', '/events?programID=no%20spaces', { token: bl })).status, 400);
      const repeated = Array.from({ length: 150 }, (_, i) => `targetValues=t${i}&targets=t${i}`).join('&');
      assert.equal((await h.call('GET', `/programs?${repeated}`, { token: bl })).status, 400);
      assert.equal((await h.call('GET', '/programs?unrelated=1&cache=bust', { token: bl })).status, 200);
      if (version === '3.1.0') {
        assert.equal((await h.call('GET', '/events?active=maybe', { token: bl })).status, 400);
        assert.equal((await h.call('GET', `/programs?targets=${'x'.repeat(129)}`, { token: bl })).status, 400);
      }
      assert.equal((await h.call('GET', '/subscriptions?objects=WIDGET', { token: bl })).status, 400);
    });

    test('pagination: skip and limit (at most 50) over the caller’s view, in creation order', async (t) => {
      const h = await startVtn(t, version);
      const bl = await h.token(BL);
      const ven = await h.token(VEN1);
      const names: string[] = [];
      for (let i = 0; i < 60; i++) {
        const name = `p${String(i).padStart(2, '0')}`;
        names.push(name);
        const targeted =
          i % 2 === 1
            ? { targets: version === '3.1.0' ? ['elsewhere'] : [{ type: 'GROUP', values: ['elsewhere'] }] }
            : {};
        await h.call('POST', '/programs', { token: bl, json: { programName: name, ...targeted } });
      }
      const page = async (token: string, search: string) =>
        (await h.call<Obj[]>('GET', `/programs${search}`, { token })).body.map((p) => p.programName);
      assert.deepEqual(await page(bl, ''), names.slice(0, 50));
      assert.deepEqual(await page(bl, '?skip=50'), names.slice(50));
      assert.deepEqual(await page(bl, '?skip=55&limit=10'), names.slice(55));
      assert.deepEqual(await page(bl, '?skip=10&limit=3'), names.slice(10, 13));
      assert.deepEqual(await page(bl, '?limit=0'), []);
      assert.deepEqual(await page(bl, '?skip=1000'), []);
      const visible = names.filter((_, i) => i % 2 === 0);
      assert.deepEqual(await page(ven, '?skip=5&limit=5'), visible.slice(5, 10));
      assert.deepEqual(await page(ven, '?skip=25'), visible.slice(25));
      assert.deepEqual(await page(ven, '?skip=30'), []);
    });
  });
}
