/**
 * Verify an organisation's 操作ログ chain, whole or a range of event ids, including the time-stamped
 * heads (anchors) stored in audit_verifications:
 *
 * - every event's prev_hash is the previous event's hash and its hash matches its fields (lib/audit/chain);
 * - hash versions never go down (a version-1 event after a version-2 one is a forger downgrading);
 * - every anchor whose head lies in the range: the head event still exists with the hash that was
 *   time-stamped, the stored imprint is the one computed from (organisation, head id, head hash),
 *   and the RFC 3161 token covers exactly that imprint, verifies (signature, ESS, EKU) and chains to
 *   a trusted root, with its time within an hour of the recorded verification;
 * - every anchor the log itself records (an `audit.chain_verified` event naming a verification) is
 *   still in audit_verifications with the same imprint.
 *
 * An attacker who rewrites the log without the key breaks the first check at the first edited event;
 * one who holds the key and recomputes every later hash is caught at the next anchored head.
 */
import { createHash } from 'node:crypto';
import type { Tx } from '../db';
import { verifyTimestampToken } from '../tsa';
import { anchorImprint, auditChainKey, auditEventHash, sameHash } from './chain';

export type ChainProblem =
  /** prev_hash does not name the previous event: an event was removed, inserted or reordered. */
  | 'prev_hash_mismatch'
  /** The event's fields do not match its hash: it was edited. */
  | 'hash_mismatch'
  /** An unkeyed (version 1) event after a keyed one. */
  | 'version_downgrade'
  | 'unknown_version'
  /** A time-stamped head no longer has the hash that was time-stamped. */
  | 'anchor_mismatch'
  /** A time-stamped head event is gone. */
  | 'anchor_missing_event'
  /** An anchor's stored imprint or token does not cover its head, or the token does not verify. */
  | 'anchor_token_invalid'
  /** The log records an anchor that audit_verifications no longer holds (or holds changed). */
  | 'anchor_removed';

export const CHAIN_PROBLEMS: readonly ChainProblem[] = [
  'prev_hash_mismatch',
  'hash_mismatch',
  'version_downgrade',
  'unknown_version',
  'anchor_mismatch',
  'anchor_missing_event',
  'anchor_token_invalid',
  'anchor_removed',
];

export interface ChainBreak {
  eventId: bigint;
  problem: ChainProblem;
  /** For anchor problems: the audit_verifications row. */
  verificationId?: bigint;
}

export interface ChainReport {
  organizationId: string;
  /** First and last event checked (null when the range holds none). */
  firstEventId: bigint | null;
  lastEventId: bigint | null;
  eventsChecked: number;
  /** Events hashed without a key (written before the keyed chain). */
  legacyEvents: number;
  /** The last event checked: what an anchor time-stamps. */
  head: { id: bigint; hash: string } | null;
  anchorsChecked: number;
  /** In event order; at most MAX_BREAKS. */
  breaks: ChainBreak[];
  ok: boolean;
}

export interface VerifyRangeOptions {
  organizationId: string;
  /** Inclusive event id bounds (global ids: the organisation's events between them). */
  fromId?: bigint;
  toId?: bigint;
  /** The chain key (default: derived from the master key). */
  key?: Buffer;
  /** Roots the anchors' TSA must chain to (default: the configured trust anchors, loaded when needed). */
  trustAnchors?: Uint8Array[] | (() => Promise<Uint8Array[]>);
  batchSize?: number;
}

const MAX_BREAKS = 100;
const ANCHOR_TIME_SLACK_MS = 60 * 60_000;

/** Tokens this process verified: sha256(token) + imprint → verdict (tokens are immutable bytes). */
const verifiedTokens = new Map<string, boolean>();
const VERIFIED_TOKENS_MAX = 50_000;

async function tokenCovers(token: Uint8Array, imprint: Buffer, verifiedAt: Date, anchors: () => Promise<Uint8Array[]>): Promise<boolean> {
  const cacheKey = `${createHash('sha256').update(token).digest('hex')}:${imprint.toString('hex')}:${verifiedAt.getTime()}`;
  const hit = verifiedTokens.get(cacheKey);
  if (hit !== undefined) return hit;
  const trustAnchors = await anchors();
  const r = await verifyTimestampToken(token, { digest: imprint, trustAnchors });
  const ok =
    r.valid &&
    r.chainValid === true &&
    r.token?.hashAlgorithmName === 'sha256' &&
    Math.abs(r.token.genTime.getTime() - verifiedAt.getTime()) <= ANCHOR_TIME_SLACK_MS;
  if (verifiedTokens.size >= VERIFIED_TOKENS_MAX) verifiedTokens.clear();
  verifiedTokens.set(cacheKey, ok);
  return ok;
}

async function defaultTrustAnchors(): Promise<Uint8Array[]> {
  const { configuredTrustAnchors } = await import('../pades');
  return configuredTrustAnchors();
}

