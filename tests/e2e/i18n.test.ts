/**
 * 契約検索 (/search), 書面契約の登録 (/paper), 操作ログ (/audit) and the link-problem pages of /sign and
 * /download in English with the 「English」 switch (ts_lang=en), and back in Japanese with the same
 * labels as before (other e2e tests select on them).
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage, loginAs } from '../helpers/browser';
import { actorOf, createSentEnvelope, supplierSigner } from '../helpers/fixtures';

let app: AppServer;
let browser: Browser;
const MASTER_KEY = randomBytes(32).toString('base64');
const prevEnv = { DATA_DIR: process.env.DATA_DIR, MASTER_KEY: process.env.MASTER_KEY };
const SIGN_RE = /https?:\/\/[^\s"<>]+\/sign\/[A-Za-z0-9_-]{32,}/;

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer({ env: { MASTER_KEY } }), launchBrowser()]);
  // Envelopes created from this process use the app's storage and master key.
  process.env.DATA_DIR = app.dataDir;
  process.env.MASTER_KEY = MASTER_KEY;
  resetConfig();
});

afterAll(async () => {
  await browser?.close();
  if (app && process.env.E2E_DEBUG) console.log(app.output());
  await app?.stop();
  for (const [k, v] of Object.entries(prevEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetConfig();
});

const login = (page: Page) => loginAs(page, app.admin.email, app.admin.password);

describe('pages in English (ts_lang=en)', () => {
  it('/search, /paper and /audit switch to English and back', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await login(page);
      await page.goto('/search');
      expect(await page.locator('h1').textContent()).toBe('契約検索');
      await page.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Contract search');
      expect(await page.title()).toBe('Contract search | Tachiai Sign');
      expect(await page.getByRole('textbox', { name: 'Supplier', exact: true }).isVisible()).toBe(true);
      expect(await page.getByLabel('Transaction date (from)').isVisible()).toBe(true);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.waitForURL(/\/search\?/);
      await expect.poll(() => page.locator('#results-heading').textContent()).toBe('Results: 0');
      expect(await page.locator('main').textContent()).toContain('No contracts match.');

      await page.goto('/paper');
      expect(await page.locator('h1').textContent()).toBe('Register a paper contract');
      expect(await page.getByLabel(/Scanned contract \(PDF, up to \d+ MB\)/).isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Register the paper contract' }).isVisible()).toBe(true);

      await page.goto('/audit');
      expect(await page.locator('h1').textContent()).toBe('Audit log');
      const table = page.getByRole('table', { name: 'Audit log' });
      expect(await table.locator('th').allTextContents()).toEqual(['No.', 'Time', 'Action', 'By', 'Document ID', 'IP address', 'Details']);
      expect(await page.getByLabel('Action').locator('option').allTextContents()).toContain('Paper contract registered');

      // The public pages' problem texts too (an unknown link), with the same switch back.
      const unknown = 'x'.repeat(43);
      await page.goto(`/sign/${unknown}`);
      expect(await page.getByTestId('link-problem').locator('h1').textContent()).toBe('This link is not valid');
      await page.goto(`/download/${unknown}`);
      expect(await page.getByTestId('download-problem').locator('h1').textContent()).toBe('This link is not valid');
      await page.getByRole('button', { name: '日本語' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('このリンクは無効です');
      expect(page.url()).toContain(`/download/${unknown}`);

      await page.goto('/audit');
      await expect.poll(() => page.locator('h1').textContent()).toBe('操作ログ');
      expect(await page.getByLabel('操作', { exact: true }).locator('option').allTextContents()).toContain('書面契約を登録');
      await page.goto('/paper');
      expect(await page.getByRole('button', { name: '書面契約を登録する' }).isVisible()).toBe(true);
      expect(await page.getByLabel('取引年月日（契約日）').isVisible()).toBe(true);
    } finally {
      await context.close();
    }
  });

  it('the signing page gives the API errors in English too (wrong access code), Japanese unchanged', async () => {
    const org = await app.db.organization.findUniqueOrThrow({ where: { id: app.organizationId } });
    const user = await app.db.user.findUniqueOrThrow({ where: { id: app.admin.userId } });
    const signer = supplierSigner({ accessCode: 'kawaguchi-2026' });
    await createSentEnvelope(app.db, actorOf(user, org), { recipients: [signer] });
    const mail = await app.smtp.waitFor((m) => m.to.includes(signer.email.toLowerCase()) && SIGN_RE.test(m.text), 90_000);
    const signPath = new URL(SIGN_RE.exec(mail.text)![0]).pathname;
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await page.goto(signPath);
      await page.getByLabel('アクセスコード', { exact: true }).fill('wrong-code');
      await page.getByRole('button', { name: '確認する' }).click();
      const alert = page.getByTestId('auth-panel').getByRole('alert');
      await expect.poll(() => alert.textContent().catch(() => '')).toContain('アクセスコードが正しくありません（あと');

      await page.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => page.locator('#auth-title').textContent()).toBe('Enter the access code');
      await page.getByLabel('Access code', { exact: true }).fill('wrong-again');
      await page.getByRole('button', { name: 'Confirm' }).click();
      await expect.poll(() => alert.textContent().catch(() => '')).toMatch(/The access code is incorrect \(\d+ more incorrect attempts will lock it for a while\)\./);
      await page.getByLabel('Access code', { exact: true }).fill('kawaguchi-2026');
      await page.getByRole('button', { name: 'Confirm' }).click();
      await expect.poll(() => page.getByRole('button', { name: 'Review the documents' }).isVisible()).toBe(true);
    } finally {
      await context.close();
    }
  });
});
