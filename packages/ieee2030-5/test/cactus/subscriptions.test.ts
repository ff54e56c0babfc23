/**
 * CACTUS server procedures, category Subscription / Notification (aggregator clients): S-ALL-25 (subscribe),
 * S-ALL-26 (update and delete), S-ALL-27..34 (active controls by notification), S-ALL-35..40 (default
 * controls by notification), S-ALL-46 (communication loss). Notifications go to a local https receiver on
 * 127.0.0.1:0; `server.drainNotifications()` waits until the server has delivered or given up, so no step
 * depends on timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  DERControl,
  DERControlList,
  DERProgramList,
  DefaultDERControl,
  EndDeviceList,
  FunctionSetAssignmentsList,
  Notification,
  Subscription,
} from '../../src/resources/types.ts';
import type { ControlBase, SetDefaultControlInput } from '../../src/server/contract.ts';
import type { Discovery, SepClient } from '../helpers/sep-client.ts';
import {
  assertControls,
  assertDefaults,
  assertOwnEndDevice,
  assertSuccess,
  type ControlCriteria,
  type DefaultCriteria,
  discoveredControls,
  discoveredDefaults,
  linkHref,
  locationOf,
} from './checks.ts';
import {
  type CactusEnv,
  createDerControl,
  ensureAggregatorSite,
  ensureProgram,
  type NotificationReceiver,
  SET_MAX_W,
  startCactus,
  startNotificationReceiver,
  watts,
} from './harness.ts';

const SITE = '5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e';
const half = SET_MAX_W * 0.5;

interface SubscriptionContext {
  env: CactusEnv;
  client: SepClient;
  receiver: NotificationReceiver;
  /** sub_id → the Subscription's Location. */
  subscriptions: Map<string, string>;
}

async function setUp(): Promise<SubscriptionContext> {
  const env = await startCactus();
  const receiver = await startNotificationReceiver(env.pki);
  return { env, client: env.client('aggregator'), receiver, subscriptions: new Map() };
}

async function tearDown(ctx: SubscriptionContext): Promise<void> {
  await ctx.env.close();
  await ctx.receiver.close();
}

/** The SubscriptionList the aggregator posts to: its own EndDevice's (CSIP: the aggregator EndDevice carries it). */
function subscriptionListHref(ctx: SubscriptionContext, discovery: Discovery): string {
  const own = discovery.endDevices.find(
    (e) => e.endDevice.lFDI === ctx.env.identity('aggregator').lfdi && e.endDevice.SubscriptionListLink,
  );
  const site = assertOwnEndDevice(discovery, SITE);
  return linkHref((own ?? site).endDevice, 'SubscriptionListLink');
}

/** create-subscription: POST, then read it back by its Location and compare (CACTUS validates persistence). */
async function subscribe(
  ctx: SubscriptionContext,
  discovery: Discovery,
  subId: string,
  resourceHref: string,
): Promise<string> {
  const subscription: Subscription = {
    subscribedResource: resourceHref,
    notificationURI: `${ctx.receiver.url}/notify/${subId}`,
    limit: 10,
    encoding: 0,
    level: '+S1',
  };
  const reply = await ctx.client.post(subscriptionListHref(ctx, discovery), 'Subscription', subscription);
  const location = locationOf(reply, `POST Subscription ${subId}`);
  const stored = await ctx.client.fetch(location, 'Subscription');
  assert.equal(stored.subscribedResource, resourceHref);
  assert.equal(stored.notificationURI, subscription.notificationURI);
  assert.equal(stored.limit, 10);
  ctx.subscriptions.set(subId, location);
  return location;
}

/** notifications collect: everything delivered to that subscription so far. */
async function collect(ctx: SubscriptionContext, subId: string): Promise<Notification[]> {
  await ctx.env.server.drainNotifications();
  const received = ctx.receiver.take(`/notify/${subId}`);
  for (const n of received) {
    assert.equal(n.parseError, undefined, `notification body did not parse: ${n.body}`);
    assert.ok(n.contentType?.startsWith('application/sep+xml'), `content-type ${n.contentType}`);
  }
  return received.flatMap((n) => (n.notification ? [n.notification] : []));
}

function resourcesOf<T>(notifications: Notification[], type: string): T[] {
  return notifications.filter((n) => n.Resource?.type === type).map((n) => n.Resource!.value as T);
}

