/**
 * `npm run backup -- <dir>`: a consistent backup of the database and the encrypted files.
 *
 * Database: a logical export through `pg` — every table of the schema (read from the catalog, so new
 * tables are included without a code change) with COPY, all inside ONE `REPEATABLE READ READ ONLY`
 * transaction, i.e. one snapshot — plus the applied migrations' SQL and the sequences. Not pg_dump:
 * the embedded PostgreSQL ships none and Debian's pg_dump cannot dump a newer server; this works
 * with any server version the app supports and restores through the same migrations.
 *
 * Files: the stored_blobs rows of that snapshot list the files. They are immutable (a key is never
 * written twice), so copying them after the snapshot is consistent — except a file whose row was
 * deleted after the snapshot (a draft's document removed meanwhile): then the whole backup is taken
 * again with a new snapshot (up to 3 times), reusing the files already copied. Mode `copy` (default)
 * puts the ciphertext into the backup and hashes it; mode `reference` (S3 only) records each object's
 * size and leaves the bytes in the bucket — protect them there with versioning / object lock.
 * By default each copied file is decrypted and checked against its SHA-256 (`verify: false` skips).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { listMigrations } from '../db';
import { AppError } from '../errors';
import { devPkiDir } from '../pki';
import { encryptedSize, FileSystemBackend, getStorageBackend, verifyStoredBlob, type StorageBackend } from '../storage';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  blobLineSchema,
  hashingStream,
  sha256File,
  type BackupManifest,
  type BlobLine,
} from './backup-format';
import { eachLimit } from './copy-store';
import { listSequences, listTables, quoteIdent } from './pg-catalog';

export interface BackupOptions {
  databaseUrl: string;
  /** Empty or not yet existing directory. */
  dir: string;
  /** `copy` (default) or `reference` (S3 backend only). */
  blobs?: 'copy' | 'reference';
  /** Decrypt every copied file and check its SHA-256 (default true). */
  verify?: boolean;
  concurrency?: number;
  log?: (msg: string) => void;
  /** For tests only: runs between the database snapshot and the copying of the files. */
  testHooks?: { afterSnapshot?(attempt: number): Promise<void> };
}

export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
  attempts: number;
}

const MAX_ATTEMPTS = 3;

interface Snapshot {
  database: BackupManifest['database'];
  migrations: BackupManifest['migrations'];
  tables: BackupManifest['tables'];
  sequences: BackupManifest['sequences'];
  blobCount: number;
}

interface PendingBlob {
  id: string;
  storageKey: string;
  wrappedKey: string;
  masterKeyId: string;
  sizeBytes: string;
  sha256: string;
}

/** Export every table, the migrations, the sequences and the blob list in one snapshot. */
async function exportSnapshot(databaseUrl: string, dir: string, pendingFile: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const info = await client.query<{ db: string; version: string }>('SELECT current_database() AS db, current_setting(\'server_version\') AS version');

    const applied = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
    );
    const code = new Map((await listMigrations()).map((m) => [m.name, m]));
    const migrations: BackupManifest['migrations'] = [];
    await mkdir(path.join(dir, 'schema'), { recursive: true });
    for (const m of applied.rows) {
      const src = code.get(m.migration_name);
      if (!src) {
        throw new AppError('internal', `データベースに、このプログラムにないマイグレーション ${m.migration_name} が適用されています。同じ版のプログラムでバックアップしてください。`);
      }
      const file = `schema/${m.migration_name}.sql`;
      await writeFile(path.join(dir, file), src.sql);
      migrations.push({ name: m.migration_name, checksum: m.checksum, file, sha256: src.checksum });
    }

    const tables: BackupManifest['tables'] = [];
    await mkdir(path.join(dir, 'db'), { recursive: true });
    for (const t of await listTables(client)) {
      if (t.name === '_prisma_migrations') continue; // recreated by replaying the migrations
      const file = `db/${t.name}.copy.gz`;
      const cols = t.columns.map(quoteIdent).join(', ');
      let rows = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
          cb(null, chunk);
        },
      });
      const hash = hashingStream();
      await pipeline(
        client.query(copyTo(`COPY (SELECT ${cols} FROM ${quoteIdent(t.name)}) TO STDOUT`)),
        counter,
        createGzip(),
        hash,
        createWriteStream(path.join(dir, file), { flags: 'wx' }),
      );
      tables.push({ name: t.name, columns: t.columns, rows, file, sha256: hash.digest().sha256 });
    }
    const sequences = await listSequences(client);

    // The files of this snapshot, in pages (the list can be long).
    const out = createWriteStream(pendingFile, { flags: 'wx' });
    let after = '00000000-0000-0000-0000-000000000000';
    let blobCount = 0;
    for (;;) {
      const page = await client.query<PendingBlob>(
        `SELECT id, storage_key AS "storageKey", wrapped_key AS "wrappedKey", master_key_id AS "masterKeyId",
                size_bytes::text AS "sizeBytes", sha256
         FROM stored_blobs WHERE id > $1 ORDER BY id LIMIT 1000`,
        [after],
      );
      if (page.rows.length === 0) break;
      for (const r of page.rows) {
        if (!out.write(`${JSON.stringify(r)}\n`)) await new Promise<void>((res) => out.once('drain', () => res()));
      }
      blobCount += page.rows.length;
      after = page.rows[page.rows.length - 1].id;
    }
    await new Promise<void>((res, rej) => {
      out.on('error', rej);
      out.end(() => res());
    });
    await client.query('COMMIT');
    return { database: { name: info.rows[0].db, serverVersion: info.rows[0].version }, migrations, tables, sequences, blobCount };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}

