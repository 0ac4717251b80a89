/** 高度な認証: the one-time code e-mailed to a signer as a second factor. */
import { Body, Container, Head, Heading, Hr, Html, Preview, Text } from '@react-email/components';
import { render, toPlainText } from '@react-email/render';

export interface OtpEmailProps {
  recipientName: string;
  envelopeTitle: string;
  code: string;
  validMinutes: number;
}

export function otpSubject(envelopeTitle: string): string {
  return `【確認コード】「${envelopeTitle}」の署名手続き`;
}

const text = { fontSize: '15px', lineHeight: '1.7', color: '#1a1a1c', margin: '0 0 12px' };

export function OtpEmail(p: OtpEmailProps) {
  return (
    <Html lang="ja">
      <Head />
      <Preview>{`確認コード：${p.code}`}</Preview>
      <Body style={{ backgroundColor: '#f4f4f6', fontFamily: "'Noto Sans JP', 'Hiragino Sans', Meiryo, sans-serif" }}>
        <Container style={{ backgroundColor: '#ffffff', padding: '32px', maxWidth: '600px' }}>
          <Heading as="h1" style={{ fontSize: '20px', color: '#1a1a1c' }}>
            確認コード
          </Heading>
          <Text style={text}>{p.recipientName} 様</Text>
          <Text style={text}>「{p.envelopeTitle}」の署名手続きのための確認コードです。署名ページに入力してください。</Text>
          <Text style={{ fontSize: '28px', letterSpacing: '6px', fontWeight: 700, margin: '16px 0' }}>確認コード：{p.code}</Text>
          <Text style={text}>有効期限：{p.validMinutes}分</Text>
          <Hr />
          <Text style={{ fontSize: '13px', color: '#5c5c66' }}>
            心当たりがない場合はこのメールを破棄してください。確認コードは誰にも教えないでください。
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

export async function renderOtpEmail(p: OtpEmailProps): Promise<{ subject: string; html: string; text: string }> {
  const html = await render(<OtpEmail {...p} />);
  return { subject: otpSubject(p.envelopeTitle), html, text: toPlainText(html) };
}
