/**
 * Encrypted blob store (documents, sealed files, certificates).
 *
 * - Each blob: a random AES-256-GCM data key, wrapped by the master key (lib/pki getMasterKey);
 *   the file is a chunked GCM stream (see crypto.ts), so large files are streamed both ways and
 *   truncation/reordering is detected. The key id of the master key is recorded for rotation.
 * - Bytes go to a `StorageBackend` (filesystem under getConfig().storageDir by default).
 * - A `stored_blobs` row holds the wrapped key, size, SHA-256 (hex, of the plaintext) and type.
 *
 * Writing the file happens before the row is inserted; `putBlob` deletes the file again when the
 * insert fails. Callers that insert the row in a longer transaction use `writeBlobFile` +
 * `insertBlobRow` and call `discardBlobFile` when their transaction rolls back.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { Db, Tx } from '../db';
import { getConfig } from '../config';
import { AppError, notFound } from '../errors';
import type { StoredBlob } from '../generated/prisma/client';
import { registerPeriodicTask } from '../jobs';
import { getMasterKey } from '../pki';
import { FileSystemBackend, type StorageBackend } from './backend';
import { BlobIntegrityError, createDecryptStream, createEncryptStream, unwrapDataKey, wrapDataKey } from './crypto';

export { FileSystemBackend, type StorageBackend } from './backend';
export { BlobIntegrityError } from './crypto';
export type { StoredBlob };

let override: StorageBackend | undefined;
const fsBackends = new Map<string, FileSystemBackend>();

/** The configured backend (filesystem under getConfig().storageDir unless overridden). */
export function getStorageBackend(): StorageBackend {
  if (override) return override;
  const dir = getConfig().storageDir;
  let b = fsBackends.get(dir);
  if (!b) {
    b = new FileSystemBackend(dir);
    fsBackends.set(dir, b);
  }
  return b;
}

/** Replace the backend (e.g. an S3-compatible one); `undefined` restores the default. */
export function setStorageBackend(b: StorageBackend | undefined): void {
  override = b;
}

export function masterKeyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

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

/**
 * A stream of the decrypted bytes. Each segment is authenticated before it is emitted; at the end
 * the size and SHA-256 are checked against the row. Any mismatch errors the stream.
 */
export async function openBlobStream(db: Tx, blobId: string): Promise<Readable> {
  const row = await findBlob(db, blobId);
  const masterKey = await getMasterKey();
  const currentId = masterKeyIdOf(masterKey);
  if (row.masterKeyId !== currentId) {
    masterKey.fill(0);
    throw new BlobIntegrityError(`blob ${row.id} is wrapped by master key ${row.masterKeyId}, current key is ${currentId}`);
  }
  let dataKey: Buffer;
  try {
    dataKey = unwrapDataKey(masterKey, row.wrappedKey, row.storageKey);
  } finally {
    masterKey.fill(0);
  }
  const raw = await getStorageBackend().get(row.storageKey);
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

/** The whole decrypted blob in memory (for small files and tests; prefer openBlobStream). */
export async function readBlob(db: Tx, blobId: string): Promise<Buffer> {
  const s = await openBlobStream(db, blobId);
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Delete the row, then the file. Fails (FK) while a document or certificate still refers to it. */
export async function deleteBlob(db: Tx, blobId: string): Promise<void> {
  const row = await findBlob(db, blobId);
  await db.storedBlob.delete({ where: { id: row.id } });
  await discardBlobFile(row.storageKey);
}

/**
 * The sweep deletes files unknown to *this* database, so it only runs on a storage directory that
 * belongs to it: the first sweep writes `.db-owner` (server system id + database name); a directory
 * claimed by another database (e.g. a shared DATA_DIR) is never swept.
 */
async function ownsStorageDir(db: Tx, root: string): Promise<boolean> {
  let id: string;
  try {
    const rows = await db.$queryRaw<{ id: string }[]>`
      SELECT (SELECT system_identifier::text FROM pg_control_system()) || '/' || current_database() AS id`;
    id = rows[0].id;
  } catch {
    const rows = await db.$queryRaw<{ id: string }[]>`SELECT current_database() AS id`;
    id = rows[0].id;
  }
  const marker = path.join(root, '.db-owner');
  try {
    return (await readFile(marker, 'utf8')).trim() === id;
  } catch {
    await mkdir(root, { recursive: true });
    try {
      await writeFile(marker, `${id}\n`, { flag: 'wx', mode: 0o600 });
      return true;
    } catch {
      return (await readFile(marker, 'utf8').catch(() => '')).trim() === id;
    }
  }
}

/**
 * Delete stored files that have no stored_blobs row and are older than `olderThanMs` (default 1 h):
 * leftovers of a process that died between writing a file and committing its row. Files younger
 * than that may belong to an upload whose transaction is still running, so they are kept.
 * The worker runs this every hour.
 */
export async function sweepOrphanBlobFiles(db: Tx, opts: { now?: Date; olderThanMs?: number } = {}): Promise<{ deleted: number }> {
  const backend = getStorageBackend();
  if (!backend.list) return { deleted: 0 };
  if (backend instanceof FileSystemBackend && !(await ownsStorageDir(db, backend.root))) return { deleted: 0 };
  const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.olderThanMs ?? 3_600_000));
  let deleted = (await backend.sweepPartial?.(cutoff)) ?? 0;
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
    if (o.modifiedAt >= cutoff) continue;
    batch.push(o.key);
    if (batch.length >= 500) await flush();
  }
  await flush();
  return { deleted };
}

registerPeriodicTask('sweep-orphan-blob-files', (db: Db, now) => sweepOrphanBlobFiles(db, { now }), { everyMs: 3_600_000 });
