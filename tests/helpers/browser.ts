/**
 * Playwright (playwright-core) driving Debian's Chromium. One browser per test file; a fresh context
 * per test keeps cookies apart. Set E2E_HEADED=1 to watch (needs a display), CHROMIUM_PATH to override.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: process.env.E2E_HEADED !== '1',
  });
}

export async function newPage(browser: Browser, baseUrl: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: baseUrl, locale: 'ja-JP', timezoneId: 'Asia/Tokyo', acceptDownloads: true });
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(120_000);
  const page = await context.newPage();
  return { context, page };
}

/** Fill in and submit the staff login form (the caller decides what should follow). */
export async function submitLogin(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('メールアドレス').fill(email);
  await page.getByLabel('パスワード').fill(password);
  await page.getByRole('button', { name: 'ログイン' }).click();
}

/** Sign in through the login form as a staff member and wait for the envelope list. */
export async function loginAs(page: Page, email: string, password: string): Promise<void> {
  await submitLogin(page, email, password);
  await page.waitForURL('**/envelopes');
}
