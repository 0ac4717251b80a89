/**
 * ダウンロードリンク: the sealed documents and the 合意締結証明書 of a completed envelope, for
 * DOWNLOAD_LINK_DAYS (default 14) days after completion through the emailed link; staff can
 * always download and may issue a fresh link. Files are streamed (decrypting on the fly) and the
 * ZIP is built as a stream (yazl), never buffering whole files. Every view and download is an
 * AuditEvent. `now` is injectable so tests can jump past the expiry.
 */
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { z } from 'zod';
import { recordAudit, type RequestContext, staffAuditFields } from '../audit';
import type { StaffActor } from '../auth/types';
import { getConfig } from '../config';
import type { Db } from '../db';
import { AppError } from '../errors';
import { parseField } from './schemas';
import type { DownloadLink, Envelope, Organization } from '../generated/prisma/client';
import { hashToken, looksLikeToken, newToken, safeEqual } from '../security';
import { formatDateTime } from '../format';
import { enqueueEmail } from '../mail';
import { openBlobStream } from '../storage';
import { renderCompletionEmail } from '../../emails/completion';
import { listArchiveRenewals, newestRenewal } from './archive';

export interface DownloadContext extends RequestContext {
  now?: Date;
}

export interface DownloadFile {
  /** "doc_<documentId>" or "certificate" */
  id: string;
  kind: 'document' | 'certificate';
  fileName: string;
  sizeBytes: bigint;
  sha256: string;
  pageCount: number;
  blobId: string;
}

export type DownloadProblem = 'invalid' | 'expired' | 'revoked' | 'not_ready';

export const DOWNLOAD_PROBLEM_MESSAGES: Record<DownloadProblem, { title: string; body: string }> = {
  invalid: { title: 'このリンクは無効です', body: 'URLが正しいかご確認ください。完了メールに記載されたリンクをそのまま開いてください。' },
  expired: {
    title: 'ダウンロード有効期間が終了しました',
    body: 'ダウンロードリンクの有効期間（完了から14日間）を過ぎました。締結済みの文書が必要な場合は、送り主にダウンロードリンクの再発行をご依頼ください。',
  },
  revoked: { title: 'このリンクは無効になりました', body: '新しいダウンロードリンクが発行されている可能性があります。最新のメールのリンクを開いてください。' },
  not_ready: { title: 'まだダウンロードできません', body: '封緘処理が完了していません。しばらくしてから再度お試しください。' },
};

type EnvelopeWithOrg = Envelope & { organization: Organization };

export interface DownloadAccess {
  link: DownloadLink;
  envelope: EnvelopeWithOrg;
  files: DownloadFile[];
}

/** The current version of each sealed file: its newest archive renewal (lib/envelopes/archive), else the sealed blob. */
async function listSealedFiles(db: Db, envelopeId: string): Promise<DownloadFile[]> {
  const [docs, cert, env, renewals] = await Promise.all([
    db.document.findMany({ where: { envelopeId }, orderBy: { position: 'asc' }, include: { sealedBlob: true } }),
    db.completionCertificate.findUnique({ where: { envelopeId }, include: { blob: true } }),
    db.envelope.findUniqueOrThrow({ where: { id: envelopeId }, select: { documentNumber: true } }),
    listArchiveRenewals(db, envelopeId),
  ]);
  const files: DownloadFile[] = [];
  for (const d of docs) {
    if (!d.sealedBlob) continue;
    const blob = newestRenewal(renewals, d.sealedBlob.id)?.blob ?? d.sealedBlob;
    files.push({
      id: `doc_${d.id}`,
      kind: 'document',
      fileName: d.fileName,
      sizeBytes: blob.sizeBytes,
      sha256: blob.sha256,
      pageCount: d.pageCount,
      blobId: blob.id,
    });
  }
  if (cert) {
    const blob = newestRenewal(renewals, cert.blobId)?.blob ?? cert.blob;
    files.push({
      id: 'certificate',
      kind: 'certificate',
      fileName: `合意締結証明書_${env.documentNumber}.pdf`,
      sizeBytes: blob.sizeBytes,
      sha256: blob.sha256,
      pageCount: cert.pageCount,
      blobId: blob.id,
    });
  }
  return files;
}

