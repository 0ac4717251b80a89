/**
 * The outbox and worker against a real SMTP server (smtp-server) and real PostgreSQL:
 * request emails delivered with the exact subject, text + HTML parts and a URL that resolves to
 * the recipient's SigningRequest; an SMTP outage delays delivery and the mail arrives exactly once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { sendSigningOtp, voidEnvelope } from '../../lib/envelopes';
import { deliverDueEmails, enqueueEmail } from '../../lib/mail';
import { startWorker } from '../../lib/jobs';
import { hashToken } from '../../lib/security';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, createSentEnvelope, municipalSigner, supplierSigner, useTempDataDir } from '../helpers/fixtures';
import { signingTokenIn, startTestSmtp, urlsIn, type TestSmtpServer } from '../helpers/smtp';

let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;
let smtp: TestSmtpServer;
let s: Awaited<ReturnType<typeof createOrgWithStaff>>;

beforeAll(async () => {
  data = await useTempDataDir();
  process.env.APP_URL = 'https://sign.example.jp';
  process.env.MAIL_FROM = '立会サイン <no-reply@sign.example.jp>';
  resetConfig();
  t = await createTestDatabase();
  smtp = await startTestSmtp();
  s = await createOrgWithStaff(t.prisma, { orgName: '川口市', staffName: '契約 太郎' });
});
afterAll(async () => {
  await smtp?.close();
  await t?.drop();
  delete process.env.APP_URL;
  delete process.env.MAIL_FROM;
  await data?.cleanup();
});
beforeEach(() => smtp.clear());

describe('request email over SMTP', () => {
  it('delivers each signer a request with the exact subject, both parts and a working URL', async () => {
    const sup = supplierSigner({ name: '山田 一郎', company: '株式会社川口建設' });
    const mun = municipalSigner({ name: '川口 花子' });
    const env = await createSentEnvelope(t.prisma, s.actor, {
      input: { title: '道路補修工事 請負契約' },
      documents: 2,
      recipients: [sup, mun],
    });
    const r = await deliverDueEmails(t.prisma, { transport: smtp.transport() });
    expect(r).toEqual({ claimed: 2, sent: 2, failed: 0 });
    expect(smtp.messages).toHaveLength(2);

    for (const signer of [sup, mun]) {
      const mail = await smtp.waitFor((m) => m.to.includes(signer.email.toLowerCase()));
      expect(mail.subject).toBe('【川口市】 契約 太郎様より「道路補修工事 請負契約」への署名依頼が届いています');
      expect(mail.fromHeader).toContain('no-reply@sign.example.jp');
      expect(mail.from).toBe('no-reply@sign.example.jp');
      expect(mail.text.length).toBeGreaterThan(0);
      expect(mail.html).toContain('<html');
      for (const body of [mail.text, mail.html]) {
        expect(body).toContain('道路補修工事 請負契約');
        expect(body).toContain('川口市');
        expect(body).toContain('契約 太郎');
        expect(body).toContain('転送しないでください');
      }
      expect(mail.text).toContain(`${signer.name}様`);
      // 署名期限 in 西暦, Asia/Tokyo
      const exp = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', year: 'numeric', month: 'numeric', day: 'numeric' })
        .formatToParts(env.expiresAt!)
        .filter((p) => p.type !== 'literal')
        .map((p) => p.value);
      expect(mail.text).toContain(`署名期限：${exp[0]}年${exp[1]}月${exp[2]}日`);

      const url = urlsIn(mail.text).find((u) => u.includes('/sign/'))!;
      expect(url.startsWith('https://sign.example.jp/sign/')).toBe(true);
      expect(mail.html).toContain(url);
      const token = signingTokenIn(url)!;
      const req = await t.prisma.signingRequest.findUniqueOrThrow({ where: { tokenHash: hashToken(token) }, include: { recipient: true } });
      expect(req.recipient.email).toBe(signer.email);
      expect(req.recipient.envelopeId).toBe(env.id);
      expect(req.revokedAt).toBeNull();
    }

    const rows = await t.prisma.outboxEmail.findMany({ where: { envelopeId: env.id } });
    for (const row of rows) {
      expect(row.status).toBe('sent');
      expect(row.sentAt).not.toBeNull();
      expect(row.messageId).toMatch(/^<.+@sign\.example\.jp>$/);
      // the stored copy no longer holds a usable link
      expect(signingTokenIn(row.textBody)).toBeUndefined();
      expect(row.textBody).toContain('/sign/[送信済みのため削除]');
    }
    const sentEvents = await t.prisma.auditEvent.findMany({ where: { envelopeId: env.id, action: 'email.sent' } });
    expect(sentEvents).toHaveLength(2);
    // nothing more to deliver
    expect(await deliverDueEmails(t.prisma, { transport: smtp.transport() })).toEqual({ claimed: 0, sent: 0, failed: 0 });
    expect(smtp.messages).toHaveLength(2);
  });

  it('SMTP down then up: the mail is retried later and delivered exactly once', async () => {
    const signer = supplierSigner();
    await smtp.stop();
    const env = await createSentEnvelope(t.prisma, s.actor, { recipients: [signer] });
    const t0 = new Date();
    const transport = smtp.transport();

    const first = await deliverDueEmails(t.prisma, { transport, now: t0 });
    expect(first).toEqual({ claimed: 1, sent: 0, failed: 1 });
    let row = await t.prisma.outboxEmail.findFirstOrThrow({ where: { envelopeId: env.id } });
    expect(row.status).toBe('failed');
    expect(row.attempts).toBe(1);
    expect(row.lastError).toBeTruthy();
    expect(row.nextAttemptAt.getTime()).toBe(t0.getTime() + 30_000);
    const failed = await t.prisma.auditEvent.findFirstOrThrow({ where: { envelopeId: env.id, action: 'email.failed' } });
    expect(failed.details).toMatchObject({ attempt: 1, willRetry: true, to: signer.email });

    // not due yet: nothing is attempted even though the server is back
    await smtp.start();
    expect(await deliverDueEmails(t.prisma, { transport, now: new Date(t0.getTime() + 10_000) })).toEqual({ claimed: 0, sent: 0, failed: 0 });
    expect(smtp.messages).toHaveLength(0);

    // due: delivered once
    const later = new Date(t0.getTime() + 31_000);
    expect(await deliverDueEmails(t.prisma, { transport, now: later })).toEqual({ claimed: 1, sent: 1, failed: 0 });
    expect(await deliverDueEmails(t.prisma, { transport, now: new Date(later.getTime() + 3_600_000) })).toEqual({ claimed: 0, sent: 0, failed: 0 });
    expect(smtp.messages.filter((m) => m.to.includes(signer.email.toLowerCase()))).toHaveLength(1);
    row = await t.prisma.outboxEmail.findFirstOrThrow({ where: { envelopeId: env.id } });
    expect(row.status).toBe('sent');
    expect(row.attempts).toBe(2);
  });

  it('gives up after maxAttempts and leaves the row visible as failed', async () => {
    await smtp.stop();
    try {
      await t.prisma.$transaction((tx) =>
        enqueueEmail(tx, { dedupeKey: 'give-up-test', kind: 'test', to: 'x@example.jp', subject: 's', text: 't', html: '<p>t</p>', organizationId: s.org.id }),
      );
      const transport = smtp.transport();
      let now = new Date();
      for (let i = 0; i < 3; i++) {
        await deliverDueEmails(t.prisma, { transport, now, maxAttempts: 3 });
        now = new Date(now.getTime() + 3_600_000);
      }
      const row = await t.prisma.outboxEmail.findUniqueOrThrow({ where: { dedupeKey: 'give-up-test' } });
      expect(row.status).toBe('failed');
      expect(row.attempts).toBe(3);
      expect(await deliverDueEmails(t.prisma, { transport, now, maxAttempts: 3 })).toEqual({ claimed: 0, sent: 0, failed: 0 });
      const events = await t.prisma.auditEvent.findMany({ where: { action: 'email.failed', organizationId: s.org.id }, orderBy: { id: 'asc' } });
      expect(events.at(-1)!.details).toMatchObject({ attempt: 3, willRetry: false });
    } finally {
      await smtp.start();
    }
  });

  it('a recipient refused with 5xx fails for good without retries', async () => {
    const strict = await startTestSmtp({ rejectRecipient: (a) => a.startsWith('nobody@') });
    try {
      await t.prisma.$transaction((tx) =>
        enqueueEmail(tx, { dedupeKey: 'rejected-rcpt', kind: 'test', to: 'nobody@example.jp', subject: 's', text: 't', html: '<p>t</p>', organizationId: s.org.id }),
      );
      await t.prisma.$transaction((tx) =>
        enqueueEmail(tx, { dedupeKey: 'accepted-rcpt', kind: 'test', to: 'somebody@example.jp', subject: 's', text: 't', html: '<p>t</p>', organizationId: s.org.id }),
      );
      const r = await deliverDueEmails(t.prisma, { transport: strict.transport() });
      expect(r).toEqual({ claimed: 2, sent: 1, failed: 1 });
      const row = await t.prisma.outboxEmail.findUniqueOrThrow({ where: { dedupeKey: 'rejected-rcpt' } });
      expect(row.status).toBe('failed');
      expect(row.lastError).toMatch(/550/);
      await deliverDueEmails(t.prisma, { transport: strict.transport(), now: new Date(Date.now() + 86_400_000) });
      const again = await t.prisma.outboxEmail.findUniqueOrThrow({ where: { dedupeKey: 'rejected-rcpt' } });
      expect(again.status).toBe('failed');
      expect(again.attempts).toBe(row.attempts);
      expect(strict.messages.filter((m) => m.to.includes('nobody@example.jp'))).toHaveLength(0);
      const ev = await t.prisma.auditEvent.findMany({ where: { action: 'email.failed', organizationId: s.org.id }, orderBy: { id: 'desc' }, take: 1 });
      expect(ev[0].details).toMatchObject({ permanent: true, willRetry: false, to: 'nobody@example.jp' });
    } finally {
      await strict.close();
    }
  });

  it('a void notice reaches the parties who had been emailed, and only them', async () => {
    const first = supplierSigner({ order: 1 });
    const second = municipalSigner({ order: 2 });
    const env = await createSentEnvelope(t.prisma, s.actor, { input: { title: '取消テスト案件' }, recipients: [first, second] });
    await deliverDueEmails(t.prisma, { transport: smtp.transport() });
    await voidEnvelope(t.prisma, s.actor, env.id, '仕様変更のため再作成します', { ip: '203.0.113.1' });
    await deliverDueEmails(t.prisma, { transport: smtp.transport() });
    const notice = await smtp.waitFor((m) => m.subject.includes('取り消されました'));
    expect(notice.subject).toBe('【川口市】 「取消テスト案件」の署名依頼は取り消されました');
    expect(notice.to).toEqual([first.email.toLowerCase()]);
    expect(notice.text).toContain('取消理由：仕様変更のため再作成します');
    expect(notice.html).toContain('仕様変更のため再作成します');
    expect(smtp.messages.filter((m) => m.to.includes(second.email.toLowerCase()))).toHaveLength(0);
  });

  it('the same dedupe key is queued once', async () => {
    const input = { dedupeKey: 'dedupe-once', kind: 'test', to: 'y@example.jp', subject: 's', text: 't', html: '<p>t</p>' };
    const a = await t.prisma.$transaction((tx) => enqueueEmail(tx, input));
    const b = await t.prisma.$transaction((tx) => enqueueEmail(tx, { ...input, subject: 'other' }));
    expect([a.queued, b.queued]).toEqual([true, false]);
    expect(await t.prisma.outboxEmail.count({ where: { dedupeKey: 'dedupe-once' } })).toBe(1);
    await deliverDueEmails(t.prisma, { transport: smtp.transport() });
  });

  it('two workers delivering at once send each mail once (SKIP LOCKED)', async () => {
    const signers = [supplierSigner(), supplierSigner(), municipalSigner(), municipalSigner()];
    await createSentEnvelope(t.prisma, s.actor, { recipients: signers });
    const results = await Promise.all([
      deliverDueEmails(t.prisma, { transport: smtp.transport(), batch: 3 }),
      deliverDueEmails(t.prisma, { transport: smtp.transport(), batch: 3 }),
      deliverDueEmails(t.prisma, { transport: smtp.transport(), batch: 3 }),
    ]);
    expect(results.reduce((n, r) => n + r.sent, 0)).toBe(4);
    for (const sg of signers) expect(smtp.messages.filter((m) => m.to.includes(sg.email.toLowerCase()))).toHaveLength(1);
  });

  it('startWorker delivers the outbox in the background and stops cleanly', async () => {
    const signer = supplierSigner();
    const worker = await startWorker(t.prisma, { transport: smtp.transport(), pollMs: 100, listenUrl: t.url, log: () => {} });
    try {
      await createSentEnvelope(t.prisma, s.actor, { recipients: [signer] });
      const mail = await smtp.waitFor((m) => m.to.includes(signer.email.toLowerCase()), 20_000);
      expect(mail.subject).toContain('への署名依頼が届いています');
    } finally {
      await worker.stop();
    }
  });
});

describe('one-time code email', () => {
  it('keeps no usable code in the stored copy once sent', async () => {
    const signer = supplierSigner({ requireEmailOtp: true });
    await createSentEnvelope(t.prisma, s.actor, { recipients: [signer] });
    await deliverDueEmails(t.prisma, { transport: smtp.transport() });
    const request = await smtp.waitFor((m) => m.to.includes(signer.email.toLowerCase()) && /\/sign\//.test(m.text));
    const token = signingTokenIn(urlsIn(request.text).find((u) => u.includes('/sign/'))!)!;
    await sendSigningOtp(t.prisma, token);
    await deliverDueEmails(t.prisma, { transport: smtp.transport() });
    const mail = await smtp.waitFor((m) => m.to.includes(signer.email.toLowerCase()) && m.subject.includes('確認コード'));
    const code = /確認コード：(\d{6})/.exec(mail.text)![1];
    const row = await t.prisma.outboxEmail.findFirstOrThrow({ where: { kind: 'signing_otp', toAddress: signer.email } });
    expect(row.status).toBe('sent');
    expect(row.textBody).not.toContain(code);
    expect(row.htmlBody).not.toContain(code);
    expect(row.textBody).toContain('確認コード：[送信済みのため削除]');
  });
});
