/**
 * Untrusted PDFs are parsed off the main event loop: a `piscina` pool of worker threads, each with
 * V8 resource limits, runs upload inspection and /api/verify. A hostile file costs at most one
 * worker's budget (see lib/pdf/budget.ts) while the web server keeps answering other requests.
 *
 * - The worker entry is `lib/pdfpool/worker.mjs` under the project root (process.cwd(): the runner,
 *   vitest and the container all start there). It registers tsx and loads `tasks.ts`, so the same
 *   TypeScript runs in `next dev`, the `next build` server, tsx scripts and vitest; the Next.js
 *   bundle only holds this file, which names the entry by path.
 * - One pool per process, kept on globalThis: the runner (scripts/dev.ts) warms it at start-up and
 *   closes it at shutdown, and the copy of this module inside the Next.js bundle uses the same pool.
 * - Limits per task: the budget's wall-clock time inside the worker; a hard stop (the worker is
 *   terminated) at twice that plus 5 s; a worker that exceeds its heap is terminated by V8. Both
 *   become PdfLimitError ('time', 'memory'). More than 64 waiting tasks: 'rate_limited'.
 */
import os from 'node:os';
import path from 'node:path';
import Piscina from 'piscina';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { PdfLimitError, defaultPdfLimits, type InspectOptions, type PdfInfo, type PdfLimits } from '../pdf';
import { configuredTrustAnchors, type VerificationReport, type VerifyOptions } from '../pades';
import type { PdfTask, PingTask, TaskResult } from './tasks';

const POOL = Symbol.for('tachiai-sign.pdf-pool');
const MAX_QUEUE = 64;

type Holder = { [POOL]?: Piscina };
const holder = globalThis as Holder;

/** Where the worker entry is: <project root>/lib/pdfpool/worker.mjs. */
export function workerEntry(): string {
  return path.resolve(process.cwd(), 'lib', 'pdfpool', 'worker.mjs');
}

/** Heap per worker: 256 MB, or 4 × MAX_UPLOAD_MB when that is more. */
export function workerHeapMb(): number {
  return Math.max(256, Math.ceil(getConfig().MAX_UPLOAD_MB * 4));
}

function pool(): Piscina {
  let p = holder[POOL];
  if (!p) {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    p = new Piscina({
      filename: workerEntry(),
      minThreads: 1,
      // Leave a core to the web server's own event loop.
      maxThreads: Math.max(1, Math.min(4, cores - 1)),
      idleTimeout: 10 * 60_000,
      maxQueue: MAX_QUEUE,
      resourceLimits: { maxOldGenerationSizeMb: workerHeapMb(), maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
    });
    holder[POOL] = p;
  }
  return p;
}

/** Starts the pool's first worker and waits until it has loaded (a few seconds; do it at start-up). */
export async function warmPdfPool(): Promise<void> {
  const r = await run({ kind: 'ping' });
  if (!r.ok) throw new Error('PDF worker pool failed to start');
}

/** Stops the pool's workers (graceful shutdown). */
export async function closePdfPool(): Promise<void> {
  const p = holder[POOL];
  holder[POOL] = undefined;
  await p?.destroy();
}

const code = (e: unknown) => (e as { code?: string } | undefined)?.code;

async function run<T>(task: PdfTask | PingTask, limits: PdfLimits = defaultPdfLimits()): Promise<TaskResult<T>> {
  const transferList: ArrayBuffer[] = [];
  if ('bytes' in task) {
    // A copy of exactly these bytes, moved (not cloned again) to the worker; the caller keeps its own.
    const copy = new Uint8Array(task.bytes);
    transferList.push(copy.buffer);
    task = { ...task, bytes: copy };
  }
  const hardStop = AbortSignal.timeout((limits.timeMs ?? 60_000) * 2 + 5_000);
  try {
    return (await pool().run(task, { signal: hardStop, transferList })) as TaskResult<T>;
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw new PdfLimitError('time', limits);
    if (code(e) === 'ERR_WORKER_OUT_OF_MEMORY') throw new PdfLimitError('memory', limits);
    if (e instanceof Error && e.message === 'Task queue is at limit')
      throw new AppError('rate_limited', 'PDFの処理が混み合っています。しばらくしてから再度お試しください。');
    throw new Error(`PDF worker failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function unwrap<T>(r: TaskResult<T>, limits: PdfLimits): T {
  if (r.ok) return r.value;
  const { error } = r;
  if (error.limit) throw Object.assign(new PdfLimitError(error.limit, limits), { message: error.message });
  if (error.code === 'internal') throw new Error(`PDF worker task failed (${error.message})`);
  throw new AppError(error.code, error.message, { details: error.details, fieldErrors: error.fieldErrors });
}

/**
 * `inspectPdf` (upload checks) in a pool worker, under the default limits with the time limit.
 * Same results and AppErrors as inspectPdf, plus 'pdf_too_complex'.
 */
export async function inspectUntrustedPdf(bytes: Uint8Array, opts: Omit<InspectOptions, 'budget'> = {}): Promise<PdfInfo> {
  const limits = defaultPdfLimits();
  const { fileName, maxBytes, allowLocked } = opts;
  return unwrap(await run<PdfInfo>({ kind: 'inspect', bytes, limits, fileName, maxBytes, allowLocked }, limits), limits);
}

/**
 * `verifyPdf` in a pool worker, under the default limits with the time limit. The trust anchors are
 * read here (the configured key provider and TRUST_ANCHORS) and handed to the worker.
 */
export async function verifyUntrustedPdf(bytes: Uint8Array, opts: VerifyOptions = {}): Promise<VerificationReport> {
  const limits = defaultPdfLimits();
  const trustAnchors = opts.trustAnchors ?? (await configuredTrustAnchors());
  const r = await run<VerificationReport>({ kind: 'verify', bytes, limits, trustAnchors, now: opts.now?.toISOString() }, limits);
  return unwrap(r, limits);
}
