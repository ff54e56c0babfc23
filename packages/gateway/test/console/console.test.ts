/**
 * The operator console in a real browser (Debian's chromium driven by playwright-core) against a
 * gateway in this process that serves it: the console loads without console errors, the overview's
 * numbers are GET /api/fleet/summary's, the device list shows online/offline as the overview
 * counts it (from GET /api/devices/status), a device page draws its charts from telemetry, the
 * event is on the timeline, a viewer gets no setpoint form and an operator's setpoint becomes a
 * command, listed newest first.
 * A full-page screenshot of each page goes to test-artifacts/console/NAME.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { useTempDir } from '../helpers/temp-dir.ts';
import {
  ARTIFACTS,
  CHROMIUM,
  dataValue as number,
  openSignedIn,
  STEP_TIMEOUT_MS,
  screenshot,
  skipWithoutChromium as skip,
  VIEWPORT,
} from './browser.ts';
import { type ConsoleFleet, EVENT_ID, ensureConsoleBuilt, eventually, startConsoleFleet, TOKENS } from './fleet.ts';

interface FleetSummaryBody {
  devices: { total: number; online: number; offline: number; byClass: Record<string, { total: number }> };
  powerW: { total: number; byClass: Record<string, number> };
  storage: { meanSocPct: number | null; storedWh: number };
}

interface CommandBody {
  id: string;
  status: string;
  setpoint: { kind: string; value: number };
}

describe('operator console in chromium', { skip }, () => {
  const temp = useTempDir('gridseam-console-');
  let fleet: ConsoleFleet;
  let browser: Browser;

  before(async () => {
    await ensureConsoleBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    fleet = await startConsoleFleet(temp.dir());
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  const open = (role: keyof typeof TOKENS, route = '#/') => openSignedIn(browser, fleet.address, role, route);

  test('the overview loads, keeps the token out of the address bar and shows the API numbers', async () => {
    const { page, context, errors } = await open('viewer');
    try {
      await page.getByTestId('overview-devices-total').waitFor();
      assert.equal(new URL(page.url()).hash, '#/', 'the token is gone from the address bar');
      assert.equal(await page.getByTestId('session-role').getAttribute('data-role'), 'viewer');
      const summary = await fleet.api<FleetSummaryBody>('/api/fleet/summary', { role: 'viewer' });
      assert.equal(await number(page, 'overview-devices-total'), summary.devices.total);
      assert.equal(await number(page, 'overview-devices-online'), summary.devices.online);
      assert.equal(await number(page, 'overview-devices-offline'), summary.devices.offline);
      assert.equal(await number(page, 'overview-power-total'), summary.powerW.total);
      assert.equal(await number(page, 'overview-stored'), summary.storage.storedWh);
      assert.equal(summary.devices.total, 4, 'the seeded fleet');
      for (const [deviceClass, counts] of Object.entries(summary.devices.byClass))
        assert.equal(
          Number(await page.getByTestId(`class-${deviceClass}-total`).textContent()),
          counts.total,
          `${deviceClass} total`,
        );
      await page.getByTestId(`event-row-${EVENT_ID}`).first().waitFor();
      await page.getByTestId('live-status').and(page.locator('[data-status="live"]')).waitFor();
      await screenshot(page, 'overview');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  /** The paths of the API requests the page makes from now on. */
  function apiRequests(page: Page): string[] {
    const paths: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/api/')) paths.push(`${url.pathname}${url.search}`);
    });
    return paths;
  }

  test('a device page draws power, SoC and voltage charts from its telemetry', async () => {
    const { page, context, errors } = await open('viewer', '#/devices/bat-1');
    try {
      for (const chart of ['chart-power', 'chart-soc', 'chart-voltage']) {
        const container = page.getByTestId(chart);
        await container.locator('canvas').waitFor();
        const points = Number(await container.getAttribute('data-points'));
        assert.ok(points > 0, `${chart} has points (${points})`);
      }
      await page.getByTestId('latest-stateOfCharge').waitFor();
      await page.getByTestId('live-status').and(page.locator('[data-status="live"]')).waitFor();
      // A reading published now reaches the open chart through the live feed.
      const before = Number(await page.getByTestId('chart-power').getAttribute('data-points'));
      const reading = { deviceId: 'bat-1', ts: Date.now(), measurand: 'activePower', value: 4200, unit: 'W' } as const;
      await eventually(async () => {
        await fleet.gateway.bus.publish('telemetry', { readings: [{ ...reading, ts: Date.now() }] }, { key: 'bat-1' });
        const after = Number(await page.getByTestId('chart-power').getAttribute('data-points'));
        return after > before ? after : undefined;
      }, 'a live point on the power chart');
      assert.equal(await page.getByTestId('setpoint-form').count(), 0, 'a viewer gets no setpoint form');
      await screenshot(page, 'device');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the device list shows the offline meter as offline, as the overview counts it', async () => {
    const { page, context, errors } = await open('viewer');
    const requests = apiRequests(page);
    try {
      const summary = await fleet.api<FleetSummaryBody>('/api/fleet/summary', { role: 'viewer' });
      assert.equal(summary.devices.offline, 1, 'the seeded meter is announced offline');
      await page.getByTestId('overview-devices-offline').waitFor();
      // The overview's Offline count leads to the device list filtered to those devices.
      await page.getByRole('link', { name: 'Offline ›' }).click();
      await page.getByTestId('device-row-meter-1').waitFor();
      assert.equal(new URL(page.url()).hash, '#/devices?status=offline');
      assert.equal(await page.getByTestId('device-online-meter-1').getAttribute('data-value'), 'offline');
      assert.equal(await number(page, 'devices-count'), summary.devices.offline);
      assert.equal(await page.getByTestId('device-row-bat-1').count(), 0, 'online devices filtered out');

      await page.getByTestId('filter-status').selectOption('');
      await page.getByTestId('device-row-bat-1').waitFor();
      assert.equal(await number(page, 'devices-count'), summary.devices.total);
      assert.equal(await number(page, 'devices-online'), summary.devices.online);
      const states = await page
        .locator('[data-testid^="device-online-"]')
        .evaluateAll((cells) => cells.map((cell) => cell.getAttribute('data-value')));
      assert.equal(states.filter((state) => state === 'offline').length, summary.devices.offline);
      assert.equal(states.filter((state) => state === 'online').length, summary.devices.online);
      assert.equal(await page.getByTestId('device-online-bat-1').getAttribute('data-value'), 'online');

      // One bulk status request (per 1000 devices), not one latest-telemetry request per device.
      assert.ok(
        requests.some((path) => path.startsWith('/api/devices/status?')),
        requests.join(' '),
      );
      assert.deepEqual(
        requests.filter((path) => path.includes('/telemetry/latest')),
        [],
      );
      await screenshot(page, 'devices-offline');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the device list filters by class', async () => {
    const { page, context, errors } = await open('viewer', '#/devices');
    try {
      await page.getByTestId('device-row-bat-1').waitFor();
      assert.equal(await number(page, 'devices-count'), 4);
      await page.getByTestId('filter-class').selectOption('battery');
      await eventually(
        async () => ((await number(page, 'devices-count')) === 1 ? true : undefined),
        'the class filter applied',
      );
      assert.equal(await page.getByTestId('device-row-pv-1').count(), 0);
      await page.getByTestId('filter-class').selectOption('');
      await page.getByTestId('device-row-pv-1').waitFor();
      await screenshot(page, 'devices');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the event is on the timeline and its page shows it', async () => {
    const { page, context, errors } = await open('viewer', '#/events');
    try {
      const bar = page.getByTestId('timeline').getByTestId(`timeline-event-${EVENT_ID}`);
      await bar.waitFor();
      assert.ok(await page.getByTestId('timeline-lane-operator').isVisible(), 'an operator lane');
      await screenshot(page, 'events');
      await bar.click();
      await page.getByTestId('event-intervals').waitFor();
      assert.match(new URL(page.url()).hash, new RegExp(`^#/events/${EVENT_ID}$`));
      assert.equal(await page.getByTestId('end-event').count(), 0, 'a viewer cannot end an event');
      await screenshot(page, 'event');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('sites and groups show limits and members', async () => {
    const { page, context, errors } = await open('viewer', '#/sites');
    try {
      await page.getByTestId('site-site-a').waitFor();
      assert.match((await page.getByTestId('site-site-a').textContent()) ?? '', /5\.00 kW/);
      assert.equal(await page.getByTestId('group-grp-a-count').textContent(), '2');
      await screenshot(page, 'sites');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('without a dispatch section the Dispatch page says so and no plan is asked for', async () => {
    const { page, context, errors } = await open('viewer');
    const requests = apiRequests(page);
    try {
      await page.goto(`${fleet.address}/#/devices/bat-1`);
      await page.getByTestId('chart-soc').locator('canvas').waitFor();
      await page.getByRole('link', { name: 'Dispatch' }).click();
      await page.getByTestId('dispatch-not-configured').waitFor();
      // The console finds the dispatch program first: a gateway without one is never asked for a plan (a 422).
      assert.deepEqual(
        requests.filter((path) => path.includes('/plan') || path.startsWith('/api/dispatch')),
        [],
      );
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the live indicator shows a dropped feed and the console reconnects', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Every /api/live connection goes through to the gateway; the test can cut the first one.
    const connections: Array<{ close(options?: { code?: number; reason?: string }): Promise<void> }> = [];
    await page.routeWebSocket('**/api/live', (socket) => {
      socket.connectToServer();
      connections.push(socket);
    });
    try {
      await page.goto(`${fleet.address}/#token=${TOKENS.viewer}`);
      const indicator = page.getByTestId('live-status');
      await indicator.and(page.locator('[data-status="live"]')).waitFor();
      await connections[0]?.close({ code: 1011, reason: 'test drop' });
      await indicator.and(page.locator('[data-status="offline"]')).waitFor();
      await indicator.and(page.locator('[data-status="live"]')).waitFor();
      assert.equal(connections.length, 2, 'one new connection after the drop');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('the sign-in form and a missing device show the API error code and message', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${fleet.address}/`);
      await screenshot(page, 'signin');
      await page.getByTestId('signin-token').fill('not-a-token');
      await page.getByTestId('signin-form').getByRole('button', { name: 'Sign in' }).click();
      assert.match((await page.getByTestId('api-error').textContent()) ?? '', /GW_ERR_UNAUTHORIZED/);
      await page.getByTestId('signin-token').fill(TOKENS.viewer);
      await page.getByTestId('signin-form').getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('overview-devices-total').waitFor();
      await page.goto(`${fleet.address}/#/devices/no-such-device`);
      const error = page.getByTestId('api-error').first();
      await error.waitFor();
      assert.match((await error.textContent()) ?? '', /GW_ERR_NOT_FOUND.*no-such-device/);
      // The browser logs each refused request (401, 404) itself; nothing else may be logged.
      assert.deepEqual(
        errors.filter((text) => !/Failed to load resource: the server responded with a status of 40[14]/.test(text)),
        [],
      );
    } finally {
      await context.close();
    }
  });

  test('an operator submits a setpoint and the command appears', async () => {
    const { page, context, errors } = await open('operator');
    const requests = apiRequests(page);
    await page.goto(`${fleet.address}/#/devices/bat-1`);
    try {
      await page.getByTestId('setpoint-form').waitFor();
      await page.getByTestId('setpoint-kind').selectOption('chargeLimit');
      await page.getByTestId('setpoint-value').fill('2.5');
      await page.getByTestId('setpoint-minutes').fill('10');
      await page.getByTestId('setpoint-submit').click();
      const sent = page.getByTestId('setpoint-sent');
      await sent.waitFor();
      const commandId = (await sent.locator('code').textContent()) ?? '';
      assert.ok(commandId !== '', 'the answer names the command');
      await page.getByTestId(`command-${commandId}`).waitFor();
      const commands = await fleet.api<CommandBody[]>('/api/devices/bat-1/commands', { role: 'viewer' });
      const command = commands.find((c) => c.id === commandId);
      assert.ok(command, 'the API lists the command');
      assert.deepEqual(command.setpoint.kind, 'chargeLimit');
      assert.equal(command.setpoint.value, 2500, '2.5 kW sent as 2500 W');
      // The newest commands in one request (order=desc), no probing for the end of the list.
      const listings = requests.filter((path) => path.startsWith('/api/devices/bat-1/commands'));
      assert.deepEqual(listings, ['/api/devices/bat-1/commands?order=desc&limit=1000']);
      await screenshot(page, 'device-operator');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('an operator ends the event from its page', async () => {
    const { page, context, errors } = await open('operator', `#/events/${EVENT_ID}`);
    try {
      await page.getByTestId('end-event').click();
      await page.getByTestId('end-event-confirm').click();
      await page.getByTestId('event-status').and(page.getByText('cancelled')).waitFor();
      const event = await fleet.api<{ status: string }>(`/api/events/${EVENT_ID}`, { role: 'viewer' });
      assert.equal(event.status, 'cancelled');
      assert.equal(await page.getByTestId('end-event').count(), 0, 'a cancelled event cannot be ended again');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
