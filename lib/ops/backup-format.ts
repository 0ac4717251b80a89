/**
 * The on-disk format of a backup directory (`npm run backup -- <dir>`):
 *
 *   manifest.json            this file's schema (written last: a backup without it is incomplete)
 *   schema/<migration>.sql   the migrations applied to the database, replayed by the restore
 *   db/<table>.copy.gz       each table's rows, PostgreSQL COPY text format, gzip
 *   blobs.jsonl              one line per stored_blobs row: key, plaintext size + SHA-256, ciphertext size (+ SHA-256 when copied)
 *   blobs/<storage key>      the encrypted files as the store holds them (mode `copy`)
 *   pki/dev/*                the dev PKI (KEY_PROVIDER=dev), when there is one
 *
 * The master key is never in a backup: without it (MASTER_KEY, or MASTER_KEY_PREVIOUS for an older
 * one) the blobs cannot be read. `masterKeyIds` says which keys a restore needs.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { z } from 'zod';

export const BACKUP_FORMAT = 'tachiai-sign-backup';
export const BACKUP_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const relPath = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_./-]*$/).refine((p) => !p.split('/').includes('..'), 'no .. in paths');

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  createdAt: z.string().datetime(),
  database: z.object({ name: z.string(), serverVersion: z.string() }),
  migrations: z.array(z.object({ name: z.string().regex(/^[0-9]{14}_[a-z0-9_]+$/), checksum: z.string(), file: relPath, sha256 })),
  tables: z.array(
    z.object({ name: z.string().min(1).max(63), columns: z.array(z.string().min(1).max(63)).min(1), rows: z.number().int().nonnegative(), file: relPath, sha256 }),
  ),
  sequences: z.array(z.object({ name: z.string().min(1).max(63), lastValue: z.string().regex(/^-?\d+$/), isCalled: z.boolean() })),
  blobs: z.object({
    mode: z.enum(['copy', 'reference']),
    source: z.object({ backend: z.string(), location: z.string() }),
    count: z.number().int().nonnegative(),
    cipherBytes: z.number().int().nonnegative(),
    file: relPath,
    sha256,
  }),
  masterKeyIds: z.array(z.string().regex(/^[0-9a-f]{8}$/)),
  devPki: z.array(z.object({ file: relPath, sha256 })).optional(),
});

export type BackupManifest = z.infer<typeof manifestSchema>;

export const blobLineSchema = z.object({
  id: z.string().uuid(),
  storageKey: z.string(),
  sizeBytes: z.string().regex(/^\d+$/),
  sha256,
  masterKeyId: z.string(),
  cipherSize: z.number().int().nonnegative(),
  cipherSha256: sha256.optional(),
});

export type BlobLine = z.infer<typeof blobLineSchema>;

/** A pass-through that hashes (SHA-256) and counts what flows through it. */
export function hashingStream(): Transform & { digest(): { sha256: string; size: number } } {
  const h = createHash('sha256');
  let size = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  let result: { sha256: string; size: number } | undefined;
  return Object.assign(t, {
    digest() {
      result ??= { sha256: h.digest('hex'), size };
      return result;
    },
  });
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}
