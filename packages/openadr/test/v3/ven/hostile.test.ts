/**
 * What the VEN does with bad input, over real sockets on 127.0.0.1: the webhook receiver refuses
 * unknown paths, wrong bearer tokens, oversized and non-JSON bodies and answers the echo challenge;
 * the HTTP transport turns a 5xx, a timeout, a non-JSON answer and an oversized answer into stable
 * GW_ERR codes; a VTN listing objects the VEN cannot use has them skipped (GW_ERR_DEVICE_PROTOCOL)
 * while the rest is used.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { createVen3, createVtnHttp, type Oadr3Notification, startCallbackReceiver } from '../../../src/v3/ven/index.ts';
import { Recorder } from './support.ts';

async function serve(
  t: { after: (fn: () => Promise<void>) => void },
  handler: Parameters<typeof createServer>[1],
): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('webhook receiver', () => {
  test('echo, notifications, and what it refuses', async (t) => {
    const received: Oadr3Notification[] = [];
    const receiver = await startCallbackReceiver({ host: '127.0.0.1', port: 0, maxBodyBytes: 2048 }, (n) =>
      received.push(n),
    );
    t.after(() => receiver.close());
    const base = new URL(receiver.url);
    const notification = { objectType: 'EVENT', operation: 'CREATE', object: { id: 'e1' } };

    const echo = await fetch(`${receiver.url}?echo=abc123`);
    assert.equal(echo.status, 200);
    assert.equal(await echo.text(), 'abc123');

    const rows: Array<[string, RequestInit, string, number]> = [
      [
        'unknown path',
        { method: 'POST', body: JSON.stringify(notification) },
        `${base.origin}/openadr3/notify/guess`,
        404,
      ],
      [
        'wrong bearer token',
        { method: 'POST', headers: { authorization: 'Bearer nope' }, body: JSON.stringify(notification) },
        receiver.url,
        401,
      ],
      ['not JSON', { method: 'POST', body: '{"objectType": ' }, receiver.url, 400],
      ['not a notification', { method: 'POST', body: JSON.stringify({ objectType: 'EVENT' }) }, receiver.url, 400],
      [
        'too large',
        { method: 'POST', body: JSON.stringify({ ...notification, pad: 'x'.repeat(4096) }) },
        receiver.url,
        413,
      ],
      ['echo missing', { method: 'GET' }, receiver.url, 400],
      ['another method', { method: 'PUT', body: '{}' }, receiver.url, 405],
    ];
    for (const [what, init, url, status] of rows) assert.equal((await fetch(url, init)).status, status, what);
    assert.deepEqual(received, [], 'nothing refused reached the VEN');

    const ok = await fetch(receiver.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${receiver.bearerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(notification),
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(received, [notification]);
    assert.deepEqual(receiver.stats(), { notifications: 1, refused: rows.length, echoes: 1 });
  });
});

describe('HTTP transport', () => {
  test('5xx, timeout, non-JSON and oversized answers', async (t) => {
    const url = await serve(t, (req, res) => {
      if (req.url === '/500') res.writeHead(503).end('busy');
      else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('[]'), 2000).unref();
      else if (req.url === '/html') res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
      else if (req.url === '/big') res.writeHead(200).end(`[${'1,'.repeat(5000)}1]`);
      else res.writeHead(404).end(JSON.stringify({ title: 'Not Found' }));
    });
    const http = createVtnHttp({ timeoutMs: 300, maxBodyBytes: 4096 });
    t.after(() => http.close());
    const codeOf = async (path: string) => {
      try {
        await http.request({ method: 'GET', url: new URL(path, url) });
        return 'ok';
      } catch (error) {
        assert.ok(GridseamError.is(error));
        assert.equal(error.details?.peer, 'vtn');
        return error.code;
      }
    };
    assert.equal(await codeOf('/500'), 'GW_ERR_DEVICE_UNREACHABLE');
    assert.equal(await codeOf('/slow'), 'GW_ERR_DEVICE_UNREACHABLE');
    assert.equal(await codeOf('/html'), 'GW_ERR_DEVICE_PROTOCOL');
    assert.equal(await codeOf('/big'), 'GW_ERR_BODY_TOO_LARGE');
    const missing = await http.request({ method: 'GET', url: new URL('/nothing', url) });
    assert.equal(missing.status, 404, 'other statuses go back to the caller');
    const closed = createVtnHttp({ timeoutMs: 300 });
    t.after(() => closed.close());
    await assert.rejects(
      closed.request({ method: 'GET', url: new URL('http://127.0.0.1:1/') }),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_DEVICE_UNREACHABLE',
    );
  });
});

describe('objects the VEN cannot use', () => {
  test('are skipped and named; the rest is used', async (t) => {
    const good = {
      id: 'e-good',
      programID: 'p1',
      createdDateTime: '2030-01-01T00:00:00Z',
      modificationDateTime: '2030-01-01T00:00:00Z',
      intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: 'PT1H' },
      intervals: [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [1] }] }],
    };
    const bad = [
      { ...good, id: 'e bad id' },
      { ...good, id: 'e-no-program', programID: 7 },
      { ...good, id: 'e-interval', intervals: [{ id: 'zero', payloads: [] }] },
      { ...good, id: 'e-values', intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: 1 }] }] },
      { ...good, id: 'e-priority', priority: -1 },
      'not an object',
    ];
    const url = await serve(t, (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      res.setHeader('content-type', 'application/json');
      if (path === '/programs')
        res.end(
          JSON.stringify([{ id: 'p1', programName: 'DOE', createdDateTime: '2030-01-01T00:00:00Z' }, { id: 'p2' }]),
        );
      else if (path === '/events') res.end(JSON.stringify([...bad, good]));
      else if (path === '/vens' && req.method === 'GET') res.end('[]');
      else
        res.writeHead(201).end(JSON.stringify({ id: 'v1', venName: 'ven-1', createdDateTime: '2030-01-01T00:00:00Z' }));
    });
    const ven = createVen3({
      version: '3.1.0',
      vtnUrl: url,
      venName: 'ven-1',
      programs: { DOE: { primacy: 5 } },
      pollIntervalMs: 60_000,
    });
    const recorder = new Recorder(ven);
    t.after(() => ven.stop());
    await ven.start();
    assert.deepEqual([...ven.events().keys()], ['e-good']);
    const skipped = recorder.errors.filter((e) => e.code === 'GW_ERR_DEVICE_PROTOCOL').map((e) => e.message);
    assert.equal(skipped.length, bad.length + 1, skipped.join('\n'));
    assert.ok(skipped.some((m) => m.includes('/programName')));
    assert.ok(skipped.some((m) => m.includes('/intervals/0')));
    assert.equal(ven.status().online, true);
    await ven.syncNow();
    assert.equal(recorder.errors.length, bad.length + 1, 'each one is named once');
  });
});
