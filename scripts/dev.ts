/**
 * `npm run dev` — the whole product on embedded defaults, from a fresh clone:
 *   1. PostgreSQL: DATABASE_URL, or embedded PostgreSQL (data under DATA_DIR/pg, port EMBEDDED_PG_PORT)
 *   2. migrations and the app role's grants (lib/db prepareDatabase, as MIGRATION_DATABASE_URL) and the demo organisation 「川口市」 with an admin (password printed once)
 *   3. mail: SMTP_URL, or the built-in mail catcher (port MAIL_CATCHER_PORT, inbox at /dev/mail)
 *   4. the job worker (lib/jobs startWorker) in this process
 *   5. the PDF worker pool (lib/pdfpool), warmed up
 *   6. Next.js (`next dev`) on HOST:PORT — HOST defaults to 127.0.0.1 in development
 *
 * `npm start` (--prod) is the production shape: SMTP_URL and MASTER_KEY are required (no mail catcher,
 * no /dev/mail), the job worker runs as its own process (scripts/worker.ts, restarted if it dies), and
 * this process serves the `next build` output (building first if needed) on every interface unless
 * HOST says otherwise.
 *
 * Ctrl-C (or SIGTERM) stops everything in reverse order, waiting for the worker process to finish its round.
 * Flags: --prod, --reset-admin-password, --no-worker.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import next from 'next';

const root = path.resolve(import.meta.dirname, '..');
const args = new Set(process.argv.slice(2));
const prod = args.has('--prod');

process.env.NEXT_TELEMETRY_DISABLED = '1';
process.env.CHECKPOINT_DISABLE = '1';
// Ctrl-C / SIGTERM are ours (shutdown() below stops every part in order); Next.js must not exit the process on its own.
process.env.NEXT_MANUAL_SIG_HANDLE = 'true';
(process.env as Record<string, string>).NODE_ENV = prod ? 'production' : 'development';
process.chdir(root);

const log = (msg: string) => console.log(`[tachiai] ${msg}`);
const stops: { name: string; stop: () => Promise<unknown> }[] = [];

/** The client address for the app: the socket peer, appended to a trusted proxy's x-forwarded-for
 * only when TRUSTED_PROXY_HOPS > 0. A client-sent x-tachiai-client-ip is always discarded. */
function clientIp(req: http.IncomingMessage, hops: number): string {
  const peer = req.socket.remoteAddress ?? '';
  if (hops <= 0) return peer;
  const xff = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const chain = [...xff, peer];
  return chain[Math.max(0, chain.length - 1 - hops)] ?? peer;
}

