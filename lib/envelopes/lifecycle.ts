/**
 * The envelope lifecycle up to `sent` (and `voided`): every status change happens here, in one
 * transaction with its AuditEvent, on a row locked with SELECT … FOR UPDATE, so a double click or
 * two tabs cannot send (or email) twice.
 */
import { hash as argon2Hash } from '@node-rs/argon2';
import { recordAudit, staffAuditFields } from '../audit';
import type { StaffActor } from '../auth/types';
import { getConfig } from '../config';
import type { Db } from '../db';
import { AppError, notFound } from '../errors';
import type { Envelope, EnvelopeStatus, Recipient } from '../generated/prisma/client';
import { registerPeriodicTask } from '../jobs';
import { enqueueEmail, renderVoidNoticeEmail } from '../mail';
import { normalizeForSearch } from '../search/normalize';
import {
  addDays,
  formatDateTimeJa,
  isUniqueViolation,
  lockEnvelope,
  newDocumentNumber,
  requireDraft,
  UUID_RE,
  envelopeNotFound,
  type ServiceContext,
} from './common';
import { notifyRecipient } from './notify';
import {
  envelopeInputSchema,
  listEnvelopesSchema,
  parseInput,
  recipientsInputSchema,
  voidInputSchema,
  type EnvelopeData,
} from './schemas';

function envelopeData(d: EnvelopeData) {
  return {
    title: d.title,
    counterparty: d.counterparty,
    counterpartyNormalized: normalizeForSearch(d.counterparty),
    transactionDate: d.transactionDate,
    amount: d.amount,
    amountTaxIncluded: d.amountTaxIncluded,
    taxAmount: d.taxAmount,
    contractNumber: d.contractNumber,
    message: d.message,
  };
}

/** Create a draft envelope (書類ID assigned here). */
export async function createDraft(db: Db, actor: StaffActor, input: unknown, ctx: ServiceContext = {}): Promise<Envelope> {
  const data = parseInput(envelopeInputSchema, input);
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.$transaction(async (tx) => {
        const env = await tx.envelope.create({
          data: {
            ...envelopeData(data),
            organizationId: actor.organizationId,
            createdById: actor.userId,
            documentNumber: newDocumentNumber(),
            ...(ctx.now ? { createdAt: ctx.now } : {}),
          },
        });
        await recordAudit(tx, {
          ...staffAuditFields(actor, ctx),
          envelopeId: env.id,
          action: 'envelope.created',
          details: { documentNumber: env.documentNumber, title: env.title },
        });
        return env;
      });
    } catch (e) {
      if (isUniqueViolation(e) && attempt < 5) continue; // 書類ID collision (50 random bits): retry
      throw e;
    }
  }
}

/** Replace a draft's fields (same schema as createDraft). */
export async function updateDraft(db: Db, actor: StaffActor, id: string, input: unknown, ctx: ServiceContext = {}): Promise<Envelope> {
  const data = envelopeData(parseInput(envelopeInputSchema, input));
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, id);
    requireDraft(env);
    const changed = (Object.keys(data) as (keyof typeof data)[]).filter((k) => {
      const a = env[k];
      const b = data[k];
      if (a instanceof Date || b instanceof Date) return (a as Date | null)?.getTime() !== (b as Date | null)?.getTime();
      return a !== b;
    });
    const updated = await tx.envelope.update({ where: { id: env.id }, data });
    if (changed.length > 0) {
      await recordAudit(tx, { ...staffAuditFields(actor, ctx), envelopeId: env.id, action: 'envelope.updated', details: { fields: changed } });
    }
    return updated;
  });
}

