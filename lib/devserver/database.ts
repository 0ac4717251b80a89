/**
 * The database an operator command works on: DATABASE_URL, or — when it is unset — the embedded
 * PostgreSQL of `npm run dev` (data under DATA_DIR/pg, database `tachiai`), started for the command
 * (stop `npm run dev` first: one server per data directory).
 */
import path from 'node:path';
import { getConfig } from '../config';
import { startEmbeddedPostgres } from './postgres';

export async function openCommandDatabase(log: (msg: string) => void = () => {}): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const cfg = getConfig();
  const dataDir = path.join(cfg.dataDir, 'pg');
  const pg = await startEmbeddedPostgres({ dataDir, port: cfg.EMBEDDED_PG_PORT, databases: ['tachiai'] });
  log(`embedded PostgreSQL under ${dataDir}`);
  return { url: pg.urlFor('tachiai'), stop: () => pg.stop() };
}
