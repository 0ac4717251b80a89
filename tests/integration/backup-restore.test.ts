/**
 * Backup/restore drill: real envelopes (one sealed through the real signing + sealing pipeline with
 * the built-in TSA, a draft, a sent one) → `npm run backup` → the database is dropped and the store
 * and dev PKI removed → `npm run restore` into an empty database and store → every envelope, every
 * document hash, every sealed file (decrypts to sealed_sha256 and passes pdfsig/openssl against the
 * restored dev root) and every organisation's 操作ログ chain are intact. Also: restore refuses a
 * non-empty database or store, a damaged backup and a missing master key; a file deleted between the
 * snapshot and the copy makes the backup take a new snapshot; the S3 backend in copy and reference mode.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../lib/audit';
import { createPrisma, type Db } from '../../lib/db';
import { completeSigning, removeDocument, SEAL_JOB } from '../../lib/envelopes';
import { runDueJobs } from '../../lib/jobs';
import { deliverDueEmails } from '../../lib/mail';
import { backup, restore } from '../../lib/ops';
import { FileSystemBackend, getStorageBackend, putBlob, readBlob } from '../../lib/storage';
import { createEmptyDatabase, createTestDatabase } from '../helpers/db';
import { createDraftEnvelope, createOrgWithStaff, createSentEnvelope, supplierSigner, testCtx, useTempDataDir } from '../helpers/fixtures';
import { applyEnv, startTestS3 } from '../helpers/s3';
import { expectSealedFilesVerifyIndependently, startSealingHarness, type SealingHarness } from '../helpers/sealing-harness';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
let harness: SealingHarness;
let work: string;

beforeAll(async () => {
  harness = await startSealingHarness();
  work = await mkdtemp(path.join(os.tmpdir(), 'tachiai-backup-'));
});
afterAll(async () => {
  await harness?.stop();
  await rm(work, { recursive: true, force: true });
});

function cli(script: 'backup' | 'restore', args: string[], env: Record<string, string>) {
  return run('npx', ['tsx', `scripts/${script}.ts`, ...args], { cwd: root, env: { ...process.env, ...env } }).then(
    (r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
  );
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Everything the drill compares, read through the app's own model. */
async function picture(db: Db) {
  const envelopes = await db.envelope.findMany({ orderBy: { id: 'asc' }, include: { documents: { orderBy: { position: 'asc' } }, recipients: { orderBy: { id: 'asc' } } } });
  const audit = await db.auditEvent.findMany({ orderBy: { id: 'asc' } });
  const blobs = await db.storedBlob.findMany({ orderBy: { id: 'asc' } });
  const contents: Record<string, string> = {};
  for (const b of blobs) contents[b.id] = sha(await readBlob(db, b.id));
  return { envelopes, audit, blobs, contents, certificates: await db.completionCertificate.findMany({ orderBy: { id: 'asc' } }) };
}

