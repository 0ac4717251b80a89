/**
 * Two database roles, so the application cannot rewrite its own 操作ログ:
 *
 * - the **owner** (MIGRATION_DATABASE_URL) owns the schema and runs the migrations;
 * - the **application** (DATABASE_URL) may read and write the ordinary tables but only SELECT and
 *   INSERT the append-only ones (APPEND_ONLY_TABLES): no UPDATE, DELETE or TRUNCATE, not their
 *   owner (so it cannot ALTER TABLE … DISABLE TRIGGER), not a superuser (no session_replication_role).
 *
 * `prepareDatabase` is what `npm run dev` / `npm start` / `npm run migrate` run before anything
 * else: create the application role when it is missing and the owner may create roles (embedded
 * PostgreSQL, docker-compose), apply the migrations as the owner, then (re)grant the application's
 * privileges — every run, so a table added by a migration is covered at once. docs/database-roles.md
 * has the SQL for an operator who creates the roles by hand.
 */
import pg from 'pg';
import { migrate } from './migrate';

/** Tables the application may only SELECT and INSERT (each also has an append-only trigger). */
export const APPEND_ONLY_TABLES = ['audit_events', 'audit_verifications', 'audit_chain_keys', 'envelope_corrections', 'archive_renewals'] as const;

/** The role name and password in a postgres:// URL. */
export function urlRole(url: string): { user: string; password: string } {
  const u = new URL(url);
  return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

/** `url` with another user and password (same host, port, database and parameters). */
export function withRole(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Create the login role `role` (no superuser, no CREATEDB/CREATEROLE, no BYPASSRLS) when it does
 * not exist. `setPassword` also resets the password of an existing role (the embedded default, whose
 * password is fixed). `client` must be connected as a role that may create roles.
 * Returns false when the role is missing and `client`'s role may not create it.
 */
export async function ensureAppRole(client: pg.Client, role: string, password: string, opts: { setPassword?: boolean } = {}): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean; can: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists,
            (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS can`,
    [role],
  );
  const attrs = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${literal(password)}`;
  if (rows[0].exists) {
    if (opts.setPassword) await client.query(`ALTER ROLE ${ident(role)} WITH ${attrs}`);
    return true;
  }
  if (!rows[0].can) return false;
  try {
    await client.query(`CREATE ROLE ${ident(role)} WITH ${attrs}`);
  } catch (e) {
    // Another process created it meanwhile (roles are cluster-wide: parallel test runs, two app nodes).
    if ((e as { code?: string }).code !== '42710' && (e as { code?: string }).code !== '23505') throw e;
  }
  return true;
}

/**
 * The SQL that gives `role` the application's privileges (see the module comment), run as the owner.
 * `appendOnly`: the APPEND_ONLY_TABLES that exist (all of them once every migration is applied).
 */
export function appPrivilegesSql(role: string, appendOnly: readonly string[] = APPEND_ONLY_TABLES, schema = 'public'): string[] {
  const r = ident(role);
  const s = ident(schema);
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
    ...(appendOnly.length ? [`REVOKE UPDATE, DELETE ON ${appendOnly.map((t) => `${s}.${ident(t)}`).join(', ')} FROM ${r}`] : []),
    `REVOKE INSERT, UPDATE, DELETE ON ${s}."_prisma_migrations" FROM ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
  ];
}

const GRANT_LOCK_ID = 72707370; // next to the migration lock: one grant run at a time

/** (Re)grant the application's privileges, as the owner at `ownerUrl`. Idempotent. */
export async function grantAppPrivileges(ownerUrl: string, role: string): Promise<void> {
  await withClient(ownerUrl, async (c) => {
    await c.query('BEGIN');
    try {
      await c.query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK_ID]);
      const { rows } = await c.query<{ t: string }>(
        `SELECT relname AS t FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname = ANY($1)`,
        [APPEND_ONLY_TABLES],
      );
      for (const sql of appPrivilegesSql(role, rows.map((r) => r.t))) await c.query(sql);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

/**
 * What the role connected at `url` could do to the 操作ログ beyond SELECT and INSERT; empty when it
 * is properly restricted. Works for any role (it only reads the catalogue).
 */
export async function appRoleProblems(query: (sql: string) => Promise<Record<string, unknown>[]>): Promise<string[]> {
  const rows = await query(
    `SELECT c.relname AS t, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
            pg_has_role(current_user, c.relowner, 'USAGE') AS owner,
            has_table_privilege(c.oid, 'UPDATE') AS upd, has_table_privilege(c.oid, 'DELETE') AS del,
            has_table_privilege(c.oid, 'TRUNCATE') AS trunc, has_table_privilege(c.oid, 'TRIGGER') AS trig
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
       JOIN pg_roles r ON r.rolname = current_user
      WHERE c.relname IN (${APPEND_ONLY_TABLES.map(literal).join(', ')}) AND c.relkind = 'r'
      ORDER BY c.relname`,
  );
  const out = new Set<string>();
  for (const row of rows) {
    if (row.superuser) out.add('superuser');
    if (row.bypassrls) out.add('bypassrls');
    if (row.owner) out.add(`owner:${String(row.t)}`);
    for (const [k, name] of [['upd', 'UPDATE'], ['del', 'DELETE'], ['trunc', 'TRUNCATE'], ['trig', 'TRIGGER']] as const) {
      if (row[k]) out.add(`${name}:${String(row.t)}`);
    }
  }
  return [...out];
}

export interface PrepareDatabaseResult {
  /** Migrations applied by this run. */
  applied: string[];
  appRole: string;
  /** False when DATABASE_URL and MIGRATION_DATABASE_URL use the same role (then no role is created and nothing granted). */
  separateRoles: boolean;
  /** appRoleProblems of DATABASE_URL's role after the grants (empty = restricted as intended). */
  problems: string[];
}

/**
 * Roles, migrations and grants, before the app starts (see the module comment). `ownerUrl` and
 * `appUrl` point at the same database. When they use the same role, migrations run as that role: the
 * owner (then the 操作ログ is only protected by its triggers: reported in `problems` and logged), or the
 * restricted application role of a deployment that migrates separately (then nothing may be pending).
 */
export async function prepareDatabase(opts: { ownerUrl: string; appUrl: string; log?: (m: string) => void }): Promise<PrepareDatabaseResult> {
  const log = opts.log ?? (() => {});
  const owner = urlRole(opts.ownerUrl);
  const app = urlRole(opts.appUrl);
  const separateRoles = owner.user !== app.user;
  if (separateRoles) {
    const ok = await withClient(opts.ownerUrl, (c) => ensureAppRole(c, app.user, app.password));
    if (!ok) {
      throw new Error(
        `The application role "${app.user}" (DATABASE_URL) does not exist and the migration role "${owner.user}" may not create it. ` +
          'Create it as shown in docs/database-roles.md.',
      );
    }
  }
  const applied = await migrate(opts.ownerUrl, { log });
  if (separateRoles) await grantAppPrivileges(opts.ownerUrl, app.user);
  const problems = await withClient(opts.appUrl, (c) => appRoleProblems(async (sql) => (await c.query(sql)).rows));
  if (problems.length && !separateRoles) {
    log(
      `warning: DATABASE_URL and MIGRATION_DATABASE_URL use the same database role ("${app.user}"), which can rewrite the 操作ログ ` +
        `(${problems.join(', ')}). Give the application its own role (docs/database-roles.md).`,
    );
  } else if (problems.length) {
    log(`warning: the application role "${app.user}" can modify the 操作ログ (${problems.join(', ')}); see docs/database-roles.md`);
  }
  return { applied, appRole: app.user, separateRoles, problems };
}
