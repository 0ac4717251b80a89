export { startEmbeddedPostgres, useEmbeddedPostgres, freePort, EMBEDDED_APP_ROLE, type EmbeddedPg } from './postgres';
export { startMailCatcher, type MailCatcher } from './mail-catcher';
export { listCaughtMail, getCaughtMail, mailDir, type CaughtMail, type CaughtMailSummary } from './mailbox';
