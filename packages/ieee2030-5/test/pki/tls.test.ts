/**
 * 2030.5 TLS over a real loopback connection: TLS 1.2 with ECDHE-ECDSA-AES128-CCM8 and mutual authentication
 * with the test PKI; the server sees the client's LFDI (peerLfdi) equal to the LFDI of the `.x509` file
 * written for it; clients without a certificate, or with one from another CA, are refused.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type ConnectionOptions,
  connect,
  createServer as createTlsServer,
  type PeerCertificate,
  type TLSSocket,
  type Server as TlsServer,
} from 'node:tls';
import { GridseamError } from '@gridseam/model';
import { lfdiFromCertificate, sfdiFromLfdi } from '../../src/identity/index.ts';
import { createTestPki, type PkiClient, type TestPki, writeTestPki } from '../../src/pki/index.ts';
import { peerLfdi, SEP_CIPHER, SEP_FALLBACK_CIPHER, sepClientTlsOptions, sepServerTlsOptions } from '../../src/tls.ts';

interface SeenByServer {
  lfdi?: string;
  sfdi?: number;
  cipher: string;
  protocol: string | null;
}

function listen(server: HttpsServer | TlsServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: HttpsServer | TlsServer | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** GET / over https with the given TLS options; resolves with the JSON body and the client's view of TLS. */
function httpsGet(
  port: number,
  tlsOptions: ConnectionOptions,
): Promise<{ body: SeenByServer; cipher: string; protocol: string | null; serverCertificate: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, ...tlsOptions }, (res) => {
      const socket = res.socket as TLSSocket;
      const cipher = socket.getCipher().name;
      const protocol = socket.getProtocol();
      const serverCertificate = socket.getPeerCertificate();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ body: JSON.parse(text) as SeenByServer, cipher, protocol, serverCertificate }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw TLS connection: resolves 'connected' after a full handshake, else rejects with the TLS error. */
function handshake(port: number, options: ConnectionOptions): Promise<'connected'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => {
      // In TLS 1.2 the server's Finished comes after it has checked the client certificate: the handshake
      // only completes for a client the server accepted. Wait for the server's reply to be sure.
      socket.once('data', () => {
        socket.end();
        resolve('connected');
      });
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
    socket.once('close', () => reject(new Error('closed before the server answered')));
  });
}

