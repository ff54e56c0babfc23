/**
 * CACTUS server procedures, category Registration: S-ALL-01..05, S-OPT-01, S-OPT-04
 * (test-procedures/cactus/server/procedures). Real mutual-TLS sockets, a test client written from the spec.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sfdiFromLfdi } from '../../src/identity/index.ts';
import type { MirrorUsagePoint } from '../../src/resources/types.ts';
import type { SepClient } from '../helpers/sep-client.ts';
import {
  assertControls,
  assertMup,
  assertOwnEndDevice,
  assertRejected,
  assertSuccess,
  assertTimeSynced,
  assertVisitedOk,
  discoveredControls,
  edevOf,
  insertEndDevice,
  linkHref,
  locationOf,
  mirrorUsagePoint,
  ownEndDevice,
  type ReadingTypeName,
} from './checks.ts';
import { type CactusEnv, createDerControl, ensureEndDevice, ensureProgram, startCactus, watts } from './harness.ts';

/** A site LFDI an aggregator registers in band (no certificate of its own). */
const SITE_LFDI = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

describe('S-ALL-01 Discovery with Out-Of-Band registration', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus();
  });
  after(() => env.close());

  test('DISCOVERY: dcap, tm, mup list, EndDevice and DER with their links; the EndDevice is the client; time synced', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    const client = env.client('device-a');
    const discovery = await client.walk();
    assert.ok(discovery.time, 'Time discovered');
    assert.ok(discovery.mirrorUsagePointList, 'MirrorUsagePointList discovered');
    const own = assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    linkHref(own.endDevice, 'ConnectionPointLink');
    linkHref(own.endDevice, 'RegistrationLink');
    assert.ok(own.ders.length >= 1, 'DER discovered');
    for (const link of ['DERCapabilityLink', 'DERSettingsLink', 'DERStatusLink']) linkHref(own.ders[0]!.der, link);
    assertTimeSynced(discovery, env.clock.now);
    assertVisitedOk(discovery);
  });

  test('a device client sees exactly one EndDevice in its EndDeviceList: its own', async () => {
    await ensureEndDevice(env, 'device-b');
    const discovery = await env.client('device-a').walk();
    assert.equal(discovery.endDevices.length, 1);
    assert.equal(discovery.endDeviceList?.all, 1);
  });
});

describe('S-ALL-02 Discovery with In-Band Registration for Direct Clients', () => {
  let env: CactusEnv;
  let client: SepClient;
  before(async () => {
    env = await startCactus({ variances: { registration: 'in-band' } });
    client = env.client('device-a');
  });
  after(() => env.close());

  let edevListHref = '';
  test('PRECONDITION: dcap, tm, mup list and EndDeviceList discovered; no EndDevice for the client; time synced', async () => {
    const discovery = await client.walk();
    assert.ok(discovery.time && discovery.mirrorUsagePointList && discovery.endDeviceList);
    edevListHref = linkHref(discovery.dcap, 'EndDeviceListLink');
    assert.equal(ownEndDevice(discovery, env.identity('device-a').lfdi), undefined);
    assertTimeSynced(discovery, env.clock.now);
  });

  test('REGISTER: POST EndDevice → 201 with Location; the EndDevice is the client', async () => {
    const id = env.identity('device-a');
    const reply = await insertEndDevice(client, edevListHref, id.lfdi, id.sfdi);
    const location = locationOf(reply, 'POST EndDevice');
    const edev = await client.fetch(location, 'EndDevice');
    assert.equal(edev.lFDI, id.lfdi);
    assert.equal(edev.sFDI, id.sfdi);
    assertOwnEndDevice(await client.walk(), id.lfdi);
  });

  test('FETCHING DER INFO: DER links DERCapability, DERSettings, DERStatus', async () => {
    const record = env.server.admin.getEndDevice(env.identity('device-a').lfdi);
    assert.ok(record, 'the in-band registration is stored');
    if ((record.derCount ?? 1) < 1) await env.server.admin.updateEndDevice(record.id, { derCount: 1 });
    const own = assertOwnEndDevice(await client.walk(), env.identity('device-a').lfdi);
    assert.ok(own.ders.length >= 1, 'DER discovered');
    for (const link of ['DERCapabilityLink', 'DERSettingsLink', 'DERStatusLink']) linkHref(own.ders[0]!.der, link);
  });
});

