/**
 * Input schemas of the envelope service, with field-level Japanese messages. The UI reuses them
 * (they accept raw form strings: 「12,345,000」, 「１２３」, '' for empty, 'on' for checkboxes).
 * `fieldErrorsOf` / `parseInput` turn a failure into AppError('validation', …, { fieldErrors }).
 */
import { z } from 'zod';
import { unprintableCharacters, unprintableMessage } from '../certificate';
import { AppError } from '../errors';

const nfkc = (v: string) => v.normalize('NFKC');

/** Control characters out (newlines too unless multiline): nothing can break an email header or a PDF line. */
// eslint-disable-next-line no-control-regex
const clean = (multiline: boolean) => (v: string) => (multiline ? v.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '') : v.replace(/[\u0000-\u001f\u007f]+/g, ' '));

const requiredText = (label: string, max: number, multiline = false) =>
  z
    .string({ error: `${label}を入力してください。` })
    .transform(clean(multiline))
    .pipe(
      z
        .string()
        .trim()
        .min(1, { error: `${label}を入力してください。` })
        .max(max, { error: `${label}は${max}文字以内で入力してください。` }),
    );

const optionalText = (label: string, max: number, multiline = false) =>
  z
    .union([z.string(), z.null()]).optional()
    .transform((v) => (typeof v === 'string' && v.trim() !== '' ? clean(multiline)(v).trim() : null))
    .refine((v) => v === null || v.length <= max, { error: `${label}は${max}文字以内で入力してください。` });

/** Printed on the 合意締結証明書: refuse characters no certificate font has (emoji…) rather than print boxes. */
const onCertificate = (label: string) => (v: string | null, ctx: z.RefinementCtx) => {
  const bad = v ? unprintableCharacters(v) : [];
  if (bad.length) ctx.addIssue({ code: 'custom', message: unprintableMessage(label, bad) });
};

/** Integer 円 ≥ 0 from a number, bigint or a form string (commas, 円, full-width digits allowed). Empty → null. */
export const yenSchema = (label: string) =>
  z.union([z.string(), z.number(), z.bigint(), z.null()]).optional().transform((v, ctx): bigint | null => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'bigint') {
      if (v < 0n) {
        ctx.addIssue({ code: 'custom', message: `${label}は0以上の金額を入力してください。` });
        return z.NEVER;
      }
      return v;
    }
    const s = typeof v === 'number' ? String(v) : nfkc(v).replace(/[,\s円¥￥]/g, '');
    if (s === '') return null;
    if (!/^-?\d+(\.\d+)?$/.test(s) || (typeof v === 'number' && !Number.isFinite(v))) {
      ctx.addIssue({ code: 'custom', message: `${label}は数字で入力してください。` });
      return z.NEVER;
    }
    if (s.startsWith('-')) {
      ctx.addIssue({ code: 'custom', message: `${label}は0以上の金額を入力してください。` });
      return z.NEVER;
    }
    if (s.includes('.')) {
      ctx.addIssue({ code: 'custom', message: `${label}は1円単位の整数で入力してください。` });
      return z.NEVER;
    }
    if (s.replace(/^0+/, '').length > 15) {
      ctx.addIssue({ code: 'custom', message: `${label}が大きすぎます。` });
      return z.NEVER;
    }
    return BigInt(s);
  });

/** 'YYYY-MM-DD' (or a Date) → UTC-midnight Date; '' → null. */
export const dateOnlySchema = (label: string) =>
  z.union([z.string(), z.date(), z.null()]).optional().transform((v, ctx): Date | null => {
    if (v === null || v === undefined) return null;
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) {
        ctx.addIssue({ code: 'custom', message: `${label}を正しい日付で入力してください。` });
        return z.NEVER;
      }
      return new Date(Date.UTC(v.getUTCFullYear(), v.getUTCMonth(), v.getUTCDate()));
    }
    const s = nfkc(v).trim().replace(/\//g, '-');
    if (s === '') return null;
    const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
    const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
    if (!m || !d || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3]) || Number(m[1]) < 1900 || Number(m[1]) > 2200) {
      ctx.addIssue({ code: 'custom', message: `${label}を正しい日付（例: 2026-04-01）で入力してください。` });
      return z.NEVER;
    }
    return d;
  });

/** Checkbox-friendly boolean: true/false, 'on', 'true', '1', 'false', '0', ''. */
export const formBoolean = (def: boolean) =>
  z
    .union([z.boolean(), z.string(), z.null()]).optional()
    .transform((v) => (v === null || v === undefined ? def : typeof v === 'boolean' ? v : ['on', 'true', '1', 'yes'].includes(v.toLowerCase())));

