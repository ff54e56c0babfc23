/**
 * The console's Market page and the event page's M&V panel in a real browser (Debian's chromium
 * driven by playwright-core) against a gateway in this process (fleet.ts: settlement in UTC).
 *
 * Market: aggregation agg-1 (CAISO_DERA_1, minimum 5 kW set) is PUT through the API as a draft:
 * one member, bat-1 at site-a, 5 kW on PN_A from 2026-11-01, enrolled in the retail program
 * prog-peak without wholesale stacking (a 'stacking' warning, not a blocking problem); factors
 * PN_A 0.6 + PN_B 0.4 = 1. An operator moves it draft -> utility review -> ISO review -> active
 * with the buttons, then uploads awards.csv through the form: ENERGY for the two hours from the
 * next whole hour (+1 h) and REG_UP for the first, 3 awards -> 2 events (one per product, as
 * awardsToEvents groups consecutive hours of a product); each award row links its event. A file
 * with an unknown resource is refused with the API's code. A viewer sees the same without forms.
 *
 * M&V: event evt-mv-dr of prog-peak (demand-response) on site-a, 2026-11-17 15:00-18:00 UTC, a
 * loadDispatch of 5 kW (obligation 5 kWh per hour) and a price of 0.3 USD/kWh (300 $/MWh). Hourly
 * telemetry (one reading at each hh:00, so each hour's mean is that reading):
 *   meter-1 (load = -activePower): weekdays 11/02-06, 09-13, 16 at 10 kW, except 11/02 at 30 kW;
 *   event day 11/17 at 11 kW, 7 kW in 15-17 (bat-1 discharges 4 kW behind the meter);
 *   bat-1: 0 W on every seeded hour but 15-17 on 11/17: +4000 W.
 * By hand, caiso-10in10 net: the 10 most recent weekdays 11/03 .. 11/16 (11/02, the 11th, is not
 * taken: with it the mean would be 12), unadjusted 10; window hours 11-13: ratio 33 / 30 = 1.1;
 * baseline 11; reduction 11 - 7 = 4 per hour; delivered 12 kWh, obligation 15, PR 12 / 15 = 0.8,
 * shortfall 3, penalty 0 (no rate configured), payment 12 kWh x 0.3 = 3.60 USD. bat-1 (device
 * metering): output 4 within the gross load 7 + 4 = 11 -> load offset 4: the same figures; agg-1
 * (its member site is site-a): the same again.
 * pjm-high4of5 net: candidates 11/10-13, 16 (all 10 kW, none screened), 4 kept; additive
 * 11 - 10 = +1 -> baseline 11, reduction 4: delivered 12. pjm-high4of5 gross: the event day's gross
 * load is 11 in every hour (7 + 4 in 15-17), +1 -> baseline 11, reduction 0: delivered 0, shortfall 15.
 * Screenshots: test-artifacts/console/market.png, event-mv.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Reading } from '@gridseam/model';
import { type Browser, chromium } from 'playwright-core';
import type { StoredAward } from '../../src/market/index.ts';
import type { GatewayEventReport } from '../../src/settlement/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { ARTIFACTS, CHROMIUM, dataValue, openSignedIn, screenshot, skipWithoutChromium } from './browser.ts';
import { type ConsoleFleet, ensureConsoleBuilt, PROGRAM_ID, startConsoleFleet } from './fleet.ts';

const H = 3_600_000;
const day = (d: number, hour = 0) => Date.UTC(2026, 10, d, hour);
const HISTORY = [2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16];
const EVENT_DAY = 17;
const MV_EVENT = 'evt-mv-dr';
const VALID_FROM = day(1);

/** Site load, kW, held through the hour. */
function loadKw(d: number, hour: number): number {
  if (d === EVENT_DAY) return hour >= 15 && hour < 18 ? 7 : 11;
  return d === 2 ? 30 : 10;
}

