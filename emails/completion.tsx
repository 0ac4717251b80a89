/**
 * 「電子署名完了のお知らせ（封筒名）」: sent to every party, cc recipient and the sender when the
 * envelope is sealed. Each address gets its own download link (valid DOWNLOAD_LINK_DAYS days).
 */
import { Body, Container, Head, Heading, Hr, Html, Link, Preview, Section, Text } from '@react-email/components';
import { render, toPlainText } from '@react-email/render';

export interface CompletionEmailProps {
  envelopeTitle: string;
  documentNumber: string;
  documentNames: string[];
  senderOrganization: string;
  senderName?: string | null;
  recipientName: string;
  downloadUrl: string;
  /** e.g. 14 */
  validDays: number;
  /** 「2026年12月11日 12:00」 (Asia/Tokyo) */
  expiresAtLabel: string;
  serviceName?: string;
}

export function completionSubject(envelopeTitle: string): string {
  return `電子署名完了のお知らせ（${envelopeTitle}）`;
}

const text = { fontSize: '15px', lineHeight: '1.7', color: '#1a1a1c', margin: '0 0 12px' };
const label = { fontSize: '13px', color: '#5c5c66', margin: '0' };

export function CompletionEmail(p: CompletionEmailProps) {
  const sender = [p.senderOrganization, p.senderName].filter(Boolean).join(' ');
  return (
    <Html lang="ja">
      <Head />
      <Preview>{`「${p.envelopeTitle}」の電子署名が完了しました`}</Preview>
      <Body style={{ backgroundColor: '#f4f4f6', fontFamily: "'Noto Sans JP', 'Hiragino Sans', Meiryo, sans-serif" }}>
        <Container style={{ backgroundColor: '#ffffff', padding: '32px', maxWidth: '600px' }}>
          <Heading as="h1" style={{ fontSize: '20px', color: '#1a1a1c' }}>
            電子署名完了のお知らせ
          </Heading>
          <Text style={text}>{p.recipientName} 様</Text>
          <Text style={text}>
            以下の封筒について、すべての当事者の署名手続きが完了し、{p.serviceName ?? '立会サイン'}
            による電子署名とタイムスタンプが付与されました。下記のリンクから締結済みの文書と合意締結証明書をダウンロードしてください。
          </Text>
          <Section style={{ border: '1px solid #d8d8de', padding: '16px', margin: '16px 0' }}>
            <Text style={label}>封筒</Text>
            <Text style={text}>{p.envelopeTitle}（書類ID：{p.documentNumber}）</Text>
            <Text style={label}>文書</Text>
            {p.documentNames.map((n) => (
              <Text key={n} style={{ ...text, margin: '0 0 4px' }}>
                ・{n}
              </Text>
            ))}
            <Text style={{ ...label, marginTop: '12px' }}>送り主</Text>
            <Text style={text}>{sender}</Text>
          </Section>
          <Text style={text}>
            ダウンロード：
            <Link href={p.downloadUrl} style={{ color: '#0017c1', textDecoration: 'underline' }}>
              {p.downloadUrl}
            </Link>
          </Text>
          <Text style={text}>
            ダウンロード有効期間：{p.validDays}日間（{p.expiresAtLabel}まで）
          </Text>
          <Hr />
          <Text style={{ ...label, lineHeight: '1.6' }}>
            このメールは送信専用アドレスから送信されています。有効期間を過ぎた場合は送り主にお問い合わせください。
            リンクはあなた専用です。他の方に転送しないでください。
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

export async function renderCompletionEmail(p: CompletionEmailProps): Promise<{ subject: string; html: string; text: string }> {
  const html = await render(<CompletionEmail {...p} />);
  return { subject: completionSubject(p.envelopeTitle), html, text: toPlainText(html) };
}
