/**
 * 管理 (/admin) against the real app: the admin adds a staff member (initial password shown once), signs
 * out, and the new member signs in with it — without 管理 / 操作ログ in the menu, and /admin is a 404 for
 * them. The settings form refuses an IP allowlist that would lock the admin out. The 操作ログ panel shows
 * the last chain verification, its time-stamp and a break.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEventHash, verifyAndAnchorAuditChains } from '../../lib/audit';
import { createStaffUser } from '../../lib/auth';
import { resetConfig } from '../../lib/config';
import { createTsaClient } from '../../lib/tsa';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage, loginAs } from '../helpers/browser';

let app: AppServer;
let browser: Browser;
// The test process verifies the app's 操作ログ too: same master key (→ same chain key).
const MASTER_KEY = randomBytes(32).toString('base64');
const prevKey = process.env.MASTER_KEY;

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer({ env: { MASTER_KEY } }), launchBrowser()]);
  process.env.MASTER_KEY = MASTER_KEY;
  resetConfig();
});

afterAll(async () => {
  if (prevKey === undefined) delete process.env.MASTER_KEY;
  else process.env.MASTER_KEY = prevKey;
  resetConfig();
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

  it('操作ログ panel: the last verification (result, head, time-stamp) and, after a superuser edit, the first broken event', async () => {
    // The app's database role is the restricted one (no warning at start-up, none on the page).
    expect(app.output()).not.toMatch(/can modify the 操作ログ|same database role/);
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await login(page, app.admin.email, app.admin.password);
      await page.goto('/admin');
      const panel = page.getByTestId('audit-integrity');
      await expect(panel.getByRole('heading', { name: '操作ログの改ざん検証' }).isVisible()).resolves.toBe(true);
      await expect(panel.textContent()).resolves.toContain('まだ検証されていません');
      await expect(panel.getByRole('alert').count()).resolves.toBe(0);

      // The daily task, time-stamping with the app's built-in TSA over HTTP.
      const root = new Uint8Array(await (await fetch(`${app.baseUrl}/pki/root.crt`)).arrayBuffer());
      const tsa = createTsaClient({ url: `${app.baseUrl}/api/tsa` });
      const first = await verifyAndAnchorAuditChains(app.db, { tsa, trustAnchors: [root] });
      expect(first).toMatchObject({ verified: 1, broken: 0, anchored: 1 });
      await page.reload();
      await expect(panel.getByTestId('audit-result').textContent()).resolves.toMatch(/✓ 異常なし（\d+件を検証）/);
      await expect(panel.getByTestId('audit-anchored').textContent()).resolves.toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}/);
      const v = await app.db.auditVerification.findFirstOrThrow({ where: { organizationId: app.organizationId } });
      await expect(panel.textContent()).resolves.toContain(`番号 ${v.headEventId}（ハッシュ値 ${v.headHash!.slice(0, 16)}…）`);

      // A superuser rewrites a login event and recomputes the chain with plain SHA-256.
      const login1 = await app.db.auditEvent.findFirstOrThrow({ where: { organizationId: app.organizationId, action: 'auth.login' }, orderBy: { id: 'asc' } });
      const rows = await app.ownerDb.auditEvent.findMany({ where: { organizationId: app.organizationId, id: { gte: login1.id } }, orderBy: { id: 'asc' } });
      let prev = login1.prevHash;
      await app.ownerDb.$transaction(async (tx) => {
        await tx.$executeRawUnsafe('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
        for (const r of rows) {
          const e = r.id === login1.id ? { ...r, ip: '192.0.2.99' } : r;
          const hash = auditEventHash(1, null, prev, e);
          await tx.auditEvent.update({ where: { id: r.id }, data: { ip: e.ip, prevHash: prev, hash } });
          prev = hash;
        }
        await tx.$executeRawUnsafe('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete');
      });
      const second = await verifyAndAnchorAuditChains(app.db, { tsa, trustAnchors: [root], force: true });
      expect(second).toMatchObject({ broken: 1, anchored: 0 });
      await page.reload();
      await expect(panel.getByTestId('audit-result').textContent()).resolves.toBe('✕ 改ざんを検出しました');
      await expect(panel.getByTestId('audit-first-broken').textContent()).resolves.toMatch(
        new RegExp(`^番号 ${login1.id}（ログイン、.+）: (記録の内容がハッシュ値と一致しません|鍵付きの記録の後に鍵なしの記録があります)`),
      );
    } finally {
      await context.close();
    }
  });
});
