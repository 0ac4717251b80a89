/**
 * 操作ログ benchmark (`npm run bench -- audit`): what the daily verification costs. Prints
 *   audit.record.ms_per_event      — recordAuditNow, one event per transaction (keyed hash, advisory lock)
 *   audit.verify.events           — events in the chain verified below
 *   audit.verify.ms               — verifyAuditChainRange over the whole chain (one organisation)
 *   audit.verify.events_per_s
 * The chain (keyed, version 2) is written with INSERT … SELECT from precomputed rows into an embedded
 * PostgreSQL in a temp directory (migrated as the owner; verified through the application role).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { auditChainKey, auditEventHash, recordAuditNow, verifyAuditChainRange } from '../../lib/audit';
import { resetConfig } from '../../lib/config';
import { createPrisma, prepareDatabase } from '../../lib/db';
import { freePort, startEmbeddedPostgres } from '../../lib/devserver';

const EVENTS = 200_000;

export default async function bench(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tachiai-bench-audit-'));
  await chmod(dir, 0o755); // the postgres OS user (when running as root) must reach its data dir
  process.env.DATA_DIR = dir;
  process.env.MASTER_KEY ??= Buffer.alloc(32, 7).toString('base64');
  resetConfig();
  const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: await freePort(), persistent: false, databases: ['bench'] });
  try {
    await prepareDatabase({ ownerUrl: server.urlFor('bench'), appUrl: server.appUrlFor('bench') });
    const db = createPrisma(server.appUrlFor('bench'), { max: 4 });
    const org = await db.organization.create({ data: { name: '川口市', slug: 'kawaguchi' } });

    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await recordAuditNow(db, { organizationId: org.id, actorType: 'user', actorId: 'u', actorLabel: '契約 太郎 <k@example.jp>', action: 'document.viewed', ip: '203.0.113.7', userAgent: 'Mozilla/5.0', details: { i } });
    }
    console.log(`audit.record.ms_per_event: ${((performance.now() - t0) / n).toFixed(2)} ms`);

    // Bulk: continue the chain with precomputed keyed rows.
    const key = await auditChainKey(db);
    const last = await db.auditEvent.findFirstOrThrow({ where: { organizationId: org.id }, orderBy: { id: 'desc' } });
    let prev: string | null = last.hash;
    const owner = new pg.Client({ connectionString: server.urlFor('bench') });
    await owner.connect();
    const base = Date.now();
    for (let done = 0; done < EVENTS - n; ) {
      const rows: unknown[][] = [];
      for (let k = 0; k < 5000 && done < EVENTS - n; k++, done++) {
        const e = {
          organizationId: org.id, envelopeId: null, actorType: 'user', actorId: 'u', actorLabel: '契約 太郎 <k@example.jp>',
          action: 'document.viewed', ip: '203.0.113.7', userAgent: 'Mozilla/5.0', details: { i: done }, createdAt: new Date(base + done),
        };
        const hash = auditEventHash(2, key, prev, e);
        rows.push([JSON.stringify(e.details), prev, hash, e.createdAt.toISOString()]);
        prev = hash;
      }
      await owner.query(
        `INSERT INTO audit_events (organization_id, actor_type, actor_id, actor_label, action, ip, user_agent, details, prev_hash, hash, hash_version, created_at)
         SELECT $1, 'user', 'u', '契約 太郎 <k@example.jp>', 'document.viewed', '203.0.113.7', 'Mozilla/5.0', (r->>0)::jsonb, r->>1, r->>2, 2, (r->>3)::timestamptz
           FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(r, ord) ORDER BY ord`,
        [org.id, JSON.stringify(rows)],
      );
    }
    await owner.end();

    const t1 = performance.now();
    const report = await verifyAuditChainRange(db, { organizationId: org.id, key, trustAnchors: [] });
    const ms = performance.now() - t1;
    if (!report.ok) throw new Error(`bench chain does not verify: ${JSON.stringify(report.breaks[0], (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    console.log(`audit.verify.events: ${report.eventsChecked} events`);
    console.log(`audit.verify.ms: ${ms.toFixed(0)} ms`);
    console.log(`audit.verify.events_per_s: ${Math.round(report.eventsChecked / (ms / 1000))} events/s`);
    await db.$disconnect();
  } finally {
    await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
