/**
 * Security profiles 0-3 over real loopback sockets, stations played by ocpp-rpc's RPCClient:
 * who gets in, who is refused before the WebSocket opens (401 / 404 / 400 / TLS failure), and
 * which subprotocol is chosen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestPki, type TestPki } from './pki.ts';
import { connectAndBoot, startCsms, station } from './support.ts';

/** The HTTP status a refused upgrade carried (ocpp-rpc's UnexpectedHttpResponse), or the error's code/message. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code?: unknown; message?: string };
    return typeof e.code === 'number' ? String(e.code) : String(e.code ?? e.message);
  }
  return 'connected';
}

describe('security profile 0', () => {
  test('a known identity connects without credentials; an unknown one gets 401', async (t) => {
    const { csms, events, authority } = await startCsms(t, { stations: { 'CP-0': undefined } });
    assert.match(csms.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    const known = station(t, csms, 'CP-0');
    await known.connect();
    assert.equal((await events.next('connected')).identity, 'CP-0');
    assert.deepEqual(csms.connected(), ['CP-0']);
    assert.deepEqual(authority.seen[0], { identity: 'CP-0', password: undefined, certificateCn: undefined });

    assert.equal(await refusal(station(t, csms, 'CP-UNKNOWN').connect()), '401');
    assert.deepEqual(csms.connected(), ['CP-0']);
  });

  test('a configured path prefix', async (t) => {
    const { csms } = await startCsms(t, { stations: { 'CP-0': undefined } }, { path: 'stations/ocpp/' });
    await station(t, csms, 'CP-0', { endpoint: `${csms.url}/stations/ocpp` }).connect();
    assert.deepEqual(csms.connected(), ['CP-0']);
    assert.equal(await refusal(station(t, csms, 'CP-0', { endpoint: `${csms.url}/ocpp` }).connect()), '404');
  });

  test('a wrong path prefix is 404, no common subprotocol is 400', async (t) => {
    const { csms } = await startCsms(t, { stations: { 'CP-0': undefined } }, { versions: ['2.0.1'] });
    const port = csms.port;
    assert.equal(
      await refusal(station(t, csms, 'CP-0', { endpoint: `ws://127.0.0.1:${port}/other` }).connect()),
      '404',
    );
    assert.equal(await refusal(station(t, csms, 'CP-0', { versions: ['1.6'] }).connect()), '400');
  });
});

describe('security profile 1 (HTTP Basic over ws://)', () => {
  test('the right password connects; wrong password, no password, unknown identity: 401', async (t) => {
    const { csms, authority } = await startCsms(
      t,
      { stations: { 'CP-1': 's3cret:with:colons' } },
      { securityProfile: 1 },
    );
    const good = station(t, csms, 'CP-1', { password: 's3cret:with:colons' });
    await good.connect();
    assert.equal(good.protocol, 'ocpp1.6');
    assert.equal(authority.seen.at(-1)?.password, 's3cret:with:colons');

    assert.equal(await refusal(station(t, csms, 'CP-1', { password: 'wrong' }).connect()), '401');
    assert.equal(await refusal(station(t, csms, 'CP-1').connect()), '401');
    assert.equal(await refusal(station(t, csms, 'CP-NOBODY', { password: 'x' }).connect()), '401');
  });

  test('a Basic username that is not the identity is refused (401)', async (t) => {
    const { csms } = await startCsms(t, { stations: { 'CP-1': 'pw' } }, { securityProfile: 1 });
    // RPCClient always uses the identity as username; send another one by hand.
    const client = station(t, csms, 'CP-1');
    const header = `Basic ${Buffer.from('SOMEONE-ELSE:pw').toString('base64')}`;
    (client as unknown as { reconfigure(o: object): void }).reconfigure({ headers: { authorization: header } });
    assert.equal(await refusal(client.connect()), '401');
  });

  test('a binary password reaches the authority as bytes', async (t) => {
    const key = Buffer.from([0x00, 0xff, 0x3a, 0x10, 0x80]);
    const { csms } = await startCsms(t, { stations: { 'CP-BIN': key } }, { securityProfile: 1 });
    await station(t, csms, 'CP-BIN', { password: key }).connect();
    assert.deepEqual(csms.connected(), ['CP-BIN']);
    assert.equal(await refusal(station(t, csms, 'CP-BIN', { password: Buffer.from([0x00, 0xff]) }).connect()), '401');
  });
});

describe('TLS profiles', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.dispose());

  test('profile 2: wss:// with an RSA server certificate and Basic auth', async (t) => {
    const { csms } = await startCsms(
      t,
      { stations: { 'CP-2': 'pw2' } },
      { securityProfile: 2, tls: { cert: pki.serverRsa.cert, key: pki.serverRsa.key } },
    );
    assert.match(csms.url, /^wss:\/\//);
    const good = station(t, csms, 'CP-2', { password: 'pw2', tls: { ca: pki.ca }, versions: ['2.0.1'] });
    const boot = await connectAndBoot(good);
    assert.equal(boot.status, 'Accepted');
    assert.equal(await refusal(station(t, csms, 'CP-2', { password: 'nope', tls: { ca: pki.ca } }).connect()), '401');
  });

  test('profile 2 with both an ECDSA and an RSA certificate', async (t) => {
    const { csms } = await startCsms(
      t,
      { stations: { 'CP-2': 'pw2' } },
      {
        securityProfile: 2,
        tls: { cert: [pki.serverEc.cert, pki.serverRsa.cert], key: [pki.serverEc.key, pki.serverRsa.key] },
      },
    );
    await station(t, csms, 'CP-2', { password: 'pw2', tls: { ca: pki.ca } }).connect();
    assert.deepEqual(csms.connected(), ['CP-2']);
  });

  test('profile 3: the client certificate CN is the identity; others are refused', async (t) => {
    const { csms, authority } = await startCsms(
      t,
      { stations: { 'CP-3': undefined, 'CP-OTHER': undefined } },
      { securityProfile: 3, tls: { cert: pki.serverEc.cert, key: pki.serverEc.key, ca: pki.ca } },
    );
    const mine = await pki.client('CP-3');
    const good = station(t, csms, 'CP-3', { tls: { ca: pki.ca, ...mine }, versions: ['2.0.1', '1.6'] });
    await good.connect();
    assert.equal(good.protocol, 'ocpp2.0.1', '2.0.1 is preferred when both are offered');
    assert.deepEqual(authority.seen.at(-1), { identity: 'CP-3', password: undefined, certificateCn: 'CP-3' });

    // A valid certificate that names another station: 401.
    assert.equal(await refusal(station(t, csms, 'CP-OTHER', { tls: { ca: pki.ca, ...mine } }).connect()), '401');
    // No certificate, or one from another CA: refused in the TLS handshake, before any HTTP.
    const asked = authority.seen.length;
    const none = await refusal(station(t, csms, 'CP-3', { tls: { ca: pki.ca } }).connect());
    assert.match(none, /CERTIFICATE_REQUIRED|SSL|ECONNRESET/);
    const foreign = await pki.foreignClient('CP-3');
    const forged = await refusal(station(t, csms, 'CP-3', { tls: { ca: pki.ca, ...foreign } }).connect());
    assert.match(forged, /ECONNRESET|SSL|UNKNOWN_CA/);
    assert.equal(authority.seen.length, asked, 'the authority never heard of the refused handshakes');
    assert.deepEqual(csms.connected(), ['CP-3']);
  });

  test('profiles 2 and 3 need TLS material', async (t) => {
    await assert.rejects(startCsms(t, { stations: {} }, { securityProfile: 2 }), { code: 'GW_ERR_CONFIG' });
    await assert.rejects(
      startCsms(t, { stations: {} }, { securityProfile: 3, tls: { cert: pki.serverEc.cert, key: pki.serverEc.key } }),
      { code: 'GW_ERR_CONFIG' },
    );
  });
});

describe('connection replacement', () => {
  test('a newer connection for the same identity replaces the older one', async (t) => {
    const { csms, events } = await startCsms(t, { stations: { 'CP-R': undefined } });
    const first = station(t, csms, 'CP-R');
    await connectAndBoot(first);
    const closed = new Promise<{ code: number }>((resolve) => first.on('close', resolve as (event: never) => void));
    const second = station(t, csms, 'CP-R');
    await second.connect();
    assert.equal((await closed).code, 1000);
    assert.deepEqual(csms.connected(), ['CP-R']);
    assert.equal(events.of('connected').length, 2);
    assert.equal(events.of('disconnected').length, 0, 'the replaced connection does not count as a disconnect');
    // The boot is on record: the new connection may go on without one.
    const heartbeat = (await second.call('Heartbeat', {})) as { currentTime: string };
    assert.ok(Date.parse(heartbeat.currentTime) > 0);
  });
});