function readings(): Reading[] {
  const out: Reading[] = [];
  for (const d of [...HISTORY, EVENT_DAY])
    for (let hour = 0; hour < 24; hour++) {
      const ts = day(d, hour);
      out.push({ deviceId: 'meter-1', ts, measurand: 'activePower', value: -loadKw(d, hour) * 1000, unit: 'W' });
      const discharge = d === EVENT_DAY && hour >= 15 && hour < 18 ? 4000 : 0;
      out.push({ deviceId: 'bat-1', ts, measurand: 'activePower', value: discharge, unit: 'W' });
    }
  return out;
}

const AGGREGATION = {
  id: 'agg-1',
  iso: 'CAISO',
  resourceId: 'CAISO_DERA_1',
  name: 'Depot feeder',
  participationModel: 'DERA',
  minimumSizeKw: 5,
  pricingNodes: ['PN_A', 'PN_B'],
  distributionFactors: [
    { pnode: 'PN_A', factor: 0.6, validFrom: VALID_FROM },
    { pnode: 'PN_B', factor: 0.4, validFrom: VALID_FROM },
  ],
  members: [
    {
      deviceId: 'bat-1',
      siteId: 'site-a',
      capacityKw: 5,
      pnode: 'PN_A',
      validFrom: VALID_FROM,
      retailPrograms: [{ programId: PROGRAM_ID, allowsWholesaleStacking: false, validFrom: VALID_FROM }],
    },
  ],
  utility: { name: 'Depot DSO', reviewDays: 30 },
};

/** ISO-8601 UTC without milliseconds. */
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function awardsCsv(first: number, resourceId = 'CAISO_DERA_1'): string {
  return [
    'resource_id,start,end,market,product,mw,clearing_price',
    `${resourceId},${iso(first)},${iso(first + H)},DA,ENERGY,0.004,95.5`,
    `${resourceId},${iso(first + H)},${iso(first + 2 * H)},DA,ENERGY,0.005,120`,
    `${resourceId},${iso(first)},${iso(first + H)},DA,REG_UP,0.002,9.5`,
  ].join('\n');
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
}