/** The latest DERControlList carried by notifications (the list as it stands after the change). */
function latestControls(notifications: Notification[]): Array<{ control: DERControl }> {
  const lists = resourcesOf<DERControlList>(notifications, 'DERControlList');
  const single = resourcesOf<DERControl>(notifications, 'DERControl');
  const last = lists[lists.length - 1];
  if (last) return last.DERControl.map((control) => ({ control }));
  return single.map((control) => ({ control }));
}

async function precondition(ctx: SubscriptionContext): Promise<Discovery> {
  await ensureAggregatorSite(ctx.env, 'aggregator', SITE);
  await ensureProgram(ctx.env, 'derp1', 1, 'fsa1');
  const discovery = await ctx.client.walk();
  assertOwnEndDevice(discovery, SITE);
  subscriptionListHref(ctx, discovery);
  return discovery;
}

function siteProgram(discovery: Discovery): object | undefined {
  return assertOwnEndDevice(discovery, SITE).fsas[0]?.programs[0]?.program;
}

const siteDercHref = (discovery: Discovery) => linkHref(siteProgram(discovery), 'DERControlListLink');
const siteDdercHref = (discovery: Discovery) => linkHref(siteProgram(discovery), 'DefaultDERControlLink');

describe('S-ALL-25 Subscribe', () => {
  let ctx: SubscriptionContext;
  let discovery: Discovery;
  before(async () => {
    ctx = await setUp();
  });
  after(() => tearDown(ctx));

  test('PRECONDITION: the aggregator discovers its site EndDevice and a SubscriptionList', async () => {
    await ensureAggregatorSite(ctx.env, 'aggregator', SITE);
    discovery = await ctx.client.walk();
    assertOwnEndDevice(discovery, SITE);
  });

  test('1 - EDEV LIST SUBSCRIBE', async () => {
    await subscribe(ctx, discovery, 'edev_list_sub', linkHref(discovery.dcap, 'EndDeviceListLink'));
  });

  test('2 - AWAIT EDEV LIST NOTIFICATION: a poll-rate change notifies the EndDeviceList (pollRate 30)', async () => {
    await ctx.env.server.admin.setPollRate('EndDeviceList', 30);
    const lists = resourcesOf<EndDeviceList>(await collect(ctx, 'edev_list_sub'), 'EndDeviceList');
    assert.ok(lists.length >= 1, 'an EndDeviceList notification arrived');
    assert.equal(lists.at(-1)!.pollRate, 30);
  });

  test('3 - FSA LIST SUBSCRIBE', async () => {
    const site = assertOwnEndDevice(discovery, SITE);
    await subscribe(ctx, discovery, 'fsa_list_sub', linkHref(site.endDevice, 'FunctionSetAssignmentsListLink'));
  });

  test('4 - AWAIT FSA LIST NOTIFICATION: a new FSA notifies the list with exactly one FSA', async () => {
    await ctx.env.server.admin.createFsa({ id: 'fsa1', description: 'fsa1' });
    const lists = resourcesOf<FunctionSetAssignmentsList>(
      await collect(ctx, 'fsa_list_sub'),
      'FunctionSetAssignmentsList',
    );
    assert.ok(lists.length >= 1, 'a FunctionSetAssignmentsList notification arrived');
    assert.equal(lists.at(-1)!.FunctionSetAssignments.length, 1);
  });

  test('DISCOVER NEW DERP LIST; 5 - DERP LIST SUBSCRIBE; 6 - a new program notifies it (one program)', async () => {
    discovery = await ctx.client.walk();
    const fsa = assertOwnEndDevice(discovery, SITE).fsas.at(-1);
    assert.ok(fsa, 'the FSA is discovered');
    await subscribe(ctx, discovery, 'derp_list_sub', linkHref(fsa.fsa, 'DERProgramListLink'));
    await ensureProgram(ctx.env, 'derp1', 1, 'fsa1');
    const lists = resourcesOf<DERProgramList>(await collect(ctx, 'derp_list_sub'), 'DERProgramList');
    assert.ok(lists.length >= 1, 'a DERProgramList notification arrived');
    assert.equal(lists.at(-1)!.DERProgram.length, 1);
  });

  test('7A/7B - DERC LIST subscribe; 8 - an active control notifies the list with exactly one control', async () => {
    // 7A's admin instruction ensure-der-control-list: the program exists (also when step 6 did not get there).
    await ensureProgram(ctx.env, 'derp1', 1, 'fsa1');
    discovery = await ctx.client.walk();
    await subscribe(ctx, discovery, 'derc_list_sub', siteDercHref(discovery));
    await createDerControl(ctx.env, { status: 'active', programId: 'derp1', base: { opModExpLimW: watts(0) } });
    assertControls(latestControls(await collect(ctx, 'derc_list_sub')), {}, { min: 1, max: 1 });
  });

  test('9A/9B - DEFAULT DERC subscribe; 10 - changing it notifies opModExpLimW 2000', async () => {
    await ctx.env.server.admin.setDefaultControl({ programId: 'derp1', base: { opModExpLimW: watts(0) } });
    discovery = await ctx.client.walk();
    assertDefaults(discoveredDefaults(discovery), {}, { min: 1 });
    await subscribe(ctx, discovery, 'dderc_sub', siteDdercHref(discovery));
    await ctx.env.server.admin.setDefaultControl({ programId: 'derp1', base: { opModExpLimW: watts(2000) } });
    const defaults = resourcesOf<DefaultDERControl>(await collect(ctx, 'dderc_sub'), 'DefaultDERControl');
    assertDefaults(
      defaults.map((control) => ({ control })),
      { opModExpLimW: 2000 },
      { min: 1 },
    );
  });
});

