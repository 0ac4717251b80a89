/**
 * lib/storage against real PostgreSQL and the filesystem backend: round trip (small, empty,
 * multi-segment streamed), ciphertext on disk holds no plaintext, tampering / truncation /
 * reordering detected, wrong master key refused, cleanup when the row insert fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import {
  deleteBlob,
  FileSystemBackend,
  getStorageBackend,
  openBlobStream,
  putBlob,
  readBlob,
  sweepOrphanBlobFiles,
  writeBlobFile,
} from '../../lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { useTempDataDir } from '../helpers/fixtures';

let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;

beforeAll(async () => {
  data = await useTempDataDir();
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
  await data?.cleanup();
});

function filePath(storageKey: string): string {
  return (getStorageBackend() as FileSystemBackend).pathFor(storageKey);
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('lib/storage', () => {
  it('round-trips bytes and records size, SHA-256, content type and master key id', async () => {
    const bytes = Buffer.from('%PDF-1.7 立会サイン test document '.repeat(100));
    const blob = await putBlob(t.prisma, bytes, { contentType: 'application/pdf' });
    expect(blob.sizeBytes).toBe(BigInt(bytes.length));
    expect(blob.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(blob.contentType).toBe('application/pdf');
    expect(blob.masterKeyId).toBe(
      createHash('sha256').update(Buffer.from(process.env.MASTER_KEY!, 'base64')).digest('hex').slice(0, 8),
    );
    expect(await readBlob(t.prisma, blob.id)).toEqual(bytes);
  });

  it('round-trips an empty blob and one that is an exact multiple of the segment size', async () => {
    for (const size of [0, 64 * 1024, 2 * 64 * 1024]) {
      const bytes = randomBytes(size);
      const blob = await putBlob(t.prisma, bytes, { contentType: 'application/octet-stream' });
      expect((await readBlob(t.prisma, blob.id)).equals(bytes)).toBe(true);
    }
  });

  it('streams a multi-megabyte input in and out (many segments)', async () => {
    const chunk = randomBytes(100_003);
    const n = 60; // ~6 MB in odd-sized chunks
    const hash = createHash('sha256');
    for (let i = 0; i < n; i++) hash.update(chunk);
    const source = Readable.from((function* () {
      for (let i = 0; i < n; i++) yield chunk;
    })());
    const blob = await putBlob(t.prisma, source, { contentType: 'application/pdf' });
    expect(blob.sizeBytes).toBe(BigInt(chunk.length * n));
    expect(blob.sha256).toBe(hash.digest('hex'));
    const out = createHash('sha256');
    let size = 0;
    for await (const c of await openBlobStream(t.prisma, blob.id)) {
      out.update(c as Buffer);
      size += (c as Buffer).length;
    }
    expect(size).toBe(chunk.length * n);
    expect(out.digest('hex')).toBe(blob.sha256);
  });

  it('reads byte ranges (only the segments holding them) and refuses a range outside the file', async () => {
    const bytes = randomBytes(5 * 64 * 1024 + 333);
    const blob = await putBlob(t.prisma, bytes, { contentType: 'application/pdf' });
    for (const [start, end] of [[0, 9], [65_530, 65_545], [64 * 1024, 3 * 64 * 1024], [bytes.length - 1, bytes.length - 1]]) {
      const got = await collect(await openBlobStream(t.prisma, blob.id, { range: { start, end } }));
      expect(got.equals(bytes.subarray(start, end + 1))).toBe(true);
    }
    await expect(openBlobStream(t.prisma, blob.id, { range: { start: 0, end: bytes.length } })).rejects.toThrow(/範囲/);
  });

  it('stores only ciphertext on disk', async () => {
    const marker = 'PLAINTEXT-MARKER-立会サイン-0123456789';
    const bytes = Buffer.from(`${marker}\n`.repeat(5000));
    const blob = await putBlob(t.prisma, bytes, { contentType: 'text/plain' });
    const onDisk = await readFile(filePath(blob.storageKey));
    expect(onDisk.subarray(0, 4).toString('ascii')).toBe('TSB1');
    expect(onDisk.includes(Buffer.from(marker))).toBe(false);
    expect(onDisk.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
    // the data key is wrapped, not stored in clear: 12 iv + 16 tag + 32 key
    expect(Buffer.from(blob.wrappedKey, 'base64').length).toBe(60);
  });

  it('detects a flipped byte in the file', async () => {
    const bytes = randomBytes(200_000);
    const blob = await putBlob(t.prisma, bytes, { contentType: 'application/pdf' });
    const file = filePath(blob.storageKey);
    const enc = await readFile(file);
    enc[100_000] ^= 0x01;
    await writeFile(file, enc);
    await expect(readBlob(t.prisma, blob.id)).rejects.toThrow(/authentication|tampered/);
  });

  it('detects truncation at a segment boundary and reordered segments', async () => {
    const seg = 64 * 1024 + 16;
    const bytes = randomBytes(3 * 64 * 1024 + 10);
    const blob = await putBlob(t.prisma, bytes, { contentType: 'application/pdf' });
    const file = filePath(blob.storageKey);
    const enc = await readFile(file);
    // drop the final segment: the stream ends on a non-final segment
    await writeFile(file, enc.subarray(0, 16 + 3 * seg));
    await expect(readBlob(t.prisma, blob.id)).rejects.toThrow();
    // swap segments 0 and 1
    const swapped = Buffer.concat([enc.subarray(0, 16), enc.subarray(16 + seg, 16 + 2 * seg), enc.subarray(16, 16 + seg), enc.subarray(16 + 2 * seg)]);
    await writeFile(file, swapped);
    await expect(readBlob(t.prisma, blob.id)).rejects.toThrow();
    // restored file reads again
    await writeFile(file, enc);
    expect((await readBlob(t.prisma, blob.id)).equals(bytes)).toBe(true);
  });

  it('refuses to decrypt with a different master key', async () => {
    const bytes = randomBytes(1000);
    const blob = await putBlob(t.prisma, bytes, { contentType: 'application/pdf' });
    const original = process.env.MASTER_KEY;
    process.env.MASTER_KEY = randomBytes(32).toString('base64');
    resetConfig();
    try {
      await expect(readBlob(t.prisma, blob.id)).rejects.toThrow(/master key/);
      // even with a forged key id the unwrap itself fails
      const forged = createHash('sha256').update(Buffer.from(process.env.MASTER_KEY, 'base64')).digest('hex').slice(0, 8);
      await t.prisma.storedBlob.update({ where: { id: blob.id }, data: { masterKeyId: forged } });
      await expect(readBlob(t.prisma, blob.id)).rejects.toThrow(/unwrap/);
    } finally {
      process.env.MASTER_KEY = original;
      resetConfig();
    }
  });

  it('removes the file when the row cannot be inserted, and deleteBlob removes both', async () => {
    const storageDir = path.join(data.dir, 'storage');
    const countFiles = async (): Promise<number> => {
      const walk = async (d: string): Promise<number> => {
        let n = 0;
        for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
          n += e.isDirectory() ? await walk(path.join(d, e.name)) : 1;
        }
        return n;
      };
      return walk(storageDir);
    };
    const before = await countFiles();
    await expect(
      t.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT 1`;
        // contentType null violates NOT NULL → insert fails after the file was written
        return putBlob(tx, randomBytes(10), { contentType: null as unknown as string });
      }),
    ).rejects.toThrow();
    expect(await countFiles()).toBe(before);

    const blob = await putBlob(t.prisma, randomBytes(10), { contentType: 'application/pdf' });
    expect(await countFiles()).toBe(before + 1);
    await deleteBlob(t.prisma, blob.id);
    expect(await countFiles()).toBe(before);
    expect(await t.prisma.storedBlob.count({ where: { id: blob.id } })).toBe(0);
  });

  it('sweeps files without a row once they are old enough, and nothing else', async () => {
    const kept = await putBlob(t.prisma, randomBytes(100), { contentType: 'application/pdf' });
    const orphanOld = await writeBlobFile(randomBytes(100), { contentType: 'application/pdf' });
    const orphanNew = await writeBlobFile(randomBytes(100), { contentType: 'application/pdf' });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(filePath(kept.storageKey), twoHoursAgo, twoHoursAgo);
    await utimes(filePath(orphanOld.storageKey), twoHoursAgo, twoHoursAgo);
    const tmp = path.join(path.dirname(filePath(orphanNew.storageKey)), '.leftover.abc.tmp');
    await writeFile(tmp, 'partial');
    await utimes(tmp, twoHoursAgo, twoHoursAgo);

    const r = await sweepOrphanBlobFiles(t.prisma);
    expect(r.deleted).toBe(2);
    const backend = getStorageBackend();
    expect(await backend.exists(orphanOld.storageKey)).toBe(false);
    expect(await backend.exists(orphanNew.storageKey)).toBe(true); // may still be committing
    expect(await backend.exists(kept.storageKey)).toBe(true);
    expect((await readBlob(t.prisma, kept.id)).length).toBe(100);

    // another database never sweeps this directory
    const other = await createTestDatabase();
    try {
      const orphan = await writeBlobFile(randomBytes(10), { contentType: 'application/pdf' });
      await utimes(filePath(orphan.storageKey), twoHoursAgo, twoHoursAgo);
      expect((await sweepOrphanBlobFiles(other.prisma)).deleted).toBe(0);
      expect(await backend.exists(kept.storageKey)).toBe(true);
      expect((await sweepOrphanBlobFiles(t.prisma)).deleted).toBe(1);
    } finally {
      await other.drop();
    }
  });
});
