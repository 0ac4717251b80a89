/**
 * Security over HTTP against the real app (npm start): response headers (CSP, HSTS on https),
 * request bodies limited while they stream in — an upload without Content-Length (chunked) that keeps
 * going past the limit is refused at the limit instead of being read to its end —, the development
 * mailbox absent from the production build (also for an RSC request claiming its layout is mounted),
 * every staff page guarding itself against that request, and `npm start` refusing to run without SMTP_URL
 * or with DEV_MAILBOX on.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSessionActor, login as libLogin } from '../../lib/auth';
import { freePort, startMailCatcher } from '../../lib/devserver';
import { createDraft } from '../../lib/envelopes';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage } from '../helpers/browser';
import { defaultEnvelopeInput, testCtx } from '../helpers/fixtures';

let app: AppServer;
let browser: Browser;
const ROOT = path.resolve(import.meta.dirname, '../..');

beforeAll(async () => {
  // https public URL (behind a TLS proxy in production): HSTS expected. 1 MB upload limit.
  browser = await launchBrowser();
  app = await startAppServer({ env: { APP_URL: 'https://sign.tachiai.example', MAX_UPLOAD_MB: '1' } });
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

type Segment = string | [string, string, string];

/**
 * The router state header of a client that shows the page at `segments` (its layouts mounted). Asked
 * for another URL under the same layouts, the server renders only the segments below them — the
 * layouts' own checks do not run.
 */
function routerStateTree(segments: Segment[]): string {
  let tree: unknown = ['__PAGE__', {}];
  for (const seg of [...segments].reverse()) tree = [seg, { children: tree }];
  return encodeURIComponent(JSON.stringify(['', { children: tree }]));
}

/** GET `url` as the App Router's client navigation does (RSC: 1) from the page at `current`; no cookie. */
async function rscReplay(url: string, current: Segment[]): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { redirect: 'manual', headers: { RSC: '1', 'Next-Router-State-Tree': routerStateTree(current) } });
  return { status: r.status, body: await r.text() };
}

/** Runs scripts/dev.ts --prod with `env` until it exits (it must refuse to start); returns its code and output. */
async function runnerRefusal(env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/dev.ts'), '--prod'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', DATA_DIR: app.dataDir, PORT: String(await freePort()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  return { code, out };
}

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

  it('has no development mailbox in the production build: caught mail stays unreadable, also to an RSC request claiming the /dev/mail layout is mounted', async () => {
    // Mail in the catcher's folder of this instance (as `npm run dev` would have left it).
    const catcher = await startMailCatcher({ port: await freePort(), dir: path.join(app.dataDir, 'mail') });
    const link = `${app.baseUrl}/sign/${'S'.repeat(43)}`;
    try {
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: catcher.port, secure: false, ignoreTLS: true });
      await t.sendMail({ from: 'no-reply@tachiai-sign.localhost', to: 'victim@supplier.example', subject: '署名依頼（攻撃の確認）', text: `確認コード 246810\n${link}\n` });
      t.close();
    } finally {
      await catcher.stop();
    }
    const ids = (await readdir(path.join(app.dataDir, 'mail'))).filter((n) => n.endsWith('.eml')).map((n) => n.slice(0, -4));
    expect(ids).toHaveLength(1);
    expect(await readFile(path.join(app.dataDir, 'mail', `${ids[0]}.eml`), 'utf8')).toContain('246810');

    const urls = ['/dev/mail', `/dev/mail/${ids[0]}`, `/dev/mail?_rsc=${randomBytes(3).toString('hex')}`, `/dev/mail/${ids[0]}?_rsc=abc12`];
    for (const u of urls) {
      for (const r of [
        // From the inbox (layout mounted) to a message, and from a message back to the inbox.
        await rscReplay(app.baseUrl + u, ['dev', 'mail']),
        await rscReplay(app.baseUrl + u, ['dev', 'mail', ['id', '00000000000000-00000000', 'd']]),
        { status: (await fetch(app.baseUrl + u, { redirect: 'manual' })).status, body: '' },
      ]) {
        expect(r.status, u).toBe(404);
        expect(r.body, u).not.toContain('246810');
        expect(r.body, u).not.toContain('S'.repeat(43));
        expect(r.body, u).not.toContain('victim@supplier.example');
      }
    }
    // Not a route of this build at all (the pages are .dev.tsx files, a development-only page extension).
    const routes = JSON.parse(await readFile(path.join(ROOT, '.next', 'app-path-routes-manifest.json'), 'utf8')) as Record<string, string>;
    expect(Object.values(routes).filter((r) => r.startsWith('/dev'))).toEqual([]);
  });

  it('each staff page checks the session itself: an RSC request claiming the staff layout is mounted, without a cookie, gets no data', async () => {
    const { token } = await libLogin(app.db, { email: app.admin.email, password: app.admin.password }, { ip: '127.0.0.1' });
    const s = await getSessionActor(app.db, token, { ip: '127.0.0.1' });
    if (s.status !== 'ok') throw new Error('no session');
    const title = `秘密の案件-${randomBytes(4).toString('hex')}`;
    const env = await createDraft(app.db, s.actor, { ...defaultEnvelopeInput(), title }, testCtx);
    // Each from another staff page (the staff layout mounted).
    const onPaper: Segment[] = ['(staff)', 'paper'];
    const pages: Array<[string, Segment[]]> = [
      ['/envelopes', onPaper],
      [`/envelopes/${env.id}`, onPaper],
      [`/envelopes/${env.id}/edit`, onPaper],
      ['/search?title=' + encodeURIComponent('秘密'), onPaper],
      ['/audit', onPaper],
      ['/admin', onPaper],
      ['/paper', ['(staff)', 'search']],
      ['/envelopes/new', onPaper],
      ['/account/mfa', onPaper],
    ];
    // With the cookie the same request shows the envelope (so the replay does reach the page).
    const withCookie = await fetch(`${app.baseUrl}/envelopes`, {
      headers: { RSC: '1', 'Next-Router-State-Tree': routerStateTree(onPaper), Cookie: `ts_session=${token}` },
    });
    const shown = await withCookie.text();
    expect(shown).toContain(title);
    for (const [u, segs] of pages) {
      const r = await rscReplay(app.baseUrl + u, segs);
      expect(r.body, u).not.toContain(title);
      expect(r.body, u).not.toContain(app.admin.email);
      expect(r.body, u).not.toContain(env.documentNumber);
      // Refused as a redirect to the login page (an RSC redirect or a 3xx), never rendered.
      expect(r.status === 200 ? r.body : (r.status >= 300 && r.status < 400 ? '/login' : ''), u).toContain('/login');
    }
  });

  it('`npm start` refuses to run without SMTP_URL, or with DEV_MAILBOX on, with a clear message', async () => {
    const noSmtp = await runnerRefusal({ MASTER_KEY: randomBytes(32).toString('base64'), SMTP_URL: undefined, DATABASE_URL: app.databaseUrl });
    expect(noSmtp.code).not.toBe(0);
    expect(noSmtp.out).toContain('SMTP_URL is required in production');
    expect(noSmtp.out).toContain('npm run dev');
    const inbox = await runnerRefusal({ MASTER_KEY: randomBytes(32).toString('base64'), SMTP_URL: app.smtp.url, DEV_MAILBOX: 'true', DATABASE_URL: app.databaseUrl });
    expect(inbox.code).not.toBe(0);
    expect(inbox.out).toContain('DEV_MAILBOX cannot be on in production');
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
