/**
 * The public /verify page in Chromium against the production build: a PDF sealed by this
 * deployment (lib/pades sealPdf with the dev key provider and TSA, in the app's own DATA_DIR, so
 * the app trusts its root) is reported valid in Japanese; a copy with one byte changed inside the
 * signed range is reported invalid; after the 「English」 switch the report headings are English.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { sealPdf } from '../../lib/pades';
import { derToPem, getRootCertificate } from '../../lib/pki';
import { independentlyVerify } from '../helpers/independent-verify';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage } from '../helpers/browser';
import { makePdf } from '../helpers/fixtures';

let app: AppServer;
let browser: Browser;
let sealed: Buffer;
let tampered: Buffer;
const MASTER_KEY = randomBytes(32).toString('base64');
const prevEnv = { DATA_DIR: process.env.DATA_DIR, MASTER_KEY: process.env.MASTER_KEY, APP_URL: process.env.APP_URL };

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer({ env: { MASTER_KEY } }), launchBrowser()]);
  // Seal with the app's dev PKI and TSA (same DATA_DIR and master key as the app server).
  process.env.DATA_DIR = app.dataDir;
  process.env.MASTER_KEY = MASTER_KEY;
  process.env.APP_URL = app.baseUrl;
  resetConfig();
  sealed = Buffer.from(await sealPdf(await makePdf({ pages: 1, label: 'verify e2e' }), { reason: '立会人型電子署名（書類ID: ENV-VERIFY-E2E）' }));
  // One byte of the binary comment on the second line (inside the first signed byte range, harmless to parsing).
  tampered = Buffer.from(sealed);
  const at = tampered.indexOf('\n%', 0, 'latin1') + 2;
  expect(at).toBeGreaterThan(2);
  expect(at).toBeLessThan(64);
  tampered[at] ^= 0x01;
  // Someone else's code agrees: the sealed file passes pdfsig/openssl, the tampered copy does not.
  const rootPem = derToPem(await getRootCertificate());
  const good = await independentlyVerify(sealed, rootPem, { pdfsigTrust: 'lenient' });
  expect(good.ok, good.failures.join('; ')).toBe(true);
  expect((await independentlyVerify(tampered, rootPem, { pdfsigTrust: 'lenient' })).ok).toBe(false);
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

/** Upload, submit, wait for the result heading to say `expected`; it takes the focus (announced). */
async function verify(page: Page, fileLabel: string, buffer: Buffer, submit: string, expected: string): Promise<string> {
  await page.getByLabel(fileLabel).setInputFiles({ name: 'contract.pdf', mimeType: 'application/pdf', buffer });
  await page.getByRole('button', { name: submit, exact: true }).click();
  const heading = page.getByRole('heading', { level: 2 }).first();
  await expect.poll(() => heading.textContent().catch(() => ''), { timeout: 60_000 }).toContain(expected);
  await expect.poll(() => heading.evaluate((el) => el === document.activeElement)).toBe(true);
  return (await heading.textContent()) ?? '';
}

describe('/verify (public)', () => {
  it('sealed → 有効, tampered → 無効, then English headings', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await page.goto('/verify');
      expect(await page.locator('html').getAttribute('lang')).toBe('ja');
      expect(await page.locator('h1').textContent()).toBe('電子署名の検証');

      const ok = await verify(page, '検証するPDFファイル', sealed, '検証する', '検証結果：有効');
      expect(ok).toContain('PAdES B-LTA');
      const sig1 = await page.getByRole('heading', { level: 3 }).first().textContent();
      expect(sig1).toMatch(/^署名 1：有効/);
      expect(await page.locator('main').textContent()).toContain('改ざんの有無');

      await verify(page, '検証するPDFファイル', tampered, '検証する', '検証結果：無効');
      // Not by colour alone: the failed check carries a ✘ and the words 問題あり.
      expect(await page.locator('main').textContent()).toMatch(/✘ 改ざんの有無（問題あり）/);

      await page.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Verify an electronic signature');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');

      const okEn = await verify(page, 'PDF file to verify', sealed, 'Verify', 'Result: Valid');
      expect(okEn).toContain('PAdES B-LTA');
      expect(await page.getByRole('heading', { level: 3 }).first().textContent()).toMatch(/^Signature 1: Valid/);
      expect(await page.locator('main').textContent()).toContain('Integrity (no tampering)');

      await verify(page, 'PDF file to verify', tampered, 'Verify', 'Result: Invalid');
      expect(await page.locator('main').textContent()).toMatch(/✘ Integrity \(no tampering\) \(problem\)/);

      await page.getByRole('button', { name: '日本語' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('電子署名の検証');
    } finally {
      await context.close();
    }
  });
});