describe('2030.5 TLS on loopback', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let dir: string;
  let https: HttpsServer | undefined;
  let httpsPort: number;
  let tlsServer: TlsServer | undefined;
  let tlsPort: number;
  let fallbackServer: TlsServer | undefined;
  let fallbackPort: number;
  const clientErrors: string[] = [];
  /** Connections the raw TLS server handed to its application (after the certificate checks). */
  let accepted = 0;

  const clientOf = (which: TestPki, index = 0): PkiClient => {
    const client = which.clients[index];
    assert.ok(client);
    return client;
  };
  const clientOptions = (client: PkiClient, ca: string, requireSepProfile = false) =>
    sepClientTlsOptions({ key: client.keyPem, cert: client.certificatePem, ca, requireSepProfile });

  before(async () => {
    pki = await createTestPki({ clients: [{ name: 'device-1' }, { name: 'agg-1', kind: 'aggregator' }] });
    otherPki = await createTestPki({ clients: 1 });
    dir = await mkdtemp(join(tmpdir(), 'gridseam-tls-'));
    await writeTestPki(pki, dir);
    const serverTls = sepServerTlsOptions({
      key: pki.server.keyPem,
      cert: pki.server.certificatePem,
      ca: pki.ca.certificatePem,
    });

    https = createHttpsServer(serverTls, (req, res) => {
      const socket = req.socket as TLSSocket;
      const seen: SeenByServer = {
        ...peerLfdi(socket),
        cipher: socket.getCipher().name,
        protocol: socket.getProtocol(),
      };
      const body = JSON.stringify(seen);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    https.on('tlsClientError', (error) => clientErrors.push(error.message));
    httpsPort = await listen(https);

    // A plain TLS server with the same options; it answers one line once the handshake is complete.
    tlsServer = createTlsServer(serverTls, (socket) => {
      accepted += 1;
      socket.end('hello\n');
    });
    tlsServer.on('tlsClientError', (error) => clientErrors.push(error.message));
    tlsPort = await listen(tlsServer);

    fallbackServer = createTlsServer(
      sepServerTlsOptions({
        key: pki.server.keyPem,
        cert: pki.server.certificatePem,
        ca: pki.ca.certificatePem,
        allowDefaultCiphers: true,
      }),
      (socket) => socket.end('hello\n'),
    );
    fallbackPort = await listen(fallbackServer);
  });

  after(async () => {
    await close(https);
    await close(tlsServer);
    await close(fallbackServer);
    await rm(dir, { recursive: true, force: true });
  });

  test('mutual TLS 1.2 with ECDHE-ECDSA-AES128-CCM8; the server sees the LFDI of the written .x509 file', async () => {
    for (const [index, client] of pki.clients.entries()) {
      const seen = await httpsGet(httpsPort, clientOptions(client, pki.ca.certificatePem));
      assert.equal(seen.cipher, SEP_CIPHER);
      assert.equal(seen.protocol, 'TLSv1.2');
      assert.equal(seen.body.cipher, SEP_CIPHER);
      assert.equal(seen.body.protocol, 'TLSv1.2');

      const x509 = new Uint8Array(await readFile(join(dir, `clients/${client.name}.x509`)));
      const fileLfdi = lfdiFromCertificate(x509);
      assert.equal(seen.body.lfdi, fileLfdi, `${client.name}: peerLfdi equals the LFDI of its .x509 file`);
      assert.equal(seen.body.lfdi, client.lfdi);
      assert.equal(seen.body.sfdi, sfdiFromLfdi(fileLfdi));
      assert.equal(index === 0 ? 'device-1' : 'agg-1', client.name);
      // The client's view of the server: the server certificate and its LFDI.
      assert.equal(lfdiFromCertificate(new Uint8Array(seen.serverCertificate.raw)), pki.server.lfdi);
    }
  });

  test('a Node client requiring the 2030.5 profile accepts our server certificate', async () => {
    const seen = await httpsGet(httpsPort, clientOptions(clientOf(pki), pki.ca.certificatePem, true));
    assert.equal(seen.body.lfdi, clientOf(pki).lfdi);
  });

  test('the profile check of sepClientTlsOptions rejects a certificate outside the profile', () => {
    const { checkServerIdentity } = clientOptions(clientOf(pki), pki.ca.certificatePem, true);
    const asPeer = (der: Uint8Array) => ({ raw: Buffer.from(der) }) as unknown as PeerCertificate;
    assert.equal(checkServerIdentity('127.0.0.1', asPeer(pki.server.certificateDer)), undefined);
    assert.match(String(checkServerIdentity('127.0.0.1', asPeer(pki.ca.certificateDer))), /not in the IEEE 2030.5/);
    assert.match(String(checkServerIdentity('127.0.0.1', asPeer(new Uint8Array([1, 2])))), /cannot be read/);
    // Without requireSepProfile only the chain is checked, not the host name.
    const lenient = clientOptions(clientOf(pki), pki.ca.certificatePem);
    assert.equal(lenient.checkServerIdentity('example.com', asPeer(pki.ca.certificateDer)), undefined);
  });

  test('DER certificates and keys (the .x509 files) work as well as PEM', async () => {
    const client = clientOf(pki);
    const derKey = createPrivateKey(client.keyPem).export({ type: 'pkcs8', format: 'der' });
    const options = sepClientTlsOptions({
      key: derKey,
      cert: await readFile(join(dir, `clients/${client.name}.x509`)),
      ca: [Buffer.from(pki.ca.certificateDer)],
    });
    const seen = await httpsGet(httpsPort, options);
    assert.equal(seen.body.lfdi, client.lfdi);
    assert.throws(
      () => sepServerTlsOptions({ key: Buffer.from([1, 2, 3]), cert: 'c', ca: 'a' }),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_CONFIG',
    );
  });

  test('the raw TLS server completes the handshake for a client of the CA', async () => {
    assert.equal(await handshake(tlsPort, clientOptions(clientOf(pki), pki.ca.certificatePem)), 'connected');
  });

  test('a client without a certificate is refused during the handshake (alert 40)', async () => {
    const before = clientErrors.length;
    const acceptedBefore = accepted;
    await assert.rejects(
      handshake(tlsPort, {
        ca: pki.ca.certificatePem,
        ciphers: SEP_CIPHER,
        maxVersion: 'TLSv1.2',
        checkServerIdentity: () => undefined,
      }),
    );
    await assert.rejects(
      httpsGet(httpsPort, { ca: pki.ca.certificatePem, maxVersion: 'TLSv1.2', checkServerIdentity: () => undefined }),
    );
    assert.ok(clientErrors.length > before, 'the server reported the refused handshake');
    assert.ok(
      clientErrors.slice(before).some((m) => /certificate/i.test(m)),
      `the server names the missing certificate: ${clientErrors.slice(before).join(' | ')}`,
    );
    assert.equal(accepted, acceptedBefore);
  });

  test('a client whose certificate comes from another CA is refused', async () => {
    const stranger = clientOf(otherPki);
    const acceptedBefore = accepted;
    // It trusts our CA (so it accepts the server), but its own certificate chains to another CA. Node checks
    // the chain when the handshake completes and closes the connection before any application data.
    await assert.rejects(handshake(tlsPort, clientOptions(stranger, pki.ca.certificatePem)));
    await assert.rejects(httpsGet(httpsPort, clientOptions(stranger, pki.ca.certificatePem)));
    assert.equal(accepted, acceptedBefore, 'the application never saw the connection');
    // The same client with a certificate of our CA is accepted.
    await handshake(tlsPort, clientOptions(clientOf(pki), pki.ca.certificatePem));
    assert.equal(accepted, acceptedBefore + 1);
  });

  test('a client refuses a server whose certificate does not chain to the CA it trusts', async () => {
    await assert.rejects(
      handshake(tlsPort, clientOptions(clientOf(pki), otherPki.ca.certificatePem)),
      (error: NodeJS.ErrnoException) => {
        assert.match(String(error.code), /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
        return true;
      },
    );
  });

  test('TLS 1.3 only, and other ciphers unless allowDefaultCiphers, are refused', async () => {
    const base = clientOptions(clientOf(pki), pki.ca.certificatePem);
    await assert.rejects(handshake(tlsPort, { ...base, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }));
    await assert.rejects(handshake(tlsPort, { ...base, ciphers: SEP_FALLBACK_CIPHER }));
    assert.equal(await handshake(fallbackPort, { ...base, ciphers: SEP_FALLBACK_CIPHER }), 'connected');
    assert.equal(await handshake(fallbackPort, base), 'connected');
  });

  test('sepServerTlsOptions pins TLS 1.2, CCM8, P-256 and required client certificates', () => {
    const options = sepServerTlsOptions({ key: 'k', cert: 'c', ca: 'a' });
    assert.equal(options.minVersion, 'TLSv1.2');
    assert.equal(options.maxVersion, 'TLSv1.2');
    assert.equal(options.ciphers, 'ECDHE-ECDSA-AES128-CCM8');
    assert.equal(options.ecdhCurve, 'P-256');
    assert.equal(options.requestCert, true);
    assert.equal(options.rejectUnauthorized, true);
    assert.equal(
      sepServerTlsOptions({ key: 'k', cert: 'c', ca: 'a', allowDefaultCiphers: true }).ciphers,
      'ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256',
    );
  });

  test('peerLfdi is undefined for a connection without a verified client certificate', async () => {
    let seen: ReturnType<typeof peerLfdi> | 'unset' = 'unset';
    const lenient = createTlsServer(
      {
        ...sepServerTlsOptions({ key: pki.server.keyPem, cert: pki.server.certificatePem, ca: pki.ca.certificatePem }),
        rejectUnauthorized: false,
      },
      (socket) => {
        seen = peerLfdi(socket);
        socket.end('hello\n');
      },
    );
    try {
      const port = await listen(lenient);
      await handshake(port, { ca: pki.ca.certificatePem, ciphers: SEP_CIPHER, checkServerIdentity: () => undefined });
      assert.equal(seen, undefined, 'no client certificate');
      seen = 'unset';
      await handshake(port, clientOptions(clientOf(otherPki), pki.ca.certificatePem));
      assert.equal(seen, undefined, 'a certificate from another CA does not count');
      seen = 'unset';
      await handshake(port, clientOptions(clientOf(pki), pki.ca.certificatePem));
      assert.deepEqual(seen, { lfdi: clientOf(pki).lfdi, sfdi: clientOf(pki).sfdi });
    } finally {
      await close(lenient);
    }
  });
});
