/**
 * The whole story in lib: sequential supplier → municipal signer, signing URLs read from mail
 * received by a real SMTP server, completion → 'seal-envelope' job → sealed PDFs + 合意締結証明書
 * (real HTTP TSA) → completion emails → download link → files verified by our verifier AND by
 * pdfsig / openssl.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEnvelopeAudit, verifyAuditChain } from '../../lib/audit';
import {
  completeSigning,
  openDownloadFile,
  openDownloadPage,
  openDownloadZip,
  openSigningPage,
  openSealedFileForStaff,
  getSealingStatus,
  retrySealing,
  SEAL_JOB,
  SEAL_MAX_ATTEMPTS,
  setSealingDefaults,
} from '../../lib/envelopes';
import { runDueJobs } from '../../lib/jobs';
import { deliverDueEmails } from '../../lib/mail';
import { verifyPdf } from '../../lib/pades';
import { createDevKeyProvider, derToPem, getRootCertificate } from '../../lib/pki';
import { createTsaClient, type TsaServer } from '../../lib/tsa';
import { type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, createSentEnvelope, municipalSigner, supplierSigner, testCtx } from '../helpers/fixtures';
import { independentlyVerify } from '../helpers/independent-verify';
import { startSealingHarness, type SealingHarness } from '../helpers/sealing-harness';
import { type ReceivedMail, type TestSmtpServer } from '../helpers/smtp';

let tdb: TestDatabase;
let smtp: TestSmtpServer;
let tsa: TsaServer;
let harness: SealingHarness;
let rootPem: string;

const signToken = (m: ReceivedMail) => /\/sign\/([A-Za-z0-9_-]{32,})/.exec(m.text)![1];
const downloadToken = (m: ReceivedMail) => /\/download\/([A-Za-z0-9_-]{32,})/.exec(m.text)![1];

async function streamToBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

beforeAll(async () => {
  harness = await startSealingHarness();
  ({ tdb, smtp, tsa } = harness);
  rootPem = derToPem(await getRootCertificate());
});

afterAll(() => harness?.stop());

describe('complete → seal → completion emails → download', () => {
  it('runs the whole story and every downloaded PDF verifies independently', async () => {
    const db = tdb.prisma;
    const { actor, user } = await createOrgWithStaff(db);
    const supplier = supplierSigner({ order: 1 });
    const mayor = municipalSigner({ order: 2 });
    const env = await createSentEnvelope(db, actor, { documents: 2, recipients: [supplier, mayor] });
    expect(env.signingOrder).toBe('sequential');

    // 1. Supplier's request email over real SMTP.
    await deliverDueEmails(db, { transport: smtp.transport() });
    const req1 = await smtp.waitFor((m) => m.to.includes(supplier.email.toLowerCase()));
    expect(smtp.messages.some((m) => m.to.includes(mayor.email.toLowerCase()))).toBe(false);
    const t1 = signToken(req1);

    const page1 = await openSigningPage(db, t1, { ip: '198.51.100.1', userAgent: 'SupplierPhone/1.0' });
    expect(page1.ok).toBe(true);
    if (!page1.ok) return;
    expect(page1.view.state).toBe('sign');
    expect(page1.view.documents).toHaveLength(2);
    expect(page1.view.sender.organization).toBe(actor.organizationName);

    const c1 = await completeSigning(db, t1, { ip: '198.51.100.1', userAgent: 'SupplierPhone/1.0' });
    expect(c1).toMatchObject({ completedNow: true, sealingStarted: false });
    expect(c1.notifiedNext).toHaveLength(1);

    // 2. The municipal signer is emailed only now.
    await deliverDueEmails(db, { transport: smtp.transport() });
    const req2 = await smtp.waitFor((m) => m.to.includes(mayor.email.toLowerCase()));
    const t2 = signToken(req2);
    await openSigningPage(db, t2, { ip: '192.0.2.7', userAgent: 'CityDesktop/2.0' });
    const c2 = await completeSigning(db, t2, { ip: '192.0.2.7', userAgent: 'CityDesktop/2.0' });
    expect(c2).toMatchObject({ completedNow: true, sealingStarted: true });

    // Sealing happens in the job, not in the request.
    let e = await db.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(e.status).toBe('sealing');
    expect(await db.job.count({ where: { name: SEAL_JOB, singletonKey: env.id } })).toBe(1);

    const run = await runDueJobs(db, { names: [SEAL_JOB] });
    expect(run.completed).toBe(1);
    e = await db.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(e.status).toBe('completed');
    const docs = await db.document.findMany({ where: { envelopeId: env.id } });
    expect(docs.every((d) => d.sealedBlobId && d.sealedSha256 && d.sealedSha256 !== d.sha256)).toBe(true);
    const cert = await db.completionCertificate.findUniqueOrThrow({ where: { envelopeId: env.id } });

    // 3. Completion emails: both parties and the sender, each with an own link.
    await deliverDueEmails(db, { transport: smtp.transport() });
    const subject = `電子署名完了のお知らせ（${env.title}）`;
    const mails = await Promise.all(
      [supplier.email, mayor.email, user.email].map((a) => smtp.waitFor((m) => m.subject === subject && m.to.includes(a.toLowerCase()))),
    );
    const tokens = new Set(mails.map(downloadToken));
    expect(tokens.size).toBe(3);
    for (const m of mails) {
      expect(m.text).toContain('ダウンロード有効期間：14日間');
      expect(m.text).toContain(env.title);
      expect(m.text).toContain('契約書1.pdf');
      expect(m.text).toContain(actor.organizationName);
    }

    // 4. The download link lists the two documents and the certificate.
    const dl = downloadToken(mails[0]);
    const page = await openDownloadPage(db, dl, testCtx);
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    expect(page.access.files.map((f) => f.kind)).toEqual(['document', 'document', 'certificate']);

    for (const f of page.access.files) {
      const got = await openDownloadFile(db, dl, f.id, testCtx);
      const bytes = new Uint8Array(await streamToBuffer(got.stream));
      const report = await verifyPdf(bytes, { trustAnchors: [await getRootCertificate()] });
      expect(report.valid, report.summary + report.problems.join('; ')).toBe(true);
      expect(report.level).toBe('B-LTA');
      const ind = await independentlyVerify(bytes, rootPem, { pdfsigTrust: 'lenient' }); // dev chain names an OCSP URL (see helper)
      expect(ind.ok, ind.failures.join('; ')).toBe(true);
      if (f.kind === 'certificate') {
        expect(f.sha256).toBe(cert.sha256);
        const dir = mkdtempSync(path.join(os.tmpdir(), 'cert-'));
        writeFileSync(path.join(dir, 'c.pdf'), bytes);
        const text = execFileSync('pdftotext', ['-enc', 'UTF-8', path.join(dir, 'c.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, '');
        expect(text).toContain('合意締結証明書');
        expect(text).toContain(env.documentNumber);
        for (const d of docs) {
          expect(text).toContain(d.sha256);
          expect(text).toContain(d.sealedSha256!);
        }
        expect(text).toContain(supplier.email);
        expect(text).toContain(mayor.email);
        expect(text).toContain('198.51.100.1');
        expect(text).toContain('192.0.2.7');
        expect(text).toContain('SupplierPhone/1.0');
        expect(text).toContain('メールリンク認証');
      }
      const seal = report.signatures.find((s) => s.kind === 'signature')!;
      expect(seal.reason).toContain('立会人型電子署名');
      expect(seal.reason).toContain(env.documentNumber);
      expect(seal.reason).toContain(supplier.name);
    }

    // 5. ZIP of everything (streamed), and staff can always download.
    const zip = await openDownloadZip(db, dl, testCtx);
    const zipBytes = await streamToBuffer(zip.stream);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zip-'));
    writeFileSync(path.join(dir, 'a.zip'), zipBytes);
    const listing = execFileSync('unzip', ['-t', path.join(dir, 'a.zip')], { encoding: 'utf8' });
    expect(listing).toMatch(/No errors detected/);
    expect((listing.match(/OK/g) ?? []).length).toBeGreaterThanOrEqual(3);
    const staff = await openSealedFileForStaff(db, actor, env.id, 'certificate', testCtx);
    expect((await streamToBuffer(staff.stream)).length).toBeGreaterThan(1000);

    // 6. Audit: every step recorded, chain intact.
    const audit = await listEnvelopeAudit(db, actor.organizationId, env.id);
    const actions = audit.map((a) => a.action);
    for (const a of ['signing.page_opened', 'signing.completed', 'envelope.sealing_started', 'envelope.sealed', 'envelope.completed', 'email.sent', 'download.page_viewed', 'download.file', 'download.zip']) {
      expect(actions).toContain(a);
    }
    const completed = audit.filter((a) => a.action === 'signing.completed');
    expect(completed.map((a) => a.ip)).toEqual(['198.51.100.1', '192.0.2.7']);
    expect(await verifyAuditChain(db, actor.organizationId)).toBeNull();

    // Retried job: nothing more happens.
    const { sealEnvelope } = await import('../../lib/envelopes');
    expect((await sealEnvelope(db, env.id)).result).toBe('already_completed');
    expect(await db.outboxEmail.count({ where: { envelopeId: env.id, kind: 'completion' } })).toBe(3);
  });

  it('a seal job that fails (TSA unreachable) is audited, retried later and then completes once', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const s = supplierSigner();
    const env = await createSentEnvelope(db, actor, { recipients: [s] });
    await deliverDueEmails(db, { transport: smtp.transport() });
    const t = signToken(await smtp.waitFor((m) => m.to.includes(s.email.toLowerCase())));
    await completeSigning(db, t, testCtx);

    setSealingDefaults({ keyProvider: createDevKeyProvider(), tsa: createTsaClient({ url: 'http://127.0.0.1:9/', retries: 0, timeoutMs: 2000 }) });
    const first = await runDueJobs(db, { names: [SEAL_JOB] });
    expect(first.failed).toBe(1);
    expect((await db.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('sealing');
    const failed = (await listEnvelopeAudit(db, actor.organizationId, env.id)).filter((a) => a.action === 'envelope.seal_failed');
    expect(failed).toHaveLength(1);

    setSealingDefaults({ keyProvider: createDevKeyProvider(), tsa: createTsaClient({ url: tsa.url }) });
    const retry = await runDueJobs(db, { names: [SEAL_JOB], now: new Date(Date.now() + 60_000) });
    expect(retry.completed).toBe(1);
    expect((await db.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('completed');
    expect(await db.outboxEmail.count({ where: { envelopeId: env.id, kind: 'completion' } })).toBe(2);
    expect(await db.completionCertificate.count({ where: { envelopeId: env.id } })).toBe(1);
  });

  it('a seal that ran out of attempts (long TSA outage) is re-armed once by staff and completes once', async () => {
    const db = tdb.prisma;
    const { actor } = await createOrgWithStaff(db);
    const other = await createOrgWithStaff(db);
    const s = supplierSigner();
    const env = await createSentEnvelope(db, actor, { recipients: [s] });
    await deliverDueEmails(db, { transport: smtp.transport() });
    const t = signToken(await smtp.waitFor((m) => m.to.includes(s.email.toLowerCase())));
    await completeSigning(db, t, testCtx);

    const job = await db.job.findFirstOrThrow({ where: { name: SEAL_JOB, singletonKey: env.id } });
    expect(job.maxAttempts).toBe(SEAL_MAX_ATTEMPTS); // a long retry window, not a few minutes
    expect(await getSealingStatus(db, actor, env.id)).toMatchObject({ state: 'queued', attempts: 0 });
    // Nothing to re-arm while the job is still queued.
    expect(await retrySealing(db, actor, env.id, testCtx)).toEqual({ rearmed: false });

    // The TSA stays unreachable for the whole retry window: simulate the last attempt failing.
    setSealingDefaults({ keyProvider: createDevKeyProvider(), tsa: createTsaClient({ url: 'http://127.0.0.1:9/', retries: 0, timeoutMs: 2000 }) });
    await db.job.update({ where: { id: job.id }, data: { attempts: SEAL_MAX_ATTEMPTS - 1 } });
    expect((await runDueJobs(db, { names: [SEAL_JOB] })).failed).toBe(1);
    expect(await getSealingStatus(db, actor, env.id)).toMatchObject({ state: 'stopped', attempts: SEAL_MAX_ATTEMPTS });
    // No more automatic attempts, however long we wait.
    expect((await runDueJobs(db, { names: [SEAL_JOB], now: new Date(Date.now() + 7 * 86_400_000) })).claimed).toBe(0);

    // Another organisation cannot see or retry it.
    await expect(retrySealing(db, other.actor, env.id, testCtx)).rejects.toMatchObject({ code: 'not_found' });
    expect(await getSealingStatus(db, other.actor, env.id)).toBeNull();

    // Staff retry (double click: the second does nothing), the TSA is back, the seal completes once.
    setSealingDefaults({ keyProvider: createDevKeyProvider(), tsa: createTsaClient({ url: tsa.url }) });
    const [a, b] = await Promise.all([retrySealing(db, actor, env.id, testCtx), retrySealing(db, actor, env.id, testCtx)]);
    expect([a.rearmed, b.rearmed].sort()).toEqual([false, true]);
    expect((await runDueJobs(db, { names: [SEAL_JOB] })).completed).toBe(1);
    expect((await db.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('completed');
    expect(await db.job.count({ where: { name: SEAL_JOB, singletonKey: env.id } })).toBe(1);
    expect(await db.outboxEmail.count({ where: { envelopeId: env.id, kind: 'completion' } })).toBe(2);
    const audit = (await listEnvelopeAudit(db, actor.organizationId, env.id)).map((e) => e.action);
    expect(audit.filter((a) => a === 'envelope.seal_retried')).toHaveLength(1);
    await expect(retrySealing(db, actor, env.id, testCtx)).rejects.toMatchObject({ code: 'invalid_state' });
  });
});
