/**
 * A small job queue on our own `jobs` table (not pg-boss): jobs are inserted in the caller's
 * transaction (so a job exists iff the state change committed), claimed with
 * FOR UPDATE SKIP LOCKED plus a lease (`locked_until`, crash safety), retried with exponential
 * backoff up to `max_attempts`, and then left `failed` and visible. We chose our own table over
 * pg-boss because enqueueing must join a Prisma transaction and the whole queue is ~200 lines.
 *
 * `singletonKey`: (name, singleton_key) is unique for the job's whole lifetime, so
 * `enqueueJob(tx, 'seal-envelope', {...}, { singletonKey: envelopeId })` queues one seal per
 * envelope however often it is called. Handlers must still be idempotent (a crash after the work
 * but before `completed` is recorded reruns the job once the lease expires).
 */
import type { z } from 'zod';
import type { Db, Tx } from '../db';
import { Prisma } from '../db';
import { redactError } from '../mail';

export const JOBS_CHANNEL = 'tachiai_jobs';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface EnqueueJobOptions {
  singletonKey?: string;
  runAt?: Date;
  maxAttempts?: number;
}

/** Queue a job in the caller's transaction (or directly on the client). */
export async function enqueueJob(
  db: Tx,
  name: string,
  payload: JsonValue,
  opts: EnqueueJobOptions = {},
): Promise<{ id: string; created: boolean }> {
  const runAt = opts.runAt ?? new Date();
  const maxAttempts = opts.maxAttempts ?? 5;
  const rows = await db.$queryRaw<{ id: string }[]>`
    INSERT INTO "jobs" ("name", "payload", "singleton_key", "run_at", "max_attempts", "updated_at")
    VALUES (${name}, ${JSON.stringify(payload)}::jsonb, ${opts.singletonKey ?? null}, ${runAt}, ${maxAttempts}, now())
    ON CONFLICT ("name", "singleton_key") DO NOTHING
    RETURNING "id"::text AS id`;
  if (rows.length > 0) {
    await db.$executeRaw`SELECT pg_notify(${JOBS_CHANNEL}, ${name})`;
    return { id: rows[0].id, created: true };
  }
  const existing = await db.job.findFirst({ where: { name, singletonKey: opts.singletonKey ?? null }, select: { id: true } });
  if (!existing) throw new Error(`job ${name} conflicted but was not found`);
  return { id: existing.id, created: false };
}

export interface JobContext {
  db: Db;
  jobId: string;
  attempt: number;
  maxAttempts: number;
  now: Date;
}

export type JobHandler<T> = (payload: T, ctx: JobContext) => Promise<void>;

interface Registered {
  schema: z.ZodType<unknown>;
  handler: JobHandler<unknown>;
  backoffMs: (attempt: number) => number;
  leaseMs: number;
}

const registry = new Map<string, Registered>();

export interface RegisterJobOptions<T> {
  /** Payloads are parsed with this schema before the handler runs; a bad payload fails the job for good. */
  schema: z.ZodType<T>;
  /** Delay before retry n (1-based). Default 10 s · 2^(n-1), at most 1 h. */
  backoffMs?: (attempt: number) => number;
  /** How long a running job is reserved before another worker may take it over. Default 10 min. */
  leaseMs?: number;
}

/** Register (or replace) the handler for a job name. Call at module load of the module that owns the job. */
export function registerJobHandler<T>(name: string, handler: JobHandler<T>, opts: RegisterJobOptions<T>): void {
  registry.set(name, {
    schema: opts.schema as z.ZodType<unknown>,
    handler: handler as JobHandler<unknown>,
    backoffMs: opts.backoffMs ?? ((n) => Math.min(10_000 * 2 ** Math.max(0, n - 1), 3_600_000)),
    leaseMs: opts.leaseMs ?? 600_000,
  });
}

export function registeredJobNames(): string[] {
  return [...registry.keys()];
}

export interface RunJobsOptions {
  now?: Date;
  batch?: number;
  /** Only these job names (default: every registered one). */
  names?: string[];
  log?: (msg: string) => void;
}

export interface RunJobsResult {
  claimed: number;
  completed: number;
  failed: number;
}

