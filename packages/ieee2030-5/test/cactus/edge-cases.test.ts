/**
 * CACTUS server procedures, categories Edge Cases and Ongoing Operations: S-ALL-50 (extended operations,
 * scaled), S-ALL-51 (EndDevice duplication), S-ALL-52 (LFDI not matching the certificate), S-ALL-53 (update
 * ConnectionPoint), S-ALL-55 (incomplete DERSettings), S-ALL-56 (string LFDIs), S-OPT-02 and S-OPT-03
 * (ConnectionPoint registration).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hexBitmap, parseHexBitmap } from '../../src/codec/index.ts';
import type { SepClient } from '../helpers/sep-client.ts';
import {
  assertControls,
  assertOwnEndDevice,
  assertRejected,
  assertSuccess,
  discoveredControls,
  insertEndDevice,
  linkHref,
  locationOf,
  mirrorUsagePoint,
  ownEndDevice,
  respond,
} from './checks.ts';
import { type CactusEnv, createDerControl, ensureEndDevice, ensureProgram, startCactus, watts } from './harness.ts';

/** NMIs in the shape AEMO allocates (10 characters, no I or O). */
const NMI_1 = '2001000001';
const NMI_2 = '2001000002';

describe('S-ALL-50 Extended Operations (scaled: 72 simulated client cycles over 72 hours of server time)', () => {
  let env: CactusEnv;
  let client: SepClient;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION 1 - EndDevice Registration', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    await ensureProgram(env);
    assertOwnEndDevice(await client.walk(), env.identity('device-a').lfdi);
  });

  test('1 - Simulate Client: poll, respond, report status and readings each cycle; never de-registered', async () => {
    const lfdi = env.identity('device-a').lfdi;
    const first = await client.walk();
    const mupList = linkHref(first.dcap, 'MirrorUsagePointListLink');
    const mup = mirrorUsagePoint({
      mRID: '50000000000000000000000000000001',
      location: 'Site',
      deviceLFDI: lfdi,
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: ['50000000000000000000000000000011'],
    });
    const mupHref = locationOf(await client.post(mupList, 'MirrorUsagePoint', mup), 'POST MUP');
    const responded = new Set<string>();
    for (let cycle = 0; cycle < 72; cycle++) {
      if (cycle % 6 === 0) {
        await createDerControl(env, {
          status: 'scheduled',
          startOffsetSeconds: 1800,
          base: { opModExpLimW: watts(cycle * 10) },
        });
      }
      const discovery = await client.walk();
      const own = assertOwnEndDevice(discovery, lfdi);
      for (const { control } of discoveredControls(discovery)) {
        const key = `${control.mRID}/${control.EventStatus.currentStatus}`;
        if (responded.has(key)) continue;
        responded.add(key);
        const status = { 0: 1, 1: 2, 2: 6, 4: 7 }[control.EventStatus.currentStatus as 0 | 1 | 2 | 4];
        if (status !== undefined) locationOf(await respond(client, control, lfdi, status, env.clock.now), 'Response');
      }
      assertSuccess(
        await client.put(linkHref(own.ders[0]?.der, 'DERStatusLink'), 'DERStatus', {
          readingTime: env.clock.now,
          genConnectStatus: { dateTime: env.clock.now, value: '07' },
        }),
        'PUT DERStatus',
      );
      assertSuccess(
        await client.post(mupHref, 'MirrorMeterReading', {
          mRID: '50000000000000000000000000000011',
          Reading: { timePeriod: { start: env.clock.now, duration: 3600 }, value: 1000 + cycle },
        }),
        'POST reading',
      );
      env.clock.advance(3600);
    }
    assertOwnEndDevice(await client.walk(), lfdi);
    assert.ok(env.server.admin.listResponses().length >= 12, 'responses were recorded throughout');
  });
});

describe('S-ALL-51 End Device Duplication', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus({ variances: { registration: 'both' } });
  });
  after(() => env.close());

  test('Step 1 - registering a second EndDevice with the same LFDI is rejected', async () => {
    await ensureEndDevice(env, 'device-a');
    const client = env.client('device-a');
    const discovery = await client.walk();
    assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    const id = env.identity('device-a');
    assertRejected(
      await insertEndDevice(client, linkHref(discovery.dcap, 'EndDeviceListLink'), id.lfdi, id.sfdi),
      'duplicate EndDevice',
    );
    assert.equal(env.server.admin.listEndDevices({ lfdi: id.lfdi }).length, 1);
  });
});

describe("S-ALL-52 LFDI Doesn't Match Certificate", () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus({ variances: { registration: 'both' } });
  });
  after(() => env.close());

  test("Step 1 - CLIENT-B registering an EndDevice with CLIENT-A's LFDI is rejected", async () => {
    await ensureEndDevice(env, 'device-a');
    const a = env.identity('device-a');
    assertOwnEndDevice(await env.client('device-a').walk(), a.lfdi);
    const b = env.client('device-b');
    const discovery = await b.walk();
    assertRejected(
      await insertEndDevice(b, linkHref(discovery.dcap, 'EndDeviceListLink'), a.lfdi, a.sfdi),
      'EndDevice with another LFDI',
    );
    assert.equal(ownEndDevice(await b.walk(), a.lfdi), undefined, "B does not see A's EndDevice");
  });
});

