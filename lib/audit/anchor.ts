/**
 * The daily verification of every organisation's 操作ログ, and its anchors.
 *
 * `verifyAndAnchorAuditChains` verifies each organisation's whole chain (lib/audit/verify) and, when
 * it is intact, has the TSA time-stamp the head (RFC 3161 over `anchorImprint`): the token goes into
 * the append-only audit_verifications row, and the run itself is an 操作ログ event
 * (`audit.chain_verified` naming the row and its imprint, or `audit.chain_broken` naming the first
 * broken event). An organisation is due once a day, or an hour after a run whose TSA request failed.
 * Several workers may run it at once: an organisation is handled by one of them (advisory lock).
 */
import { appRoleProblems, type Db } from '../db';
import { getTsaClient, type TsaClient } from '../tsa';
import { anchorImprint } from './chain';
import { recordAudit } from './record';
import { verifyAuditChainRange, type ChainProblem, type ChainReport } from './verify';

export const AUDIT_VERIFY_TASK = {
  name: 'audit-verify',
  /** How often a worker looks for due organisations (the work itself is daily). */
  everyMs: 15 * 60_000,
} as const;
const DAY_MS = 24 * 60 * 60_000;
const RETRY_ANCHOR_MS = 60 * 60_000;

export interface AnchorRunOptions {
  now?: Date;
  /** Default: the configured TSA (TSA_URL, else the built-in TSA). */
  tsa?: TsaClient;
  /** Roots the stored anchors' TSA must chain to (default: the configured trust anchors). */
  trustAnchors?: Uint8Array[];
  /** Only this organisation. */
  organizationId?: string;
  /** Run even when not due. */
  force?: boolean;
  log?: (m: string) => void;
}

export interface AnchorRunResult {
  organizations: number;
  skipped: number;
  verified: number;
  broken: number;
  anchored: number;
  anchorFailed: number;
  reports: ChainReport[];
}

function due(last: { verifiedAt: Date; ok: boolean; timestampToken: boolean } | null, now: Date): boolean {
  if (!last) return true;
  const age = now.getTime() - last.verifiedAt.getTime();
  return age >= DAY_MS || (last.ok && !last.timestampToken && age >= RETRY_ANCHOR_MS);
}

