/**
 * lib/storage on the S3 backend, against a real S3-protocol server (s3rver) started here:
 * STORAGE_BACKEND=s3 selects it; only ciphertext reaches the bucket; a 30 MB file goes up as a
 * multipart upload and comes back whole and in ranges; a missing bucket, refused credentials and a
 * server that dies mid-upload give a clear AppError and leave nothing referenced in the database;
 * the orphan sweep; `copyStore` (the engine of `npm run storage:copy`) copies a local store and
 * verifies every blob, resumably.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDocument, createDraft } from '../../lib/envelopes';
import { isAppError } from '../../lib/errors';
import { copyStore } from '../../lib/ops';
import {
  checkStorage,
  FileSystemBackend,
  getStorageBackend,
  openBlobStream,
  putBlob,
  readBlob,
  S3Backend,
  sweepOrphanBlobFiles,
  writeBlobFile,
} from '../../lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, defaultEnvelopeInput, makePdf, testCtx, useTempDataDir } from '../helpers/fixtures';
import { applyEnv, startTestS3, type TestS3 } from '../helpers/s3';

const run = promisify(execFile);
let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;
let s3: TestS3;
let restoreEnv: () => void;

beforeAll(async () => {
  data = await useTempDataDir();
  t = await createTestDatabase();
  s3 = await startTestS3();
  restoreEnv = applyEnv(s3.env({ S3_PREFIX: 'tachiai/test' }));
});
afterAll(async () => {
  restoreEnv?.();
  await s3?.close();
  await t?.drop();
  await data?.cleanup();
});

const backend = () => getStorageBackend() as S3Backend;

async function rawObject(key: string): Promise<Buffer> {
  const r = await backend().client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `tachiai/test/${key}` }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function appError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isAppError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an AppError');
}

/** A deterministic pseudo-random stream of `size` bytes in odd-sized chunks, and its SHA-256. */
function bigSource(size: number, onChunk?: (sent: number) => void): { stream: Readable; bytes: Buffer } {
  const bytes = Buffer.alloc(size);
  for (let off = 0; off < size; off += 1 << 20) randomBytes(Math.min(1 << 20, size - off)).copy(bytes, off);
  let sent = 0;
  const stream = Readable.from(
    (async function* () {
      while (sent < size) {
        const n = Math.min(777_777, size - sent);
        const chunk = bytes.subarray(sent, sent + n);
        sent += n;
        onChunk?.(sent);
        yield chunk;
        await new Promise((r) => setImmediate(r));
      }
    })(),
  );
  return { stream, bytes };
}

