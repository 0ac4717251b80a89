/**
 * The database an operator command works on: DATABASE_URL (as the owner, MIGRATION_DATABASE_URL
 * when set), or — when DATABASE_URL is unset — the embedded PostgreSQL of `npm run dev` (data under
 * DATA_DIR/pg, database `tachiai`): reused when `npm run dev` is running, else started for the command.
 */
import path from 'node:path';
import { getConfig } from '../config';
import { useEmbeddedPostgres } from './postgres';

export interface CommandDatabase {
  /** The schema owner's URL (migrations, restores, re-wrapping keys). */
  url: string;
  /** The application role's URL. */
  appUrl: string;
  stop(): Promise<void>;
}

export async function openCommandDatabase(log: (msg: string) => void = () => {}): Promise<CommandDatabase> {
  const appUrl = process.env.DATABASE_URL;
  if (appUrl) return { url: process.env.MIGRATION_DATABASE_URL || appUrl, appUrl, stop: async () => {} };
  const cfg = getConfig();
  const dataDir = path.join(cfg.dataDir, 'pg');
  const pg = await useEmbeddedPostgres({ dataDir, port: cfg.EMBEDDED_PG_PORT, databases: ['tachiai'] });
  log(`embedded PostgreSQL under ${dataDir}`);
  return { url: pg.urlFor('tachiai'), appUrl: pg.appUrlFor('tachiai'), stop: () => pg.stop() };
}
