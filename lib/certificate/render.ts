/**
 * 合意締結証明書 (completion certificate) as a PDF: A4, Japanese, IPAex Gothic embedded as a subset,
 * with Noto Sans CJK JP (subset, embedded only when needed) for the characters IPAex lacks
 * (lib/certificate/font.ts, coverage.ts). A character no font has is drawn as 〓 and listed by code
 * point at the end of the certificate. The text layer carries the real characters.
 * The PDF is produced unsigned; lib/envelopes/sealing seals it like the documents. pdf-lib may
 * write the whole file here because nothing is signed yet.
 */
import fontkit from '@cantoo/fontkit';
import { PDFDocument, rgb, type PDFFont, type PDFPage } from '@cantoo/pdf-lib';
import { formatDate, formatDateTime, formatWareki, formatYen } from '../format';
import { clusters, codePointLabel, type Cluster } from './coverage';
import { certificateCoverage, loadCertificateFonts, type CertificateCoverage } from './font';
import type { CertificateData, CertificateParty } from './types';

const A4: [number, number] = [595.28, 841.89];
const MARGIN_X = 48;
const MARGIN_TOP = 56;
const MARGIN_BOTTOM = 56;
const LABEL_W = 120;
const INK = rgb(0.1, 0.1, 0.12);
const MUTED = rgb(0.38, 0.38, 0.42);
const RULE = rgb(0.75, 0.75, 0.78);

/** 「メールリンク + アクセスコード」 from "email_link+access_code". */
export function describeAuthMethod(method: string | null | undefined): string {
  if (!method) return '—';
  const names: Record<string, string> = {
    email_link: 'メールリンク認証',
    access_code: 'アクセスコード',
    email_otp: 'メールワンタイムコード（高度な認証）',
    staff_session: '職員ログイン',
  };
  return method
    .split('+')
    .map((m) => names[m] ?? m)
    .join(' ＋ ');
}

/** What wrapText measures with: a PDFFont, or the Typesetter's font chain. */
export interface TextMeasure {
  widthOfTextAtSize(text: string, size: number): number;
}

/** The geta mark: the customary stand-in for a character that cannot be printed. */
const REPLACEMENT = '〓';

/**
 * Draws text with the primary font and, per cluster, the fallback font; clusters no font has become
 * REPLACEMENT and are remembered (`missing`) for the note on the certificate.
 */
class Typesetter implements TextMeasure {
  readonly missing = new Set<string>();
  constructor(
    private readonly fonts: { primary: PDFFont; fallback?: PDFFont },
    private readonly cov: CertificateCoverage,
  ) {}

  /** Consecutive clusters of the same font, as drawable runs. */
  runs(text: string): { font: PDFFont; text: string }[] {
    const out: { font: PDFFont; text: string }[] = [];
    for (const c of clusters(text, this.cov)) {
      const drawn: Cluster = c.font === 'fallback' && !this.fonts.fallback ? { ...c, font: null } : c;
      if (drawn.font === null) this.missing.add(c.text.replace(/\p{Variation_Selector}/gu, ''));
      const font = drawn.font === 'fallback' ? this.fonts.fallback! : this.fonts.primary;
      const t = drawn.font === null ? (this.cov.primary.has(REPLACEMENT.codePointAt(0)!) ? REPLACEMENT : '?') : drawn.text;
      const last = out[out.length - 1];
      if (last && last.font === font) last.text += t;
      else out.push({ font, text: t });
    }
    return out;
  }

  widthOfTextAtSize(text: string, size: number): number {
    return this.runs(text).reduce((w, r) => w + r.font.widthOfTextAtSize(r.text, size), 0);
  }

  draw(page: PDFPage, text: string, opts: { x: number; y: number; size: number; color: ReturnType<typeof rgb> }): void {
    let x = opts.x;
    for (const r of this.runs(text)) {
      page.drawText(r.text, { ...opts, x, font: r.font });
      x += r.font.widthOfTextAtSize(r.text, opts.size);
    }
  }
}

/** Every string in the certificate data (to know before layout whether the fallback font is needed). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === 'object' && !(value instanceof Date)) Object.values(value).forEach((v) => strings(v, out));
  return out;
}

const graphemes = new Intl.Segmenter('ja', { granularity: 'grapheme' });

/** Break text into lines no wider than `width` (character-based: fits Japanese and long hashes). */
export function wrapText(text: string, font: TextMeasure, size: number, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    // Grapheme clusters: a base character never parts from its variation selector or combining marks.
    for (const { segment: ch } of graphemes.segment(para)) {
      const next = line + ch;
      if (line && font.widthOfTextAtSize(next, size) > width) {
        out.push(line);
        line = ch.trimStart();
      } else {
        line = next;
      }
    }
    out.push(line);
  }
  return out;
}

class Layout {
  page!: PDFPage;
  y = 0;
  pages: PDFPage[] = [];
  constructor(
    private doc: PDFDocument,
    readonly font: Typesetter,
  ) {
    this.newPage();
  }