/** Replace the parties of a draft. Access codes are hashed with argon2id; they are never stored or logged in clear. */
export async function setRecipients(
  db: Db,
  actor: StaffActor,
  id: string,
  recipients: unknown,
  ctx: ServiceContext = {},
): Promise<Recipient[]> {
  const list = parseInput(recipientsInputSchema, recipients, 'recipients');
  const hashes = await Promise.all(list.map((r) => (r.accessCode ? argon2Hash(r.accessCode) : Promise.resolve(null))));
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, id);
    requireDraft(env);
    const existing = await tx.recipient.findMany({ where: { envelopeId: env.id }, orderBy: { createdAt: 'asc' } });
    const key = (r: Pick<Recipient, 'role' | 'partyType' | 'order' | 'name' | 'email' | 'title' | 'company' | 'requireEmailOtp'>, code: boolean) =>
      JSON.stringify([r.role, r.partyType, r.order, r.name, r.email, r.title, r.company, r.requireEmailOtp, code]);
    const unchanged =
      existing.length === list.length &&
      existing.every((r, i) => r.accessCodeHash === null && key(r, false) === key(list[i], list[i].accessCode !== null));
    if (unchanged) return existing.sort((a, b) => a.order - b.order); // a re-save of the same form: no churn, no audit
    await tx.recipient.deleteMany({ where: { envelopeId: env.id } });
    const created: Recipient[] = [];
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      created.push(
        await tx.recipient.create({
          data: {
            envelopeId: env.id,
            role: r.role,
            partyType: r.partyType,
            order: r.order,
            name: r.name,
            email: r.email,
            title: r.title,
            company: r.company,
            accessCodeHash: hashes[i],
            requireEmailOtp: r.requireEmailOtp,
            createdAt: new Date(Date.now() + i), // keeps the submitted order stable for equal `order`s
          },
        }),
      );
    }
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      envelopeId: env.id,
      action: 'recipients.updated',
      details: {
        recipients: created.map((r) => ({
          role: r.role,
          partyType: r.partyType,
          order: r.order,
          name: r.name,
          email: r.email,
          accessCode: r.accessCodeHash !== null,
          emailOtp: r.requireEmailOtp,
        })),
      },
    });
    return created.sort((a, b) => a.order - b.order);
  });
}

export interface SendResult {
  envelope: Envelope;
  /** Recipients emailed by this call (empty when it was already sent). */
  notifiedRecipientIds: string[];
  /** True when the envelope had already been sent (double click, second tab): nothing was done. */
  alreadySent: boolean;
}

const SENT_OR_LATER: EnvelopeStatus[] = ['sent', 'in_progress', 'sealing', 'completed'];

/**
 * draft → sent. Needs ≥1 document and ≥1 signer. Sequential order when signer orders differ:
 * only the first order is emailed; parallel: every signer. cc recipients are emailed at completion.
 */
export async function sendEnvelope(db: Db, actor: StaffActor, id: string, ctx: ServiceContext = {}): Promise<SendResult> {
  const now = ctx.now ?? new Date();
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, id);
    if (SENT_OR_LATER.includes(env.status)) return { envelope: env, notifiedRecipientIds: [], alreadySent: true };
    if (env.status !== 'draft') {
      throw new AppError('invalid_state', 'この封筒は取り消し・差し戻し・期限切れのため送信できません。', { details: { status: env.status } });
    }
    const docCount = await tx.document.count({ where: { envelopeId: env.id } });
    const recipients = await tx.recipient.findMany({ where: { envelopeId: env.id }, orderBy: [{ order: 'asc' }, { createdAt: 'asc' }] });
    const signers = recipients.filter((r) => r.role === 'signer');
    const fieldErrors: Record<string, string> = {};
    if (docCount === 0) fieldErrors.documents = '文書（PDF）を1つ以上追加してください。';
    if (signers.length === 0) fieldErrors.recipients = '署名者を1人以上追加してください。';
    if (Object.keys(fieldErrors).length > 0) {
      throw new AppError('validation', `送信できません。${Object.values(fieldErrors).join('')}`, { fieldErrors });
    }
    const orders = [...new Set(signers.map((s) => s.order))].sort((a, b) => a - b);
    const signingOrder = orders.length > 1 ? 'sequential' : 'parallel';
    const expiresAt = addDays(now, getConfig().SIGNING_LINK_DAYS);
    const updated = await tx.envelope.update({
      where: { id: env.id },
      data: { status: 'sent', sentAt: now, expiresAt, signingOrder },
    });
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      envelopeId: env.id,
      action: 'envelope.sent',
      details: { signingOrder, expiresAt: expiresAt.toISOString(), documents: docCount, signers: signers.length },
    });
    const targets = signingOrder === 'sequential' ? signers.filter((s) => s.order === orders[0]) : signers;
    const actorRef = { type: 'user' as const, id: actor.userId, label: `${actor.name} <${actor.email}>` };
    for (const r of targets) await notifyRecipient(tx, updated, r, { ...ctx, now }, { actor: actorRef, now, expiresAt });
    return { envelope: updated, notifiedRecipientIds: targets.map((t) => t.id), alreadySent: false };
  });
}

