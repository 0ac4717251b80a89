/** lib/jobs: transactional enqueue, singleton keys, zod-validated payloads, retries with backoff, SKIP LOCKED. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { enqueueJob, registerJobHandler, runDueJobs, startWorker } from '../../lib/jobs';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('jobs', () => {
  it('enqueues in the caller transaction: a rolled-back transaction leaves no job', async () => {
    await expect(
      t.prisma.$transaction(async (tx) => {
        await enqueueJob(tx, 'test-rollback', { a: 1 });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await t.prisma.job.count({ where: { name: 'test-rollback' } })).toBe(0);
  });

  it('singletonKey queues one job however often it is enqueued', async () => {
    const a = await enqueueJob(t.prisma, 'test-single', { envelopeId: 'e1' }, { singletonKey: 'e1' });
    const b = await t.prisma.$transaction((tx) => enqueueJob(tx, 'test-single', { envelopeId: 'e1' }, { singletonKey: 'e1' }));
    const [c, d] = await Promise.all([
      enqueueJob(t.prisma, 'test-single', { envelopeId: 'e1' }, { singletonKey: 'e1' }),
      enqueueJob(t.prisma, 'test-single', { envelopeId: 'e2' }, { singletonKey: 'e2' }),
    ]);
    expect([a.created, b.created, c.created, d.created]).toEqual([true, false, false, true]);
    expect(b.id).toBe(a.id);
    expect(await t.prisma.job.count({ where: { name: 'test-single' } })).toBe(2);
  });

  it('runs handlers with parsed payloads, retries failures with backoff, and gives up visibly', async () => {
    const seen: string[] = [];
    let failuresLeft = 1;
    registerJobHandler(
      'test-flaky',
      async (p, ctx) => {
        if (failuresLeft-- > 0) throw new Error('temporary failure smtp://user:secret@host');
        seen.push(`${p.envelopeId}#${ctx.attempt}`);
      },
      { schema: z.object({ envelopeId: z.string() }), backoffMs: () => 60_000 },
    );
    registerJobHandler('test-always-fails', async () => {
      throw new Error('boom');
    }, { schema: z.object({}), backoffMs: () => 1000 });

    const flaky = await enqueueJob(t.prisma, 'test-flaky', { envelopeId: 'env-1' });
    const bad = await enqueueJob(t.prisma, 'test-flaky', { wrong: true });
    const dead = await enqueueJob(t.prisma, 'test-always-fails', {}, { maxAttempts: 2 });
    const t0 = new Date(Date.now() + 1000);
    const names = ['test-flaky', 'test-always-fails'];

    let r = await runDueJobs(t.prisma, { now: t0, names, batch: 10 });
    expect(r.claimed).toBe(3);
    // the invalid payload fails for good without calling the handler
    const badRow = await t.prisma.job.findUniqueOrThrow({ where: { id: bad.id } });
    expect(badRow.status).toBe('failed');
    expect(badRow.lastError).toMatch(/invalid payload/);
    let row = await t.prisma.job.findUniqueOrThrow({ where: { id: flaky.id } });
    expect(row.status).toBe('failed');
    expect(row.lastError).toBe('temporary failure smtp://***@host');
    expect(row.runAt.getTime()).toBe(t0.getTime() + 60_000);

    r = await runDueJobs(t.prisma, { now: new Date(t0.getTime() + 30_000), names, batch: 10 });
    expect(seen).toEqual([]);
    r = await runDueJobs(t.prisma, { now: new Date(t0.getTime() + 61_000), names, batch: 10 });
    expect(seen).toEqual(['env-1#2']);
    row = await t.prisma.job.findUniqueOrThrow({ where: { id: flaky.id } });
    expect(row.status).toBe('completed');
    expect(row.completedAt).not.toBeNull();

    const deadRow = await t.prisma.job.findUniqueOrThrow({ where: { id: dead.id } });
    expect(deadRow.status).toBe('failed');
    expect(deadRow.attempts).toBe(2);
    r = await runDueJobs(t.prisma, { now: new Date(t0.getTime() + 10 * 3_600_000), names, batch: 10 });
    expect(r.claimed).toBe(0);
    expect(await t.prisma.job.count({ where: { id: bad.id, status: 'failed' } })).toBe(1);
  });

  it('takes over a job whose worker died (lease expired)', async () => {
    const runs: number[] = [];
    registerJobHandler('test-lease', async (_p, ctx) => {
      runs.push(ctx.attempt);
    }, { schema: z.object({}), leaseMs: 5_000 });
    const j = await enqueueJob(t.prisma, 'test-lease', {});
    // simulate a crashed worker: claimed, never finished
    await t.prisma.job.update({ where: { id: j.id }, data: { status: 'running', attempts: 1, lockedUntil: new Date(Date.now() + 5_000) } });
    expect((await runDueJobs(t.prisma, { names: ['test-lease'] })).claimed).toBe(0);
    await runDueJobs(t.prisma, { names: ['test-lease'], now: new Date(Date.now() + 6_000) });
    expect(runs).toEqual([2]);
  });

  it('concurrent runners execute each job once; the worker loop runs jobs in the background', async () => {
    const runs: string[] = [];
    registerJobHandler('test-once', async (p) => {
      runs.push(p.n);
    }, { schema: z.object({ n: z.string() }) });
    for (let i = 0; i < 6; i++) await enqueueJob(t.prisma, 'test-once', { n: String(i) });
    await Promise.all([0, 1, 2].map(() => runDueJobs(t.prisma, { names: ['test-once'], batch: 4 })));
    expect(runs.sort()).toEqual(['0', '1', '2', '3', '4', '5']);

    const worker = await startWorker(t.prisma, { pollMs: 50, listenUrl: t.url, skipDefaultHandlers: true, log: () => {} });
    try {
      await enqueueJob(t.prisma, 'test-once', { n: 'bg' });
      for (let i = 0; i < 100 && !runs.includes('bg'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(runs).toContain('bg');
    } finally {
      await worker.stop();
    }
  });
});
