/**
 * Documents of a draft envelope: add (PDF check, size limit, duplicate detection, encrypted
 * storage), remove, reorder. Nothing half-created remains: the encrypted file is written first and
 * deleted again when the transaction that inserts its row fails.
 */
import { Readable } from 'node:stream';
import { recordAudit, staffAuditFields } from '../audit';
import type { StaffActor } from '../auth/types';
import { getConfig } from '../config';
import type { Db, Tx } from '../db';
import { AppError, notFound } from '../errors';
import type { Document } from '../generated/prisma/client';
import { inspectUntrustedPdf } from '../pdfpool';
import { sha256Hex } from '../security';
import { discardBlobFile, getStorageBackend, insertBlobRow, writeBlobFile } from '../storage';
import { lockEnvelope, requireDraft, UUID_RE, envelopeNotFound, type ServiceContext } from './common';

export interface AddDocumentInput {
  fileName: string;
  /** The whole file, or a stream of it (read up to the size limit). */
  bytes?: Uint8Array;
  stream?: Readable | ReadableStream<Uint8Array>;
  /** Declared size (Content-Length / File.size): refused early when over the limit. */
  size?: number;
}

export function cleanFileName(name: string): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const s = base.normalize('NFC').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return s || 'document.pdf';
}

function tooLarge(fileName: string, maxBytes: number, size?: number) {
  const mb = Math.round((maxBytes / 1024 / 1024) * 10) / 10;
  return new AppError('pdf_too_large', `「${fileName}」は大きすぎます（上限 ${mb} MB）。ファイルを分割するか圧縮してください。`, {
    details: { maxBytes, size, fileName },
  });
}

async function readLimited(fileName: string, src: Readable | ReadableStream<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const stream = src instanceof Readable ? src : Readable.fromWeb(src as import('node:stream/web').ReadableStream<Uint8Array>);
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += b.length;
      if (size > maxBytes) throw tooLarge(fileName, maxBytes, size);
      parts.push(b);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts, size);
}

/** Scoped, draft-only check before the upload is read (cheap early refusal). */
async function assertEditable(db: Tx, actor: StaffActor, id: string) {
  if (typeof id !== 'string' || !UUID_RE.test(id)) throw envelopeNotFound();
  const env = await db.envelope.findFirst({ where: { id, organizationId: actor.organizationId }, select: { status: true } });
  if (!env) throw envelopeNotFound();
  requireDraft(env);
}

function duplicateError(fileName: string, existing: string) {
  return new AppError(
    'pdf_duplicate',
    existing === fileName
      ? `「${fileName}」は既にこの封筒に追加されています（同じ内容のファイルです）。`
      : `「${fileName}」は既に追加されている「${existing}」と同じ内容です。同じ文書を二重に追加することはできません。`,
    { details: { fileName, existing } },
  );
}

