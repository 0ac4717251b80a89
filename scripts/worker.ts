/**
 * `npm run worker`: the standalone worker process (email outbox + jobs). Needs DATABASE_URL, and
 * SMTP_URL in production. `npm start` runs it as its own process (scripts/dev.ts); `npm run dev`
 * runs the same loop in-process instead. Ctrl-C / SIGTERM: graceful stop; started by the runner, it
 * also stops when the runner is gone (IPC channel closed).
 */
import { getConfig } from '../lib/config';
import { getPrisma, disconnectPrisma } from '../lib/db';
import { startWorker } from '../lib/jobs';

async function main() {
  const cfg = getConfig();
  if (!cfg.SMTP_URL && cfg.NODE_ENV === 'production') {
    throw new Error('SMTP_URL is required in production (the mail catcher is for development only)');
  }
  if (!cfg.SMTP_URL) {
    console.warn(`[worker] SMTP_URL is not set: mail goes to the local mail catcher at 127.0.0.1:${cfg.MAIL_CATCHER_PORT}`);
  }
  const db = getPrisma();
  const worker = await startWorker(db);
  console.log('[worker] started (outbox + jobs)');
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[worker] ${signal}: finishing the current round…`);
    await worker.stop();
    await disconnectPrisma();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  if (process.send) process.on('disconnect', () => void shutdown('runner gone'));
}

main().catch((e) => {
  console.error('[worker] failed to start:', e instanceof Error ? e.message : e);
  process.exit(1);
});
