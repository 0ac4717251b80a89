/**
 * 真実性: a completed contract's files can be neither replaced nor deleted.
 *
 * Enforced twice: here (a clear Japanese AppError before anything is attempted) and in the
 * database (triggers of migration 20261126225931_search_and_records on documents, stored_blobs,
 * completion_certificates and envelopes raise SQLSTATE 42501 with a message starting
 * "sealed_file:"), so no code path — including direct SQL — can do it silently.
 */
import type { Db, Tx } from '../db';
import { AppError } from '../errors';

export const SEALED_FILE_MESSAGE = '締結済みの契約の文書・証明書は差し替えも削除もできません（電子帳簿保存法の真実性の確保）。';

export function sealedFileError(details?: Record<string, unknown>): AppError {
  return new AppError('invalid_state', SEALED_FILE_MESSAGE, { details });
}

function texts(e: unknown, depth = 0): string[] {
  if (!e || typeof e !== 'object' || depth > 4) return typeof e === 'string' ? [e] : [];
  const o = e as { message?: unknown; meta?: unknown; cause?: unknown };
  const out: string[] = [];
  if (typeof o.message === 'string') out.push(o.message);
  if (o.meta && typeof o.meta === 'object') out.push(JSON.stringify(o.meta));
  if (o.cause) out.push(...texts(o.cause, depth + 1));
  return out;
}

/** Did the database refuse this because it would replace or delete a sealed file? */
export function isSealedFileViolation(e: unknown): boolean {
  return texts(e).some((t) => t.includes('sealed_file:'));
}

/** Run `fn`; a database refusal by the sealed-file triggers becomes AppError('invalid_state'). */
export async function guardSealedFiles<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isSealedFileViolation(e)) throw sealedFileError();
    throw e;
  }
}

/** Are this envelope's files frozen (completed, or any document already sealed)? */
export async function filesAreSealed(db: Db | Tx, envelopeId: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ sealed: boolean }[]>`
    SELECT (EXISTS (SELECT 1 FROM "envelopes" WHERE "id" = ${envelopeId}::uuid AND "status" = 'completed')
         OR EXISTS (SELECT 1 FROM "documents" WHERE "envelope_id" = ${envelopeId}::uuid AND "sealed_blob_id" IS NOT NULL)
         OR EXISTS (SELECT 1 FROM "completion_certificates" WHERE "envelope_id" = ${envelopeId}::uuid)) AS sealed`;
  return rows[0]?.sealed ?? false;
}

/**
 * Call before replacing or deleting any file of an envelope: throws AppError('invalid_state')
 * when the envelope is completed or has sealed files.
 */
export async function assertFilesMutable(db: Db | Tx, envelopeId: string): Promise<void> {
  if (await filesAreSealed(db, envelopeId)) throw sealedFileError({ envelopeId });
}
