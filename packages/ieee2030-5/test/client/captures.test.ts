/**
 * The client against a fake utility: a tiny mutual-TLS server of our own that serves the captured XML of real
 * utilities (../shared/specs/ieee2030_5/samples/open-dynamic-export: Energy Queensland and SAPN, with their
 * out-of-order elements, upper-case hex and `ns2:` prefixes) by path, and records the Responses POSTed to it.
 * Skips when the captures are absent.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSepClient, MemoryClientStateStore, type SepClient } from '../../src/client/index.ts';
import { parseSep } from '../../src/codec/index.ts';
import { sepServerTlsOptions } from '../../src/tls.ts';
import { identity, sharedPki } from '../server/helpers.ts';

const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..');
const CAPTURES = resolve(repoRoot, '..', 'shared', 'specs', 'ieee2030_5', 'samples', 'open-dynamic-export');
const skip = existsSync(CAPTURES) ? false : `captures not found at ${CAPTURES}`;

const capture = (file: string) => readFileSync(resolve(CAPTURES, file), 'utf8');

interface FakeUtility {
  port: number;
  serverTime: number;
  posted: Array<{ path: string; body: string }>;
  close(): Promise<void>;
}

/** Serves `routes` by path (the query is ignored, except that a list page past the first is empty). */
async function startFake(routes: Record<string, () => string>, serverTime: number): Promise<FakeUtility> {
  const pki = await sharedPki();
  const fake: FakeUtility = { port: 0, serverTime, posted: [], close: async () => undefined };
  const server: Server = createServer(
    sepServerTlsOptions({ key: pki.server.keyPem, cert: pki.server.certificatePem, ca: pki.ca.certificatePem }),
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://fake.invalid');
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method === 'POST' || req.method === 'PUT') {
          fake.posted.push({ path: url.pathname, body: Buffer.concat(chunks).toString('utf8') });
          res.writeHead(req.method === 'POST' ? 201 : 204, { location: `${url.pathname}/${fake.posted.length}` });
          res.end();
          return;
        }
        const route = routes[url.pathname];
        if (route === undefined) {
          res.writeHead(404);
          res.end();
          return;
        }
        let body = route();
        const start = Number(url.searchParams.get('s') ?? '0');
        if (start > 0) {
          const root = /<(\w+List)\b/.exec(body)?.[1] ?? 'List';
          body = `<${root} xmlns="urn:ieee:std:2030.5:ns" all="0" results="0"/>`;
        }
        res.writeHead(200, { 'content-type': 'application/sep+xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    },
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  fake.port = (server.address() as AddressInfo).port;
  fake.close = () =>
    new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });
  return fake;
}

/** The captured Time with currentTime set to the fake's clock. */
function timeRoute(fake: () => FakeUtility): () => string {
  return () =>
    capture('getTm.xml').replace(/<currentTime>\d+<\/currentTime>/, `<currentTime>${fake().serverTime}</currentTime>`);
}

const LOCAL_NOW = 1_800_000_000;

