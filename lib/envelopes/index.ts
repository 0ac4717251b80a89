/**
 * lib/envelopes — the only place that changes envelope status (each change in one transaction with
 * its AuditEvent). Staff functions take (db, actor: StaffActor, …, ctx) and scope everything to
 * actor.organizationId: another organisation's envelope is AppError('not_found').
 */
export {
  createDraft,
  updateDraft,
  setRecipients,
  sendEnvelope,
  resendRequest,
  voidEnvelope,
  getEnvelope,
  listEnvelopes,
  expireDueEnvelopes,
  recipientStatus,
  type SendResult,
  type EnvelopeDetail,
  type EnvelopeListItem,
  type RecipientStatus,
} from './lifecycle';
export { addDocument, removeDocument, reorderDocuments, cleanFileName, type AddDocumentInput } from './documents';
export { notifyRecipient, signingUrl, type NotifyOptions, type NotifyResult } from './notify';
export { lockEnvelope, newDocumentNumber, formatDateTimeJa, type ServiceContext } from './common';
export {
  envelopeInputSchema,
  recipientInputSchema,
  recipientsInputSchema,
  voidInputSchema,
  listEnvelopesSchema,
  emailSchema,
  yenSchema,
  dateOnlySchema,
  formBoolean,
  fieldErrorsOf,
  parseInput,
  type EnvelopeInput,
  type EnvelopeData,
  type RecipientInput,
  type RecipientData,
} from './schemas';
export * from './signing';
export * from './sealing';
export * from './downloads';
export * from './archive';
export { sendDueReminders, reminderDedupeKey, REMINDER_TASK, type ReminderOptions, type ReminderSent } from './reminders';
