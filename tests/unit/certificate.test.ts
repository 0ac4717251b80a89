import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from '@cantoo/pdf-lib';
import { describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import {
  describeAuthMethod,
  renderCompletionCertificate,
  unprintableCharacters,
  unprintableMessage,
  type CertificateData,
} from '../../lib/certificate';

const sha = (c: string) => c.repeat(64);

function sample(parties = 2): CertificateData {
  const base = new Date('2026-11-27T01:00:00Z');
  return {
    serviceName: '立会サイン',
    envelope: {
      documentNumber: 'TS-7K3Q9M2X',
      title: '令和8年度 川口市立図書館 清掃業務委託契約',
      counterparty: '株式会社きれいサービス',
      transactionDate: new Date('2026-11-20T00:00:00Z'),
      amount: 12_345_000n,
      amountTaxIncluded: true,
      taxAmount: 1_122_272n,
      contractNumber: 'K-2026-0042',
      sentAt: base,
      completedAt: new Date('2026-11-27T03:00:00Z'),
    },
    sender: { organizationName: '川口市', name: '契約 太郎', email: 'keiyaku@city.example.jp' },
    documents: [
      { fileName: '契約書.pdf', pageCount: 3, sha256Before: sha('a'), sha256After: sha('b') },
      { fileName: '仕様書.pdf', pageCount: 12, sha256Before: sha('c'), sha256After: sha('d') },
    ],
    parties: Array.from({ length: parties }, (_, i) => ({
      role: 'signer' as const,
      partyType: i % 2 ? ('municipal' as const) : ('supplier' as const),
      order: i + 1,
      name: i % 2 ? '川口 市長' : '清掃 花子',
      title: i % 2 ? '市長' : '代表取締役',
      company: i % 2 ? '川口市' : '株式会社きれいサービス',
      email: `party${i}@example.jp`,
      authMethod: i % 2 ? 'email_link' : 'email_link+access_code',
      notifiedAt: base,
      openedAt: new Date(base.getTime() + 60_000),
      openedIp: '203.0.113.7',
      openedUserAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15',
      completedAt: new Date(base.getTime() + 120_000),
      completedIp: '203.0.113.7',
      completedUserAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15',
    })),
    events: [{ at: base, label: '署名依頼メール送信', actor: '清掃 花子 <party0@example.jp>' }],
    sealedAt: new Date('2026-11-27T03:00:05Z'),
    issuedAt: new Date('2026-11-27T03:00:05Z'),
  };
}

function pdftotext(pdf: Uint8Array): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cert-'));
  const file = path.join(dir, 'c.pdf');
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
}

function pdffonts(pdf: Uint8Array): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cert-'));
  const file = path.join(dir, 'c.pdf');
  writeFileSync(file, pdf);
  return execFileSync('pdffonts', [file], { encoding: 'utf8' });
}

describe('合意締結証明書', () => {
  it('renders Japanese text with an embedded subset CJK font, readable by poppler', async () => {
    const { pdf, pageCount } = await renderCompletionCertificate(sample());
    expect(pageCount).toBeGreaterThanOrEqual(1);
    const text = pdftotext(pdf).replace(/\s+/g, '');
    for (const s of [
      '合意締結証明書',
      'TS-7K3Q9M2X',
      '令和8年度川口市立図書館清掃業務委託契約',
      '株式会社きれいサービス',
      '2026年11月20日',
      '12,345,000円（税込）',
      '契約書.pdf',
      '仕様書.pdf',
      sha('a'),
      sha('d'),
      '清掃花子',
      'party0@example.jp',
      'メールリンク認証＋アクセスコード',
      '203.0.113.7',
      '2026/11/2710:02:00', // completedAt 01:02Z shown in Asia/Tokyo
    ]) {
      expect(text).toContain(s.replace(/\s+/g, ''));
    }
    const fonts = pdffonts(pdf);
    expect(fonts).toMatch(/IPAexGothic/);
    expect(fonts).toMatch(/IPAexGothic\S*\s+CID TrueType\s+Identity-H\s+yes\s/); // embedded
    // subset: the whole IPAex Gothic is ~4 MB
    expect(pdf.byteLength).toBeLessThan(400_000);
  });

  it('flows onto several pages when there are many parties, with page numbers', async () => {
    const { pdf, pageCount } = await renderCompletionCertificate(sample(14));
    expect(pageCount).toBeGreaterThan(1);
    const loaded = await PDFDocument.load(pdf);
    expect(loaded.getPageCount()).toBe(pageCount);
    expect(pdftotext(pdf).replace(/\s+/g, '')).toContain(`${pageCount}/${pageCount}`);
  });

  it('names authentication methods in Japanese', () => {
    expect(describeAuthMethod('email_link+email_otp')).toBe('メールリンク認証 ＋ メールワンタイムコード（高度な認証）');
    expect(describeAuthMethod(null)).toBe('—');
  });
});