/** Re-send a signer's request: new token and link; the old link stops working at once. */
export async function resendRequest(
  db: Db,
  actor: StaffActor,
  id: string,
  recipientId: string,
  ctx: ServiceContext = {},
): Promise<{ signingRequestId: string; expiresAt: Date }> {
  const now = ctx.now ?? new Date();
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, id);
    if (env.status !== 'sent' && env.status !== 'in_progress') {
      throw new AppError('invalid_state', '署名待ちの封筒のみ再送できます。', { details: { status: env.status } });
    }
    const r = UUID_RE.test(recipientId) ? await tx.recipient.findFirst({ where: { id: recipientId, envelopeId: env.id } }) : null;
    if (!r) throw notFound('署名者');
    if (r.role !== 'signer') throw new AppError('invalid_state', '署名者にのみ再送できます。');
    if (r.completedAt) throw new AppError('invalid_state', 'この署名者は既に署名を完了しています。');
    if (r.declinedAt) throw new AppError('invalid_state', 'この署名者は差し戻し済みです。');
    if (!r.notifiedAt) throw new AppError('invalid_state', 'まだこの署名者の順番ではありません。前の署名者の完了後に自動で送信されます。');
    // 再依頼 extends the deadline (like GMO Sign / CloudSign): a fresh SIGNING_LINK_DAYS from now.
    const expiresAt = addDays(now, getConfig().SIGNING_LINK_DAYS);
    if (!env.expiresAt || env.expiresAt < expiresAt) {
      await tx.envelope.update({ where: { id: env.id }, data: { expiresAt } });
    }
    const actorRef = { type: 'user' as const, id: actor.userId, label: `${actor.name} <${actor.email}>` };
    const res = await notifyRecipient(tx, env, r, { ...ctx, now }, { actor: actorRef, now, expiresAt, resend: true });
    return { signingRequestId: res.signingRequestId, expiresAt };
  });
}

const VOIDABLE: EnvelopeStatus[] = ['draft', 'sent', 'in_progress'];

/** Cancel (取消) with a reason: links revoked, every party who had been emailed gets a void notice. */
export async function voidEnvelope(db: Db, actor: StaffActor, id: string, reason: unknown, ctx: ServiceContext = {}): Promise<Envelope> {
  const { reason: why } = parseInput(voidInputSchema, { reason });
  const now = ctx.now ?? new Date();
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, id);
    if (env.status === 'voided') return env;
    if (!VOIDABLE.includes(env.status)) {
      throw new AppError('invalid_state', '封緘中・完了・差し戻し・期限切れの封筒は取り消せません。', { details: { status: env.status } });
    }
    const updated = await tx.envelope.update({
      where: { id: env.id },
      data: { status: 'voided', voidedAt: now, voidReason: why },
    });
    const recipients = await tx.recipient.findMany({ where: { envelopeId: env.id }, orderBy: { order: 'asc' } });
    await tx.signingRequest.updateMany({
      where: { recipientId: { in: recipients.map((r) => r.id) }, revokedAt: null },
      data: { revokedAt: now },
    });
    const org = await tx.organization.findUniqueOrThrow({ where: { id: env.organizationId }, select: { name: true } });
    const notified = recipients.filter((r) => r.notifiedAt !== null);
    for (const r of notified) {
      const mail = await renderVoidNoticeEmail({
        organizationName: org.name,
        senderName: actor.name,
        envelopeTitle: env.title,
        recipientName: r.name,
        recipientCompany: r.company,
        reason: why,
        voidedAtText: formatDateTimeJa(now),
      });
      await enqueueEmail(tx, {
        dedupeKey: `void-notice:${env.id}:${r.id}`,
        kind: 'void_notice',
        to: r.email,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        organizationId: env.organizationId,
        envelopeId: env.id,
      });
    }
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      envelopeId: env.id,
      action: 'envelope.voided',
      details: { reason: why, previousStatus: env.status, notified: notified.map((r) => r.email) },
    });
    return updated;
  });
}

export type RecipientStatus = 'pending' | 'waiting' | 'opened' | 'completed' | 'declined';

export function recipientStatus(r: Pick<Recipient, 'notifiedAt' | 'openedAt' | 'completedAt' | 'declinedAt'>): RecipientStatus {
  if (r.completedAt) return 'completed';
  if (r.declinedAt) return 'declined';
  if (r.openedAt) return 'opened';
  if (r.notifiedAt) return 'waiting';
  return 'pending';
}

