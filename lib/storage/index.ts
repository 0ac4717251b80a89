/**
 * Encrypted blob store (documents, sealed files, certificates).
 *
 * - Each blob: a random AES-256-GCM data key, wrapped by the master key (lib/pki getMasterKey);
 *   the file is a chunked GCM stream (see crypto.ts), so large files are streamed both ways and
 *   truncation/reordering is detected. The id of the wrapping master key is recorded per blob, so
 *   reads keep working during a master-key rotation (MASTER_KEY_PREVIOUS, lib/ops rotateMasterKey).
 * - Bytes go to the `StorageBackend` chosen by STORAGE_BACKEND (`getStorageBackend`, the one place
 *   that decides): the filesystem under getConfig().storageDir, or an S3-compatible bucket (s3.ts).
 * - A `stored_blobs` row holds the wrapped key, size, SHA-256 (hex, of the plaintext) and type.
 *
 * Writing the file happens before the row is inserted; `putBlob` deletes the file again when the
 * insert fails. Callers that insert the row in a longer transaction use `writeBlobFile` +
 * `insertBlobRow` and call `discardBlobFile` when their transaction rolls back. So a row only ever
 * names a file that was completely written.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { AppConfig } from '../config';
import type { Db, Tx } from '../db';
import { getConfig } from '../config';
import { AppError, notFound } from '../errors';
import type { StoredBlob } from '../generated/prisma/client';
import { registerPeriodicTask } from '../jobs';
import { getMasterKey, keyIdOf, masterKeyById } from '../pki';
import { FileSystemBackend, type ByteRange, type StorageBackend } from './backend';
import {
  BlobIntegrityError,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  HEADER_LEN,
  parseHeader,
  planRange,
  unwrapDataKey,
  wrapDataKey,
} from './crypto';
import { S3Backend } from './s3';

export { FileSystemBackend, type ByteRange, type StorageBackend, type StoredObject } from './backend';
export { S3Backend, type S3BackendOptions } from './s3';
export { BlobIntegrityError, encryptedSize } from './crypto';
export type { StoredBlob };

export type StorageBackendKind = AppConfig['STORAGE_BACKEND'];

const backends = new WeakMap<AppConfig, Map<StorageBackendKind, StorageBackend>>();

/**
 * The backend of `kind` as configured (default: STORAGE_BACKEND). `local` is DATA_DIR/storage;
 * `s3` needs S3_BUCKET (and S3_ENDPOINT/S3_REGION/credentials/S3_FORCE_PATH_STYLE as the service needs).
 * Cached per configuration (tests that change the environment call resetConfig()).
 */
export function getStorageBackend(kind?: StorageBackendKind): StorageBackend {
  const c = getConfig();
  const k = kind ?? c.STORAGE_BACKEND;
  let byKind = backends.get(c);
  if (!byKind) backends.set(c, (byKind = new Map()));
  let b = byKind.get(k);
  if (!b) {
    if (k === 'local') {
      b = new FileSystemBackend(c.storageDir);
    } else {
      if (!c.S3_BUCKET) throw new AppError('internal', 'S3_BUCKET が設定されていません（STORAGE_BACKEND=s3 には必須です）。');
      b = new S3Backend({
        bucket: c.S3_BUCKET,
        prefix: c.S3_PREFIX,
        region: c.S3_REGION,
        endpoint: c.S3_ENDPOINT,
        forcePathStyle: c.S3_FORCE_PATH_STYLE,
        credentials:
          c.S3_ACCESS_KEY_ID && c.S3_SECRET_ACCESS_KEY
            ? { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY }
            : undefined,
      });
    }
    byKind.set(k, b);
  }
  return b;
}

/** Reach the configured store (for readiness checks and operator commands); throws when it cannot. */
export async function checkStorage(): Promise<void> {
  await getStorageBackend().probe();
}

/** Non-secret id of a master key (as recorded in stored_blobs.master_key_id). */
export const masterKeyIdOf = keyIdOf;

export interface PendingBlob {
  storageKey: string;
  wrappedKey: string;
  masterKeyId: string;
  sizeBytes: bigint;
  sha256: string;
  contentType: string;
}

