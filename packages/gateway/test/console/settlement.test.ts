/**
 * The console's Settlement page in a real browser (Debian's chromium driven by playwright-core)
 * against a gateway in this process (fleet.ts; settlement in UTC, 15-minute intervals, the
 * default). Seeds: bat-1's activePower over 2026-01-05 (UTC) every 5 minutes, 0 W except
 * 10:00-12:00 at +4000 W, with no reading in 10:30-10:45; a demand-response event of prog-peak on
 * site-a over 10:00-12:00 priced 0.3 USD/kWh. By hand: DR claims bat-1's 5 kW rating (1.25 kWh a
 * quarter hour), the meter gives 4 kW x 0.25 h = 1 kWh in each of the 7 metered quarter hours ->
 * 7 kWh x 0.3 = 2.10 USD revenue, no penalty, no wear (no plan); one reconciliation gap (10:30).
 * - an operator settles the day with "Settle day": the day's row and the program's row show the
 *   API's figures (2.10), the chart draws the program's revenue, and the gap count downloads the
 *   reconciliation CSV holding the 10:30 interval;
 * - a viewer sees the same day without the form.
 * Screenshot: test-artifacts/console/settlement.png.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Reading } from '@gridseam/model';
import { type Browser, chromium } from 'playwright-core';
import type { SettlementDaySummary } from '../../src/settlement/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { ARTIFACTS, CHROMIUM, dataValue, openSignedIn, screenshot, skipWithoutChromium } from './browser.ts';
import { type ConsoleFleet, ensureConsoleBuilt, PROGRAM_ID, startConsoleFleet } from './fleet.ts';

const DATE = '2026-01-05';
const DAY = Date.UTC(2026, 0, 5);
const at = (hour: number, minute = 0) => DAY + hour * 3_600_000 + minute * 60_000;

function dayOfReadings(): Reading[] {
  const readings: Reading[] = [];
  for (let minute = 0; minute < 24 * 60; minute += 5) {
    if (minute >= 10 * 60 + 30 && minute < 10 * 60 + 45) continue; // the missing quarter hour
    const value = minute >= 10 * 60 && minute < 12 * 60 ? 4000 : 0;
    readings.push({ deviceId: 'bat-1', ts: DAY + minute * 60_000, measurand: 'activePower', value, unit: 'W' });
  }
  return readings;
}

describe('the Settlement page of the console in chromium', { skip: skipWithoutChromium }, () => {
  const temp = useTempDir('gridseam-console-settlement-');
  let fleet: ConsoleFleet;
  let browser: Browser;

  before(async () => {
    await ensureConsoleBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    fleet = await startConsoleFleet(temp.dir());
    await fleet.gateway.store.telemetry.write(dayOfReadings());
    await fleet.api('/api/events', {
      method: 'POST',
      body: {
        id: 'evt-settle-dr',
        programId: PROGRAM_ID,
        intervals: [
          {
            start: at(10),
            durationS: 2 * 3600,
            signals: [
              { kind: 'loadLimit', value: 10_000 },
              { kind: 'price', value: 0.3, unit: 'USD/kWh' },
            ],
          },
        ],
        targets: { siteIds: ['site-a'] },
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  test('an operator settles a day; the page shows the API figures, the chart and the gaps CSV', async () => {
    const { page, context, errors } = await openSignedIn(browser, fleet.address, 'operator', '#/settlement');
    try {
      await page.getByTestId('settlement-none').waitFor();
      await page.getByRole('link', { name: 'Settlement' }).waitFor();
      await page.getByTestId('settlement-date').fill(DATE);
      await page.getByTestId('settlement-settle').click();
      const settled = page.getByTestId('settlement-settled');
      await settled.waitFor();
      assert.equal(await settled.getAttribute('data-date'), DATE);

      const row = `settlement-day-${DATE}`;
      await page.getByTestId(row).waitFor();
      const [day] = await fleet.api<SettlementDaySummary[]>('/api/settlement/days', { role: 'viewer' });
      assert.ok(day);
      assert.equal(day.date, DATE);
      assert.ok(Math.abs(day.totals.revenueUsd - 2.1) < 1e-9, `revenue ${day.totals.revenueUsd}`);
      assert.equal(await dataValue(page, `${row}-revenue`), day.totals.revenueUsd);
      assert.equal(await dataValue(page, `${row}-penalties`), 0);
      assert.equal(await dataValue(page, `${row}-wear`), 0);
      assert.equal(await dataValue(page, `${row}-gaps`), 1);
      assert.equal(await dataValue(page, 'settlement-revenue'), day.totals.revenueUsd);
      assert.equal(await dataValue(page, 'settlement-gaps'), 1);
      const program = `settlement-program-${DATE}-${PROGRAM_ID}`;
      assert.equal(await dataValue(page, `${program}-revenue`), day.programs[0]?.revenueUsd);
      assert.deepEqual(
        day.programs.map((p) => p.programId),
        [PROGRAM_ID],
      );

      const chart = page.getByTestId('settlement-chart');
      await chart.locator('canvas').waitFor();
      assert.equal(await chart.getAttribute(`data-points-revenue-${PROGRAM_ID}`), '2', 'one day: a flat segment');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByTestId(`${row}-reconciliation`).click(),
      ]);
      assert.equal(download.suggestedFilename(), `settlement-${DATE}-reconciliation.csv`);
      const csv = await readFile(await download.path(), 'utf8');
      const rows = csv.split('\r\n');
      assert.equal(rows[0], 'device_id,start_utc,start_ms,kind,settled_kwh,metered_kwh,message');
      // DR claimed 5 kW x 0.25 h = 1.25 kWh in the quarter hour the meter missed
      assert.equal(
        rows[1],
        `bat-1,2026-01-05T10:30:00.000Z,${at(10, 30)},unmetered,1.25,0,no telemetry for bat-1 in this interval: 1.250 kWh claimed cannot be settled`,
      );
      await screenshot(page, 'settlement');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a viewer sees the settled day without the settle form', async () => {
    const { page, context, errors } = await openSignedIn(browser, fleet.address, 'viewer', '#/settlement');
    try {
      await page.getByTestId(`settlement-day-${DATE}`).waitFor();
      assert.equal(await page.getByTestId('settlement-form').count(), 0);
      assert.equal(await dataValue(page, `settlement-day-${DATE}-gaps`), 1);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
