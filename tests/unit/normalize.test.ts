import { describe, expect, it } from 'vitest';
import { normalizeForSearch } from '../../lib/search/normalize';

describe('normalizeForSearch', () => {
  it('treats ㈱, （株）, (株) and 株式会社 alike', () => {
    const n = normalizeForSearch('株式会社山田建設');
    expect(normalizeForSearch('㈱山田建設')).toBe(n);
    expect(normalizeForSearch('（株）山田建設')).toBe(n);
    expect(normalizeForSearch('(株)山田建設')).toBe(n);
  });
  it('folds width, case, half-width katakana and spaces', () => {
    expect(normalizeForSearch('ＡＢＣ　ｼｽﾃﾑ')).toBe(normalizeForSearch('abc システム'));
    expect(normalizeForSearch('ＡＢＣ１２３')).toBe('abc123');
  });
});
