/**
 * The whole story in Chromium against the production build (app + worker + real SMTP):
 * staff create an envelope with two PDFs, a supplier signer then a municipal signer (in order);
 * each signer opens the URL from the email received by the SMTP server, reads the documents
 * (pdf.js, tabs), completes; the completion email's download link serves the sealed PDFs and the
 * 合意締結証明書, each verified by our verifier and by pdfsig + openssl. Then double completion
 * from two browser contexts: one seal, one set of emails.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { SEAL_JOB } from '../../lib/envelopes';
import { verifyPdf } from '../../lib/pades';
import { derToPem, getRootCertificate } from '../../lib/pki';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage, loginAs } from '../helpers/browser';
import { createOrgWithStaff, createSentEnvelope, makePdf, supplierSigner } from '../helpers/fixtures';
import { independentlyVerify } from '../helpers/independent-verify';

let app: AppServer;
let browser: Browser;
const MASTER_KEY = randomBytes(32).toString('base64');
const prevEnv = { DATA_DIR: process.env.DATA_DIR, MASTER_KEY: process.env.MASTER_KEY };

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer({ env: { MASTER_KEY } }), launchBrowser()]);
  // This process shares the app's encrypted storage and dev PKI (fixtures, root certificate).
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

const SIGN_RE = /https?:\/\/[^\s"<>]+\/sign\/[A-Za-z0-9_-]{32,}/;
const DOWNLOAD_RE = /https?:\/\/[^\s"<>]+\/download\/[A-Za-z0-9_-]{32,}/;

async function signingUrlFor(email: string): Promise<string> {
  const m = await app.smtp.waitFor((x) => x.to.includes(email) && SIGN_RE.test(x.text), 90_000);
  return SIGN_RE.exec(m.text)![0];
}

/** Open the signing URL, read every document (tabs), press 完了 and confirm. */
async function signInBrowser(page: Page, url: string, expectDocs: number) {
  await page.goto(url);
  await expect.poll(() => page.getByTestId('envelope-title').isVisible()).toBe(true);
  await page.getByRole('button', { name: '文書を確認する' }).click();
  const tabs = page.getByRole('tab');
  expect(await tabs.count()).toBe(expectDocs > 1 ? expectDocs : 0);
  for (let i = 0; i < Math.max(1, expectDocs); i++) {
    if (expectDocs > 1) await tabs.nth(i).click();
    await expect.poll(() => page.getByTestId('pdf-viewer').getAttribute('data-status'), { timeout: 60_000 }).toBe('ready');
    expect(await page.locator('canvas[data-rendered="true"]').count()).toBeGreaterThan(0);
  }
  await page.getByRole('button', { name: '完了', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await expect.poll(() => dialog.isVisible()).toBe(true);
  expect(await dialog.textContent()).toContain('合意');
  await dialog.getByRole('button', { name: '署名手続きを完了する' }).click();
  await expect.poll(() => page.getByTestId('signing-done').isVisible(), { timeout: 30_000 }).toBe(true);
}

async function verifyDownloaded(bytes: Uint8Array, rootPem: string, rootDer: Uint8Array) {
  const report = await verifyPdf(bytes, { trustAnchors: [rootDer] });
  expect(report.valid, `${report.summary} ${report.problems.join('; ')}`).toBe(true);
  expect(report.level).toBe('B-LTA');
  const ind = await independentlyVerify(bytes, rootPem, { pdfsigTrust: 'lenient' });
  expect(ind.ok, ind.failures.join('; ')).toBe(true);
}

describe('signing story (e2e)', () => {
  it('staff send → supplier then municipal sign in the browser → completion email → verified downloads', async () => {
    const supplierEmail = 'kenji@kawaguchi-doboku.example';
    const mayorEmail = 'shicho@city.kawaguchi.example';
    const title = '令和8年度 橋りょう点検業務 委託契約';

    // Staff create and send the envelope.
    const staff = await newPage(browser, app.baseUrl);
    try {
      const page = staff.page;
      await loginAs(page, app.admin.email, app.admin.password);
      await page.goto('/envelopes/new');
      await page.getByLabel('案件名').fill(title);
      await page.getByLabel('取引先').fill('株式会社川口土木');
      await page.getByLabel('取引年月日').fill('2026-05-01');
      await page.getByLabel('取引金額（円）').fill('3,300,000');
      await page.locator('#file-input').setInputFiles({ name: '委託契約書.pdf', mimeType: 'application/pdf', buffer: Buffer.from(await makePdf({ label: 'E2E-A', pages: 2 })) });
      await expect.poll(() => page.locator('[data-document-name="委託契約書.pdf"]').count(), { timeout: 60_000 }).toBe(1);
      await page.locator('#file-input').setInputFiles({ name: '仕様書.pdf', mimeType: 'application/pdf', buffer: Buffer.from(await makePdf({ label: 'E2E-B' })) });
      await expect.poll(() => page.locator('[data-document-name="仕様書.pdf"]').count(), { timeout: 60_000 }).toBe(1);
      await page.locator('#p-0-name').fill('土木 健二');
      await page.locator('#p-0-email').fill(supplierEmail);
      await page.locator('#p-0-company').fill('株式会社川口土木');
      await page.locator('#p-0-title').fill('代表取締役');
      await page.getByRole('button', { name: '＋ 市の署名者を追加' }).click();
      await page.locator('#p-1-name').fill('川口 市長');
      await page.locator('#p-1-email').fill(mayorEmail);
      await page.getByLabel('上から順番に依頼する（前の人の署名後に次の人へ）').check();
      await page.getByRole('button', { name: '送信する' }).first().click();
      const dialog = page.getByRole('dialog');
      await expect.poll(() => dialog.isVisible()).toBe(true);
      await dialog.getByRole('button', { name: '送信する' }).click();
      await page.waitForURL(/\/envelopes\/[0-9a-f-]{36}\?notice=sent/);
    } finally {
      await staff.context.close();
    }
    const env = await app.db.envelope.findFirstOrThrow({ where: { title } });
    expect(env.signingOrder).toBe('sequential');

    // Supplier on a phone-sized screen; the mayor is not emailed yet.
    const supplierUrl = await signingUrlFor(supplierEmail);
    expect(app.smtp.messages.some((m) => m.to.includes(mayorEmail))).toBe(false);
    const phone = await browser.newContext({ baseURL: app.baseUrl, locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      const page = await phone.newPage();
      page.setDefaultTimeout(30_000);
      await signInBrowser(page, supplierUrl, 2);
      expect(await page.getByTestId('signing-done').textContent()).toContain('ほかの当事者');
    } finally {
      await phone.close();
    }

    // Municipal signer, desktop, from the email sent after the supplier completed.
    const mayorUrl = await signingUrlFor(mayorEmail);
    const desk = await newPage(browser, app.baseUrl);
    try {
      await signInBrowser(desk.page, mayorUrl, 2);
    } finally {
      await desk.context.close();
    }

    // The worker seals; the completion email arrives with a 14-day link.
    const subject = `電子署名完了のお知らせ（${title}）`;
    const mail = await app.smtp.waitFor((m) => m.subject === subject && m.to.includes(supplierEmail), 180_000);
    expect(mail.text).toContain('ダウンロード有効期間：14日間');
    for (const to of [mayorEmail, app.admin.email]) await app.smtp.waitFor((m) => m.subject === subject && m.to.includes(to), 30_000);
    const downloadUrl = DOWNLOAD_RE.exec(mail.text)![0];

    const rootDer = await getRootCertificate();
    const rootPem = derToPem(rootDer);
    const dl = await newPage(browser, app.baseUrl);
    try {
      const page = dl.page;
      await page.goto(downloadUrl);
      const links = page.getByTestId('download-file');
      expect(await links.count()).toBe(3);
      expect(await page.getByTestId('download-files').textContent()).toContain('合意締結証明書');
      for (let i = 0; i < 3; i++) {
        const [download] = await Promise.all([page.waitForEvent('download'), links.nth(i).click()]);
        const bytes = new Uint8Array(await readFile((await download.path())!));
        await verifyDownloaded(bytes, rootPem, rootDer);
      }
      const [zip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-zip').click()]);
      expect(zip.suggestedFilename()).toMatch(/\.zip$/);
      const zipBytes = await readFile((await zip.path())!);
      expect(zipBytes.subarray(0, 2).toString('latin1')).toBe('PK');
    } finally {
      await dl.context.close();
    }
    const e = await app.db.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(e.status).toBe('completed');
    const recipients = await app.db.recipient.findMany({ where: { envelopeId: env.id } });
    expect(recipients.every((r) => r.authMethod === 'email_link' && r.completedIp && r.completedUserAgent)).toBe(true);
  });

  it('double completion from two browser contexts: one seal, one set of emails', async () => {
    const { actor, user } = await createOrgWithStaff(app.db);
    const s = supplierSigner();
    const env = await createSentEnvelope(app.db, actor, { recipients: [s] });
    // Queued from this process (APP_URL differs): open the same path on the app.
    const url = new URL(await signingUrlFor(s.email.toLowerCase())).pathname;
    const a = await newPage(browser, app.baseUrl);
    const b = await newPage(browser, app.baseUrl);
    try {
      for (const p of [a.page, b.page]) {
        await p.goto(url);
        await p.getByRole('button', { name: '文書を確認する' }).click();
        await expect.poll(() => p.getByTestId('pdf-viewer').getAttribute('data-status'), { timeout: 60_000 }).toBe('ready');
        await p.getByRole('button', { name: '完了', exact: true }).click();
        await expect.poll(() => p.getByRole('dialog').isVisible()).toBe(true);
      }
      await Promise.all([a.page, b.page].map((p) => p.getByRole('dialog').getByRole('button', { name: '署名手続きを完了する' }).click()));
      for (const p of [a.page, b.page]) await expect.poll(() => p.getByTestId('signing-done').isVisible(), { timeout: 30_000 }).toBe(true);
    } finally {
      await a.context.close();
      await b.context.close();
    }
    const subject = `電子署名完了のお知らせ（${env.title}）`;
    await app.smtp.waitFor((m) => m.subject === subject && m.to.includes(s.email.toLowerCase()), 180_000);
    await app.smtp.waitFor((m) => m.subject === subject && m.to.includes(user.email.toLowerCase()), 30_000);
    expect(await app.db.job.count({ where: { name: SEAL_JOB, singletonKey: env.id } })).toBe(1);
    expect(await app.db.outboxEmail.count({ where: { envelopeId: env.id, kind: 'completion' } })).toBe(2);
    expect(app.smtp.messages.filter((m) => m.subject === subject)).toHaveLength(2);
    const audit = await app.db.auditEvent.findMany({ where: { envelopeId: env.id } });
    expect(audit.filter((x) => x.action === 'signing.completed')).toHaveLength(1);
    expect(audit.filter((x) => x.action === 'envelope.sealed')).toHaveLength(1);
  });
});
