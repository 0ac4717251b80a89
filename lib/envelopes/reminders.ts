/**
 * Automatic signing reminders (like GMO Sign / CloudSign): a signer whose turn it is (notified, not
 * completed or declined) of an envelope still awaiting signatures and within its deadline gets a
 * 【再送】 request with a fresh link on each REMINDER_DAYS day after Recipient.notifiedAt (the old link
 * is revoked; the signing deadline is unchanged). Exactly once per recipient and day, even with
 * several workers: each send locks the envelope row and is keyed in the outbox by
 * `signing-reminder:<recipientId>:day<n>`. If the worker was down across several reminder days only
 * the latest passed day is sent. A staff 再送 sets notifiedAt again, so the days count from it.
 */
import { recordAudit } from '../audit';
import { getConfig } from '../config';
import type { Db } from '../db';
import { registerPeriodicTask } from '../jobs';
import { notifyRecipient } from './notify';

export const REMINDER_TASK = 'signing-reminders';
const DAY_MS = 86_400_000;

export interface ReminderOptions {
  now?: Date;
  /** Reminder days (default: config REMINDER_DAYS). Empty = off. */
  days?: number[];
}

export interface ReminderSent {
  envelopeId: string;
  recipientId: string;
  day: number;
  signingRequestId: string;
}

export const reminderDedupeKey = (recipientId: string, day: number) => `signing-reminder:${recipientId}:day${day}`;

/** The latest reminder day that has passed since `notifiedAt`, if any. */
function dueDay(days: number[], notifiedAt: Date, now: Date): number | undefined {
  let due: number | undefined;
  for (const d of days) if (notifiedAt.getTime() + d * DAY_MS <= now.getTime()) due = d;
  return due;
}

export async function sendDueReminders(db: Db, opts: ReminderOptions = {}): Promise<ReminderSent[]> {
  const now = opts.now ?? new Date();
  const days = [...(opts.days ?? getConfig().REMINDER_DAYS)].sort((a, b) => a - b);
  if (!days.length) return [];
  const cutoff = new Date(now.getTime() - days[0] * DAY_MS);
  const candidates = await db.$queryRaw<{ recipient_id: string; envelope_id: string }[]>`
    SELECT r."id"::text AS recipient_id, e."id"::text AS envelope_id
      FROM "recipients" r JOIN "envelopes" e ON e."id" = r."envelope_id"
     WHERE e."status" IN ('sent', 'in_progress')
       AND (e."expires_at" IS NULL OR e."expires_at" > ${now})
       AND r."role" = 'signer'
       AND r."notified_at" IS NOT NULL AND r."notified_at" <= ${cutoff}
       AND r."completed_at" IS NULL AND r."declined_at" IS NULL
     ORDER BY r."notified_at"`;

  const sent: ReminderSent[] = [];
  for (const c of candidates) {
    const res = await db.$transaction(async (tx) => {
      // Serialises with other reminder runs, staff actions and the signing flow on this envelope.
      await tx.$queryRaw`SELECT 1 FROM "envelopes" WHERE "id" = ${c.envelope_id}::uuid FOR UPDATE`;
      const env = await tx.envelope.findUniqueOrThrow({ where: { id: c.envelope_id } });
      if (env.status !== 'sent' && env.status !== 'in_progress') return undefined;
      if (env.expiresAt && env.expiresAt <= now) return undefined;
      const r = await tx.recipient.findUniqueOrThrow({ where: { id: c.recipient_id } });
      if (r.role !== 'signer' || !r.notifiedAt || r.completedAt || r.declinedAt) return undefined;
      const day = dueDay(days, r.notifiedAt, now);
      if (day === undefined) return undefined;
      const done = await tx.outboxEmail.findUnique({ where: { dedupeKey: reminderDedupeKey(r.id, day) }, select: { id: true } });
      if (done) return undefined;
      // Link expiry defaults to the envelope's deadline, which stays as it is.
      const n = await notifyRecipient(tx, env, r, { now }, { now, reminderDay: day });
      await recordAudit(tx, {
        organizationId: env.organizationId,
        envelopeId: env.id,
        actorType: 'system',
        action: 'signing.reminder_sent',
        details: { recipientId: r.id, name: r.name, email: r.email, order: r.order, day, signingRequestId: n.signingRequestId, expiresAt: n.expiresAt.toISOString() },
        at: now,
      });
      return { envelopeId: env.id, recipientId: r.id, day, signingRequestId: n.signingRequestId };
    });
    if (res) sent.push(res);
  }
  return sent;
}

registerPeriodicTask(
  REMINDER_TASK,
  async (db, now) => {
    const r = await sendDueReminders(db as Db, { now });
    if (r.length) console.log(`[worker] signing reminders: ${r.length} sent`);
    return r.length;
  },
  { everyMs: 3_600_000 },
);
