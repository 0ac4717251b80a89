/**
 * `npm run migrate`: apply prisma/migrations as the schema owner (MIGRATION_DATABASE_URL, default
 * DATABASE_URL) and (re)grant the application role of DATABASE_URL its privileges (lib/db
 * prepareDatabase). When DATABASE_URL is unset: the embedded PostgreSQL that `npm run dev` uses under
 * DATA_DIR/pg. Records each migration in Prisma's `_prisma_migrations` table, so `prisma migrate
 * deploy` agrees with it.
 */
import path from 'node:path';
import { getConfig } from '../lib/config';
import { prepareDatabase } from '../lib/db';
import { useEmbeddedPostgres } from '../lib/devserver';

async function main() {
  const cfg = getConfig();
  let stop: (() => Promise<void>) | undefined;
  let appUrl = process.env.DATABASE_URL;
  let ownerUrl = process.env.MIGRATION_DATABASE_URL ?? appUrl;
  if (!appUrl) {
    const pg = await useEmbeddedPostgres({
      dataDir: path.join(cfg.dataDir, 'pg'),
      port: cfg.EMBEDDED_PG_PORT,
      databases: ['tachiai'],
    });
    stop = () => pg.stop();
    appUrl = pg.appUrlFor('tachiai');
    ownerUrl = pg.urlFor('tachiai');
    console.log(`embedded PostgreSQL under ${path.join(cfg.dataDir, 'pg')}`);
  }
  try {
    const r = await prepareDatabase({ ownerUrl: ownerUrl!, appUrl, log: (m) => console.log(m) });
    if (!r.applied.length) console.log('migrations up to date');
    console.log(`application role "${r.appRole}": ${r.problems.length ? `NOT restricted (${r.problems.join(', ')})` : 'SELECT/INSERT only on the 操作ログ'}`);
  } finally {
    await stop?.();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
