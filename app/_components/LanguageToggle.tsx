import { getLocale, getTranslator } from '../_lib/server';

/** A plain form (works without JavaScript) that flips the ts_lang cookie. */
export async function LanguageToggle() {
  const locale = await getLocale();
  const tr = await getTranslator();
  return (
    <form action="/lang" method="post">
      <input type="hidden" name="lang" value={locale === 'ja' ? 'en' : 'ja'} />
      <button type="submit" className="text-sm text-blue-1000 underline" lang={locale === 'ja' ? 'en' : 'ja'}>
        {tr('nav.language')}
      </button>
    </form>
  );
}