describe('S-ALL-03 Discovery with In-Band Registration for Aggregator Clients', () => {
  let env: CactusEnv;
  let client: SepClient;
  before(async () => {
    env = await startCactus({ variances: { registration: 'in-band' } });
    // The aggregator certificate itself is known out of band (role aggregator); its sites register in band.
    await ensureEndDevice(env, 'aggregator');
    client = env.client('aggregator');
  });
  after(() => env.close());

  let edevListHref = '';
  test('PRECONDITION: dcap, tm, mup list, EndDeviceList discovered; the site is not registered; time synced', async () => {
    const discovery = await client.walk();
    assert.ok(discovery.time && discovery.mirrorUsagePointList && discovery.endDeviceList);
    edevListHref = linkHref(discovery.dcap, 'EndDeviceListLink');
    assert.equal(ownEndDevice(discovery, SITE_LFDI), undefined);
    assertTimeSynced(discovery, env.clock.now);
  });

  test('REGISTER: the aggregator POSTs a site EndDevice → 201 with Location; it is in its EndDeviceList', async () => {
    const reply = await insertEndDevice(client, edevListHref, SITE_LFDI, sfdiFromLfdi(SITE_LFDI));
    const location = locationOf(reply, 'POST EndDevice');
    const edev = await client.fetch(location, 'EndDevice');
    assert.equal(edev.lFDI, SITE_LFDI);
    assertOwnEndDevice(await client.walk(), SITE_LFDI);
  });

  test('FETCHING DER INFO: the site DER links DERCapability, DERSettings, DERStatus', async () => {
    const record = env.server.admin.getEndDevice(SITE_LFDI);
    assert.ok(record, 'the in-band registration is stored');
    assert.equal(record.aggregatorLfdi, env.identity('aggregator').lfdi, 'the site belongs to the aggregator');
    if ((record.derCount ?? 1) < 1) await env.server.admin.updateEndDevice(record.id, { derCount: 1 });
    const own = assertOwnEndDevice(await client.walk(), SITE_LFDI);
    assert.ok(own.ders.length >= 1, 'DER discovered');
    for (const link of ['DERCapabilityLink', 'DERSettingsLink', 'DERStatusLink']) linkHref(own.ders[0]!.der, link);
  });
});