async function sealOne(db: Db, actor: Parameters<typeof createSentEnvelope>[1]) {
  const s = supplierSigner();
  const env = await createSentEnvelope(db, actor, { recipients: [s], documents: 2 });
  await deliverDueEmails(db, { transport: harness.smtp.transport() });
  const req = await harness.smtp.waitFor((m) => m.to.includes(s.email.toLowerCase()));
  await completeSigning(db, /\/sign\/([A-Za-z0-9_-]{32,})/.exec(req.text)![1], testCtx);
  await runDueJobs(db, { names: [SEAL_JOB] });
  expect((await db.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('completed');
  return env;
}

describe('backup and restore', () => {
  it('survives losing the database, the store and the dev PKI', async () => {
    const db = harness.tdb.prisma;
    const { org, actor } = await createOrgWithStaff(db, { role: 'admin' });
    const other = await createOrgWithStaff(db, { orgName: '蕨市' });
    const sealed = await sealOne(db, actor);
    await createDraftEnvelope(db, actor, { documents: 1 });
    await createSentEnvelope(db, other.actor, { documents: 1 });
    const before = await picture(db);
    expect(before.envelopes.length).toBe(3);
    expect(before.certificates.length).toBe(1);
    const dataDir = process.env.DATA_DIR!;
    const rootCrt = await readFile(path.join(dataDir, 'pki', 'dev', 'root.crt'));

    const dir = path.join(work, 'drill');
    const b = await cli('backup', [dir], { DATABASE_URL: harness.tdb.url });
    expect(b.stderr).not.toMatch(/failed/);
    expect(b.stdout).toMatch(new RegExp(`${before.blobs.length} files \\(copy\\)`));
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { tables: { name: string; rows: number }[] };
    expect(manifest.tables.find((t) => t.name === 'audit_events')!.rows).toBe(before.audit.length);
    // nothing in the backup is plaintext of a document
    const someBlob = before.blobs[0];
    const copied = await readFile(path.join(dir, 'blobs', someBlob.storageKey));
    expect(copied.subarray(0, 4).toString()).toBe('TSB1');

    // --- disaster: the database, the files and the dev PKI are gone
    await harness.tdb.drop();
    await rm(path.join(dataDir, 'storage'), { recursive: true, force: true });
    await rm(path.join(dataDir, 'pki'), { recursive: true, force: true });

    const fresh = await createEmptyDatabase();
    const r = await cli('restore', [dir], { DATABASE_URL: fresh.url });
    expect(r.stderr).not.toMatch(/failed|PROBLEM/);
    expect(r.stdout).toContain('everything verified');

    const restored = createPrisma(fresh.url);
    try {
      const after = await picture(restored);
      expect(after.envelopes).toEqual(before.envelopes);
      expect(after.blobs).toEqual(before.blobs);
      expect(after.contents).toEqual(before.contents); // every file decrypts to the same bytes
      expect(after.certificates).toEqual(before.certificates);
      // the 操作ログ: the same events, then one 'system.restored' per organisation; chains intact
      expect(after.audit.slice(0, before.audit.length)).toEqual(before.audit);
      expect(after.audit.slice(before.audit.length).map((e) => e.action)).toEqual(['system.restored', 'system.restored']);
      for (const o of [org.id, other.org.id]) expect(await verifyAuditChain(restored, o)).toBeNull();
      // sealed files: hash = sealed_sha256, and still valid signatures for pdfsig/openssl under the restored root
      for (const d of after.envelopes.find((e) => e.id === sealed.id)!.documents) {
        expect(sha(await readBlob(restored, d.sealedBlobId!))).toBe(d.sealedSha256);
      }
      expect(await readFile(path.join(dataDir, 'pki', 'dev', 'root.crt'))).toEqual(rootCrt);
      expect(await expectSealedFilesVerifyIndependently(restored, sealed.id)).toBe(3);
      // the app keeps working on the restored database: ids continue (sequences restored)
      const next = await createDraftEnvelope(restored, actor, { documents: 1 });
      expect(next.id).toBeTruthy();
      const last = await restored.auditEvent.findFirstOrThrow({ orderBy: { id: 'desc' } });
      expect(last.id).toBeGreaterThan(before.audit.at(-1)!.id);
      expect(await verifyAuditChain(restored, org.id)).toBeNull();

      // --- a restore never overwrites: this database is not empty now
      const again = await cli('restore', [dir], { DATABASE_URL: fresh.url });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('復元先のデータベースが空ではありません');
    } finally {
      await restored.$disconnect();
      await fresh.drop();
    }
  });

  it('refuses a non-empty store, a damaged backup and a missing master key', async () => {
    const own = await useTempDataDir(); // a store of its own
    const t = await createTestDatabase();
    try {
      const { actor } = await createOrgWithStaff(t.prisma);
      await createDraftEnvelope(t.prisma, actor, { documents: 1 });
      const dir = path.join(work, 'refusals');
      await backup({ databaseUrl: t.url, dir });
      const empty = await createEmptyDatabase();
      try {
        // the store still holds files of another database (this one's own files are fine)
        const stray = await putBlob(t.prisma, randomBytes(10), { contentType: 'application/pdf' });
        await expect(restore({ databaseUrl: empty.url, dir })).rejects.toThrow(/ファイル保管庫.*空ではありません/);
        await getStorageBackend().delete(stray.storageKey);
        // a backup file damaged
        const table = path.join(dir, 'db', 'envelopes.copy.gz');
        const good = await readFile(table);
        await writeFile(table, Buffer.concat([good, Buffer.from('x')]));
        await expect(restore({ databaseUrl: empty.url, dir })).rejects.toThrow(/db\/envelopes.copy.gz が壊れている/);
        await writeFile(table, good);
        // without the master key the files cannot be read: refused before anything is written
        const undo = applyEnv({ MASTER_KEY: randomBytes(32).toString('base64') });
        try {
          await expect(restore({ databaseUrl: empty.url, dir })).rejects.toThrow(/マスター鍵 [0-9a-f]{8} で保護されています/);
        } finally {
          undo();
        }
        // restoring over the live store's own files works once the database is gone (they are this backup's)
        const r = await restore({ databaseUrl: empty.url, dir });
        expect(r.problems).toEqual([]);
      } finally {
        await empty.drop();
      }
    } finally {
      await t.drop();
      await own.cleanup();
    }
  });

  it('takes a new snapshot when a file is deleted between the snapshot and the copy', async () => {
    const t = await createTestDatabase();
    try {
      const { actor } = await createOrgWithStaff(t.prisma);
      const env = await createDraftEnvelope(t.prisma, actor, { documents: 2 });
      const docs = await t.prisma.document.findMany({ where: { envelopeId: env.id } });
      const logs: string[] = [];
      const r = await backup({
        databaseUrl: t.url,
        dir: path.join(work, 'race'),
        log: (m) => logs.push(m),
        testHooks: {
          async afterSnapshot(attempt) {
            if (attempt === 1) await removeDocument(t.prisma, actor, env.id, docs[0].id, testCtx);
          },
        },
      });
      expect(r.attempts).toBe(2);
      expect(logs.join('\n')).toContain('deleted after the snapshot');
      expect(r.manifest.blobs.count).toBe(1);
      const files: string[] = [];
      for await (const o of new FileSystemBackend(path.join(work, 'race', 'blobs')).list()) files.push(o.key);
      const kept = await t.prisma.storedBlob.findUniqueOrThrow({ where: { id: docs[1].originalBlobId } });
      expect(files).toEqual([kept.storageKey]); // the second snapshot no longer has the removed document
    } finally {
      await t.drop();
    }
  });

  it('backs up an S3 store (copy and reference) and restores into an empty bucket prefix', async () => {
    const s3 = await startTestS3();
    const data = await useTempDataDir();
    const undo = applyEnv({ ...s3.env({ S3_PREFIX: 'live' }), DATA_DIR: data.dir, MASTER_KEY: process.env.MASTER_KEY! });
    const t = await createTestDatabase();
    try {
      const { org, actor } = await createOrgWithStaff(t.prisma);
      await createDraftEnvelope(t.prisma, actor, { documents: 2 });
      const before = await picture(t.prisma);
      await backup({ databaseUrl: t.url, dir: path.join(work, 's3-copy') });
      const ref = await backup({ databaseUrl: t.url, dir: path.join(work, 's3-ref'), blobs: 'reference' });
      expect(ref.manifest.blobs).toMatchObject({ mode: 'reference', count: before.blobs.length });
      await expect(readdir(path.join(work, 's3-ref', 'blobs'))).rejects.toThrow();

      // copy mode: into another, empty prefix
      const empty1 = await createEmptyDatabase();
      const undoPrefix = applyEnv({ ...s3.env({ S3_PREFIX: 'restored' }), DATA_DIR: data.dir, MASTER_KEY: process.env.MASTER_KEY! });
      try {
        const r = await restore({ databaseUrl: empty1.url, dir: path.join(work, 's3-copy') });
        expect(r.problems).toEqual([]);
        const db1 = createPrisma(empty1.url);
        try {
          expect((await picture(db1)).contents).toEqual(before.contents);
          expect(await verifyAuditChain(db1, org.id)).toBeNull();
        } finally {
          await db1.$disconnect();
        }
      } finally {
        undoPrefix();
        await empty1.drop();
      }
      // reference mode: the objects stay where they are
      await t.drop();
      const empty2 = await createEmptyDatabase();
      try {
        const r = await restore({ databaseUrl: empty2.url, dir: path.join(work, 's3-ref') });
        expect(r).toMatchObject({ problems: [], blobs: before.blobs.length });
      } finally {
        await empty2.drop();
      }
    } finally {
      await t.drop().catch(() => undefined);
      undo();
      await data.cleanup();
      await s3.close();
    }
  });
});
