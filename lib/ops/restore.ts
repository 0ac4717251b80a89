/**
 * `npm run restore -- <dir>`: a backup into an EMPTY database and an EMPTY store, then proof.
 *
 * 1. The manifest (zod) and every file's SHA-256; the master keys the blobs need must be configured.
 * 2. Refuses a database with any row in any table (a schema without rows is fine, provided its
 *    applied migrations are among the backup's — a restore that stopped half-way can be re-run) and
 *    a store holding anything that is not a file of this backup.
 * 3. Files (mode `copy`) go into the configured store, each checked against its ciphertext SHA-256
 *    on the way; mode `reference` checks every object is in the bucket with the right size.
 * 4. Schema: the backup's own migrations (its SQL, not this version's), then every table's rows in one
 *    transaction — tables in foreign-key order, user triggers (append-only and sealed-file guards)
 *    off while loading the historical rows, row counts checked, sequences set — then this version's
 *    newer migrations. Run it as the database owner (or a superuser): it creates the schema and
 *    switches triggers off for the load.
 * 5. Verification: every blob decrypts to its recorded SHA-256 from the store; every document's,
 *    sealed file's, certificate's and archive renewal's hash matches its blob; every organisation's
 *    操作ログ chain verifies. Then a `system.restored` event is appended to each chain.
 */
import { createReadStream } from 'node:fs';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { recordAuditNow, verifyAuditChain } from '../audit';
import { createPrisma, migrate, type Db } from '../db';
import { AppError } from '../errors';
import { devPkiDir, masterKeyById } from '../pki';
import { encryptedSize, FileSystemBackend, getStorageBackend, verifyStoredBlob, type StorageBackend } from '../storage';
import { blobLineSchema, hashingStream, manifestSchema, sha256File, type BackupManifest, type BlobLine } from './backup-format';
import { eachLimit } from './copy-store';
import { enabledUserTriggers, foreignKeyEdges, listTables, loadOrder, quoteIdent } from './pg-catalog';

export interface RestoreOptions {
  databaseUrl: string;
  dir: string;
  concurrency?: number;
  log?: (msg: string) => void;
}

export interface RestoreReport {
  tables: number;
  rows: number;
  blobs: number;
  organizations: number;
  /** Everything verification found wrong (empty = intact). */
  problems: string[];
}

function fail(message: string): never {
  throw new AppError('conflict', message);
}

export async function readBackup(dir: string): Promise<{ manifest: BackupManifest; blobs: BlobLine[] }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw new AppError('validation', `${dir} にバックアップの manifest.json がありません（未完了のバックアップか、別のディレクトリです）。`, { cause: e });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new AppError('validation', `manifest.json の形式が正しくありません: ${parsed.error.issues[0]?.message}`);
  const manifest = parsed.data;
  const files = [
    ...manifest.migrations.map((m) => [m.file, m.sha256] as const),
    ...manifest.tables.map((t) => [t.file, t.sha256] as const),
    [manifest.blobs.file, manifest.blobs.sha256] as const,
    ...(manifest.devPki ?? []).map((f) => [f.file, f.sha256] as const),
  ];
  for (const [file, sha] of files) {
    const actual = await sha256File(path.join(dir, file)).catch(() => 'missing');
    if (actual !== sha) throw new AppError('validation', `バックアップのファイル ${file} が壊れているか、ありません。`);
  }
  const blobs = (await readFile(path.join(dir, manifest.blobs.file), 'utf8'))
    .split('\n')
    .filter((l) => l)
    .map((l) => blobLineSchema.parse(JSON.parse(l)));
  if (blobs.length !== manifest.blobs.count) throw new AppError('validation', 'blobs.jsonl の件数が manifest.json と一致しません。');
  return { manifest, blobs };
}

async function assertDatabaseEmpty(client: pg.Client, manifest: BackupManifest): Promise<void> {
  const nonEmpty: string[] = [];
  for (const t of await listTables(client)) {
    if (t.name === '_prisma_migrations') continue;
    const r = await client.query(`SELECT 1 FROM ${quoteIdent(t.name)} LIMIT 1`);
    if (r.rowCount) nonEmpty.push(t.name);
  }
  if (nonEmpty.length) fail(`復元先のデータベースが空ではありません（${nonEmpty.join(', ')}）。空のデータベースを指定してください。`);
  const hasTable = await client.query(`SELECT to_regclass(quote_ident(current_schema()) || '._prisma_migrations') IS NOT NULL AS t`);
  if (hasTable.rows[0].t) {
    const known = new Set(manifest.migrations.map((m) => m.name));
    const applied = await client.query<{ migration_name: string }>(`SELECT migration_name FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`);
    const extra = applied.rows.map((r) => r.migration_name).filter((n) => !known.has(n));
    if (extra.length) fail(`復元先のデータベースには、バックアップより新しいマイグレーション（${extra.join(', ')}）が適用されています。空のデータベースを指定してください。`);
  }
}

