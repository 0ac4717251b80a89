/**
 * 封緘: the 'seal-envelope' job. After the last signer completes (lib/envelopes/signing), the job
 * seals every document with the provider's PAdES B-LTA signature (lib/pades sealPdf), creates
 * and seals the 合意締結証明書 (lib/certificate), stores everything encrypted (lib/storage), and
 * only then marks the envelope `completed`, creates one DownloadLink per address and queues the
 * completion emails — all in one guarded transaction.
 *
 * Idempotent: documents already sealed are skipped, the certificate is created once (unique per
 * envelope), and the final transition only happens from `sealing`, so a retried or crashed job,
 * or two workers, yield one seal per file and one set of emails.
 */
import { z } from 'zod';
import { recordAudit, staffAuditFields } from '../audit';
import { renderCompletionCertificate, type CertificateData, type CertificateEvent } from '../certificate';
import { getConfig } from '../config';
import type { Db } from '../db';
import { AppError } from '../errors';
import { formatDateTime } from '../format';
import type { AuditEvent, Recipient } from '../generated/prisma/client';
import type { StaffActor } from '../auth/types';
import { enqueueJob, registerJobHandler } from '../jobs';
import { enqueueEmail } from '../mail';
import { newestTimestampNotAfter, sealPdf } from '../pades';
import { getKeyProvider, type KeyProvider } from '../pki';
import { hashToken, newToken } from '../security';
import { deleteBlob, putBlob, readBlob } from '../storage';
import type { TsaClient } from '../tsa/types';
import { renderCompletionEmail } from '../../emails/completion';
import { lockEnvelope, type ServiceContext } from './common';
import { SEAL_JOB, SEAL_MAX_ATTEMPTS } from './signing';

export const SERVICE_NAME = '立会サイン';

export interface SealEnvelopeOptions {
  now?: Date;
  keyProvider?: KeyProvider;
  tsa?: TsaClient;
}

let defaults: Omit<SealEnvelopeOptions, 'now'> = {};

/** Key provider / TSA the registered job uses (tests and the dev runner; default: from config). */
export function setSealingDefaults(opts: Omit<SealEnvelopeOptions, 'now'>): void {
  defaults = { ...opts };
}

/** The defaults set by setSealingDefaults (archive renewal uses the same TSA). */
export function getSealingDefaults(): Omit<SealEnvelopeOptions, 'now'> {
  return defaults;
}

export const sealJobPayload = z.object({ envelopeId: z.string().uuid() });

const ACTION_LABELS: Record<string, string> = {
  'envelope.created': '封筒作成',
  'envelope.sent': '送信',
  'envelope.resent': '再送',
  'email.sent': 'メール送信',
  'signing.email_sent': '署名依頼メール送信',
  'signing.page_opened': '署名ページ閲覧',
  'signing.document_viewed': '文書閲覧',
  'signing.access_code_verified': 'アクセスコード認証',
  'signing.access_code_failed': 'アクセスコード誤り',
  'signing.locked': 'ロック',
  'signing.otp_sent': '確認コード送信',
  'signing.otp_verified': '確認コード認証',
  'signing.otp_failed': '確認コード誤り',
  'signing.completed': '署名手続き完了',
  'envelope.sealing_started': '封緘開始',
  'envelope.seal_failed': '封緘失敗（再試行）',
};

function eventLabel(action: string): string {
  return ACTION_LABELS[action] ?? action;
}

/** The sealing /Reason: the witness-type agreement, 書類ID and the parties. */
export function sealReason(documentNumber: string, title: string, signers: Pick<Recipient, 'name' | 'company'>[]): string {
  const parties = signers.map((s) => (s.company ? `${s.company} ${s.name}` : s.name)).join('、');
  return `立会人型電子署名：書類ID ${documentNumber}「${title}」について、${parties} が合意したことを${SERVICE_NAME}が立会人として証明します。`;
}

function firstEvent(events: AuditEvent[], action: string, recipientId: string): AuditEvent | undefined {
  return events.find((e) => e.action === action && e.actorId === recipientId);
}

