/**
 * The development mail catcher and its inbox: a message sent over real SMTP to the catcher shows up at
 * /dev/mail with a clickable link; with DEV_MAILBOX off the inbox does not exist.
 */
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startMailCatcher, type MailCatcher } from '../../lib/devserver';
import { startAppServer, type AppServer } from '../helpers/app-server';
import { launchBrowser, newPage } from '../helpers/browser';

let app: AppServer;
let browser: Browser;
let catcher: MailCatcher;

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppServer({ env: { DEV_MAILBOX: 'true' } }), launchBrowser()]);
  catcher = await startMailCatcher({ port: await freePort(), dir: path.join(app.dataDir, 'mail') });
});

afterAll(async () => {
  await catcher?.stop();
  await browser?.close();
  await app?.stop();
});

describe('dev mailbox (e2e)', () => {
  it('lists caught mail and opens a message with a clickable link', async () => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: catcher.port, secure: false, ignoreTLS: true });
    await t.sendMail({
      from: '立会サイン <no-reply@tachiai-sign.localhost>',
      to: 'taro@supplier.example',
      subject: '【川口市】 川口 管理者様より「テスト案件」への署名依頼が届いています',
      text: `下記のURLから内容をご確認ください。\n${app.baseUrl}/login?from=mail\n`,
      html: `<p><a href="${app.baseUrl}/login?from=mail">文書を確認する</a></p>`,
    });
    t.close();
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
});