/** Claim and run due jobs whose handler is registered in this process. */
export async function runDueJobs(db: Db, opts: RunJobsOptions = {}): Promise<RunJobsResult> {
  const now = opts.now ?? new Date();
  const names = (opts.names ?? registeredJobNames()).filter((n) => registry.has(n));
  const result: RunJobsResult = { claimed: 0, completed: 0, failed: 0 };
  if (names.length === 0) return result;
  const maxLease = Math.max(...names.map((n) => registry.get(n)!.leaseMs));
  const leaseUntil = new Date(now.getTime() + maxLease);

  // A worker died on a job's last attempt: give up visibly.
  await db.$executeRaw`
    UPDATE "jobs" SET "status" = 'failed', "locked_until" = NULL, "updated_at" = now(),
           "last_error" = coalesce("last_error", 'worker stopped while running')
     WHERE "status" = 'running' AND "locked_until" < ${now} AND "attempts" >= "max_attempts"`;

  const claimed = await db.$queryRaw<{ id: string }[]>`
    UPDATE "jobs" j
       SET "status" = 'running', "attempts" = j."attempts" + 1, "locked_until" = ${leaseUntil}, "updated_at" = now()
     WHERE j."id" IN (
       SELECT "id" FROM "jobs"
        WHERE "name" IN (${Prisma.join(names)})
          AND "attempts" < "max_attempts"
          AND (("status" IN ('pending', 'failed') AND "run_at" <= ${now})
               OR ("status" = 'running' AND "locked_until" < ${now}))
        ORDER BY "run_at", "created_at"
        LIMIT ${opts.batch ?? 5}
        FOR UPDATE SKIP LOCKED)
    RETURNING j."id"::text AS id`;
  result.claimed = claimed.length;

  for (const { id } of claimed) {
    const job = await db.job.findUniqueOrThrow({ where: { id } });
    const reg = registry.get(job.name)!;
    const parsed = reg.schema.safeParse(job.payload);
    if (!parsed.success) {
      await db.job.updateMany({
        where: { id, status: 'running', attempts: job.attempts },
        data: { status: 'failed', lockedUntil: null, attempts: job.maxAttempts, lastError: `invalid payload: ${parsed.error.message}`.slice(0, 1000) },
      });
      result.failed++;
      continue;
    }
    try {
      await reg.handler(parsed.data, { db, jobId: id, attempt: job.attempts, maxAttempts: job.maxAttempts, now });
      await db.job.updateMany({
        where: { id, status: 'running', attempts: job.attempts },
        data: { status: 'completed', completedAt: new Date(), lockedUntil: null, lastError: null },
      });
      result.completed++;
    } catch (e) {
      const message = redactError(e instanceof Error ? e.message : String(e));
      const willRetry = job.attempts < job.maxAttempts;
      await db.job.updateMany({
        where: { id, status: 'running', attempts: job.attempts },
        data: {
          status: 'failed',
          lockedUntil: null,
          lastError: message,
          ...(willRetry ? { runAt: new Date(now.getTime() + reg.backoffMs(job.attempts)) } : {}),
        },
      });
      opts.log?.(`job ${job.name} ${id} attempt ${job.attempts} failed${willRetry ? ' (will retry)' : ''}: ${message}`);
      result.failed++;
    }
  }
  return result;
}

export interface PeriodicTask {
  name: string;
  everyMs: number;
  run: (db: Db, now: Date) => Promise<unknown>;
}

const periodic = new Map<string, PeriodicTask & { lastRun: number }>();

/**
 * A small recurring task run by every worker round at most every `everyMs` (per process), e.g.
 * marking envelopes past their deadline `expired`. Tasks must be idempotent and safe to run in
 * several workers at once (use SKIP LOCKED / guarded updates).
 */
export function registerPeriodicTask(name: string, run: PeriodicTask['run'], opts: { everyMs: number }): void {
  periodic.set(name, { name, run, everyMs: opts.everyMs, lastRun: 0 });
}

/** Run the periodic tasks that are due (used by the worker loop). */
export async function runPeriodicTasks(db: Db, opts: { now?: Date; force?: boolean; log?: (m: string) => void } = {}): Promise<void> {
  const now = opts.now ?? new Date();
  for (const t of periodic.values()) {
    if (!opts.force && now.getTime() - t.lastRun < t.everyMs) continue;
    t.lastRun = now.getTime();
    try {
      await t.run(db, now);
    } catch (e) {
      opts.log?.(`periodic task ${t.name} failed: ${redactError(e instanceof Error ? e.message : String(e))}`);
    }
  }
}
