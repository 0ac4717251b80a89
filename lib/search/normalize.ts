/**
 * Normalisation for Japanese name matching (取引先 search). Applied to the stored column
 * `envelopes.counterparty_normalized` and to every query, so both sides compare equal:
 * - NFKC: full-width ASCII → half-width, half-width katakana → full-width, ㈱ → (株)
 * - lower case
 * - corporate-form abbreviations expanded: (株)/（株）/㈱ → 株式会社, (有) → 有限会社, …
 * - white space removed (「山田 商事」 = 「山田商事」)
 */
const FORMS: Record<string, string> = {
  株: '株式会社',
  有: '有限会社',
  合: '合同会社',
  同: '合同会社',
  名: '合名会社',
  資: '合資会社',
  社: '社団法人',
  財: '財団法人',
  医: '医療法人',
};

export function normalizeForSearch(input: string): string {
  let s = input.normalize('NFKC').toLowerCase();
  s = s.replace(/\(([株有合同名資社財医])\)/g, (_, k: string) => FORMS[k] ?? k);
  s = s.replace(/[\s\u3000]+/g, '');
  return s;
}
