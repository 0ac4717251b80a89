/**
 * Typed check codes of the verifier. Every decision is made on codes; the texts come from
 * lib/i18n (`verify.code.<code>`), Japanese in the report, any locale through `renderCheck`.
 */
import { t, type Locale, type MessageKey } from '../../i18n';

type CodeOf<K> = K extends `verify.code.${infer C}` ? C : never;
export type CheckCode = CodeOf<MessageKey>;
export type Params = Record<string, string | number>;

/** One finding: a code and its parameters. */
export interface Issue {
  code: CheckCode;
  params?: Params;
}

export interface Check extends Issue {
  ok: boolean;
  /** Sub-findings (e.g. each disallowed change), rendered into {changes} / {problems}. */
  details?: Issue[];
  /** Japanese text of the check (for the report, the CLI and logs). */
  message: string;
}

export function render(locale: Locale, i: Issue): string {
  return t(locale, `verify.code.${i.code}`, i.params);
}

function fill(locale: Locale, c: Omit<Check, 'message'>): string {
  const list = (c.details ?? []).map((d) => render(locale, d)).join(locale === 'ja' ? '、' : ', ');
  return t(locale, `verify.code.${c.code}`, { ...c.params, changes: list, problems: list });
}

export function check(ok: boolean, code: CheckCode, params?: Params, details?: Issue[]): Check {
  const c = { ok, code, ...(params ? { params } : {}), ...(details?.length ? { details } : {}) };
  return { ...c, message: fill('ja', c) };
}

/** The text of a check in `locale` (the report's `message` is Japanese). */
export function renderCheck(locale: Locale, c: Omit<Check, 'message'>): string {
  return fill(locale, c);
}

export const notChecked = (): Check => check(false, 'unchecked.not_checked');
