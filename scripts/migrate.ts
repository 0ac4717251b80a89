/**
 * `npm run migrate`: apply prisma/migrations as the schema owner (MIGRATION_DATABASE_URL, default
 * DATABASE_URL) and (re)grant the application role of DATABASE_URL its privileges (lib/db
 * prepareDatabase). When DATABASE_URL is unset: the embedded PostgreSQL that `npm run dev` uses under
 * DATA_DIR/pg. Records each migration in Prisma's `_prisma_migrations` table, so `prisma migrate
 * deploy` agrees with it.
 */
import { prepareDatabase } from '../lib/db';
import { openCommandDatabase } from '../lib/devserver';

async function main() {
  const db = await openCommandDatabase((m) => console.log(m));
  try {
    const r = await prepareDatabase({ ownerUrl: db.url, appUrl: db.appUrl, log: (m) => console.log(m) });
    if (!r.applied.length) console.log('migrations up to date');
    console.log(`application role "${r.appRole}": ${r.problems.length ? `NOT restricted (${r.problems.join(', ')})` : 'SELECT/INSERT only on the 操作ログ'}`);
  } finally {
    await db.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
