/**
 * Display formats (Japanese first): dates in Asia/Tokyo as 西暦 with optional 和暦, amounts in 円.
 */
const TZ = 'Asia/Tokyo';

export type Locale = 'ja' | 'en';

/** 2026年11月27日 (or 2026-11-27 in English). A Date or a YYYY-MM-DD date-only value. */
export function formatDate(d: Date | string | null | undefined, locale: Locale = 'ja'): string {
  if (!d) return '';
  const date = typeof d === 'string' ? new Date(d.length === 10 ? `${d}T00:00:00Z` : d) : d;
  // Date-only columns come back as UTC midnight: show them as that calendar day.
  const dateOnly = typeof d === 'string' ? d.length === 10 : isUtcMidnight(date);
  const tz = dateOnly ? 'UTC' : TZ;
  if (locale === 'en') {
    return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
  }
  return new Intl.DateTimeFormat('ja-JP', { timeZone: tz, year: 'numeric', month: 'long', day: 'numeric' }).format(date);
}

function isUtcMidnight(d: Date): boolean {
  return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0;
}

/** 令和8年11月27日 */
export function formatWareki(d: Date | string | null | undefined): string {
  if (!d) return '';
  const date = typeof d === 'string' ? new Date(d.length === 10 ? `${d}T00:00:00Z` : d) : d;
  const dateOnly = typeof d === 'string' ? d.length === 10 : isUtcMidnight(date);
  return new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
    timeZone: dateOnly ? 'UTC' : TZ,
    era: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
  })
    .format(date)
    .replace(/(\D)1年/, '$1元年');
}

/** 2026年11月27日（令和8年11月27日） when wareki is on (English: 2026-11-27 (令和8年11月27日)). */
export function formatDateWithWareki(d: Date | string | null | undefined, showWareki: boolean, locale: Locale = 'ja'): string {
  if (!d) return '';
  if (!showWareki) return formatDate(d, locale);
  return locale === 'en' ? `${formatDate(d, locale)} (${formatWareki(d)})` : `${formatDate(d)}（${formatWareki(d)}）`;
}

/** 2026/11/27 15:04 (Asia/Tokyo). */
export function formatDateTime(d: Date | null | undefined, locale: Locale = 'ja'): string {
  if (!d) return '';
  return new Intl.DateTimeFormat(locale === 'ja' ? 'ja-JP' : 'en-CA', {
    timeZone: TZ,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(d);
}

/**
 * An instant with its 和暦 date beside it when the organisation shows 和暦 (organizations.show_wareki):
 * 2026/11/27 08:30:00（令和8年11月27日）. The 和暦 date is the calendar day in Asia/Tokyo.
 */
export function formatDateTimeWithWareki(d: Date | null | undefined, showWareki: boolean, locale: Locale = 'ja'): string {
  if (!d) return '';
  const s = formatDateTime(d, locale);
  if (!showWareki) return s;
  const w = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', { timeZone: TZ, era: 'long', year: 'numeric', month: 'long', day: 'numeric' })
    .format(d)
    .replace(/(\D)1年/, '$1元年');
  return locale === 'en' ? `${s} (${w})` : `${s}（${w}）`;
}

/** 12,345,000円 */
export function formatYen(amount: bigint | number | null | undefined, locale: Locale = 'ja'): string {
  if (amount === null || amount === undefined) return '';
  const s = BigInt(amount).toLocaleString('ja-JP');
  return locale === 'en' ? `¥${s}` : `${s}円`;
}

/** Today's calendar date in Asia/Tokyo as YYYY-MM-DD. */
export function todayInTokyo(now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
export { contentDisposition } from './content-disposition';
