/**
 * アーカイブタイムスタンプの更新 (DESIGN.md §3, PADES.md §1 B-LTA): before the TSA certificate of a
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
 * certificate) expires within ARCHIVE_RENEW_BEFORE_DAYS. Renewing only helps when the TSA now signs
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
import { addArchiveTimestamp, newestDocumentTimestamp, resolveTsaClient, type RevocationFn } from '../pades';
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
  const token = newestDocumentTimestamp(pdf);
  if (!token) return undefined;
  const signer = parseTimestampToken(token).signerCert;
  return signer ? new Date(new X509Certificate(Buffer.from(signer)).validTo) : undefined;
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

const BATCH = 100;

/**
 * notAfter of the newest document timestamp of never-renewed sealed blobs, per blob id. Sealed blobs
 * are immutable (DB triggers), so the value never goes stale; it spares the daily run from decrypting
 * and parsing every archived file again in a long-running worker.
 */
const sealedNotAfter = new Map<string, Date | undefined>();
const SEALED_CACHE_MAX = 200_000;

/** Re-timestamp the sealed files that are due (idempotent; at most one renewal per file per run). */
export async function renewArchiveTimestamps(db: Db, opts: RenewArchiveOptions = {}): Promise<RenewArchiveResult> {
  const now = opts.now ?? new Date();
  const days = opts.renewBeforeDays ?? getConfig().ARCHIVE_RENEW_BEFORE_DAYS;
  const cutoff = now.getTime() + days * 86_400_000;
  const limit = opts.limit ?? 500;
  const log = opts.log ?? (() => undefined);
  const result: RenewArchiveResult = { checked: 0, due: 0, renewed: [], notExtended: 0, alreadyRenewed: 0, failed: 0 };
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

  let cursor: string | undefined;
  for (;;) {
    const envelopes = await db.envelope.findMany({
      where: { status: 'completed', ...(cursor ? { id: { gt: cursor } } : {}) },
      orderBy: { id: 'asc' },
      take: BATCH,
      select: {
        id: true,
        organizationId: true,
        documents: { orderBy: { position: 'asc' }, select: { id: true, fileName: true, sealedBlobId: true, sealedSha256: true } },
        certificate: { select: { id: true, blobId: true, sha256: true } },
        documentNumber: true,
        archiveRenewals: { select: { previousBlobId: true, blobId: true, sha256: true, tsaNotAfter: true } },
      },
    });
    if (!envelopes.length) break;
    cursor = envelopes[envelopes.length - 1].id;
    for (const env of envelopes) {
      const files: Candidate[] = [];
      for (const d of env.documents) {
        if (!d.sealedBlobId || !d.sealedSha256) continue;
        files.push({ envelopeId: env.id, organizationId: env.organizationId, documentId: d.id, file: `doc_${d.id}`, fileName: d.fileName, blobId: d.sealedBlobId, sha256: d.sealedSha256 });
      }
      if (env.certificate) {
        const c = env.certificate;
        files.push({ envelopeId: env.id, organizationId: env.organizationId, certificateId: c.id, file: 'certificate', fileName: `合意締結証明書_${env.documentNumber}.pdf`, blobId: c.blobId, sha256: c.sha256 });
      }
      for (const f of files) {
        if (result.renewed.length >= limit) return result;
        result.checked++;
        const latest = newestRenewal(env.archiveRenewals, f.blobId);
        if (latest) {
          f.blobId = latest.blobId;
          f.sha256 = latest.sha256;
          f.notAfter = latest.tsaNotAfter;
        } else if (sealedNotAfter.has(f.blobId)) {
          f.notAfter = sealedNotAfter.get(f.blobId);
        } else {
          try {
            f.bytes = await readBlob(db, f.blobId);
            f.notAfter = newestTimestampNotAfter(f.bytes);
            if (sealedNotAfter.size >= SEALED_CACHE_MAX) sealedNotAfter.delete(sealedNotAfter.keys().next().value!);
            sealedNotAfter.set(f.blobId, f.notAfter);
          } catch (e) {
            log(`archive renewal: cannot read ${env.id}/${f.file}: ${(e as Error).message}`);
            result.failed++;
            continue;
          }
        }
        // No document timestamp at all (not B-LTA): renewal starts the chain.
        if (f.notAfter && f.notAfter.getTime() > cutoff) continue;
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
          log(`archive renewal of ${env.id}/${f.file} failed: ${(e as Error).message}`);
          result.failed++;
        }
      }
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
