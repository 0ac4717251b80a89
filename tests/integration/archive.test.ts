/**
 * アーカイブタイムスタンプ更新 (B-LTA renewal): a completed, sealed envelope
 * whose document timestamps' TSA certificate expires within the window gets, per file, an append-only
 * ArchiveRenewal: a NEW blob starting with the previous bytes + DSS + a new document timestamp from
 * a TSA that now signs with a later-expiring certificate (a real HTTP TSA). Verified by our verifier
 * and by openssl; downloads serve the renewed file; the sealed blob ids never change; renewal rows
 * cannot be updated or deleted.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEnvelopeAudit, verifyAuditChain } from '../../lib/audit';
import {
  completeSigning,
  currentSealedBlobId,
  newestTimestampNotAfter,
  openDownloadFile,
  openDownloadPage,
  openDownloadZip,
  openSealedFileForStaff,
  renewArchiveTimestamps,
  SEAL_JOB,
  setSealingDefaults,
} from '../../lib/envelopes';
import { runDueJobs } from '../../lib/jobs';
import { deliverDueEmails } from '../../lib/mail';
import { verifyPdf } from '../../lib/pades';
import { createDevKeyProvider, derToPem, getDevPki, getRootCertificate } from '../../lib/pki';
import { keySigningKey } from '../../lib/pki/dev';
import { deleteBlob, readBlob } from '../../lib/storage';
import { createTsaClient, startTsaServer, type TsaServer } from '../../lib/tsa';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, createSentEnvelope, supplierSigner, testCtx, useTempDataDir } from '../helpers/fixtures';
import { findSignatures, independentlyVerify } from '../helpers/independent-verify';
import { startTestSmtp, type ReceivedMail, type TestSmtpServer } from '../helpers/smtp';

let tdb: TestDatabase;
let smtp: TestSmtpServer;
/** The TSA that sealed (dev TSA certificate, 10 years). */
let tsa: TsaServer;
/** The same TSA after it rolled its certificate: a new key and a certificate from the same root valid for 15 years. */
let rolledTsa: TsaServer;
let data: { cleanup(): Promise<void> };
let rootPem: string;
let rootDer: Uint8Array;

const signToken = (m: ReceivedMail) => /\/sign\/([A-Za-z0-9_-]{32,})/.exec(m.text)![1];
const downloadToken = (m: ReceivedMail) => /\/download\/([A-Za-z0-9_-]{32,})/.exec(m.text)![1];
const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

async function streamToBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

/** A new TSA certificate (critical EKU timeStamping) issued by the dev root with the openssl CLI. */
async function rolledTsaSigner() {
  const pki = await getDevPki();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsa-roll-'));
  writeFileSync(path.join(dir, 'root.key'), pki.root.key.export({ format: 'pem', type: 'pkcs8' }) as string);
  writeFileSync(path.join(dir, 'root.crt'), derToPem(pki.root.certDer));
  writeFileSync(
    path.join(dir, 'ext.cnf'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=critical,timeStamping',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
    ].join('\n'),
  );
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'tsa.key']);
  run(['req', '-new', '-key', 'tsa.key', '-subj', '/C=JP/O=Tachiai Sign/CN=Rolled TSA', '-out', 'tsa.csr']);
  run(['x509', '-req', '-in', 'tsa.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-set_serial', '0x' + crypto.randomBytes(8).toString('hex'), '-days', String(15 * 366), '-sha256', '-extfile', 'ext.cnf', '-out', 'tsa.crt']);
  const certDer = new Uint8Array(Buffer.from(readFileSync(path.join(dir, 'tsa.crt'), 'utf8').replace(/-----[^-]+-----|\s+/g, ''), 'base64'));
  const key = crypto.createPrivateKey(readFileSync(path.join(dir, 'tsa.key')));
  return keySigningKey(key, certDer, [pki.root.certDer]);
}

beforeAll(async () => {
  data = await useTempDataDir();
  tdb = await createTestDatabase();
  smtp = await startTestSmtp();
  tsa = await startTsaServer();
  rolledTsa = await startTsaServer({ signer: await rolledTsaSigner() });
  setSealingDefaults({ keyProvider: createDevKeyProvider(), tsa: createTsaClient({ url: tsa.url }) });
  rootDer = await getRootCertificate();
  rootPem = derToPem(rootDer);
});

