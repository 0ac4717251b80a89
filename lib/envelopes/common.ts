/** Helpers shared by the envelope service files. */
import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../audit';
import type { StaffActor } from '../auth/types';
import type { Tx } from '../db';
import { AppError, notFound } from '../errors';
import type { Envelope } from '../generated/prisma/client';

/** Request facts for the audit trail, plus an injectable clock for tests. */
export interface ServiceContext extends RequestContext {
  now?: Date;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const envelopeNotFound = () => notFound('封筒');

/**
 * Lock the actor's envelope row (SELECT … FOR UPDATE) and return it. Another organisation's
 * envelope, a malformed id or a missing one are all the same not_found (never 403).
 */
export async function lockEnvelope(tx: Tx, actor: StaffActor, id: string): Promise<Envelope> {
  if (typeof id !== 'string' || !UUID_RE.test(id)) throw envelopeNotFound();
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS id FROM "envelopes"
     WHERE "id" = ${id}::uuid AND "organization_id" = ${actor.organizationId}::uuid
     FOR UPDATE`;
  if (rows.length === 0) throw envelopeNotFound();
  return tx.envelope.findUniqueOrThrow({ where: { id } });
}

export function requireDraft(env: Pick<Envelope, 'status'>): void {
  if (env.status !== 'draft') {
    throw new AppError('invalid_state', '送信済みの封筒は編集できません。下書きの封筒のみ編集できます。', {
      details: { status: env.status },
    });
  }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 書類ID: 'TS-' + 10 Crockford base32 characters (50 random bits), e.g. TS-4K7M2-9QXA3. */
export function newDocumentNumber(): string {
  const b = randomBytes(10);
  let s = '';
  for (let i = 0; i < 10; i++) s += CROCKFORD[b[i] & 31];
  return `TS-${s.slice(0, 5)}-${s.slice(5)}`;
}

export function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * 86_400_000);
}

/** 2026年12月27日 09:30 (Asia/Tokyo, 西暦). */
export function formatDateTimeJa(d: Date): string {
  const parts = new Intl.DateTimeFormat('ja-JP', {
    timeZone: 'Asia/Tokyo',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}年${get('month')}月${get('day')}日 ${get('hour')}:${get('minute')}`;
}

/** Prisma unique-constraint violation. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'P2002';
}
