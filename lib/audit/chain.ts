/**
 * The 操作ログ hash chain: each event's hash covers the previous event's hash and the event's fields.
 *
 *   message  = prevHash ␟ organizationId ␟ envelopeId ␟ actorType ␟ actorId ␟ actorLabel ␟ action ␟ ip ␟ userAgent ␟ details ␟ createdAt
 *   version 2 (keyed, every new event):  hash = HMAC-SHA-256(auditChainKey, "v2" ␟ message)
 *   version 1 (events written before the keyed chain): hash = SHA-256(message)
 *
 * ␟ is U+001F, details are canonical JSON (sorted keys), createdAt is ISO 8601 in UTC. The key is a
 * random 32-byte key made once per database and stored wrapped by the master key (`audit_chain_keys`,
 * with the wrapping key's id): whoever can write the database but does not hold the master key
 * cannot recompute a version-2 hash, and a master-key rotation re-wraps the key instead of changing
 * it, so events hashed before a rotation stay verifiable after it. Within an organisation versions
 * never go down: a version-1 event after a version-2 event is a break (a forger downgrading).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Tx } from '../db';
import { unwrapUnderMasterKey, wrapUnderMasterKey } from '../pki';

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

const KEY_AAD = 'audit-chain-key';
/** Unwrapped keys by their wrapped form (one database has one; tests use many). */
const unwrapped = new Map<string, Promise<Buffer>>();

/**
 * The HMAC key of the chain: the database's `audit_chain_keys` row unwrapped with the master key it
 * names (current or MASTER_KEY_PREVIOUS); created on first use (concurrent first uses agree).
 */
export async function auditChainKey(db: Tx): Promise<Buffer> {
  let row = await db.auditChainKey.findUnique({ where: { id: 1 } });
  if (!row) {
    const { wrapped, masterKeyId } = await wrapUnderMasterKey(randomBytes(32), KEY_AAD);
    await db.$executeRaw`INSERT INTO "audit_chain_keys" ("id", "wrapped_key", "master_key_id") VALUES (1, ${wrapped}, ${masterKeyId}) ON CONFLICT ("id") DO NOTHING`;
    row = await db.auditChainKey.findUniqueOrThrow({ where: { id: 1 } });
  }
  const cacheKey = `${row.masterKeyId}:${row.wrappedKey}`;
  let p = unwrapped.get(cacheKey);
  if (!p) {
    p = unwrapUnderMasterKey(row.wrappedKey, row.masterKeyId, KEY_AAD);
    p.catch(() => unwrapped.delete(cacheKey));
    unwrapped.set(cacheKey, p);
  }
  return p;
}

/** The chain key re-wrapped under the current master key, when it is wrapped by another (master-key rotation); null when nothing to do. */
export async function rewrapAuditChainKey(db: Tx): Promise<{ from: string; to: string } | null> {
  const row = await db.auditChainKey.findUnique({ where: { id: 1 } });
  if (!row) return null;
  const key = await unwrapUnderMasterKey(row.wrappedKey, row.masterKeyId, KEY_AAD);
  const next = await wrapUnderMasterKey(key, KEY_AAD);
  if (next.masterKeyId === row.masterKeyId) return null;
  await db.auditChainKey.update({ where: { id: 1 }, data: { wrappedKey: next.wrapped, masterKeyId: next.masterKeyId } });
  return { from: row.masterKeyId, to: next.masterKeyId };
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