export interface PutBlobOptions {
  contentType: string;
  /** Abort with AppError pdf_too_large-like 'validation' when the stream exceeds this many bytes. */
  maxBytes?: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toReadable(data: Uint8Array | Readable): Readable {
  if (data instanceof Readable) return data;
  return Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Encrypt and store the bytes; no database row yet. */
export async function writeBlobFile(data: Uint8Array | Readable, opts: PutBlobOptions): Promise<PendingBlob> {
  const backend = getStorageBackend();
  const storageKey = `b/${randomBytes(1).toString('hex')}/${randomUUID()}`;
  const masterKey = await getMasterKey();
  const dataKey = randomBytes(32);
  const wrappedKey = wrapDataKey(masterKey, dataKey, storageKey);
  const masterKeyId = masterKeyIdOf(masterKey);
  masterKey.fill(0);

  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (opts.maxBytes !== undefined && size > opts.maxBytes) {
        return cb(new AppError('validation', `ファイルが大きすぎます（上限 ${opts.maxBytes} バイト）。`));
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const enc = createEncryptStream(dataKey);
  const source = toReadable(data);
  source.on('error', (e) => meter.destroy(e));
  meter.on('error', (e) => enc.destroy(e));
  source.pipe(meter).pipe(enc);
  try {
    await backend.put(storageKey, enc);
  } catch (e) {
    source.destroy();
    throw e;
  } finally {
    dataKey.fill(0);
  }
  return {
    storageKey,
    wrappedKey,
    masterKeyId,
    sizeBytes: BigInt(size),
    sha256: hash.digest('hex'),
    contentType: opts.contentType,
  };
}

/** Insert the stored_blobs row for a file written by `writeBlobFile`. */
export async function insertBlobRow(db: Tx, p: PendingBlob): Promise<StoredBlob> {
  return db.storedBlob.create({ data: { ...p } });
}

/** Delete a stored file that has no row (cleanup after a rolled-back transaction). */
export async function discardBlobFile(storageKey: string): Promise<void> {
  await getStorageBackend().delete(storageKey);
}

/** Encrypt, store and record a blob. Accepts a Prisma client or a transaction. */
export async function putBlob(db: Tx, data: Uint8Array | Readable, opts: PutBlobOptions): Promise<StoredBlob> {
  const pending = await writeBlobFile(data, opts);
  try {
    return await insertBlobRow(db, pending);
  } catch (e) {
    await discardBlobFile(pending.storageKey).catch(() => undefined);
    throw e;
  }
}

async function findBlob(db: Tx, blobId: string): Promise<StoredBlob> {
  const row = UUID_RE.test(blobId) ? await db.storedBlob.findUnique({ where: { id: blobId } }) : null;
  if (!row) throw notFound('ファイル');
  return row;
}

type KeyedBlob = Pick<StoredBlob, 'id' | 'storageKey' | 'wrappedKey' | 'masterKeyId'>;

/** The blob's data key, unwrapped with the master key its row names (current or MASTER_KEY_PREVIOUS). */
export async function unwrapBlobKey(row: KeyedBlob): Promise<Buffer> {
  const masterKey = await masterKeyById(row.masterKeyId);
  if (!masterKey) {
    const current = keyIdOf(await getMasterKey());
    throw new BlobIntegrityError(
      `blob ${row.id} is wrapped by master key ${row.masterKeyId}, which is not configured (current key is ${current}; earlier keys go in MASTER_KEY_PREVIOUS)`,
    );
  }
  try {
    return unwrapDataKey(masterKey, row.wrappedKey, row.storageKey);
  } finally {
    masterKey.fill(0);
  }
}

/**
 * The blob's data key wrapped under the current master key, or null when it already is (rotation).
 * The file is not touched: only stored_blobs.wrapped_key / master_key_id change.
 */
export async function rewrapBlobKey(row: KeyedBlob): Promise<{ wrappedKey: string; masterKeyId: string } | null> {
  const current = await getMasterKey();
  try {
    const currentId = keyIdOf(current);
    if (row.masterKeyId === currentId) return null;
    const dataKey = await unwrapBlobKey(row);
    try {
      return { wrappedKey: wrapDataKey(current, dataKey, row.storageKey), masterKeyId: currentId };
    } finally {
      dataKey.fill(0);
    }
  } finally {
    current.fill(0);
  }
}

async function getStored(backend: StorageBackend, key: string, range?: ByteRange): Promise<Readable> {
  try {
    return await backend.get(key, range);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AppError('internal', '保存されたファイルが保管庫に見つかりません。管理者に連絡してください。', {
        details: { storageKey: key, backend: backend.name },
        cause: e,
      });
    }
    throw e;
  }
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export interface OpenBlobOptions {
  /** Plaintext bytes `start`..`end` (inclusive) only: just the segments holding them are fetched. */
  range?: ByteRange;
  /** Read from this store instead of the configured one (copies, backups, restores). */
  backend?: StorageBackend;
}

/**
 * A stream of the decrypted bytes. Each segment is authenticated before it is emitted; for a whole
 * read the size and SHA-256 are checked against the row at the end. Any mismatch errors the stream.
 */
export async function openBlobStream(db: Tx, blobId: string, opts: OpenBlobOptions = {}): Promise<Readable> {
  return openStoredBlob(await findBlob(db, blobId), opts);
}

/** What reading a blob needs of its stored_blobs row. */
export type BlobRow = Pick<StoredBlob, 'id' | 'storageKey' | 'wrappedKey' | 'masterKeyId' | 'sizeBytes' | 'sha256'>;

/** `openBlobStream` for a row already at hand. */
export async function openStoredBlob(row: BlobRow, opts: OpenBlobOptions = {}): Promise<Readable> {
  const backend = opts.backend ?? getStorageBackend();
  const dataKey = await unwrapBlobKey(row);
  if (opts.range) return openRange(backend, row, dataKey, opts.range);
  const raw = await getStored(backend, row.storageKey);
  const dec = createDecryptStream(dataKey);
  const hash = createHash('sha256');
  let size = 0n;
  const verify = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += BigInt(chunk.length);
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (size !== row.sizeBytes || hash.digest('hex') !== row.sha256) {
        return cb(new BlobIntegrityError(`blob ${row.id} does not match its recorded size/SHA-256`));
      }
      cb();
    },
  });
  raw.on('error', (e) => dec.destroy(e));
  dec.on('error', (e) => verify.destroy(e));
  verify.on('close', () => raw.destroy());
  raw.pipe(dec).pipe(verify);
  return verify;
}

