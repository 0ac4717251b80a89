/**
 * The development mail catcher and its inbox, run the way `npm run dev` runs them (`next dev`, the
 * runner's own mail catcher, no SMTP_URL): a message sent over real SMTP shows up at /dev/mail with
 * a clickable link — for a browser on this machine only. From another address (the machine's LAN
 * address) the inbox is a 404, also for an RSC request claiming its layout is mounted and with headers
 * claiming a loopback client. By default the dev server listens on 127.0.0.1 only. (In a production
 * build the inbox does not exist: tests/e2e/security.test.ts.)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/devserver';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage } from '../helpers/browser';
import { createTestDatabase } from '../helpers/db';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** An address of this machine that is not loopback (the "LAN" side), if it has one. */
const lan = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

let app: AppServer;
let browser: Browser;
let catcherPort: number;

async function sendToCatcher(subject: string, text: string, html?: string) {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: catcherPort, secure: false, ignoreTLS: true });
  await t.sendMail({ from: '立会サイン <no-reply@tachiai-sign.localhost>', to: 'taro@supplier.example', subject, text, html });
  t.close();
}

/** GET from a given local address of this machine. */
function getFrom(localAddress: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: localAddress, port: u.port, path: u.pathname + u.search, localAddress, headers: { Host: u.host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const tree = (segments: unknown[]) => {
  let t: unknown = ['__PAGE__', {}];
  for (const s of [...segments].reverse()) t = [s, { children: t }];
  return encodeURIComponent(JSON.stringify(['', { children: t }]));
};

describe('npm run dev (e2e)', () => {
  it.skipIf(!lan)('`npm run dev` listens on 127.0.0.1 unless HOST says otherwise, and Ctrl-C stops it', async () => {
    // Before the inbox tests' server: two `next dev` cannot share one project directory.
    const db = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tachiai-devhost-'));
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/dev.ts'), '--no-worker'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'development', HOST: undefined, PORT: String(port), DATABASE_URL: db.url, SMTP_URL: 'smtp://127.0.0.1:9', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      const deadline = Date.now() + 120_000;
      while (!out.includes('[tachiai] ready')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dev server did not start:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(out).toContain(`listening on 127.0.0.1, port ${port}`);
      const connect = (host: string) =>
        new Promise<string>((resolve) => {
          const s = net.connect({ host, port }, () => {
            s.destroy();
            resolve('connected');
          });
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        });
      expect(await connect('127.0.0.1')).toBe('connected');
      expect(await connect(lan!)).toBe('ECONNREFUSED');
    } finally {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(t);
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
      expect(code, out.slice(-2000)).toBe(0);
    }
  });
});

describe('dev mailbox (e2e, npm run dev)', () => {
  beforeAll(async () => {
    catcherPort = await freePort();
    // HOST '::' (every interface) so the LAN side can reach the server at all: the inbox itself must still refuse it.
    [app, browser] = await Promise.all([
      startAppServer({ mode: 'dev', env: { SMTP_URL: undefined, DEV_MAILBOX: undefined, MAIL_CATCHER_PORT: String(catcherPort), HOST: '::' } }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('lists caught mail and opens a message with a clickable link', async () => {
    expect(app.output()).toContain(`mail catcher on smtp://127.0.0.1:${catcherPort}`);
    await sendToCatcher(
      '【川口市】 川口 管理者様より「テスト案件」への署名依頼が届いています',
      `下記のURLから内容をご確認ください。\n${app.baseUrl}/login?from=mail\n`,
      `<p><a href="${app.baseUrl}/login?from=mail">文書を確認する</a></p>`,
    );
    const { context, page } = await newPage(browser, app.baseUrl);
    try {
      await page.goto('/dev/mail');
      await page.getByRole('link', { name: /テスト案件/ }).click();
      await page.waitForURL(/\/dev\/mail\/\d{14}-[0-9a-f]{8}$/);
      expect(await page.locator('h1').textContent()).toContain('署名依頼が届いています');
      await page.getByRole('link', { name: `${app.baseUrl}/login?from=mail` }).click();
      await page.waitForURL('**/login?from=mail');
    } finally {
      await context.close();
    }
  });

  it('is not served for an unknown message id', async () => {
    const r = await fetch(`${app.baseUrl}/dev/mail/../../etc/passwd`);
    expect(r.status).toBe(404);
    const r2 = await fetch(`${app.baseUrl}/dev/mail/00000000000000-00000000`);
    expect(r2.status).toBe(404);
  });

  it.skipIf(!lan)('answers only on loopback: from the LAN address it is a 404, whatever the headers claim', async () => {
    const code = String(100000 + (randomBytes(3).readUIntBE(0, 3) % 900000));
    await sendToCatcher('確認コードのお知らせ', `確認コード: ${code}\n`);
    const ids = (await readdir(path.join(app.dataDir, 'mail'))).filter((n) => n.endsWith('.eml')).map((n) => n.slice(0, -4));
    const id = ids.sort().at(-1)!;
    const base = `http://${lan}:${app.port}`;
    // The LAN side reaches the server (a public page answers) and loopback reads the mail.
    expect((await getFrom(lan!, `${base}/login`)).status).toBe(200);
    expect((await getFrom('127.0.0.1', `http://127.0.0.1:${app.port}/dev/mail/${id}`)).body).toContain(code);

    const spoof: Record<string, string> = { 'X-Tachiai-Peer': '127.0.0.1', 'X-Tachiai-Client-Ip': '127.0.0.1', 'X-Forwarded-For': '127.0.0.1', 'X-Real-Ip': '127.0.0.1', Host: `localhost:${app.port}` };
    for (const u of ['/dev/mail', `/dev/mail/${id}`, `/dev/mail?_rsc=x1`]) {
      for (const headers of [
        {} as Record<string, string>,
        spoof,
        { RSC: '1', 'Next-Router-State-Tree': tree(['dev', 'mail']) },
        { RSC: '1', 'Next-Router-State-Tree': tree(['dev', 'mail', ['id', id, 'd']]), ...spoof },
      ]) {
        const r = await getFrom(lan!, base + u, headers);
        expect(r.status, `${u} ${JSON.stringify(headers)}`).toBe(404);
        expect(r.body).not.toContain(code);
        expect(r.body).not.toContain('確認コードのお知らせ');
      }
    }
  });

});
