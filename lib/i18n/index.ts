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
