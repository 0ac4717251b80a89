/**
 * What a pool worker does with an untrusted PDF (runs inside the worker thread; also callable
 * in-process by tests). Every parse runs under one time-limited PdfBudget; a limit met anywhere —
 * even where the verifier reads on past an unreadable part — turns the task into a PdfLimitError.
 * Results and errors cross the thread boundary as plain data.
 */
import type { AppErrorCode } from '../errors';
import { isAppError } from '../errors';
import { verifyPdf, type VerificationReport } from '../pades';
import { PdfBudget, PdfLimitError, inspectPdfSync, withPdfBudget, type PdfInfo, type PdfLimit, type PdfLimits } from '../pdf';

export interface InspectTask {
  kind: 'inspect';
  bytes: Uint8Array;
  limits: PdfLimits;
  fileName?: string;
  maxBytes?: number;
  allowLocked?: boolean;
}

export interface VerifyTask {
  kind: 'verify';
  bytes: Uint8Array;
  limits: PdfLimits;
  trustAnchors: Uint8Array[];
  /** ISO time to validate at (default now). */
  now?: string;
}

/** Answers once the worker has loaded (warm-up). */
export interface PingTask {
  kind: 'ping';
}

export type PdfTask = InspectTask | VerifyTask;

export interface TaskError {
  code: AppErrorCode;
  message: string;
  details?: Record<string, unknown>;
  fieldErrors?: Record<string, string>;
  /** Set for PdfLimitError. */
  limit?: PdfLimit;
}

export type TaskResult<T> = { ok: true; value: T } | { ok: false; error: TaskError };

function toTaskError(e: unknown): TaskError {
  if (e instanceof PdfLimitError) return { code: e.code, message: e.message, details: e.details, limit: e.limit };
  if (isAppError(e)) return { code: e.code, message: e.message, details: e.details, fieldErrors: e.fieldErrors };
  // Nothing about the file or a stack crosses back: the caller logs a generic failure.
  return { code: 'internal', message: e instanceof Error ? e.name : 'error' };
}

export async function runPdfTask(task: InspectTask): Promise<TaskResult<PdfInfo>>;
export async function runPdfTask(task: VerifyTask): Promise<TaskResult<VerificationReport>>;
export async function runPdfTask(task: PingTask): Promise<TaskResult<null>>;
export async function runPdfTask(task: PdfTask | PingTask): Promise<TaskResult<PdfInfo | VerificationReport | null>>;
export async function runPdfTask(task: PdfTask | PingTask): Promise<TaskResult<PdfInfo | VerificationReport | null>> {
  if (task.kind === 'ping') return { ok: true, value: null };
  const budget = new PdfBudget(task.limits);
  try {
    if (task.kind === 'inspect') {
      const { fileName, maxBytes, allowLocked } = task;
      return { ok: true, value: inspectPdfSync(task.bytes, { fileName, maxBytes, allowLocked, budget }) };
    }
    const report = await withPdfBudget(budget, () =>
      verifyPdf(task.bytes, { trustAnchors: task.trustAnchors, now: task.now ? new Date(task.now) : undefined }),
    );
    budget.throwIfExceeded();
    return { ok: true, value: report };
  } catch (e) {
    return { ok: false, error: toTaskError(e) };
  }
}
