export { startEmbeddedPostgres, freePort, type EmbeddedPg } from './postgres';
export { openCommandDatabase } from './database';
export { startMailCatcher, type MailCatcher } from './mail-catcher';
export { listCaughtMail, getCaughtMail, mailDir, type CaughtMail, type CaughtMailSummary } from './mailbox';
export { PEER_HEADER, devPageAllowed, isDevPath, isLoopbackAddress } from './loopback';
