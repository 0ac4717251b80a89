/** Mail: outbox (enqueue in the caller's transaction, deliver from the worker), transport, templates. */
export {
  enqueueEmail,
  deliverDueEmails,
  listEnvelopeEmails,
  redactSigningLinks,
  defaultBackoffMs,
  DEFAULT_MAX_ATTEMPTS,
  OUTBOX_CHANNEL,
  type EnqueueEmailInput,
  type DeliverOptions,
  type DeliverResult,
  type OutboxSummary,
} from './outbox';
export { getMailTransport, createSmtpTransport, smtpUrl, redactError, type MailTransport } from './transport';
export { renderEmail, renderSigningRequestEmail, renderVoidNoticeEmail, type RenderedEmail } from './render';
