/**
 * Contract search in Chromium against the production build: register a paper contract with its
 * scan, find it (and only the matching contracts) with a 2-character 取引先 query and a date range,
 * see 西暦/和暦 and 「円」 formatting, download the CSV (BOM, every row), and record a correction.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeForSearch } from '../../lib/search';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage, loginAs } from '../helpers/browser';
import { makePdf } from '../helpers/fixtures';

let app: AppServer;
let browser: Browser;

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer(), launchBrowser()]);
  const names = ['㈱川口工業', '（株）山田建設', 'ｶﾜｸﾞﾁ ｼｽﾃﾑ'];
  for (let i = 0; i < 60; i++) {
    const counterparty = names[i % 3];
    await app.db.envelope.create({
      data: {
        organizationId: app.organizationId,
        documentNumber: `TS-E2E-${String(i).padStart(3, '0')}`,
        title: `案件${i}`,
        counterparty,
        counterpartyNormalized: normalizeForSearch(counterparty),
        transactionDate: new Date(Date.UTC(2026, 3, 1 + (i % 20))),
        amount: BigInt(1_000_000 + i),
        status: 'completed',
        completedAt: new Date(),
      },
    });
  }
});

afterAll(async () => {
  await browser?.close();
  if (app && process.env.E2E_DEBUG) console.log(app.output());
  await app?.stop();
});

const login = (page: Page) => loginAs(page, app.admin.email, app.admin.password);

describe('contract search (e2e)', () => {
  it('registers a paper contract, finds it by 「川口」 with a date range, pages, exports CSV and records a correction', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await login(page);

      // 書面契約 registration
      await page.goto('/paper');
      await page.getByLabel('案件名').fill('庁舎清掃業務委託（書面）');
      await page.getByLabel('取引先').fill('川口ビルサービス㈱');
      await page.getByLabel('取引年月日（契約日）').fill('2026-04-05');
      await page.getByLabel('取引金額（円）').fill('3,300,000');
      await page.getByLabel(/スキャンした契約書/).setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.from(await makePdf()) });
      await page.getByRole('button', { name: '書面契約を登録する' }).click();
      await page.waitForURL(/\/envelopes\/[0-9a-f-]{36}/);
      await expect.poll(() => page.getByRole('status').first().textContent()).toContain('書面契約を登録しました');

      // Search: 2-character counterparty + date range, with 和暦
      await page.goto('/search');
      await page.getByRole('textbox', { name: '取引先', exact: true }).fill('川口');
      await page.getByLabel('取引年月日（から）').fill('2026-04-05');
      await page.getByLabel('取引年月日（まで）').fill('2026-04-10');
      await page.getByLabel('和暦を併記する').check();
      await page.getByRole('button', { name: '検索する' }).click();
      await page.waitForURL(/\/search\?/);
      const heading = await page.locator('#results-heading').textContent();
      // ㈱川口工業 (every third) dated 4/5–4/10 (i % 20 in 4..9), plus the paper contract
      const expected = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 === 0 && i % 20 >= 4 && i % 20 <= 9).length + 1;
      expect(heading).toContain(`${expected}件`);
      const rows = page.locator('tbody tr');
      expect(await rows.count()).toBe(expected);
      const paperRow = page.locator('tbody tr', { hasText: '川口ビルサービス㈱' });
      await expect.poll(() => paperRow.textContent()).toContain('3,300,000円');
      expect(await paperRow.textContent()).toContain('令和8年4月5日');
      expect(await paperRow.textContent()).toContain('書面');
      expect(await page.locator('tbody').textContent()).not.toContain('山田建設');

      // CSV of the same filters: BOM + header + every row
      const href = await page.getByRole('link', { name: /CSVでダウンロード/ }).getAttribute('href');
      const res = await context.request.get(new URL(href!, app.baseUrl).toString());
      expect(res.status()).toBe(200);
      expect(res.headers()['content-type']).toContain('text/csv');
      const body = await res.body();
      expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const lines = body.subarray(3).toString('utf8').trimEnd().split('\r\n');
      expect(lines[0]).toBe('書類ID,案件名,取引先,取引年月日,取引金額,税込/税抜,契約番号,状態,書面/電子,完了日時');
      expect(lines.length - 1).toBe(expected);
      const ev = await app.db.auditEvent.findFirst({ where: { organizationId: app.organizationId, action: 'search.exported' }, orderBy: { id: 'desc' } });
      expect(ev?.details).toMatchObject({ rows: expected, complete: true });

      // Correction from the envelope page, shown in the history
      await paperRow.getByRole('link').first().click();
      await page.waitForURL(/\/envelopes\/[0-9a-f-]{36}/);
      await page.getByText('検索項目を訂正する').click();
      await page.getByLabel('取引金額（円）').fill('3,520,000');
      await page.getByLabel(/訂正理由/).fill('契約書原本と照合し誤記を訂正');
      await page.getByRole('button', { name: '訂正を記録する' }).click();
      await page.waitForURL(/correction=ok/);
      const history = page.getByRole('table', { name: /訂正履歴/ });
      await expect.poll(() => history.textContent()).toContain('3,300,000円');
      expect(await history.textContent()).toContain('3,520,000円');
      expect(await history.textContent()).toContain('契約書原本と照合し誤記を訂正');
    } finally {
      await context.close();
    }
  });
});