/** One envelope of the actor's organisation, with documents, parties (no secrets) and link state. */
export async function getEnvelope(db: Db, actor: StaffActor, id: string) {
  if (typeof id !== 'string' || !UUID_RE.test(id)) throw envelopeNotFound();
  const env = await db.envelope.findFirst({
    where: { id, organizationId: actor.organizationId },
    include: {
      organization: { select: { id: true, name: true, showWareki: true } },
      createdBy: { select: { id: true, name: true, email: true, title: true } },
      documents: { orderBy: { position: 'asc' } },
      recipients: {
        orderBy: [{ order: 'asc' }, { createdAt: 'asc' }],
        omit: { accessCodeHash: true },
        include: {
          signingRequests: {
            orderBy: { createdAt: 'desc' },
            take: 1,
            select: { id: true, expiresAt: true, revokedAt: true, createdAt: true },
          },
        },
      },
    },
  });
  if (!env) throw envelopeNotFound();
  const withCode = await db.recipient.findMany({
    where: { envelopeId: env.id, accessCodeHash: { not: null } },
    select: { id: true },
  });
  const codeIds = new Set(withCode.map((r) => r.id));
  return {
    ...env,
    recipients: env.recipients.map(({ signingRequests, ...r }) => ({
      ...r,
      hasAccessCode: codeIds.has(r.id),
      status: recipientStatus(r),
      latestRequest: signingRequests[0] ?? null,
    })),
  };
}
export type EnvelopeDetail = Awaited<ReturnType<typeof getEnvelope>>;

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}
function decodeCursor(c: string): { createdAt: Date; id: string } | null {
  try {
    const [iso, id] = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(iso);
    if (Number.isNaN(createdAt.getTime()) || !UUID_RE.test(id)) return null;
    return { createdAt, id };
  } catch {
    return null;
  }
}

/** The actor's envelopes, newest first, keyset-paged (`nextCursor`), with per-party status. */
export async function listEnvelopes(db: Db, actor: StaffActor, opts: { status?: string; cursor?: string; limit?: number } = {}) {
  const q = listEnvelopesSchema.parse(opts);
  const cur = q.cursor ? decodeCursor(q.cursor) : null;
  const rows = await db.envelope.findMany({
    where: {
      organizationId: actor.organizationId,
      ...(q.status ? { status: q.status } : {}),
      ...(cur ? { OR: [{ createdAt: { lt: cur.createdAt } }, { createdAt: cur.createdAt, id: { lt: cur.id } }] } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: q.limit + 1,
    include: {
      createdBy: { select: { id: true, name: true } },
      _count: { select: { documents: true } },
      recipients: {
        orderBy: [{ order: 'asc' }, { createdAt: 'asc' }],
        select: {
          id: true,
          role: true,
          partyType: true,
          order: true,
          name: true,
          email: true,
          company: true,
          notifiedAt: true,
          openedAt: true,
          completedAt: true,
          declinedAt: true,
        },
      },
    },
  });
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((e) => ({ ...e, recipients: e.recipients.map((r) => ({ ...r, status: recipientStatus(r) })) })),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.createdAt, last.id) : null,
  };
}
export type EnvelopeListItem = Awaited<ReturnType<typeof listEnvelopes>>['items'][number];

/**
 * sent / in_progress envelopes whose signing deadline has passed become `expired` (one transaction
 * per envelope with its audit event; rows locked with SKIP LOCKED so several workers can run it).
 * Run by the worker every minute. Links of an expired envelope stop working (the signing flow
 * checks the status), and the sender sees 期限切れ in the list.
 */
export async function expireDueEnvelopes(db: Db, opts: { now?: Date; batch?: number } = {}): Promise<number> {
  const now = opts.now ?? new Date();
  let count = 0;
  for (;;) {
    const done = await db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; organization_id: string; status: EnvelopeStatus }[]>`
        SELECT "id"::text AS id, "organization_id"::text AS organization_id, "status"::text AS status
          FROM "envelopes"
         WHERE "status" IN ('sent', 'in_progress') AND "expires_at" <= ${now}
         ORDER BY "expires_at"
         LIMIT ${opts.batch ?? 50}
         FOR UPDATE SKIP LOCKED`;
      for (const r of rows) {
        await tx.envelope.update({ where: { id: r.id }, data: { status: 'expired' } });
        await recordAudit(tx, {
          organizationId: r.organization_id,
          envelopeId: r.id,
          actorType: 'system',
          action: 'envelope.expired',
          details: { previousStatus: r.status },
          at: now,
        });
      }
      return rows.length;
    });
    count += done;
    if (done < (opts.batch ?? 50)) return count;
  }
}

registerPeriodicTask('expire-envelopes', (db, now) => expireDueEnvelopes(db as Db, { now }), { everyMs: 60_000 });