async function assertStoreEmpty(store: StorageBackend, blobs: BlobLine[]): Promise<void> {
  const ours = new Set(blobs.map((b) => b.storageKey));
  for await (const o of store.list()) {
    if (!ours.has(o.key)) fail(`復元先のファイル保管庫（${store.location}）が空ではありません（${o.key} など）。空の保管庫を指定してください。`);
  }
}

async function restoreBlobs(
  dir: string,
  manifest: BackupManifest,
  blobs: BlobLine[],
  store: StorageBackend,
  opts: { concurrency: number; log: (m: string) => void },
): Promise<void> {
  const source = new FileSystemBackend(path.join(dir, 'blobs'));
  let done = 0;
  await eachLimit(blobs, opts.concurrency, async (b) => {
    const there = await store.stat(b.storageKey);
    if (manifest.blobs.mode === 'reference') {
      if (!there || there.size !== b.cipherSize) {
        fail(`参照バックアップのファイル ${b.storageKey} が保管庫（${store.location}）にないか、大きさが違います。`);
      }
    } else if (!there || there.size !== b.cipherSize) {
      const hash = hashingStream();
      await store.put(b.storageKey, (await source.get(b.storageKey)).pipe(hash));
      if (hash.digest().sha256 !== b.cipherSha256) {
        await store.delete(b.storageKey);
        fail(`バックアップのファイル blobs/${b.storageKey} が壊れています（SHA-256 が記録と一致しません）。`);
      }
    }
    if (++done % 200 === 0) opts.log(`${done} files restored`);
  });
}

