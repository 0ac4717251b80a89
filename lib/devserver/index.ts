export { startEmbeddedPostgres, useEmbeddedPostgres, freePort, EMBEDDED_APP_ROLE, type EmbeddedPg } from './postgres';
export { openCommandDatabase, type CommandDatabase } from './database';
export { startMailCatcher, type MailCatcher } from './mail-catcher';
export { listCaughtMail, getCaughtMail, mailDir, type CaughtMail, type CaughtMailSummary } from './mailbox';
export { PEER_HEADER, devPageAllowed, isDevPath, isLoopbackAddress } from './loopback';
