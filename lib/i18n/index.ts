/**
 * Tiny message catalogue: Japanese by default, English selectable by the `ts_lang` cookie.
 * `t(locale, key, vars)` replaces `{name}` placeholders; a key missing in English falls back to Japanese.
 */
import { en } from './en';
import { ja, type MessageKey } from './ja';

export type Locale = 'ja' | 'en';
export type { MessageKey };
export const LOCALE_COOKIE = 'ts_lang';
export const DEFAULT_LOCALE: Locale = 'ja';

export function parseLocale(value: string | undefined | null): Locale {
  return value === 'en' ? 'en' : 'ja';
}

export function t(locale: Locale, key: MessageKey, vars?: Record<string, string | number>): string {
  const template = (locale === 'en' ? en[key] : undefined) ?? ja[key] ?? key;
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A translator bound to one locale, for components: `const tr = translator('ja'); tr('nav.new')`. */
export function translator(locale: Locale) {
  return (key: MessageKey, vars?: Record<string, string | number>) => t(locale, key, vars);
}

export type Translate = ReturnType<typeof translator>;

type Pattern = { key: MessageKey; re: RegExp; names: string[] };
let apiPatterns: Pattern[] | undefined;

function patterns(): Pattern[] {
  apiPatterns ??= (Object.keys(ja) as MessageKey[])
    .filter((k) => k.startsWith('apiError.'))
    .map((key) => {
      const names: string[] = [];
      const src = ja[key].split(/(\{\w+\})/).map((part) => {
        const m = /^\{(\w+)\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]);
        return '([\\s\\S]+?)';
      });
      return { key, re: new RegExp(`^${src.join('')}$`), names };
    });
  return apiPatterns;
}

/** A Japanese text that is exactly one of the link-problem titles/bodies, in English. */
function localizePart(value: string): string {
  for (const k of Object.keys(ja) as MessageKey[]) {
    if ((k.startsWith('linkProblem.') || k.startsWith('downloadProblem.')) && ja[k] === value) return en[k] ?? value;
  }
  return value;
}

/**
 * An error message from our API (lib/ and the route handlers write Japanese) in the page language:
 * the texts of the `apiError.*` keys, with their {placeholders}, are recognised and given in English;
 * anything else is returned as it is.
 */
export function localizeApiMessage(locale: Locale, message: string): string {
  if (locale !== 'en') return message;
  for (const p of patterns()) {
    const m = p.re.exec(message);
    if (!m) continue;
    const vars: Record<string, string> = {};
    p.names.forEach((n, i) => (vars[n] = localizePart(m[i + 1])));
    return t('en', p.key, vars);
  }
  return message;
}

/** The label of a 操作ログ action (`auditAction.<action>` in the catalogue); unknown actions are shown as recorded. */
export function auditActionLabel(locale: Locale, action: string): string {
  const key = `auditAction.${action}`;
  return key in ja ? t(locale, key as MessageKey) : action;
}

/** Every 操作ログ action the code records (the catalogue's `auditAction.*` keys; a unit test keeps them complete). */
export const AUDIT_ACTIONS: readonly string[] = Object.keys(ja)
  .filter((k) => k.startsWith('auditAction.'))
  .map((k) => k.slice('auditAction.'.length));
