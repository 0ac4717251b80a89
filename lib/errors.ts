/**
 * Errors a user can meet. Each has a stable code and a Japanese message that is safe to show.
 * Never put tokens, stack traces or document bytes in `message` or `details`.
 */
export type AppErrorCode =
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'validation'
  | 'conflict'
  | 'invalid_state'
  | 'pdf_invalid'
  | 'pdf_encrypted'
  | 'pdf_locked'
  | 'pdf_empty'
  | 'pdf_too_large'
  | 'pdf_duplicate'
  | 'pdf_too_complex'
  | 'link_expired'
  | 'link_invalid'
  | 'locked'
  | 'rate_limited'
  | 'payload_too_large'
  | 'tsa_unavailable'
  | 'smtp_unavailable'
  | 'storage_unavailable'
  | 'seal_failed'
  | 'internal';

const HTTP_STATUS: Record<AppErrorCode, number> = {
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  validation: 400,
  conflict: 409,
  invalid_state: 409,
  pdf_invalid: 422,
  pdf_encrypted: 422,
  pdf_locked: 422,
  pdf_empty: 422,
  pdf_too_large: 413,
  pdf_duplicate: 409,
  pdf_too_complex: 422,
  link_expired: 410,
  link_invalid: 404,
  locked: 423,
  rate_limited: 429,
  payload_too_large: 413,
  tsa_unavailable: 503,
  smtp_unavailable: 503,
  storage_unavailable: 503,
  seal_failed: 500,
  internal: 500,
};

export class AppError extends Error {
  readonly code: AppErrorCode;
  /** Field-level messages (Japanese) for forms. */
  readonly fieldErrors?: Record<string, string>;
  readonly details?: Record<string, unknown>;

  constructor(
    code: AppErrorCode,
    message: string,
    opts: { fieldErrors?: Record<string, string>; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.fieldErrors = opts.fieldErrors;
    this.details = opts.details;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  toJSON() {
    return { error: { code: this.code, message: this.message, fieldErrors: this.fieldErrors } };
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

export const notFound = (what = 'ページ') => new AppError('not_found', `${what}が見つかりません。`);
