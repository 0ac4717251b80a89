/** Email templates render to HTML + text with the wording DOMAIN.md asks for. */
import { describe, expect, it } from 'vitest';
import { redactSigningLinks, renderSigningRequestEmail, renderVoidNoticeEmail } from '../../lib/mail';
import { redactError } from '../../lib/mail/transport';

describe('signing request email', () => {
  const props = {
    organizationName: '川口市',
    senderName: '契約 太郎',
    senderTitle: '財務部 契約課長',
    envelopeTitle: '道路補修工事 請負契約',
    recipientName: '山田 一郎',
    recipientCompany: '株式会社川口建設',
    signingUrl: 'https://sign.example.jp/sign/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde',
    expiresAtText: '2026年12月27日 09:30',
    documentNames: ['契約書.pdf', '仕様書.pdf'],
  };

  it('has the exact subject and both parts with the facts and the URL', async () => {
    const m = await renderSigningRequestEmail(props);
    expect(m.subject).toBe('【川口市】 契約 太郎様より「道路補修工事 請負契約」への署名依頼が届いています');
    for (const body of [m.text, m.html]) {
      expect(body).toContain('道路補修工事 請負契約');
      expect(body).toContain('株式会社川口建設 山田 一郎様');
      expect(body).toContain('2026年12月27日 09:30');
      expect(body).toContain(props.signingUrl);
      expect(body).toContain('転送しないでください');
      expect(body).toContain('契約書.pdf');
    }
    expect(m.html).toMatch(/<html[^>]*lang="ja"/);
    expect(m.html).toContain('文書を確認する');
  });

  it('escapes HTML in user input and prefixes 【再送】 when re-sent', async () => {
    const m = await renderSigningRequestEmail({ ...props, envelopeTitle: '<script>alert(1)</script>', resend: true });
    expect(m.subject.startsWith('【再送】【川口市】')).toBe(true);
    expect(m.html).not.toContain('<script>alert(1)</script>');
    expect(m.html).toContain('&lt;script&gt;');
  });
});

describe('void notice email', () => {
  it('names the envelope and the reason', async () => {
    const m = await renderVoidNoticeEmail({
      organizationName: '川口市',
      senderName: '契約 太郎',
      envelopeTitle: '道路補修工事 請負契約',
      recipientName: '山田 一郎',
      reason: '金額訂正のため',
      voidedAtText: '2026年11月27日 10:00',
    });
    expect(m.subject).toBe('【川口市】 「道路補修工事 請負契約」の署名依頼は取り消されました');
    expect(m.text).toContain('取消理由：金額訂正のため');
    expect(m.html).toContain('金額訂正のため');
  });
});

describe('redaction', () => {
  it('removes signing tokens and SMTP credentials', () => {
    expect(redactSigningLinks('https://x/sign/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde end')).toBe('https://x/sign/[送信済みのため削除] end');
    expect(redactError('connect failed smtp://user:secret@mail.example.jp:587')).toBe('connect failed smtp://***@mail.example.jp:587');
  });
});
