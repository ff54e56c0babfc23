/**
 * DERControls as clients see them, with an injected clock: EventStatus computed per request (Scheduled →
 * Active → gone after the end; Cancelled kept until the scheduled end; Superseded), 2030.5 list ordering,
 * every DERControl href GET-able, the ActiveDERControlList, DefaultDERControl with its href, programs by
 * primacy, and list paging (s, l, a; all/results always present).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { identity, startServer, type TestServer, watts } from './helpers.ts';

interface ControlDoc {
  href: string;
  mRID: string;
  replyTo: string;
  responseRequired: string;
  creationTime: number;
  EventStatus: { currentStatus: number; dateTime: number; potentiallySuperseded: boolean };
  interval: { start: number; duration: number };
  DERControlBase: Record<string, unknown>;
}

interface ControlList {
  href: string;
  all: number;
  results: number;
  pollRate?: number;
  DERControl: ControlDoc[];
}

describe('DERControl lists and event status', () => {
  let env: TestServer;
  let deviceId: number;
  let listHref: string;

  before(async () => {
    env = await startServer();
    deviceId = (await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-1').lfdi })).id;
    await env.server.admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
    listHref = `/edev/${deviceId}/derp/doe/derc`;
  });
  after(() => env.close());
  beforeEach(async () => {
    await env.server.admin.cancelAllControls();
    env.clock.advance(7200);
  });

  const list = () => env.client('device-1').fetch<ControlList>(`${listHref}?l=50`, 'DERControlList');

  test('Scheduled, then Active at its start, then removed after its end; the href keeps answering', async () => {
    const start = env.clock.now + 300;
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      start,
      duration: 600,
      base: { opModExpLimW: watts(0) },
    });
    const mRID = controls[0]?.mRID as string;
    let current = await list();
    assert.equal(current.all, 1);
    assert.equal(current.pollRate, undefined, 'DERControlList carries no pollRate (sep.xsd)');
    const control = current.DERControl[0] as ControlDoc;
    assert.equal(control.EventStatus.currentStatus, 0);
    assert.equal(control.mRID, mRID);
    assert.equal(control.replyTo, '/rsps/derc/rsp');
    assert.equal(control.responseRequired, '03');
    assert.deepEqual(control.DERControlBase, { opModExpLimW: watts(0) });
    env.clock.advance(300);
    current = await list();
    assert.equal(current.DERControl[0]?.EventStatus.currentStatus, 1);
    assert.equal(current.DERControl[0]?.EventStatus.dateTime, start);
    const active = await env
      .client('device-1')
      .fetch<ControlList>(`/edev/${deviceId}/derp/doe/actderc?l=10`, 'DERControlList');
    assert.equal(active.all, 1);
    env.clock.advance(600);
    current = await list();
    assert.equal(current.all, 0, 'a completed control leaves the list');
    const single = await env.client('device-1').fetch<ControlDoc>(control.href, 'DERControl');
    assert.equal(single.mRID, mRID);
  });

  test('a cancelled control stays listed as Cancelled until its scheduled end (S-ALL-41/42)', async () => {
    const start = env.clock.now - 30;
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      start,
      duration: 120,
      base: { opModExpLimW: watts(0) },
    });
    env.clock.advance(10);
    await env.server.admin.cancelControl(controls[0]?.mRID as string);
    let current = await list();
    assert.equal(current.DERControl[0]?.EventStatus.currentStatus, 2);
    assert.equal(current.DERControl[0]?.EventStatus.dateTime, env.clock.now);
    env.clock.advance(60);
    current = await list();
    assert.equal(current.DERControl[0]?.EventStatus.currentStatus, 2);
    env.clock.advance(60);
    assert.equal((await list()).all, 0);
  });

  test('cancelled with randomization reports status 3', async () => {
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now + 60,
      duration: 600,
      randomizeStart: 120,
      base: { opModGenLimW: watts(0) },
    });
    await env.server.admin.cancelControl(controls[0]?.mRID as string, { randomized: true });
    assert.equal((await list()).DERControl[0]?.EventStatus.currentStatus, 3);
  });

  test('an overlapping newer control of the same type supersedes the scheduled one (S-ALL-41 step 9)', async () => {
    const now = env.clock.now;
    const first = await env.server.admin.createControl({
      programId: 'doe',
      start: now + 600,
      duration: 600,
      base: { opModExpLimW: watts(8000) },
    });
    env.clock.advance(5);
    const second = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now,
      duration: 700,
      base: { opModExpLimW: watts(0) },
    });
    assert.deepEqual(
      second.superseded.map((control) => control.mRID),
      [first.controls[0]?.mRID],
    );
    const current = await list();
    const byMrid = new Map(current.DERControl.map((control) => [control.mRID, control]));
    assert.equal(byMrid.get(first.controls[0]?.mRID as string)?.EventStatus.currentStatus, 4);
    assert.equal(byMrid.get(second.controls[0]?.mRID as string)?.EventStatus.currentStatus, 1);
    // A control of another type does not supersede it.
    const third = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now,
      duration: 700,
      base: { opModImpLimW: watts(0) },
    });
    assert.deepEqual(third.superseded, []);
  });

  test('2030.5 list order: start ascending, then creationTime descending', async () => {
    const base = { opModLoadLimW: watts(100) };
    const t = env.clock.now;
    const late = await env.server.admin.createControl({
      programId: 'doe',
      start: t + 5000,
      duration: 10,
      base,
      endDeviceIds: [deviceId],
    });
    const early = await env.server.admin.createControl({
      programId: 'doe',
      start: t + 1000,
      duration: 10,
      base: { opModGenLimW: watts(1) },
    });
    env.clock.advance(1);
    const earlyNewer = await env.server.admin.createControl({
      programId: 'doe',
      start: t + 1000,
      duration: 10,
      base: { opModImpLimW: watts(1) },
    });
    const order = (await list()).DERControl.map((control) => control.mRID);
    assert.deepEqual(order, [earlyNewer.controls[0]?.mRID, early.controls[0]?.mRID, late.controls[0]?.mRID]);
  });

  test('paging: s, l and a; all and results always present; l defaults to 1 and is capped', async () => {
    const t = env.clock.now;
    for (let i = 0; i < 5; i += 1) {
      env.clock.advance(1);
      await env.server.admin.createControl({
        programId: 'doe',
        start: t + 100 * (i + 1),
        duration: 10,
        base: { opModFixedW: 100 * i },
      });
    }
    const client = env.client('device-1');
    const first = await client.fetch<ControlList>(listHref, 'DERControlList');
    assert.equal(first.all, 5);
    assert.equal(first.results, 1, 'without l, one item (2030.5 default)');
    assert.equal(first.DERControl.length, 1);
    const page = await client.fetch<ControlList>(`${listHref}?s=3&l=10`, 'DERControlList');
    assert.equal(page.all, 5);
    assert.equal(page.results, 2);
    assert.equal(page.DERControl[0]?.interval.start, t + 400);
    const beyond = await client.fetch<ControlList>(`${listHref}?s=9&l=10`, 'DERControlList');
    assert.equal(beyond.results, 0);
    assert.deepEqual(beyond.DERControl, []);
    const capped = await client.fetch<ControlList>(`${listHref}?l=100000`, 'DERControlList');
    assert.equal(capped.results, 5);
    const after = await client.fetch<ControlList>(`${listHref}?l=10&a=${t + 4}`, 'DERControlList');
    assert.equal(after.all, 2, 'a: only controls created at or after that time');
    assert.equal((await client.get(`${listHref}?l=-1`)).status, 400);
    assert.equal((await client.get(`${listHref}?s=abc`)).status, 400);
  });

  test('DefaultDERControl: href present, linked from the program, values as set', async () => {
    await env.server.admin.setDefaultControl({
      programId: 'doe',
      base: { opModExpLimW: watts(1500), opModGenLimW: watts(5000) },
      setGradW: 27,
    });
    const client = env.client('device-1');
    const program = await client.fetch<{ DefaultDERControlLink: { href: string }; primacy: number }>(
      `/edev/${deviceId}/derp/doe`,
      'DERProgram',
    );
    const dderc = await client.fetch<{ href: string; setGradW: number; DERControlBase: Record<string, unknown> }>(
      program.DefaultDERControlLink.href,
      'DefaultDERControl',
    );
    assert.equal(dderc.href, `/edev/${deviceId}/derp/doe/dderc`);
    assert.equal(dderc.setGradW, 27);
    assert.deepEqual(dderc.DERControlBase, { opModExpLimW: watts(1500), opModGenLimW: watts(5000) });
  });

  test('DERProgramList is ordered by primacy and carries pollRate', async () => {
    await env.server.admin.createProgram({ id: 'network', description: 'network', primacy: 0, fsaId: 'default' });
    await env.server.admin.setPollRate('DERProgramList', 120);
    const programs = await env
      .client('device-1')
      .fetch<{ pollRate: number; DERProgram: Array<{ primacy: number; href: string }> }>(
        `/edev/${deviceId}/fsa/default/derp?l=10`,
        'DERProgramList',
      );
    assert.equal(programs.pollRate, 120);
    assert.deepEqual(
      programs.DERProgram.map((program) => program.primacy),
      [0, 1],
    );
    await env.server.admin.removeProgram('network');
  });

  test('controls long gone are pruned after the retention period; newer ones are kept', async () => {
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      duration: 60,
      base: { opModExpLimW: watts(1) },
    });
    const href = `${listHref}/${controls[0]?.mRID}`;
    env.clock.advance(3600);
    assert.equal(await env.server.admin.pruneExpiredControls(), 0, 'within the retention period');
    assert.equal((await env.client('device-1').get(href)).status, 200);
    env.clock.advance(8 * 24 * 3600);
    assert.ok((await env.server.admin.pruneExpiredControls()) >= 1);
    assert.equal((await env.client('device-1').get(href)).status, 404);
    assert.equal(env.server.admin.getControl(controls[0]?.mRID as string), undefined);
  });

  test('a control for one EndDevice is invisible to another', async () => {
    const other = await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-2').lfdi });
    await env.server.admin.createControl({
      programId: 'doe',
      endDeviceIds: [other.id],
      duration: 600,
      base: { opModConnect: false },
    });
    assert.equal((await list()).all, 0);
    const theirs = await env.client('device-2').fetch<ControlList>(`/edev/${other.id}/derp/doe/derc`, 'DERControlList');
    assert.equal(theirs.all, 1);
    assert.equal(theirs.DERControl[0]?.DERControlBase.opModConnect, false);
  });
});
