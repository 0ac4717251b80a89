/** Input schemas: form strings are normalised; invalid input gives field-level Japanese messages. */
import { describe, expect, it } from 'vitest';
import { envelopeInputSchema, fieldErrorsOf, newDocumentNumber, recipientInputSchema } from '../../lib/envelopes';

describe('envelopeInputSchema', () => {
  it('accepts form strings (commas, 円, full-width digits, slashes, checkbox values)', () => {
    const d = envelopeInputSchema.parse({
      title: ' 案件 ',
      counterparty: '㈱川口建設',
      transactionDate: '２０２６/４/１',
      amount: '１２，３４５，０００円',
      amountTaxIncluded: 'on',
      taxAmount: '',
      contractNumber: '',
    });
    expect(d).toMatchObject({ title: '案件', amount: 12_345_000n, amountTaxIncluded: true, taxAmount: null, contractNumber: null, message: null });
    expect(d.transactionDate?.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(envelopeInputSchema.parse({ title: 'a', counterparty: 'b' })).toMatchObject({ amount: null, transactionDate: null, amountTaxIncluded: true });
    expect(envelopeInputSchema.parse({ title: 'a', counterparty: 'b', amount: 0, amountTaxIncluded: 'false' })).toMatchObject({ amount: 0n, amountTaxIncluded: false });
  });

  it('strips control characters (no header injection through the title)', () => {
    const d = envelopeInputSchema.parse({ title: '案件\r\nBcc: evil@example.com', counterparty: 'b', message: '一行目\r\n二行目\u0007' });
    expect(d.title).toBe('案件 Bcc: evil@example.com');
    expect(d.message).toBe('一行目\n二行目');
  });

  it('reports each bad field', () => {
    const r = envelopeInputSchema.safeParse({ title: 'x'.repeat(201), counterparty: '', amount: 'abc', transactionDate: '2026-13-01' });
    expect(r.success).toBe(false);
    expect(fieldErrorsOf(r.error!)).toEqual({
      title: '案件名は200文字以内で入力してください。',
      counterparty: '取引先を入力してください。',
      amount: '取引金額は数字で入力してください。',
      transactionDate: '取引年月日を正しい日付（例: 2026-04-01）で入力してください。',
    });
    expect(fieldErrorsOf(envelopeInputSchema.safeParse({}).error!)).toMatchObject({ title: '案件名を入力してください。', counterparty: '取引先を入力してください。' });
    expect(fieldErrorsOf(envelopeInputSchema.safeParse({ title: 'a', counterparty: 'b', amount: -1 }).error!)).toEqual({ amount: '取引金額は0以上の金額を入力してください。' });
  });
});

describe('recipientInputSchema', () => {
  it('defaults and normalises', () => {
    expect(recipientInputSchema.parse({ name: '山田', email: ' Ｙａｍａｄａ@example.jp ', order: '2' })).toMatchObject({
      role: 'signer',
      partyType: 'supplier',
      order: 2,
      email: 'Yamada@example.jp',
      accessCode: null,
      requireEmailOtp: false,
    });
  });
  it('refuses a bad email with a Japanese message', () => {
    for (const email of ['', 'a@b', 'a b@example.jp', '山田']) {
      const r = recipientInputSchema.safeParse({ name: '山田', email });
      expect(r.success).toBe(false);
      expect(fieldErrorsOf(r.error!).email).toMatch(/メールアドレス/);
    }
  });
});

describe('書類ID', () => {
  it('is short, Crockford base32 and different each time', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newDocumentNumber()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^TS-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
  });
});

describe('formatDateTimeJa', () => {
  it('shows Asia/Tokyo wall time in 西暦 with a 24-hour clock', async () => {
    const { formatDateTimeJa } = await import('../../lib/envelopes');
    expect(formatDateTimeJa(new Date('2026-12-26T15:00:00Z'))).toBe('2026年12月27日 00:00');
    expect(formatDateTimeJa(new Date('2026-04-01T05:07:00Z'))).toBe('2026年4月1日 14:07');
  });
});

describe('characters the 合意締結証明書 cannot print', () => {
  it('are refused at entry with the field and the character named; every name character passes', () => {
    const r = recipientInputSchema.safeParse({ name: '山田😀', email: 'a@example.jp', company: '株式会社🍣', title: '課長' });
    expect(r.success).toBe(false);
    const errors = fieldErrorsOf(r.error!);
    expect(errors.name).toBe('氏名に合意締結証明書に印字できない文字が含まれています: 「😀」（U+1F600）。絵文字などは使えません。別の文字に置き換えてください。');
    expect(errors.company).toContain('「🍣」（U+1F363）');
    expect(errors.title).toBeUndefined();
    const ok = recipientInputSchema.parse({ name: '𠮷田 髙橋', email: 'a@example.jp', company: '株式会社𡈽屋', title: '葛\u{E0100}城課長' });
    expect(ok.name).toBe('𠮷田 髙橋');
    const env = envelopeInputSchema.safeParse({ title: '契約🎉', counterparty: '㈱きれい✨' });
    expect(env.success).toBe(false);
    expect(Object.keys(fieldErrorsOf(env.error!)).sort()).toEqual(['counterparty', 'title']);
  });
});
