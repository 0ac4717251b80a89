import { describe, expect, it } from 'vitest';
import { formatDate, formatDateTime, formatDateTimeWithWareki, formatDateWithWareki, formatWareki, formatYen, todayInTokyo } from '../../lib/format';

describe('format', () => {
  it('shows amounts in 円 with separators', () => {
    expect(formatYen(12345000n)).toBe('12,345,000円');
    expect(formatYen(0)).toBe('0円');
    expect(formatYen(null)).toBe('');
  });
  it('shows date-only values as that calendar day in 西暦 and 和暦', () => {
    expect(formatDate('2026-11-27')).toBe('2026年11月27日');
    expect(formatDate(new Date('2026-11-27T00:00:00Z'))).toBe('2026年11月27日');
    expect(formatWareki('2026-11-27')).toBe('令和8年11月27日');
    expect(formatWareki('2019-05-01')).toBe('令和元年5月1日');
  });
  it('shows instants in Asia/Tokyo', () => {
    expect(formatDateTime(new Date('2026-11-26T23:30:00Z'))).toBe('2026/11/27 08:30:00');
    expect(todayInTokyo(new Date('2026-11-26T15:30:00Z'))).toBe('2026-11-27');
  });
  it('shows a date with its 和暦 in the page language', () => {
    expect(formatDateWithWareki('2026-04-05', true)).toBe('2026年4月5日（令和8年4月5日）');
    expect(formatDateWithWareki('2026-04-05', false)).toBe('2026年4月5日');
    expect(formatDateWithWareki('2026-04-05', true, 'en')).toBe('2026-04-05 (令和8年4月5日)');
    expect(formatDateWithWareki('2026-04-05', false, 'en')).toBe('2026-04-05');
  });
  it('shows an instant with its 和暦 date (Tokyo calendar day) when the organisation shows 和暦', () => {
    const d = new Date('2019-04-30T15:30:00Z'); // 2019-05-01 00:30 in Tokyo: the first day of 令和
    expect(formatDateTimeWithWareki(d, true)).toBe('2019/05/01 00:30:00（令和元年5月1日）');
    expect(formatDateTimeWithWareki(d, false)).toBe('2019/05/01 00:30:00');
    expect(formatDateTimeWithWareki(new Date('2027-01-15T03:00:00Z'), true, 'en')).toBe('2027-01-15, 12:00:00 (令和9年1月15日)');
    expect(formatDateTimeWithWareki(null, true)).toBe('');
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and the exact UTF-8 name, with RFC 8187 escapes for quotes and brackets', async () => {
    const { contentDisposition } = await import('../../lib/format');
    const h = contentDisposition('attachment', "契約書 (案) 'A'*.pdf");
    expect(h).toBe(
      `attachment; filename="___ (_) 'A'*.pdf"; filename*=UTF-8''%E5%A5%91%E7%B4%84%E6%9B%B8%20%28%E6%A1%88%29%20%27A%27%2A.pdf`,
    );
    expect(decodeURIComponent(h.split("UTF-8''")[1])).toBe("契約書 (案) 'A'*.pdf");
    expect(contentDisposition('inline', 'a"b\\c\r\nd.pdf')).toBe(`inline; filename="a_b_cd.pdf"; filename*=UTF-8''a%22b%5Ccd.pdf`);
    expect(contentDisposition('inline', '署名.pdf', 'document.pdf')).toContain('filename="document.pdf"');
  });
});
