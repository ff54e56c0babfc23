/**
 * The console's dispatch views in a real browser (Debian's chromium driven by playwright-core)
 * against a gateway in this process running the rolling-horizon dispatch (fleet.ts with
 * `dispatch: true`: the shipped CAISO sample prices with regulation, a 5 s cadence, bat-1 and
 * bat-2 planned, bat-3 left out for want of a SoC reading):
 * - the Dispatch page, for a viewer, shows the latest plan: its fleet revenue per product and in
 *   total are GET /api/dispatch/plan's for the same plan, the batteries planned and the one left
 *   out with its reason, and a history chart of recent plans;
 * - a battery's page, reached from the Dispatch page, draws the plan chart with points for both
 *   planned and actual SoC and planned power, and its revenue is the battery's in
 *   GET /api/devices/{id}/plan for the same plan;
 * - the left-out battery's page says it was left out and why;
 * - a failed plan shows its infeasibility diagnosis in words. This fleet's config cannot make the
 *   optimiser infeasible (no commitments), so the browser's GET /api/dispatch/plan is answered with
 *   the real latest plan turned into the failed shape src/dispatch/documents.ts stores
 *   (failedDocument: no batteries, zero totals, no solver, `failure` with the diagnosis).
 * Plans are re-made every 5 s, so each comparison reads the page's plan id and numbers together
 * and retries (bounded) until the API's latest plan is the one the page shows.
 * Screenshots: test-artifacts/console/dispatch.png, device-plan.png and dispatch-failed.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { InfeasibilityDiagnosis } from '@gridseam/dispatch';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { DispatchPlanDocument } from '../../src/dispatch/types.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { ARTIFACTS, CHROMIUM, openSignedIn, screenshot, skipWithoutChromium } from './browser.ts';
import { type ConsoleFleet, ensureConsoleBuilt, eventually, startConsoleFleet, type TOKENS } from './fleet.ts';

type Revenue = Record<string, number>;

interface PlanBody {
  id: string;
  status: string;
  revenueUsd: Revenue;
  batteries: Array<{ deviceId: string; revenueUsd: Revenue }>;
  leftOut: Array<{ deviceId: string; reason: string }>;
}

interface DevicePlanBody {
  planId: string;
  battery?: { revenueUsd: Revenue };
  planned: unknown[];
  actual: { socPct: unknown[] };
}

/** What a page shows of a plan, read in one go: its id and every `data-value` under the given test ids. */
interface Shown {
  planId: string | undefined;
  values: Record<string, number>;
}

async function shown(page: Page, planTestId: string, valuePrefix: string): Promise<Shown> {
  // one evaluation: the id and the numbers come from the same rendering
  const rows = await page
    .locator(`[data-testid="${planTestId}"], [data-testid^="${valuePrefix}"][data-value]`)
    .evaluateAll((elements) =>
      elements.map((element) => [
        element.getAttribute('data-testid'),
        element.getAttribute('data-plan-id'),
        element.getAttribute('data-value'),
      ]),
    );
  const result: Shown = { planId: undefined, values: {} };
  for (const [testId, planId, value] of rows) {
    if (testId === planTestId) result.planId = planId ?? undefined;
    else if (testId && value !== null && value !== '') result.values[testId] = Number(value);
  }
  return result;
}

const sum = (revenue: Revenue) => Object.values(revenue).reduce((total, value) => total + value, 0);

function assertClose(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
}

