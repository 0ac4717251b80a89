/**
 * Email outbox. `enqueueEmail` writes the row in the caller's transaction (so the email exists iff
 * the state change committed); `deliverDueEmails` (the worker) claims due rows with
 * FOR UPDATE SKIP LOCKED and a lease (`locked_until`), sends them, and marks each `sent` or
 * schedules a retry with exponential backoff. After `maxAttempts` a row stays `failed` (visible).
 *
 * Delivery is at-least-once: a worker that dies between the SMTP "250 OK" and the status update
 * would resend after the lease expires. The Message-ID is derived from the row id, so such a
 * duplicate is recognisable. Double *enqueueing* is impossible: `dedupe_key` is unique.
 *
 * Signing and download links are bearer tokens: once an email is sent, the token in its stored body is
 * replaced by 「[送信済みのため削除]」, so the outbox does not keep usable links.
 */
import type { Db, Tx } from '../db';
import { recordAudit } from '../audit';
import { getConfig } from '../config';
import type { OutboxEmail } from '../generated/prisma/client';
import { getMailTransport, redactError, type MailTransport } from './transport';

export interface EnqueueEmailInput {
  /** Same logical email → same key → queued once. */
  dedupeKey: string;
  /** e.g. signing_request, void_notice, completion */
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  organizationId?: string | null;
  envelopeId?: string | null;
  /** Do not send before this time (default: now). */
  notBefore?: Date;
}

export const OUTBOX_CHANNEL = 'tachiai_outbox';

/** Queue an email in the caller's transaction. Returns false when the dedupe key already exists. */
export async function enqueueEmail(tx: Tx, input: EnqueueEmailInput): Promise<{ queued: boolean }> {
  const r = await tx.outboxEmail.createMany({
    data: [
      {
        dedupeKey: input.dedupeKey,
        kind: input.kind,
        toAddress: input.to,
        subject: input.subject,
        textBody: input.text,
        htmlBody: input.html,
        organizationId: input.organizationId ?? null,
        envelopeId: input.envelopeId ?? null,
        ...(input.notBefore ? { nextAttemptAt: input.notBefore } : {}),
      },
    ],
    skipDuplicates: true,
  });
  if (r.count > 0) await tx.$executeRaw`SELECT pg_notify(${OUTBOX_CHANNEL}, '')`;
  return { queued: r.count > 0 };
}

export interface DeliverOptions {
  transport?: MailTransport;
  /** Injected clock (tests jump past the backoff instead of sleeping). */
  now?: Date;
  batch?: number;
  maxAttempts?: number;
  /** How long a claimed row is reserved for this worker. */
  leaseMs?: number;
  /** Delay before retry n (1-based). Default 30 s · 2^(n-1), at most 1 h. */
  backoffMs?: (attempt: number) => number;
  from?: string;
}

export interface DeliverResult {
  claimed: number;
  sent: number;
  failed: number;
}

export const DEFAULT_MAX_ATTEMPTS = 8;
export const defaultBackoffMs = (attempt: number) => Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);

function senderDomain(from: string): string {
  const m = /@([^>\s]+)>?\s*$/.exec(from);
  return m ? m[1] : 'tachiai-sign.localhost';
}

const REDACTED = '[送信済みのため削除]';
export function redactSigningLinks(body: string): string {
  return body
    .replace(/(\/(?:sign|download)\/)[A-Za-z0-9_-]{16,}/g, `$1${REDACTED}`)
    // the one-time code (高度な認証) is a credential too (React may put <!-- --> before it in HTML)
    .replace(/(確認コード：(?:<!-- -->)?)\d{6}/g, `$1${REDACTED}`);
}

