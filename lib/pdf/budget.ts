/**
 * Hard budgets for parsing a PDF we did not write (uploads, /api/verify, files to seal or renew).
 * A hostile file can be small and still ask for gigabytes (a FlateDecode stream inflating to GBs),
 * millions of objects, deep nesting or hundreds of signature fields; each of those is capped here:
 *
 * | limit              | default                        |
 * |--------------------|--------------------------------|
 * | one stream inflated| MAX_UPLOAD_MB / 2 (≥ 8 MiB); a cross-reference stream: its rows + 64 KiB |
 * | all streams of a file inflated together | MAX_UPLOAD_MB (≥ 16 MiB) |
 * | cross-reference entries (all revisions) | 500,000 |
 * | parsed values (numbers, names, strings, array/dict entries) | 5,000,000 |
 * | nesting depth of arrays/dictionaries | 100 |
 * | signature fields                  | 64 (MAX_SIGNATURE_FIELDS; the verifier refuses more filled ones too) |
 * | wall-clock time (only budgets that ask for it) | max(10 s, MAX_UPLOAD_MB × 0.3 s) |
 *
 * We only ever inflate structure (cross-reference and object streams, DSS certificates/CRLs/OCSP
 * responses), never page content or images, so these are far above what a real document needs.
 *
 * Exceeding a limit throws `PdfLimitError` (an AppError 'pdf_too_complex': 「処理できない構造のPDFです
 * （…の上限 N を超えています）」). The budget stays exceeded: every later check throws the same
 * error, so code that swallows a parse error cannot carry on past a limit, and callers can ask
 * `throwIfExceeded()` at the end. A budget reaches the parser through `new PdfDocument(bytes,
 * { budget })`, or for code we call without that option, through `withPdfBudget(budget, fn)`
 * (AsyncLocalStorage); a PdfDocument made with neither gets a fresh budget with the default caps
 * and no time limit.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { getConfig } from '../config';
import { AppError } from '../errors';

export type PdfLimit = 'stream_size' | 'declared_size' | 'inflate_total' | 'objects' | 'values' | 'depth' | 'signature_fields' | 'time' | 'memory';

export interface PdfLimits {
  /** Bytes one stream may inflate to. */
  maxStreamBytes: number;
  /** Bytes all streams of the file may inflate to together. */
  maxInflateBytes: number;
  /** Cross-reference entries, summed over every revision. */
  maxObjects: number;
  /** Values parsed (each number, name, string, reference, array and dictionary counts one). */
  maxValues: number;
  /** Nesting depth of arrays and dictionaries. */
  maxDepth: number;
  /** Signature fields (signed or not). */
  maxSignatureFields: number;
  /** Wall-clock milliseconds from the budget's creation; undefined = no time limit. */
  timeMs?: number;
}

const MiB = 1024 * 1024;

/** Signature fields a file may have: a contract has a handful; hundreds are an attack on CPU. */
export const MAX_SIGNATURE_FIELDS = 64;

/** The default limits, relative to MAX_UPLOAD_MB. */
export function defaultPdfLimits(maxUploadMb: number = getConfig().MAX_UPLOAD_MB): Required<PdfLimits> {
  return {
    maxStreamBytes: Math.max(8 * MiB, Math.floor((maxUploadMb * MiB) / 2)),
    maxInflateBytes: Math.max(16 * MiB, Math.floor(maxUploadMb * MiB)),
    maxObjects: 500_000,
    maxValues: 5_000_000,
    maxDepth: 100,
    maxSignatureFields: MAX_SIGNATURE_FIELDS,
    timeMs: Math.max(10_000, Math.round(maxUploadMb * 300)),
  };
}

const mb = (n: number) => `${Math.round((n / MiB) * 10) / 10} MB`;
const count = (n: number) => n.toLocaleString('ja-JP');

function describe(limit: PdfLimit, l: PdfLimits): string {
  switch (limit) {
    case 'stream_size':
      return `圧縮されたデータの展開後の大きさが上限 ${mb(l.maxStreamBytes)} を超えています`;
    case 'declared_size':
      return '圧縮されたデータが、その内容に必要な大きさを超えて展開されます';
    case 'inflate_total':
      return `展開後のデータの合計が上限 ${mb(l.maxInflateBytes)} を超えています`;
    case 'objects':
      return `オブジェクトの数が上限 ${count(l.maxObjects)} を超えています`;
    case 'values':
      return `要素の数が上限 ${count(l.maxValues)} を超えています`;
    case 'depth':
      return `入れ子の深さが上限 ${l.maxDepth} を超えています`;
    case 'signature_fields':
      return `署名欄の数が上限 ${l.maxSignatureFields} を超えています`;
    case 'time':
      return `解析にかかる時間が上限 ${Math.round((l.timeMs ?? 0) / 1000)} 秒を超えています`;
    case 'memory':
      return '解析に必要なメモリが上限を超えています';
  }
}