/** Names as they are registered in Japan: JIS X 0213 (IPAex has them), Extension B beyond it (𠮷), an IVS. */
const NAMES = {
  name: '𠮷田 髙橋﨑',
  company: '株式会社𡈽屋 葛\u{E0100}城',
  title: '代表取締役 𩸽',
  counterparty: '𠮷野𠮷商店',
};

function withNames(data: CertificateData, names = NAMES): CertificateData {
  data.envelope.counterparty = names.counterparty;
  data.parties[0] = { ...data.parties[0], name: names.name, company: names.company, title: names.title };
  return data;
}

describe('合意締結証明書: every character of a Japanese name, never a silent box', () => {
  it('draws what IPAex lacks (𠮷, Extension B) with Noto Sans CJK JP; the text layer carries the real characters', async () => {
    const plain = await renderCompletionCertificate(sample());
    const { pdf, unprintable } = await renderCompletionCertificate(withNames(sample()));
    expect(unprintable).toEqual([]);
    const text = pdftotext(pdf);
    for (const s of ['𠮷田 髙橋﨑', '株式会社𡈽屋', '代表取締役 𩸽', '𠮷野𠮷商店']) expect(text).toContain(s);
    expect(text).toContain('葛'); // the IVS keeps its base character
    expect(text).not.toContain('〓');
    const fonts = pdffonts(pdf);
    expect(fonts).toMatch(/IPAexGothic\S*\s+CID TrueType\s+Identity-H\s+yes\s/);
    expect(fonts).toMatch(/NotoSansCJKjp-Regular\S*\s+CID Type 0C\s+Identity-H\s+yes\s/);
    // Only when needed: a certificate without such characters embeds IPAex alone.
    expect(pdffonts(plain.pdf)).not.toMatch(/NotoSans/);
    // Size: the Noto subset adds its CFF subroutines (~60 KB), not the 19 MB collection.
    console.log(`certificate size: ${plain.pdf.byteLength} bytes (IPAex only), ${pdf.byteLength} bytes (with the Noto fallback)`);
    expect(pdf.byteLength - plain.pdf.byteLength).toBeLessThan(150_000);
  });

  it('a character no font has (emoji) is printed as 〓 and listed by code point on the certificate', async () => {
    const { pdf, unprintable } = await renderCompletionCertificate(withNames(sample(), { ...NAMES, name: '山田😀太郎', title: '👨‍👩‍👧' }));
    expect(unprintable).toEqual(['😀', '👨', '👩', '👧']);
    const text = pdftotext(pdf).replace(/\s+/g, '');
    expect(text).toContain('山田〓太郎');
    expect(text).toContain('〓〓〓');
    expect(text).toContain('印字できない文字');
    expect(text).toContain('U+1F600、U+1F468、U+1F469、U+1F467');
  });

  it('without the fallback font (CERTIFICATE_FALLBACK_FONT_PATH=none) 𠮷 is replaced visibly, and refused at entry', async () => {
    process.env.CERTIFICATE_FALLBACK_FONT_PATH = 'none';
    resetConfig();
    try {
      const { pdf, unprintable } = await renderCompletionCertificate(withNames(sample()));
      expect(unprintable).toEqual(['𠮷']);
      expect(pdftotext(pdf)).toContain('〓田 髙橋﨑');
      expect(pdffonts(pdf)).not.toMatch(/NotoSans/);
      expect(unprintableCharacters('𠮷田')).toEqual(['𠮷']);
    } finally {
      delete process.env.CERTIFICATE_FALLBACK_FONT_PATH;
      resetConfig();
    }
    expect(unprintableCharacters('𠮷田')).toEqual([]);
  });

  it('unprintableCharacters: names pass, emoji and other symbols no font has are named once each', () => {
    expect(unprintableCharacters('𠮷田 髙橋 﨑 𡈽 葛\u{E0100}城 ｱｲｳ ①㈱ Ā é — 〓')).toEqual([]);
    expect(unprintableCharacters('Tanaka Taro <taro@example.jp>')).toEqual([]);
    expect(unprintableCharacters('か\u3099') /* combining dakuten */).toEqual([]);
    expect(unprintableCharacters('山田😀😀太郎\u200d')).toEqual(['😀']);
    expect(unprintableCharacters('👍🏻')).toEqual(['👍', '🏻']);
    expect(unprintableMessage('氏名', ['😀'])).toBe(
      '氏名に合意締結証明書に印字できない文字が含まれています: 「😀」（U+1F600）。絵文字などは使えません。別の文字に置き換えてください。',
    );
  });
});