describe('the Market page and the event M&V panel of the console in chromium', { skip: skipWithoutChromium }, () => {
  const temp = useTempDir('gridseam-console-market-');
  let fleet: ConsoleFleet;
  let browser: Browser;

  before(async () => {
    await ensureConsoleBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    fleet = await startConsoleFleet(temp.dir());
    await fleet.gateway.store.telemetry.write(readings());
    await fleet.api('/api/events', {
      method: 'POST',
      body: {
        id: MV_EVENT,
        programId: PROGRAM_ID,
        intervals: [
          {
            start: day(EVENT_DAY, 15),
            durationS: 3 * 3600,
            signals: [
              { kind: 'loadDispatch', value: 5000, unit: 'W' },
              { kind: 'price', value: 0.3, unit: 'USD/kWh' },
            ],
          },
        ],
        targets: { siteIds: ['site-a'] },
      },
    });
    await fleet.api('/api/market/aggregations/agg-1', { method: 'PUT', body: AGGREGATION });
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  test('an operator registers the aggregation with the buttons and imports awards that link their events', async () => {
    const { page, context, errors } = await openSignedIn(browser, fleet.address, 'operator', '#/market');
    try {
      const panel = page.getByTestId('aggregation-agg-1');
      await panel.waitFor();
      await page.getByRole('link', { name: 'Market' }).waitFor();
      assert.equal(await panel.getAttribute('data-state'), 'draft');
      assert.equal(await dataValue(page, 'aggregation-agg-1-capacity'), 5);
      assert.equal(await dataValue(page, 'aggregation-agg-1-members-count'), 1);
      // the retail enrolment without stacking: one warning, nothing blocking
      assert.equal(await dataValue(page, 'aggregation-agg-1-problems-count'), 1);
      assert.match((await page.getByTestId('aggregation-agg-1-problems').textContent()) ?? '', /stacking/);
      assert.equal(await dataValue(page, 'aggregation-agg-1-factors-sum'), 1);
      assert.equal(await page.getByTestId('aggregation-agg-1-members-bat-1').count(), 1);
      // draft has one legal move
      assert.equal(await page.getByTestId('aggregation-agg-1-registration').locator('button').count(), 1);

      for (const state of ['utility-review', 'iso-review', 'active']) {
        await page.getByTestId(`registration-agg-1-${state}`).click();
        await page.locator(`[data-testid="aggregation-agg-1"][data-state="${state}"]`).waitFor();
      }
      assert.equal(await page.getByTestId('aggregation-agg-1-history').locator('li').count(), 4);
      // active -> suspended or withdrawn
      assert.equal(await page.getByTestId('aggregation-agg-1-registration').locator('button').count(), 2);

      const first = Math.ceil(Date.now() / H) * H + H;
      await page
        .getByTestId('awards-file')
        .setInputFiles({ name: 'awards.csv', mimeType: 'text/csv', buffer: Buffer.from(awardsCsv(first)) });
      await page.getByTestId('awards-import').click();
      const imported = page.getByTestId('awards-imported');
      await imported.waitFor();
      assert.equal(await imported.getAttribute('data-awards'), '3');
      assert.equal(await imported.getAttribute('data-events'), '2');

      // the awards table (reloaded after the import) links every award's event
      await page.getByTestId('award-row').nth(2).waitFor();
      assert.equal(await page.getByTestId('award-row').count(), 3);
      const stored = await fleet.api<StoredAward[]>(`/api/market/awards?from=${first - H}&to=${first + 3 * H}`, {
        role: 'viewer',
      });
      const eventIds = [...new Set(stored.flatMap((a) => a.eventIds))].sort();
      assert.equal(eventIds.length, 2);
      const links = await page
        .getByTestId('award-event-link')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('href') ?? ''));
      assert.equal(links.length, 3);
      assert.deepEqual([...new Set(links)].sort(), eventIds.map((id) => `#/events/${encodeURIComponent(id)}`).sort());

      // an unknown resource: nothing written, the API's code shown
      await page
        .getByTestId('awards-file')
        .setInputFiles({ name: 'other.csv', mimeType: 'text/csv', buffer: Buffer.from(awardsCsv(first, 'NOPE')) });
      await page.getByTestId('awards-import').click();
      const refused = page.getByTestId('api-error');
      await refused.waitFor();
      assert.match((await refused.textContent()) ?? '', /GW_ERR_VALIDATION.*NOPE/);
      assert.equal(await page.getByTestId('award-row').count(), 3);
      await screenshot(page, 'market');

      // an award's event: not demand-response, so the M&V panel waits for "Measure"
      await page.getByTestId('award-event-link').first().click();
      await page.getByTestId('mv-idle').waitFor();
      assert.equal(await page.getByTestId('mv-panel').getAttribute('data-active'), 'false');
      assert.equal(await page.getByTestId('mv-report').count(), 0);
      // the one refused import is the only failed request the browser logged
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0] ?? '', /400/);
    } finally {
      await context.close();
    }
  });

  test('a viewer sees the market without forms, and the M&V panel of a DR event with the API figures', async () => {
    const { page, context, errors } = await openSignedIn(browser, fleet.address, 'viewer', '#/market');
    const api = (method: string, load: string) =>
      fleet.api<GatewayEventReport>(`/api/settlement/events/${MV_EVENT}/report?method=${method}&load=${load}`, {
        role: 'viewer',
      });
    try {
      await page.locator('[data-testid="aggregation-agg-1"][data-state="active"]').waitFor();
      await page.getByTestId('award-row').nth(2).waitFor();
      assert.equal(await page.getByTestId('awards-form').count(), 0);
      assert.equal(await page.getByTestId('aggregation-agg-1-registration').count(), 0);
      assert.equal(await page.locator('form').count(), 0);

      await page.goto(`${fleet.address}/#/events/${MV_EVENT}`);
      await page.locator('[data-testid="mv-report"][data-method="caiso-10in10"][data-load="net"]').waitFor();
      const report = await api('caiso-10in10', 'net');
      const [site] = report.sites;
      assert.ok(site?.baseline);
      assert.deepEqual(site.baseline.days, [
        '2026-11-03',
        '2026-11-04',
        '2026-11-05',
        '2026-11-06',
        '2026-11-09',
        '2026-11-10',
        '2026-11-11',
        '2026-11-12',
        '2026-11-13',
        '2026-11-16',
      ]);
      near(site.baseline.adjustment.applied, 1.1, 'ratio');
      near(site.settlement.deliveredKwh, 12, 'delivered');
      assert.equal(await dataValue(page, 'mv-site-site-a-days'), site.baseline.days.length);
      const adjustment = page.getByTestId('mv-site-site-a-adjustment');
      assert.equal(await adjustment.getAttribute('data-kind'), 'ratio');
      assert.equal(Number(await adjustment.getAttribute('data-applied')), site.baseline.adjustment.applied);
      assert.equal(await dataValue(page, 'mv-site-site-a-delivered'), site.settlement.deliveredKwh);
      assert.equal(await dataValue(page, 'mv-site-site-a-obligation'), 15);
      near(await dataValue(page, 'mv-site-site-a-pr'), 0.8, 'PR');
      near(await dataValue(page, 'mv-site-site-a-shortfall'), 3, 'shortfall');
      assert.equal(await dataValue(page, 'mv-site-site-a-penalty'), 0);
      near(await dataValue(page, 'mv-site-site-a-payment'), 3.6, 'payment');
      const [device] = report.devices;
      assert.equal(device?.deviceId, 'bat-1');
      assert.equal(await dataValue(page, 'mv-device-bat-1-delivered'), device.settlement.deliveredKwh);
      near(device.settlement.deliveredKwh, 12, 'bat-1 delivered');
      assert.deepEqual(
        report.aggregations.map((a) => [a.aggregationId, a.memberSiteIds]),
        [['agg-1', ['site-a']]],
      );
      assert.equal(
        await dataValue(page, 'mv-aggregation-agg-1-delivered'),
        report.aggregations[0]?.settlement.deliveredKwh,
      );
      // three hourly steps and the closing point at 18:00
      const chart = page.getByTestId('mv-site-site-a-chart');
      await chart.locator('canvas').waitFor();
      assert.equal(await chart.getAttribute('data-points-baseline'), '4');
      assert.equal(await chart.getAttribute('data-points-actual'), '4');
      await screenshot(page, 'event-mv');

      await page.getByTestId('mv-method').selectOption('pjm-high4of5');
      await page.locator('[data-testid="mv-report"][data-method="pjm-high4of5"][data-load="net"]').waitFor();
      const pjm = await api('pjm-high4of5', 'net');
      assert.equal(pjm.sites[0]?.baseline?.days.length, 4);
      assert.equal(await dataValue(page, 'mv-site-site-a-days'), 4);
      assert.equal(await page.getByTestId('mv-site-site-a-adjustment').getAttribute('data-kind'), 'additive');
      near(await dataValue(page, 'mv-site-site-a-delivered'), 12, 'pjm delivered');

      await page.getByTestId('mv-load').selectOption('gross');
      await page.locator('[data-testid="mv-report"][data-method="pjm-high4of5"][data-load="gross"]').waitFor();
      const gross = await api('pjm-high4of5', 'gross');
      near(gross.sites[0]?.settlement.deliveredKwh ?? Number.NaN, 0, 'gross delivered');
      assert.equal(await dataValue(page, 'mv-site-site-a-delivered'), gross.sites[0]?.settlement.deliveredKwh);
      near(await dataValue(page, 'mv-site-site-a-shortfall'), 15, 'gross shortfall');
      assert.ok(gross.notes.some((note) => /gross load/.test(note)));
      assert.match((await page.getByTestId('mv-notes').textContent()) ?? '', /site site-a: baseline on gross load/);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
