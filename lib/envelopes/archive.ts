/**
 * アーカイブタイムスタンプの更新 (B-LTA renewal, docs/pades.md): before the TSA certificate of a
 * sealed file's newest document timestamp expires, add a DSS for that timestamp and a new document
 * timestamp (lib/pades addArchiveTimestamp, an incremental update).
 *
 * 電子帳簿保存法 (no silent replacement): the sealed blob of a document / completion certificate
 * never changes (DB triggers). Each renewal is an append-only ArchiveRenewal row pointing to a NEW
 * blob whose bytes start with the previous version byte-for-byte (checked before storing). The
 * "current" file = the newest renewal in the chain (previous_blob_id is unique), else the sealed blob;
 * downloads serve the current file.
 *
 * A file is due when its newest document timestamp's TSA certificate (notAfter of the token's signer
 * certificate) expires within ARCHIVE_RENEW_BEFORE_DAYS. That notAfter is stored with the file when it
 * is sealed (documents / completion_certificates.tsa_not_after) and with each renewal, so due files are
 * selected by one indexed query (`dueFiles`) without reading archives; files sealed before the column
 * existed are back-filled once (`backfillTsaNotAfter`). Renewing only helps when the TSA now signs
 * with a certificate that expires later, so one probe timestamp per run (only when something is due)
 * reads the TSA's current certificate; due files that it would not extend are reported as
 * `notExtended` and left alone (an operator must move to a TSA with a fresh certificate).
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { recordAudit } from '../audit';
import { getConfig } from '../config';
import type { Db } from '../db';
import { AppError } from '../errors';
import type { ArchiveRenewal, StoredBlob } from '../generated/prisma/client';
import { registerPeriodicTask } from '../jobs';
import { addArchiveTimestamp, newestTimestampNotAfter as padesNotAfter, resolveTsaClient, type RevocationFn } from '../pades';
import { deleteBlob, putBlob, readBlob } from '../storage';
import { parseTimestampToken } from '../tsa';
import type { TsaClient } from '../tsa/types';
import { isUniqueViolation } from './common';
import { getSealingDefaults, SERVICE_NAME } from './sealing';

export const ARCHIVE_RENEW_TASK = 'archive-renew';

/** Follow the renewal chain from a sealed blob to the newest version (undefined: never renewed). */
export function newestRenewal<R extends Pick<ArchiveRenewal, 'previousBlobId' | 'blobId'>>(renewals: R[], sealedBlobId: string): R | undefined {
  const byPrevious = new Map(renewals.map((r) => [r.previousBlobId, r]));
  let cur: R | undefined;
  let blob = sealedBlobId;
  for (let i = 0; i <= renewals.length; i++) {
    const next = byPrevious.get(blob);
    if (!next) break;
    cur = next;
    blob = next.blobId;
  }
  return cur;
}

