/**
 * Corrections of the search fields (取引先・取引年月日・取引金額・消費税額・税込/税抜・契約番号・案件名).
 * Each changed field becomes one EnvelopeCorrection row (who, when, old → new, reason) —
 * append-only: the table refuses UPDATE/DELETE — and the envelope is updated in the same
 * transaction, together with an AuditEvent `envelope.corrected`. On a completed envelope the
 * database refuses any change of these fields that has no correction row in the same transaction.
 *
 * Permission rule: admins may correct any envelope of their organisation; staff the envelopes
 * they created. Not while sealing (the seal would describe other values).
 */
import { z } from 'zod';
import { recordAudit, type RequestContext, staffAuditFields } from '../audit';
import type { StaffActor } from '../auth/types';
import type { Db } from '../db';
import { dateOnlySchema, formBoolean, lockEnvelope, parseInput, yenSchema } from '../envelopes';
import { AppError } from '../errors';
import type { Envelope, EnvelopeCorrection } from '../generated/prisma/client';
import { normalizeForSearch } from '../search';

export const CORRECTABLE_FIELDS = [
  'title',
  'counterparty',
  'transactionDate',
  'amount',
  'amountTaxIncluded',
  'taxAmount',
  'contractNumber',
] as const;
export type CorrectableField = (typeof CORRECTABLE_FIELDS)[number];

export const FIELD_LABELS: Record<CorrectableField, string> = {
  title: '案件名',
  counterparty: '取引先',
  transactionDate: '取引年月日',
  amount: '取引金額',
  amountTaxIncluded: '税込/税抜',
  taxAmount: '消費税額等',
  contractNumber: '契約番号',
};

const text = (label: string, max: number, required: boolean) =>
  z
    .union([z.string(), z.null()])
    .transform((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null))
    .refine((v) => !required || v !== null, { error: `${label}は空にできません。` })
    .refine((v) => v === null || v.length <= max, { error: `${label}は${max}文字以内で入力してください。` });

/** Only the keys present are changed; '' / null empties an optional field. */
export const correctionChangesSchema = z
  .object({
    title: text('案件名', 200, true).optional(),
    counterparty: text('取引先', 200, true).optional(),
    transactionDate: dateOnlySchema('取引年月日').optional(),
    amount: yenSchema('取引金額').optional(),
    amountTaxIncluded: formBoolean(true).optional(),
    taxAmount: yenSchema('消費税額').optional(),
    contractNumber: text('契約番号', 100, false).optional(),
  })
  .strict();
export type CorrectionChangesInput = z.input<typeof correctionChangesSchema>;

export const correctionReasonSchema = z
  .string({ error: '訂正理由を入力してください。' })
  .trim()
  .min(1, { error: '訂正理由を入力してください。' })
  .max(500, { error: '訂正理由は500文字以内で入力してください。' });

/** The text stored in old_value/new_value (the database trigger compares the same forms). */
function asText(field: CorrectableField, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (field === 'transactionDate') return (v as Date).toISOString().slice(0, 10);
  if (field === 'amount' || field === 'taxAmount') return (v as bigint).toString();
  if (field === 'amountTaxIncluded') return v ? 'true' : 'false';
  return String(v);
}

export interface CorrectionResult {
  envelope: Envelope;
  corrections: EnvelopeCorrection[];
}

export async function correctEnvelopeFields(
  db: Db,
  actor: StaffActor,
  envelopeId: string,
  changes: unknown,
  reason: unknown,
  ctx: RequestContext & { now?: Date } = {},
): Promise<CorrectionResult> {
  const c = parseInput(correctionChangesSchema, changes);
  const why = parseInput(z.object({ reason: correctionReasonSchema }), { reason }).reason;
  return db.$transaction(async (tx) => {
    const env = await lockEnvelope(tx, actor, envelopeId);
    if (actor.role !== 'admin' && env.createdById !== actor.userId) {
      throw new AppError('forbidden', 'この封筒の記録を訂正する権限がありません（管理者または作成者のみ）。');
    }
    if (env.status === 'sealing') {
      throw new AppError('invalid_state', '封緘処理中は訂正できません。完了後にもう一度お試しください。');
    }
    const diffs: { field: CorrectableField; oldValue: string | null; newValue: string | null }[] = [];
    const data: Record<string, unknown> = {};
    for (const field of CORRECTABLE_FIELDS) {
      if (!(field in c) || c[field] === undefined) continue;
      const oldValue = asText(field, env[field]);
      const newValue = asText(field, c[field]);
      if (oldValue === newValue) continue;
      diffs.push({ field, oldValue, newValue });
      data[field] = c[field];
    }
    if (diffs.length === 0) {
      throw new AppError('validation', '変更された項目がありません。', { fieldErrors: { _: '変更された項目がありません。' } });
    }
    if (data.counterparty !== undefined) data.counterpartyNormalized = normalizeForSearch(data.counterparty as string);
    const at = ctx.now ?? new Date();
    // Correction rows first: the envelopes trigger checks they exist in this transaction.
    const corrections: EnvelopeCorrection[] = [];
    for (const d of diffs) {
      corrections.push(
        await tx.envelopeCorrection.create({
          data: { envelopeId: env.id, userId: actor.userId, field: d.field, oldValue: d.oldValue, newValue: d.newValue, reason: why, createdAt: at },
        }),
      );
    }
    const envelope = await tx.envelope.update({ where: { id: env.id }, data });
    await recordAudit(tx, {
      ...staffAuditFields(actor, { ...ctx, now: at }),
      envelopeId: env.id,
      action: 'envelope.corrected',
      details: { reason: why, changes: diffs },
    });
    return { envelope, corrections };
  });
}

export interface CorrectionEntry {
  id: string;
  field: string;
  fieldLabel: string;
  oldValue: string | null;
  newValue: string | null;
  reason: string;
  createdAt: Date;
  userName: string;
  userEmail: string;
}

/** The correction history of an envelope of the actor's organisation, oldest first. */
export async function listCorrections(db: Db, actor: StaffActor, envelopeId: string): Promise<CorrectionEntry[]> {
  const rows = await db.envelopeCorrection.findMany({
    where: { envelopeId, envelope: { organizationId: actor.organizationId } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    include: { user: { select: { name: true, email: true } } },
  });
  // Rows of one correction share created_at: show them in the form's field order.
  const rank = (f: string) => {
    const i = (CORRECTABLE_FIELDS as readonly string[]).indexOf(f);
    return i < 0 ? CORRECTABLE_FIELDS.length : i;
  };
  rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || rank(a.field) - rank(b.field));
  return rows.map((r) => ({
    id: r.id,
    field: r.field,
    fieldLabel: (FIELD_LABELS as Record<string, string>)[r.field] ?? r.field,
    oldValue: r.oldValue,
    newValue: r.newValue,
    reason: r.reason,
    createdAt: r.createdAt,
    userName: r.user.name,
    userEmail: r.user.email,
  }));
}
