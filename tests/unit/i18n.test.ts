/**
 * The message catalogue: every Japanese key has an English text with the same {placeholders} (so an
 * English page never silently falls back to Japanese), and the public pages' link-problem texts are
 * the same words the API returns (lib/envelopes).
 */
import { describe, expect, it } from 'vitest';
import { DOWNLOAD_PROBLEM_MESSAGES, LINK_PROBLEM_MESSAGES } from '../../lib/envelopes';
import { t, type MessageKey } from '../../lib/i18n';
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