async function* readLines(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p) yield p;
  }
  if (rest) yield rest;
}

/** Copy (or reference) the snapshot's files; returns the lines for blobs.jsonl and the keys that were missing. */
async function collectBlobs(
  pendingFile: string,
  store: StorageBackend,
  target: FileSystemBackend | null,
  opts: { verify: boolean; concurrency: number; log: (m: string) => void },
): Promise<{ lines: BlobLine[]; missing: PendingBlob[] }> {
  const lines: BlobLine[] = [];
  const missing: PendingBlob[] = [];
  let batch: PendingBlob[] = [];
  const one = async (b: PendingBlob): Promise<void> => {
    const expected = encryptedSize(Number(b.sizeBytes));
    const base = { id: b.id, storageKey: b.storageKey, sizeBytes: b.sizeBytes, sha256: b.sha256, masterKeyId: b.masterKeyId };
    if (!target) {
      const st = await store.stat(b.storageKey);
      if (!st) return void missing.push(b);
      if (st.size !== expected) throw new AppError('internal', `ファイル ${b.storageKey} の大きさが記録と一致しません（${st.size} / ${expected} バイト）。`);
      lines.push({ ...base, cipherSize: st.size });
      return;
    }
    const have = await target.stat(b.storageKey);
    let digest: { sha256: string; size: number };
    if (have && have.size === expected) {
      digest = { sha256: await sha256File(target.pathFor(b.storageKey)), size: have.size }; // from an earlier attempt
    } else {
      let src: Readable;
      try {
        src = await store.get(b.storageKey);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return void missing.push(b);
        throw e;
      }
      const hash = hashingStream();
      await target.put(b.storageKey, src.pipe(hash));
      digest = hash.digest();
    }
    if (opts.verify) {
      await verifyStoredBlob({ ...b, sizeBytes: BigInt(b.sizeBytes) }, target);
    }
    lines.push({ ...base, cipherSize: digest.size, cipherSha256: digest.sha256 });
  };
  const flush = async () => {
    await eachLimit(batch, opts.concurrency, one);
    batch = [];
    opts.log(`${lines.length} files ${target ? 'copied' : 'checked'}`);
  };
  for await (const line of readLines(pendingFile)) {
    batch.push(JSON.parse(line) as PendingBlob);
    if (batch.length >= 200) await flush();
  }
  await flush();
  lines.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { lines, missing };
}

async function stillReferenced(databaseUrl: string, ids: string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ id: string }>('SELECT id FROM stored_blobs WHERE id = ANY($1::uuid[])', [ids]);
    return r.rows.map((x) => x.id);
  } finally {
    await client.end();
  }
}