describe('S-ALL-26 Update and Delete Subscription', () => {
  let ctx: SubscriptionContext;
  let discovery: Discovery;
  before(async () => {
    ctx = await setUp();
  });
  after(() => tearDown(ctx));

  test('PRECONDITION + PRECONDITION2: subscribe to the site DERControlList', async () => {
    discovery = await precondition(ctx);
    await subscribe(ctx, discovery, 'derc_list_sub', siteDercHref(discovery));
  });

  test('STEP 1 - subscribing to the same resource again succeeds', async () => {
    await subscribe(ctx, discovery, 'derc_list_sub', siteDercHref(discovery));
  });

  test('STEP 2 - DELETE the subscription succeeds; it is gone and no longer notified', async () => {
    const location = ctx.subscriptions.get('derc_list_sub')!;
    assertSuccess(await ctx.client.delete(location), 'DELETE Subscription');
    assert.equal((await ctx.client.get(location)).status, 404);
  });

  test('POST-TEST, RESUBSCRIBE DERC LIST', async () => {
    await subscribe(ctx, discovery, 'derc_list_sub', siteDercHref(discovery));
  });
});

interface ActiveNotifyCase {
  id: string;
  title: string;
  /** PRECONDITION 3: a first control discovered by polling (energise/connect cases). */
  first?: { base: ControlBase; expect: ControlCriteria };
  base: ControlBase;
  expect: ControlCriteria;
}

const ACTIVE_CASES: ActiveNotifyCase[] = [
  {
    id: 'S-ALL-27',
    title: 'Active Controls - Export Limit',
    base: { opModExpLimW: watts(0) },
    expect: { opModExpLimW: 0 },
  },
  {
    id: 'S-ALL-28',
    title: 'Active Controls - Generation Limit',
    base: { opModGenLimW: watts(0) },
    expect: { opModGenLimW: 0 },
  },
  {
    id: 'S-ALL-29',
    title: 'Active Controls - Import Limit',
    base: { opModImpLimW: watts(0) },
    expect: { opModImpLimW: 0 },
  },
  {
    id: 'S-ALL-30',
    title: 'Active Controls - Load Limit',
    base: { opModLoadLimW: watts(0) },
    expect: { opModLoadLimW: 0 },
  },
  {
    id: 'S-ALL-31',
    title: 'Active Controls - Energise',
    first: { base: { opModEnergize: true }, expect: { opModEnergize: true, eventStatus: 1 } },
    base: { opModEnergize: false },
    expect: { opModEnergize: false, eventStatus: 1 },
  },
  {
    id: 'S-ALL-32',
    title: 'Active Controls - Disconnect',
    first: { base: { opModConnect: true }, expect: { opModConnect: true, eventStatus: 1 } },
    base: { opModConnect: false },
    expect: { opModConnect: false, eventStatus: 1 },
  },
  {
    id: 'S-ALL-33',
    title: 'Active Controls - Control Combinations',
    first: { base: { opModConnect: true }, expect: { opModConnect: true, eventStatus: 1 } },
    base: {
      opModExpLimW: watts(half),
      opModGenLimW: watts(0),
      opModImpLimW: watts(half),
      opModLoadLimW: watts(0),
      opModEnergize: false,
      opModConnect: false,
    },
    expect: {
      opModExpLimW: half,
      opModGenLimW: 0,
      opModImpLimW: half,
      opModLoadLimW: 0,
      opModEnergize: false,
      opModConnect: false,
      eventStatus: 1,
    },
  },
  {
    id: 'S-ALL-34',
    title: 'Active Controls - Ramp Rates',
    base: { opModExpLimW: watts(0), opModImpLimW: watts(0), rampTms: 3000 },
    expect: { opModExpLimW: 0, opModImpLimW: 0, rampTms: 3000, eventStatus: 1 },
  },
];