/** Verify the organisation's events with ids in [fromId, toId] (default: all) and the anchors among them. */
export async function verifyAuditChainRange(db: Tx, opts: VerifyRangeOptions): Promise<ChainReport> {
  const { organizationId } = opts;
  const key = opts.key ?? (await auditChainKey(db));
  let anchorsPromise: Promise<Uint8Array[]> | undefined;
  const trustAnchors = () => {
    const t = opts.trustAnchors;
    anchorsPromise ??= Array.isArray(t) ? Promise.resolve(t) : (t ?? defaultTrustAnchors)();
    return anchorsPromise;
  };
  const batchSize = opts.batchSize ?? 2000;
  const breaks: ChainBreak[] = [];
  const broke = (b: ChainBreak) => {
    if (breaks.length < MAX_BREAKS) breaks.push(b);
  };

  // The link into the range: the stored hash of the organisation's event just before it (none = the chain's start).
  let prev: string | null = null;
  if (opts.fromId !== undefined) {
    const before = await db.auditEvent.findFirst({
      where: { organizationId, id: { lt: opts.fromId } },
      orderBy: { id: 'desc' },
      select: { hash: true, hashVersion: true },
    });
    prev = before?.hash ?? null;
  }
  let keyed = false;
  if (opts.fromId !== undefined) {
    keyed = (await db.auditEvent.count({ where: { organizationId, id: { lt: opts.fromId }, hashVersion: { gte: 2 } } })) > 0;
  }

  const anchorRows = await db.auditVerification.findMany({
    where: {
      organizationId,
      timestampToken: { not: null },
      headEventId: { gte: opts.fromId, lte: opts.toId },
    },
    orderBy: { id: 'asc' },
    select: { id: true, headEventId: true, headHash: true, imprint: true, verifiedAt: true },
  });
  const anchorsByHead = new Map<bigint, typeof anchorRows>();
  for (const a of anchorRows) {
    if (a.headEventId === null) continue;
    anchorsByHead.set(a.headEventId, [...(anchorsByHead.get(a.headEventId) ?? []), a]);
  }
  /** Anchors recorded in the log: verification id → imprint, and the event that recorded it. */
  const recordedAnchors = new Map<bigint, { eventId: bigint; imprint: string }>();

  let firstEventId: bigint | null = null;
  let lastEventId: bigint | null = null;
  let eventsChecked = 0;
  let legacyEvents = 0;
  let head: ChainReport['head'] = null;
  const seenHeads = new Map<bigint, string>();
  let cursor: bigint | undefined;

  for (;;) {
    const batch = await db.auditEvent.findMany({
      where: {
        organizationId,
        id: { gte: cursor === undefined ? opts.fromId : undefined, gt: cursor, lte: opts.toId },
      },
      orderBy: { id: 'asc' },
      take: batchSize,
    });
    if (!batch.length) break;
    for (const e of batch) {
      firstEventId ??= e.id;
      lastEventId = e.id;
      eventsChecked++;
      if (e.hashVersion === 1) legacyEvents++;
      if ((e.prevHash ?? null) !== prev) {
        broke({ eventId: e.id, problem: 'prev_hash_mismatch' });
      } else if (e.hashVersion === 1 && keyed) {
        broke({ eventId: e.id, problem: 'version_downgrade' });
      } else if (e.hashVersion !== 1 && e.hashVersion !== 2) {
        broke({ eventId: e.id, problem: 'unknown_version' });
      } else if (!sameHash(e.hash, auditEventHash(e.hashVersion, key, prev, e))) {
        broke({ eventId: e.id, problem: 'hash_mismatch' });
      }
      if (e.hashVersion >= 2) keyed = true;
      if (anchorsByHead.has(e.id)) seenHeads.set(e.id, e.hash);
      if (e.action === 'audit.chain_verified') {
        const d = e.details as { verificationId?: unknown; imprint?: unknown } | null;
        if (d && typeof d.verificationId === 'string' && /^\d+$/.test(d.verificationId) && typeof d.imprint === 'string') {
          recordedAnchors.set(BigInt(d.verificationId), { eventId: e.id, imprint: d.imprint });
        }
      }
      prev = e.hash;
      head = { id: e.id, hash: e.hash };
    }
    cursor = batch[batch.length - 1].id;
    if (batch.length < batchSize) break;
  }

  // Anchors: the head still has the time-stamped hash, and the token covers exactly that.
  for (const a of anchorRows) {
    const headId = a.headEventId!;
    const current = seenHeads.get(headId);
    if (current === undefined) {
      broke({ eventId: headId, problem: 'anchor_missing_event', verificationId: a.id });
      continue;
    }
    if (!a.headHash || !sameHash(current, a.headHash)) {
      broke({ eventId: headId, problem: 'anchor_mismatch', verificationId: a.id });
      continue;
    }
    const imprint = anchorImprint(organizationId, headId, a.headHash);
    const row = await db.auditVerification.findUnique({ where: { id: a.id }, select: { timestampToken: true } });
    if (a.imprint !== imprint.toString('hex') || !row?.timestampToken || !(await tokenCovers(row.timestampToken, imprint, a.verifiedAt, trustAnchors))) {
      broke({ eventId: headId, problem: 'anchor_token_invalid', verificationId: a.id });
    }
  }
  // Anchors the log records must still be there, unchanged.
  if (recordedAnchors.size) {
    const rows = await db.auditVerification.findMany({
      where: { organizationId, id: { in: [...recordedAnchors.keys()] } },
      select: { id: true, imprint: true, timestampToken: true },
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [id, rec] of recordedAnchors) {
      const row = byId.get(id);
      if (!row || !row.timestampToken || row.imprint !== rec.imprint) broke({ eventId: rec.eventId, problem: 'anchor_removed', verificationId: id });
    }
  }

  breaks.sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  return {
    organizationId,
    firstEventId,
    lastEventId,
    eventsChecked,
    legacyEvents,
    head,
    anchorsChecked: anchorRows.length,
    breaks,
    ok: breaks.length === 0,
  };
}
