/**
 * Encryption at rest for lib/storage.
 *
 * Each blob has its own random 256-bit data key. The file format is a chunked AES-256-GCM stream
 * (the "STREAM" construction of Hoang, Reyhanitabar, Rogaway, Vizár):
 *
 *   header (16 bytes) = "TSB1" | version (1) | segment size (u32 BE) | nonce prefix (7 random bytes)
 *   segment i         = AES-256-GCM(dataKey, nonce = prefix | i (u32 BE) | final (1 byte), aad = header)
 *                       ciphertext (≤ segment size) followed by its 16-byte tag
 *
 * Every segment is authenticated with its index and a "last segment" flag, so flipping a byte,
 * reordering, dropping, duplicating or truncating segments (or appending after the last one) is
 * detected. The final segment may be empty (empty blob, or size a multiple of the segment size).
 * Decryption emits only authenticated plaintext, segment by segment: memory stays O(segment size).
 *
 * The data key is wrapped with the master key (AES-256-GCM, aad = "tachiai-sign:blob:" + storage key),
 * stored as base64(iv 12 | tag 16 | ciphertext 32) in stored_blobs.wrapped_key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const MAGIC = Buffer.from('TSB1', 'ascii');
export const FORMAT_VERSION = 1;
export const HEADER_LEN = 16;
export const TAG_LEN = 16;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;

export class BlobIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobIntegrityError';
  }
}

function nonce(prefix: Buffer, index: number, final: boolean): Buffer {
  if (index > 0xffffffff) throw new BlobIntegrityError('too many segments');
  const n = Buffer.alloc(12);
  prefix.copy(n, 0, 0, 7);
  n.writeUInt32BE(index, 7);
  n[11] = final ? 1 : 0;
  return n;
}

function sealSegment(key: Buffer, header: Buffer, prefix: Buffer, index: number, final: boolean, plain: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce(prefix, index, final));
  c.setAAD(header);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([body, c.getAuthTag()]);
}

function openSegment(key: Buffer, header: Buffer, prefix: Buffer, index: number, final: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_LEN) throw new BlobIntegrityError('segment too short');
  const d = createDecipheriv('aes-256-gcm', key, nonce(prefix, index, final));
  d.setAAD(header);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_LEN)), d.final()]);
  } catch {
    throw new BlobIntegrityError(`segment ${index} failed authentication (tampered, reordered or truncated)`);
  }
}

/** Encrypting transform: plaintext in, header + sealed segments out. */
export function createEncryptStream(dataKey: Buffer, segmentSize = DEFAULT_SEGMENT_SIZE): Transform {
  if (dataKey.length !== 32) throw new Error('data key must be 32 bytes');
  if (segmentSize < 1 || segmentSize > MAX_SEGMENT_SIZE) throw new Error('bad segment size');
  const prefix = randomBytes(7);
  const header = Buffer.alloc(HEADER_LEN);
  MAGIC.copy(header, 0);
  header[4] = FORMAT_VERSION;
  header.writeUInt32BE(segmentSize, 5);
  prefix.copy(header, 9);
  let index = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let headerSent = false;

  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingLen);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    pending = rest.length ? [rest] : [];
    pendingLen = rest.length;
    return out;
  };

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        if (!headerSent) {
          this.push(header);
          headerSent = true;
        }
        pending.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        pendingLen += chunk.length;
        // Keep at least one byte back so we know which segment is last when the input ends.
        while (pendingLen > segmentSize) {
          this.push(sealSegment(dataKey, header, prefix, index++, false, Buffer.from(take(segmentSize))));
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!headerSent) this.push(header);
        this.push(sealSegment(dataKey, header, prefix, index++, true, pendingLen ? Buffer.from(take(pendingLen)) : Buffer.alloc(0)));
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

/** Check a blob header (magic, version, segment size). */
export function parseHeader(header: Buffer): { segmentSize: number } {
  if (header.length < HEADER_LEN) throw new BlobIntegrityError('truncated blob (no header)');
  if (!header.subarray(0, 4).equals(MAGIC)) throw new BlobIntegrityError('not an encrypted blob (bad magic)');
  if (header[4] !== FORMAT_VERSION) throw new BlobIntegrityError(`unsupported blob format version ${header[4]}`);
  const seg = header.readUInt32BE(5);
  if (seg < 1 || seg > MAX_SEGMENT_SIZE) throw new BlobIntegrityError('bad segment size');
  return { segmentSize: seg };
}

/** Size of the encrypted blob of `plainSize` bytes (header + one tag per segment). */
export function encryptedSize(plainSize: number, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  const segments = plainSize === 0 ? 1 : Math.ceil(plainSize / segmentSize);
  return HEADER_LEN + segments * TAG_LEN + plainSize;
}

export interface SegmentPlan {
  /** Ciphertext bytes to fetch (inclusive), after the header. */
  cipherRange: { start: number; end: number };
  firstSegment: number;
  lastSegment: number;
  finalSegment: number;
  /** Plaintext bytes to drop from the first segment and to emit in total. */
  skip: number;
  take: number;
}

