/**
 * Authorisation by certificate LFDI (CSIP IG §6.1.2; CACTUS S-ALL-05): a device sees only its own EndDevice,
 * an aggregator sees its own EndDevice first and then those it manages, an unknown certificate sees empty
 * lists and 404s, and a disabled EndDevice loses access.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { emitSep } from '../../src/codec/index.ts';
import { hrefOf, identity, reasonCode, startServer, type TestServer, watts } from './helpers.ts';

interface Listed {
  all: number;
  results: number;
  EndDevice: Array<{
    href: string;
    lFDI?: string;
    FunctionSetAssignmentsListLink?: unknown;
    SubscriptionListLink?: unknown;
  }>;
}

describe('authorisation by certificate', () => {
  let env: TestServer;
  const ids: Record<string, number> = {};
  const managedLfdi = 'abcdef0123456789abcdef0123456789abcdef01';

  before(async () => {
    env = await startServer();
    const admin = env.server.admin;
    ids.device1 = (await admin.registerEndDevice({ lfdi: identity(env.pki, 'device-1').lfdi })).id;
    ids.device2 = (await admin.registerEndDevice({ lfdi: identity(env.pki, 'device-2').lfdi })).id;
    const aggregatorLfdi = identity(env.pki, 'aggregator-1').lfdi;
    ids.aggregator = (await admin.registerEndDevice({ lfdi: aggregatorLfdi, role: 'aggregator' })).id;
    ids.site = (await admin.registerEndDevice({ lfdi: managedLfdi, aggregatorLfdi })).id;
    // device-3 is managed by the aggregator but also connects with its own certificate.
    ids.device3 = (await admin.registerEndDevice({ lfdi: identity(env.pki, 'device-3').lfdi, aggregatorLfdi })).id;
    await admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
    await admin.createControl({
      programId: 'doe',
      endDeviceIds: [ids.device2 as number],
      duration: 600,
      base: { opModExpLimW: watts(0) },
    });
  });
  after(() => env.close());

  test('a device sees exactly its own EndDevice', async () => {
    const client = env.client('device-1');
    const dcap = await client.fetch<{ EndDeviceListLink: { all: number } }>('/dcap', 'DeviceCapability');
    assert.equal(dcap.EndDeviceListLink.all, 1);
    const list = await client.fetch<Listed>('/edev?l=10', 'EndDeviceList');
    assert.equal(list.all, 1);
    assert.deepEqual(
      list.EndDevice.map((device) => device.href),
      [`/edev/${ids.device1}`],
    );
    assert.equal(list.EndDevice[0]?.lFDI, identity(env.pki, 'device-1').lfdi);
  });

  test("a device gets 404 for another device's resources, reads and writes", async () => {
    const client = env.client('device-1');
    const other = ids.device2 as number;
    for (const path of [
      `/edev/${other}`,
      `/edev/${other}/fsa`,
      `/edev/${other}/derp/doe/derc`,
      `/edev/${other}/der/1/ders`,
    ]) {
      const reply = await client.get(path);
      assert.equal(reply.status, 404, `GET ${path}`);
      assert.equal(reasonCode(reply), 1);
    }
    const now = env.clock.now;
    const status = emitSep('DERStatus', { readingTime: now, genConnectStatus: { dateTime: now, value: '01' } });
    assert.equal((await client.send('PUT', `/edev/${other}/der/1/ders`, status)).status, 404);
    assert.equal(env.server.admin.derReports(other).length, 0);
  });

  test('an aggregator sees its own EndDevice first, then the ones it manages', async () => {
    const client = env.client('aggregator-1');
    const list = await client.fetch<Listed>('/edev?l=10', 'EndDeviceList');
    assert.equal(list.all, 3);
    assert.deepEqual(
      list.EndDevice.map((device) => device.href),
      [`/edev/${ids.aggregator}`, `/edev/${ids.site}`, `/edev/${ids.device3}`],
    );
    // The aggregator EndDevice is not a DER: no FSA link, but a SubscriptionListLink (CSIP p.33).
    assert.equal(list.EndDevice[0]?.FunctionSetAssignmentsListLink, undefined);
    assert.ok(list.EndDevice[0]?.SubscriptionListLink !== undefined);
    assert.ok(list.EndDevice[1]?.FunctionSetAssignmentsListLink !== undefined);
    assert.equal((await client.get(`/edev/${ids.site}/fsa`)).status, 200);
    assert.equal((await client.get(`/edev/${ids.device1}`)).status, 404);
  });

  test('a managed device connecting directly sees only itself', async () => {
    const list = await env.client('device-3').fetch<Listed>('/edev?l=10', 'EndDeviceList');
    assert.deepEqual(
      list.EndDevice.map((device) => device.href),
      [`/edev/${ids.device3}`],
    );
  });

  test('an unknown certificate gets DeviceCapability, Time, empty lists and 404s', async () => {
    const client = env.client('stranger');
    const dcap = await client.fetch<{ EndDeviceListLink: { href: string; all: number } }>('/dcap', 'DeviceCapability');
    assert.equal(dcap.EndDeviceListLink.all, 0);
    await client.fetch('/tm', 'Time');
    const list = await client.fetch<Listed>(hrefOf(dcap.EndDeviceListLink), 'EndDeviceList');
    assert.equal(list.all, 0);
    assert.equal(list.results, 0);
    assert.deepEqual(list.EndDevice, []);
    const mups = await client.fetch<{ all: number }>('/mup', 'MirrorUsagePointList');
    assert.equal(mups.all, 0);
    assert.equal((await client.get(`/edev/${ids.device1}`)).status, 404);
    assert.equal((await client.get('/rsps/derc/rsp/1')).status, 404);
  });

  test('out-of-band registration: POST to the EndDeviceList is 403 with an Error body', async () => {
    const stranger = identity(env.pki, 'stranger');
    const body = emitSep('EndDevice', { sFDI: stranger.sfdi, lFDI: stranger.lfdi, changedTime: env.clock.now });
    const reply = await env.client('stranger').send('POST', '/edev', body);
    assert.equal(reply.status, 403);
    assert.match(reply.body, /^<Error xmlns="urn:ieee:std:2030.5:ns"><reasonCode>\d<\/reasonCode><\/Error>$/);
    assert.equal(env.server.admin.getEndDevice(stranger.lfdi), undefined);
  });

  test('a disabled EndDevice loses access (S-ALL-05 step 5); re-enabled it is back', async () => {
    const client = env.client('device-2');
    await env.server.admin.updateEndDevice(ids.device2 as number, { enabled: false });
    const list = await client.fetch<Listed>('/edev', 'EndDeviceList');
    assert.equal(list.all, 0);
    assert.equal((await client.get(`/edev/${ids.device2}/derp/doe/derc`)).status, 404);
    await env.server.admin.updateEndDevice(ids.device2 as number, { enabled: true });
    const back = await client.fetch<Listed>('/edev', 'EndDeviceList');
    assert.equal(back.all, 1);
    const controls = await client.fetch<{ all: number }>(`/edev/${ids.device2}/derp/doe/derc`, 'DERControlList');
    assert.equal(controls.all, 1);
  });

  test('a disabled aggregator loses access to the EndDevices it manages', async () => {
    const client = env.client('aggregator-1');
    await env.server.admin.updateEndDevice(ids.aggregator as number, { enabled: false });
    try {
      assert.equal((await client.fetch<Listed>('/edev', 'EndDeviceList')).all, 0);
      assert.equal((await client.get(`/edev/${ids.site}`)).status, 404);
    } finally {
      await env.server.admin.updateEndDevice(ids.aggregator as number, { enabled: true });
    }
  });

  test('LFDIs are compared without regard to case (admin lookups and Responses)', async () => {
    const upper = identity(env.pki, 'device-1').lfdi.toUpperCase();
    assert.equal(env.server.admin.getEndDevice(upper)?.id, ids.device1);
  });
});