afterAll(async () => {
  setSealingDefaults({});
  await rolledTsa?.close();
  await tsa?.close();
  await smtp?.close();
  await tdb?.drop();
  await data?.cleanup();
});

async function completedEnvelope() {
  const db = tdb.prisma;
  const { actor } = await createOrgWithStaff(db);
  const s = supplierSigner();
  const env = await createSentEnvelope(db, actor, { documents: 2, recipients: [s] });
  await deliverDueEmails(db, { transport: smtp.transport() });
  const t = signToken(await smtp.waitFor((m) => m.to.includes(s.email.toLowerCase()) && m.text.includes(env.title)));
  await completeSigning(db, t, testCtx);
  expect((await runDueJobs(db, { names: [SEAL_JOB] })).completed).toBe(1);
  expect((await db.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('completed');
  await deliverDueEmails(db, { transport: smtp.transport() });
  const mail = await smtp.waitFor((m) => m.subject === `電子署名完了のお知らせ（${env.title}）` && m.to.includes(s.email.toLowerCase()));
  return { actor, env, download: downloadToken(mail) };
}

describe('archive timestamp renewal', () => {
  it('renews each due file as an append-only new version that verifies (B-LTA, two document timestamps) and is what downloads serve', async () => {
    const db = tdb.prisma;
    const { actor, env, download } = await completedEnvelope();
    const docsBefore = await db.document.findMany({ where: { envelopeId: env.id }, orderBy: { position: 'asc' } });
    const certBefore = await db.completionCertificate.findUniqueOrThrow({ where: { envelopeId: env.id } });
    const sealedTsaNotAfter = newestTimestampNotAfter(await readBlob(db, certBefore.blobId))!;
    const devTsaCert = new crypto.X509Certificate(Buffer.from((await getDevPki()).tsa.certDer));
    expect(sealedTsaNotAfter.toISOString()).toBe(new Date(devTsaCert.validTo).toISOString());
    // Sealing stored it with each file: renewal selects due files without reading them.
    expect(docsBefore.map((d) => d.tsaNotAfter?.toISOString())).toEqual(docsBefore.map(() => sealedTsaNotAfter.toISOString()));
    expect(certBefore.tsaNotAfter?.toISOString()).toBe(sealedTsaNotAfter.toISOString());

    // Not due with the default window (the dev TSA certificate is valid for 10 years); no file is read.
    const early = await renewArchiveTimestamps(db, { tsa: createTsaClient({ url: rolledTsa.url }) });
    expect(early.renewed).toHaveLength(0);
    expect(early.due).toBe(0);
    expect(early.checked).toBe(0);

    // A window reaching past the TSA certificate's expiry makes all three files due.
    const renewBeforeDays = Math.ceil((sealedTsaNotAfter.getTime() - Date.now()) / 86_400_000) + 30;

    // The TSA still signs with the same certificate: renewing would extend nothing, so nothing is stored.
    const same = await renewArchiveTimestamps(db, { renewBeforeDays, tsa: createTsaClient({ url: tsa.url }) });
    expect(same).toMatchObject({ due: 3, notExtended: 3, failed: 0 });
    expect(same.renewed).toHaveLength(0);
    expect(await db.archiveRenewal.count({ where: { envelopeId: env.id } })).toBe(0);

    // The TSA has rolled its certificate: one renewal per file.
    const run = await renewArchiveTimestamps(db, { renewBeforeDays, tsa: createTsaClient({ url: rolledTsa.url }) });
    expect(run.failed).toBe(0);
    const mine = run.renewed.filter((r) => r.envelopeId === env.id);
    expect(mine.map((r) => r.file).sort()).toEqual([...docsBefore.map((d) => `doc_${d.id}`), 'certificate'].sort());
    const renewals = await db.archiveRenewal.findMany({ where: { envelopeId: env.id }, include: { blob: true } });
    expect(renewals).toHaveLength(3);

    // The sealed blob ids and hashes are untouched.
    const docsAfter = await db.document.findMany({ where: { envelopeId: env.id }, orderBy: { position: 'asc' } });
    expect(docsAfter.map((d) => [d.sealedBlobId, d.sealedSha256])).toEqual(docsBefore.map((d) => [d.sealedBlobId, d.sealedSha256]));
    expect(await db.completionCertificate.findUniqueOrThrow({ where: { envelopeId: env.id } })).toMatchObject({ blobId: certBefore.blobId, sha256: certBefore.sha256 });

    const renewedBytes = new Map<string, Buffer>();
    for (const r of renewals) {
      const previous = r.documentId ? docsBefore.find((d) => d.id === r.documentId)!.sealedBlobId! : certBefore.blobId;
      expect(r.previousBlobId).toBe(previous);
      expect(r.documentId ? !r.certificateId : !!r.certificateId).toBe(true);
      const oldBytes = await readBlob(db, previous);
      const newBytes = await readBlob(db, r.blobId);
      expect(newBytes.length).toBeGreaterThan(oldBytes.length);
      expect(newBytes.subarray(0, oldBytes.length).equals(oldBytes)).toBe(true);
      expect(sha256(newBytes)).toBe(r.sha256);
      expect(r.tsaNotAfter.getTime()).toBeGreaterThan(sealedTsaNotAfter.getTime());

      const report = await verifyPdf(new Uint8Array(newBytes), { trustAnchors: [rootDer] });
      expect(report.valid, report.summary + report.problems.join('; ')).toBe(true);
      expect(report.level).toBe('B-LTA');
      expect(report.signatures.filter((s) => s.kind === 'doc_timestamp')).toHaveLength(2);
      const ind = await independentlyVerify(new Uint8Array(newBytes), rootPem, { pdfsigTrust: 'lenient' });
      expect(ind.ok, ind.failures.join('; ')).toBe(true);
      expect(ind.docTimestamps).toBe(2);
      // The new document timestamp covers the whole renewed file.
      const dts = findSignatures(new Uint8Array(newBytes)).filter((s) => s.isDocTimestamp);
      const last = dts[dts.length - 1].byteRange;
      expect(last[2] + last[3]).toBe(newBytes.length);
      renewedBytes.set(r.documentId ? `doc_${r.documentId}` : 'certificate', newBytes);
    }

    // Downloads serve the renewed version: the link (each file and the ZIP) and staff.
    const page = await openDownloadPage(db, download, testCtx);
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    for (const f of page.access.files) {
      const expected = renewedBytes.get(f.id)!;
      expect(f.sha256).toBe(sha256(expected));
      expect(f.sizeBytes).toBe(BigInt(expected.length));
      const got = await streamToBuffer((await openDownloadFile(db, download, f.id, testCtx)).stream);
      expect(got.equals(expected)).toBe(true);
    }
    const zip = await streamToBuffer((await openDownloadZip(db, download, testCtx)).stream);
    const zdir = mkdtempSync(path.join(os.tmpdir(), 'zip-'));
    writeFileSync(path.join(zdir, 'a.zip'), zip);
    expect(execFileSync('unzip', ['-t', path.join(zdir, 'a.zip')], { encoding: 'utf8' })).toMatch(/No errors detected/);
    const staff = await streamToBuffer((await openSealedFileForStaff(db, actor, env.id, 'certificate', testCtx)).stream);
    expect(staff.equals(renewedBytes.get('certificate')!)).toBe(true);
    // The staff document route (?version=sealed) resolves the current version the same way.
    for (const d of docsBefore) {
      const current = await currentSealedBlobId(db, env.id, d.sealedBlobId!);
      expect(sha256(await readBlob(db, current))).toBe(sha256(renewedBytes.get(`doc_${d.id}`)!));
    }

    // Audit: one archive.renewed per file with old/new SHA-256; chain intact.
    const audit = (await listEnvelopeAudit(db, actor.organizationId, env.id)).filter((a) => a.action === 'archive.renewed');
    expect(audit).toHaveLength(3);
    const cert = renewals.find((r) => r.certificateId)!;
    expect(audit.map((a) => a.details)).toContainEqual(expect.objectContaining({ file: 'certificate', previousSha256: certBefore.sha256, sha256: cert.sha256 }));
    expect(await verifyAuditChain(db, actor.organizationId)).toBeNull();

    // A second run right after: nothing is due any more (the new timestamps' certificate expires later).
    const again = await renewArchiveTimestamps(db, { renewBeforeDays, tsa: createTsaClient({ url: rolledTsa.url }) });
    expect(again).toMatchObject({ due: 0, notExtended: 0, failed: 0 });
    expect(again.renewed).toHaveLength(0);
    expect(await db.archiveRenewal.count({ where: { envelopeId: env.id } })).toBe(3);
  });

  it('files sealed before tsa_not_after existed are back-filled once, then selected without being read', async () => {
    const db = tdb.prisma;
    const { env } = await completedEnvelope();
    const docs = await db.document.findMany({ where: { envelopeId: env.id } });
    const cert = await db.completionCertificate.findUniqueOrThrow({ where: { envelopeId: env.id } });
    await db.$executeRaw`UPDATE documents SET tsa_not_after = NULL WHERE envelope_id = ${env.id}::uuid`;
    await db.$executeRaw`UPDATE completion_certificates SET tsa_not_after = NULL WHERE envelope_id = ${env.id}::uuid`;
    const first = await renewArchiveTimestamps(db, { tsa: createTsaClient({ url: rolledTsa.url }) });
    expect(first).toMatchObject({ checked: 3, due: 0, failed: 0 });
    expect((await db.document.findMany({ where: { envelopeId: env.id } })).map((d) => d.tsaNotAfter?.toISOString())).toEqual(docs.map((d) => d.tsaNotAfter?.toISOString()));
    expect((await db.completionCertificate.findUniqueOrThrow({ where: { id: cert.id } })).tsaNotAfter?.toISOString()).toBe(cert.tsaNotAfter?.toISOString());
    const second = await renewArchiveTimestamps(db, { tsa: createTsaClient({ url: rolledTsa.url }) });
    expect(second).toMatchObject({ checked: 0, due: 0 });
  });

  it('two runs at once (two workers) store one renewal per file', async () => {
    const db = tdb.prisma;
    const { env } = await completedEnvelope();
    const cert = await db.completionCertificate.findUniqueOrThrow({ where: { envelopeId: env.id } });
    const notAfter = newestTimestampNotAfter(await readBlob(db, cert.blobId))!;
    const renewBeforeDays = Math.ceil((notAfter.getTime() - Date.now()) / 86_400_000) + 30;
    const opts = { renewBeforeDays, tsa: createTsaClient({ url: rolledTsa.url }) };
    const [a, b] = await Promise.all([renewArchiveTimestamps(db, opts), renewArchiveTimestamps(db, opts)]);
    expect(a.failed + b.failed).toBe(0);
    const mine = [...a.renewed, ...b.renewed].filter((r) => r.envelopeId === env.id);
    expect(mine).toHaveLength(3);
    expect(await db.archiveRenewal.count({ where: { envelopeId: env.id } })).toBe(3);
    // The losing run's extra blobs (if it got that far) were removed again: one blob per renewal row.
    const blobs = await db.storedBlob.count({ where: { renewalOf: { some: { envelopeId: env.id } } } });
    expect(blobs).toBe(3);
  });

  it('npm run archive:renew runs the same renewal from the command line (nothing due within 30 days)', async () => {
    const out = execFileSync('npx', ['tsx', 'scripts/archive-renew.ts', '--days', '30'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, DATABASE_URL: tdb.url },
      encoding: 'utf8',
    });
    expect(out).toMatch(/checked \d+, due 0, renewed 0, not extendable 0, failed 0/);
  });

  it('renewal rows are append-only and renewed files cannot be deleted (trigger)', async () => {
    const db = tdb.prisma;
    const r = await db.archiveRenewal.findFirst();
    if (!r) throw new Error('the previous test leaves renewals');
    // The app's role has no UPDATE/DELETE/TRUNCATE privilege; the owner is stopped by the trigger.
    for (const sql of [
      `UPDATE archive_renewals SET sha256 = 'x' WHERE id = '${r.id}'`,
      `UPDATE archive_renewals SET blob_id = previous_blob_id WHERE id = '${r.id}'`,
      `DELETE FROM archive_renewals WHERE id = '${r.id}'`,
      'TRUNCATE archive_renewals',
    ]) {
      await expect(db.$executeRawUnsafe(sql)).rejects.toThrow(/permission denied/);
      await expect(tdb.owner.$executeRawUnsafe(sql)).rejects.toThrow(/append-only/);
    }
    await expect(deleteBlob(db, r.blobId)).rejects.toThrow(/sealed_file/);
    await expect(db.$executeRawUnsafe(`UPDATE stored_blobs SET sha256 = 'x' WHERE id = '${r.blobId}'`)).rejects.toThrow(/sealed_file/);
    expect(await db.archiveRenewal.findUniqueOrThrow({ where: { id: r.id } })).toEqual(r);
  });
});
