/**
 * CACTUS server procedures about DERControl Responses: S-ALL-41 (control responses: received, started,
 * completed, cancelled, superseded), S-ALL-42 (delayed response to a cancelled control), S-ALL-57 (invalid
 * responses). Waits in the procedures are done by advancing the server's injected clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DERControl } from '../../src/resources/types.ts';
import type { SepClient } from '../helpers/sep-client.ts';
import {
  assertControls,
  assertDefaults,
  assertOwnEndDevice,
  assertRejected,
  discoveredControls,
  discoveredDefaults,
  locationOf,
  respond,
} from './checks.ts';
import {
  type CactusEnv,
  createDerControl,
  ensureAggregatorSite,
  ensureEndDevice,
  ensureProgram,
  SET_MAX_W,
  startCactus,
  watts,
} from './harness.ts';

const TWICE = SET_MAX_W * 2;

describe('S-ALL-41 Control Responses', () => {
  let env: CactusEnv;
  let client: SepClient;
  let lfdi = '';
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
    lfdi = env.identity('device-a').lfdi;
  });
  after(() => env.close());

  const controls = async () => discoveredControls(await client.walk());
  async function send(control: DERControl, status: number): Promise<void> {
    const reply = await respond(client, control, lfdi, status, env.clock.now);
    const location = locationOf(reply, `Response ${status} to ${control.mRID}`);
    const stored = await client.fetch(location, 'Response');
    assert.equal(stored.status, status);
    assert.equal(stored.subject.toLowerCase(), control.mRID.toLowerCase());
  }
  const sent = (mRID: string, status: number) =>
    env.server.admin.listResponses({ subject: mRID.toLowerCase(), status }).length;

  // ----------------------------------------------------------------- section 1: received, started, completed
  let first: DERControl;
  test('(A) PRECONDITION: one Scheduled control, export limit 2 × setMaxW', async () => {
    await ensureEndDevice(env, 'device-a');
    await createDerControl(env, {
      status: 'scheduled',
      startOffsetSeconds: 120,
      durationSeconds: 120,
      base: { opModExpLimW: watts(TWICE) },
    });
    const [match] = assertControls(await controls(), { opModExpLimW: TWICE, eventStatus: 0 }, { min: 1, max: 1 });
    first = match!.control;
    assert.ok(first.replyTo, 'replyTo is set');
  });

  test('(1b) DERControl 1 - Received: Response status 1 is accepted (201 + Location)', async () => {
    await send(first, 1);
  });

  test('(2) DERControl 1 - Active once its start time is reached', async () => {
    env.clock.advance(121);
    assertControls(await controls(), { opModExpLimW: TWICE, eventStatus: 1 }, { min: 1, max: 1 });
  });

  test('(2,3) Started and Completed responses are recorded once each', async () => {
    await send(first, 2);
    env.clock.advance(120);
    await send(first, 3);
    assert.equal(sent(first.mRID, 2), 1);
    assert.equal(sent(first.mRID, 3), 1);
  });

  test('WAIT 20 s, Check for Empty DERControls: the completed control is no longer listed', async () => {
    env.clock.advance(20);
    assertControls(await controls(), {}, { max: 0 });
  });

  // ----------------------------------------------------------------- section 2: cancellation
  let second: DERControl;
  test('(4) DERControl 2: Scheduled in 300 s for 600 s, responseRequired 03', async () => {
    await createDerControl(env, {
      status: 'scheduled',
      startOffsetSeconds: 300,
      durationSeconds: 600,
      base: { opModExpLimW: watts(TWICE) },
    });
    const [match] = assertControls(
      await controls(),
      { opModExpLimW: TWICE, responseRequired: 3, eventStatus: 0 },
      { min: 1, max: 1 },
    );
    second = match!.control;
  });

  test('(4b) Received; WAIT 320 s; (4c) Active; (4d) Started', async () => {
    await send(second, 1);
    env.clock.advance(320);
    assertControls(await controls(), { opModExpLimW: TWICE, eventStatus: 1 }, { min: 1, max: 1 });
    await send(second, 2);
  });

  test('(5) DERControl 2 - Cancelled by the utility: listed as Cancelled (2), responseRequired 03', async () => {
    await env.server.admin.cancelAllControls();
    assertControls(await controls(), { opModExpLimW: TWICE, responseRequired: 3, eventStatus: 2 }, { min: 1, max: 1 });
  });

  test('CHECK pt. 1-2: 10 s later the cancelled control is still listed as Cancelled', async () => {
    env.clock.advance(10);
    assertControls(await controls(), { opModExpLimW: TWICE, eventStatus: 2 }, { min: 1, max: 1 });
  });

  test('(5b) Respond to the cancelled control with status 6', async () => {
    await send(second, 6);
  });

  test('CLEAR OUT: no Scheduled and no Active controls remain', async () => {
    await env.server.admin.cancelAllControls();
    const listed = await controls();
    assertControls(listed, { eventStatus: 0 }, { max: 0 });
    assertControls(listed, { eventStatus: 1 }, { max: 0 });
  });

  // ----------------------------------------------------------------- section 3: cancel a scheduled control, supersede
  let third: DERControl;
  test('(6) DERControl 3: Scheduled in 600 s, responseRequired 03; (6b) Received', async () => {
    await createDerControl(env, { status: 'scheduled', startOffsetSeconds: 600, base: { opModExpLimW: watts(TWICE) } });
    const [match] = assertControls(
      await controls(),
      { opModExpLimW: TWICE, responseRequired: 3, eventStatus: 0 },
      { min: 1, max: 1 },
    );
    third = match!.control;
    await send(third, 1);
  });

  test('(7) DERControl 3 - Cancel: listed as Cancelled; (7b) respond 6', async () => {
    await env.server.admin.cancelAllControls();
    const cancelled = assertControls(
      await controls(),
      { opModExpLimW: TWICE, responseRequired: 3, eventStatus: 2 },
      { min: 1 },
    );
    assert.ok(cancelled.some((c) => c.control.mRID === third.mRID));
    await send(third, 6);
  });

  let fourth: DERControl;
  test('(8) DERControl 4: Scheduled in 600 s; (8b) Received', async () => {
    await createDerControl(env, { status: 'scheduled', startOffsetSeconds: 600, base: { opModExpLimW: watts(TWICE) } });
    const [match] = assertControls(await controls(), { opModExpLimW: TWICE, eventStatus: 0 }, { min: 1, max: 1 });
    fourth = match!.control;
    await send(fourth, 1);
  });

  test('(9) DERControl 5: active, same primacy, overlapping → it is Active and control 4 is Superseded (4)', async () => {
    await createDerControl(env, { status: 'active', durationSeconds: 700, base: { opModExpLimW: watts(0) } });
    const listed = await controls();
    const [active] = assertControls(listed, { opModExpLimW: 0, eventStatus: 1 }, { min: 1, max: 1 });
    const [superseded] = assertControls(listed, { opModExpLimW: TWICE, eventStatus: 4 }, { min: 1, max: 1 });
    assert.equal(superseded!.control.mRID, fourth.mRID);
    // (9b) Respond to both updated controls.
    await send(superseded!.control, 7);
    await send(active!.control, 1);
    await send(active!.control, 2);
  });
});

describe('S-ALL-42 Delayed Response to Cancelled Export Control', () => {
  let env: CactusEnv;
  let client: SepClient;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  let control: DERControl;
  test('(A) PRECONDITION: one Active 60 s control (2 × setMaxW) and a default export limit of 0.3 × setMaxW', async () => {
    await ensureEndDevice(env, 'device-a');
    const programId = await ensureProgram(env);
    await createDerControl(env, { status: 'active', durationSeconds: 60, base: { opModExpLimW: watts(TWICE) } });
    await env.server.admin.setDefaultControl({ programId, base: { opModExpLimW: watts(SET_MAX_W * 0.3) } });
    const discovery = await client.walk();
    assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    const [match] = assertControls(
      discoveredControls(discovery),
      { opModExpLimW: TWICE, eventStatus: 1 },
      { min: 1, max: 1 },
    );
    control = match!.control;
    assertDefaults(discoveredDefaults(discovery), { opModExpLimW: SET_MAX_W * 0.3 }, { min: 1 });
  });

  test('(1) Cancel active controls: listed as Cancelled', async () => {
    await env.server.admin.cancelAllControls();
    assertControls(
      discoveredControls(await client.walk()),
      { opModExpLimW: TWICE, eventStatus: 2 },
      { min: 1, max: 1 },
    );
  });

  test('(2) 30 s later the cancelled control is still listed as Cancelled', async () => {
    env.clock.advance(30);
    assertControls(
      discoveredControls(await client.walk()),
      { opModExpLimW: TWICE, eventStatus: 2 },
      { min: 1, max: 1 },
    );
  });

  test('(3) Response 6 (Cancelled) sent late is accepted and stored', async () => {
    const reply = await respond(client, control, env.identity('device-a').lfdi, 6, env.clock.now);
    locationOf(reply, 'late Response');
    assert.equal(env.server.admin.listResponses({ subject: control.mRID.toLowerCase(), status: 6 }).length, 1);
  });
});

describe('S-ALL-57 Invalid Control Responses', () => {
  let env: CactusEnv;
  let client: SepClient;
  const SITE = 'c0ffee00000000000000000000000000000000aa';
  before(async () => {
    env = await startCactus();
    client = env.client('aggregator');
  });
  after(() => env.close());

  let control: DERControl;
  test('PRECONDITION: an Active control (export and import 2 × setMaxW, responseRequired 03) for the site', async () => {
    const site = await ensureAggregatorSite(env, 'aggregator', SITE);
    await createDerControl(env, {
      status: 'active',
      endDeviceIds: [site.id],
      base: { opModExpLimW: watts(TWICE), opModImpLimW: watts(TWICE) },
    });
    const discovery = await client.walk();
    assertOwnEndDevice(discovery, SITE);
    const [match] = assertControls(
      discoveredControls(discovery),
      { opModExpLimW: TWICE, opModImpLimW: TWICE, responseRequired: 3, eventStatus: 1 },
      { min: 1, max: 1 },
    );
    control = match!.control;
    assert.ok(control.replyTo, 'replyTo is set');
  });

  test('(1) Malformed response - mRID does not exist → 4XX', async () => {
    assertRejected(
      await client.post(control.replyTo!, 'DERControlResponse', {
        createdDateTime: env.clock.now,
        endDeviceLFDI: SITE,
        status: 1,
        subject: 'ffffffffffffffffffffffffffffffff',
      }),
      'unknown subject',
    );
  });

  test('(2) Malformed response - endDeviceLFDI does not exist → 4XX', async () => {
    assertRejected(
      await client.post(control.replyTo!, 'DERControlResponse', {
        createdDateTime: env.clock.now,
        endDeviceLFDI: '0123456789abcdef0123456789abcdef01234567',
        status: 1,
        subject: control.mRID,
      }),
      'unknown endDeviceLFDI',
    );
  });

  test('(3) Malformed response - invalid response status → 4XX', async () => {
    assertRejected(
      await client.post(control.replyTo!, 'DERControlResponse', {
        createdDateTime: env.clock.now,
        endDeviceLFDI: SITE,
        status: 200,
        subject: control.mRID,
      }),
      'invalid status',
    );
    assert.equal(env.server.admin.listResponses().length, 0, 'none of the malformed responses was stored');
  });

  test('a well-formed response from the aggregator for its site is accepted', async () => {
    locationOf(await respond(client, control, SITE, 1, env.clock.now), 'valid Response');
  });
});