describe('S-ALL-04 Support for Multiple End Clients', () => {
  let env: CactusEnv;
  const clients: Record<string, SepClient> = {};
  const mupHref: Record<string, string> = {};
  before(async () => {
    env = await startCactus();
    clients.A = env.client('device-a');
    clients.B = env.client('device-b');
  });
  after(() => env.close());

  const seen: Record<string, string[]> = {};
  for (const [label, name] of [
    ['A', 'device-a'],
    ['B', 'device-b'],
  ] as const) {
    test(`CLIENT-${label} PRECONDITION: at least 5 DERControls for CLIENT-${label}`, async () => {
      const device = await ensureEndDevice(env, name);
      const programId = await ensureProgram(env);
      for (let i = 0; i < 5; i++) {
        await createDerControl(env, {
          status: 'scheduled',
          programId,
          endDeviceIds: [device.id],
          startOffsetSeconds: 600 + i * 600,
          base: { opModExpLimW: watts(0) },
        });
      }
      const discovery = await clients[label]!.walk();
      assertOwnEndDevice(discovery, env.identity(name).lfdi);
      const controls = assertControls(discoveredControls(discovery), {}, { min: 5 });
      seen[label] = controls.map((c) => c.control.mRID);
    });
  }

  test("each client sees only its own controls (none of the other client's)", () => {
    const shared = (seen.A ?? []).filter((m) => (seen.B ?? []).includes(m));
    assert.deepEqual(shared, []);
  });

  for (const [label, name] of [
    ['A', 'device-a'],
    ['B', 'device-b'],
  ] as const) {
    test(`CLIENT-${label} DISCOVER MUPS: the MirrorUsagePoint list is empty`, async () => {
      await env.server.admin.clearMirrorUsagePoints({ ownerLfdi: env.identity(name).lfdi });
      const discovery = await clients[label]!.walk();
      assert.equal(discovery.mirrorUsagePoints.length, 0);
      mupHref[label] = linkHref(discovery.dcap, 'MirrorUsagePointListLink');
    });
  }

  const types: ReadingTypeName[] = ['ActivePowerAverage', 'VoltageSinglePhaseAverage'];
  const mupLocation: Record<string, string> = {};
  for (const [label, name, mrid] of [
    ['A', 'device-a', 'a0000000000000000000000000000001'],
    ['B', 'device-b', 'b0000000000000000000000000000001'],
  ] as const) {
    test(`CLIENT-${label} CREATE MUPS: Device MUP with active power and voltage`, async () => {
      const lfdi = env.identity(name).lfdi;
      const mmrMRIDs = [`${mrid.slice(0, 30)}11`, `${mrid.slice(0, 30)}12`];
      const mup = mirrorUsagePoint({ mRID: mrid, location: 'Device', deviceLFDI: lfdi, readingTypes: types, mmrMRIDs });
      const reply = await clients[label]!.post(mupHref[label]!, 'MirrorUsagePoint', mup);
      mupLocation[label] = locationOf(reply, 'POST MirrorUsagePoint');
      const stored = await clients[label]!.fetch(mupLocation[label]!, 'MirrorUsagePoint');
      assertMup(stored, { mRID: mrid, location: 'Device', readingTypes: types });
      const listed = await clients[label]!.fetchList(mupHref[label]!, 'MirrorUsagePointList');
      assert.equal(listed.items.length, 1, 'each client lists only its own MirrorUsagePoint');
    });
  }

  for (const [label, values] of [
    ['A', { ActivePowerAverage: [1000, 1234, 0, -4567], VoltageSinglePhaseAverage: [241.1, 232.2, 233.9, 244.1] }],
    ['B', { ActivePowerAverage: [2000, 2234, 0, -8567], VoltageSinglePhaseAverage: [243.1, 233.2, 234.9, 240] }],
  ] as const) {
    test(`CLIENT-${label} SEND READINGS: every reading is accepted and stored`, async () => {
      const client = clients[label]!;
      const mup = (await client.fetch(mupLocation[label]!, 'MirrorUsagePoint')) as MirrorUsagePoint;
      const mmrs = mup.MirrorMeterReading ?? [];
      for (let i = 0; i < 4; i++) {
        for (const mmr of mmrs) {
          const isVoltage = mmr.ReadingType?.uom === 29;
          // Reading.value is an integer (Int48) at the ReadingType's powerOfTenMultiplier (0 here): sent rounded.
          const raw = isVoltage ? values.VoltageSinglePhaseAverage[i]! : values.ActivePowerAverage[i]!;
          const reply = await client.post(mupLocation[label]!, 'MirrorMeterReading', {
            mRID: mmr.mRID,
            Reading: {
              timePeriod: { start: env.clock.now, duration: 300 },
              value: Math.round(raw),
            },
          });
          assertSuccess(reply, `POST reading ${i} of ${mmr.mRID}`);
        }
        env.clock.advance(300);
      }
      const stored = env.server.admin.mirrorReadings({ mupId: Number(mupLocation[label]!.split('/').pop()) });
      assert.equal(stored.length, 8, 'four readings for each of two MirrorMeterReadings');
    });
  }
});

