/**
 * 操作ログ: append-only, hash-chained per organisation, keyed, verified daily and anchored with
 * RFC 3161 time-stamps (docs/audit-trail.md).
 *
 * - record.ts: `recordAudit(tx, …)` in the transaction of the change it records;
 * - chain.ts: the hash of an event (version 2: HMAC-SHA-256 under a master-key subkey; version 1:
 *   the unkeyed SHA-256 of events written before), the anchor imprint;
 * - verify.ts: `verifyAuditChainRange` — the chain, hash versions, and the time-stamped heads;
 * - anchor.ts: `verifyAndAnchorAuditChains` (the daily task) and `getAuditVerificationStatus` (管理).
 *
 * The table refuses UPDATE, DELETE and TRUNCATE (trigger), and the application's database role may
 * only SELECT and INSERT it (lib/db prepareDatabase).
 */
import type { Db } from '../db';
import { verifyAuditChainRange } from './verify';

export { recordAudit, recordAuditNow, staffAuditFields, type AuditInput, type RequestContext } from './record';
export { auditEventHash, auditChainKey, rewrapAuditChainKey, anchorImprint, AUDIT_HASH_VERSION, type ChainedFields } from './chain';
export { verifyAuditChainRange, CHAIN_PROBLEMS, type ChainBreak, type ChainProblem, type ChainReport, type VerifyRangeOptions } from './verify';
export {
  verifyAndAnchorAuditChains,
  verifyAuditRangeAndRecord,
  getAuditVerificationStatus,
  AUDIT_VERIFY_TASK,
  type AnchorRunOptions,
  type AnchorRunResult,
  type AuditVerificationStatus,
} from './anchor';

/** Recompute an organisation's chain (and its anchors); returns the id of the first broken event, or null when intact. */
export async function verifyAuditChain(db: Db, organizationId: string): Promise<bigint | null> {
  const r = await verifyAuditChainRange(db, { organizationId });
  return r.breaks[0]?.eventId ?? null;
}

export async function listEnvelopeAudit(db: Db, organizationId: string, envelopeId: string) {
  return db.auditEvent.findMany({ where: { organizationId, envelopeId }, orderBy: { id: 'asc' } });
}
