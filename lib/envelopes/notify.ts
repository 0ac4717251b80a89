/**
 * notifyRecipient: create a SigningRequest (256-bit token, only its SHA-256 stored) and queue the
 * request email, in the caller's transaction. Earlier unrevoked requests of the recipient are
 * revoked: a party has one valid link at a time. Used by sendEnvelope, resendRequest and, for
 * sequential order, by the signing flow when the previous party completes.
 */
import { recordAudit, type RequestContext } from '../audit';
import { getConfig } from '../config';
import type { Tx } from '../db';
import type { ActorType, Envelope, Recipient } from '../generated/prisma/client';
import { enqueueEmail, renderSigningRequestEmail } from '../mail';
import { hashToken, newToken } from '../security';
import { addDays, formatDateTimeJa } from './common';

export interface NotifyOptions {
  /** Who caused the notification (default: the system). */
  actor?: { type: ActorType; id?: string | null; label?: string | null };
  now?: Date;
  /** Link expiry (default: the envelope's expiresAt, else now + SIGNING_LINK_DAYS). */
  expiresAt?: Date;
  /** Re-sent request: subject prefixed 【再送】. */
  resend?: boolean;
  /**
   * Automatic reminder (lib/envelopes/reminders.ts) for this reminder day: sent as 【再送】, outbox
   * dedupe key `signing-reminder:<recipientId>:day<n>`, notifiedAt kept (reminder days count from
   * it) and no signing_request.* audit event (the caller records signing.reminder_sent).
   */
  reminderDay?: number;
}

export interface NotifyResult {
  /** The raw token. Goes only into the email; never store or log it. */
  token: string;
  signingRequestId: string;
  expiresAt: Date;
  url: string;
}

export function signingUrl(token: string): string {
  return `${getConfig().APP_URL.replace(/\/+$/, '')}/sign/${token}`;
}

export async function notifyRecipient(
  tx: Tx,
  envelope: Pick<Envelope, 'id'>,
  recipient: Pick<Recipient, 'id'>,
  ctx: RequestContext & { now?: Date } = {},
  opts: NotifyOptions = {},
): Promise<NotifyResult> {
  const now = opts.now ?? ctx.now ?? new Date();
  const env = await tx.envelope.findUniqueOrThrow({
    where: { id: envelope.id },
    include: {
      organization: { select: { name: true } },
      createdBy: { select: { name: true, title: true } },
      documents: { select: { fileName: true }, orderBy: { position: 'asc' } },
    },
  });
  const r = await tx.recipient.findFirstOrThrow({ where: { id: recipient.id, envelopeId: env.id } });

  await tx.signingRequest.updateMany({ where: { recipientId: r.id, revokedAt: null }, data: { revokedAt: now } });
  const expiresAt = opts.expiresAt ?? env.expiresAt ?? addDays(now, getConfig().SIGNING_LINK_DAYS);
  const token = newToken();
  const sr = await tx.signingRequest.create({
    data: { recipientId: r.id, tokenHash: hashToken(token), expiresAt, createdAt: now },
  });
  const url = signingUrl(token);
  const senderName = env.createdBy?.name ?? '担当者';
  const mail = await renderSigningRequestEmail({
    organizationName: env.organization.name,
    senderName,
    senderTitle: env.createdBy?.title ?? null,
    envelopeTitle: env.title,
    recipientName: r.name,
    recipientCompany: r.company,
    signingUrl: url,
    expiresAtText: formatDateTimeJa(expiresAt),
    message: env.message,
    documentNames: env.documents.map((d) => d.fileName),
    resend: opts.resend || opts.reminderDay !== undefined,
  });
  await enqueueEmail(tx, {
    dedupeKey: opts.reminderDay !== undefined ? `signing-reminder:${r.id}:day${opts.reminderDay}` : `signing-request:${sr.id}`,
    kind: 'signing_request',
    to: r.email,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    organizationId: env.organizationId,
    envelopeId: env.id,
  });
  if (opts.reminderDay !== undefined) return { token, signingRequestId: sr.id, expiresAt, url };
  await tx.recipient.update({ where: { id: r.id }, data: { notifiedAt: now } });
  await recordAudit(tx, {
    organizationId: env.organizationId,
    envelopeId: env.id,
    actorType: opts.actor?.type ?? 'system',
    actorId: opts.actor?.id ?? null,
    actorLabel: opts.actor?.label ?? null,
    action: opts.resend ? 'signing_request.resent' : 'signing_request.created',
    ip: ctx.ip ?? null,
    userAgent: ctx.userAgent ?? null,
    details: {
      recipientId: r.id,
      name: r.name,
      email: r.email,
      order: r.order,
      signingRequestId: sr.id,
      expiresAt: expiresAt.toISOString(),
    },
    at: now,
  });
  return { token, signingRequestId: sr.id, expiresAt, url };
}