/** Resolve a download token (constant-time check of the stored hash); no detail about other envelopes. */
export async function resolveDownloadLink(
  db: Db,
  token: string,
  now = new Date(),
): Promise<{ ok: true; access: DownloadAccess } | { ok: false; problem: DownloadProblem }> {
  if (!looksLikeToken(token)) return { ok: false, problem: 'invalid' };
  const hash = hashToken(token);
  const link = await db.downloadLink.findUnique({ where: { tokenHash: hash }, include: { envelope: { include: { organization: true } } } });
  if (!link || !safeEqual(link.tokenHash, hash)) return { ok: false, problem: 'invalid' };
  const { envelope, ...l } = link;
  if (l.revokedAt) return { ok: false, problem: 'revoked' };
  if (l.expiresAt <= now) return { ok: false, problem: 'expired' };
  if (envelope.status !== 'completed') return { ok: false, problem: 'not_ready' };
  return { ok: true, access: { link: l, envelope, files: await listSealedFiles(db, envelope.id) } };
}

function problemError(p: DownloadProblem): AppError {
  const m = DOWNLOAD_PROBLEM_MESSAGES[p];
  return new AppError(p === 'expired' ? 'link_expired' : p === 'invalid' ? 'link_invalid' : 'invalid_state', `${m.title}。${m.body}`);
}

function linkActor(link: DownloadLink) {
  return { actorType: 'public' as const, actorId: link.recipientId ?? link.id, actorLabel: link.email };
}

/** The download page: records `download.page_viewed`. */
export async function openDownloadPage(db: Db, token: string, ctx: DownloadContext = {}) {
  const now = ctx.now ?? new Date();
  const r = await resolveDownloadLink(db, token, now);
  if (!r.ok) {
    if (r.problem === 'expired') {
      // The refusal is logged too (the link is known, so the envelope is).
      const link = await db.downloadLink.findUnique({ where: { tokenHash: hashToken(token) }, include: { envelope: true } });
      if (link) {
        await db.$transaction((tx) =>
          recordAudit(tx, {
            organizationId: link.envelope.organizationId,
            envelopeId: link.envelopeId,
            ...linkActor(link),
            action: 'download.expired_link_used',
            ip: ctx.ip,
            userAgent: ctx.userAgent,
            details: { downloadLinkId: link.id },
            at: now,
          }),
        );
      }
    }
    return r;
  }
  const { access } = r;
  await db.$transaction((tx) =>
    recordAudit(tx, {
      organizationId: access.envelope.organizationId,
      envelopeId: access.envelope.id,
      ...linkActor(access.link),
      action: 'download.page_viewed',
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      details: { downloadLinkId: access.link.id },
      at: now,
    }),
  );
  return r;
}

export interface FileStream {
  stream: Readable;
  fileName: string;
  contentType: string;
  sizeBytes?: bigint;
}

async function auditDownload(db: Db, envelope: Envelope, actor: ReturnType<typeof linkActor> | { actorType: 'user'; actorId: string; actorLabel: string }, files: DownloadFile[], ctx: DownloadContext, via: string, now: Date) {
  await db.$transaction((tx) =>
    recordAudit(tx, {
      organizationId: envelope.organizationId,
      envelopeId: envelope.id,
      ...actor,
      action: files.length === 1 ? 'download.file' : 'download.zip',
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      details: { via, files: files.map((f) => ({ id: f.id, fileName: f.fileName, sha256: f.sha256 })) },
      at: now,
    }),
  );
}

const fileIdSchema = z.union([z.literal('certificate'), z.string().regex(/^doc_[0-9a-f-]{36}$/i)]);