for (const activeCase of ACTIVE_CASES) {
  describe(`${activeCase.id} ${activeCase.title}`, () => {
    let ctx: SubscriptionContext;
    let discovery: Discovery;
    before(async () => {
      ctx = await setUp();
    });
    after(() => tearDown(ctx));

    test('PRECONDITION + PRECONDITION2: the site DERControlList is subscribed', async () => {
      discovery = await precondition(ctx);
      await subscribe(ctx, discovery, 'derc_list_sub', siteDercHref(discovery));
    });

    const first = activeCase.first;
    if (first) {
      test(`PRECONDITION 3: a first active control is discovered by polling (${JSON.stringify(first.expect)})`, async () => {
        await createDerControl(ctx.env, { status: 'active', programId: 'derp1', base: first.base });
        assertControls(discoveredControls(await ctx.client.walk()), first.expect, { min: 1, max: 1 });
        await collect(ctx, 'derc_list_sub');
      });
    }

    test(`STEP 1 - CREATE DERC: the notification carries exactly one matching control (${JSON.stringify(activeCase.expect)})`, async () => {
      ctx.env.clock.advance(1);
      await createDerControl(ctx.env, { status: 'active', programId: 'derp1', base: activeCase.base });
      const notified = latestControls(await collect(ctx, 'derc_list_sub'));
      assertControls(notified, activeCase.expect, { min: 1, max: 1 });
    });
  });
}

interface DefaultNotifyCase {
  id: string;
  title: string;
  input: Omit<SetDefaultControlInput, 'programId'>;
  expect: DefaultCriteria;
}

const DEFAULT_CASES: DefaultNotifyCase[] = [
  {
    id: 'S-ALL-35',
    title: 'Default Controls - Export Limit',
    input: { base: { opModExpLimW: watts(0) } },
    expect: { opModExpLimW: 0 },
  },
  {
    id: 'S-ALL-36',
    title: 'Default Controls - Generation Limit',
    input: { base: { opModGenLimW: watts(0) } },
    expect: { opModGenLimW: 0 },
  },
  {
    id: 'S-ALL-37',
    title: 'Default Controls - Import Limit',
    input: { base: { opModImpLimW: watts(0) } },
    expect: { opModImpLimW: 0 },
  },
  {
    id: 'S-ALL-38',
    title: 'Default Controls - Load Limit',
    input: { base: { opModLoadLimW: watts(0) } },
    expect: { opModLoadLimW: 0 },
  },
  {
    id: 'S-ALL-39',
    title: 'Default Controls - Ramp Rate',
    input: { base: {}, setGradW: 100 },
    expect: { setGradW: 100 },
  },
  {
    id: 'S-ALL-40',
    title: 'Default Controls - Control Combinations',
    input: {
      base: { opModExpLimW: watts(half), opModGenLimW: watts(0), opModImpLimW: watts(half), opModLoadLimW: watts(0) },
    },
    expect: { opModExpLimW: half, opModGenLimW: 0, opModImpLimW: half, opModLoadLimW: 0 },
  },
];

for (const defaultCase of DEFAULT_CASES) {
  describe(`${defaultCase.id} ${defaultCase.title}`, () => {
    let ctx: SubscriptionContext;
    let discovery: Discovery;
    before(async () => {
      ctx = await setUp();
    });
    after(() => tearDown(ctx));

    test('PRECONDITION + PRECONDITION2: the site DefaultDERControl is subscribed', async () => {
      await ensureAggregatorSite(ctx.env, 'aggregator', SITE);
      await ensureProgram(ctx.env, 'derp1', 1, 'fsa1');
      // A DefaultDERControl must exist to be discovered and subscribed to.
      await ctx.env.server.admin.setDefaultControl({ programId: 'derp1', base: { opModExpLimW: watts(9999) } });
      discovery = await ctx.client.walk();
      await subscribe(ctx, discovery, 'dderc_sub', siteDdercHref(discovery));
    });

    test(`STEP 1 - CREATE Default DERC: the notification carries it (${JSON.stringify(defaultCase.expect)})`, async () => {
      await ctx.env.server.admin.setDefaultControl({ programId: 'derp1', ...defaultCase.input });
      const defaults = resourcesOf<DefaultDERControl>(await collect(ctx, 'dderc_sub'), 'DefaultDERControl');
      assert.equal(defaults.length, 1, 'exactly one DefaultDERControl notification');
      assertDefaults(
        defaults.map((control) => ({ control })),
        defaultCase.expect,
        { min: 1, max: 1 },
      );
    });
  });
}

