/**
 * Staff MFA in Chromium against the production build: sign in, open 二要素認証 from the header, read the
 * shown secret, confirm with a code computed here (a wrong one first), log out, and sign in again with
 * password + 確認コード（認証アプリ）. Without the code there is no session.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base32Decode, createStaffUser, totp } from '../../lib/auth';
import { hashToken } from '../../lib/security';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage, submitLogin } from '../helpers/browser';

let app: AppServer;
let browser: Browser;
const USER = { email: 'mfa@kawaguchi.example', password: 'mfa-e2e-password-2026', name: '二要素 花子' };

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer(), launchBrowser()]);
  await createStaffUser(app.db, { organizationId: app.organizationId, ...USER });
});

afterAll(async () => {
  await browser?.close();
  if (app && process.env.E2E_DEBUG) console.log(app.output());
  await app?.stop();
});

const passwordStep = (page: Page) => submitLogin(page, USER.email, USER.password);

describe('staff MFA (e2e)', () => {
  it('enrols with the shown secret, then needs password + authenticator code to sign in', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await passwordStep(page);
      await page.waitForURL('**/envelopes');
      await page.getByRole('link', { name: '二要素認証' }).click();
      await page.waitForURL('**/account/mfa');
      const shown = (await page.getByTestId('mfa-secret').textContent())?.trim() ?? '';
      expect(shown).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL((await page.getByTestId('mfa-uri').textContent())?.trim() ?? '');
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.searchParams.get('secret')).toBe(shown);
      const secret = base32Decode(shown);

      // A wrong code is refused and nothing is stored.
      const now = totp(secret, Date.now());
      await page.getByLabel('確認コード（認証アプリ）').fill(now === '000000' ? '111111' : '000000');
      await page.getByRole('button', { name: '有効にする' }).click();
      await expect.poll(() => page.locator('#code-error').textContent()).toContain('確認コードが正しくありません');
      expect((await app.db.user.findUniqueOrThrow({ where: { email: USER.email } })).mfaSecret).toBeNull();

      await page.getByLabel('確認コード（認証アプリ）').fill(totp(secret, Date.now()));
      await page.getByRole('button', { name: '有効にする' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toContain('二要素認証を有効にしました');
      const row = await app.db.user.findUniqueOrThrow({ where: { email: USER.email } });
      expect(row.mfaSecret).toMatch(/^v1:/);
      expect(row.mfaSecret).not.toContain(shown);
      expect(app.output()).not.toContain(shown);

      await page.getByRole('button', { name: 'ログアウト' }).click();
      await page.waitForURL('**/login**');

      // Password alone: the code step, no session cookie.
      await passwordStep(page);
      const code = page.getByLabel('確認コード（認証アプリ）');
      await code.waitFor();
      expect(await page.getByLabel('パスワード').count()).toBe(0);
      expect((await context.cookies()).some((c) => c.name === 'ts_session')).toBe(false);
      await page.goto('/envelopes');
      expect(new URL(page.url()).pathname).toBe('/login');

      await passwordStep(page);
      // The code of the next step: inside the ±1 window and newer than the step used at enrolment.
      await page.getByLabel('確認コード（認証アプリ）').fill(totp(secret, Date.now() + 30_000));
      await page.getByRole('button', { name: '確認してログイン' }).click();
      await page.waitForURL('**/envelopes');
      const cookie = (await context.cookies()).find((c) => c.name === 'ts_session');
      expect(cookie).toBeDefined();
      const session = await app.db.session.findUnique({ where: { tokenHash: hashToken(cookie!.value) } });
      expect(session?.userId).toBe(row.id);
      const ev = await app.db.auditEvent.findFirst({ where: { actorId: row.id, action: 'auth.login' }, orderBy: { createdAt: 'desc' } });
      expect(ev?.details).toMatchObject({ mfa: 'totp' });
    } finally {
      await context.close();
    }
  });
});
