/**
 * 管理 (/admin) against the real app: the admin adds a staff member (initial password shown once), signs
 * out, and the new member signs in with it — without 管理 / 操作ログ in the menu, and /admin is a 404 for
 * them. The settings form refuses an IP allowlist that would lock the admin out.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaffUser } from '../../lib/auth';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage, loginAs } from '../helpers/browser';

let app: AppServer;
let browser: Browser;

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer(), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  if (app && process.env.E2E_DEBUG) console.log(app.output());
  await app?.stop();
});

const login = (page: Page, email: string, password: string) => loginAs(page, email, password);

describe('管理 (e2e)', () => {
  it('admin creates a staff user who then signs in without admin menus; staff get 404 on /admin', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await login(page, app.admin.email, app.admin.password);
      const nav = page.getByRole('navigation', { name: 'メイン' });
      await nav.getByRole('link', { name: '管理', exact: true }).click();
      await page.waitForURL('**/admin');
      await expect(page.getByRole('heading', { name: '管理', level: 1 }).isVisible()).resolves.toBe(true);

      // Self-lockout: a list without the admin's own address is refused, nothing saved.
      const settings = page.getByRole('form', { name: '組織の設定' });
      await settings.getByLabel(/接続を許可するIPアドレス/).fill('198.51.100.0/24');
      await settings.getByRole('button', { name: '設定を保存する' }).click();
      await expect(settings.getByRole('alert').textContent()).resolves.toMatch(/ログインできなくなります/);
      expect((await app.db.organization.findUniqueOrThrow({ where: { id: app.organizationId } })).ipAllowlist).toEqual([]);

      const create = page.getByRole('form', { name: '職員を追加' });
      await create.getByLabel('メールアドレス').fill('new.staff@kawaguchi.example');
      await create.getByLabel('氏名').fill('新人 職員');
      await create.getByLabel('所属・役職（任意）').fill('契約課');
      await create.getByRole('button', { name: '追加する' }).click();
      const pw = create.getByTestId('one-time-password');
      await pw.waitFor();
      const password = (await pw.textContent())!.trim();
      expect(password.length).toBeGreaterThanOrEqual(12);
      await page.getByRole('cell', { name: 'new.staff@kawaguchi.example', exact: true }).waitFor();
      const user = await app.db.user.findUniqueOrThrow({ where: { email: 'new.staff@kawaguchi.example' } });
      expect(user).toMatchObject({ organizationId: app.organizationId, role: 'staff', name: '新人 職員', title: '契約課' });
      expect(await app.db.auditEvent.count({ where: { organizationId: app.organizationId, action: 'user.created' } })).toBe(1);

      await page.getByRole('button', { name: 'ログアウト' }).click();
      await page.waitForURL('**/login**');

      await login(page, 'new.staff@kawaguchi.example', password);
      await expect(page.getByRole('navigation', { name: 'メイン' }).getByRole('link', { name: '封筒一覧' }).isVisible()).resolves.toBe(true);
      await expect(page.getByRole('navigation', { name: 'メイン' }).getByRole('link', { name: '管理', exact: true }).count()).resolves.toBe(0);
      await expect(page.getByRole('navigation', { name: 'メイン' }).getByRole('link', { name: '操作ログ' }).count()).resolves.toBe(0);
      const r = await page.goto('/admin');
      expect(r?.status() === 404 || !page.url().endsWith('/admin')).toBe(true);
      await expect(page.getByRole('heading', { name: '職員アカウント' }).count()).resolves.toBe(0);
    } finally {
      await context.close();
    }
  });
  it('admin resets a password (shown once) and disables a user, whose open session then ends', async () => {
    await createStaffUser(app.db, { organizationId: app.organizationId, email: 'leaver@kawaguchi.example', name: '退職 予定', password: 'leaver-password-123' });
    const staff = await newPage(browser, app.baseUrl);
    const admin = await newPage(browser, app.baseUrl);
    try {
      await login(staff.page, 'leaver@kawaguchi.example', 'leaver-password-123');
      await login(admin.page, app.admin.email, app.admin.password);
      await admin.page.goto('/admin');
      const row = admin.page.getByRole('form', { name: 'leaver@kawaguchi.example 操作' });
      await row.getByRole('button', { name: 'パスワードを再設定' }).click();
      const pw = row.getByTestId('one-time-password');
      await pw.waitFor();
      const password = (await pw.textContent())!.trim();
      expect(password.length).toBeGreaterThanOrEqual(12);
      // The reset ended the open session.
      await staff.page.goto('/envelopes');
      await staff.page.waitForURL('**/login**');
      await login(staff.page, 'leaver@kawaguchi.example', password);

      await row.getByRole('button', { name: '無効にする' }).click();
      await row.getByRole('button', { name: '有効にする' }).waitFor();
      expect((await app.db.user.findUniqueOrThrow({ where: { email: 'leaver@kawaguchi.example' } })).disabledAt).not.toBeNull();
      await staff.page.goto('/envelopes');
      await staff.page.waitForURL('**/login**');
      const actions = await app.db.auditEvent.findMany({ where: { organizationId: app.organizationId, action: { in: ['user.password_reset', 'user.disabled'] } } });
      expect(actions.map((a) => a.action).sort()).toEqual(['user.disabled', 'user.password_reset']);
    } finally {
      await staff.context.close();
      await admin.context.close();
    }
  });
});