describe('S3 backend (s3rver)', () => {
  it('is chosen by STORAGE_BACKEND=s3 and stores only ciphertext under the prefix', async () => {
    expect(backend()).toBeInstanceOf(S3Backend);
    expect(backend().location).toBe(`s3://${s3.bucket}/tachiai/test/`);
    await checkStorage();
    const marker = 'PLAINTEXT-MARKER-立会サイン-s3';
    const bytes = Buffer.from(`${marker}\n`.repeat(3000));
    const blob = await putBlob(t.prisma, bytes, { contentType: 'text/plain' });
    expect((await readBlob(t.prisma, blob.id)).equals(bytes)).toBe(true);
    const stored = await rawObject(blob.storageKey);
    expect(stored.subarray(0, 4).toString('ascii')).toBe('TSB1');
    expect(stored.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
    expect(s3.requests.some((r) => r.startsWith(`PUT /${s3.bucket}/tachiai/test/${blob.storageKey}`))).toBe(true);
    // the local directory is not used
    expect(await new FileSystemBackend(path.join(data.dir, 'storage')).exists(blob.storageKey)).toBe(false);
  });

  it('uploads a 30 MB file as a multipart upload and reads it back whole and in ranges', async () => {
    const size = 30 * 1024 * 1024;
    const { stream, bytes } = bigSource(size);
    s3.requests.length = 0;
    const blob = await putBlob(t.prisma, stream, { contentType: 'application/pdf' });
    expect(blob.sizeBytes).toBe(BigInt(size));
    expect(blob.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const parts = s3.requests.filter((r) => r.startsWith('PUT ') && /[?&]partNumber=\d+/.test(r) && /[?&]uploadId=/.test(r));
    expect(parts.length).toBeGreaterThanOrEqual(4); // 8 MiB parts
    expect(s3.requests.some((r) => r.startsWith('POST ') && /[?&]uploadId=/.test(r))).toBe(true); // CompleteMultipartUpload

    const whole = createHash('sha256');
    let n = 0;
    for await (const c of await openBlobStream(t.prisma, blob.id)) {
      whole.update(c as Buffer);
      n += (c as Buffer).length;
    }
    expect(n).toBe(size);
    expect(whole.digest('hex')).toBe(blob.sha256);

    const seg = 64 * 1024;
    const ranges: [number, number][] = [
      [0, 0],
      [0, seg - 1],
      [seg - 10, seg + 10], // across a segment boundary
      [5 * seg + 123, 9 * seg + 77], // several segments
      [size - 1, size - 1], // the last byte (final segment)
      [size - 3 * seg - 5, size - 1],
      [12_345_678, 12_345_678 + 2 * 1024 * 1024],
    ];
    s3.requests.length = 0;
    for (const [start, end] of ranges) {
      const got = await collect(await openBlobStream(t.prisma, blob.id, { range: { start, end } }));
      expect(got.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    // only the needed segments were fetched: each range is a header GET plus one ranged GET
    expect(s3.requests.filter((r) => r.startsWith('GET ')).length).toBe(ranges.length * 2);
    expect((await appError(openBlobStream(t.prisma, blob.id, { range: { start: 10, end: size } }))).code).toBe('validation');
  });

  it('detects a tampered object in a range read', async () => {
    const bytes = randomBytes(300_000);
    const blob = await putBlob(t.prisma, bytes, { contentType: 'application/pdf' });
    const enc = await rawObject(blob.storageKey);
    enc[16 + (64 * 1024 + 16) * 2 + 5] ^= 1; // inside segment 2
    await backend().client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `tachiai/test/${blob.storageKey}`, Body: enc }));
    const ok = await collect(await openBlobStream(t.prisma, blob.id, { range: { start: 0, end: 1000 } }));
    expect(ok.equals(bytes.subarray(0, 1001))).toBe(true);
    await expect(collect(await openBlobStream(t.prisma, blob.id, { range: { start: 2 * 65536, end: 2 * 65536 + 10 } }))).rejects.toThrow(
      /authentication/,
    );
    await expect(readBlob(t.prisma, blob.id)).rejects.toThrow(/authentication/);
  });

  it('a missing bucket or refused credentials give a clear error and nothing is referenced', async () => {
    const { org, actor } = await createOrgWithStaff(t.prisma);
    const env = await createDraft(t.prisma, actor, defaultEnvelopeInput(), testCtx);
    const pdf = await makePdf();
    const counts = async () => ({
      blobs: await t.prisma.storedBlob.count(),
      docs: await t.prisma.document.count({ where: { envelopeId: env.id } }),
    });
    const before = await counts();
    const undo = applyEnv(s3.env({ S3_PREFIX: 'tachiai/test', S3_BUCKET: 'no-such-bucket' }));
    try {
      const e = await appError(addDocument(t.prisma, actor, env.id, { fileName: '契約書.pdf', bytes: pdf }, testCtx));
      expect(e.code).toBe('storage_unavailable');
      expect(e.message).toContain('バケット「no-such-bucket」が見つかりません');
      expect((await appError(checkStorage())).message).toContain('バケット');
    } finally {
      undo();
    }
    const undo2 = applyEnv(s3.env({ S3_PREFIX: 'tachiai/test', S3_ACCESS_KEY_ID: 'WRONG', S3_SECRET_ACCESS_KEY: 'WRONG' }));
    try {
      const e = await appError(addDocument(t.prisma, actor, env.id, { fileName: '契約書.pdf', bytes: pdf }, testCtx));
      expect(e.code).toBe('storage_unavailable');
      expect(e.message).toContain('アクセスが拒否されました');
    } finally {
      undo2();
    }
    expect(await counts()).toEqual(before);
    // with the right configuration the same upload works
    await addDocument(t.prisma, actor, env.id, { fileName: '契約書.pdf', bytes: pdf }, testCtx);
    expect((await counts()).docs).toBe(before.docs + 1);
    expect(org.id).toBeTruthy();
  });

  it('a server that dies mid-upload: clear error, no row, no partial object; reads fail clearly until it is back', async () => {
    const existing = await putBlob(t.prisma, randomBytes(5000), { contentType: 'application/pdf' });
    const rowsBefore = await t.prisma.storedBlob.count();
    let stopped: Promise<void> | undefined;
    const { stream } = bigSource(24 * 1024 * 1024, (sent) => {
      if (sent > 10 * 1024 * 1024 && !stopped) stopped = s3.stop();
    });
    const keysBefore = new Set<string>();
    for await (const o of backend().list()) keysBefore.add(o.key);
    const e = await appError(putBlob(t.prisma, stream, { contentType: 'application/pdf' }));
    await stopped;
    expect(e.code).toBe('storage_unavailable');
    expect(e.message).toContain('接続できません');
    expect(await t.prisma.storedBlob.count()).toBe(rowsBefore);
    const r = await appError(readBlob(t.prisma, existing.id));
    expect(r.code).toBe('storage_unavailable');

    await s3.start();
    const keysAfter: string[] = [];
    for await (const o of backend().list()) keysAfter.push(o.key);
    expect(keysAfter.filter((k) => !keysBefore.has(k))).toEqual([]); // nothing half-written became an object
    expect((await readBlob(t.prisma, existing.id)).length).toBe(5000);
  });

  it('sweeps objects without a row (only its own, only blob-shaped keys, only old ones)', async () => {
    const kept = await putBlob(t.prisma, randomBytes(100), { contentType: 'application/pdf' });
    const orphan = await writeBlobFile(randomBytes(100), { contentType: 'application/pdf' });
    await backend().client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'tachiai/test/readme-not-ours.txt', Body: 'x' }));
    const later = new Date(Date.now() + 2 * 3_600_000);
    // another database never sweeps this store (the first sweep claimed it for this one)
    expect((await sweepOrphanBlobFiles(t.prisma, { now: later })).deleted).toBeGreaterThanOrEqual(1);
    const orphan2 = await writeBlobFile(randomBytes(100), { contentType: 'application/pdf' });
    const other = await createTestDatabase();
    try {
      expect((await sweepOrphanBlobFiles(other.prisma, { now: later })).deleted).toBe(0);
    } finally {
      await other.drop();
    }
    expect(await backend().exists(orphan2.storageKey)).toBe(true);
    expect((await sweepOrphanBlobFiles(t.prisma)).deleted).toBe(0); // too young
    expect((await sweepOrphanBlobFiles(t.prisma, { now: later })).deleted).toBe(1);
    expect(await backend().exists(orphan.storageKey)).toBe(false);
    expect(await backend().exists(orphan2.storageKey)).toBe(false);
    expect(await backend().exists(kept.storageKey)).toBe(true);
    expect((await rawObject('readme-not-ours.txt')).toString()).toBe('x');
  });
});