async function loadTables(client: pg.Client, dir: string, manifest: BackupManifest, log: (m: string) => void): Promise<number> {
  const existing = new Set((await listTables(client)).map((t) => t.name));
  for (const t of manifest.tables) {
    if (!existing.has(t.name)) fail(`バックアップの表 ${t.name} が、マイグレーションを適用したデータベースにありません。`);
  }
  const order = loadOrder(manifest.tables.map((t) => t.name), await foreignKeyEdges(client));
  const byName = new Map(manifest.tables.map((t) => [t.name, t]));
  let rows = 0;
  await client.query('BEGIN');
  try {
    const disabled = new Map<string, string[]>();
    for (const name of order) {
      const triggers = await enabledUserTriggers(client, name);
      for (const tg of triggers) await client.query(`ALTER TABLE ${quoteIdent(name)} DISABLE TRIGGER ${quoteIdent(tg)}`);
      disabled.set(name, triggers);
    }
    for (const name of order) {
      const t = byName.get(name)!;
      const sink = client.query(copyFrom(`COPY ${quoteIdent(name)} (${t.columns.map(quoteIdent).join(', ')}) FROM STDIN`));
      await pipeline(createReadStream(path.join(dir, t.file)), createGunzip(), sink);
      if (sink.rowCount !== t.rows) fail(`表 ${name} の行数が一致しません（${sink.rowCount} / ${t.rows}）。`);
      rows += t.rows;
      log(`${name}: ${t.rows} rows`);
    }
    for (const s of manifest.sequences) {
      await client.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [quoteIdent(s.name), s.lastValue, s.isCalled]);
    }
    for (const [name, triggers] of disabled) {
      for (const tg of triggers) await client.query(`ALTER TABLE ${quoteIdent(name)} ENABLE TRIGGER ${quoteIdent(tg)}`);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return rows;
}

async function restoreDevPki(dir: string, manifest: BackupManifest, log: (m: string) => void): Promise<void> {
  if (!manifest.devPki?.length) return;
  const target = devPkiDir();
  const present = await readdir(target).catch(() => [] as string[]);
  if (present.length) {
    log(`dev PKI: ${target} already exists; left as it is`);
    return;
  }
  await mkdir(target, { recursive: true, mode: 0o700 });
  for (const f of manifest.devPki) await cp(path.join(dir, f.file), path.join(target, path.basename(f.file)), { preserveTimestamps: true });
  log(`dev PKI restored to ${target}`);
}

/** Everything the restored database and store must satisfy; returns the problems found. */
export async function verifyRestored(db: Db, opts: { concurrency?: number; log?: (m: string) => void } = {}): Promise<{ problems: string[]; blobs: number; organizations: number }> {
  const problems: string[] = [];
  const blobs = await db.storedBlob.findMany({ orderBy: { id: 'asc' } });
  const sha = new Map(blobs.map((b) => [b.id, b.sha256]));
  await eachLimit(blobs, opts.concurrency ?? 4, async (b) => {
    await verifyStoredBlob(b).catch((e: unknown) => problems.push(`blob ${b.id} (${b.storageKey}): ${e instanceof Error ? e.message : e}`));
  });
  opts.log?.(`${blobs.length} files decrypted and their SHA-256 checked`);
  for (const d of await db.document.findMany()) {
    if (sha.get(d.originalBlobId) !== d.sha256) problems.push(`document ${d.id}: original file hash differs`);
    if (d.sealedBlobId && sha.get(d.sealedBlobId) !== d.sealedSha256) problems.push(`document ${d.id}: sealed file hash differs`);
  }
  for (const c of await db.completionCertificate.findMany()) {
    if (sha.get(c.blobId) !== c.sha256) problems.push(`certificate ${c.id}: file hash differs`);
  }
  for (const r of await db.archiveRenewal.findMany()) {
    if (sha.get(r.blobId) !== r.sha256) problems.push(`archive renewal ${r.id}: file hash differs`);
  }
  const orgs = await db.organization.findMany({ select: { id: true } });
  for (const o of orgs) {
    const broken = await verifyAuditChain(db, o.id);
    if (broken !== null) problems.push(`organisation ${o.id}: 操作ログ chain broken at event ${broken}`);
  }
  return { problems, blobs: blobs.length, organizations: orgs.length };
}

export async function restore(opts: RestoreOptions): Promise<RestoreReport> {
  const log = opts.log ?? (() => {});
  const dir = path.resolve(opts.dir);
  const concurrency = opts.concurrency ?? 4;
  const { manifest, blobs } = await readBackup(dir);
  log(`backup of ${manifest.createdAt}: ${manifest.tables.length} tables, ${blobs.length} files (${manifest.blobs.mode})`);
  for (const id of manifest.masterKeyIds) {
    if (!(await masterKeyById(id))) {
      throw new AppError('validation', `このバックアップのファイルはマスター鍵 ${id} で保護されています。MASTER_KEY（または MASTER_KEY_PREVIOUS）に設定してから復元してください。`);
    }
  }
  for (const b of blobs) {
    if (b.cipherSize !== encryptedSize(Number(b.sizeBytes))) throw new AppError('validation', `blobs.jsonl の ${b.storageKey} の大きさが矛盾しています。`);
  }

  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    await assertDatabaseEmpty(client, manifest);
  } finally {
    await client.end();
  }
  const store = getStorageBackend();
  await store.probe();
  if (manifest.blobs.mode === 'copy') await assertStoreEmpty(store, blobs);

  await restoreBlobs(dir, manifest, blobs, store, { concurrency, log });
  log(`files in ${store.location}`);

  const migrations = await Promise.all(
    manifest.migrations.map(async (m) => ({ name: m.name, sql: await readFile(path.join(dir, m.file), 'utf8'), checksum: m.checksum })),
  );
  await migrate(opts.databaseUrl, { migrations, log });
  const loader = new pg.Client({ connectionString: opts.databaseUrl });
  await loader.connect();
  let rows: number;
  try {
    rows = await loadTables(loader, dir, manifest, log);
  } finally {
    await loader.end();
  }
  const newer = await migrate(opts.databaseUrl, { log });
  if (newer.length) log(`${newer.length} newer migrations applied`);
  await restoreDevPki(dir, manifest, log);

  const db = createPrisma(opts.databaseUrl, { max: concurrency + 1 });
  try {
    const v = await verifyRestored(db, { concurrency, log });
    if (v.problems.length === 0) {
      for (const o of await db.organization.findMany({ select: { id: true } })) {
        await recordAuditNow(db, {
          organizationId: o.id,
          actorType: 'system',
          actorLabel: 'システム（バックアップからの復元）',
          action: 'system.restored',
          details: { backupCreatedAt: manifest.createdAt, files: blobs.length, tables: manifest.tables.length, rows },
        });
      }
    }
    return { tables: manifest.tables.length, rows, blobs: v.blobs, organizations: v.organizations, problems: v.problems };
  } finally {
    await db.$disconnect();
  }
}
