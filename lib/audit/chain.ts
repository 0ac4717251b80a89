/**
 * The 操作ログ hash chain: each event's hash covers the previous event's hash and the event's fields.
 *
 *   message  = prevHash ␟ organizationId ␟ envelopeId ␟ actorType ␟ actorId ␟ actorLabel ␟ action ␟ ip ␟ userAgent ␟ details ␟ createdAt
 *   version 2 (keyed, every new event):  hash = HMAC-SHA-256(auditChainKey, "v2" ␟ message)
 *   version 1 (events written before the keyed chain): hash = SHA-256(message)
 *
 * ␟ is U+001F, details are canonical JSON (sorted keys), createdAt is ISO 8601 in UTC. The key is
 * derived from the master key (`deriveKey('audit-chain')`), so whoever can write the database but
 * does not hold the master key cannot recompute a version-2 hash. Within an organisation versions
 * never go down: a version-1 event after a version-2 event is a break (a forger downgrading).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from '../pki';

export const AUDIT_HASH_VERSION = 2;
const SEP = '\u001f';

export interface ChainedFields {
  organizationId: string;
  envelopeId: string | null;
  actorType: string;
  actorId: string | null;
  actorLabel: string | null;
  action: string;
  ip: string | null;
  userAgent: string | null;
  details: unknown;
  createdAt: Date;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
    .join(',')}}`;
}

function chainMessage(prevHash: string | null, e: ChainedFields): string {
  return [
    prevHash ?? '',
    e.organizationId,
    e.envelopeId ?? '',
    e.actorType,
    e.actorId ?? '',
    e.actorLabel ?? '',
    e.action,
    e.ip ?? '',
    e.userAgent ?? '',
    canonical(e.details ?? {}),
    e.createdAt.toISOString(),
  ].join(SEP);
}

/** The HMAC key of the chain (HKDF subkey of the master key). */
export function auditChainKey(): Promise<Buffer> {
  return deriveKey('audit-chain');
}

/** The hash of an event under `version` (2 needs `key`); throws for an unknown version. */
export function auditEventHash(version: number, key: Buffer | null, prevHash: string | null, e: ChainedFields): string {
  const msg = chainMessage(prevHash, e);
  if (version === 1) return createHash('sha256').update(msg, 'utf8').digest('hex');
  if (version === 2) {
    if (!key) throw new Error('the audit-chain key is required for hash version 2');
    return createHmac('sha256', key).update(`v2${SEP}${msg}`, 'utf8').digest('hex');
  }
  throw new Error(`unknown audit hash version ${version}`);
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string | null | undefined, b: string | null | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * The digest time-stamped for an anchor: it binds the organisation, the head event's id and hash.
 * SHA-256("tachiai-audit-anchor/v1" ␟ organizationId ␟ headEventId ␟ headHash).
 */
export function anchorImprint(organizationId: string, headEventId: bigint, headHash: string): Buffer {
  return createHash('sha256').update(['tachiai-audit-anchor/v1', organizationId, headEventId.toString(), headHash].join(SEP), 'utf8').digest();
}
