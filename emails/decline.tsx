/** 差し戻し: a signer declined the envelope; the sender and the other parties are told. */
import { Body, Container, Head, Heading, Hr, Html, Preview, Section, Text } from '@react-email/components';
import { render, toPlainText } from '@react-email/render';

export interface DeclineEmailProps {
  envelopeTitle: string;
  documentNumber: string;
  recipientName: string;
  declinedBy: string;
  declinedByCompany?: string | null;
  reason: string;
  declinedAtLabel: string;
  senderOrganization: string;
  /** The sender gets a link to the envelope page. */
  envelopeUrl?: string | null;
}

export function declineSubject(envelopeTitle: string): string {
  return `【差し戻し】「${envelopeTitle}」が差し戻されました`;
}

const text = { fontSize: '15px', lineHeight: '1.7', color: '#1a1a1c', margin: '0 0 12px' };
const label = { fontSize: '13px', color: '#5c5c66', margin: '0' };

export function DeclineEmail(p: DeclineEmailProps) {
  const who = [p.declinedByCompany, p.declinedBy].filter(Boolean).join(' ');
  return (
    <Html lang="ja">
      <Head />
      <Preview>{`「${p.envelopeTitle}」が差し戻されました`}</Preview>
      <Body style={{ backgroundColor: '#f4f4f6', fontFamily: "'Noto Sans JP', 'Hiragino Sans', Meiryo, sans-serif" }}>
        <Container style={{ backgroundColor: '#ffffff', padding: '32px', maxWidth: '600px' }}>
          <Heading as="h1" style={{ fontSize: '20px', color: '#1a1a1c' }}>
            封筒が差し戻されました
          </Heading>
          <Text style={text}>{p.recipientName} 様</Text>
          <Text style={text}>
            {who} 様が以下の封筒を差し戻しました。この封筒の署名手続きは終了し、以後署名することはできません。
          </Text>
          <Section style={{ border: '1px solid #d8d8de', padding: '16px', margin: '16px 0' }}>
            <Text style={label}>封筒</Text>
            <Text style={text}>{p.envelopeTitle}（書類ID：{p.documentNumber}）</Text>
            <Text style={label}>差し戻し日時</Text>
            <Text style={text}>{p.declinedAtLabel}</Text>
            <Text style={label}>差し戻し理由</Text>
            <Text style={{ ...text, whiteSpace: 'pre-wrap' }}>{p.reason}</Text>
            <Text style={label}>送り主</Text>
            <Text style={text}>{p.senderOrganization}</Text>
          </Section>
          {p.envelopeUrl ? <Text style={text}>封筒の詳細：{p.envelopeUrl}</Text> : null}
          <Hr />
          <Text style={label}>このメールは送信専用アドレスから送信されています。</Text>
        </Container>
      </Body>
    </Html>
  );
}

export async function renderDeclineEmail(p: DeclineEmailProps): Promise<{ subject: string; html: string; text: string }> {
  const html = await render(<DeclineEmail {...p} />);
  return { subject: declineSubject(p.envelopeTitle), html, text: toPlainText(html) };
}