describe('S-ALL-53 Update Connection Point', () => {
  let env: CactusEnv;
  let client: SepClient;
  let cpHref = '';
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION: the EndDevice links its ConnectionPoint', async () => {
    await ensureEndDevice(env, 'device-a');
    const own = assertOwnEndDevice(await client.walk(), env.identity('device-a').lfdi);
    cpHref = linkHref(own.endDevice, 'ConnectionPointLink');
  });

  for (const [step, nmi] of [
    ['SEND CONNECTION POINT ID', NMI_1],
    ['UPSERT CONNECTION POINT ID', NMI_2],
  ] as const) {
    test(`${step}: PUT ConnectionPoint ${nmi} succeeds and reads back`, async () => {
      assertSuccess(await client.put(cpHref, 'ConnectionPoint', { connectionPointId: nmi }), 'PUT ConnectionPoint');
      assert.equal((await client.fetch(cpHref, 'ConnectionPoint')).connectionPointId, nmi);
    });
  }
});

describe('S-ALL-55 Reject Incomplete DER Settings', () => {
  let env: CactusEnv;
  let client: SepClient;
  let settingsHref = '';
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION: EndDevice and DER discovered', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    const own = assertOwnEndDevice(await client.walk(), env.identity('device-a').lfdi);
    settingsHref = linkHref(own.ders[0]?.der, 'DERSettingsLink');
  });

  test('1 - SEND MALFORMED DERSettings (updatedTime missing): rejected, nothing changed', async () => {
    const before = await client.get(settingsHref);
    // Written by hand: the codec will not emit a DERSettings without its required updatedTime.
    const body =
      '<DERSettings xmlns="urn:ieee:std:2030.5:ns"><setGradW>1000</setGradW>' +
      '<setMaxW><multiplier>0</multiplier><value>10000</value></setMaxW></DERSettings>';
    assertRejected(await client.raw('PUT', settingsHref, body), 'DERSettings without updatedTime');
    const afterwards = await client.get(settingsHref);
    assert.equal(afterwards.status, before.status);
    assert.equal(afterwards.body, before.body);
  });

  test('2 - Upsert modes enabled (a two-digit bitmap, 12) round-trips', async () => {
    assertSuccess(
      await client.put(settingsHref, 'DERSettings', {
        setMaxW: watts(10_000),
        setGradW: 1000,
        modesEnabled: hexBitmap(12, 4),
        doeModesEnabled: hexBitmap(3, 1),
        updatedTime: env.clock.now,
      }),
      'PUT DERSettings',
    );
    const stored = await client.fetch(settingsHref, 'DERSettings');
    assert.equal(parseHexBitmap(stored.modesEnabled ?? ''), 12);
    assert.equal(parseHexBitmap(stored.doeModesEnabled ?? ''), 3);
    assert.equal(stored.setGradW, 1000);
  });
});

describe('S-ALL-56 Reject String LFDIs', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus({ variances: { registration: 'in-band' } });
  });
  after(() => env.close());

  test('PRECONDITION: not registered; 1 - an EndDevice with lFDI ZZZZZZZZZZZZZZZZ is rejected', async () => {
    const client = env.client('device-c');
    const discovery = await client.walk();
    assert.equal(ownEndDevice(discovery, env.identity('device-c').lfdi), undefined);
    // Written by hand: the codec refuses a non-hex lFDI, which is what the step sends.
    const body =
      '<EndDevice xmlns="urn:ieee:std:2030.5:ns"><lFDI>ZZZZZZZZZZZZZZZZ</lFDI>' +
      `<sFDI>${env.identity('device-c').sfdi}</sFDI><changedTime>${env.clock.now}</changedTime></EndDevice>`;
    assertRejected(await client.raw('POST', linkHref(discovery.dcap, 'EndDeviceListLink'), body), 'string LFDI');
    assert.equal(env.server.admin.listEndDevices().length, 0);
  });
});

describe('S-OPT-02 Incorrect Connection Point Registration', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus();
  });
  after(() => env.close());

  test('SEND BAD CONNECTION POINT ID: NOTAVALIDID is rejected', async () => {
    await ensureEndDevice(env, 'device-a');
    const client = env.client('device-a');
    const own = assertOwnEndDevice(await client.walk(), env.identity('device-a').lfdi);
    const reply = await client.put(linkHref(own.endDevice, 'ConnectionPointLink'), 'ConnectionPoint', {
      connectionPointId: 'NOTAVALIDID',
    });
    assertRejected(reply, 'invalid NMI');
  });
});

describe('S-OPT-03 Connection Point Registration', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus();
  });
  after(() => env.close());

  test('PRECONDITION: EndDevice with a ConnectionPoint link; SEND CONNECTION POINT ID succeeds', async () => {
    await ensureEndDevice(env, 'device-a');
    const client = env.client('device-a');
    const own = assertOwnEndDevice(await client.walk(), env.identity('device-a').lfdi);
    const href = linkHref(own.endDevice, 'ConnectionPointLink');
    assertSuccess(await client.put(href, 'ConnectionPoint', { connectionPointId: NMI_1 }), 'PUT ConnectionPoint');
    assert.equal(
      env.server.admin.getEndDevice(env.identity('device-a').lfdi)?.connectionPoint?.connectionPointId,
      NMI_1,
    );
  });
});

describe('profile csip: the same discovery against the plain CSIP profile (no CSIP-AUS extensions)', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus({ profile: 'csip' });
  });
  after(() => env.close());

  test('discovery works and the EndDevice has no ConnectionPointLink', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    await createDerControl(env, { status: 'active', base: { opModMaxLimW: 5000 } });
    const discovery = await env.client('device-a').walk();
    const own = assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    assert.equal(own.endDevice.ConnectionPointLink, undefined);
    assertControls(discoveredControls(discovery), { eventStatus: 1 }, { min: 1 });
  });
});