/** Which segments hold plaintext bytes `start`..`end` (inclusive) of a blob of `plainSize` bytes. */
export function planRange(plainSize: number, segmentSize: number, start: number, end: number): SegmentPlan {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end < plainSize)) {
    throw new RangeError('range outside the blob');
  }
  const finalSegment = Math.ceil(plainSize / segmentSize) - 1;
  const firstSegment = Math.floor(start / segmentSize);
  const lastSegment = Math.floor(end / segmentSize);
  const record = segmentSize + TAG_LEN;
  const lastLen = (lastSegment === finalSegment ? plainSize - finalSegment * segmentSize : segmentSize) + TAG_LEN;
  return {
    cipherRange: { start: HEADER_LEN + firstSegment * record, end: HEADER_LEN + lastSegment * record + lastLen - 1 },
    firstSegment,
    lastSegment,
    finalSegment,
    skip: start - firstSegment * segmentSize,
    take: end - start + 1,
  };
}

/**
 * Decrypting transform for the segments of `plan` (ciphertext without the header in, the requested
 * plaintext bytes out). Each segment is authenticated with its index and final flag, as in a full read.
 */
export function createRangeDecryptStream(dataKey: Buffer, header: Buffer, plan: SegmentPlan): Transform {
  const { segmentSize } = parseHeader(header);
  const prefix = header.subarray(9, 16);
  let index = plan.firstSegment;
  let skip = plan.skip;
  let left = plan.take;
  let buf: Buffer = Buffer.alloc(0);
  const recordLen = () => {
    const end = plan.cipherRange.end + 1 - HEADER_LEN;
    const at = (index - plan.firstSegment) * (segmentSize + TAG_LEN) + (plan.cipherRange.start - HEADER_LEN);
    return Math.min(segmentSize + TAG_LEN, end - at);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        while (index <= plan.lastSegment && buf.length >= recordLen()) {
          const len = recordLen();
          let plain = openSegment(dataKey, header, prefix, index, index === plan.finalSegment, buf.subarray(0, len));
          buf = buf.subarray(len);
          index++;
          if (skip) {
            plain = plain.subarray(skip);
            skip = 0;
          }
          if (plain.length > left) plain = plain.subarray(0, left);
          left -= plain.length;
          if (plain.length) this.push(plain);
        }
        if (index > plan.lastSegment && buf.length) throw new BlobIntegrityError('more data than the requested segments');
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      if (index <= plan.lastSegment || left !== 0) return cb(new BlobIntegrityError('truncated blob (range ends early)'));
      cb();
    },
  });
}

/** Decrypting transform: header + sealed segments in, authenticated plaintext out. */
export function createDecryptStream(dataKey: Buffer): Transform {
  let header: Buffer | undefined;
  let prefix: Buffer | undefined;
  let record = 0;
  let index = 0;
  let finished = false;
  let buf: Buffer[] = [];
  let bufLen = 0;

  const concat = () => {
    if (buf.length > 1) buf = [Buffer.concat(buf, bufLen)];
    return buf[0] ?? Buffer.alloc(0);
  };

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        if (finished) throw new BlobIntegrityError('data after the final segment');
        buf.push(chunk);
        bufLen += chunk.length;
        if (!header) {
          if (bufLen < HEADER_LEN) return cb();
          const all = concat();
          header = Buffer.from(all.subarray(0, HEADER_LEN));
          record = parseHeader(header).segmentSize + TAG_LEN;
          prefix = header.subarray(9, 16);
          const rest = all.subarray(HEADER_LEN);
          buf = rest.length ? [rest] : [];
          bufLen = rest.length;
        }
        // A full record followed by more bytes is not the last one.
        while (bufLen > record) {
          const all = concat();
          this.push(openSegment(dataKey, header, prefix!, index++, false, all.subarray(0, record)));
          const rest = all.subarray(record);
          buf = [rest];
          bufLen = rest.length;
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!header) throw new BlobIntegrityError('truncated blob (no header)');
        if (bufLen < TAG_LEN) throw new BlobIntegrityError('truncated blob (missing final segment)');
        this.push(openSegment(dataKey, header, prefix!, index++, true, concat()));
        finished = true;
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

export function wrapDataKey(masterKey: Buffer, dataKey: Buffer, storageKey: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', masterKey, iv);
  c.setAAD(Buffer.from(`tachiai-sign:blob:${storageKey}`, 'utf8'));
  const ct = Buffer.concat([c.update(dataKey), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
}

export function unwrapDataKey(masterKey: Buffer, wrapped: string, storageKey: string): Buffer {
  const raw = Buffer.from(wrapped, 'base64');
  if (raw.length !== 12 + 16 + 32) throw new BlobIntegrityError('wrapped key has a bad length');
  const d = createDecipheriv('aes-256-gcm', masterKey, raw.subarray(0, 12));
  d.setAAD(Buffer.from(`tachiai-sign:blob:${storageKey}`, 'utf8'));
  d.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]);
  } catch {
    throw new BlobIntegrityError('cannot unwrap the data key (wrong master key or tampered key)');
  }
}