export async function addDocument(
  db: Db,
  actor: StaffActor,
  envelopeId: string,
  input: AddDocumentInput,
  ctx: ServiceContext = {},
): Promise<Document> {
  const fileName = cleanFileName(input.fileName);
  const maxBytes = getConfig().maxUploadBytes;
  await assertEditable(db, actor, envelopeId);
  if (input.size !== undefined && input.size > maxBytes) throw tooLarge(fileName, maxBytes, input.size);

  let bytes: Uint8Array;
  if (input.bytes) bytes = input.bytes;
  else if (input.stream) bytes = await readLimited(fileName, input.stream, maxBytes);
  else throw new AppError('validation', 'ファイルを選んでください。', { fieldErrors: { file: 'ファイルを選んでください。' } });
  if (bytes.length > maxBytes) throw tooLarge(fileName, maxBytes, bytes.length);

  // Parsed in a worker thread under the PDF budgets: a hostile upload cannot stall the server.
  const info = await inspectUntrustedPdf(bytes, { maxBytes, fileName });
  const sha256 = sha256Hex(bytes);
  const dup = await db.document.findFirst({ where: { envelopeId, sha256 }, select: { fileName: true } });
  if (dup) throw duplicateError(fileName, dup.fileName);

  const pending = await writeBlobFile(bytes, { contentType: 'application/pdf' });
  try {
    return await db.$transaction(async (tx) => {
      const env = await lockEnvelope(tx, actor, envelopeId);
      requireDraft(env);
      const again = await tx.document.findFirst({ where: { envelopeId, sha256 }, select: { fileName: true } });
      if (again) throw duplicateError(fileName, again.fileName);
      const blob = await insertBlobRow(tx, pending);
      const last = await tx.document.aggregate({ where: { envelopeId }, _max: { position: true } });
      const doc = await tx.document.create({
        data: {
          envelopeId,
          position: (last._max.position ?? 0) + 1,
          fileName,
          contentType: 'application/pdf',
          sizeBytes: BigInt(bytes.length),
          pageCount: info.pageCount,
          pdfVersion: info.version,
          sha256,
          originalBlobId: blob.id,
        },
      });
      await recordAudit(tx, {
        ...staffAuditFields(actor, ctx),
        envelopeId,
        action: 'document.added',
        details: { documentId: doc.id, fileName, sha256, sizeBytes: bytes.length, pageCount: info.pageCount },
      });
      return doc;
    });
  } catch (e) {
    await discardBlobFile(pending.storageKey).catch(() => undefined);
    throw e;
  }
}

async function renumber(tx: Tx, envelopeId: string, orderedIds: string[]) {
  if (orderedIds.length === 0) return;
  // Two phases so the (envelope_id, position) unique constraint never sees a collision.
  await tx.$executeRaw`UPDATE "documents" SET "position" = -"position" - 1000000 WHERE "envelope_id" = ${envelopeId}::uuid`;
  for (let i = 0; i < orderedIds.length; i++) {
    await tx.document.update({ where: { id: orderedIds[i] }, data: { position: i + 1 } });
  }
}

export async function removeDocument(
  db: Db,
  actor: StaffActor,
  envelopeId: string,
  documentId: string,
  ctx: ServiceContext = {},
): Promise<void> {
  const storageKey = await db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, envelopeId);
    requireDraft(env);
    const doc = UUID_RE.test(documentId) ? await tx.document.findFirst({ where: { id: documentId, envelopeId } }) : null;
    if (!doc) throw notFound('文書');
    await tx.document.delete({ where: { id: doc.id } });
    const blob = await tx.storedBlob.delete({ where: { id: doc.originalBlobId } });
    const rest = await tx.document.findMany({ where: { envelopeId }, orderBy: { position: 'asc' }, select: { id: true } });
    await renumber(tx, envelopeId, rest.map((d) => d.id));
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      envelopeId,
      action: 'document.removed',
      details: { documentId: doc.id, fileName: doc.fileName, sha256: doc.sha256 },
    });
    return blob.storageKey;
  });
  await getStorageBackend().delete(storageKey).catch(() => undefined);
}

export async function reorderDocuments(
  db: Db,
  actor: StaffActor,
  envelopeId: string,
  documentIds: string[],
  ctx: ServiceContext = {},
): Promise<Document[]> {
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, envelopeId);
    requireDraft(env);
    const docs = await tx.document.findMany({ where: { envelopeId }, select: { id: true } });
    const current = new Set(docs.map((d) => d.id));
    const valid =
      Array.isArray(documentIds) &&
      documentIds.length === current.size &&
      new Set(documentIds).size === documentIds.length &&
      documentIds.every((id) => current.has(id));
    if (!valid) {
      throw new AppError('validation', '文書の並び順が正しくありません。画面を再読み込みしてください。', {
        fieldErrors: { documents: '文書の並び順が正しくありません。' },
      });
    }
    await renumber(tx, envelopeId, documentIds);
    await recordAudit(tx, { ...staffAuditFields(actor, ctx), envelopeId, action: 'document.reordered', details: { documentIds } });
    return tx.document.findMany({ where: { envelopeId }, orderBy: { position: 'asc' } });
  });
}
