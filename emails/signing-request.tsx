/**
 * 署名依頼メール. Subject (DOMAIN.md): 「【{組織名}】 {送信者名}様より「{案件名}」への署名依頼が届いています」,
 * prefixed 【再送】 when the request is re-sent.
 */
import { Button, Heading, Link, Section, Text } from '@react-email/components';
import { EmailLayout, colors, p, small } from './layout';

export interface SigningRequestEmailProps {
  organizationName: string;
  senderName: string;
  /** 送信者の所属・役職 (optional). */
  senderTitle?: string | null;
  envelopeTitle: string;
  recipientName: string;
  recipientCompany?: string | null;
  /** `${APP_URL}/sign/${token}` */
  signingUrl: string;
  /** Already formatted in Asia/Tokyo (西暦), e.g. 「2026年12月27日 23:59」. */
  expiresAtText: string;
  message?: string | null;
  documentNames?: string[];
  resend?: boolean;
}

export function signingRequestSubject(p: { organizationName: string; senderName: string; envelopeTitle: string; resend?: boolean }): string {
  return `${p.resend ? '【再送】' : ''}【${p.organizationName}】 ${p.senderName}様より「${p.envelopeTitle}」への署名依頼が届いています`;
}

export function SigningRequestEmail(props: SigningRequestEmailProps) {
  const recipient = props.recipientCompany ? `${props.recipientCompany} ${props.recipientName}様` : `${props.recipientName}様`;
  return (
    <EmailLayout
      preview={`「${props.envelopeTitle}」への署名依頼`}
      footer={
        <Text style={small}>
          このメールに記載のURLはあなた専用です。第三者に転送しないでください。心当たりのない場合は、このメールを破棄してください。
        </Text>
      }
    >
      <Text style={p}>{recipient}</Text>
      <Heading as="h1" style={{ fontSize: '20px', margin: '16px 0' }}>
        {props.resend ? '【再送】' : ''}署名依頼が届いています
      </Heading>
      <Text style={p}>
        {props.organizationName} {props.senderTitle ? `${props.senderTitle} ` : ''}
        {props.senderName}様より、次の文書への署名（合意）の依頼が届いています。
      </Text>
      <Section style={{ border: `1px solid ${colors.border}`, padding: '12px 16px', margin: '16px 0' }}>
        <Text style={p}>案件名：{props.envelopeTitle}</Text>
        <Text style={p}>
          送信者：{props.organizationName} {props.senderName}
        </Text>
        {props.documentNames && props.documentNames.length > 0 ? (
          <Text style={p}>文書：{props.documentNames.join('、')}</Text>
        ) : null}
        <Text style={p}>署名期限：{props.expiresAtText}</Text>
      </Section>
      {props.message ? (
        <Section>
          <Text style={p}>送信者からのメッセージ：</Text>
          <Text style={{ ...p, whiteSpace: 'pre-wrap' }}>{props.message}</Text>
        </Section>
      ) : null}
      <Section style={{ margin: '24px 0' }}>
        <Button
          href={props.signingUrl}
          style={{ backgroundColor: colors.accent, color: '#ffffff', padding: '12px 24px', borderRadius: '6px', fontSize: '16px' }}
        >
          文書を確認する
        </Button>
      </Section>
      <Text style={small}>ボタンが押せない場合は、次のURLをブラウザで開いてください。</Text>
      <Text style={small}>
        <Link href={props.signingUrl}>{props.signingUrl}</Link>
      </Text>
      <Text style={small}>署名期限を過ぎるとこのURLは使えなくなります。</Text>
    </EmailLayout>
  );
}

/** The plain-text part (written by hand so the URL and facts read well in any client). */
export function signingRequestText(props: SigningRequestEmailProps): string {
  const recipient = props.recipientCompany ? `${props.recipientCompany} ${props.recipientName}様` : `${props.recipientName}様`;
  const lines = [
    recipient,
    '',
    `${props.resend ? '【再送】' : ''}${props.organizationName} ${props.senderTitle ? `${props.senderTitle} ` : ''}${props.senderName}様より、次の文書への署名（合意）の依頼が届いています。`,
    '',
    `案件名：${props.envelopeTitle}`,
    `送信者：${props.organizationName} ${props.senderName}`,
    ...(props.documentNames && props.documentNames.length > 0 ? [`文書：${props.documentNames.join('、')}`] : []),
    `署名期限：${props.expiresAtText}`,
    '',
    ...(props.message ? ['送信者からのメッセージ：', props.message, ''] : []),
    '次のURLを開いて文書を確認し、手続きを進めてください。',
    props.signingUrl,
    '',
    '署名期限を過ぎるとこのURLは使えなくなります。',
    'このメールに記載のURLはあなた専用です。第三者に転送しないでください。',
    '心当たりのない場合は、このメールを破棄してください。',
    '',
    '--',
    'このメールは立会サインから送信専用アドレスで自動送信されています。ご返信いただいてもお答えできません。',
  ];
  return lines.join('\n');
}