describe('dispatch views of the console in chromium', { skip: skipWithoutChromium }, () => {
  const temp = useTempDir('gridseam-console-dispatch-');
  let fleet: ConsoleFleet;
  let browser: Browser;

  before(async () => {
    await ensureConsoleBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    fleet = await startConsoleFleet(temp.dir(), { dispatch: true });
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  const open = (role: keyof typeof TOKENS, route: string) => openSignedIn(browser, fleet.address, role, route);

  test("the Dispatch page shows the latest plan with the API's fleet revenue, its batteries and the one left out", async () => {
    const { page, context, errors } = await open('viewer', '#/dispatch');
    try {
      await page.getByTestId('dispatch-plan').waitFor();
      const { plan, values } = await eventually(async () => {
        const plan = await fleet.api<PlanBody>('/api/dispatch/plan', { role: 'viewer' });
        const page_ = await shown(page, 'dispatch-plan', 'dispatch-revenue-');
        return page_.planId === plan.id ? { plan, values: page_.values } : undefined;
      }, 'the page showing the API latest plan');
      assert.equal(plan.status, 'ok');
      assert.deepEqual(Object.keys(plan.revenueUsd).sort(), ['energy', 'regDown', 'regUp'], 'energy and regulation');
      for (const [product, usd] of Object.entries(plan.revenueUsd))
        assertClose(values[`dispatch-revenue-${product}`], usd, `${product} revenue`);
      assertClose(values['dispatch-revenue-total'], sum(plan.revenueUsd), 'fleet revenue');
      assert.ok(sum(plan.revenueUsd) > 0, 'the plan earns something');

      assert.deepEqual(plan.batteries.map((b) => b.deviceId).sort(), ['bat-1', 'bat-2']);
      for (const battery of plan.batteries) await page.getByTestId(`dispatch-battery-${battery.deviceId}`).waitFor();
      assert.deepEqual(plan.leftOut, [{ deviceId: 'bat-3', reason: 'no stateOfCharge reading yet' }]);
      assert.match(
        (await page.getByTestId('dispatch-leftout-bat-3').textContent()) ?? '',
        /no stateOfCharge reading yet/,
      );
      const history = page.getByTestId('dispatch-history-chart');
      await history.locator('canvas').waitFor();
      assert.ok(Number(await history.getAttribute('data-points-revenue')) > 0, 'recent plans on the history chart');
      await screenshot(page, 'dispatch');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test("a battery's page, reached from the Dispatch page, draws planned against actual SoC and its revenue", async () => {
    const { page, context, errors } = await open('viewer', '#/dispatch');
    try {
      await page.getByTestId('dispatch-battery-bat-1').getByRole('link', { name: 'bat-1' }).click();
      await page.getByTestId('device-plan').waitFor();
      assert.equal(new URL(page.url()).hash, '#/devices/bat-1');

      const soc = page.getByTestId('plan-chart-soc');
      await soc.locator('canvas').waitFor();
      assert.ok(Number(await soc.getAttribute('data-points-planned')) > 0, 'planned SoC points');
      assert.ok(Number(await soc.getAttribute('data-points-actual')) > 0, 'actual SoC points');
      const power = page.getByTestId('plan-chart-power');
      assert.ok(Number(await power.getAttribute('data-points-planned')) > 0, 'planned power points');
      assert.ok(Number(await power.getAttribute('data-points-price')) > 0, 'the energy price on the power chart');

      const { view, values } = await eventually(async () => {
        const view = await fleet.api<DevicePlanBody>('/api/devices/bat-1/plan', { role: 'viewer' });
        const page_ = await shown(page, 'device-plan', 'device-plan-revenue');
        return page_.planId === view.planId ? { view, values: page_.values } : undefined;
      }, 'the battery page showing the API latest plan');
      assert.ok(view.battery, 'bat-1 is in the plan');
      assert.ok(view.planned.length > 0 && view.actual.socPct.length > 0, 'the API has planned and actual SoC');
      for (const [product, usd] of Object.entries(view.battery.revenueUsd))
        assertClose(values[`device-plan-revenue-${product}`], usd, `bat-1 ${product} revenue`);
      assertClose(values['device-plan-revenue'], sum(view.battery.revenueUsd), 'bat-1 revenue');
      await screenshot(page, 'device-plan');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test("a battery left out of the plan says so on its page, with the plan's reason", async () => {
    const { page, context, errors } = await open('viewer', '#/devices/bat-3');
    try {
      const note = page.getByTestId('device-plan-left-out');
      await note.waitFor();
      assert.match((await note.textContent()) ?? '', /Left out of the latest plan.*no stateOfCharge reading yet/);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a failed plan shows the infeasibility diagnosis in words', async () => {
    const { page, context, errors } = await open('viewer', '#/');
    try {
      const latest = await fleet.api<DispatchPlanDocument>('/api/dispatch/plan', { role: 'viewer' });
      const diagnosis: InfeasibilityDiagnosis = {
        constraint: 'commitment',
        subject: 'evening-peak',
        interval: 2,
        message: 'the batteries can hold at most 8.3 kW of net discharge in interval 2; the commitment asks for 10 kW',
      };
      const { solver: _solver, ...rest } = latest;
      const failed: DispatchPlanDocument = {
        ...rest,
        status: 'failed',
        batteries: [],
        events: [],
        revenueUsd: { energy: 0 },
        degradationCostUsd: 0,
        objectiveUsd: 0,
        penaltyUsd: 0,
        wear: { lifeConsumed: 0, cycles: 0 },
        failure: { code: 'GW_ERR_INFEASIBLE', message: diagnosis.message, diagnosis },
      };
      await page.route('**/api/dispatch/plan', (route) => route.fulfill({ json: failed }));
      await page.goto(`${fleet.address}/#/dispatch`);
      const failure = page.getByTestId('dispatch-failure');
      await failure.waitFor();
      const text = (await failure.textContent()) ?? '';
      assert.match(
        text,
        /Infeasible: a firm commitment cannot be met \(evening-peak\) in the interval \d\d:\d\d–\d\d:\d\d \(index 2\)\. The batteries can hold/,
      );
      assert.ok(text.includes(diagnosis.message.slice(1)), text);
      assert.match(text, /GW_ERR_INFEASIBLE/);
      assert.equal(await page.getByTestId('dispatch-plan').getAttribute('data-status'), 'failed');
      assert.equal(await page.getByTestId('dispatch-status').textContent(), 'failed');
      assert.equal(await page.getByTestId('dispatch-revenue-total').count(), 0, 'no revenue shown for a failed plan');
      await page.getByTestId('dispatch-leftout-bat-3').waitFor();
      await screenshot(page, 'dispatch-failed');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
