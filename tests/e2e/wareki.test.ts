/**
 * The organisation setting 和暦 (organizations.show_wareki): with it on, the signing page and the
 * staff pages show the 和暦 date beside each 西暦 date; with it off, 西暦 only. The signing page also
 * switches to English with the same ts_lang switch as the staff pages (the domain's Japanese button
 * labels stay exactly as they are in Japanese).
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
// 2027-01-15 12:00 in Tokyo.
const DEADLINE = new Date('2027-01-15T03:00:00Z');

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer({ env: { MASTER_KEY } }), launchBrowser()]);
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

const setWareki = (on: boolean) => app.db.organization.update({ where: { id: app.organizationId }, data: { showWareki: on } });

describe('和暦 beside 西暦 (organisation setting)', () => {
  it('signing page and staff pages follow organizations.show_wareki; the signing page switches to English', async () => {
    const org = await app.db.organization.findUniqueOrThrow({ where: { id: app.organizationId } });
    const user = await app.db.user.findUniqueOrThrow({ where: { id: app.admin.userId } });
    const signer = supplierSigner();
    const env = await createSentEnvelope(app.db, actorOf(user, org), { recipients: [signer] });
    await app.db.envelope.update({ where: { id: env.id }, data: { expiresAt: DEADLINE } });
    const mail = await app.smtp.waitFor((m) => m.to.includes(signer.email.toLowerCase()) && SIGN_RE.test(m.text), 90_000);
    const signPath = new URL(SIGN_RE.exec(mail.text)![0]).pathname;

    await setWareki(true);
    const signer1 = await newPage(browser, app.baseUrl);
    const staff = await newPage(browser, app.baseUrl);
    try {
      const { page } = signer1;
      await page.goto(signPath);
      await expect.poll(() => page.getByTestId('envelope-title').isVisible()).toBe(true);
      const summary = () => page.locator('#env-title').locator('xpath=..').textContent();
      expect(await summary()).toContain('署名期限2027/01/15 12:00:00（令和9年1月15日）');
      expect(await page.getByRole('button', { name: '文書を確認する' }).isVisible()).toBe(true);

      // English: headings, labels and buttons; the date keeps its 和暦 (the organisation's choice).
      await page.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('en');
      expect(await summary()).toContain('Request for signature');
      expect(await summary()).toContain('Sign by2027-01-15, 12:00:00 (令和9年1月15日)');
      expect(await page.getByRole('button', { name: 'Review the documents' }).isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Complete', exact: true }).isVisible()).toBe(true);
      await page.getByRole('button', { name: '日本語' }).click();
      await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('ja');

      // Off: 西暦 only.
      await setWareki(false);
      await page.reload();
      await expect.poll(() => summary()).toContain('署名期限2027/01/15 12:00:00');
      expect(await summary()).not.toContain('令和9年1月15日');

      // Staff: the envelope detail (署名期限, 送信日時) and the list (更新日時).
      await setWareki(true);
      await login(staff.page);
      const row = staff.page.locator('tbody tr', { hasText: env.documentNumber });
      await expect.poll(() => row.textContent()).toMatch(/（令和\d+年\d+月\d+日）/);
      await staff.page.goto(`/envelopes/${env.id}`);
      const details = await staff.page.locator('main dl').first().textContent();
      expect(details).toContain('2027/01/15 12:00:00（令和9年1月15日）');
      expect(details).toMatch(/送信日時\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}（令和\d+年\d+月\d+日）/);

      await setWareki(false);
      await staff.page.reload();
      const plain = await staff.page.locator('main dl').first().textContent();
      expect(plain).toContain('2027/01/15 12:00:00');
      expect(plain).not.toContain('令和9年1月15日');
    } finally {
      await signer1.context.close();
      await staff.context.close();
    }
  });
});
