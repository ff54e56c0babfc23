/**
 * What the console's browser tests share: Debian's chromium driven by playwright-core at
 * 1366x768, a signed-in page that collects console errors, full-page screenshots into
 * test-artifacts/console/NAME.png, and the numbers the pages carry in `data-value`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT, TOKENS } from './fleet.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts/console');
export const VIEWPORT = { width: 1366, height: 768 };
/** Playwright's own wait bound per step: only stops a broken test from hanging. */
export const STEP_TIMEOUT_MS = 20_000;

/** The reason to skip browser tests, or false when chromium is there. */
export const skipWithoutChromium = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (apt-get install chromium)`;

export interface OpenPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
}

/** A fresh browser context (its own sessionStorage) signed in through `#token=`, collecting console errors. */
export async function openSignedIn(
  browser: Browser,
  address: string,
  role: keyof typeof TOKENS,
  route = '#/',
): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${address}/#token=${TOKENS[role]}`);
  await page.getByTestId('session-role').waitFor();
  if (route !== '#/') await page.goto(`${address}/${route}`);
  return { page, context, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The number an element carries in `data-value`. */
export async function dataValue(page: Page, testId: string): Promise<number> {
  const raw = await page.getByTestId(testId).getAttribute('data-value');
  assert.ok(raw !== null && raw !== '', `${testId} has a data-value`);
  return Number(raw);
}
