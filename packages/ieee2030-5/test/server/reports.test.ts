/**
 * What clients write: DERControl Responses (S-ALL-41/42/57), MirrorUsagePoints and readings (S-ALL-05/06/07),
 * DER documents (S-ALL-08/09/55, NaN/-Infinity rejected), the CSIP-AUS ConnectionPoint (S-ALL-53, S-OPT-02,
 * the Ausgrid "no updates" variance) and LogEvents.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { emitSep } from '../../src/codec/index.ts';
import { identity, location, reasonCode, startServer, type TestServer, watts } from './helpers.ts';

const READING_TYPE = { commodity: 1, kind: 37, uom: 38, powerOfTenMultiplier: 0, flowDirection: 1, phase: 0 };

function mupBody(mRID: string, deviceLFDI: string, mmrMrids: string[], roleFlags = '03'): string {
  return emitSep('MirrorUsagePoint', {
    mRID,
    description: 'site',
    roleFlags,
    serviceCategoryKind: 0,
    status: 1,
    deviceLFDI,
    postRate: 60,
    MirrorMeterReading: mmrMrids.map((mmr) => ({ mRID: mmr, description: 'W', ReadingType: READING_TYPE })),
  });
}

describe('client reports', () => {
  let env: TestServer;
  let device1: number;
  let device2: number;
  let mRID: string;
  const lfdi1 = () => identity(env.pki, 'device-1').lfdi;

  before(async () => {
    env = await startServer({ variances: { allowConnectionPointUpdates: false } });
    device1 = (await env.server.admin.registerEndDevice({ lfdi: lfdi1() })).id;
    device2 = (await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-2').lfdi })).id;
    await env.server.admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
    const created = await env.server.admin.createControl({
      programId: 'doe',
      duration: 600,
      base: { opModExpLimW: watts(0) },
    });
    mRID = created.controls[0]?.mRID as string;
  });
  after(() => env.close());

  const response = (subject: string, status: number, lfdi = lfdi1()) =>
    emitSep('DERControlResponse', { createdDateTime: env.clock.now, endDeviceLFDI: lfdi, status, subject });

  test('a valid Response is stored: 201, Location that GETs, visible to the admin', async () => {
    const client = env.client('device-1');
    const reply = await client.send('POST', '/rsps/derc/rsp', response(mRID.toUpperCase(), 1, lfdi1().toUpperCase()));
    assert.equal(reply.status, 201, reply.body);
    const stored = await client.fetch<{ status: number; subject: string; endDeviceLFDI: string }>(
      location(reply),
      'Response',
    );
    assert.equal(stored.status, 1);
    assert.equal(stored.subject, mRID);
    const listed = env.server.admin.listResponses({ subject: mRID });
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.endDeviceId, device1);
    const list = await client.fetch<{ all: number }>('/rsps/derc/rsp?l=10', 'ResponseList');
    assert.equal(list.all, 1);
    assert.equal((await env.client('device-2').fetch<{ all: number }>('/rsps/derc/rsp', 'ResponseList')).all, 0);
  });

  test('malformed Responses are 400: unknown subject, unknown LFDI, invalid status (S-ALL-57)', async () => {
    const client = env.client('device-1');
    for (const body of [
      response('0'.repeat(32), 1),
      response(mRID, 1, 'f'.repeat(40)),
      response(mRID, 99),
      '<DERControlResponse xmlns="urn:ieee:std:2030.5:ns"><subject>zz</subject></DERControlResponse>',
    ]) {
      const reply = await client.send('POST', '/rsps/derc/rsp', body);
      assert.equal(reply.status, 400, body);
    }
    const forOther = await client.send('POST', '/rsps/derc/rsp', response(mRID, 1, identity(env.pki, 'device-2').lfdi));
    assert.equal(forOther.status, 403, 'a Response for an EndDevice of another client');
    assert.equal(env.server.admin.listResponses().length, 1);
  });

  test('a Response to a control cancelled since is accepted (S-ALL-42)', async () => {
    await env.server.admin.cancelControl(mRID);
    const reply = await env.client('device-1').send('POST', '/rsps/derc/rsp', response(mRID, 6));
    assert.equal(reply.status, 201);
  });

  test('MirrorUsagePoint: 201 + Location; same mRID again updates in place (S-ALL-07)', async () => {
    const client = env.client('device-1');
    const mupMrid = 'aaaaaaaaaaaaaaaaaaaaaaa000000001';
    const first = await client.send(
      'POST',
      '/mup',
      mupBody(mupMrid, lfdi1(), ['bb'.repeat(16), 'cc'.repeat(16)], '03'),
    );
    assert.equal(first.status, 201, first.body);
    const href = location(first);
    const again = await client.send(
      'POST',
      '/mup',
      mupBody(mupMrid, lfdi1(), ['bb'.repeat(16), 'cc'.repeat(16)], '49'),
    );
    assert.equal(location(again), href);
    const mup = await client.fetch<{ roleFlags: string; postRate: number; MirrorMeterReading: unknown[] }>(
      href,
      'MirrorUsagePoint',
    );
    assert.equal(mup.roleFlags, '49');
    assert.equal(mup.MirrorMeterReading.length, 2);
    const list = await client.fetch<{ all: number }>('/mup?l=10', 'MirrorUsagePointList');
    assert.equal(list.all, 1);
    assert.equal((await env.client('device-2').get(href)).status, 404);
  });

  test("MirrorMeterReading mRIDs of another client's MUP are refused (S-ALL-05 step 6)", async () => {
    const reply = await env
      .client('device-2')
      .send('POST', '/mup', mupBody('dd'.repeat(16), identity(env.pki, 'device-2').lfdi, ['bb'.repeat(16)]));
    assert.equal(reply.status, 409);
    const foreignDevice = await env
      .client('device-2')
      .send('POST', '/mup', mupBody('ee'.repeat(16), lfdi1(), ['ff'.repeat(16)]));
    assert.equal(foreignDevice.status, 403, 'deviceLFDI of an EndDevice the client does not own');
  });

  test('readings: MirrorMeterReadingList POSTed to the MUP are stored', async () => {
    const client = env.client('device-1');
    const href = env.server.admin.mirrorUsagePoints({ ownerLfdi: lfdi1() })[0];
    assert.ok(href !== undefined);
    const now = env.clock.now;
    const body = emitSep('MirrorMeterReadingList', {
      all: 2,
      results: 2,
      MirrorMeterReading: [
        { mRID: 'bb'.repeat(16), Reading: { value: 5000, timePeriod: { start: now - 60, duration: 60 } } },
        {
          mRID: 'cc'.repeat(16),
          MirrorReadingSet: [
            {
              mRID: '11'.repeat(16),
              timePeriod: { start: now - 60, duration: 60 },
              Reading: [{ value: 2300 }, { value: 2310 }],
            },
          ],
        },
      ],
    });
    const reply = await client.send('POST', `/mup/${href.id}`, body);
    assert.equal(reply.status, 201, reply.body);
    const readings = env.server.admin.mirrorReadings({ mupId: href.id });
    assert.deepEqual(readings.map((reading) => reading.value).sort(), [2300, 2310, 5000]);
    const unknown = emitSep('MirrorMeterReading', { mRID: '99'.repeat(16), Reading: { value: 1 } });
    assert.equal((await client.send('POST', `/mup/${href.id}`, unknown)).status, 400);
  });

  test('DER documents: PUT stores, GET returns; -Infinity, NaN and missing required fields are 400', async () => {
    const client = env.client('device-1');
    const now = env.clock.now;
    const base = `/edev/${device1}/der/1`;
    assert.equal((await client.get(`${base}/ders`)).status, 404, 'nothing reported yet');
    const status = emitSep('DERStatus', {
      readingTime: now,
      genConnectStatus: { dateTime: now, value: '07' },
      operationalModeStatus: { dateTime: now, value: 2 },
    });
    const put = await client.send('PUT', `${base}/ders`, status);
    assert.equal(put.status, 204, put.body);
    assert.ok(!put.headerNames.includes('transfer-encoding'), '204 has no body and no chunked encoding');
    assert.equal(put.body, '');
    const back = await client.fetch<{ href: string; genConnectStatus: { value: string } }>(`${base}/ders`, 'DERStatus');
    assert.equal(back.genConnectStatus.value, '07');
    assert.equal(back.href, `${base}/ders`);
    const infinity = status.replace('<value>2</value>', '<value>-Infinity</value>');
    assert.equal((await client.send('PUT', `${base}/ders`, infinity)).status, 400);
    assert.equal(
      (await client.send('PUT', `${base}/ders`, status.replace('<value>2</value>', '<value>NaN</value>'))).status,
      400,
    );
    const settings = emitSep('DERSettings', { setGradW: 0, setMaxW: watts(5000), updatedTime: now }).replace(
      /<updatedTime>\d+<\/updatedTime>/,
      '',
    );
    assert.equal(
      (await client.send('PUT', `${base}/derg`, settings)).status,
      400,
      'DERSettings without updatedTime (S-ALL-55)',
    );
    assert.equal((await client.send('PUT', `${base}/derg`, status)).status, 400, 'a DERStatus sent to DERSettings');
    assert.equal(env.server.admin.derReports(device1).length, 1);
    assert.equal(env.server.admin.derReports(device1)[0]?.kind, 'DERStatus');
    assert.equal((await client.send('PUT', `/edev/${device1}/der/2/ders`, status)).status, 404, 'no second DER');
  });

  test('ConnectionPoint: an NMI is stored; an invalid one is 400; updates refused when disallowed (409)', async () => {
    const client = env.client('device-1');
    const cp = `/edev/${device1}/cp`;
    const before = await client.fetch<{ connectionPointId: string }>(cp, 'ConnectionPoint');
    assert.equal(before.connectionPointId, '');
    const bad = await client.send('PUT', cp, emitSep('ConnectionPoint', { connectionPointId: 'NOTAVALIDID' }));
    assert.equal(bad.status, 400);
    assert.equal(reasonCode(bad), 1);
    const put = await client.send('PUT', cp, emitSep('ConnectionPoint', { connectionPointId: '2001000001' }));
    assert.equal(put.status, 204, put.body);
    assert.equal(
      (await client.fetch<{ connectionPointId: string }>(cp, 'ConnectionPoint')).connectionPointId,
      '2001000001',
    );
    assert.equal(
      (await client.send('PUT', cp, emitSep('ConnectionPoint', { connectionPointId: '2001000001' }))).status,
      204,
      'same value',
    );
    const update = await client.send('PUT', cp, emitSep('ConnectionPoint', { connectionPointId: '2001000002' }));
    assert.equal(update.status, 409);
    assert.equal(env.server.admin.getEndDevice(device1)?.connectionPoint?.connectionPointId, '2001000001');
  });

  test('LogEvents: POST 201 + Location; listed newest first; counted on the EndDevice link', async () => {
    const client = env.client('device-2');
    const event = (id: number, at: number) =>
      emitSep('LogEvent', {
        createdDateTime: at,
        details: 'over voltage',
        functionSet: 0,
        logEventCode: 1,
        logEventID: id,
        logEventPEN: 40732,
        profileID: 2,
      });
    const first = await client.send('POST', `/edev/${device2}/lel`, event(1, env.clock.now - 10));
    assert.equal(first.status, 201, first.body);
    await client.send('POST', `/edev/${device2}/lel`, event(2, env.clock.now));
    const list = await client.fetch<{ all: number; LogEvent: Array<{ logEventID: number }> }>(
      `/edev/${device2}/lel?l=10`,
      'LogEventList',
    );
    assert.equal(list.all, 2);
    assert.deepEqual(
      list.LogEvent.map((item) => item.logEventID),
      [2, 1],
    );
    const endDevice = await client.fetch<{ LogEventListLink: { all: number } }>(`/edev/${device2}`, 'EndDevice');
    assert.equal(endDevice.LogEventListLink.all, 2);
    assert.equal((await client.fetch<{ logEventID: number }>(location(first), 'LogEvent')).logEventID, 1);
  });
});