/** Claim due rows (SKIP LOCKED), send them, record the outcome. Safe to run in many workers at once. */
export async function deliverDueEmails(db: Db, opts: DeliverOptions = {}): Promise<DeliverResult> {
  const now = opts.now ?? new Date();
  const batch = opts.batch ?? 20;
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const leaseUntil = new Date(now.getTime() + (opts.leaseMs ?? 120_000));
  const backoff = opts.backoffMs ?? defaultBackoffMs;
  const from = opts.from ?? getConfig().MAIL_FROM;

  // A worker died mid-send on its last attempt: give up visibly.
  await db.$executeRaw`
    UPDATE "outbox_emails" SET "status" = 'failed', "locked_until" = NULL,
           "last_error" = coalesce("last_error", 'worker stopped while sending')
     WHERE "status" = 'sending' AND "locked_until" < ${now} AND "attempts" >= ${maxAttempts}`;

  const claimed = await db.$queryRaw<{ id: string }[]>`
    UPDATE "outbox_emails" o
       SET "status" = 'sending', "attempts" = o."attempts" + 1, "locked_until" = ${leaseUntil}
     WHERE o."id" IN (
       SELECT "id" FROM "outbox_emails"
        WHERE "attempts" < ${maxAttempts}
          AND (("status" IN ('pending', 'failed') AND "next_attempt_at" <= ${now})
               OR ("status" = 'sending' AND "locked_until" < ${now}))
        ORDER BY "next_attempt_at", "created_at"
        LIMIT ${batch}
        FOR UPDATE SKIP LOCKED)
    RETURNING o."id"::text AS id`;
  const result: DeliverResult = { claimed: claimed.length, sent: 0, failed: 0 };
  if (claimed.length === 0) return result;

  const rows = await db.outboxEmail.findMany({ where: { id: { in: claimed.map((c) => c.id) } }, orderBy: { createdAt: 'asc' } });
  const transport = opts.transport ?? getMailTransport();
  for (const row of rows) {
    const messageId = `<${row.id}@${senderDomain(from)}>`;
    try {
      await transport.sendMail({
        from,
        to: row.toAddress,
        subject: row.subject,
        text: row.textBody,
        html: row.htmlBody,
        messageId,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Tachiai-Kind': row.kind },
      });
      await markSent(db, row, messageId, now);
      result.sent++;
    } catch (e) {
      await markFailed(db, row, e, now, maxAttempts, backoff);
      result.failed++;
    }
  }
  return result;
}

async function markSent(db: Db, row: OutboxEmail, messageId: string, now: Date) {
  await db.$transaction(async (tx) => {
    const u = await tx.outboxEmail.updateMany({
      where: { id: row.id, status: 'sending', attempts: row.attempts },
      data: {
        status: 'sent',
        sentAt: now,
        messageId,
        lockedUntil: null,
        lastError: null,
        textBody: redactSigningLinks(row.textBody),
        htmlBody: redactSigningLinks(row.htmlBody),
      },
    });
    if (u.count === 0) return; // another worker took over after our lease expired
    if (row.organizationId) {
      await recordAudit(tx, {
        organizationId: row.organizationId,
        envelopeId: row.envelopeId,
        actorType: 'system',
        action: 'email.sent',
        details: { outboxId: row.id, kind: row.kind, to: row.toAddress, attempt: row.attempts, messageId },
        at: now,
      });
    }
  });
}

/** The SMTP server refused the recipient(s) with a 5xx reply: retrying cannot help. */
export function isPermanentFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: string; responseCode?: number };
  return e.code === 'EENVELOPE' && typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
}

async function markFailed(db: Db, row: OutboxEmail, err: unknown, now: Date, maxAttempts: number, backoff: (n: number) => number) {
  const message = redactError(err instanceof Error ? err.message : String(err));
  const permanent = isPermanentFailure(err);
  const willRetry = !permanent && row.attempts < maxAttempts;
  const nextAttemptAt = willRetry ? new Date(now.getTime() + backoff(row.attempts)) : row.nextAttemptAt;
  await db.$transaction(async (tx) => {
    const u = await tx.outboxEmail.updateMany({
      where: { id: row.id, status: 'sending', attempts: row.attempts },
      // A permanent refusal (the server rejected the address with 5xx) is not retried.
      data: { status: 'failed', lastError: message, lockedUntil: null, nextAttemptAt, ...(permanent ? { attempts: maxAttempts } : {}) },
    });
    if (u.count === 0) return;
    if (row.organizationId) {
      await recordAudit(tx, {
        organizationId: row.organizationId,
        envelopeId: row.envelopeId,
        actorType: 'system',
        action: 'email.failed',
        details: {
          outboxId: row.id,
          kind: row.kind,
          to: row.toAddress,
          attempt: row.attempts,
          willRetry,
          permanent,
          nextAttemptAt: willRetry ? nextAttemptAt.toISOString() : null,
          error: message,
        },
        at: now,
      });
    }
  });
}

export interface OutboxSummary {
  id: string;
  kind: string;
  toAddress: string;
  subject: string;
  status: OutboxEmail['status'];
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  sentAt: Date | null;
  createdAt: Date;
}

/** Emails of one envelope (no bodies), for the staff envelope page. */
export async function listEnvelopeEmails(db: Tx, organizationId: string, envelopeId: string): Promise<OutboxSummary[]> {
  return db.outboxEmail.findMany({
    where: { organizationId, envelopeId },
    orderBy: { createdAt: 'asc' },
    select: {
      id: true,
      kind: true,
      toAddress: true,
      subject: true,
      status: true,
      attempts: true,
      nextAttemptAt: true,
      lastError: true,
      sentAt: true,
      createdAt: true,
    },
  });
}
