/**
 * Behind a TLS terminator: plain HTTP on 127.0.0.1 with the client identity in a header (URL-encoded PEM,
 * SHA-256 fingerprint or LFDI); a missing or unreadable header is 401; a request from an address that is not
 * a trusted proxy is refused.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { certificateFingerprint } from '../../src/identity/lfdi.ts';
import type { UtilityServer } from '../../src/server/contract.ts';
import { MemoryStateStore } from '../../src/server/memory-store.ts';
import { createUtilityServer } from '../../src/server/server.ts';
import { HOST, identity, sharedPki } from './helpers.ts';

interface PlainReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function plain(port: number, method: string, path: string, headers: Record<string, string>): Promise<PlainReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('terminator mode (plain HTTP, identity in a header)', () => {
  let server: UtilityServer;
  let port: number;
  let deviceId: number;

  before(async () => {
    server = await createUtilityServer(
      { profile: 'csip', terminator: { header: 'X-Forwarded-Client-Cert' }, log: () => undefined },
      new MemoryStateStore(),
    );
    port = (await server.listen({ host: HOST, port: 0 })).port;
    const pki = await sharedPki();
    deviceId = (await server.admin.registerEndDevice({ lfdi: identity(pki, 'device-1').lfdi })).id;
  });
  after(() => server.close());

  test('a URL-encoded PEM, a fingerprint or an LFDI in the header identifies the client', async () => {
    const pki = await sharedPki();
    const device = identity(pki, 'device-1');
    for (const value of [
      encodeURIComponent(device.certificatePem),
      certificateFingerprint(device.certificateDer),
      device.lfdi.toUpperCase(),
    ]) {
      const reply = await plain(port, 'GET', '/edev?l=5', { 'x-forwarded-client-cert': value });
      assert.equal(reply.status, 200, reply.body);
      assert.ok(reply.body.includes(`<lFDI>${device.lfdi}</lFDI>`), reply.body);
      assert.ok(reply.body.includes(`href="/edev/${deviceId}"`));
      assert.equal(reply.headers['transfer-encoding'], undefined);
      assert.equal(Number(reply.headers['content-length']), Buffer.byteLength(reply.body));
      // csip profile: no CSIP-AUS extensions (the EPRI client fails on them).
      assert.ok(!reply.body.includes('csipaus'), reply.body);
    }
  });

  test('no identity header, or an unreadable one, is 401', async () => {
    assert.equal((await plain(port, 'GET', '/dcap', {})).status, 401);
    assert.equal((await plain(port, 'GET', '/dcap', { 'x-forwarded-client-cert': 'not-a-certificate' })).status, 401);
  });

  test('the identity header is only trusted from the configured proxies', async () => {
    const strict = await createUtilityServer(
      { profile: 'csip', terminator: { header: 'x-client', trustedProxies: ['10.9.9.9'] }, log: () => undefined },
      new MemoryStateStore(),
    );
    try {
      const strictPort = (await strict.listen({ host: HOST, port: 0 })).port;
      const reply = await plain(strictPort, 'GET', '/dcap', { 'x-client': 'a'.repeat(40) });
      assert.equal(reply.status, 403);
    } finally {
      await strict.close();
    }
  });
});
