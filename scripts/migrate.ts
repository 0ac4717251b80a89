/**
 * `npm run migrate`: apply prisma/migrations to DATABASE_URL (or, when it is unset, to the
 * embedded PostgreSQL that `npm run dev` uses under DATA_DIR/pg). Records each migration in
 * Prisma's `_prisma_migrations` table, so `prisma migrate deploy` agrees with it.
 */
import path from 'node:path';
import { getConfig } from '../lib/config';
import { migrate } from '../lib/db';
import { startEmbeddedPostgres } from '../lib/devserver/postgres';

async function main() {
  const cfg = getConfig();
  let stop: (() => Promise<void>) | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(cfg.dataDir, 'pg'),
      port: cfg.EMBEDDED_PG_PORT,
      databases: ['tachiai'],
    });
    stop = () => pg.stop();
    url = pg.urlFor('tachiai');
    console.log(`embedded PostgreSQL under ${path.join(cfg.dataDir, 'pg')}`);
  }
  try {
    const applied = await migrate(url, { log: (m) => console.log(m) });
    if (!applied.length) console.log('migrations up to date');
  } finally {
    await stop?.();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