/** The renewals of an envelope's files, with their blobs (for downloads and the envelope page). */
export function listArchiveRenewals(db: Db, envelopeId: string): Promise<Array<ArchiveRenewal & { blob: StoredBlob }>> {
  return db.archiveRenewal.findMany({ where: { envelopeId }, include: { blob: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

/** The blob to serve for a sealed document / certificate: its newest renewal, else the sealed blob itself. */
export async function currentSealedBlobId(db: Db, envelopeId: string, sealedBlobId: string): Promise<string> {
  const renewals = await db.archiveRenewal.findMany({ where: { envelopeId }, select: { previousBlobId: true, blobId: true } });
  return newestRenewal(renewals, sealedBlobId)?.blobId ?? sealedBlobId;
}

/** notAfter of the TSA certificate of the newest document timestamp (undefined: none / unreadable). */
export function newestTimestampNotAfter(pdf: Uint8Array): Date | undefined {
  return padesNotAfter(pdf);
}

export interface RenewArchiveOptions {
  now?: Date;
  /** Default: ARCHIVE_RENEW_BEFORE_DAYS (365). */
  renewBeforeDays?: number;
  tsa?: TsaClient;
  revocation?: RevocationFn;
  /** At most this many renewals per run (default 500). */
  limit?: number;
  log?: (m: string) => void;
}

export interface RenewedFile {
  envelopeId: string;
  file: string;
  previousSha256: string;
  sha256: string;
  tsaNotAfter: Date;
}

export interface RenewArchiveResult {
  /** Sealed files looked at. */
  checked: number;
  /** Files whose newest document timestamp's TSA certificate expires within the window. */
  due: number;
  renewed: RenewedFile[];
  /** Due, but the TSA's current certificate expires no later: renewing would not extend anything. */
  notExtended: number;
  /** Renewed concurrently by another run (nothing stored by this one). */
  alreadyRenewed: number;
  failed: number;
}

interface Candidate {
  envelopeId: string;
  organizationId: string;
  documentId?: string;
  certificateId?: string;
  /** "doc_<id>" or "certificate" (as in downloads). */
  file: string;
  fileName: string;
  blobId: string;
  sha256: string;
  notAfter?: Date;
  bytes?: Buffer;
}

interface DueRow {
  envelope_id: string;
  organization_id: string;
  document_number: string;
  document_id: string | null;
  certificate_id: string | null;
  file_name: string | null;
  blob_id: string;
  sha256: string;
  tsa_not_after: Date | null;
}

/**
 * The current version of every completed envelope's sealed file whose stored TSA notAfter is at or
 * before `cutoff` (or unknown): the never-renewed sealed documents and certificates, and the newest
 * renewal of each renewed one (no later renewal names it as previous). One query over the
 * tsa_not_after indexes and the unique previous_blob_id index; no file is read.
 */
export async function dueFiles(db: Db, cutoff: Date, limit: number): Promise<Candidate[]> {
  const rows = await db.$queryRaw<DueRow[]>`
    WITH cur AS (
      SELECT d."envelope_id", d."id" AS "document_id", NULL::uuid AS "certificate_id", d."file_name",
             d."sealed_blob_id" AS "blob_id", d."sealed_sha256" AS "sha256", d."tsa_not_after"
        FROM "documents" d
       WHERE d."sealed_blob_id" IS NOT NULL AND (d."tsa_not_after" IS NULL OR d."tsa_not_after" <= ${cutoff})
         AND NOT EXISTS (SELECT 1 FROM "archive_renewals" n WHERE n."previous_blob_id" = d."sealed_blob_id")
      UNION ALL
      SELECT c."envelope_id", NULL, c."id", NULL, c."blob_id", c."sha256", c."tsa_not_after"
        FROM "completion_certificates" c
       WHERE (c."tsa_not_after" IS NULL OR c."tsa_not_after" <= ${cutoff})
         AND NOT EXISTS (SELECT 1 FROM "archive_renewals" n WHERE n."previous_blob_id" = c."blob_id")
      UNION ALL
      SELECT r."envelope_id", r."document_id", r."certificate_id", d."file_name", r."blob_id", r."sha256", r."tsa_not_after"
        FROM "archive_renewals" r LEFT JOIN "documents" d ON d."id" = r."document_id"
       WHERE r."tsa_not_after" <= ${cutoff}
         AND NOT EXISTS (SELECT 1 FROM "archive_renewals" n WHERE n."previous_blob_id" = r."blob_id")
    )
    SELECT cur.*, e."organization_id", e."document_number"
      FROM cur JOIN "envelopes" e ON e."id" = cur."envelope_id" AND e."status" = 'completed'
     ORDER BY cur."tsa_not_after" ASC NULLS FIRST, cur."envelope_id", cur."blob_id"
     LIMIT ${limit}`;
  return rows.map((r) => ({
    envelopeId: r.envelope_id,
    organizationId: r.organization_id,
    documentId: r.document_id ?? undefined,
    certificateId: r.certificate_id ?? undefined,
    file: r.document_id ? `doc_${r.document_id}` : 'certificate',
    fileName: r.document_id ? (r.file_name ?? '') : `合意締結証明書_${r.document_number}.pdf`,
    blobId: r.blob_id,
    sha256: r.sha256,
    notAfter: r.tsa_not_after ?? undefined,
  }));
}

/**
 * Once, for files sealed before tsa_not_after existed: read each such sealed file and store its
 * notAfter. Files without a readable document timestamp stay NULL (they are due: renewal starts their
 * chain). Returns how many files were read.
 */
export async function backfillTsaNotAfter(db: Db, log: (m: string) => void = () => undefined): Promise<number> {
  let read = 0;
  const docs = await db.document.findMany({
    where: { tsaNotAfter: null, sealedBlobId: { not: null }, envelope: { status: 'completed' } },
    select: { id: true, sealedBlobId: true },
  });
  const certs = await db.completionCertificate.findMany({ where: { tsaNotAfter: null, envelope: { status: 'completed' } }, select: { id: true, blobId: true } });
  const renewed = new Set((await db.archiveRenewal.findMany({ select: { previousBlobId: true } })).map((r) => r.previousBlobId));
  for (const [kind, id, blobId] of [...docs.map((d) => ['doc', d.id, d.sealedBlobId!] as const), ...certs.map((c) => ['cert', c.id, c.blobId] as const)]) {
    if (renewed.has(blobId)) continue; // its current version is a renewal, which has its own notAfter
    try {
      const notAfter = padesNotAfter(await readBlob(db, blobId));
      read++;
      if (!notAfter) continue;
      if (kind === 'doc') await db.document.update({ where: { id }, data: { tsaNotAfter: notAfter } });
      else await db.completionCertificate.update({ where: { id }, data: { tsaNotAfter: notAfter } });
    } catch (e) {
      log(`archive renewal: cannot read sealed file ${blobId}: ${(e as Error).message}`);
    }
  }
  return read;
}

/** Re-timestamp the sealed files that are due (idempotent; at most one renewal per file per run). */
export async function renewArchiveTimestamps(db: Db, opts: RenewArchiveOptions = {}): Promise<RenewArchiveResult> {
  const now = opts.now ?? new Date();
  const days = opts.renewBeforeDays ?? getConfig().ARCHIVE_RENEW_BEFORE_DAYS;
  const cutoff = new Date(now.getTime() + days * 86_400_000);
  const limit = opts.limit ?? 500;
  const log = opts.log ?? (() => undefined);
  const result: RenewArchiveResult = { checked: 0, due: 0, renewed: [], notExtended: 0, alreadyRenewed: 0, failed: 0 };
  result.checked += await backfillTsaNotAfter(db, log);
  let tsa: TsaClient | undefined;
  let tsaNotAfter: Date | undefined | null; // null: probe failed this run

  const probe = async (): Promise<Date | undefined> => {
    if (tsaNotAfter !== undefined) return tsaNotAfter ?? undefined;
    tsa = opts.tsa ?? getSealingDefaults().tsa ?? (await resolveTsaClient());
    try {
      const r = await tsa.timestamp(createHash('sha256').update(randomBytes(32)).digest());
      const signer = parseTimestampToken(r.token).signerCert;
      tsaNotAfter = signer ? new Date(new X509Certificate(Buffer.from(signer)).validTo) : null;
    } catch (e) {
      log(`archive renewal: TSA probe failed: ${(e as Error).message}`);
      tsaNotAfter = null;
    }
    return tsaNotAfter ?? undefined;
  };

  // Due files that the TSA cannot extend stay due; fetch past them so `limit` counts renewals.
  const files = await dueFiles(db, cutoff, limit * 4 + 100);
  result.checked += files.length;
  for (const f of files) {
    if (result.renewed.length >= limit) break;
    result.due++;
    const current = await probe();
    if (!current) {
      result.failed++;
      continue;
    }
    if (f.notAfter && current.getTime() <= f.notAfter.getTime()) {
      result.notExtended++;
      continue;
    }
    try {
      const r = await renewOne(db, f, { now, tsa: tsa!, revocation: opts.revocation });
      if (r) result.renewed.push(r);
      else result.alreadyRenewed++;
    } catch (e) {
      log(`archive renewal of ${f.envelopeId}/${f.file} failed: ${(e as Error).message}`);
      result.failed++;
    }
  }
  if (result.notExtended) {
    log(`archive renewal: ${result.notExtended} file(s) due but the TSA certificate expires no later than theirs — configure a TSA with a fresh certificate`);
  }
  return result;
}

async function renewOne(db: Db, f: Candidate, o: { now: Date; tsa: TsaClient; revocation?: RevocationFn }): Promise<RenewedFile | undefined> {
  const before = f.bytes ?? (await readBlob(db, f.blobId));
  const renewed = Buffer.from(await addArchiveTimestamp(new Uint8Array(before), { tsa: o.tsa, revocation: o.revocation }));
  // Append-only: the new version must extend the previous one byte for byte.
  if (renewed.length <= before.length || !renewed.subarray(0, before.length).equals(before)) {
    throw new AppError('seal_failed', 'タイムスタンプ更新後のファイルが元のファイルを保持していません。');
  }
  const tsaNotAfter = newestTimestampNotAfter(renewed);
  if (!tsaNotAfter) throw new AppError('seal_failed', '更新したタイムスタンプを読み取れません。');
  const blob = await putBlob(db, renewed, { contentType: 'application/pdf' });
  try {
    await db.$transaction(async (tx) => {
      await tx.archiveRenewal.create({
        data: {
          envelopeId: f.envelopeId,
          documentId: f.documentId ?? null,
          certificateId: f.certificateId ?? null,
          previousBlobId: f.blobId,
          blobId: blob.id,
          sha256: blob.sha256,
          tsaNotAfter,
          createdAt: o.now,
        },
      });
      await recordAudit(tx, {
        organizationId: f.organizationId,
        envelopeId: f.envelopeId,
        actorType: 'system',
        actorLabel: SERVICE_NAME,
        action: 'archive.renewed',
        details: { file: f.file, fileName: f.fileName, previousSha256: f.sha256, sha256: blob.sha256, tsaNotAfter: tsaNotAfter.toISOString() },
        at: o.now,
      });
    });
  } catch (e) {
    await deleteBlob(db, blob.id).catch(() => undefined);
    if (isUniqueViolation(e)) return undefined; // another run renewed this version first
    throw e;
  }
  return { envelopeId: f.envelopeId, file: f.file, previousSha256: f.sha256, sha256: blob.sha256, tsaNotAfter };
}

registerPeriodicTask(
  ARCHIVE_RENEW_TASK,
  async (db, now) => {
    const r = await renewArchiveTimestamps(db as Db, { now, log: (m) => console.log(`[worker] ${m}`) });
    if (r.renewed.length || r.failed) console.log(`[worker] archive renewal: ${r.renewed.length} renewed, ${r.failed} failed, ${r.notExtended} not extendable`);
    return r;
  },
  { everyMs: 86_400_000 },
);