/** Verify (and anchor) every due organisation's chain. Returns what happened; never throws for one organisation's failure. */
export async function verifyAndAnchorAuditChains(db: Db, opts: AnchorRunOptions = {}): Promise<AnchorRunResult> {
  const now = opts.now ?? new Date();
  const log = opts.log ?? (() => {});
  const tsa = opts.tsa ?? getTsaClient();
  const orgs = await db.organization.findMany({
    where: opts.organizationId ? { id: opts.organizationId } : undefined,
    select: { id: true },
    orderBy: { id: 'asc' },
  });
  const result: AnchorRunResult = { organizations: orgs.length, skipped: 0, verified: 0, broken: 0, anchored: 0, anchorFailed: 0, reports: [] };
  for (const { id: organizationId } of orgs) {
    try {
      const done = await db.$transaction(
        async (tx) => {
          // One worker per organisation; the others skip it.
          const [{ locked }] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtextextended(${'audit-verify:' + organizationId}, 0)) AS locked`;
          if (!locked) return null;
          const last = await tx.auditVerification.findFirst({
            where: { organizationId },
            orderBy: { id: 'desc' },
            select: { verifiedAt: true, ok: true, timestampedAt: true },
          });
          if (!opts.force && !due(last && { ...last, timestampToken: last.timestampedAt !== null }, now)) return null;

          const report = await verifyAuditChainRange(tx, { organizationId, trustAnchors: opts.trustAnchors });
          const first = report.breaks[0];
          let imprint: Buffer | undefined;
          let token: { token: Uint8Array; genTime: Date } | undefined;
          let timestampError: string | undefined;
          if (report.ok && report.head) {
            imprint = anchorImprint(organizationId, report.head.id, report.head.hash);
            try {
              token = await tsa.timestamp(imprint);
            } catch (e) {
              const reason = (e as { details?: { reason?: unknown } }).details?.reason;
              timestampError = typeof reason === 'string' ? reason.slice(0, 200) : 'TSA unavailable';
            }
          }
          const v = await tx.auditVerification.create({
            data: {
              organizationId,
              verifiedAt: now,
              ok: report.ok,
              eventsChecked: report.eventsChecked,
              headEventId: report.head?.id ?? null,
              headHash: report.head?.hash ?? null,
              firstBrokenEventId: first?.eventId ?? null,
              problem: first?.problem ?? null,
              imprint: token && imprint ? imprint.toString('hex') : null,
              timestampToken: token ? Buffer.from(token.token) : null,
              timestampedAt: token?.genTime ?? null,
              timestampError: timestampError ?? null,
            },
          });
          await recordAudit(tx, {
            organizationId,
            actorType: 'system',
            actorLabel: '操作ログの定期検証',
            action: report.ok ? 'audit.chain_verified' : 'audit.chain_broken',
            details: {
              source: 'daily',
              eventsChecked: report.eventsChecked,
              headEventId: report.head?.id.toString() ?? null,
              headHash: report.head?.hash ?? null,
              anchorsChecked: report.anchorsChecked,
              ...(first ? { firstBrokenEventId: first.eventId.toString(), problem: first.problem, breaks: report.breaks.length } : {}),
              ...(token && imprint ? { verificationId: v.id.toString(), imprint: imprint.toString('hex'), timestampedAt: token.genTime.toISOString() } : {}),
              ...(timestampError ? { timestampError } : {}),
            },
            at: now,
          });
          return { report, anchored: !!token, anchorFailed: !!timestampError };
        },
        { timeout: 60 * 60_000, maxWait: 30_000 },
      );
      if (!done) {
        result.skipped++;
        continue;
      }
      result.reports.push(done.report);
      if (done.report.ok) result.verified++;
      else {
        result.broken++;
        const b = done.report.breaks[0];
        log(`操作ログ of organisation ${organizationId}: BROKEN at event ${b.eventId} (${b.problem})`);
      }
      if (done.anchored) result.anchored++;
      if (done.anchorFailed) result.anchorFailed++;
    } catch (e) {
      log(`操作ログ verification of organisation ${organizationId} failed: ${(e as Error).message}`);
    }
  }
  return result;
}

/**
 * Verify a range of an organisation's chain on request (`npm run audit:verify`) and record that
 * verification in the log (`audit.chain_verified` / `audit.chain_broken`, details.source 'command').
 */
export async function verifyAuditRangeAndRecord(
  db: Db,
  opts: { organizationId: string; fromId?: bigint; toId?: bigint; trustAnchors?: Uint8Array[]; actorLabel: string; now?: Date },
): Promise<ChainReport> {
  const report = await verifyAuditChainRange(db, opts);
  const first = report.breaks[0];
  await db.$transaction((tx) =>
    recordAudit(tx, {
      organizationId: opts.organizationId,
      actorType: 'system',
      actorLabel: opts.actorLabel,
      action: report.ok ? 'audit.chain_verified' : 'audit.chain_broken',
      details: {
        source: 'command',
        fromId: opts.fromId?.toString() ?? null,
        toId: opts.toId?.toString() ?? null,
        eventsChecked: report.eventsChecked,
        headEventId: report.head?.id.toString() ?? null,
        anchorsChecked: report.anchorsChecked,
        ...(first ? { firstBrokenEventId: first.eventId.toString(), problem: first.problem, breaks: report.breaks.length } : {}),
      },
      at: opts.now,
    }),
  );
  return report;
}

export interface AuditVerificationStatus {
  last: {
    verifiedAt: Date;
    ok: boolean;
    eventsChecked: number;
    headEventId: bigint | null;
    headHash: string | null;
    timestampedAt: Date | null;
    timestampError: string | null;
  } | null;
  /** The newest anchored run (the last one when it was anchored). */
  lastAnchored: { verifiedAt: Date; headEventId: bigint | null; headHash: string | null; timestampedAt: Date | null } | null;
  /** The first broken event of the last run, when it found a break. */
  firstBroken: { eventId: bigint; problem: ChainProblem; action: string | null; createdAt: Date | null } | null;
  /** What the application's database role could do to the log beyond SELECT/INSERT (empty = restricted). */
  roleProblems: string[];
}

/** What 管理 shows: the last verification of the organisation's chain, its anchor, any break. */
export async function getAuditVerificationStatus(db: Db, organizationId: string): Promise<AuditVerificationStatus> {
  const select = { verifiedAt: true, ok: true, eventsChecked: true, headEventId: true, headHash: true, timestampedAt: true, timestampError: true, firstBrokenEventId: true, problem: true } as const;
  const [last, lastAnchored, roleProblems] = await Promise.all([
    db.auditVerification.findFirst({ where: { organizationId }, orderBy: { id: 'desc' }, select }),
    db.auditVerification.findFirst({
      where: { organizationId, timestampToken: { not: null } },
      orderBy: { id: 'desc' },
      select: { verifiedAt: true, headEventId: true, headHash: true, timestampedAt: true },
    }),
    appRoleProblems((sql) => db.$queryRawUnsafe<Record<string, unknown>[]>(sql)),
  ]);
  let firstBroken: AuditVerificationStatus['firstBroken'] = null;
  if (last && !last.ok && last.firstBrokenEventId !== null) {
    const e = await db.auditEvent.findFirst({ where: { id: last.firstBrokenEventId, organizationId }, select: { action: true, createdAt: true } });
    firstBroken = { eventId: last.firstBrokenEventId, problem: (last.problem ?? 'hash_mismatch') as ChainProblem, action: e?.action ?? null, createdAt: e?.createdAt ?? null };
  }
  return {
    last: last && {
      verifiedAt: last.verifiedAt,
      ok: last.ok,
      eventsChecked: last.eventsChecked,
      headEventId: last.headEventId,
      headHash: last.headHash,
      timestampedAt: last.timestampedAt,
      timestampError: last.timestampError,
    },
    lastAnchored,
    firstBroken,
    roleProblems,
  };
}