/** Seal an envelope in `sealing`. Returns what happened; safe to call any number of times. */
export async function sealEnvelope(db: Db, envelopeId: string, opts: SealEnvelopeOptions = {}): Promise<{ result: 'completed' | 'already_completed' | 'skipped' }> {
  const now = opts.now ?? new Date();
  const keyProvider = opts.keyProvider ?? defaults.keyProvider ?? getKeyProvider();
  const tsa = opts.tsa ?? defaults.tsa;
  const envelope = await db.envelope.findUnique({
    where: { id: envelopeId },
    include: {
      organization: true,
      createdBy: true,
      documents: { orderBy: { position: 'asc' } },
      recipients: { orderBy: [{ order: 'asc' }, { createdAt: 'asc' }] },
      certificate: true,
    },
  });
  if (!envelope) return { result: 'skipped' };
  if (envelope.status === 'completed') return { result: 'already_completed' };
  if (envelope.status !== 'sealing') return { result: 'skipped' };

  const signers = envelope.recipients.filter((r) => r.role === 'signer');
  const reason = sealReason(envelope.documentNumber, envelope.title, signers);
  const location = new URL(getConfig().APP_URL).host;
  const seal = async (pdf: Uint8Array) => {
    try {
      return await sealPdf(pdf, { reason, name: SERVICE_NAME, location, signingTime: now, keyProvider, tsa });
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('seal_failed', '文書の封緘に失敗しました。', { cause: e });
    }
  };

  // 1. Each document (skip the ones a previous attempt already sealed).
  const sealedHashes = new Map<string, string>();
  for (const doc of envelope.documents) {
    if (doc.sealedBlobId && doc.sealedSha256) {
      sealedHashes.set(doc.id, doc.sealedSha256);
      continue;
    }
    const original = await readBlob(db, doc.originalBlobId);
    const sealed = await seal(original);
    const blob = await putBlob(db, sealed, { contentType: 'application/pdf' });
    const upd = await db.document.updateMany({
      where: { id: doc.id, sealedBlobId: null },
      // tsaNotAfter: archive renewal selects due files by it (lib/envelopes/archive.ts)
      data: { sealedBlobId: blob.id, sealedSha256: blob.sha256, sealedAt: now, tsaNotAfter: newestTimestampNotAfter(sealed) ?? null },
    });
    if (upd.count !== 1) {
      await deleteBlob(db, blob.id).catch(() => undefined); // someone else sealed it first
      const again = await db.document.findUniqueOrThrow({ where: { id: doc.id } });
      sealedHashes.set(doc.id, again.sealedSha256!);
    } else {
      sealedHashes.set(doc.id, blob.sha256);
    }
  }

  // 2. The 合意締結証明書 (once).
  if (!envelope.certificate) {
    const events = await db.auditEvent.findMany({ where: { envelopeId: envelope.id }, orderBy: { id: 'asc' } });
    const data: CertificateData = {
      serviceName: SERVICE_NAME,
      envelope: {
        documentNumber: envelope.documentNumber,
        title: envelope.title,
        counterparty: envelope.counterparty,
        transactionDate: envelope.transactionDate,
        amount: envelope.amount,
        amountTaxIncluded: envelope.amountTaxIncluded,
        taxAmount: envelope.taxAmount,
        contractNumber: envelope.contractNumber,
        sentAt: envelope.sentAt,
        completedAt: now,
      },
      sender: { organizationName: envelope.organization.name, name: envelope.createdBy?.name, email: envelope.createdBy?.email },
      documents: envelope.documents.map((d) => ({
        fileName: d.fileName,
        pageCount: d.pageCount,
        sha256Before: d.sha256,
        sha256After: sealedHashes.get(d.id) ?? null,
      })),
      parties: envelope.recipients.map((r) => {
        const opened = firstEvent(events, 'signing.page_opened', r.id);
        return {
          role: r.role,
          partyType: r.partyType,
          order: r.order,
          name: r.name,
          title: r.title,
          company: r.company,
          email: r.email,
          authMethod: r.authMethod,
          notifiedAt: r.notifiedAt,
          openedAt: r.openedAt,
          openedIp: opened?.ip,
          openedUserAgent: opened?.userAgent,
          completedAt: r.completedAt,
          completedIp: r.completedIp,
          completedUserAgent: r.completedUserAgent,
          declinedAt: r.declinedAt,
          declineReason: r.declineReason,
        };
      }),
      events: events
        .filter((e) => e.action !== 'signing.page_opened' || firstEvent(events, 'signing.page_opened', e.actorId ?? '') === e)
        .map(
          (e): CertificateEvent => ({
            at: e.createdAt,
            label: eventLabel(e.action),
            actor: e.actorType === 'system' ? SERVICE_NAME : e.actorLabel,
            ip: e.ip,
            userAgent: e.userAgent,
          }),
        ),
      sealedAt: now,
      issuedAt: now,
    };
    const { pdf, pageCount } = await renderCompletionCertificate(data);
    const sealed = await seal(pdf);
    const blob = await putBlob(db, sealed, { contentType: 'application/pdf' });
    try {
      await db.completionCertificate.create({
        data: { envelopeId: envelope.id, blobId: blob.id, sha256: blob.sha256, pageCount, tsaNotAfter: newestTimestampNotAfter(sealed) ?? null },
      });
    } catch (e) {
      await deleteBlob(db, blob.id).catch(() => undefined);
      const exists = await db.completionCertificate.findUnique({ where: { envelopeId: envelope.id } });
      if (!exists) throw e;
    }
  }

  // 3. completed + download links + emails, once.
  const cfg = getConfig();
  const days = cfg.DOWNLOAD_LINK_DAYS;
  const expiresAt = new Date(now.getTime() + days * 86_400_000);
  const mails: Array<{ email: string; name: string; recipientId: string | null; token: string }> = [];
  const seen = new Set<string>();
  for (const r of envelope.recipients) {
    const key = r.email.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    mails.push({ email: r.email, name: r.name, recipientId: r.id, token: newToken() });
  }
  if (envelope.createdBy && !seen.has(envelope.createdBy.email.toLowerCase())) {
    mails.push({ email: envelope.createdBy.email, name: envelope.createdBy.name, recipientId: null, token: newToken() });
  }
  const rendered = await Promise.all(
    mails.map((m) =>
      renderCompletionEmail({
        envelopeTitle: envelope.title,
        documentNumber: envelope.documentNumber,
        documentNames: envelope.documents.map((d) => d.fileName),
        senderOrganization: envelope.organization.name,
        senderName: envelope.createdBy?.name,
        recipientName: m.name,
        downloadUrl: new URL(`/download/${m.token}`, cfg.APP_URL).toString(),
        validDays: days,
        expiresAtLabel: formatDateTime(expiresAt).slice(0, 16),
        serviceName: SERVICE_NAME,
      }),
    ),
  );

  const done = await db.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT id FROM envelopes WHERE id = ${envelope.id}::uuid FOR UPDATE`;
      const fresh = await tx.envelope.findUniqueOrThrow({ where: { id: envelope.id }, select: { status: true } });
      if (fresh.status !== 'sealing') return false;
      const docs = await tx.document.findMany({ where: { envelopeId: envelope.id }, orderBy: { position: 'asc' } });
      const cert = await tx.completionCertificate.findUnique({ where: { envelopeId: envelope.id } });
      if (docs.some((d) => !d.sealedBlobId) || !cert) throw new AppError('seal_failed', '封緘済みファイルがそろっていません。');
      await tx.envelope.update({ where: { id: envelope.id }, data: { status: 'completed', completedAt: now } });
      await recordAudit(tx, {
        organizationId: envelope.organizationId,
        envelopeId: envelope.id,
        actorType: 'system',
        actorLabel: SERVICE_NAME,
        action: 'envelope.sealed',
        details: {
          documents: docs.map((d) => ({ id: d.id, fileName: d.fileName, sha256: d.sha256, sealedSha256: d.sealedSha256 })),
          certificateSha256: cert.sha256,
        },
        at: now,
      });
      for (let i = 0; i < mails.length; i++) {
        const m = mails[i];
        const mail = rendered[i];
        await tx.downloadLink.create({
          data: { envelopeId: envelope.id, recipientId: m.recipientId, email: m.email, tokenHash: hashToken(m.token), expiresAt, createdAt: now },
        });
        await enqueueEmail(tx, {
          dedupeKey: `completion:${envelope.id}:${m.email.toLowerCase()}`,
          kind: 'completion',
          organizationId: envelope.organizationId,
          envelopeId: envelope.id,
          to: m.email,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
        });
      }
      await recordAudit(tx, {
        organizationId: envelope.organizationId,
        envelopeId: envelope.id,
        actorType: 'system',
        actorLabel: SERVICE_NAME,
        action: 'envelope.completed',
        details: { downloadLinks: mails.length, downloadExpiresAt: expiresAt.toISOString() },
        at: now,
      });
      return true;
    },
    { timeout: 30_000 },
  );
  return { result: done ? 'completed' : 'already_completed' };
}

registerJobHandler<z.infer<typeof sealJobPayload>>(
  SEAL_JOB,
  async (payload, ctx) => {
    try {
      await sealEnvelope(ctx.db, payload.envelopeId, { now: ctx.now });
    } catch (e) {
      // Each failed attempt is visible in the 操作ログ (the job retries with backoff; the last
      // failure leaves the envelope in `sealing` and the job `failed`, for an operator to retry).
      const env = await ctx.db.envelope.findUnique({ where: { id: payload.envelopeId }, select: { organizationId: true } });
      if (env) {
        await ctx.db
          .$transaction((tx) =>
            recordAudit(tx, {
              organizationId: env.organizationId,
              envelopeId: payload.envelopeId,
              actorType: 'system',
              actorLabel: SERVICE_NAME,
              action: 'envelope.seal_failed',
              details: {
                attempt: ctx.attempt,
                maxAttempts: ctx.maxAttempts,
                final: ctx.attempt >= ctx.maxAttempts,
                code: e instanceof AppError ? e.code : 'internal',
              },
            }),
          )
          .catch(() => undefined);
      }
      throw e;
    }
  },
  {
    schema: sealJobPayload,
    leaseMs: 10 * 60_000,
    // 30 s, 1 min, 2 min … then hourly: with SEAL_MAX_ATTEMPTS this rides out a TSA outage of ~2 days.
    backoffMs: (n) => Math.min(30_000 * 2 ** Math.max(0, n - 1), 3_600_000),
  },
);

export interface SealingStatus {
  /** queued / running / retrying (a failed attempt, another one scheduled) / stopped (no attempts left) */
  state: 'queued' | 'running' | 'retrying' | 'stopped' | 'missing';
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: Date | null;
}

/** The seal job of an envelope in `sealing`, for the staff envelope page. Organisation-scoped. */
export async function getSealingStatus(db: Db, actor: StaffActor, envelopeId: string): Promise<SealingStatus | null> {
  const env = await db.envelope.findFirst({ where: { id: envelopeId, organizationId: actor.organizationId }, select: { status: true } });
  if (!env || env.status !== 'sealing') return null;
  const job = await db.job.findUnique({ where: { name_singletonKey: { name: SEAL_JOB, singletonKey: envelopeId } } });
  if (!job) return { state: 'missing', attempts: 0, maxAttempts: 0, nextAttemptAt: null };
  const state =
    job.status === 'running'
      ? 'running'
      : job.status === 'failed'
        ? job.attempts >= job.maxAttempts
          ? 'stopped'
          : 'retrying'
        : job.status === 'pending'
          ? 'queued'
          : 'running';
  return { state, attempts: job.attempts, maxAttempts: job.maxAttempts, nextAttemptAt: state === 'retrying' || state === 'queued' ? job.runAt : null };
}

/**
 * Staff retry of a seal that stopped (e.g. the TSA was unreachable for longer than the retry window).
 * Re-arms the one seal job of the envelope (never a second one), so sealing and emails still happen
 * exactly once. A job that is queued, running or still retrying is left alone.
 */
export async function retrySealing(
  db: Db,
  actor: StaffActor,
  envelopeId: string,
  ctx: ServiceContext,
): Promise<{ rearmed: boolean }> {
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, envelopeId);
    if (env.status !== 'sealing') {
      throw new AppError('invalid_state', '封緘処理中の封筒ではないため、再試行できません。');
    }
    const now = ctx.now ?? new Date();
    const job = await tx.job.findUnique({ where: { name_singletonKey: { name: SEAL_JOB, singletonKey: envelopeId } } });
    let rearmed = false;
    if (!job) {
      await enqueueJob(tx, SEAL_JOB, { envelopeId }, { singletonKey: envelopeId, maxAttempts: SEAL_MAX_ATTEMPTS });
      rearmed = true;
    } else if (job.status === 'failed' && job.attempts >= job.maxAttempts) {
      const r = await tx.job.updateMany({
        where: { id: job.id, status: 'failed', attempts: job.attempts },
        data: { status: 'pending', attempts: 0, runAt: now, lastError: null, lockedUntil: null },
      });
      rearmed = r.count === 1;
    }
    if (rearmed) {
      await recordAudit(tx, { ...staffAuditFields(actor, ctx), envelopeId, action: 'envelope.seal_retried', details: {} });
    }
    return { rearmed };
  });
}