function pickFile(files: DownloadFile[], fileId: string): DownloadFile {
  if (!fileIdSchema.safeParse(fileId).success) throw new AppError('not_found', 'ファイルが見つかりません。');
  const f = files.find((x) => x.id === fileId);
  if (!f) throw new AppError('not_found', 'ファイルが見つかりません。');
  return f;
}

/** One sealed file through a download link (audited as download.file). */
export async function openDownloadFile(db: Db, token: string, fileId: string, ctx: DownloadContext = {}): Promise<FileStream> {
  const now = ctx.now ?? new Date();
  const r = await resolveDownloadLink(db, token, now);
  if (!r.ok) throw problemError(r.problem);
  const f = pickFile(r.access.files, fileId);
  const stream = await openBlobStream(db, f.blobId);
  await auditDownload(db, r.access.envelope, linkActor(r.access.link), [f], ctx, 'download_link', now);
  return { stream, fileName: f.fileName, contentType: 'application/pdf', sizeBytes: f.sizeBytes };
}

function uniqueNames(files: DownloadFile[]): string[] {
  const used = new Set<string>();
  return files.map((f) => {
    let name = f.fileName.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_');
    if (used.has(name)) {
      const dot = name.lastIndexOf('.');
      let i = 2;
      const base = dot > 0 ? name.slice(0, dot) : name;
      const ext = dot > 0 ? name.slice(dot) : '';
      while (used.has(`${base}_${i}${ext}`)) i++;
      name = `${base}_${i}${ext}`;
    }
    used.add(name);
    return name;
  });
}

/** A streamed ZIP of the files; each entry is decrypted on the fly when yazl reaches it. */
export function zipFiles(db: Db, files: DownloadFile[]): Readable {
  const zip = new yazl.ZipFile();
  const out = zip.outputStream as unknown as Readable;
  const names = uniqueNames(files);
  files.forEach((f, i) => {
    // Lazy: each blob is opened and decrypted only when yazl reaches its entry.
    zip.addReadStreamLazy(names[i], { compress: false, size: Number(f.sizeBytes) }, (cb) => {
      openBlobStream(db, f.blobId).then(
        (s) => {
          s.on('error', (e) => out.destroy(e));
          cb(null, s);
        },
        (e: unknown) => cb(e instanceof Error ? e : new Error(String(e)), undefined as unknown as Readable),
      );
    });
  });
  zip.end();
  return out;
}

export function zipFileName(documentNumber: string): string {
  return `締結済み文書_${documentNumber}.zip`;
}

/** Every sealed file and the certificate as one ZIP through a download link (audited as download.zip). */
export async function openDownloadZip(db: Db, token: string, ctx: DownloadContext = {}): Promise<FileStream> {
  const now = ctx.now ?? new Date();
  const r = await resolveDownloadLink(db, token, now);
  if (!r.ok) throw problemError(r.problem);
  await auditDownload(db, r.access.envelope, linkActor(r.access.link), r.access.files, ctx, 'download_link', now);
  return { stream: zipFiles(db, r.access.files), fileName: zipFileName(r.access.envelope.documentNumber), contentType: 'application/zip' };
}

// ---------------------------------------------------------------------------------------------
// Staff: always allowed for their organisation's completed envelopes.

async function staffEnvelope(db: Db, actor: StaffActor, envelopeId: string) {
  const env = z.string().uuid().safeParse(envelopeId).success
    ? await db.envelope.findFirst({ where: { id: envelopeId, organizationId: actor.organizationId } })
    : null;
  if (!env) throw new AppError('not_found', '封筒が見つかりません。');
  if (env.status !== 'completed') throw new AppError('invalid_state', 'この封筒はまだ締結が完了していません。');
  return env;
}

function staffActor(actor: StaffActor) {
  return { actorType: 'user' as const, actorId: actor.userId, actorLabel: `${actor.name} <${actor.email}>` };
}

