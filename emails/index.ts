/** React Email templates (Japanese first). Rendered by lib/mail (renderEmail). */
export { EmailLayout } from './layout';
export { SigningRequestEmail, signingRequestSubject, signingRequestText, type SigningRequestEmailProps } from './signing-request';
export { VoidNoticeEmail, voidNoticeSubject, voidNoticeText, type VoidNoticeEmailProps } from './void-notice';
