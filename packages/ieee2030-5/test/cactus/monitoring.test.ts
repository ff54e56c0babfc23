/**
 * CACTUS server procedures, category Monitoring: S-ALL-06..10, S-ALL-47 (scaling factors) and S-OPT-05.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hexBitmap, parseHexBitmap } from '../../src/codec/index.ts';
import type { DERCapability, DERSettings, DERStatus, MirrorUsagePoint } from '../../src/resources/types.ts';
import type { SepClient } from '../helpers/sep-client.ts';
import {
  assertControls,
  assertMup,
  assertOwnEndDevice,
  assertRejected,
  assertSuccess,
  discoveredControls,
  linkHref,
  locationOf,
  mirrorUsagePoint,
  type ReadingTypeName,
} from './checks.ts';
import { type CactusEnv, createDerControl, ensureEndDevice, SET_MAX_W, startCactus, watts } from './harness.ts';

const ALL_TYPES: ReadingTypeName[] = [
  'ActivePowerAverage',
  'ReactivePowerAverage',
  'FrequencyAverage',
  'VoltageSinglePhaseAverage',
];

interface DerLinks {
  capability: string;
  settings: string;
  status: string;
  mupList: string;
}

async function discoverDer(env: CactusEnv, client: SepClient, name: string): Promise<DerLinks> {
  const discovery = await client.walk();
  const own = assertOwnEndDevice(discovery, env.identity(name).lfdi);
  const der = own.ders[0]?.der;
  return {
    capability: linkHref(der, 'DERCapabilityLink'),
    settings: linkHref(der, 'DERSettingsLink'),
    status: linkHref(der, 'DERStatusLink'),
    mupList: linkHref(discovery.dcap, 'MirrorUsagePointListLink'),
  };
}

function mupIdOf(location: string): number {
  return Number(location.split('/').pop());
}

describe('S-ALL-06 Mirror Usage Point Creation and Individual Readings', () => {
  let env: CactusEnv;
  let client: SepClient;
  let links: DerLinks;
  const location: Record<string, string> = {};
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION: the EndDevice is discovered', async () => {
    await ensureEndDevice(env, 'device-a');
    links = await discoverDer(env, client, 'device-a');
  });

  test('1 - DISCOVER INITIAL MUPS: none for the client', async () => {
    await env.server.admin.clearMirrorUsagePoints({ ownerLfdi: env.identity('device-a').lfdi });
    const list = await client.fetchList(links.mupList, 'MirrorUsagePointList');
    assert.equal(list.items.length, 0);
    assert.equal(list.all, 0);
  });

  for (const [step, mupId, place, mrid] of [
    ['2,3A', 'mup_site', 'Site', '06000000000000000000000000000001'],
    ['2,3B', 'mup_device', 'Device', '06000000000000000000000000000002'],
  ] as const) {
    test(`${step} - CREATE MUP FOR ${place.toUpperCase()}: four reading types, read back as posted`, async () => {
      const mup = mirrorUsagePoint({
        mRID: mrid,
        location: place,
        deviceLFDI: env.identity('device-a').lfdi,
        readingTypes: ALL_TYPES,
        mmrMRIDs: [],
      });
      location[mupId] = locationOf(await client.post(links.mupList, 'MirrorUsagePoint', mup), 'POST MUP');
      assertMup(await client.fetch(location[mupId]!, 'MirrorUsagePoint'), {
        mRID: mrid,
        location: place,
        readingTypes: ALL_TYPES,
      });
    });
  }

  const values: Record<ReadingTypeName, number[]> = {
    ActivePowerAverage: [5000, 5100, 5200, 5300],
    ReactivePowerAverage: [1000, 1100, 1200, 1300],
    FrequencyAverage: [50.0, 50.1, 49.9, 50.0],
    VoltageSinglePhaseAverage: [230.0, 231.0, 229.0, 230.5],
  };
  for (const [step, mupId] of [
    ['4A - POST READINGS TO SITE', 'mup_site'],
    ['4B - POST READINGS TO DEVICE', 'mup_device'],
  ] as const) {
    test(`${step}: each reading accepted and stored`, async () => {
      const href = location[mupId]!;
      const mup = (await client.fetch(href, 'MirrorUsagePoint')) as MirrorUsagePoint;
      const start = env.clock.now;
      for (let i = 0; i < 4; i++) {
        for (const mmr of mup.MirrorMeterReading ?? []) {
          const name = ALL_TYPES.find((t) => mmr.description === t)!;
          // Reading.value is an integer at the ReadingType's powerOfTenMultiplier (0): rounded here.
          const reply = await client.post(href, 'MirrorMeterReading', {
            mRID: mmr.mRID,
            Reading: { timePeriod: { start: start + i * 60, duration: 60 }, value: Math.round(values[name][i]!) },
          });
          assertSuccess(reply, `POST ${name} reading ${i}`);
        }
      }
      const stored = env.server.admin.mirrorReadings({ mupId: mupIdOf(href) });
      assert.equal(stored.length, 16, 'four readings for each of four MirrorMeterReadings');
      const active = mup.MirrorMeterReading!.find((m) => m.description === 'ActivePowerAverage')!;
      assert.deepEqual(
        stored
          .filter((r) => r.mmrMRID === active.mRID.toLowerCase())
          .sort((x, y) => (x.start ?? 0) - (y.start ?? 0))
          .map((r) => r.value),
        values.ActivePowerAverage,
      );
    });
  }
});

describe('S-ALL-07 Select Edge Cases for Telemetry Reporting', () => {
  let env: CactusEnv;
  let client: SepClient;
  let links: DerLinks;
  const MUP = 'AAAAAAAAAAAAAAAAAAAAAAA000000001';
  const MMRS = ['BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', 'CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'];
  let href = '';
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  const post = (location: 'Site' | 'Device', types: ReadingTypeName[]) =>
    client.post(
      links.mupList,
      'MirrorUsagePoint',
      mirrorUsagePoint({
        mRID: MUP,
        location,
        deviceLFDI: env.identity('device-a').lfdi,
        readingTypes: types,
        mmrMRIDs: MMRS,
      }),
    );

  async function onlyMup(): Promise<MirrorUsagePoint> {
    const list = await client.fetchList(links.mupList, 'MirrorUsagePointList');
    const matching = list.items.filter((m) => String(m.mRID).toLowerCase() === MUP.toLowerCase());
    assert.equal(matching.length, 1, 'exactly one MirrorUsagePoint with the mRID (upserted, not duplicated)');
    return matching[0] as unknown as MirrorUsagePoint;
  }

  test('PRECONDITION + Create MUP (Site, active power and voltage)', async () => {
    await ensureEndDevice(env, 'device-a');
    links = await discoverDer(env, client, 'device-a');
    const reply = await post('Site', ['ActivePowerAverage', 'VoltageSinglePhaseAverage']);
    href = locationOf(reply, 'POST MUP');
    assertMup(await onlyMup(), {
      mRID: MUP,
      location: 'Site',
      readingTypes: ['ActivePowerAverage', 'VoltageSinglePhaseAverage'],
      mmrMRIDs: MMRS,
    });
  });

  test('STEP 1 - UPDATE MUP ROLEFLAGS: same mRID, Device role flags → updated in place', async () => {
    const reply = await post('Device', ['ActivePowerAverage', 'VoltageSinglePhaseAverage']);
    assertSuccess(reply, 'POST MUP again');
    if (reply.headers.location) assert.equal(new URL(reply.headers.location, 'https://x').pathname, href);
    assertMup(await onlyMup(), {
      mRID: MUP,
      location: 'Device',
      readingTypes: ['ActivePowerAverage', 'VoltageSinglePhaseAverage'],
      mmrMRIDs: MMRS,
    });
  });

  test('POST INITIAL READING, then STEP 2 - UPDATE READING with the same MirrorMeterReading mRID', async () => {
    for (const [mmr, value] of [
      [MMRS[0]!, 5000],
      [MMRS[1]!, 240],
    ] as const) {
      const reply = await client.post(href, 'MirrorMeterReading', {
        mRID: mmr,
        Reading: { timePeriod: { start: env.clock.now, duration: 300 }, value },
      });
      assertSuccess(reply, `POST reading to ${mmr}`);
    }
    env.clock.advance(300);
    assertSuccess(
      await client.post(href, 'MirrorMeterReading', {
        mRID: MMRS[0]!,
        Reading: { timePeriod: { start: env.clock.now, duration: 300 }, value: 6000 },
      }),
      'POST updated reading',
    );
    const stored = env.server.admin.mirrorReadings({ mupId: mupIdOf(href), mmrMRID: MMRS[0]!.toLowerCase() });
    assert.ok(stored.some((r) => r.value === 6000));
  });

  test('STEP 3 - UPDATE MUP TYPE: same mRID with reactive power for the first MMR → overwritten, not duplicated', async () => {
    assertSuccess(await post('Device', ['ReactivePowerAverage', 'VoltageSinglePhaseAverage']), 'POST MUP type change');
    assertMup(await onlyMup(), {
      mRID: MUP,
      location: 'Device',
      readingTypes: ['ReactivePowerAverage', 'VoltageSinglePhaseAverage'],
      mmrMRIDs: MMRS,
    });
  });
});

describe('S-ALL-08 Connection Status', () => {
  let env: CactusEnv;
  let client: SepClient;
  let links: DerLinks;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION: EndDevice and DER with a DERStatus link', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    links = await discoverDer(env, client, 'device-a');
  });

  for (const [step, value] of [
    ['INITIALISE DER STATUS (connected)', 7],
    ['STEP 1 - DISCONNECT', 6],
    ['STEP 2 - RECONNECT', 7],
    ['STEP 3 - UNAVAILABLE', 5],
    ['STEP 4 - RECONNECT', 7],
    ['STEP 5 - NON-OPERATING', 3],
    ['STEP 6 - RECONNECT', 7],
  ] as const) {
    test(`${step}: PUT DERStatus genConnectStatus=${value} is persisted`, async () => {
      env.clock.advance(10);
      const status: DERStatus = {
        readingTime: env.clock.now,
        genConnectStatus: { dateTime: env.clock.now, value: hexBitmap(value, 1) },
      };
      assertSuccess(await client.put(links.status, 'DERStatus', status), 'PUT DERStatus');
      const stored = await client.fetch(links.status, 'DERStatus');
      assert.equal(parseHexBitmap(stored.genConnectStatus?.value ?? ''), value);
    });
  }
});

describe('S-ALL-09 Operational Mode Status', () => {
  let env: CactusEnv;
  let client: SepClient;
  let links: DerLinks;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION: EndDevice and DER with a DERStatus link', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    links = await discoverDer(env, client, 'device-a');
  });

  for (const [step, value] of [
    ['STEP 1 - Set Online', 1],
    ['STEP 2 - Set Offline', 2],
  ] as const) {
    test(`${step}: PUT DERStatus operationalModeStatus=${value} is persisted`, async () => {
      env.clock.advance(10);
      const status: DERStatus = {
        readingTime: env.clock.now,
        operationalModeStatus: { dateTime: env.clock.now, value },
      };
      assertSuccess(await client.put(links.status, 'DERStatus', status), 'PUT DERStatus');
      assert.equal((await client.fetch(links.status, 'DERStatus')).operationalModeStatus?.value, value);
    });
  }
});

describe('S-ALL-10 Capabilities and Settings', () => {
  let env: CactusEnv;
  let client: SepClient;
  let links: DerLinks;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION: EndDevice and DER with DERCapability and DERSettings links', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    links = await discoverDer(env, client, 'device-a');
  });

  const capability = (type: number, rtgMaxW: number, modes: number, doeModes: number): DERCapability => ({
    type,
    rtgMaxW: watts(rtgMaxW),
    modesSupported: hexBitmap(modes, 4),
    doeModesSupported: hexBitmap(doeModes, 1),
  });
  const settings = (setMaxW: number, setGradW: number, modes: number, doeModes: number): DERSettings => ({
    setMaxW: watts(setMaxW),
    setGradW,
    modesEnabled: hexBitmap(modes, 4),
    doeModesEnabled: hexBitmap(doeModes, 1),
    updatedTime: env.clock.now,
  });

  for (const [step, doc] of [
    ['STEP 1A - Put DERCapability', () => capability(4, 10_000, 3, 3)],
    ['STEP 2A - UPSERT DERCapability', () => capability(5, 11_000, 4, 4)],
  ] as const) {
    test(`${step}: persisted as sent`, async () => {
      const sent = doc();
      assertSuccess(await client.put(links.capability, 'DERCapability', sent), 'PUT DERCapability');
      const stored = await client.fetch(links.capability, 'DERCapability');
      assert.equal(stored.type, sent.type);
      assert.deepEqual(stored.rtgMaxW, sent.rtgMaxW);
      assert.equal(parseHexBitmap(stored.modesSupported), parseHexBitmap(sent.modesSupported));
      assert.equal(parseHexBitmap(stored.doeModesSupported ?? ''), parseHexBitmap(sent.doeModesSupported!));
    });
  }

  for (const [step, doc] of [
    ['STEP 1B - Put DERSettings', () => settings(10_000, 1000, 3, 3)],
    ['STEP 2B - UPSERT DERSettings', () => settings(11_000, 1100, 4, 4)],
  ] as const) {
    test(`${step}: persisted as sent`, async () => {
      const sent = doc();
      assertSuccess(await client.put(links.settings, 'DERSettings', sent), 'PUT DERSettings');
      const stored = await client.fetch(links.settings, 'DERSettings');
      assert.deepEqual(stored.setMaxW, sent.setMaxW);
      assert.equal(stored.setGradW, sent.setGradW);
      assert.equal(parseHexBitmap(stored.modesEnabled ?? ''), parseHexBitmap(sent.modesEnabled!));
      assert.equal(parseHexBitmap(stored.doeModesEnabled ?? ''), parseHexBitmap(sent.doeModesEnabled!));
    });
  }
});

describe('S-ALL-47 Validation of Scaling Factors', () => {
  let env: CactusEnv;
  let client: SepClient;
  let links: DerLinks;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('1 - 100K DERCONTROL: an active control of 100 kW (pow10 scaled) reads back as 100000 W', async () => {
    await ensureEndDevice(env, 'device-a');
    // ActivePower.value is Int16, so 100 kW must travel with a multiplier.
    await createDerControl(env, { status: 'active', base: { opModExpLimW: { multiplier: 3, value: 100 } } });
    const discovery = await client.walk();
    assertControls(discoveredControls(discovery), { opModExpLimW: 100_000 }, { min: 1 });
    links = await discoverDer(env, client, 'device-a');
  });

  let siteHref = '';
  let deviceHref = '';
  test('2A - ENSURE SITE MUP/MMR with powerOfTenMultiplier 1', async () => {
    const mup = mirrorUsagePoint({
      mRID: '47000000000000000000000000000001',
      location: 'Site',
      deviceLFDI: env.identity('device-a').lfdi,
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: ['47000000000000000000000000000011'],
      powerOfTenMultiplier: 1,
    });
    siteHref = locationOf(await client.post(links.mupList, 'MirrorUsagePoint', mup), 'POST site MUP');
    const stored = await client.fetch(siteHref, 'MirrorUsagePoint');
    assertMup(stored, { location: 'Site', readingTypes: ['ActivePowerAverage'] });
    assert.equal(stored.MirrorMeterReading?.[0]?.ReadingType?.powerOfTenMultiplier, 1);
  });

  test('2B - POST READINGS: 100 kW as value 10000 at pow10 1 is stored', async () => {
    assertSuccess(
      await client.post(siteHref, 'MirrorMeterReading', {
        mRID: '47000000000000000000000000000011',
        Reading: { timePeriod: { start: env.clock.now, duration: 300 }, value: 10_000 },
      }),
      'POST site reading',
    );
    const stored = env.server.admin.mirrorReadings({ mupId: mupIdOf(siteHref) });
    assert.deepEqual(
      stored.map((r) => r.value),
      [10_000],
    );
  });

  test('3A - ENSURE DEVICE MUP/MMR with powerOfTenMultiplier 0', async () => {
    const mup = mirrorUsagePoint({
      mRID: '47000000000000000000000000000002',
      location: 'Device',
      deviceLFDI: env.identity('device-a').lfdi,
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: ['47000000000000000000000000000021'],
      powerOfTenMultiplier: 0,
    });
    deviceHref = locationOf(await client.post(links.mupList, 'MirrorUsagePoint', mup), 'POST device MUP');
    assertMup(await client.fetch(deviceHref, 'MirrorUsagePoint'), {
      location: 'Device',
      readingTypes: ['ActivePowerAverage'],
    });
  });

  test('3B - POST BAD POW10 READINGS: 3e15 W does not fit Reading.value (Int48) → rejected, nothing stored', async () => {
    // Written by hand: the codec refuses to emit a value outside Int48, which is the point of the step.
    const body =
      '<MirrorMeterReading xmlns="urn:ieee:std:2030.5:ns"><mRID>47000000000000000000000000000021</mRID>' +
      `<Reading><timePeriod><duration>300</duration><start>${env.clock.now}</start></timePeriod>` +
      '<value>3000000000000000</value></Reading></MirrorMeterReading>';
    assertRejected(await client.raw('POST', deviceHref, body), 'POST out-of-range reading');
    assert.equal(env.server.admin.mirrorReadings({ mupId: mupIdOf(deviceHref) }).length, 0);
  });

  test('$setMaxW scale: a limit of 2 × setMaxW (20 kW) is carried exactly', async () => {
    await createDerControl(env, { status: 'active', base: { opModGenLimW: watts(2 * SET_MAX_W) } });
    assertControls(discoveredControls(await client.walk()), { opModGenLimW: 2 * SET_MAX_W }, { min: 1 });
  });
});

describe('S-OPT-05 Update Telemetry Post Rates', () => {
  let env: CactusEnv;
  let client: SepClient;
  let href = '';
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  test('PRECONDITION + CREATE MUP', async () => {
    await ensureEndDevice(env, 'device-a');
    const links = await discoverDer(env, client, 'device-a');
    const mup = mirrorUsagePoint({
      mRID: '05000000000000000000000000000001',
      location: 'Device',
      deviceLFDI: env.identity('device-a').lfdi,
      readingTypes: ['ActivePowerAverage'],
      mmrMRIDs: [],
    });
    href = locationOf(await client.post(links.mupList, 'MirrorUsagePoint', mup), 'POST MUP');
  });

  for (const [step, rate] of [
    ['ENSURE MUP POSTRATE', 60],
    ['UPDATE-MUP-POSTRATE', 300],
  ] as const) {
    test(`${step}: the utility sets postRate ${rate} s and the MirrorUsagePoint carries it`, async () => {
      await env.server.admin.setPostRate(rate);
      assert.equal((await client.fetch(href, 'MirrorUsagePoint')).postRate, rate);
    });
  }
});
