/**
 * Two database roles (lib/db prepareDatabase): the application's role may read and write the
 * ordinary tables but only SELECT and INSERT the append-only ones — it can neither UPDATE, DELETE
 * nor TRUNCATE the 操作ログ, nor switch its trigger off (not the owner, not a superuser).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditNow } from '../../lib/audit';
import { APPEND_ONLY_TABLES, appRoleProblems, prepareDatabase, withRole } from '../../lib/db';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let app: pg.Client;
let orgId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  orgId = (await t.prisma.organization.create({ data: { name: '川口市', slug: 'kawaguchi' } })).id;
  await recordAuditNow(t.prisma, { organizationId: orgId, actorType: 'system', action: 'test.event' });
  app = new pg.Client({ connectionString: t.url });
  await app.connect();
});
afterAll(async () => {
  await app?.end();
  await t?.drop();
});

const problemsOf = (c: pg.Client) => appRoleProblems(async (sql) => (await c.query(sql)).rows);

describe('the application role', () => {
  it('may only SELECT and INSERT the 操作ログ: no UPDATE, DELETE, TRUNCATE, trigger switch or replication role', async () => {
    expect(await app.query('SELECT count(*)::int AS n FROM audit_events').then((r) => r.rows[0].n)).toBe(1);
    for (const sql of [
      `UPDATE audit_events SET action = 'forged'`,
      'DELETE FROM audit_events',
      'TRUNCATE audit_events',
      'ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete',
      'ALTER TABLE audit_events DISABLE TRIGGER ALL',
      'DROP TRIGGER audit_events_no_update_delete ON audit_events',
      "SELECT setval('audit_events_id_seq', 1)",
      'SET session_replication_role = replica',
    ]) {
      await expect(app.query(sql), sql).rejects.toThrow(/permission denied|must be owner|must be superuser/);
    }
    for (const table of APPEND_ONLY_TABLES) {
      await expect(app.query(`UPDATE ${table} SET id = id`), table).rejects.toThrow(/permission denied/);
      await expect(app.query(`DELETE FROM ${table}`), table).rejects.toThrow(/permission denied/);
    }
    expect(await problemsOf(app)).toEqual([]);
  });

  it('still reads and writes the ordinary tables', async () => {
    await app.query(`UPDATE organizations SET name = '川口市役所' WHERE id = $1`, [orgId]);
    expect((await t.prisma.organization.findUniqueOrThrow({ where: { id: orgId } })).name).toBe('川口市役所');
  });

  it('the owner (superuser) is reported as able to rewrite the log', async () => {
    const owner = new pg.Client({ connectionString: t.ownerUrl });
    await owner.connect();
    try {
      expect(await problemsOf(owner)).toEqual(expect.arrayContaining(['superuser', 'owner:audit_events', 'UPDATE:audit_events']));
    } finally {
      await owner.end();
    }
  });
});

describe('prepareDatabase', () => {
  it('creates a missing application role, migrates as the owner and grants the restricted privileges', async () => {
    const db = await createEmptyDatabase();
    const role = `tachiai_app_${randomBytes(4).toString('hex')}`;
    const appUrl = withRole(db.url, role, 'secret-パスワード');
    try {
      const logs: string[] = [];
      const r = await prepareDatabase({ ownerUrl: db.url, appUrl, log: (m) => logs.push(m) });
      expect(r.applied.length).toBeGreaterThan(5);
      expect(r).toMatchObject({ appRole: role, separateRoles: true, problems: [] });
      expect(logs.filter((l) => l.startsWith('warning'))).toEqual([]);
      const c = new pg.Client({ connectionString: appUrl });
      await c.connect();
      try {
        await c.query(`INSERT INTO organizations (id, name, slug, updated_at) VALUES (gen_random_uuid(), 'x', 'x', now())`);
        await expect(c.query('DELETE FROM audit_events')).rejects.toThrow(/permission denied/);
        await expect(c.query('CREATE TABLE evil (id int)')).rejects.toThrow(/permission denied/);
      } finally {
        await c.end();
      }
      // Idempotent: a second start applies nothing and grants again.
      expect((await prepareDatabase({ ownerUrl: db.url, appUrl })).applied).toEqual([]);
    } finally {
      await db.drop();
      const admin = new pg.Client({ connectionString: db.url.replace(/\/[^/?]+(\?|$)/, '/postgres$1') });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
      await admin.end();
    }
  });

  it('started with only the restricted application role (migrations applied separately): checks, applies nothing, no warning', async () => {
    const logs: string[] = [];
    const r = await prepareDatabase({ ownerUrl: t.url, appUrl: t.url, log: (m) => logs.push(m) });
    expect(r).toMatchObject({ applied: [], separateRoles: false, problems: [] });
    expect(logs).toEqual([]);
  });

  it('one role for both URLs still works, with a warning that the log is not protected', async () => {
    const db = await createEmptyDatabase();
    try {
      const logs: string[] = [];
      const r = await prepareDatabase({ ownerUrl: db.url, appUrl: db.url, log: (m) => logs.push(m) });
      expect(r.separateRoles).toBe(false);
      expect(r.problems).toContain('owner:audit_events');
      expect(logs.join('\n')).toMatch(/warning: DATABASE_URL and MIGRATION_DATABASE_URL use the same database role/);
    } finally {
      await db.drop();
    }
  });
});