/** A PDF exceeded one of its parsing budgets. Safe to show: names the limit, never the file's content. */
export class PdfLimitError extends AppError {
  constructor(
    readonly limit: PdfLimit,
    readonly limits: PdfLimits,
    subject = '',
  ) {
    super('pdf_too_complex', `${subject}処理できない構造のPDFです（${describe(limit, limits)}）。`, { details: { limit } });
    this.name = 'PdfLimitError';
  }

  /** The same error with the file named (「a.pdf」は…). */
  about(subject: string): PdfLimitError {
    return new PdfLimitError(this.limit, this.limits, subject);
  }
}

export class PdfBudget {
  readonly limits: PdfLimits;
  private readonly deadline: number | undefined;
  private inflated = 0;
  private objects = 0;
  private values = 0;
  private exceeded: PdfLimitError | undefined;

  constructor(limits: Partial<PdfLimits> = {}, private readonly clock: () => number = Date.now) {
    const base = defaultPdfLimits();
    // Time is opt-in: a document kept across awaits (sealing waits for the TSA) must not expire.
    this.limits = { ...base, timeMs: undefined, ...limits };
    this.deadline = this.limits.timeMs === undefined ? undefined : clock() + this.limits.timeMs;
  }

  /** A budget with the default limits including the time limit (what isolated parsing uses). */
  static timed(limits: Partial<PdfLimits> = {}): PdfBudget {
    return new PdfBudget({ timeMs: defaultPdfLimits().timeMs, ...limits });
  }

  /** The error this budget failed with, if any. */
  get error(): PdfLimitError | undefined {
    return this.exceeded;
  }

  fail(limit: PdfLimit): never {
    this.exceeded ??= new PdfLimitError(limit, this.limits);
    throw this.exceeded;
  }

  /** Throws if any limit was exceeded earlier (even where the error was caught and ignored). */
  throwIfExceeded(): void {
    if (this.exceeded) throw this.exceeded;
  }

  /** Checks the deadline (and earlier failures). */
  tick(): void {
    if (this.exceeded) throw this.exceeded;
    if (this.deadline !== undefined && this.clock() > this.deadline) this.fail('time');
  }

  /** How many bytes the next stream may inflate to, and which limit that is. */
  inflateAllowance(): { bytes: number; limit: PdfLimit } {
    this.tick();
    const left = this.limits.maxInflateBytes - this.inflated;
    if (left <= 0) this.fail('inflate_total');
    return left < this.limits.maxStreamBytes ? { bytes: left, limit: 'inflate_total' } : { bytes: this.limits.maxStreamBytes, limit: 'stream_size' };
  }

  addInflated(bytes: number): void {
    this.inflated += bytes;
    if (this.inflated > this.limits.maxInflateBytes) this.fail('inflate_total');
  }

  /** One cross-reference entry read. */
  addObject(): void {
    if (++this.objects > this.limits.maxObjects) this.fail('objects');
    if ((this.objects & 0xfff) === 0) this.tick();
  }

  /** One value parsed at nesting `depth`. */
  addValue(depth: number): void {
    if (depth > this.limits.maxDepth) this.fail('depth');
    if (++this.values > this.limits.maxValues) this.fail('values');
    if ((this.values & 0x3ff) === 0) this.tick();
  }

  /** Called with the number of signature fields found so far. */
  checkSignatureFields(n: number): void {
    if (n > this.limits.maxSignatureFields) this.fail('signature_fields');
  }

  get inflatedBytes(): number {
    return this.inflated;
  }
}

const scope = new AsyncLocalStorage<PdfBudget>();

/** Runs `fn` so that every PdfDocument made inside it (without its own budget) shares `budget`. */
export function withPdfBudget<T>(budget: PdfBudget, fn: () => T): T {
  return scope.run(budget, fn);
}

export function currentPdfBudget(): PdfBudget | undefined {
  return scope.getStore();
}
