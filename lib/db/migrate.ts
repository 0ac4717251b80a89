/**
 * Applies prisma/migrations/<name>/migration.sql in order and records them in Prisma's own
 * `_prisma_migrations` table (same columns, SHA-256 checksum of the file), so a database migrated
 * here is one `prisma migrate deploy` recognises, and vice versa. Used because Prisma's schema
 * engine (a downloaded binary) cannot be fetched in every environment.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

// import.meta.dirname is undefined inside the Next.js bundle (pages import lib/db); fall back to the cwd.
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname ?? path.join(process.cwd(), 'lib/db'), '../../prisma/migrations');
const LOCK_ID = 72707369; // the advisory lock id Prisma Migrate uses

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const out: Migration[] = [];
  for (const name of names) {
    const buf = await readFile(path.join(dir, name, 'migration.sql'));
    out.push({ name, sql: buf.toString('utf8'), checksum: createHash('sha256').update(buf).digest('hex') });
  }
  return out;
}

/** Apply the migrations not yet applied: those of prisma/migrations, or `opts.migrations` (a restore replays a backup's). */
export async function migrate(databaseUrl: string, opts: { log?: (msg: string) => void; migrations?: Migration[] } = {}): Promise<string[]> {
  const log = opts.log ?? (() => {});
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    // Only when missing: a role without CREATE on the schema (the application's) may still check that
    // everything is applied.
    const { rows: exists } = await client.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
    if (!exists[0].t) await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const done = new Map(rows.map((r) => [r.migration_name, r]));
    for (const m of opts.migrations ?? (await listMigrations())) {
      const prev = done.get(m.name);
      if (prev) {
        if (!prev.finished_at) throw new Error(`Migration ${m.name} failed earlier; resolve it before continuing`);
        if (prev.checksum !== m.checksum) log(`warning: ${m.name} was modified after it was applied`);
        continue;
      }
      const id = randomUUID();
      await client.query('BEGIN');
      try {
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
          [id, m.checksum, m.name],
        );
        await client.query(m.sql);
        await client.query(
          'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
          [id],
        );
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        const denied = (e as { code?: string }).code === '42501';
        throw new Error(
          `Migration ${m.name} failed: ${(e as Error).message}` +
            (denied ? ' (migrations run as the schema owner: set MIGRATION_DATABASE_URL, see docs/database-roles.md)' : ''),
        );
      }
      log(`applied ${m.name}`);
      applied.push(m.name);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => {});
    await client.end();
  }
  return applied;
}