async function copyDevPki(dir: string): Promise<BackupManifest['devPki']> {
  const src = devPkiDir();
  let names: string[];
  try {
    names = (await readdir(src)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return undefined;
  }
  if (names.length === 0) return undefined;
  await mkdir(path.join(dir, 'pki', 'dev'), { recursive: true });
  const out: NonNullable<BackupManifest['devPki']> = [];
  for (const n of names) {
    const file = `pki/dev/${n}`;
    await cp(path.join(src, n), path.join(dir, file), { preserveTimestamps: true });
    out.push({ file, sha256: await sha256File(path.join(dir, file)) });
  }
  return out;
}

async function assertEmptyDir(dir: string): Promise<void> {
  try {
    const entries = await readdir(dir);
    if (entries.length > 0) throw new AppError('conflict', `バックアップ先 ${dir} が空ではありません。新しいディレクトリを指定してください。`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function backup(opts: BackupOptions): Promise<BackupResult> {
  const log = opts.log ?? (() => {});
  const dir = path.resolve(opts.dir);
  await assertEmptyDir(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const store = getStorageBackend();
  const mode = opts.blobs ?? 'copy';
  if (mode === 'reference' && store.name !== 's3') {
    throw new AppError('validation', '参照モード（--reference）は S3 保管庫でのみ使えます。ローカル保管庫のファイルはバックアップにコピーします。');
  }
  await store.probe();
  const target = mode === 'copy' ? new FileSystemBackend(path.join(dir, 'blobs')) : null;
  const createdAt = new Date();

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    // A fresh snapshot each attempt: clear what the previous attempt exported (not the copied files).
    await rm(path.join(dir, 'db'), { recursive: true, force: true });
    await rm(path.join(dir, 'schema'), { recursive: true, force: true });
    const pendingFile = path.join(dir, 'blobs.pending.jsonl');
    await rm(pendingFile, { force: true });
    log(`snapshot ${attempt}: exporting the database`);
    const snap = await exportSnapshot(opts.databaseUrl, dir, pendingFile);
    log(`${snap.tables.length} tables, ${snap.tables.reduce((n, t) => n + t.rows, 0)} rows, ${snap.blobCount} files`);
    await opts.testHooks?.afterSnapshot?.(attempt);
    const { lines, missing } = await collectBlobs(pendingFile, store, target, {
      verify: opts.verify ?? true,
      concurrency: opts.concurrency ?? 4,
      log,
    });
    if (missing.length) {
      const live = await stillReferenced(opts.databaseUrl, missing.map((m) => m.id));
      if (live.length) {
        throw new AppError(
          'internal',
          `保管庫に次のファイルがありません（データベースには記録があります）: ${missing.filter((m) => live.includes(m.id)).map((m) => m.storageKey).join(', ')}`,
        );
      }
      log(`${missing.length} files were deleted after the snapshot; taking a new snapshot`);
      continue;
    }
    await rm(pendingFile, { force: true });
    // Files copied by an earlier attempt that this snapshot no longer has.
    if (target) {
      const keep = new Set(lines.map((l) => l.storageKey));
      for await (const o of target.list()) if (!keep.has(o.key)) await target.delete(o.key);
    }
    const blobsFile = 'blobs.jsonl';
    await writeFile(path.join(dir, blobsFile), lines.map((l) => `${JSON.stringify(blobLineSchema.parse(l))}\n`).join(''));
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: createdAt.toISOString(),
      database: snap.database,
      migrations: snap.migrations,
      tables: snap.tables,
      sequences: snap.sequences,
      blobs: {
        mode,
        source: { backend: store.name, location: store.location },
        count: lines.length,
        cipherBytes: lines.reduce((n, l) => n + l.cipherSize, 0),
        file: blobsFile,
        sha256: await sha256File(path.join(dir, blobsFile)),
      },
      masterKeyIds: [...new Set(lines.map((l) => l.masterKeyId))].sort(),
      devPki: await copyDevPki(dir),
    };
    const tmp = path.join(dir, '.manifest.json.tmp');
    await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path.join(dir, 'manifest.json'));
    return { dir, manifest, attempts: attempt };
  }
  throw new AppError('conflict', `バックアップ中にファイルの削除が続いたため、${MAX_ATTEMPTS}回とも一貫したバックアップを取れませんでした。もう一度実行してください。`);
}

/** Size in bytes of everything under `dir` (for the summary line). */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await directorySize(p) : (await stat(p)).size;
  }
  return total;
}
