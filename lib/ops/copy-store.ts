/**
 * Copy every blob of the database from one store to another (e.g. the local directory to an S3
 * bucket before switching STORAGE_BACKEND=s3) and prove each copy: it is decrypted from the target
 * and its size and SHA-256 checked against stored_blobs. Only ciphertext moves; nothing is
 * re-encrypted. Resumable and idempotent: an object already in the target is verified (or, with
 * `quick`, trusted when its size is right) and copied again only when it is missing or damaged.
 */
import type { Db, Prisma } from '../db';
import { encryptedSize, verifyStoredBlob, type StorageBackend, type StoredBlob } from '../storage';

export interface CopyStoreOptions {
  from: StorageBackend;
  to: StorageBackend;
  /** Trust an object already in the target when its size is the expected one (no read-back). */
  quick?: boolean;
  /** Parallel copies (default 4). */
  concurrency?: number;
  /** Only these rows (tests, partial runs). */
  where?: Prisma.StoredBlobWhereInput;
  log?: (msg: string) => void;
}

export interface CopyFailure {
  blobId: string;
  storageKey: string;
  reason: string;
}

export interface CopyStoreResult {
  total: number;
  copied: number;
  alreadyPresent: number;
  verified: number;
  failed: CopyFailure[];
}

const PAGE = 500;

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Run `fn` over `items` with at most `n` in flight. */
export async function eachLimit<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

/** Copy one object's bytes as they are (ciphertext) from `from` to `to`. */
export async function copyObject(from: StorageBackend, to: StorageBackend, key: string): Promise<void> {
  await to.put(key, await from.get(key));
}

export async function copyStore(db: Db, opts: CopyStoreOptions): Promise<CopyStoreResult> {
  const log = opts.log ?? (() => {});
  const r: CopyStoreResult = { total: 0, copied: 0, alreadyPresent: 0, verified: 0, failed: [] };

  const one = async (row: StoredBlob): Promise<void> => {
    const fail = (reason: string): void => {
      r.failed.push({ blobId: row.id, storageKey: row.storageKey, reason });
    };
    const there = await opts.to.stat(row.storageKey);
    if (there && there.size === encryptedSize(Number(row.sizeBytes))) {
      if (opts.quick) {
        r.alreadyPresent++;
        return;
      }
      try {
        await verifyStoredBlob(row, opts.to);
        r.alreadyPresent++;
        r.verified++;
        return;
      } catch (e) {
        log(`${row.storageKey}: the copy in the target does not verify (${reasonOf(e)}); copying again`);
      }
    }
    if (!(await opts.from.exists(row.storageKey))) return fail('missing in the source store');
    try {
      await copyObject(opts.from, opts.to, row.storageKey);
      r.copied++;
    } catch (e) {
      return fail(`copy failed: ${reasonOf(e)}`);
    }
    try {
      await verifyStoredBlob(row, opts.to);
      r.verified++;
    } catch (e) {
      // Tell a damaged source from a bad copy.
      const source = await verifyStoredBlob(row, opts.from).then(
        () => 'the source verifies, the copy does not',
        (se: unknown) => `the source store's file is damaged too (${reasonOf(se)})`,
      );
      fail(`verification failed: ${reasonOf(e)}; ${source}`);
    }
  };

  let after: string | undefined;
  for (;;) {
    const rows = await db.storedBlob.findMany({
      where: { AND: [opts.where ?? {}, after ? { id: { gt: after } } : {}] },
      orderBy: { id: 'asc' },
      take: PAGE,
    });
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    r.total += rows.length;
    await eachLimit(rows, opts.concurrency ?? 4, one);
    log(`${r.total} blobs checked (${r.copied} copied, ${r.failed.length} failed)`);
  }
  return r;
}