export const envelopeInputSchema = z.object({
  /** 案件名 */
  title: requiredText('案件名', 200).superRefine(onCertificate('案件名')),
  /** 取引先 */
  counterparty: requiredText('取引先', 200).superRefine(onCertificate('取引先')),
  /** 取引年月日 */
  transactionDate: dateOnlySchema('取引年月日'),
  /** 取引金額 (integer 円) */
  amount: yenSchema('取引金額'),
  amountTaxIncluded: formBoolean(true),
  /** うち消費税額等 */
  taxAmount: yenSchema('消費税額'),
  /** 契約番号 */
  contractNumber: optionalText('契約番号', 100),
  /** Message to the parties (in the request email). */
  message: optionalText('メッセージ', 2000, true),
});
export type EnvelopeInput = z.input<typeof envelopeInputSchema>;
export type EnvelopeData = z.output<typeof envelopeInputSchema>;

const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

export const emailSchema = z
  .string({ error: 'メールアドレスを入力してください。' })
  .transform((v) => nfkc(v).trim())
  .pipe(
    z
      .string()
      .min(1, { error: 'メールアドレスを入力してください。' })
      .max(254, { error: 'メールアドレスが長すぎます。' })
      .regex(EMAIL_RE, { error: 'メールアドレスの形式が正しくありません（例: keiyaku@example.co.jp）。' }),
  );

export const recipientInputSchema = z.object({
  role: z.enum(['signer', 'cc'], { error: '種別を選んでください。' }).default('signer'),
  partyType: z.enum(['supplier', 'municipal'], { error: '区分を選んでください。' }).default('supplier'),
  /** 1-based; equal orders sign in parallel. */
  order: z.coerce
    .number({ error: '順番は1以上の整数で入力してください。' })
    .int({ error: '順番は1以上の整数で入力してください。' })
    .min(1, { error: '順番は1以上の整数で入力してください。' })
    .max(100, { error: '順番は100以下で入力してください。' })
    .default(1),
  /** 氏名 */
  name: requiredText('氏名', 100).superRefine(onCertificate('氏名')),
  email: emailSchema,
  /** 役職 / 職氏名 */
  title: optionalText('役職', 100).superRefine(onCertificate('役職')),
  /** 会社名 / 所属 */
  company: optionalText('会社名', 200).superRefine(onCertificate('会社名')),
  /** アクセスコード (told to the signer out of band); stored as an argon2 hash. */
  accessCode: z
    .union([z.string(), z.null()]).optional()
    .transform((v) => (typeof v === 'string' && v !== '' ? v : null))
    .refine((v) => v === null || /^[\x21-\x7e]{4,40}$/.test(v), {
      error: 'アクセスコードは4〜40文字の半角英数字・記号で入力してください。',
    }),
  /** 高度な認証: email one-time code as a second factor. */
  requireEmailOtp: formBoolean(false),
});
export type RecipientInput = z.input<typeof recipientInputSchema>;
export type RecipientData = z.output<typeof recipientInputSchema>;

export const recipientsInputSchema = z
  .array(recipientInputSchema)
  .max(50, { error: '宛先は50件までです。' })
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((r, i) => {
      const key = `${r.role}:${r.email.toLowerCase()}`;
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: [i, 'email'], message: 'このメールアドレスは既に追加されています。' });
      } else seen.set(key, i);
    });
  });

export const voidInputSchema = z.object({
  reason: requiredText('取消理由', 500, true),
});

export const listEnvelopesSchema = z.object({
  status: z
    .enum(['draft', 'sent', 'in_progress', 'sealing', 'completed', 'declined', 'voided', 'expired'])
    .optional()
    .catch(undefined),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50).catch(50),
});

/** Field path → first message, e.g. { title: '案件名を入力してください。', 'recipients.0.email': '…' }. */
export function fieldErrorsOf(error: z.ZodError, prefix?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.') || '_';
    out[key] ??= issue.message;
  }
  return out;
}

/** Parse one form field or throw AppError('validation') whose message is that field's message. */
export function parseField<S extends z.ZodType>(schema: S, input: unknown, field: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const message = r.error.issues[0].message;
    throw new AppError('validation', message, { fieldErrors: { [field]: message } });
  }
  return r.data;
}

/** Parse or throw AppError('validation') with field-level messages. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix?: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new AppError('validation', '入力内容に誤りがあります。各項目のメッセージを確認してください。', {
      fieldErrors: fieldErrorsOf(r.error, prefix),
    });
  }
  return r.data;
}