  get width(): number {
    return A4[0] - MARGIN_X * 2;
  }

  newPage(): void {
    this.page = this.doc.addPage(A4);
    this.pages.push(this.page);
    this.y = A4[1] - MARGIN_TOP;
  }

  ensure(h: number): void {
    if (this.y - h < MARGIN_BOTTOM) this.newPage();
  }

  text(s: string, opts: { size?: number; x?: number; width?: number; color?: ReturnType<typeof rgb>; gap?: number } = {}): void {
    const size = opts.size ?? 9.5;
    const x = opts.x ?? MARGIN_X;
    const width = opts.width ?? this.width - (x - MARGIN_X);
    const lh = size * 1.45;
    for (const line of wrapText(s, this.font, size, width)) {
      this.ensure(lh);
      this.font.draw(this.page, line, { x, y: this.y - size, size, color: opts.color ?? INK });
      this.y -= lh;
    }
    this.y -= opts.gap ?? 0;
  }

  centered(s: string, size: number): void {
    const w = this.font.widthOfTextAtSize(s, size);
    this.ensure(size * 1.6);
    this.font.draw(this.page, s, { x: (A4[0] - w) / 2, y: this.y - size, size, color: INK });
    this.y -= size * 1.6;
  }

  heading(s: string): void {
    this.ensure(40);
    this.y -= 10;
    this.font.draw(this.page, s, { x: MARGIN_X, y: this.y - 12, size: 12, color: INK });
    this.y -= 17;
    this.page.drawLine({ start: { x: MARGIN_X, y: this.y }, end: { x: A4[0] - MARGIN_X, y: this.y }, thickness: 0.8, color: RULE });
    this.y -= 6;
  }

  /** A label/value row; the value wraps under itself. */
  row(label: string, value: string, indent = 0): void {
    const size = 9.5;
    const lh = size * 1.45;
    const x = MARGIN_X + indent;
    const valueX = x + LABEL_W;
    const lines = wrapText(value || '—', this.font, size, A4[0] - MARGIN_X - valueX);
    this.ensure(lh * Math.min(lines.length, 3));
    this.font.draw(this.page, label, { x, y: this.y - size, size, color: MUTED });
    for (const line of lines) {
      this.ensure(lh);
      this.font.draw(this.page, line, { x: valueX, y: this.y - size, size, color: INK });
      this.y -= lh;
    }
  }

  space(h: number): void {
    this.y -= h;
  }
}

function dateTime(d: Date | null | undefined): string {
  return d ? `${formatDateTime(d)}（日本時間）` : '—';
}

function where(ip: string | null | undefined, ua: string | null | undefined): string {
  const parts = [];
  if (ip) parts.push(`IPアドレス ${ip}`);
  if (ua) parts.push(ua);
  return parts.length ? parts.join(' / ') : '';
}

function partyHeading(p: CertificateParty, i: number): string {
  const role = p.role === 'cc' ? '写し受信者（CC）' : '署名者';
  const side = p.partyType === 'municipal' ? '自治体' : '取引先';
  return `${i + 1}. ${p.name}　（${side}・${role}・順序 ${p.order}）`;
}

export interface RenderedCertificate {
  pdf: Uint8Array;
  pageCount: number;
  /** Characters no certificate font has, printed as 〓 (and listed on the certificate). Empty normally. */
  unprintable: string[];
}

