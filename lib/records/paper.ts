/**
 * 書面契約: register a paper contract with the same search fields and a scanned PDF, so the same
 * search finds it. The envelope is created `is_paper`, with one document of kind `paper_scan`
 * (encrypted via lib/storage), then marked `completed` — from then on the database refuses
 * replacing or deleting the scan, like any sealed file. One transaction, with an AuditEvent
 * `paper.registered`; the stored file is removed again when the transaction fails.
 *
 * Permission rule: staff and admins of the organisation may register.
 */
import { recordAudit, staffAuditFields } from '../audit';
import type { StaffActor } from '../auth/types';
import { getConfig } from '../config';
import type { Db } from '../db';
import { cleanFileName, envelopeInputSchema, newDocumentNumber, parseInput, type ServiceContext } from '../envelopes';
import { AppError } from '../errors';
import type { Envelope } from '../generated/prisma/client';
import { inspectUntrustedPdf } from '../pdfpool';
import { normalizeForSearch } from '../search';
import { sha256Hex } from '../security';
import { discardBlobFile, insertBlobRow, writeBlobFile } from '../storage';

export const paperContractSchema = envelopeInputSchema.omit({ message: true });

export interface PaperScan {
  fileName: string;
  bytes: Uint8Array;
}

export async function registerPaperContract(
  db: Db,
  actor: StaffActor,
  input: unknown,
  scan: PaperScan | null | undefined,
  ctx: ServiceContext = {},
): Promise<Envelope> {
  const data = parseInput(paperContractSchema, input);
  if (!scan || scan.bytes.length === 0) {
    throw new AppError('validation', 'スキャンした契約書（PDF）を選んでください。', {
      fieldErrors: { file: 'スキャンした契約書（PDF）を選んでください。' },
    });
  }
  const fileName = cleanFileName(scan.fileName);
  const maxBytes = getConfig().maxUploadBytes;
  // A paper scan is only stored, never sealed: a signed file that forbids changes is fine here.
  const info = await inspectUntrustedPdf(scan.bytes, { maxBytes, fileName, allowLocked: true });
  const sha256 = sha256Hex(scan.bytes);
  const now = ctx.now ?? new Date();
  const pending = await writeBlobFile(scan.bytes, { contentType: 'application/pdf' });
  try {
    return await db.$transaction(async (tx) => {
      const blob = await insertBlobRow(tx, pending);
      const env = await tx.envelope.create({
        data: {
          organizationId: actor.organizationId,
          createdById: actor.userId,
          documentNumber: newDocumentNumber(),
          title: data.title,
          counterparty: data.counterparty,
          counterpartyNormalized: normalizeForSearch(data.counterparty),
          transactionDate: data.transactionDate,
          amount: data.amount,
          amountTaxIncluded: data.amountTaxIncluded,
          taxAmount: data.taxAmount,
          contractNumber: data.contractNumber,
          isPaper: true,
          status: 'draft',
        },
      });
      const doc = await tx.document.create({
        data: {
          envelopeId: env.id,
          position: 1,
          kind: 'paper_scan',
          fileName,
          contentType: 'application/pdf',
          sizeBytes: BigInt(scan.bytes.length),
          pageCount: info.pageCount,
          pdfVersion: info.version,
          sha256,
          originalBlobId: blob.id,
        },
      });
      const completed = await tx.envelope.update({ where: { id: env.id }, data: { status: 'completed', completedAt: now } });
      await recordAudit(tx, {
        ...staffAuditFields(actor, { ...ctx, now }),
        envelopeId: env.id,
        action: 'paper.registered',
        details: {
          documentNumber: env.documentNumber,
          title: data.title,
          documentId: doc.id,
          fileName,
          sha256,
          sizeBytes: scan.bytes.length,
          pageCount: info.pageCount,
        },
      });
      return completed;
    });
  } catch (e) {
    await discardBlobFile(pending.storageKey).catch(() => undefined);
    throw e;
  }
}