describe('S-ALL-05 Authorisation', () => {
  let env: CactusEnv;
  let a: SepClient;
  let b: SepClient;
  const context: Record<string, { edev: string; derc: string; ders: string; edevList: string; mupList: string }> = {};
  before(async () => {
    env = await startCactus();
    a = env.client('device-a');
    b = env.client('device-b');
  });
  after(() => env.close());

  for (const [label, name] of [
    ['A', 'device-a'],
    ['B', 'device-b'],
  ] as const) {
    test(`(${label}) PRECONDITION REGISTRATION: EndDevice, DERControlList, DER, MUP list discovered`, async () => {
      await ensureEndDevice(env, name);
      await ensureProgram(env);
      const discovery = await (label === 'A' ? a : b).walk();
      const own = assertOwnEndDevice(discovery, env.identity(name).lfdi);
      const program = own.fsas[0]?.programs[0];
      assert.ok(program, 'a DERProgram is discovered');
      context[label] = {
        edev: own.endDevice.href!,
        derc: linkHref(program.program, 'DERControlListLink'),
        ders: linkHref(own.ders[0]?.der, 'DERStatusLink'),
        edevList: linkHref(discovery.dcap, 'EndDeviceListLink'),
        mupList: linkHref(discovery.dcap, 'MirrorUsagePointListLink'),
      };
    });
  }

  test('CLIENT-A CREATE MUP', async () => {
    const mup = mirrorUsagePoint({
      mRID: 'a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5',
      location: 'Device',
      deviceLFDI: env.identity('device-a').lfdi,
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: ['a5a5a5a5a5a5a5a5a5a5a5a5000000a1'],
    });
    const location = locationOf(await a.post(context.A!.mupList, 'MirrorUsagePoint', mup), 'POST MUP');
    assertMup(await a.fetch(location, 'MirrorUsagePoint'), {
      location: 'Device',
      readingTypes: ['ActivePowerAverage'],
    });
  });

  const fixedMmr = 'ABCDEF0123456789ABCDEF0100028547';
  test('CLIENT-B CREATE MUP with a fixed MirrorMeterReading mRID', async () => {
    const mup = mirrorUsagePoint({
      mRID: 'b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5',
      location: 'Device',
      deviceLFDI: env.identity('device-b').lfdi,
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: [fixedMmr],
    });
    const location = locationOf(await b.post(context.B!.mupList, 'MirrorUsagePoint', mup), 'POST MUP');
    assertMup(await b.fetch(location, 'MirrorUsagePoint'), {
      location: 'Device',
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: [fixedMmr],
    });
  });

  test("1 - REJECT EDEV: CLIENT-A cannot GET CLIENT-B's EndDevice", async () => {
    assertRejected(await a.get(context.B!.edev), "GET B's EndDevice");
  });

  test("2 - REJECT DERCONTROLLIST: CLIENT-A cannot GET CLIENT-B's DERControlList", async () => {
    assertRejected(await a.get(context.B!.derc), "GET B's DERControlList");
  });

  test("3 - REJECT DERSTATUS: CLIENT-A cannot PUT CLIENT-B's DERStatus", async () => {
    const reply = await a.put(context.B!.ders, 'DERStatus', {
      readingTime: env.clock.now,
      genConnectStatus: { dateTime: env.clock.now, value: '01' },
    });
    assertRejected(reply, "PUT B's DERStatus");
    const stored = env.server.admin.derReports(env.server.admin.getEndDevice(env.identity('device-b').lfdi)!.id);
    assert.equal(stored.length, 0, "B's DERStatus is unchanged");
  });

  test('4 - ALLOW EDEVLIST: CLIENT-A reads the EndDeviceList and finds itself', async () => {
    const list = await a.fetchList(context.A!.edevList, 'EndDeviceList');
    const lfdis = list.items.map((e) => String(e.lFDI));
    assert.deepEqual(lfdis, [env.identity('device-a').lfdi]);
  });

  test("6 - AUTH MirrorUsagePoint: CLIENT-A cannot create a MUP reusing CLIENT-B's MirrorMeterReading mRID", async () => {
    const mup = mirrorUsagePoint({
      mRID: 'a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6',
      location: 'Device',
      deviceLFDI: env.identity('device-a').lfdi,
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: [fixedMmr],
    });
    assertRejected(await a.post(context.A!.mupList, 'MirrorUsagePoint', mup), 'POST MUP with B mmr mRID');
  });

  test('5 - DISALLOW ACCESS: after the utility revokes CLIENT-A, its EndDeviceList is rejected or empty', async () => {
    const record = env.server.admin.getEndDevice(env.identity('device-a').lfdi)!;
    await env.server.admin.updateEndDevice(record.id, { enabled: false });
    const reply = await a.get(`${context.A!.edevList}?s=0&l=10`);
    if (reply.status === 200) {
      assert.equal(reply.name, 'EndDeviceList');
      assert.equal((reply.resource as { EndDevice: unknown[] }).EndDevice.length, 0, 'empty EndDeviceList');
    } else {
      assertRejected(reply, 'GET EndDeviceList after revocation');
    }
  });
});

describe('S-OPT-01 Discovery Rejecting In-Band Registration', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus({ variances: { registration: 'out-of-band' } });
  });
  after(() => env.close());

  test('PRECONDITION + REGISTER AGAIN: a POSTed EndDevice is rejected; the registration stays', async () => {
    await ensureEndDevice(env, 'device-a');
    const client = env.client('device-a');
    const discovery = await client.walk();
    assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    const id = env.identity('device-a');
    assertRejected(
      await insertEndDevice(client, linkHref(discovery.dcap, 'EndDeviceListLink'), id.lfdi, id.sfdi),
      'POST EndDevice',
    );
    assertOwnEndDevice(await client.walk(), id.lfdi);
  });
});

describe('S-OPT-04 Client Registration and PIN Validation', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus();
  });
  after(() => env.close());

  test('MATCH PIN: Registration.pIN is the PIN the utility registered', async () => {
    await ensureEndDevice(env, 'device-a', { pin: 123455 });
    const discovery = await env.client('device-a').walk();
    const own = assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    assert.ok(own.registration, 'Registration discovered');
    assert.equal(own.registration.pIN, 123455);
    assert.equal(edevOf(discovery, env.identity('device-a').lfdi).sFDI, env.identity('device-a').sfdi);
  });
});
