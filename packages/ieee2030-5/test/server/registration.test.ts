/**
 * In-band registration (CSIP IG §6.1.3/6.1.4; CACTUS S-ALL-02/03/51/52/56, S-OPT-01/04): POST EndDevice to the
 * EndDeviceList answers 201 with a Location that GETs, the Registration carries the PIN, a device may only
 * register its own certificate's LFDI, duplicates and malformed LFDIs are refused, and an aggregator registers
 * the EndDevices it manages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { emitSep } from '../../src/codec/index.ts';
import { sfdiFromLfdi } from '../../src/identity/lfdi.ts';
import { hrefOf, identity, location, reasonCode, startServer, type TestServer } from './helpers.ts';

function endDeviceBody(lfdi: string | undefined, sfdi: number, now: number): string {
  return emitSep('EndDevice', {
    ...(lfdi === undefined ? {} : { lFDI: lfdi }),
    sFDI: sfdi,
    changedTime: now,
    deviceCategory: '200000',
    postRate: 60,
  });
}

describe('in-band registration', () => {
  let env: TestServer;

  before(async () => {
    env = await startServer({ variances: { registration: 'both', registrationPin: 654320 } });
    await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'aggregator-1').lfdi, role: 'aggregator' });
  });
  after(() => env.close());

  test('a device registers itself: 201 + Location, then finds itself with the PIN', async () => {
    const id = identity(env.pki, 'device-1');
    const client = env.client('device-1');
    const reply = await client.send('POST', '/edev', endDeviceBody(id.lfdi.toUpperCase(), id.sfdi, env.clock.now));
    assert.equal(reply.status, 201, reply.body);
    assert.equal(reply.body, '');
    const href = location(reply);
    assert.match(href, /^\/edev\/\d+$/);
    const endDevice = await client.fetch<{ lFDI: string; sFDI: number; postRate: number; RegistrationLink: unknown }>(
      href,
      'EndDevice',
    );
    assert.equal(endDevice.lFDI, id.lfdi);
    assert.equal(endDevice.sFDI, id.sfdi);
    assert.equal(endDevice.postRate, 60);
    const registration = await client.fetch<{ pIN: number; dateTimeRegistered: number }>(
      hrefOf(endDevice.RegistrationLink),
      'Registration',
    );
    assert.equal(registration.pIN, 654320);
    assert.equal(registration.dateTimeRegistered, env.clock.now);
    const record = env.server.admin.getEndDevice(id.lfdi);
    assert.equal(record?.registeredBy, 'in-band');
    assert.equal(record?.deviceCategory, '200000');
  });

  test('registering the same EndDevice again is refused (S-ALL-51, S-OPT-01)', async () => {
    const id = identity(env.pki, 'device-1');
    const reply = await env.client('device-1').send('POST', '/edev', endDeviceBody(id.lfdi, id.sfdi, env.clock.now));
    assert.equal(reply.status, 409);
    assert.equal(reasonCode(reply), 1);
    assert.equal(env.server.admin.listEndDevices({ lfdi: id.lfdi }).length, 1);
  });

  test("a device cannot register another certificate's LFDI (S-ALL-52)", async () => {
    const other = identity(env.pki, 'device-3');
    const reply = await env
      .client('device-2')
      .send('POST', '/edev', endDeviceBody(other.lfdi, other.sfdi, env.clock.now));
    assert.equal(reply.status, 403);
    assert.equal(env.server.admin.getEndDevice(other.lfdi), undefined);
  });

  test('a malformed LFDI or an SFDI that does not belong to it is 400 (S-ALL-56)', async () => {
    const id = identity(env.pki, 'device-2');
    const client = env.client('device-2');
    const stringLfdi = endDeviceBody(id.lfdi, id.sfdi, env.clock.now).replace(id.lfdi, 'ZZZZZZZZZZZZZZZZ');
    assert.equal((await client.send('POST', '/edev', stringLfdi)).status, 400);
    assert.equal((await client.send('POST', '/edev', endDeviceBody(id.lfdi, id.sfdi + 10, env.clock.now))).status, 400);
    assert.equal(env.server.admin.getEndDevice(id.lfdi), undefined);
  });

  test('a registration without changedTime (older request models) is accepted', async () => {
    const id = identity(env.pki, 'device-2');
    const body = `<EndDevice xmlns="urn:ieee:std:2030.5:ns"><lFDI>${id.lfdi}</lFDI><sFDI>${id.sfdi}</sFDI></EndDevice>`;
    const reply = await env.client('device-2').send('POST', '/edev', body);
    assert.equal(reply.status, 201, reply.body);
  });

  test('an aggregator registers a site it manages; the site appears in its list only', async () => {
    const siteLfdi = '0123456789abcdef0123456789abcdef01234567';
    const client = env.client('aggregator-1');
    const reply = await client.send('POST', '/edev', endDeviceBody(siteLfdi, sfdiFromLfdi(siteLfdi), env.clock.now));
    assert.equal(reply.status, 201, reply.body);
    const record = env.server.admin.getEndDevice(siteLfdi);
    assert.equal(record?.aggregatorLfdi, identity(env.pki, 'aggregator-1').lfdi);
    const list = await client.fetch<{ EndDevice: Array<{ href: string }> }>('/edev?l=10', 'EndDeviceList');
    assert.ok(list.EndDevice.some((device) => device.href === location(reply)));
    assert.equal((await env.client('device-1').get(location(reply))).status, 404);
    // An aggregator must name the LFDI of what it registers.
    const noLfdi = await client.send('POST', '/edev', endDeviceBody(undefined, 123456789, env.clock.now));
    assert.equal(noLfdi.status, 400);
  });

  test('hostile XML is refused with 400 and the server stays up', async () => {
    const client = env.client('device-3');
    const doctype = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><EndDevice xmlns="urn:ieee:std:2030.5:ns"><sFDI>1</sFDI></EndDevice>`;
    const replyA = await client.send('POST', '/edev', doctype);
    assert.equal(replyA.status, 400);
    assert.equal(reasonCode(replyA), 0);
    assert.equal((await client.send('POST', '/edev', '<EndDevice><sFDI>1</sFD')).status, 400);
    const oversized = `<EndDevice xmlns="urn:ieee:std:2030.5:ns"><sFDI>1</sFDI>${' '.repeat(70 * 1024)}</EndDevice>`;
    assert.equal((await client.send('POST', '/edev', oversized)).status, 413);
    assert.equal((await client.get('/dcap')).status, 200);
  });
});

describe('out-of-band only', () => {
  let env: TestServer;
  before(async () => {
    env = await startServer({ variances: { registration: 'out-of-band' } });
  });
  after(() => env.close());

  test('POST EndDevice is 403 even for a certificate registering itself', async () => {
    const id = identity(env.pki, 'device-1');
    const reply = await env.client('device-1').send('POST', '/edev', endDeviceBody(id.lfdi, id.sfdi, env.clock.now));
    assert.equal(reply.status, 403);
  });

  test('a device registered by SFDI only is recognised by its certificate', async () => {
    const id = identity(env.pki, 'device-2');
    const record = await env.server.admin.registerEndDevice({ sfdi: id.sfdi, pin: 111115 });
    assert.equal(record.lfdi, '');
    const list = await env
      .client('device-2')
      .fetch<{ EndDevice: Array<{ href: string; sFDI: number; lFDI?: string }> }>('/edev', 'EndDeviceList');
    assert.equal(list.EndDevice.length, 1);
    assert.equal(list.EndDevice[0]?.sFDI, id.sfdi);
    assert.equal(list.EndDevice[0]?.lFDI, undefined);
  });
});
