/**
 * `npm run audit:verify -- [--org <slug|id>] [--from <event id>] [--to <event id>]`: verify the
 * 操作ログ hash chain of one organisation (default: every one), whole or between two event ids, and
 * the time-stamped heads (anchors) in that range (lib/audit verifyAuditChainRange). Each
 * verification is itself recorded in the log. Exit status: 0 intact, 1 a break was found, 2 error.
 * Uses DATABASE_URL, else the embedded PostgreSQL of `npm run dev` (running or not).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { verifyAuditRangeAndRecord, type ChainReport } from '../lib/audit';
import { getConfig, resetConfig } from '../lib/config';
import { disconnectPrisma, getPrisma } from '../lib/db';
import { useEmbeddedPostgres } from '../lib/devserver';
import { t } from '../lib/i18n';

function eventId(v: string | undefined, name: string): bigint | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,19}$/.test(v)) throw new Error(`--${name} must be an event id (a positive integer)`);
  return BigInt(v);
}

function describe(r: ChainReport): string {
  const range = r.firstEventId === null ? 'no events' : `events ${r.firstEventId}–${r.lastEventId}`;
  const head = r.head ? `head ${r.head.id} ${r.head.hash.slice(0, 16)}…` : 'no head';
  const counts = `${r.eventsChecked} checked (${r.legacyEvents} unkeyed), ${r.anchorsChecked} time-stamped heads`;
  if (r.ok) return `${range}: ${counts}: OK, ${head}`;
  const lines = r.breaks.slice(0, 10).map((b) => `  event ${b.eventId}: ${b.problem} — ${t('ja', `auditProblem.${b.problem}`)}${b.verificationId ? ` (verification ${b.verificationId})` : ''}`);
  return `${range}: ${counts}: BROKEN (${r.breaks.length} problem${r.breaks.length === 1 ? '' : 's'})\n${lines.join('\n')}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { org: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } });
  const fromId = eventId(values.from, 'from');
  const toId = eventId(values.to, 'to');
  if (fromId !== undefined && toId !== undefined && fromId > toId) throw new Error('--from must not be after --to');
  let stop: (() => Promise<void>) | undefined;
  if (!process.env.DATABASE_URL) {
    const cfg = getConfig();
    const pg = await useEmbeddedPostgres({ dataDir: path.join(cfg.dataDir, 'pg'), port: cfg.EMBEDDED_PG_PORT });
    stop = () => pg.stop();
    process.env.DATABASE_URL = pg.appUrlFor('tachiai');
    resetConfig();
  }
  const db = getPrisma();
  try {
    const orgs = await db.organization.findMany({
      where: values.org ? (/^[0-9a-f-]{36}$/i.test(values.org) ? { id: values.org } : { slug: values.org }) : undefined,
      select: { id: true, name: true, slug: true },
      orderBy: { createdAt: 'asc' },
    });
    if (!orgs.length) throw new Error(values.org ? `no organisation ${values.org}` : 'no organisations');
    let broken = 0;
    for (const o of orgs) {
      const r = await verifyAuditRangeAndRecord(db, { organizationId: o.id, fromId, toId, actorLabel: 'npm run audit:verify' });
      if (!r.ok) broken++;
      console.log(`${o.name} (${o.slug}, ${o.id}): ${describe(r)}`);
    }
    return broken ? 1 : 0;
  } finally {
    await disconnectPrisma();
    await stop?.();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error('[audit:verify] failed:', e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
