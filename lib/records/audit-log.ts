/**
 * 操作ログ list for admins: the organisation's AuditEvents, newest first, keyset-paged by id.
 */
import type { StaffActor } from '../auth/types';
import type { Db } from '../db';
import { AppError } from '../errors';
import type { AuditEvent } from '../generated/prisma/client';

export interface AuditPage {
  events: (AuditEvent & { envelopeDocumentNumber: string | null })[];
  /** id to pass as `before` for the next (older) page; null when none. */
  nextBefore: string | null;
}

export async function listAuditEvents(
  db: Db,
  actor: StaffActor,
  opts: { before?: string | null; limit?: number; action?: string | null } = {},
): Promise<AuditPage> {
  if (actor.role !== 'admin') throw new AppError('forbidden', '操作ログは管理者のみ閲覧できます。');
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
  const before = opts.before && /^\d{1,19}$/.test(opts.before) ? BigInt(opts.before) : undefined;
  const action = opts.action && /^[a-z_.]{1,64}$/.test(opts.action) ? opts.action : undefined;
  const rows = await db.auditEvent.findMany({
    where: { organizationId: actor.organizationId, ...(before ? { id: { lt: before } } : {}), ...(action ? { action } : {}) },
    orderBy: { id: 'desc' },
    take: limit + 1,
    include: { envelope: { select: { documentNumber: true } } },
  });
  const page = rows.slice(0, limit);
  return {
    events: page.map(({ envelope, ...e }) => ({ ...e, envelopeDocumentNumber: envelope?.documentNumber ?? null })),
    nextBefore: rows.length > limit ? page[page.length - 1].id.toString() : null,
  };
}