describe('captured Energy Queensland traffic', { skip }, () => {
  let fake: FakeUtility;
  let client: SepClient;
  const eqLfdi = '4075DE6031E562ACF4D9EAA765A5B2ED00057269';

  before(async () => {
    const routes: Record<string, () => string> = {
      '/api/v2/dcap': () => capture('getDcap.xml'),
      '/api/v2/tm': timeRoute(() => fake),
      '/api/v2/edev': () => capture('getEdev.xml'),
      '/api/v2/edev/_EQLDEV3': () => capture('getEdev__EQLDEV3.xml'),
      '/api/v2/edev/_EQLDEV3/rg': () => capture('getEdev__EQLDEV3_rg.xml'),
      '/api/v2/edev/_EQLDEV3/der': () => capture('getEdev__EQLDEV3_der.xml'),
      '/api/v2/edev/_EQLDEV3/fsa': () => capture('getEdev__EQLDEV3_fsa.xml'),
      '/api/v2/edev/_EQLDEV3/fsa/1/derp': () => capture('getEdev__EQLDEV3_fsa_1_derp.xml'),
      '/api/v2/edev/_EQLDEV3/fsa/2/derp': () => capture('getEdev__EQLDEV3_fsa_2_derp.xml'),
      '/api/v2/derp/P-_EQLDEV3/derc': () => capture('getDerp_P-EQLDEV3_derc.xml'),
      '/api/v2/derp/TESTPRG3/derc': () => capture('getDerp_TESTPROG3_derc.xml'),
      '/api/v2/derp/TESTPRG3/dderc': () => capture('getDerp_TESTPROG3_dderc.xml'),
      '/api/v2/derp/P-_EQLDEV3/dc': () => '<DERCurveList xmlns="urn:ieee:std:2030.5:ns" all="0" results="0"/>',
      '/api/v2/derp/TESTPRG3/dc': () => '<DERCurveList xmlns="urn:ieee:std:2030.5:ns" all="0" results="0"/>',
      '/api/v2/mup': () => capture('getMup.xml'),
    };
    // 50 s into the second control of TESTPRG3 (start 1682475600, 300 s).
    fake = await startFake(routes, 1_682_475_650);
    const pki = await sharedPki();
    const id = identity(pki, 'device-1');
    client = createSepClient(
      {
        dcapUrl: `https://127.0.0.1:${fake.port}/api/v2/dcap`,
        mode: 'direct',
        lfdi: eqLfdi,
        pin: 123455,
        tls: { key: id.keyPem, cert: id.certificatePem, ca: pki.ca.certificatePem },
      },
      { now: () => LOCAL_NOW, store: new MemoryClientStateStore(), setTimer: () => () => undefined },
    );
    await client.start();
  });
  after(async () => {
    await client.stop();
    await fake.close();
  });

  test('finds its EndDevice among the aggregator list, with the clock offset from tm', () => {
    assert.deepEqual(
      client.endDevices().map((device) => device.href),
      ['/api/v2/edev/_EQLDEV3'],
    );
    assert.equal(client.clockOffset(), 1_682_475_650 - LOCAL_NOW);
  });

  test('the active control wins per control type; the default fills the rest', () => {
    const [update] = client.controls();
    assert.ok(update);
    const byKind = Object.fromEntries(update.setpoints.map((s) => [s.kind, { value: s.value, source: s.source.kind }]));
    assert.deepEqual(byKind, {
      exportLimit: { value: 2500, source: 'program' },
      importLimit: { value: 2510, source: 'program' },
      energize: { value: 1, source: 'default' },
    });
    assert.deepEqual(update.active, ['737a28be154f4050bfb61d24202c0983']);
    assert.equal(
      update.setpoints.find((s) => s.kind === 'exportLimit')?.until,
      1_682_475_900 - (1_682_475_650 - LOCAL_NOW),
    );
  });

  test('Responses go to replyTo with the mRID and our LFDI', () => {
    const bodies = fake.posted
      .filter((post) => post.path === '/api/v2/rsps/res-ms/rsp')
      .map((post) => parseSep(post.body).value as { subject: string; status: number; endDeviceLFDI: string });
    const active = bodies
      .filter((body) => body.subject === '737a28be154f4050bfb61d24202c0983')
      .map((body) => body.status);
    assert.deepEqual(active, [1, 2]);
    assert.equal(bodies.filter((body) => body.status === 1).length, 5, 'every listed control is Received');
    assert.ok(bodies.every((body) => body.endDeviceLFDI === eqLfdi.toLowerCase()));
  });
});

