/**
 * Starts the real app for end-to-end tests, exactly as `npm start` runs it (scripts/dev.ts --prod:
 * the Next.js production server in the runner's process, the job worker as a child process), or with
 * `mode: 'dev'` as `npm run dev` runs it (`next dev`, worker in-process), against
 *   - a fresh database cloned from the migrated test template (createTestDatabase); the app connects
 *     as the restricted application role (DATABASE_URL), the superuser is its MIGRATION_DATABASE_URL,
 *   - a real SMTP server in this process (tests/helpers/smtp.ts) via SMTP_URL,
 *   - a temporary DATA_DIR (encrypted files, dev master key, dev PKI).
 * The organisation 「川口市」 and an admin with a known password are created before start (the
 * runner's seed then finds them and prints nothing).
 *
 * `next build` runs once when .next is missing or older than the sources (guarded by a lock so
 * parallel runs do not build twice). Set E2E_SKIP_BUILD=1 to use an existing build as it is.
 *
 * Usage (vitest project 'e2e'):
 *   const app = await startAppServer();  …  await app.stop();
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createStaffUser } from '../../lib/auth';
import type { Db } from '../../lib/db';
import { freePort } from '../../lib/devserver';
import { createTestDatabase } from './db';
import { startTestSmtp, type TestSmtpServer } from './smtp';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const E2E_ADMIN = { email: 'admin@kawaguchi.example', password: 'e2e-password-川口-2026', name: '川口 管理者' } as const;

export interface AppServer {
  baseUrl: string;
  port: number;
  /** The runner's process: the web server (for memory measurements). */
  pid: number;
  /** Prisma client on the app's database, as the app's role (for assertions and fixtures). */
  db: Db;
  databaseUrl: string;
  /** The same database as the superuser (schema owner). */
  ownerDb: Db;
  ownerDatabaseUrl: string;
  smtp: TestSmtpServer;
  dataDir: string;
  organizationId: string;
  admin: { email: string; password: string; userId: string };
  /** Everything the app printed (for debugging failed tests). */
  output(): string;
  stop(): Promise<void>;
}

function newestMtime(p: string): number {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of readdirSync(p)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    max = Math.max(max, newestMtime(path.join(p, e)));
  }
  return max;
}

function buildIsStale(): boolean {
  const id = path.join(ROOT, '.next', 'BUILD_ID');
  if (!existsSync(id)) return true;
  const built = statSync(id).mtimeMs;
  const sources = ['app', 'lib', 'emails', 'public', 'next.config.ts', 'postcss.config.mjs', 'package-lock.json'];
  return sources.some((s) => newestMtime(path.join(ROOT, s)) > built);
}

async function sleep(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

/** `next build` once (lock: a directory under the OS temp dir; stale after 15 minutes). */
export async function ensureNextBuild(): Promise<void> {
  if (process.env.E2E_SKIP_BUILD === '1' && existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) return;
  const lock = path.join(os.tmpdir(), `tachiai-next-build-${Buffer.from(ROOT).toString('hex').slice(-16)}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone meanwhile */
      }
      await sleep(1000);
    }
  }
  try {
    if (!buildIsStale()) return;
    // Asynchronous on purpose: a blocked event loop makes vitest's worker RPC time out.
    const build = spawn(process.execPath, [path.join(ROOT, 'node_modules/next/dist/bin/next'), 'build'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    build.stdout?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-8000)));
    build.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-8000)));
    const code = await new Promise<number | null>((resolve) => build.once('exit', resolve));
    if (code !== 0) throw new Error(`next build failed:\n${log}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface StartOptions {
  /** Environment overrides; a variable set to undefined is left out. */
  env?: Record<string, string | undefined>;
  /** 'prod' (default): `npm start`; 'dev': `npm run dev` (next dev, compiles pages on first request). */
  mode?: 'prod' | 'dev';
}

export async function startAppServer(opts: StartOptions = {}): Promise<AppServer> {
  const dev = opts.mode === 'dev';
  if (!dev) await ensureNextBuild();
  const tdb = await createTestDatabase();
  const smtp = await startTestSmtp();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tachiai-e2e-'));
  const org = await tdb.prisma.organization.create({ data: { name: '川口市', slug: 'kawaguchi' } });
  const user = await createStaffUser(tdb.prisma, {
    organizationId: org.id,
    email: E2E_ADMIN.email,
    name: E2E_ADMIN.name,
    password: E2E_ADMIN.password,
    role: 'admin',
    title: '総務部 契約課',
  });
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  let out = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/dev.ts'), ...(dev ? [] : ['--prod'])], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: dev ? 'development' : 'production',
      // The app as the restricted role (SELECT/INSERT only on the 操作ログ); the owner migrates and grants.
      DATABASE_URL: tdb.url,
      MIGRATION_DATABASE_URL: tdb.ownerUrl,
      SMTP_URL: smtp.url,
      DATA_DIR: dataDir,
      PORT: String(port),
      APP_URL: baseUrl,
      WORKER_POLL_MS: '250',
      DEV_MAILBOX: 'false',
      MASTER_KEY: randomBytes(32).toString('base64'),
      NEXT_TELEMETRY_DISABLED: '1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    await smtp.close().catch(() => {});
    await tdb.drop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true }).catch(() => {});
  };

  const deadline = Date.now() + (dev ? 300_000 : 180_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the app exited during start-up (code ${child.exitCode}):\n${out.slice(-4000)}`);
    }
    if (out.includes('[tachiai] ready')) {
      try {
        const r = await fetch(`${baseUrl}/login`, { redirect: 'manual' });
        if (r.status === 200) break;
      } catch {
        /* not yet */
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the app did not start in time:\n${out.slice(-4000)}`);
    }
    await sleep(250);
  }

  return {
    baseUrl,
    port,
    pid: child.pid!,
    db: tdb.prisma,
    databaseUrl: tdb.url,
    ownerDb: tdb.owner,
    ownerDatabaseUrl: tdb.ownerUrl,
    smtp,
    dataDir,
    organizationId: org.id,
    admin: { email: E2E_ADMIN.email, password: E2E_ADMIN.password, userId: user.id },
    output: () => out,
    stop,
  };
}
