/**
 * The message catalogue: every Japanese key has an English text with the same {placeholders} (so an
 * English page never silently falls back to Japanese), and the public pages' link-problem texts are
 * the same words the API returns (lib/envelopes).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOWNLOAD_PROBLEM_MESSAGES, LINK_PROBLEM_MESSAGES } from '../../lib/envelopes';
import { localizeApiMessage, t, type MessageKey } from '../../lib/i18n';
import { en } from '../../lib/i18n/en';
import { ja } from '../../lib/i18n/ja';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n catalogue', () => {
  it('ja and en have the same keys and placeholders', () => {
    const jaKeys = Object.keys(ja).sort();
    expect(Object.keys(en).sort()).toEqual(jaKeys);
    for (const k of jaKeys as MessageKey[]) {
      expect(en[k], k).toBeTruthy();
      expect(placeholders(en[k]!), k).toEqual(placeholders(ja[k]));
    }
  });

  it('t() fills placeholders and defaults to Japanese', () => {
    expect(t('ja', 'verify.result', { result: t('ja', 'verify.valid') })).toBe('検証結果：有効');
    expect(t('en', 'verify.result', { result: t('en', 'verify.valid') })).toBe('Result: Valid');
    expect(t('ja', 'download.period', { days: 14 })).toBe('ダウンロード有効期間：14日間');
  });

  it('link problem pages use the same Japanese as the API errors', () => {
    for (const [p, m] of Object.entries(LINK_PROBLEM_MESSAGES)) {
      expect(ja[`linkProblem.${p}.title` as MessageKey]).toBe(m.title);
      expect(ja[`linkProblem.${p}.body` as MessageKey]).toBe(m.body);
    }
    for (const [p, m] of Object.entries(DOWNLOAD_PROBLEM_MESSAGES)) {
      expect(ja[`downloadProblem.${p}.title` as MessageKey]).toBe(m.title);
      expect(ja[`downloadProblem.${p}.body` as MessageKey]).toBe(m.body);
    }
  });

  it('keeps the signing page wording the domain requires', () => {
    expect(ja['sign.review']).toBe('文書を確認する');
    expect(ja['sign.complete']).toBe('完了');
    expect(ja['sign.confirm.submit']).toBe('署名手続きを完了する');
  });
});

describe('localizeApiMessage (API errors on the English public pages)', () => {
  it('gives known messages in English, with their values; Japanese and unknown messages unchanged', () => {
    const wrong = 'アクセスコードが正しくありません（あと2回間違えると一時的にロックされます）。';
    expect(localizeApiMessage('ja', wrong)).toBe(wrong);
    expect(localizeApiMessage('en', wrong)).toBe('The access code is incorrect (2 more incorrect attempts will lock it for a while).');
    expect(localizeApiMessage('en', '入力の誤りが続いたため、一時的にロックされています。2026/11/27 08:45:00 以降に再度お試しください。')).toBe(
      'Too many incorrect attempts: input is locked for a while. Please try again after 2026/11/27 08:45:00.',
    );
    expect(localizeApiMessage('en', '確認コードが正しくありません。')).toBe('The verification code is incorrect.');
    expect(localizeApiMessage('en', 'ファイルが大きすぎます（上限 50 MB）。')).toBe('The file is too large (limit 50 MB).');
    expect(localizeApiMessage('en', '未知のエラー')).toBe('未知のエラー');
    // Link problems as the signer's API reports them (lib/envelopes: `${title}。${body}`).
    for (const [p, m] of Object.entries(LINK_PROBLEM_MESSAGES)) {
      const en = localizeApiMessage('en', `${m.title}。${m.body}`);
      expect(en).toBe(`${t('en', `linkProblem.${p}.title` as MessageKey)}. ${t('en', `linkProblem.${p}.body` as MessageKey)}`);
    }
  });

  it('every apiError text is still written by the server code (so a reworded message is noticed)', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const sources = ['lib/envelopes/signing.ts', 'app/api/sign/_shared.ts', 'app/api/verify/route.ts', 'app/_lib/api.ts']
      .map((f) => readFileSync(path.join(root, f), 'utf8'))
      .join('\n');
    for (const k of Object.keys(ja).filter((x) => x.startsWith('apiError.') && x !== 'apiError.link') as MessageKey[]) {
      for (const piece of ja[k].split(/\{\w+\}/).filter((x) => x.length > 1)) expect(sources, `${k}: ${piece}`).toContain(piece);
    }
  });
});
