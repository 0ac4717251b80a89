/** The chunked AES-256-GCM format of lib/storage, in memory. */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  BlobIntegrityError,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  encryptedSize,
  HEADER_LEN,
  planRange,
  TAG_LEN,
  unwrapDataKey,
  wrapDataKey,
} from '../../lib/storage/crypto';

async function through(input: Buffer[], t: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  const src = Readable.from(input);
  const piped = src.pipe(t as unknown as NodeJS.WritableStream) as unknown as Readable;
  for await (const c of piped) out.push(c as Buffer);
  return Buffer.concat(out);
}

const enc = (key: Buffer, data: Buffer[], seg = 1024) => through(data, createEncryptStream(key, seg));
const dec = (key: Buffer, data: Buffer) => through([data], createDecryptStream(key));

describe('chunked AES-256-GCM', () => {
  const key = randomBytes(32);

  it('round-trips sizes around segment boundaries, whatever the input chunking', async () => {
    for (const size of [0, 1, 1023, 1024, 1025, 4096, 5000]) {
      const plain = randomBytes(size);
      const pieces = [plain.subarray(0, 7), plain.subarray(7, 2000), plain.subarray(2000)].filter((p) => p.length > 0);
      const sealed = await enc(key, pieces.length ? pieces : []);
      const segments = Math.max(1, Math.ceil(size / 1024));
      expect(sealed.length).toBe(HEADER_LEN + size + segments * TAG_LEN);
      expect((await dec(key, sealed)).equals(plain)).toBe(true);
    }
  });

  it('rejects bit flips, truncation, reordering, appended data and the wrong key', async () => {
    const plain = randomBytes(3000);
    const sealed = await enc(key, [plain]);
    const seg = 1024 + TAG_LEN;
    const flipped = Buffer.from(sealed);
    flipped[HEADER_LEN + 5] ^= 0x80;
    await expect(dec(key, flipped)).rejects.toBeInstanceOf(BlobIntegrityError);
    const header = Buffer.from(sealed);
    header[6] ^= 0x01; // segment size in the header is authenticated too
    await expect(dec(key, header)).rejects.toThrow();
    await expect(dec(key, sealed.subarray(0, HEADER_LEN + 2 * seg))).rejects.toBeInstanceOf(BlobIntegrityError);
    await expect(dec(key, sealed.subarray(0, sealed.length - 1))).rejects.toBeInstanceOf(BlobIntegrityError);
    await expect(dec(key, sealed.subarray(0, 10))).rejects.toBeInstanceOf(BlobIntegrityError);
    const reordered = Buffer.concat([sealed.subarray(0, HEADER_LEN), sealed.subarray(HEADER_LEN + seg, HEADER_LEN + 2 * seg), sealed.subarray(HEADER_LEN, HEADER_LEN + seg), sealed.subarray(HEADER_LEN + 2 * seg)]);
    await expect(dec(key, reordered)).rejects.toBeInstanceOf(BlobIntegrityError);
    await expect(dec(key, Buffer.concat([sealed, Buffer.alloc(20)]))).rejects.toBeInstanceOf(BlobIntegrityError);
    await expect(dec(randomBytes(32), sealed)).rejects.toBeInstanceOf(BlobIntegrityError);
  });

  it('wraps data keys bound to their storage key', () => {
    const master = randomBytes(32);
    const dataKey = randomBytes(32);
    const wrapped = wrapDataKey(master, dataKey, 'b/aa/one');
    expect(unwrapDataKey(master, wrapped, 'b/aa/one').equals(dataKey)).toBe(true);
    expect(() => unwrapDataKey(master, wrapped, 'b/aa/two')).toThrow(BlobIntegrityError);
    expect(() => unwrapDataKey(randomBytes(32), wrapped, 'b/aa/one')).toThrow(BlobIntegrityError);
  });

  it('decrypts any byte range from just the segments that hold it (sizes around segment boundaries)', async () => {
    for (const size of [1, 1023, 1024, 1025, 3072, 5000]) {
      const plain = randomBytes(size);
      const sealed = await enc(key, [plain]);
      expect(sealed.length).toBe(encryptedSize(size, 1024));
      const header = sealed.subarray(0, HEADER_LEN);
      const cases = [[0, 0], [0, size - 1], [size - 1, size - 1], [Math.floor(size / 2), size - 1], [1023 % size, Math.min(size - 1, 1024)]];
      for (const [start, end] of cases) {
        const plan = planRange(size, 1024, start, end);
        const cipher = sealed.subarray(plan.cipherRange.start, plan.cipherRange.end + 1);
        // fed in awkward pieces
        const pieces = [cipher.subarray(0, 5), cipher.subarray(5, 1100), cipher.subarray(1100)].filter((p) => p.length);
        const got = await through(pieces, createRangeDecryptStream(key, header, plan));
        expect(got.equals(plain.subarray(start, end + 1)), `${size} ${start}-${end}`).toBe(true);
      }
    }
  });

  it('a range read refuses tampering, a missing final flag and short input', async () => {
    const plain = randomBytes(3000);
    const sealed = await enc(key, [plain]);
    const header = sealed.subarray(0, HEADER_LEN);
    const plan = planRange(3000, 1024, 1000, 2999);
    const cipher = Buffer.from(sealed.subarray(plan.cipherRange.start, plan.cipherRange.end + 1));
    await expect(through([cipher.subarray(0, cipher.length - 1)], createRangeDecryptStream(key, header, plan))).rejects.toBeInstanceOf(BlobIntegrityError);
    // the same bytes claimed to be a blob one segment longer: the last segment is not final there
    await expect(through([cipher], createRangeDecryptStream(key, header, planRange(4000, 1024, 1000, 2999)))).rejects.toBeInstanceOf(
      BlobIntegrityError,
    );
    cipher[10] ^= 1;
    await expect(through([cipher], createRangeDecryptStream(key, header, plan))).rejects.toBeInstanceOf(BlobIntegrityError);
    expect(() => planRange(3000, 1024, 10, 3000)).toThrow(RangeError);
    expect(() => planRange(0, 1024, 0, 0)).toThrow(RangeError);
  });
});
