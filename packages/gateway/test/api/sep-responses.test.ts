/**
 * IEEE 2030.5 Responses in GET /api/events/{id}/reports: the audit wrapper around the client's
 * state store (one row per POST that got an answer, none for Responses never posted, none again
 * after a restart), the route listing those rows next to OpenADR ones, and the whole chain over
 * mutual TLS on 127.0.0.1: our utility server creates a control, the gateway's 2030.5 client posts
 * Responses 1, 2, 3, and the gateway's API (a real listen) lists exactly those, once each.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryClientStateStore, type ResponseRecordDoc } from '@gridseam/ieee2030-5';
import type { ProgramEvent } from '@gridseam/model';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import {
  auditPostedResponses,
  IEEE2030_5_RESPONSE_ACTION,
  responseDetail,
} from '../../src/seams/ieee2030-5-response-audit.ts';
import type { RunningUtilityServer } from '../../src/utility/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { gatewayYaml, startTestUtility, VIEWER_TOKEN, waitFor } from '../seams/support.ts';
import { type Harness, harness, json, program, T0 } from './support.ts';

const LFDI = 'a'.repeat(40);

function response(mRID: string, status: number, state: ResponseRecordDoc['state'], reason?: string): ResponseRecordDoc {
  return {
    endDeviceLfdi: LFDI,
    mRID,
    status,
    replyTo: '/rsp/0',
    state,
    at: 1_700_000_000,
    ...(reason === undefined ? {} : { reason }),
  };
}

const change = (doc: ResponseRecordDoc) => ({
  kind: 'response' as const,
  id: `${doc.endDeviceLfdi}:${doc.mRID}:${doc.status}`,
  doc,
});

describe('auditPostedResponses', () => {
  it('hands over each Response that went from pending to sent or rejected, once', async () => {
    const inner = new MemoryClientStateStore();
    const posted: ResponseRecordDoc[] = [];
    const store = auditPostedResponses(
      inner,
      async (doc) => {
        posted.push(doc);
      },
      () => assert.fail('no audit failure expected'),
    );
    await store.load();
    await store.write([change(response('m1', 1, 'pending'))]);
    assert.equal(posted.length, 0, 'intent only');
    await store.write([change(response('m1', 1, 'sent'))]);
    await store.write([change(response('m1', 1, 'sent'))]); // re-written: not a new POST
    // Never posted: the utility does not accept the status, or no replyTo.
    await store.write([change(response('m1', 9, 'rejected', 'status 9 is not accepted here'))]);
    // Posted and refused by the server (4xx).
    await store.write([change(response('m2', 1, 'pending'))]);
    await store.write([change(response('m2', 1, 'rejected', 'HTTP 400'))]);
    // Other kinds pass through untouched.
    await store.write([{ kind: 'offsets', id: `${LFDI}:m1`, doc: { start: 0, duration: 0 } }]);
    assert.deepEqual(
      posted.map((d) => [d.mRID, d.status, d.state]),
      [
        ['m1', 1, 'sent'],
        ['m2', 1, 'rejected'],
      ],
    );
    assert.deepEqual(responseDetail(posted[1] as ResponseRecordDoc), {
      protocol: 'ieee2030.5',
      status: 1,
      statusName: 'eventReceived',
      mRID: 'm2',
      endDeviceLfdi: LFDI,
      replyTo: '/rsp/0',
      sent: true,
      accepted: false,
      reason: 'HTTP 400',
    });
  });

  it('after a restart, a Response still pending is audited when the client posts it again', async () => {
    const inner = new MemoryClientStateStore();
    await inner.write([change(response('m3', 2, 'pending')), change(response('m3', 1, 'sent'))]);
    const posted: ResponseRecordDoc[] = [];
    const store = auditPostedResponses(inner, async (doc) => void posted.push(doc), assert.fail);
    assert.equal((await store.load()).length, 2);
    await store.write([change(response('m3', 1, 'sent'))]);
    await store.write([change(response('m3', 2, 'sent'))]);
    assert.deepEqual(
      posted.map((d) => d.status),
      [2],
    );
  });

  it('a failing audit is reported, never thrown into the client', async () => {
    const failures: unknown[] = [];
    const store = auditPostedResponses(
      new MemoryClientStateStore(),
      async () => {
        throw new Error('store down');
      },
      (error) => failures.push(error),
    );
    await store.write([change(response('m4', 1, 'pending'))]);
    await store.write([change(response('m4', 1, 'sent'))]);
    assert.equal(failures.length, 1);
  });

  it('a failed client write is not audited', async () => {
    const inner = new MemoryClientStateStore();
    const store = auditPostedResponses(inner, async () => assert.fail('not committed'), assert.fail);
    await store.write([change(response('m5', 1, 'pending'))]);
    inner.failNextWrite = new Error('disk full');
    await assert.rejects(store.write([change(response('m5', 1, 'sent'))]), /disk full/);
  });
});

describe('GET /api/events/{id}/reports with 2030.5 Responses', () => {
  let h: Harness;
  const event: ProgramEvent = {
    id: 'sep.abc123',
    programId: 'prog-1',
    source: 'ieee2030.5',
    externalId: 'abc123',
    primacy: 10,
    intervals: [{ start: T0, durationS: 600, signals: [{ kind: 'exportLimit', value: 0 }] }],
    targets: { siteIds: ['site-1'] },
    status: 'active',
    statusHistory: [{ status: 'active', at: T0 }],
    createdAt: T0,
  };

  before(async () => {
    h = await harness();
    await h.store.programs.create(program());
    await h.store.events.create(event);
    const row = (status: number, at: number) => ({
      at,
      actor: 'ieee2030-5',
      action: IEEE2030_5_RESPONSE_ACTION,
      targetType: 'event',
      targetId: event.id,
      detail: responseDetail(response('abc123', status, 'sent')),
    });
    await h.store.audit.append(row(1, T0 + 1));
    await h.store.audit.append(row(2, T0 + 2));
    await h.store.audit.append({ ...row(3, T0 + 3), action: 'event.update' }); // not a Response
    await h.store.audit.append({ ...row(3, T0 + 4), targetId: 'sep.other' }); // another event
  });
  after(() => h.close());

  it('lists the Responses posted for the event, newest first, with status, mRID and LFDI', async () => {
    const answer = await h.call('viewer', { method: 'GET', url: `/api/events/${event.id}/reports` });
    assert.equal(answer.statusCode, 200, answer.body);
    const rows = json<Array<Record<string, unknown>>>(answer);
    assert.deepEqual(
      rows.map((r) => [r.action, r.status, r.at, r.mRID, r.endDeviceLfdi, r.accepted]),
      [
        [IEEE2030_5_RESPONSE_ACTION, 2, T0 + 2, 'abc123', LFDI, true],
        [IEEE2030_5_RESPONSE_ACTION, 1, T0 + 1, 'abc123', LFDI, true],
      ],
    );
    assert.ok(rows.every((r) => typeof r.seq === 'number'));
    assert.equal((await h.call(undefined, { method: 'GET', url: `/api/events/${event.id}/reports` })).statusCode, 401);
  });
});

describe('2030.5 Responses end to end: utility server -> gateway -> /api/events/{id}/reports', () => {
  const temp = useTempDir('gridseam-api-sep-responses-');
  let utility: RunningUtilityServer;
  let gateway: Gateway;

  before(async () => {
    ({ utility } = await startTestUtility(temp.dir()));
    const config = parseConfig(
      gatewayYaml({ devices: [], sepPort: utility.sepPort, utilityTimeoutMs: 5000 }),
      join(temp.dir(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }), controlPeriodMs: 1000 });
  });
  after(async () => {
    await gateway?.close();
    await utility?.close();
  });

  it('lists each Response the client posted, once, on the control event', async () => {
    const admin = utility.server.admin;
    const { controls } = await admin.createControl({
      programId: 'doe',
      start: Math.floor(Date.now() / 1000) + 1,
      duration: 3,
      base: { opModExpLimW: { multiplier: 0, value: 500 } },
    });
    const mRID = controls[0]?.mRID;
    assert.ok(mRID);
    await waitFor(
      () => (admin.listResponses({ subject: mRID }).some((r) => r.status === 3) ? true : undefined),
      'Response 3 (completed) at the utility',
    );
    const client = gateway.ieee2030_5?.client;
    assert.ok(client);
    await client.sync({ force: true }); // polls again: no new POST, so no new row
    const received = admin
      .listResponses({ subject: mRID })
      .map((r) => r.status)
      .sort();
    const eventId = `sep.${mRID.toLowerCase()}`;
    const rows = await waitFor(async () => {
      const answer = await fetch(`${gateway.address}/api/events/${eventId}/reports`, {
        headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
      });
      assert.equal(answer.status, 200);
      const list = (await answer.json()) as Array<Record<string, unknown>>;
      return list.length >= received.length ? list : undefined;
    }, 'the Response rows');
    assert.deepEqual(rows.map((r) => r.status as number).sort(), received, 'one row per Response the utility got');
    assert.ok(received.includes(1) && received.includes(2) && received.includes(3));
    for (const row of rows) {
      assert.equal(row.action, IEEE2030_5_RESPONSE_ACTION);
      assert.equal(row.mRID, mRID.toLowerCase());
      assert.equal(row.endDeviceLfdi, gateway.ieee2030_5?.client.endDevices()[0]?.lfdi);
      assert.equal(row.accepted, true);
    }
  });
});