async function main() {
  // Imports that read the configuration come after NODE_ENV is fixed.
  const { getConfig, resetConfig } = await import('../lib/config');
  const { prepareDatabase } = await import('../lib/db');
  const { startEmbeddedPostgres, startMailCatcher, mailDir } = await import('../lib/devserver');
  const { seedDemo, printCredentials } = await import('./seed');

  if (prod && !process.env.MASTER_KEY) {
    throw new Error(
      'MASTER_KEY is required in production (it wraps every document key). Generate one and keep it safe:\n' +
        '  export MASTER_KEY=$(openssl rand -base64 32)',
    );
  }
  if (prod && !process.env.SMTP_URL) {
    // The built-in mail catcher is for development: its mail would sit on this machine, undelivered.
    throw new Error(
      'SMTP_URL is required in production (signing requests, codes and download links are sent by email):\n' +
        '  export SMTP_URL=smtp://user:pass@smtp.example.jp:587\n' +
        'To try the product without a mail server, use `npm run dev` (mail is caught locally and shown at /dev/mail).',
    );
  }
  let cfg = getConfig();
  if (!process.env.APP_URL) process.env.APP_URL = `http://localhost:${cfg.PORT}`;

  if (!process.env.DATABASE_URL) {
    log(`embedded PostgreSQL on 127.0.0.1:${cfg.EMBEDDED_PG_PORT} (data: ${path.relative(root, path.join(cfg.dataDir, 'pg'))})`);
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(cfg.dataDir, 'pg'),
      port: cfg.EMBEDDED_PG_PORT,
      databases: ['tachiai'],
      // Stopped by shutdown() below, last: not by the library's own signal handler in the middle of it.
      handleSignals: false,
    });
    stops.push({ name: 'PostgreSQL', stop: () => pg.stop() });
    // The app connects as the restricted role; the superuser owns the schema and migrates.
    process.env.DATABASE_URL = pg.appUrlFor('tachiai');
    process.env.MIGRATION_DATABASE_URL = pg.urlFor('tachiai');
  } else {
    log('using DATABASE_URL');
  }
  const databaseUrl = process.env.DATABASE_URL;

  // Roles + migrations + grants as the owner (MIGRATION_DATABASE_URL, default DATABASE_URL); web and
  // worker then use DATABASE_URL's role, which may only SELECT and INSERT the 操作ログ.
  const { applied } = await prepareDatabase({ ownerUrl: process.env.MIGRATION_DATABASE_URL ?? databaseUrl, appUrl: databaseUrl, log });
  if (!applied.length) log('migrations up to date');
  // Neither the web server nor the worker process needs the owner's credentials from here on.
  delete process.env.MIGRATION_DATABASE_URL;

  if (!process.env.SMTP_URL) {
    const dir = mailDir(cfg.dataDir);
    const catcher = await startMailCatcher({ port: cfg.MAIL_CATCHER_PORT, dir });
    stops.push({ name: 'mail catcher', stop: () => catcher.stop() });
    process.env.SMTP_URL = catcher.url;
    // The inbox shows every signing link and code without signing in: development only, and only to
    // this machine (the page checks the TCP peer; see lib/devserver/loopback.ts).
    process.env.DEV_MAILBOX ??= 'true';
    const inbox = process.env.DEV_MAILBOX === 'true' || process.env.DEV_MAILBOX === '1';
    log(`mail catcher on ${catcher.url}; ${inbox ? `inbox (from this machine only): ${process.env.APP_URL}/dev/mail` : 'inbox /dev/mail off (DEV_MAILBOX=false)'}`);
  } else {
    log('using SMTP_URL');
  }
  resetConfig();
  cfg = getConfig();

  const { getPrisma, disconnectPrisma } = await import('../lib/db');
  const db = getPrisma();
  stops.push({ name: 'database pool', stop: () => disconnectPrisma() });
  printCredentials(await seedDemo(db, { resetAdminPassword: args.has('--reset-admin-password') }));

  if (args.has('--no-worker')) {
    log('job worker not started (--no-worker)');
  } else if (prod) {
    stops.push({ name: 'worker', stop: startWorkerProcess() });
  } else {
    const { startWorker } = await import('../lib/jobs');
    const worker = await startWorker(db, {});
    stops.push({ name: 'worker', stop: () => worker.stop() });
    log('job worker started (in this process)');
  }

  // Untrusted PDFs (uploads, /api/verify) are parsed in worker threads: start one now, not on the first upload.
  const { warmPdfPool, closePdfPool } = await import('../lib/pdfpool');
  stops.push({ name: 'PDF worker pool', stop: () => closePdfPool() });
  await warmPdfPool();

  if (prod && !existsSync(path.join(root, '.next', 'BUILD_ID'))) {
    log('no production build yet: running `next build` (once)…');
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'build'], {
      cwd: root,
      stdio: 'inherit',
      env: process.env,
    });
    if (r.status !== 0) throw new Error('next build failed');
  }

  const { PEER_HEADER, devPageAllowed, isDevPath } = await import('../lib/devserver');
  const app = next({ dev: !prod, dir: root, hostname: 'localhost', port: cfg.PORT });
  await app.prepare();
  const handle = app.getRequestHandler();
  const hops = Number(process.env.TRUSTED_PROXY_HOPS ?? '0') || 0;
  // HSTS when the public URL is https (TLS ends at a proxy in front of us; plain http has no HSTS).
  const hsts = cfg.APP_URL.startsWith('https:');
  const server = http.createServer((req, res) => {
    req.headers['x-tachiai-client-ip'] = clientIp(req, hops);
    // The socket's peer, for pages that answer only to this machine; a client-sent value never survives.
    const peer = req.socket.remoteAddress ?? '';
    req.headers[PEER_HEADER] = peer;
    if (isDevPath(req.url ?? '/') && !devPageAllowed({ production: prod, peer })) {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('Not Found');
      return;
    }
    if (hsts) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    handle(req, res).catch((e: unknown) => {
      console.error('[tachiai] request failed', e instanceof Error ? e.message : e);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  const upgrade = app.getUpgradeHandler();
  server.on('upgrade', (req, socket, head) => {
    upgrade(req, socket, head).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${cfg.PORT} is in use (set PORT to another port)`) : e),
    );
    if (cfg.listenHost) server.listen(cfg.PORT, cfg.listenHost, resolve);
    else server.listen(cfg.PORT, resolve);
  });
  stops.push({
    name: 'web',
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
    },
  });
  log(`ready (${prod ? 'production' : 'development'}): ${process.env.APP_URL} (listening on ${cfg.listenHost ?? 'every interface'}, port ${cfg.PORT})`);
}

/**
 * `npm start`: the job worker (scripts/worker.ts) as its own process, so sealing, mail delivery and
 * periodic tasks never share an event loop or a heap with the web server. Restarted (after 2 s) if it
 * exits on its own; the returned stop() sends SIGTERM and waits for its graceful stop.
 */
function startWorkerProcess(): () => Promise<void> {
  let child: ChildProcess | undefined;
  let stopped = false;
  let restart: NodeJS.Timeout | undefined;
  const launch = () => {
    const c = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'worker.ts')], {
      cwd: root,
      env: process.env,
      // The IPC channel tells the worker when this process is gone (it then stops too, never orphaned).
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = c;
    log(`job worker started (process ${c.pid})`);
    c.once('exit', (code, signal) => {
      if (stopped) return;
      console.error(`[tachiai] job worker exited (${signal ?? `code ${code}`}); restarting in 2 s`);
      restart = setTimeout(launch, 2000);
    });
  };
  launch();
  return async () => {
    stopped = true;
    clearTimeout(restart);
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const force = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(force);
  };
}

let stopping = false;
async function shutdown(code: number) {
  if (stopping) {
    // A second Ctrl-C: stop waiting.
    process.exit(code || 130);
  }
  stopping = true;
  log('stopping…');
  setTimeout(() => {
    console.error('[tachiai] still stopping after 20 s; exiting');
    process.exit(code || 1);
  }, 20_000).unref();
  for (const s of stops.reverse()) {
    try {
      await s.stop();
    } catch (e) {
      console.error(`[tachiai] ${s.name}: ${e instanceof Error ? e.message : e}`);
    }
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

main().catch((e: unknown) => {
  console.error('[tachiai] failed to start:', e instanceof Error ? e.message : e);
  void shutdown(1);
});