export async function renderCompletionCertificate(data: CertificateData): Promise<RenderedCertificate> {
  const doc = await PDFDocument.create();
  doc.registerFontkit(fontkit);
  const files = await loadCertificateFonts();
  const cov = certificateCoverage();
  const primary = await doc.embedFont(files.primary.bytes, { subset: true, postscriptName: files.primary.postscriptName });
  const needsFallback = files.fallback && strings(data).some((str) => clusters(str, cov).some((c) => c.font === 'fallback'));
  const fallback = needsFallback ? await doc.embedFont(files.fallback!.bytes, { subset: true, postscriptName: files.fallback!.postscriptName }) : undefined;
  const font = new Typesetter({ primary, fallback }, cov);
  doc.setTitle(`合意締結証明書 ${data.envelope.documentNumber}`);
  doc.setSubject(data.envelope.title);
  doc.setAuthor(data.serviceName);
  doc.setCreator(data.serviceName);
  doc.setProducer(data.serviceName);
  doc.setLanguage('ja-JP');
  doc.setCreationDate(data.issuedAt);
  doc.setModificationDate(data.issuedAt);

  const L = new Layout(doc, font);
  L.centered('合意締結証明書', 20);
  L.text(`書類ID：${data.envelope.documentNumber}`, { size: 10, color: MUTED, gap: 6 });
  L.text(
    `本証明書は、${data.serviceName}（立会人型電子署名サービス）において、下記の当事者が下記の文書の内容に合意し、` +
      `電子署名の手続きを完了したことを証明するものです。当事者の合意後、${data.serviceName}が立会人として各文書に` +
      `電子署名（PAdES）とタイムスタンプを付与しました。各文書のSHA-256ハッシュ値により、文書が改変されていないことを確認できます。`,
    { gap: 4 },
  );

  const e = data.envelope;
  L.heading('案件');
  L.row('書類ID', e.documentNumber);
  L.row('案件名', e.title);
  L.row('取引先', e.counterparty);
  L.row('取引年月日', e.transactionDate ? `${formatDate(e.transactionDate)}（${formatWareki(e.transactionDate)}）` : '—');
  const amount =
    e.amount === null || e.amount === undefined
      ? '—'
      : `${formatYen(e.amount)}（${e.amountTaxIncluded ? '税込' : '税抜'}）` +
        (e.taxAmount !== null && e.taxAmount !== undefined ? `　うち消費税額等 金${formatYen(e.taxAmount)}` : '');
  L.row('取引金額', amount);
  if (e.contractNumber) L.row('契約番号', e.contractNumber);
  L.row('送り主', [data.sender.organizationName, data.sender.name, data.sender.email ? `<${data.sender.email}>` : ''].filter(Boolean).join('　'));
  L.row('送信日時', dateTime(e.sentAt));
  L.row('締結完了日時', dateTime(e.completedAt));

  L.heading('文書');
  data.documents.forEach((d, i) => {
    L.ensure(70);
    L.text(`${i + 1}. ${d.fileName}`, { size: 10 });
    L.row('ページ数', `${d.pageCount}ページ`, 12);
    L.row('SHA-256（封緘前）', d.sha256Before, 12);
    L.row('SHA-256（封緘後）', d.sha256After ?? '—', 12);
    L.space(4);
  });

  L.heading('当事者');
  data.parties.forEach((p, i) => {
    L.ensure(150); // keep a party's block on one page
    L.text(partyHeading(p, i), { size: 10 });
    L.row('氏名', p.name, 12);
    if (p.title) L.row('役職', p.title, 12);
    L.row('会社名・組織名', p.company ?? '—', 12);
    L.row('メールアドレス', p.email, 12);
    if (p.role === 'signer') L.row('認証方法', describeAuthMethod(p.authMethod), 12);
    L.row('送信日時', dateTime(p.notifiedAt), 12);
    L.row('閲覧日時', dateTime(p.openedAt), 12);
    const openedFrom = where(p.openedIp, p.openedUserAgent);
    if (openedFrom) L.row('閲覧元', openedFrom, 12);
    if (p.role === 'signer') {
      L.row('完了日時', dateTime(p.completedAt), 12);
      const completedFrom = where(p.completedIp, p.completedUserAgent);
      if (completedFrom) L.row('完了操作元', completedFrom, 12);
    }
    if (p.declinedAt) {
      L.row('差し戻し日時', dateTime(p.declinedAt), 12);
      L.row('差し戻し理由', p.declineReason ?? '', 12);
    }
    L.space(4);
  });

  if (data.events.length) {
    L.heading('操作履歴');
    for (const ev of data.events) {
      const line = [formatDateTime(ev.at), ev.label, ev.actor ?? '', ev.ip ? `IP ${ev.ip}` : ''].filter(Boolean).join('　');
      L.text(line, { size: 8.5 });
      if (ev.userAgent) L.text(ev.userAgent, { size: 7.5, x: MARGIN_X + 12, color: MUTED });
    }
  }

  L.heading('封緘（立会人型電子署名）');
  L.row('封緘日時', dateTime(data.sealedAt));
  L.row('署名方式', 'PAdES B-LTA（CAdES 署名＋RFC 3161 タイムスタンプ＋長期検証情報＋ドキュメントタイムスタンプ）');
  L.row('立会人', data.serviceName);
  L.row('証明書発行日時', dateTime(data.issuedAt));
  L.space(6);
  L.text('本証明書自体にも同じ方式で電子署名とタイムスタンプが付与されています。', { size: 8.5, color: MUTED });

  const unprintable = [...font.missing];
  if (unprintable.length) {
    L.heading('印字できない文字');
    L.text(
      `この証明書のフォントにない文字を「${REPLACEMENT}」で示しています。記録上の文字（Unicode）: ` +
        unprintable.map(codePointLabel).join('、'),
      { size: 9 },
    );
  }

  const total = L.pages.length;
  L.pages.forEach((page, i) => {
    const footer = `合意締結証明書　書類ID ${e.documentNumber}　${i + 1} / ${total}`;
    const w = font.widthOfTextAtSize(footer, 8);
    font.draw(page, footer, { x: (A4[0] - w) / 2, y: 28, size: 8, color: MUTED });
  });

  const pdf = await doc.save({ useObjectStreams: false });
  return { pdf, pageCount: total, unprintable };
}