export async function listSealedFilesForStaff(db: Db, actor: StaffActor, envelopeId: string): Promise<DownloadFile[]> {
  const env = await staffEnvelope(db, actor, envelopeId);
  return listSealedFiles(db, env.id);
}

/** fileId: "doc_<id>", "certificate" or "zip". */
export async function openSealedFileForStaff(db: Db, actor: StaffActor, envelopeId: string, fileId: string, ctx: DownloadContext = {}): Promise<FileStream> {
  const now = ctx.now ?? new Date();
  const env = await staffEnvelope(db, actor, envelopeId);
  const files = await listSealedFiles(db, env.id);
  if (fileId === 'zip') {
    await auditDownload(db, env, staffActor(actor), files, ctx, 'staff', now);
    return { stream: zipFiles(db, files), fileName: zipFileName(env.documentNumber), contentType: 'application/zip' };
  }
  const f = pickFile(files, fileId);
  const stream = await openBlobStream(db, f.blobId);
  await auditDownload(db, env, staffActor(actor), [f], ctx, 'staff', now);
  return { stream, fileName: f.fileName, contentType: 'application/pdf', sizeBytes: f.sizeBytes };
}

/**
 * Staff issue a fresh download link (e.g. after the 14 days). Returns the token once (for the
 * staff member to copy or to email); only its hash is stored.
 */
export async function issueDownloadLink(
  db: Db,
  actor: StaffActor,
  envelopeId: string,
  input: { email: string; recipientId?: string | null; /** Email the new link (「電子署名完了のお知らせ」 with it). */ sendEmail?: boolean },
  ctx: DownloadContext = {},
): Promise<{ token: string; url: string; expiresAt: Date }> {
  const now = ctx.now ?? new Date();
  const email = parseField(z.string().trim().email('メールアドレスの形式が正しくありません。'), input.email, 'email');
  const env = await staffEnvelope(db, actor, envelopeId);
  const token = newToken();
  const cfg = getConfig();
  const expiresAt = new Date(now.getTime() + cfg.DOWNLOAD_LINK_DAYS * 86_400_000);
  const url = new URL(`/download/${token}`, cfg.APP_URL).toString();
  const recipient = await db.recipient.findFirst({ where: { envelopeId: env.id, email: { equals: email, mode: 'insensitive' } } });
  const mail = input.sendEmail
    ? await (async () => {
        const full = await db.envelope.findUniqueOrThrow({
          where: { id: env.id },
          include: { organization: true, createdBy: true, documents: { orderBy: { position: 'asc' }, select: { fileName: true } } },
        });
        return renderCompletionEmail({
          envelopeTitle: full.title,
          documentNumber: full.documentNumber,
          documentNames: full.documents.map((d) => d.fileName),
          senderOrganization: full.organization.name,
          senderName: full.createdBy?.name,
          recipientName: recipient?.name ?? email,
          downloadUrl: url,
          validDays: cfg.DOWNLOAD_LINK_DAYS,
          expiresAtLabel: formatDateTime(expiresAt).slice(0, 16),
        });
      })()
    : null;
  await db.$transaction(async (tx) => {
    const link = await tx.downloadLink.create({
      data: { envelopeId: env.id, recipientId: input.recipientId ?? recipient?.id ?? null, email, tokenHash: hashToken(token), expiresAt, createdAt: now },
    });
    if (mail) {
      await enqueueEmail(tx, {
        dedupeKey: `download-link:${link.id}`,
        kind: 'download_link',
        organizationId: env.organizationId,
        envelopeId: env.id,
        to: email,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
    }
    await recordAudit(tx, {
      ...staffAuditFields(actor, { ...ctx, now }),
      envelopeId: env.id,
      action: 'download.link_issued',
      details: { downloadLinkId: link.id, email, expiresAt: expiresAt.toISOString(), emailed: !!mail },
    });
  });
  return { token, url, expiresAt };
}
