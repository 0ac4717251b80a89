/**
 * Staff story in Chromium against the production build: wrong password, log in, create an envelope
 * with two PDFs (file picker and drag-and-drop) and two parties, see the bad-upload messages, send,
 * see it listed as sent, and receive the request emails on a real SMTP server.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPage, submitLogin } from '../helpers/browser';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { makeEncryptedPdf, makePdf, notAPdf } from '../helpers/fixtures';
import { createStaffUser, login as libLogin } from '../../lib/auth';

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

const login = (page: Page, password: string) => submitLogin(page, app.admin.email, password);

/** Drop files on the drop zone the way a browser does (DataTransfer with File objects). */
async function dropFiles(page: Page, files: { name: string; bytes: Uint8Array }[]) {
  const payload = files.map((f) => ({ name: f.name, b64: Buffer.from(f.bytes).toString('base64') }));
  const dt = await page.evaluateHandle((items) => {
    const d = new DataTransfer();
    for (const it of items) {
      const bin = atob(it.b64);
      const arr = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
      d.items.add(new File([arr], it.name, { type: 'application/pdf' }));
    }
    return d;
  }, payload);
  await page.getByTestId('dropzone').dispatchEvent('dragover', { dataTransfer: dt });
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: dt });
}

describe('staff envelopes (e2e)', () => {
  it('shows an error for a wrong password and stays on the login page', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await login(page, 'not-the-password');
      await expect.poll(() => page.locator('form [role=alert]').textContent()).toContain('メールアドレスまたはパスワードが正しくありません');
      expect(new URL(page.url()).pathname).toBe('/login');
      // Staff pages redirect to the login page without a session.
      await page.goto('/envelopes');
      expect(new URL(page.url()).pathname).toBe('/login');
    } finally {
      await context.close();
    }
  });

  it('creates an envelope with two PDFs and two parties, refuses bad uploads, sends it, and mails both signers', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await login(page, app.admin.password);
      await page.waitForURL('**/envelopes');
      await page.getByRole('link', { name: '新規作成' }).click();
      await page.waitForURL('**/envelopes/new');

      await page.getByLabel('案件名').fill('令和8年度 市道補修工事 請負契約');
      await page.getByLabel('取引先').fill('株式会社川口建設');
      await page.getByLabel('取引年月日').fill('2026-04-01');
      await page.getByLabel('取引金額（円）').fill('12,345,000');
      await page.getByLabel('契約番号').fill('KW-2026-001');

      // Two PDFs: one through the file picker, one dropped on the drop zone.
      const pdfA = await makePdf({ label: 'A', pages: 2 });
      const pdfB = await makePdf({ label: 'B' });
      await page.locator('#file-input').setInputFiles({ name: '契約書.pdf', mimeType: 'application/pdf', buffer: Buffer.from(pdfA) });
      await expect.poll(() => page.locator('[data-document-name="契約書.pdf"]').count(), { timeout: 60_000 }).toBe(1);
      await dropFiles(page, [{ name: '仕様書.pdf', bytes: pdfB }]);
      await expect.poll(() => page.locator('[data-document-name="仕様書.pdf"]').count(), { timeout: 60_000 }).toBe(1);

      // Bad uploads: each refused with a Japanese message naming the file; nothing is added.
      await page.locator('#file-input').setInputFiles([
        { name: 'メモ.pdf', mimeType: 'application/pdf', buffer: Buffer.from(notAPdf()) },
        { name: '暗号化.pdf', mimeType: 'application/pdf', buffer: Buffer.from(await makeEncryptedPdf()) },
        { name: '契約書のコピー.pdf', mimeType: 'application/pdf', buffer: Buffer.from(pdfA) },
      ]);
      const errors = page.locator('[data-upload-state="error"]');
      await expect.poll(() => errors.count(), { timeout: 60_000 }).toBe(3);
      const texts = await errors.allTextContents();
      expect(texts.find((t) => t.includes('メモ.pdf'))).toMatch(/PDF/);
      expect(texts.find((t) => t.includes('暗号化.pdf'))).toMatch(/パスワード|暗号/);
      expect(texts.find((t) => t.includes('契約書のコピー.pdf'))).toMatch(/既に/);
      expect(await page.locator('[data-document-name]').count()).toBe(2);

      // Parties: the supplier's 契約締結権限者 and a municipal signer, asked at the same time.
      await page.locator('#p-0-name').fill('川口 太郎');
      await page.locator('#p-0-email').fill('taro@kawaguchi-kensetsu.example');
      await page.locator('#p-0-company').fill('株式会社川口建設');
      await page.locator('#p-0-title').fill('代表取締役');
      await page.getByRole('button', { name: '＋ 市の署名者を追加' }).click();
      await page.locator('#p-1-name').fill('市長 花子');
      await page.locator('#p-1-email').fill('mayor@city.kawaguchi.example');
      await page.getByLabel('全員に同時に依頼する').check();

      // A field error first: an invalid email is reported next to the field.
      await page.locator('#p-1-email').fill('not-an-email');
      await page.getByRole('button', { name: '下書き保存' }).click();
      await expect.poll(() => page.locator('#pe-1-email').textContent()).toContain('メールアドレス');
      await page.locator('#p-1-email').fill('mayor@city.kawaguchi.example');
      // A character the 合意締結証明書 cannot print is refused at entry (𠮷 is fine: the fallback font has it).
      await page.locator('#p-0-name').fill('𠮷川 太郎😀');
      await page.getByRole('button', { name: '下書き保存' }).click();
      await expect.poll(() => page.locator('#pe-0-name').textContent()).toContain('印字できない文字が含まれています: 「😀」（U+1F600）');
      await page.locator('#p-0-name').fill('𠮷川 太郎');
      await page.getByRole('button', { name: '下書き保存' }).click();
      await expect.poll(() => page.getByTestId('editor-message').textContent()).toContain('下書きを保存しました');

      // Send, with the confirmation dialog.
      await page.getByRole('button', { name: '送信する' }).first().click();
      const dialog = page.getByRole('dialog');
      await expect.poll(() => dialog.isVisible()).toBe(true);
      await dialog.getByRole('button', { name: '送信する' }).click();
      await page.waitForURL(/\/envelopes\/[0-9a-f-]{36}\?notice=sent/);
      expect(await page.getByRole('status').first().textContent()).toContain('署名依頼を送信しました');

      // Listed as sent, with both parties requested.
      await page.goto('/envelopes');
      const row = page.locator('tr', { hasText: '令和8年度 市道補修工事 請負契約' });
      expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('sent');
      expect(await row.textContent()).toContain('送信済み');
      expect(await row.locator('[data-party-status="waiting"]').count()).toBe(2);

      // Each signer receives the request email (through the outbox and the worker) with a signing URL.
      for (const to of ['taro@kawaguchi-kensetsu.example', 'mayor@city.kawaguchi.example']) {
        const mail = await app.smtp.waitFor((m) => m.to.includes(to), 60_000);
        expect(mail.subject).toContain('【川口市】');
        expect(mail.subject).toContain('令和8年度 市道補修工事 請負契約');
        expect(mail.text).toMatch(new RegExp(`${app.baseUrl}/sign/[A-Za-z0-9_-]{22,}`));
      }

      // The detail page shows the audit trail in time order, including the send.
      await row.getByRole('link').first().click();
      await page.waitForURL(/\/envelopes\/[0-9a-f-]{36}$/);
      const actions = await page.locator('[data-audit-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-audit-action')));
      expect(actions.indexOf('envelope.created')).toBeLessThan(actions.indexOf('envelope.sent'));
      expect(actions).toContain('document.added');
    } catch (e) {
      await page.screenshot({ path: 'test-results/e2e-envelopes-failure.png', fullPage: true }).catch(() => {});
      console.log(app.output().slice(-6000));
      throw e;
    } finally {
      await context.close();
    }
  });

  it('scopes everything to the organisation (404 for another city), sets a safe cookie, switches language and logs out', async () => {
    const env = await app.db.envelope.findFirstOrThrow({ where: { organizationId: app.organizationId }, include: { documents: true } });
    const doc = env.documents[0];
    const other = await app.db.organization.create({ data: { name: '別の市', slug: 'other-city' } });
    await createStaffUser(app.db, { organizationId: other.id, email: 'staff@other.example', name: '他市 職員', password: 'other-city-password' });
    const { token } = await libLogin(app.db, { email: 'staff@other.example', password: 'other-city-password' }, { ip: '127.0.0.1' });
    const cookie = { Cookie: `ts_session=${token}`, Origin: app.baseUrl };
    for (const p of [`/envelopes/${env.id}`, `/envelopes/${env.id}/edit`, `/api/envelopes/${env.id}/documents/${doc.id}`]) {
      const r = await fetch(app.baseUrl + p, { headers: cookie, redirect: 'manual' });
      expect(r.status, p).toBe(404);
    }
    const up = await fetch(`${app.baseUrl}/api/envelopes/${env.id}/documents`, {
      method: 'POST',
      headers: { ...cookie, 'Content-Type': 'application/pdf', 'X-File-Name': 'x.pdf' },
      body: Buffer.from(await makePdf()),
    });
    expect(up.status).toBe(404);
    // Without a session the document route refuses; with a foreign Origin uploads are refused (CSRF).
    expect((await fetch(`${app.baseUrl}/api/envelopes/${env.id}/documents/${doc.id}`)).status).toBe(401);
    const csrf = await fetch(`${app.baseUrl}/api/envelopes/${env.id}/documents`, {
      method: 'POST',
      headers: { Cookie: `ts_session=${token}`, Origin: 'https://evil.example', 'Content-Type': 'application/pdf' },
      body: 'x',
    });
    expect(csrf.status).toBe(403);

    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await login(page, app.admin.password);
      await page.waitForURL('**/envelopes');
      const c = (await context.cookies()).find((x) => x.name === 'ts_session');
      expect(c).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
      // The owner can view the PDF, and the view is audited.
      const pdf = await page.request.get(`/api/envelopes/${env.id}/documents/${doc.id}`);
      expect(pdf.status()).toBe(200);
      expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');
      expect(await app.db.auditEvent.count({ where: { envelopeId: env.id, action: 'document.viewed' } })).toBeGreaterThan(0);
      // English, then back to Japanese.
      await page.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Envelopes');
      await page.getByRole('button', { name: '日本語' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('封筒一覧');
      // Logout deletes the session server-side.
      const before = await app.db.session.count({ where: { userId: app.admin.userId } });
      await page.getByRole('button', { name: 'ログアウト' }).click();
      await page.waitForURL('**/login?reason=logout');
      expect(await app.db.session.count({ where: { userId: app.admin.userId } })).toBe(before - 1);
      expect(await app.db.auditEvent.count({ where: { actorId: app.admin.userId, action: 'auth.logout' } })).toBe(1);
      await page.goto('/envelopes');
      expect(new URL(page.url()).pathname).toBe('/login');
    } finally {
      await context.close();
    }
  });
});
