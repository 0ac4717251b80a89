/**
 * Signer access and transitions against real PostgreSQL + real SMTP (+ real HTTP TSA for sealing):
 * decline, expired / revoked / unknown links, アクセスコード lock-out, email one-time code,
 * double completion (same signer twice at once, last two signers at once) → one seal, one set of emails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEnvelopeAudit } from '../../lib/audit';
import {
  ACCESS_CODE_MAX_FAILURES,
  completeSigning,
  declineSigning,
  getSigningDocument,
  openSigningPage,
  OTP_MAX_SENDS_PER_15_MIN,
  resolveSigningLink,
  SEAL_JOB,
  sealEnvelope,
  sendSigningOtp,
  verifyAccessCode,
  verifySigningOtp,
} from '../../lib/envelopes';
import { isAppError } from '../../lib/errors';
import { runDueJobs } from '../../lib/jobs';
import { deliverDueEmails } from '../../lib/mail';
import { type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, createSentEnvelope, municipalSigner, supplierSigner } from '../helpers/fixtures';
import { expectSealedFilesVerifyIndependently, startSealingHarness, type SealingHarness } from '../helpers/sealing-harness';
import { type ReceivedMail, type TestSmtpServer } from '../helpers/smtp';

let tdb: TestDatabase;
let smtp: TestSmtpServer;
let harness: SealingHarness;

const signToken = (m: ReceivedMail) => /\/sign\/([A-Za-z0-9_-]{32,})/.exec(m.text)![1];

async function tokenFor(email: string): Promise<string> {
  await deliverDueEmails(tdb.prisma, { transport: smtp.transport() });
  const m = await smtp.waitFor((x) => x.to.includes(email.toLowerCase()) && /\/sign\//.test(x.text));
  return signToken(m);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isAppError(e)) return e.code;
    throw e;
  }
}

beforeAll(async () => {
  harness = await startSealingHarness();
  ({ tdb, smtp } = harness);
});

afterAll(() => harness?.stop());

describe('signing links', () => {
  it('refuses unknown, malformed, expired and revoked links without detail', async () => {
    const db = tdb.prisma;
    expect(await resolveSigningLink(db, 'x')).toEqual({ ok: false, problem: 'invalid' });
    expect(await resolveSigningLink(db, 'A'.repeat(43))).toEqual({ ok: false, problem: 'invalid' });
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner();
    const env = await createSentEnvelope(db, actor, { recipients: [s] });
    const token = await tokenFor(s.email);
    expect((await resolveSigningLink(db, token)).ok).toBe(true);
    // Clock injected past the signing deadline.
    const later = new Date(env.expiresAt!.getTime() + 1000);
    const r = await openSigningPage(db, token, { now: later });
    expect(r).toEqual({ ok: false, problem: 'envelope_expired' });
    expect(await codeOf(completeSigning(db, token, { now: later }))).toBe('link_expired');
    // A revoked request (e.g. after a resend).
    await db.signingRequest.updateMany({ data: { revokedAt: new Date() } });
    expect(await resolveSigningLink(db, token)).toEqual({ ok: false, problem: 'revoked' });
  });

  it('the signing request expiry alone also ends the link', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner();
    await createSentEnvelope(db, actor, { recipients: [s] });
    const token = await tokenFor(s.email);
    await db.signingRequest.updateMany({ where: { recipient: { email: s.email } }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await resolveSigningLink(db, token)).toEqual({ ok: false, problem: 'expired' });
  });
});

describe('documents through an ended link', () => {
  it('a signer who completed cannot fetch the documents once the link or the envelope has expired', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const a = supplierSigner();
    const b = municipalSigner();
    const env = await createSentEnvelope(db, actor, { recipients: [a, b] });
    const ta = await tokenFor(a.email);
    const doc = await db.document.findFirstOrThrow({ where: { envelopeId: env.id } });
    expect((await getSigningDocument(db, ta, doc.id)).blobId).toBe(doc.originalBlobId);
    await completeSigning(db, ta);
    // Past the signing deadline (the other party never completed).
    const later = new Date(env.expiresAt!.getTime() + 1000);
    expect(await codeOf(getSigningDocument(db, ta, doc.id, { now: later }))).toBe('link_expired');
    await db.envelope.update({ where: { id: env.id }, data: { status: 'expired' } });
    expect(await codeOf(getSigningDocument(db, ta, doc.id))).toBe('link_expired');
  });
});

describe('decline (差し戻し)', () => {
  it('declines with a reason: envelope declined, links revoked, sender and other parties emailed once', async () => {
    const db = tdb.prisma;
    const { actor, user } = await createOrgWithStaff(db);
    const a = supplierSigner();
    const b = municipalSigner();
    const cc = supplierSigner({ role: 'cc', name: '経理 担当', email: `cc-${Date.now()}@supplier.example.co.jp` });
    const env = await createSentEnvelope(db, actor, { recipients: [a, b, cc] });
    const ta = await tokenFor(a.email);
    const tb = await tokenFor(b.email);
    expect(await codeOf(declineSigning(db, ta, '   '))).toBe('validation');
    const [r1, r2] = await Promise.all([
      declineSigning(db, ta, '金額が見積書と異なります。', { ip: '198.51.100.9', userAgent: 'UA-decline' }),
      declineSigning(db, ta, '金額が見積書と異なります。', { ip: '198.51.100.9', userAgent: 'UA-decline' }),
    ]);
    expect([r1.declinedNow, r2.declinedNow].filter(Boolean)).toHaveLength(1);
    const e = await db.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(e.status).toBe('declined');
    expect(e.declineReason).toBe('金額が見積書と異なります。');
    expect(await resolveSigningLink(db, tb)).toEqual({ ok: false, problem: 'declined' });
    expect(await codeOf(completeSigning(db, tb))).toBe('invalid_state');

    await deliverDueEmails(db, { transport: smtp.transport() });
    for (const to of [user.email, b.email, cc.email!]) {
      const m = await smtp.waitFor((x) => x.to.includes(to.toLowerCase()) && x.subject.includes('差し戻し'));
      expect(m.text).toContain('金額が見積書と異なります。');
      expect(m.text).toContain(e.title);
    }
    expect(await db.outboxEmail.count({ where: { envelopeId: env.id, kind: 'envelope_declined' } })).toBe(3);
    const audit = await listEnvelopeAudit(db, actor.organizationId, env.id);
    const d = audit.filter((x) => x.action === 'signing.declined');
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ ip: '198.51.100.9', userAgent: 'UA-decline', actorType: 'recipient' });
  });
});

describe('アクセスコード', () => {
  it('the lock-out holds under concurrency: parallel wrong guesses get at most ACCESS_CODE_MAX_FAILURES tries', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner({ accessCode: 'Parallel-2026' });
    await createSentEnvelope(db, actor, { recipients: [s] });
    const token = await tokenFor(s.email);
    const guesses = Array.from({ length: 4 * ACCESS_CODE_MAX_FAILURES }, (_, i) => `wrong-${i}`);
    const results = await Promise.all(guesses.map((g) => codeOf(verifyAccessCode(db, token, g))));
    expect(results.filter((r) => r === 'unauthorized').length).toBeLessThanOrEqual(ACCESS_CODE_MAX_FAILURES);
    expect(results.filter((r) => r !== 'unauthorized').every((r) => r === 'locked')).toBe(true);
    // Locked now: even the right code is refused.
    expect(await codeOf(verifyAccessCode(db, token, 'Parallel-2026'))).toBe('locked');
  });

  it('requires the code before documents are shown and locks out after repeated failures', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner({ accessCode: 'Kawaguchi-2026' });
    const env = await createSentEnvelope(db, actor, { recipients: [s] });
    const token = await tokenFor(s.email);
    const page = await openSigningPage(db, token);
    expect(page.ok && page.view.state).toBe('auth');
    expect(page.ok && page.view.documents).toEqual([]);
    expect(await codeOf(completeSigning(db, token))).toBe('unauthorized');

    for (let i = 1; i < ACCESS_CODE_MAX_FAILURES; i++) {
      expect(await codeOf(verifyAccessCode(db, token, 'wrong-code', { ip: '203.0.113.66' }))).toBe('unauthorized');
    }
    // The last allowed failure locks; even the right code is refused while locked.
    expect(await codeOf(verifyAccessCode(db, token, 'wrong-code'))).toBe('locked');
    expect(await codeOf(verifyAccessCode(db, token, 'Kawaguchi-2026'))).toBe('locked');
    const r = await db.recipient.findFirstOrThrow({ where: { envelopeId: env.id } });
    expect(r.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
    const audit = await listEnvelopeAudit(db, actor.organizationId, env.id);
    expect(audit.filter((a) => a.action === 'signing.access_code_failed')).toHaveLength(ACCESS_CODE_MAX_FAILURES);
    expect(audit.filter((a) => a.action === 'signing.locked')).toHaveLength(1);

    // After the lock (clock injected), the right code works and the method is recorded.
    const later = new Date(r.lockedUntil!.getTime() + 1000);
    const { session } = await verifyAccessCode(db, token, 'Kawaguchi-2026', { now: later });
    const page2 = await openSigningPage(db, token, { session, now: later });
    expect(page2.ok && page2.view.state).toBe('sign');
    expect(page2.ok && page2.view.documents.length).toBe(1);
    // A session for another recipient / a forged cookie does not count.
    expect(await codeOf(completeSigning(db, token, { session: session.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), now: later }))).toBe('unauthorized');
    await completeSigning(db, token, { session, now: later });
    const done = await db.recipient.findFirstOrThrow({ where: { envelopeId: env.id } });
    expect(done.authMethod).toBe('email_link+access_code');
  });
});

describe('高度な認証 (email one-time code)', () => {
  it('sends a code by email, refuses a wrong one, accepts the right one and records the method', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner({ requireEmailOtp: true });
    const env = await createSentEnvelope(db, actor, { recipients: [s] });
    const token = await tokenFor(s.email);
    expect(await codeOf(completeSigning(db, token))).toBe('unauthorized');
    await sendSigningOtp(db, token, { ip: '203.0.113.5' });
    await deliverDueEmails(db, { transport: smtp.transport() });
    const m = await smtp.waitFor((x) => x.to.includes(s.email.toLowerCase()) && x.subject.includes('確認コード'));
    const code = /確認コード：(\d{6})/.exec(m.text)![1];
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await codeOf(verifySigningOtp(db, token, wrong))).toBe('unauthorized');
    const { session } = await verifySigningOtp(db, token, code);
    // One-time: the same code does not work twice.
    expect(await codeOf(verifySigningOtp(db, token, code))).toBe('unauthorized');
    await completeSigning(db, token, { session });
    const r = await db.recipient.findFirstOrThrow({ where: { envelopeId: env.id } });
    expect(r.authMethod).toBe('email_link+email_otp');
    const actions = (await listEnvelopeAudit(db, actor.organizationId, env.id)).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['signing.otp_sent', 'signing.otp_failed', 'signing.otp_verified', 'signing.completed']));
  });

  it('the send limit holds under concurrency: parallel requests send at most OTP_MAX_SENDS_PER_15_MIN codes, one left usable', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner({ requireEmailOtp: true });
    await createSentEnvelope(db, actor, { recipients: [s] });
    const token = await tokenFor(s.email);
    const results = await Promise.all(Array.from({ length: 4 * OTP_MAX_SENDS_PER_15_MIN }, () => codeOf(sendSigningOtp(db, token))));
    expect(results.filter((r) => r === 'ok').length).toBeLessThanOrEqual(OTP_MAX_SENDS_PER_15_MIN);
    expect(results.filter((r) => r !== 'ok').every((r) => r === 'rate_limited')).toBe(true);
    const rcp = await db.recipient.findFirstOrThrow({ where: { email: s.email } });
    expect(await db.emailOtp.count({ where: { recipientId: rcp.id } })).toBeLessThanOrEqual(OTP_MAX_SENDS_PER_15_MIN);
    expect(await db.emailOtp.count({ where: { recipientId: rcp.id, consumedAt: null } })).toBe(1);
  });
});

describe('double completion', () => {
  it('two tabs of one signer, and the last two signers at once: one seal job, one set of emails', async () => {
    const db = tdb.prisma;
    const { actor, user } = await createOrgWithStaff(db);
    const a = supplierSigner();
    const b = municipalSigner();
    const env = await createSentEnvelope(db, actor, { recipients: [a, b] });
    expect(env.signingOrder).toBe('parallel');
    const ta = await tokenFor(a.email);
    const tb = await tokenFor(b.email);

    const results = await Promise.all([completeSigning(db, ta), completeSigning(db, ta), completeSigning(db, tb), completeSigning(db, tb)]);
    expect(results.filter((r) => r.completedNow)).toHaveLength(2);
    expect(results.filter((r) => r.sealingStarted)).toHaveLength(1);
    expect(await db.job.count({ where: { name: SEAL_JOB, singletonKey: env.id } })).toBe(1);
    expect((await db.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('sealing');

    // The job and a stray retry racing each other, then another retry.
    await Promise.all([runDueJobs(db, { names: [SEAL_JOB] }), sealEnvelope(db, env.id)]);
    await sealEnvelope(db, env.id);
    const e = await db.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(e.status).toBe('completed');
    const docs = await db.document.findMany({ where: { envelopeId: env.id } });
    expect(docs.every((d) => d.sealedBlobId)).toBe(true);
    expect(await db.completionCertificate.count({ where: { envelopeId: env.id } })).toBe(1);
    // Sealed blobs: one per document + one certificate (a loser's extra blob is deleted).
    const sealedBlobs = await db.storedBlob.count({ where: { OR: [{ sealedOf: { some: { envelopeId: env.id } } }, { certificateOf: { some: { envelopeId: env.id } } }] } });
    expect(sealedBlobs).toBe(docs.length + 1);
    expect(await expectSealedFilesVerifyIndependently(db, env.id)).toBe(docs.length + 1);

    expect(await db.downloadLink.count({ where: { envelopeId: env.id } })).toBe(3);
    await deliverDueEmails(db, { transport: smtp.transport() });
    const subject = `電子署名完了のお知らせ（${e.title}）`;
    for (const to of [a.email, b.email, user.email]) {
      await smtp.waitFor((m) => m.subject === subject && m.to.includes(to.toLowerCase()));
      expect(smtp.messages.filter((m) => m.subject === subject && m.to.includes(to.toLowerCase()))).toHaveLength(1);
    }
    const actions = (await listEnvelopeAudit(db, actor.organizationId, env.id)).map((x) => x.action);
    expect(actions.filter((x) => x === 'signing.completed')).toHaveLength(2);
    expect(actions.filter((x) => x === 'envelope.sealed')).toHaveLength(1);
    expect(actions.filter((x) => x === 'envelope.completed')).toHaveLength(1);
    // A completed signer's link shows the completed page.
    const page = await openSigningPage(db, ta);
    expect(page.ok && page.view.state).toBe('sealed');
  });
});
