/**
 * Security over HTTP against the real app (npm start): response headers (CSP, HSTS on https), and
 * request bodies limited while they stream in — an upload without Content-Length (chunked) that keeps
 * going past the limit is refused at the limit instead of being read to its end.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login as libLogin } from '../../lib/auth';
import { freePort } from '../../lib/devserver';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage } from '../helpers/browser';

let app: AppServer;
let browser: Browser;

beforeAll(async () => {
  // https public URL (behind a TLS proxy in production): HSTS expected. 1 MB upload limit. No SMTP_URL
  // and no DEV_MAILBOX: `npm start` falls back to the local mail catcher, whose inbox must stay closed.
  const unset = undefined as unknown as string; // spawn() leaves undefined variables out
  browser = await launchBrowser();
  app = await startAppServer({
    env: { APP_URL: 'https://sign.tachiai.example', MAX_UPLOAD_MB: '1', SMTP_URL: unset, DEV_MAILBOX: unset, MAIL_CATCHER_PORT: String(await freePort()) },
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

/**
 * POST a chunked body: `prefix`, then `filler` bytes, and then the body stays open (never ends).
 * Resolves with the response if the server answers while the upload is still open; rejects if the
 * server waits for the end of the body.
 */
function postThatNeverEnds(path: string, headers: Record<string, string>, prefix: Buffer, filler: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${app.baseUrl}${path}`, { method: 'POST', headers: { ...headers, 'Transfer-Encoding': 'chunked' } });
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      req.destroy();
      reject(new Error(`${path}: no response while the body was still open (the whole upload is read before the limit applies)`));
    }, 30_000);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    });
    req.write(prefix);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = 0; sent < filler; sent += chunk.length) req.write(chunk);
  });
}

describe('security (e2e)', () => {
  it('sends CSP (frame-ancestors, object-src none), nosniff, same-origin referrer and HSTS on https', async () => {
    for (const p of ['/login', '/verify']) {
      const r = await fetch(app.baseUrl + p, { redirect: 'manual' });
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, p).toContain("frame-ancestors 'self'");
      expect(csp, p).toContain("object-src 'none'");
      expect(csp, p).toContain("base-uri 'self'");
      expect(r.headers.get('x-content-type-options'), p).toBe('nosniff');
      expect(r.headers.get('referrer-policy'), p).toBe('same-origin');
      expect(r.headers.get('strict-transport-security') ?? '', p).toMatch(/max-age=\d{7,}/);
    }
  });

  it('never redirects off-site after login (next=/<TAB>/host) or after the language switch (Referer path //host)', async () => {
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      // Browsers drop TAB/LF inside URLs: "/\t/evil" becomes "//evil", another site.
      await page.goto(`/login?next=${encodeURIComponent('/\t/evil.invalid/steal')}`);
      await page.getByLabel('メールアドレス').fill(app.admin.email);
      await page.getByLabel('パスワード').fill(app.admin.password);
      await page.getByRole('button', { name: 'ログイン' }).click();
      // Wherever it lands (our /envelopes, or Chromium's error page for the other site), it left /login.
      await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 30_000 });
      expect(new URL(page.url()).host).toBe(new URL(app.baseUrl).host);
    } finally {
      await context.close();
    }
    const r = await fetch(`${app.baseUrl}/lang`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Origin: app.baseUrl, Referer: `${app.baseUrl}//evil.invalid/x`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'lang=en',
    });
    expect(r.status).toBe(303);
    expect(new URL(r.headers.get('location')!, app.baseUrl).host).toBe(new URL(app.baseUrl).host);
  });

  it('does not open the mail catcher inbox (/dev/mail: every signing link) in production unless DEV_MAILBOX=true', async () => {
    expect(app.output()).toContain('mail catcher on');
    for (const p of ['/dev/mail', '/dev/mail/00000000000000-00000000']) {
      expect((await fetch(app.baseUrl + p, { redirect: 'manual' })).status, p).toBe(404);
    }
  });

  it('refuses oversized uploads while they stream (no Content-Length): /api/verify, /paper/register, signer JSON, download-link JSON, /lang', async () => {
    const boundary = '----tachiai-e2e-boundary';
    const multipartHead = (extra = '') =>
      Buffer.from(
        `${extra}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n`,
      );
    const twoMb = 2 * 1024 * 1024;

    const raw = await postThatNeverEnds('/api/verify', { 'Content-Type': 'application/pdf', Origin: app.baseUrl }, Buffer.from('%PDF-1.7\n'), twoMb);
    expect(raw.status).toBe(413);
    const multi = await postThatNeverEnds('/api/verify', { 'Content-Type': `multipart/form-data; boundary=${boundary}`, Origin: app.baseUrl }, multipartHead(), twoMb);
    expect(multi.status).toBe(413);

    const { token } = await libLogin(app.db, { email: app.admin.email, password: app.admin.password }, { ip: '127.0.0.1' });
    const fields = `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n大きな書面\r\n`;
    const paper = await postThatNeverEnds(
      '/paper/register',
      { 'Content-Type': `multipart/form-data; boundary=${boundary}`, Origin: app.baseUrl, Cookie: `ts_session=${token}`, Accept: 'application/json' },
      multipartHead(fields),
      twoMb,
    );
    expect(paper.status).toBe(413);
    expect(JSON.parse(paper.body).error.code).toBe('pdf_too_large');

    const json = await postThatNeverEnds(
      `/api/sign/${'A'.repeat(43)}/decline`,
      { 'Content-Type': 'application/json', Origin: app.baseUrl },
      Buffer.from('{"reason":"'),
      twoMb,
    );
    expect(json.status).toBe(413);

    const links = await postThatNeverEnds(
      `/api/envelopes/${randomUUID()}/sealed/links`,
      { 'Content-Type': 'application/json', Origin: app.baseUrl, Cookie: `ts_session=${token}` },
      Buffer.from('{"email":"'),
      twoMb,
    );
    expect(links.status).toBe(413);

    const lang = await postThatNeverEnds('/lang', { 'Content-Type': 'application/x-www-form-urlencoded', Origin: app.baseUrl }, Buffer.from('lang=en&x='), twoMb);
    expect(lang.status).toBe(413);
  });
});
