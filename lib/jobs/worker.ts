/**
 * The worker loop: delivers the email outbox and runs due jobs, every WORKER_POLL_MS and as soon
 * as a NOTIFY on tachiai_outbox / tachiai_jobs arrives (when a connection URL is available).
 * `stop()` finishes the current round, closes the listener and resolves (graceful shutdown).
 */
import pg from 'pg';
import type { Db } from '../db';
import { getConfig } from '../config';
import { deliverDueEmails, OUTBOX_CHANNEL, redactError, type MailTransport } from '../mail';
import { JOBS_CHANNEL, registerPeriodicTask, runDueJobs, runPeriodicTasks } from './queue';

export interface WorkerOptions {
  pollMs?: number;
  /** Mail transport (default: SMTP_URL or the built-in mail catcher). */
  transport?: MailTransport;
  /** PostgreSQL URL for LISTEN/NOTIFY wake-ups (default DATABASE_URL; false disables). */
  listenUrl?: string | false;
  log?: (msg: string) => void;
  /** Skip importing lib/envelopes' job handlers (tests registering their own). */
  skipDefaultHandlers?: boolean;
}

export interface WorkerHandle {
  stop(): Promise<void>;
  /** Run one round now (and wait for it). */
  tick(): Promise<void>;
}

/** Modules that register job handlers at load time. */
async function loadDefaultHandlers(): Promise<void> {
  await import('../envelopes');
  await registerAuditVerifyTask();
}

// ── 操作ログ: daily chain verification + RFC 3161 anchoring of each organisation's head (lib/audit).
// Registered here because lib/audit cannot import lib/jobs (lib/jobs → lib/mail → lib/audit). The
// round at worker start is skipped (the built-in TSA is served by the web process, which may not be
// listening yet): the first run is AUDIT_VERIFY_TASK.everyMs later, then each organisation daily.
async function registerAuditVerifyTask(): Promise<void> {
  const { verifyAndAnchorAuditChains, AUDIT_VERIFY_TASK } = await import('../audit');
  const startedAt = Date.now();
  registerPeriodicTask(
    AUDIT_VERIFY_TASK.name,
    async (db, now) => {
      if (now.getTime() - startedAt < AUDIT_VERIFY_TASK.everyMs / 2) return;
      await verifyAndAnchorAuditChains(db, { now, log: (m) => console.log(`[worker] ${m}`) });
    },
    { everyMs: AUDIT_VERIFY_TASK.everyMs },
  );
}
// ── end 操作ログ task

export async function startWorker(db: Db, opts: WorkerOptions = {}): Promise<WorkerHandle> {
  const pollMs = opts.pollMs ?? getConfig().WORKER_POLL_MS;
  const log = opts.log ?? ((m: string) => console.log(`[worker] ${m}`));
  if (!opts.skipDefaultHandlers) await loadDefaultHandlers();

  let running = true;
  let wake: (() => void) | undefined;
  let current: Promise<void> = Promise.resolve();

  let listener: pg.Client | undefined;
  const listenUrl = opts.listenUrl === false ? undefined : (opts.listenUrl ?? process.env.DATABASE_URL);
  if (listenUrl) {
    try {
      listener = new pg.Client({ connectionString: listenUrl });
      await listener.connect();
      listener.on('notification', () => wake?.());
      listener.on('error', (e) => log(`listener error: ${redactError(e.message)}`));
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      await listener.query(`LISTEN ${JOBS_CHANNEL}`);
    } catch (e) {
      log(`LISTEN unavailable, polling only: ${redactError((e as Error).message)}`);
      await listener?.end().catch(() => undefined);
      listener = undefined;
    }
  }

  const round = async () => {
    try {
      const m = await deliverDueEmails(db, { transport: opts.transport });
      if (m.claimed) log(`mail: ${m.sent} sent, ${m.failed} failed`);
    } catch (e) {
      log(`mail round failed: ${redactError((e as Error).message)}`);
    }
    await runPeriodicTasks(db, { log });
    try {
      const j = await runDueJobs(db, { log });
      if (j.claimed) log(`jobs: ${j.completed} completed, ${j.failed} failed`);
    } catch (e) {
      log(`job round failed: ${redactError((e as Error).message)}`);
    }
  };

  const loop = (async () => {
    while (running) {
      current = round();
      await current;
      if (!running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    async tick() {
      await current;
      current = round();
      await current;
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await current;
      await listener?.end().catch(() => undefined);
    },
  };
}
