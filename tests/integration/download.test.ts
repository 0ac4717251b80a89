/**
 * ダウンロードリンク: valid for DOWNLOAD_LINK_DAYS (14) days from completion — the clock is injected,
 * not slept; afterwards a clear refusal. Staff can always download and may issue a fresh link.
 * Every view and download is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEnvelopeAudit } from '../../lib/audit';
import {
  completeSigning,
  issueDownloadLink,
  openDownloadFile,
  openDownloadPage,
  openDownloadZip,
  openSealedFileForStaff,
  resolveDownloadLink,
  SEAL_JOB,
} from '../../lib/envelopes';
import { isAppError } from '../../lib/errors';
import { runDueJobs } from '../../lib/jobs';
import { deliverDueEmails } from '../../lib/mail';
import { type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, createSentEnvelope, supplierSigner, testCtx } from '../helpers/fixtures';
import { expectSealedFilesVerifyIndependently, startSealingHarness, type SealingHarness } from '../helpers/sealing-harness';
import { type TestSmtpServer } from '../helpers/smtp';

let tdb: TestDatabase;
let smtp: TestSmtpServer;
let harness: SealingHarness;

beforeAll(async () => {
  harness = await startSealingHarness();
  ({ tdb, smtp } = harness);
});

afterAll(() => harness?.stop());

async function drain(s: NodeJS.ReadableStream): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).length;
  return n;
}

async function errCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isAppError(e)) return e.code;
    throw e;
  }
}

describe('download links', () => {
  it('work for 14 days after completion, then refuse clearly; staff can always download and reissue', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner();
    const env = await createSentEnvelope(db, actor, { recipients: [s], documents: 1 });
    await deliverDueEmails(db, { transport: smtp.transport() });
    const req = await smtp.waitFor((m) => m.to.includes(s.email.toLowerCase()));
    const signToken = /\/sign\/([A-Za-z0-9_-]{32,})/.exec(req.text)![1];
    await completeSigning(db, signToken, testCtx);
    await runDueJobs(db, { names: [SEAL_JOB] });
    const completed = await db.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(completed.status).toBe('completed');
    expect(await expectSealedFilesVerifyIndependently(db, env.id)).toBe(2);

    await deliverDueEmails(db, { transport: smtp.transport() });
    const mail = await smtp.waitFor((m) => m.to.includes(s.email.toLowerCase()) && m.subject.startsWith('電子署名完了のお知らせ'));
    const token = /\/download\/([A-Za-z0-9_-]{32,})/.exec(mail.text)![1];
    const link = await db.downloadLink.findFirstOrThrow({ where: { envelopeId: env.id, email: s.email } });
    expect(link.expiresAt.getTime() - completed.completedAt!.getTime()).toBe(14 * 86_400_000);

    // Day 13: fine.
    const day13 = new Date(completed.completedAt!.getTime() + 13 * 86_400_000);
    const ok = await openDownloadPage(db, token, { ...testCtx, now: day13 });
    expect(ok.ok).toBe(true);
    const f = await openDownloadFile(db, token, 'certificate', { ...testCtx, now: day13 });
    expect(await drain(f.stream)).toBeGreaterThan(1000);

    // Day 14 + 1 s: refused with a clear page; file and zip requests too.
    const after = new Date(link.expiresAt.getTime() + 1000);
    expect(await openDownloadPage(db, token, { ...testCtx, now: after })).toEqual({ ok: false, problem: 'expired' });
    expect(await errCode(openDownloadFile(db, token, 'certificate', { now: after }))).toBe('link_expired');
    expect(await errCode(openDownloadZip(db, token, { now: after }))).toBe('link_expired');

    // Unknown tokens and unknown file ids reveal nothing.
    expect(await resolveDownloadLink(db, 'B'.repeat(43))).toEqual({ ok: false, problem: 'invalid' });
    expect(await errCode(openDownloadFile(db, token, 'doc_00000000-0000-0000-0000-000000000000', { now: day13 }))).toBe('not_found');
    expect(await errCode(openDownloadFile(db, token, '../../etc/passwd', { now: day13 }))).toBe('not_found');

    // Staff: always, and a fresh 14-day link.
    const staffZip = await openSealedFileForStaff(db, actor, env.id, 'zip', { ...testCtx, now: after });
    expect(await drain(staffZip.stream)).toBeGreaterThan(1000);
    const fresh = await issueDownloadLink(db, actor, env.id, { email: s.email, sendEmail: true }, { ...testCtx, now: after });
    expect(fresh.url).toContain('/download/');
    await deliverDueEmails(db, { transport: smtp.transport() });
    const again = await smtp.waitFor((m) => m.to.includes(s.email.toLowerCase()) && m.text.includes(fresh.url));
    expect(again.text).toContain('ダウンロード有効期間：14日間');
    expect((await resolveDownloadLink(db, fresh.token, after)).ok).toBe(true);
    // Another organisation's staff cannot.
    const other = await createOrgWithStaff(db);
    expect(await errCode(openSealedFileForStaff(db, other.actor, env.id, 'zip'))).toBe('not_found');

    const actions = (await listEnvelopeAudit(db, actor.organizationId, env.id)).map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining(['download.page_viewed', 'download.file', 'download.expired_link_used', 'download.zip', 'download.link_issued']),
    );
  });
});
