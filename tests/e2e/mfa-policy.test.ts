/**
 * Organisation policy "require MFA" and recovery codes in Chromium against the production build: with
 * organizations.require_mfa on, a staff member without MFA who signs in lands on /account/mfa and is sent
 * back there from /envelopes until enrolled; enrolling shows 10 recovery codes once; after logging out,
 * one of them signs in at the code step instead of the authenticator code (once).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base32Decode, createStaffUser, totp } from '../../lib/auth';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage, submitLogin } from '../helpers/browser';

let app: AppServer;
let browser: Browser;
const USER = { email: 'policy@kawaguchi.example', password: 'policy-e2e-password-2026', name: '必須 太郎' };

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer(), launchBrowser()]);
  await createStaffUser(app.db, { organizationId: app.organizationId, ...USER });
  await app.db.organization.update({ where: { id: app.organizationId }, data: { requireMfa: true } });
});

afterAll(async () => {
  await browser?.close();
  if (app && process.env.E2E_DEBUG) console.log(app.output());
  await app?.stop();
});

const passwordStep = (page: Page) => submitLogin(page, USER.email, USER.password);

describe('require MFA policy + recovery codes (e2e)', () => {
  it('sends a staff member without MFA to /account/mfa until enrolled; a recovery code signs in once', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await passwordStep(page);
      await page.waitForURL('**/account/mfa**');
      await expect.poll(() => page.getByTestId('mfa-required').textContent()).toContain('二要素認証が必須です');
      await page.goto('/envelopes');
      expect(new URL(page.url()).pathname).toBe('/account/mfa');
      await page.goto('/search');
      expect(new URL(page.url()).pathname).toBe('/account/mfa');
      // Route handlers refuse too (same session cookie).
      const refused = await page.request.get('/api/search/export');
      expect(refused.status()).toBe(403);
      expect(await refused.text()).toContain('二要素認証が必須です');

      const secret = base32Decode((await page.getByTestId('mfa-secret').textContent())?.trim() ?? '');
      await page.getByLabel('確認コード（認証アプリ）').fill(totp(secret, Date.now()));
      await page.getByRole('button', { name: '有効にする' }).click();
      const list = page.getByTestId('mfa-recovery-codes');
      await list.waitFor();
      const codes = (await list.locator('li').allTextContents()).map((s) => s.trim());
      expect(codes).toHaveLength(10);
      for (const c of codes) expect(c).toMatch(/^[A-Z2-7]{5}-[A-Z2-7]{5}$/);

      // Enrolled: staff pages open again.
      await page.goto('/envelopes');
      expect(new URL(page.url()).pathname).toBe('/envelopes');
      expect((await page.request.get('/api/search/export')).status()).not.toBe(403);

      await page.getByRole('button', { name: 'ログアウト' }).click();
      await page.waitForURL('**/login**');
      await passwordStep(page);
      await page.getByLabel('確認コード（認証アプリ）').fill(codes[3]!);
      await page.getByRole('button', { name: '確認してログイン' }).click();
      await page.waitForURL('**/envelopes');
      const user = await app.db.user.findUniqueOrThrow({ where: { email: USER.email } });
      expect(await app.db.auditEvent.count({ where: { actorId: user.id, action: 'auth.recovery_code_used' } })).toBe(1);

      // The same recovery code does not work a second time.
      await page.getByRole('button', { name: 'ログアウト' }).click();
      await page.waitForURL('**/login**');
      await passwordStep(page);
      await page.getByLabel('確認コード（認証アプリ）').fill(codes[3]!);
      await page.getByRole('button', { name: '確認してログイン' }).click();
      await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('確認コードが正しくありません');
      expect(new URL(page.url()).pathname).toBe('/login');

      // The account page shows how many codes are left.
      await page.getByLabel('確認コード（認証アプリ）').fill(codes[4]!);
      await page.getByRole('button', { name: '確認してログイン' }).click();
      await page.waitForURL('**/envelopes');
      await page.goto('/account/mfa');
      await expect.poll(() => page.getByTestId('mfa-recovery-remaining').textContent()).toContain('8');
    } finally {
      await context.close();
    }
  });
});