describe('copying a local store to S3', () => {
  it('copies every blob, verifies each by decrypting it, and resumes without copying twice', async () => {
    const prefix = `copy-${randomBytes(3).toString('hex')}`;
    // blobs written to the local store
    const undoLocal = applyEnv({ STORAGE_BACKEND: 'local' });
    const local = getStorageBackend();
    const blobs = [];
    try {
      for (const size of [0, 10, 64 * 1024, 200_001]) blobs.push(await putBlob(t.prisma, randomBytes(size), { contentType: 'application/pdf' }));
    } finally {
      undoLocal();
    }
    const target = new S3Backend({ ...s3Opts(), prefix: `${prefix}/` });
    const mine = { storageKey: { in: blobs.map((b) => b.storageKey) } };

    const first = await copyStore(t.prisma, { from: local, to: target, where: mine });
    expect(first).toMatchObject({ total: 4, copied: 4, alreadyPresent: 0, verified: 4, failed: [] });
    const again = await copyStore(t.prisma, { from: local, to: target, where: mine });
    expect(again).toMatchObject({ total: 4, copied: 0, alreadyPresent: 4, verified: 4, failed: [] });

    // a damaged copy is found and copied again; a blob missing from the source is reported
    const enc = await collect(await target.get(blobs[3].storageKey));
    enc[100] ^= 1;
    await target.put(blobs[3].storageKey, Readable.from([enc]));
    await local.delete(blobs[1].storageKey);
    await target.delete(blobs[1].storageKey);
    const third = await copyStore(t.prisma, { from: local, to: target, where: mine });
    expect(third.copied).toBe(1);
    expect(third.failed).toEqual([expect.objectContaining({ storageKey: blobs[1].storageKey, reason: expect.stringMatching(/source/) })]);
  });

  it('`npm run storage:copy` copies the local store to the configured bucket and checks every hash', async () => {
    const db2 = await createTestDatabase();
    try {
      const undoLocal = applyEnv({ STORAGE_BACKEND: 'local' });
      const blobs = [];
      try {
        for (let i = 0; i < 3; i++) blobs.push(await putBlob(db2.prisma, randomBytes(1000 + i), { contentType: 'application/pdf' }));
      } finally {
        undoLocal();
      }
      const prefix = `cli-${randomBytes(3).toString('hex')}`;
      const env = { ...process.env, ...s3.env({ S3_PREFIX: prefix }), STORAGE_BACKEND: 'local', DATABASE_URL: db2.url };
      const cli = () => run('npx', ['tsx', 'scripts/storage-copy.ts'], { env, cwd: path.resolve(import.meta.dirname, '../..') });
      expect((await cli()).stdout).toContain('3 blobs: 3 copied, 0 already there, 3 verified, 0 failed');
      expect((await cli()).stdout).toContain('3 blobs: 0 copied, 3 already there, 3 verified, 0 failed');
      const undo = applyEnv(s3.env({ S3_PREFIX: prefix }));
      try {
        for (const b of blobs) expect((await readBlob(db2.prisma, b.id)).length).toBe(Number(b.sizeBytes));
      } finally {
        undo();
      }
    } finally {
      await db2.drop();
    }
  });
});

function s3Opts() {
  return {
    bucket: s3.bucket,
    prefix: '',
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
}
