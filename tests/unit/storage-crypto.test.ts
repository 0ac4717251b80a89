/** The chunked AES-256-GCM format of lib/storage, in memory. */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobIntegrityError, createDecryptStream, createEncryptStream, HEADER_LEN, TAG_LEN, unwrapDataKey, wrapDataKey } from '../../lib/storage/crypto';

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
});
