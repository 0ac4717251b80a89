/**
 * Per-test-file databases cloned from the migrated template (see global-setup.ts).
 * `url`/`prisma` connect as the application role (what the app itself uses: SELECT/INSERT only on
 * the 操作ログ); `ownerUrl`/`owner` as the superuser that owns the schema, for fixtures that need it
 * (e.g. tampering behind the triggers' back).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createPrisma, withRole, type Db } from '../../lib/db';

export interface TestDatabase {
  /** As the application role. */
  url: string;
  prisma: Db;
  /** As the superuser (schema owner). */
  ownerUrl: string;
  /** A Prisma client as the superuser (created on first use). */
  readonly owner: Db;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplateDb');
  const name = `${template}_t${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const ownerUrl = u.toString();
  const url = withRole(ownerUrl, inject('pgAppRole'), inject('pgAppPassword'));
  const prisma = createPrisma(url, { max: 5 });
  let owner: Db | undefined;
  return {
    url,
    prisma,
    ownerUrl,
    get owner() {
      owner ??= createPrisma(ownerUrl, { max: 2 });
      return owner;
    },
    async drop() {
      await prisma.$disconnect();
      await owner?.$disconnect();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** An empty database with nothing applied (for migration tests). */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `${inject('pgTemplateDb')}_t${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