describe('captured SAPN traffic', { skip }, () => {
  let fake: FakeUtility;
  let client: SepClient;
  const edev = '/edev/2dbac664c4e406e56169858ee224ca415849bc43';
  const lfdi = '2dbac664c4e406e56169858ee224ca415849bc43';

  before(async () => {
    const ns = 'xmlns="urn:ieee:std:2030.5:ns"';
    // The tree above the captured DERControlList and DefaultDERControl (not captured; written for the test).
    const routes: Record<string, () => string> = {
      '/dcap': () =>
        `<DeviceCapability ${ns} href="/dcap" pollRate="300"><TimeLink href="/tm"/><EndDeviceListLink href="/edev" all="1"/></DeviceCapability>`,
      '/tm': timeRoute(() => fake),
      '/edev': () =>
        `<EndDeviceList ${ns} href="/edev" all="1" results="1"><EndDevice href="${edev}"><lFDI>${lfdi.toUpperCase()}</lFDI><sFDI>1</sFDI><changedTime>0</changedTime><FunctionSetAssignmentsListLink href="${edev}/fsa" all="1"/></EndDevice></EndDeviceList>`,
      [`${edev}`]: () =>
        `<EndDevice ${ns} href="${edev}"><sFDI>1</sFDI><lFDI>${lfdi}</lFDI><changedTime>0</changedTime><FunctionSetAssignmentsListLink href="${edev}/fsa" all="1"/></EndDevice>`,
      [`${edev}/fsa`]: () =>
        `<FunctionSetAssignmentsList ${ns} href="${edev}/fsa" all="1" results="1"><FunctionSetAssignments href="${edev}/fsa/1"><DERProgramListLink href="${edev}/derp" all="1"/><mRID>01</mRID></FunctionSetAssignments></FunctionSetAssignmentsList>`,
      [`${edev}/derp`]: () =>
        `<DERProgramList ${ns} href="${edev}/derp" all="1" results="1"><DERProgram href="${edev}/derp/1"><mRID>02</mRID><DefaultDERControlLink href="${edev}/derp/1/dderc/15"/><DERControlListLink href="${edev}/derp/1/derc" all="3"/><primacy>1</primacy></DERProgram></DERProgramList>`,
      [`${edev}/derp/1/derc`]: () => capture('getDerp_derc_sapn.xml'),
      [`${edev}/derp/1/dderc/15`]: () => capture('getDerp_dderc_sapn.xml'),
    };
    fake = await startFake(routes, 1_726_633_100);
    const pki = await sharedPki();
    const id = identity(pki, 'device-1');
    client = createSepClient(
      {
        dcapUrl: `https://127.0.0.1:${fake.port}/dcap`,
        mode: 'direct',
        lfdi,
        responseStatuses: [1, 2, 3, 6, 7],
        tls: { key: id.keyPem, cert: id.certificatePem, ca: pki.ca.certificatePem },
      },
      { now: () => LOCAL_NOW, store: new MemoryClientStateStore(), setTimer: () => () => undefined },
    );
    await client.start();
  });
  after(async () => {
    await client.stop();
    await fake.close();
  });

  test('the active zero export limit applies; the cancelled ones are answered 6', () => {
    const [update] = client.controls();
    assert.ok(update);
    assert.deepEqual(
      update.setpoints.map((s) => [s.kind, s.value, s.source.kind, s.source.ref]),
      [['exportLimit', 0, 'program', '8f20816bba3542a98b46774f20ee3dd9']],
    );
    const bodies = fake.posted.map((post) => parseSep(post.body).value as { subject: string; status: number });
    const statuses = (mRID: string) => bodies.filter((body) => body.subject === mRID).map((body) => body.status);
    assert.deepEqual(statuses('f51df42347494526b7cc2fe85c98aec3'), [1, 6]);
    assert.deepEqual(statuses('1e0728fb29804b9ca1c914ac69935f6c'), [1, 6]);
    assert.deepEqual(statuses('8f20816bba3542a98b46774f20ee3dd9'), [1, 2]);
    assert.ok(fake.posted.every((post) => post.path === '/rsps/2dbac664c4e406e56169858ee224ca415849bc43/rsp'));
  });
});
