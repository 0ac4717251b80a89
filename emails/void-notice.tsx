/**
 * 取消のお知らせ: sent to every party who had been notified when the sender voids an envelope.
 */
import { Heading, Section, Text } from '@react-email/components';
import { EmailLayout, colors, p } from './layout';

export interface VoidNoticeEmailProps {
  organizationName: string;
  senderName: string;
  envelopeTitle: string;
  recipientName: string;
  recipientCompany?: string | null;
  reason: string;
  /** Formatted in Asia/Tokyo. */
  voidedAtText: string;
}

export function voidNoticeSubject(p: { organizationName: string; envelopeTitle: string }): string {
  return `【${p.organizationName}】 「${p.envelopeTitle}」の署名依頼は取り消されました`;
}

export function VoidNoticeEmail(props: VoidNoticeEmailProps) {
  const recipient = props.recipientCompany ? `${props.recipientCompany} ${props.recipientName}様` : `${props.recipientName}様`;
  return (
    <EmailLayout preview={`「${props.envelopeTitle}」の署名依頼は取り消されました`}>
      <Text style={p}>{recipient}</Text>
      <Heading as="h1" style={{ fontSize: '20px', margin: '16px 0' }}>
        署名依頼が取り消されました
      </Heading>
      <Text style={p}>
        {props.organizationName} {props.senderName}様が、次の案件の署名依頼を取り消しました。以前お送りしたURLは使えなくなりました。
      </Text>
      <Section style={{ border: `1px solid ${colors.border}`, padding: '12px 16px', margin: '16px 0' }}>
        <Text style={p}>案件名：{props.envelopeTitle}</Text>
        <Text style={p}>取消日時：{props.voidedAtText}</Text>
        <Text style={{ ...p, whiteSpace: 'pre-wrap' }}>取消理由：{props.reason}</Text>
      </Section>
      <Text style={p}>ご不明な点は、送信者に直接お問い合わせください。</Text>
    </EmailLayout>
  );
}

export function voidNoticeText(props: VoidNoticeEmailProps): string {
  const recipient = props.recipientCompany ? `${props.recipientCompany} ${props.recipientName}様` : `${props.recipientName}様`;
  return [
    recipient,
    '',
    `${props.organizationName} ${props.senderName}様が、次の案件の署名依頼を取り消しました。`,
    '以前お送りしたURLは使えなくなりました。',
    '',
    `案件名：${props.envelopeTitle}`,
    `取消日時：${props.voidedAtText}`,
    `取消理由：${props.reason}`,
    '',
    'ご不明な点は、送信者に直接お問い合わせください。',
    '',
    '--',
    'このメールは立会サインから送信専用アドレスで自動送信されています。ご返信いただいてもお答えできません。',
  ].join('\n');
}
