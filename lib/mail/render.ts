/** Rendering of the React Email templates in emails/ into subject + html + text. */
import { render, toPlainText } from '@react-email/render';
import type { ReactElement } from 'react';
import { createElement } from 'react';
import {
  SigningRequestEmail,
  signingRequestSubject,
  signingRequestText,
  VoidNoticeEmail,
  voidNoticeSubject,
  voidNoticeText,
  type SigningRequestEmailProps,
  type VoidNoticeEmailProps,
} from '../../emails';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** Render any template element; `text` defaults to the HTML converted to plain text. */
export async function renderEmail(element: ReactElement, opts: { subject: string; text?: string }): Promise<RenderedEmail> {
  const html = await render(element);
  return { subject: opts.subject, html, text: opts.text ?? toPlainText(html) };
}

export function renderSigningRequestEmail(props: SigningRequestEmailProps): Promise<RenderedEmail> {
  return renderEmail(createElement(SigningRequestEmail, props), {
    subject: signingRequestSubject(props),
    text: signingRequestText(props),
  });
}

export function renderVoidNoticeEmail(props: VoidNoticeEmailProps): Promise<RenderedEmail> {
  return renderEmail(createElement(VoidNoticeEmail, props), {
    subject: voidNoticeSubject(props),
    text: voidNoticeText(props),
  });
}
