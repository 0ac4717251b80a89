/**
 * Appending to the 操作ログ. Events of one organisation are serialised with a transaction-scoped
 * advisory lock, so the chain has no forks; each new event is hashed with the keyed chain
 * (lib/audit/chain, version 2). Call `recordAudit(tx, …)` inside the same transaction as the change
 * it records.
 */
import type { Db, Tx } from '../db';
import type { StaffActor } from '../auth/types';
import type { ActorType } from '../generated/prisma/client';
import { AUDIT_HASH_VERSION, auditChainKey, auditEventHash } from './chain';

export interface RequestContext {
  ip?: string | null;
  userAgent?: string | null;
}

export interface AuditInput extends RequestContext {
  organizationId: string;
  envelopeId?: string | null;
  actorType: ActorType;
  actorId?: string | null;
  /** Human readable (name and email). Never a token or secret. */
  actorLabel?: string | null;
  /** dotted verb, e.g. envelope.created, envelope.sent, email.sent, document.viewed */
  action: string;
  details?: Record<string, unknown>;
  /** Injected clock for tests. */
  at?: Date;
}

/** The audit fields of an action by a signed-in staff member: organisation, actor, IP, user agent, time. */
export function staffAuditFields(actor: StaffActor, ctx: RequestContext & { now?: Date } = {}) {
  return {
    organizationId: actor.organizationId,
    actorType: 'user' as const,
    actorId: actor.userId,
    actorLabel: `${actor.name} <${actor.email}>`,
    ip: ctx.ip ?? null,
    userAgent: ctx.userAgent ?? null,
    at: ctx.now,
  };
}

/** Append one event. Must run inside a transaction (`db.$transaction(async (tx) => …)`). */
export async function recordAudit(tx: Tx, input: AuditInput) {
  const key = await auditChainKey(tx);
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${'audit:' + input.organizationId}, 0))`;
  const prev = await tx.auditEvent.findFirst({
    where: { organizationId: input.organizationId },
    orderBy: { id: 'desc' },
    select: { hash: true },
  });
  const createdAt = input.at ?? new Date();
  const row = {
    organizationId: input.organizationId,
    envelopeId: input.envelopeId ?? null,
    actorType: input.actorType,
    actorId: input.actorId ?? null,
    actorLabel: input.actorLabel ?? null,
    action: input.action,
    ip: input.ip ?? null,
    userAgent: input.userAgent ? input.userAgent.slice(0, 512) : null,
    details: (input.details ?? {}) as object,
    createdAt,
  };
  const hash = auditEventHash(AUDIT_HASH_VERSION, key, prev?.hash ?? null, row);
  return tx.auditEvent.create({ data: { ...row, prevHash: prev?.hash ?? null, hash, hashVersion: AUDIT_HASH_VERSION } });
}

/** Convenience for callers without an open transaction. */
export async function recordAuditNow(db: Db, input: AuditInput) {
  return db.$transaction((tx) => recordAudit(tx, input));
}
