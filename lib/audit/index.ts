/**
 * 操作ログ: append-only, hash-chained per organisation.
 *
 * hash = SHA-256(prevHash | organizationId | envelopeId | actorType | actorId | action | ip | userAgent | details | createdAt)
 * Events of one organisation are serialised with a transaction-scoped advisory lock, so the chain
 * has no forks. `verifyAuditChain` recomputes it. The table also refuses UPDATE and DELETE
 * (trigger in prisma/migrations/*_audit_append_only).
 *
 * Call `recordAudit(tx, …)` inside the same transaction as the change it records.
 */
import { createHash } from 'node:crypto';
import type { Db, Tx } from '../db';
import type { StaffActor } from '../auth/types';
import type { ActorType } from '../generated/prisma/client';

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

export function auditHash(prevHash: string | null, e: {
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
}): string {
  const parts = [
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
  ];
  return createHash('sha256').update(parts.join('\u001f'), 'utf8').digest('hex');
}

/** Append one event. Must run inside a transaction (`db.$transaction(async (tx) => …)`). */
export async function recordAudit(tx: Tx, input: AuditInput) {
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
  const hash = auditHash(prev?.hash ?? null, row);
  return tx.auditEvent.create({ data: { ...row, prevHash: prev?.hash ?? null, hash } });
}

/** Convenience for callers without an open transaction. */
export async function recordAuditNow(db: Db, input: AuditInput) {
  return db.$transaction((tx) => recordAudit(tx, input));
}

/** Recompute an organisation's chain; returns the id of the first broken event, or null when intact. */
export async function verifyAuditChain(db: Db, organizationId: string): Promise<bigint | null> {
  const events = await db.auditEvent.findMany({ where: { organizationId }, orderBy: { id: 'asc' } });
  let prev: string | null = null;
  for (const e of events) {
    const expected = auditHash(prev, e);
    if (e.prevHash !== prev || e.hash !== expected) return e.id;
    prev = e.hash;
  }
  return null;
}

export async function listEnvelopeAudit(db: Db, organizationId: string, envelopeId: string) {
  return db.auditEvent.findMany({ where: { organizationId, envelopeId }, orderBy: { id: 'asc' } });
}
