/**
 * Shared frame of every email: Japanese first, plain styling that survives mail clients.
 */
import { Body, Container, Head, Hr, Html, Preview, Section, Text } from '@react-email/components';
import type { ReactNode } from 'react';

export const colors = { text: '#1a1a1c', muted: '#4d4d4d', accent: '#0031d8', border: '#d9d9d9' };

export function EmailLayout(props: { preview: string; children: ReactNode; footer?: ReactNode }) {
  return (
    <Html lang="ja">
      <Head />
      <Preview>{props.preview}</Preview>
      <Body style={{ backgroundColor: '#f8f8fb', fontFamily: "'Noto Sans JP', 'Hiragino Sans', Meiryo, sans-serif", color: colors.text }}>
        <Container style={{ backgroundColor: '#ffffff', padding: '24px', maxWidth: '600px', border: `1px solid ${colors.border}` }}>
          {props.children}
          <Hr style={{ borderColor: colors.border, margin: '24px 0 16px' }} />
          <Section>
            {props.footer}
            <Text style={{ fontSize: '12px', color: colors.muted, margin: '4px 0' }}>
              このメールは立会サインから送信専用アドレスで自動送信されています。ご返信いただいてもお答えできません。
            </Text>
          </Section>
        </Container>
      </Body>
    </Html>
  );
}

export const p = { fontSize: '15px', lineHeight: '1.7', margin: '8px 0' } as const;
export const small = { fontSize: '13px', lineHeight: '1.6', color: colors.muted, margin: '4px 0' } as const;