async function openRange(backend: StorageBackend, row: BlobRow, dataKey: Buffer, range: ByteRange): Promise<Readable> {
  const size = Number(row.sizeBytes);
  if (!(range.start >= 0 && range.start <= range.end && range.end < size)) {
    throw new AppError('validation', `範囲指定が正しくありません（ファイルの大きさは ${size} バイトです）。`);
  }
  const header = await collect(await getStored(backend, row.storageKey, { start: 0, end: HEADER_LEN - 1 }));
  const plan = planRange(size, parseHeader(header).segmentSize, range.start, range.end);
  const raw = await getStored(backend, row.storageKey, plan.cipherRange);
  const dec = createRangeDecryptStream(dataKey, header, plan);
  raw.on('error', (e) => dec.destroy(e));
  dec.on('close', () => raw.destroy());
  return raw.pipe(dec);
}

/**
 * Decrypt a blob from `backend` (default: the configured store) and check its size and SHA-256
 * against the row; rejects on any mismatch (or when the file is missing).
 */
export async function verifyStoredBlob(row: BlobRow, backend?: StorageBackend): Promise<void> {
  const s = await openStoredBlob(row, { backend });
  for await (const _ of s) {
    /* the verifying stream checks size and SHA-256 at its end */
  }
}

/** The whole decrypted blob in memory (for small files and tests; prefer openBlobStream). */
export async function readBlob(db: Tx, blobId: string): Promise<Buffer> {
  return collect(await openBlobStream(db, blobId));
}

/** Delete the row, then the file. Fails (FK) while a document or certificate still refers to it. */
export async function deleteBlob(db: Tx, blobId: string): Promise<void> {
  const row = await findBlob(db, blobId);
  await db.storedBlob.delete({ where: { id: row.id } });
  await discardBlobFile(row.storageKey);
}

/** Identifies this database (server system id + database name) for the store's owner marker. */
export async function databaseIdentity(db: Tx): Promise<string> {
  try {
    const rows = await db.$queryRaw<{ id: string }[]>`
      SELECT (SELECT system_identifier::text FROM pg_control_system()) || '/' || current_database() AS id`;
    return rows[0].id;
  } catch {
    const rows = await db.$queryRaw<{ id: string }[]>`SELECT current_database() AS id`;
    return rows[0].id;
  }
}

/** The shape of the keys `writeBlobFile` makes; the sweep never touches anything else in a store. */
export const BLOB_KEY_RE = /^b\/[0-9a-f]{2}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Delete stored files that have no stored_blobs row and are older than `olderThanMs` (default 1 h):
 * leftovers of a process that died between writing a file and committing its row. Files younger
 * than that may belong to an upload whose transaction is still running, so they are kept. Also
 * removes interrupted writes (temp files; unfinished S3 multipart uploads).
 * The sweep only runs on a store that belongs to this database: the first sweep writes an owner
 * marker (`.db-owner`: server system id + database name); a store claimed by another database
 * (e.g. a shared DATA_DIR or bucket prefix) is never swept. The worker runs this every hour.
 */
export async function sweepOrphanBlobFiles(
  db: Tx,
  opts: { now?: Date; olderThanMs?: number; backend?: StorageBackend } = {},
): Promise<{ deleted: number }> {
  const backend = opts.backend ?? getStorageBackend();
  if (!(await backend.claimOwner(await databaseIdentity(db)))) return { deleted: 0 };
  const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.olderThanMs ?? 3_600_000));
  let deleted = await backend.sweepPartial(cutoff);
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const known = await db.storedBlob.findMany({ where: { storageKey: { in: batch } }, select: { storageKey: true } });
    const keep = new Set(known.map((k) => k.storageKey));
    for (const key of batch) {
      if (!keep.has(key)) {
        await backend.delete(key);
        deleted++;
      }
    }
    batch = [];
  };
  for await (const o of backend.list()) {
    if (o.modifiedAt >= cutoff || !BLOB_KEY_RE.test(o.key)) continue;
    batch.push(o.key);
    if (batch.length >= 500) await flush();
  }
  await flush();
  return { deleted };
}

registerPeriodicTask('sweep-orphan-blob-files', (db: Db, now) => sweepOrphanBlobFiles(db, { now }), { everyMs: 3_600_000 });
