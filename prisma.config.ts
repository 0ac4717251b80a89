import { defineConfig } from 'prisma/config';

// Used by the Prisma CLI only (generate, migrate deploy where the engine can be downloaded).
// At run time lib/db.ts builds the client with @prisma/adapter-pg.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/tachiai' },
});