describe('S-ALL-46 Communication Loss', () => {
  let ctx: SubscriptionContext;
  let discovery: Discovery;
  before(async () => {
    const env = await startCactus({
      // Scaled down from the procedure's 5-minute outage: retries every 20-100 ms, enough attempts to outlast it.
      notifications: { allowLoopback: true, retry: { attempts: 60, initialDelayMs: 20, maxDelayMs: 100 } },
    });
    const receiver = await startNotificationReceiver(env.pki);
    ctx = { env, client: env.client('aggregator'), receiver, subscriptions: new Map() };
  });
  after(() => tearDown(ctx));

  test('PRECONDITION 1 - NO DERCONTROLS', async () => {
    discovery = await precondition(ctx);
    await ctx.env.server.admin.cancelAllControls();
    assertControls(discoveredControls(discovery), {}, { min: 0, max: 0 });
  });

  test('PRECONDITION 2 - DERC LIST SUBSCRIBE', async () => {
    await subscribe(ctx, discovery, 'derc_list_sub', siteDercHref(discovery));
  });

  test('1A - DISABLE NOTIFICATIONS; 1B - a control scheduled in 1 h is found by polling', async () => {
    ctx.receiver.failing = true;
    await createDerControl(ctx.env, {
      status: 'scheduled',
      programId: 'derp1',
      startOffsetSeconds: 3600,
      base: { opModExpLimW: watts(0) },
    });
    assertControls(
      discoveredControls(await ctx.client.walk()),
      { opModExpLimW: 0, eventStatus: 0 },
      { min: 1, max: 1 },
    );
  });

  test('1C/1D - the receiver refuses deliveries for a while (the server retries)', async () => {
    for (let i = 0; i < 500 && ctx.receiver.refused < 3; i++) await sleep(10);
    assert.ok(ctx.receiver.refused >= 3, `the server retried (${ctx.receiver.refused} refused attempts)`);
  });

  test('2A - ENABLE NOTIFICATIONS; 2B - the retried notification arrives with the control; 2C - polling agrees', async () => {
    ctx.receiver.failing = false;
    const notified = latestControls(await collect(ctx, 'derc_list_sub'));
    assertControls(notified, { opModExpLimW: 0, eventStatus: 0 }, { min: 1, max: 1 });
    assertControls(
      discoveredControls(await ctx.client.walk()),
      { opModExpLimW: 0, eventStatus: 0 },
      { min: 1, max: 1 },
    );
  });

  test('an outage longer than the retry budget: the notification still arrives once the receiver recovers', async () => {
    // The procedure's 5-minute outage outlasting the server's back-off schedule, both scaled down: three
    // attempts 20 ms apart are spent while the receiver is down; the notification must not be lost.
    const env = await startCactus({
      notifications: { allowLoopback: true, retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 20 } },
    });
    const receiver = await startNotificationReceiver(env.pki);
    const short: SubscriptionContext = { env, client: env.client('aggregator'), receiver, subscriptions: new Map() };
    try {
      const found = await precondition(short);
      await subscribe(short, found, 'derc_list_sub', siteDercHref(found));
      receiver.failing = true;
      await createDerControl(env, {
        status: 'scheduled',
        programId: 'derp1',
        startOffsetSeconds: 3600,
        base: { opModExpLimW: watts(0) },
      });
      await env.server.drainNotifications();
      assert.ok(receiver.refused >= 3, 'the retry budget was spent during the outage');
      receiver.failing = false;
      const notified = latestControls(await collect(short, 'derc_list_sub'));
      assertControls(notified, { opModExpLimW: 0, eventStatus: 0 }, { min: 1, max: 1 });
    } finally {
      await tearDown(short);
    }
  });
});
