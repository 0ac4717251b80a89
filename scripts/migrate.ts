/**
 * `npm run migrate`: apply prisma/migrations to DATABASE_URL (or, when it is unset, to the
 * embedded PostgreSQL that `npm run dev` uses under DATA_DIR/pg). Records each migration in
 * Prisma's `_prisma_migrations` table, so `prisma migrate deploy` agrees with it.
 */
import { migrate } from '../lib/db';
import { openCommandDatabase } from '../lib/devserver';

async function main() {
  const db = await openCommandDatabase((m) => console.log(m));
  try {
    const applied = await migrate(db.url, { log: (m) => console.log(m) });
    if (!applied.length) console.log('migrations up to date');
  } finally {
    await db.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
