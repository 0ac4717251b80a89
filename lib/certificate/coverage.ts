/**
 * Which font draws each character of the 合意締結証明書, and which characters no font can draw.
 *
 * Text is split into clusters: a base character with its combining marks and variation selectors
 * (an IVS such as 葛󠄀 stays one cluster, drawn by a font that has the base; fontkit picks the variant
 * glyph when the font has it, else the base glyph). Other default-ignorable characters (ZWJ, ZWSP,
 * bidi controls…) and control characters draw nothing and are dropped. A cluster is drawn by the
 * primary font when it has every character of it, else by the fallback, else it is unprintable.
 *
 * `unprintableCharacters` is the entry check (zod schemas of names, companies, titles, envelope
 * title and counterparty refuse such input with `unprintableMessage`); the renderer replaces what
 * still gets through (older data, a staff name) visibly with 〓 and lists the code points on the
 * certificate — never a silent box.
 */
import { certificateCoverage, type CertificateCoverage } from './font';

export type ClusterFont = 'primary' | 'fallback' | null;
export interface Cluster {
  /** The characters to draw (variation selectors kept, ignorables dropped). */
  text: string;
  font: ClusterFont;
}

const VARIATION_SELECTOR = /^\p{Variation_Selector}$/u;
const ATTACHES = /^[\p{M}\p{Variation_Selector}]$/u;
const INVISIBLE = /^[\p{Default_Ignorable_Code_Point}\p{Cc}]$/u;

/** Split `text` into clusters and assign each the font that draws it (see the module comment). */
export function clusters(text: string, cov: CertificateCoverage): Cluster[] {
  const out: { cps: number[]; text: string }[] = [];
  for (const ch of text) {
    if (ATTACHES.test(ch) && out.length) {
      const last = out[out.length - 1];
      last.text += ch;
      if (!VARIATION_SELECTOR.test(ch)) last.cps.push(ch.codePointAt(0)!);
      continue;
    }
    if (VARIATION_SELECTOR.test(ch)) continue; // nothing to select a variant of
    if (INVISIBLE.test(ch) && ch !== '\n') continue;
    out.push({ cps: [ch.codePointAt(0)!], text: ch });
  }
  return out.map(({ cps, text: t }) => ({
    text: t,
    font: t === '\n' ? 'primary' : cps.every((c) => cov.primary.has(c)) ? 'primary' : cps.every((c) => cov.fallback.has(c)) ? 'fallback' : null,
  }));
}

/** `U+1F600` (several code points: `U+0031 U+20E3`). */
export function codePointLabel(cluster: string): string {
  return Array.from(cluster.replace(/\p{Variation_Selector}/gu, ''))
    .map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`)
    .join(' ');
}

let coverageFailed = false;

/**
 * The characters of `text` that no certificate font can draw (each once, in order), e.g. ['😀'].
 * Empty when the fonts cannot be read here (then the renderer's replacement still applies).
 */
export function unprintableCharacters(text: string): string[] {
  // Fast path: printable ASCII is in every font (no font file is read for it).
  if (/^[\u0020-\u007e\n]*$/.test(text)) return [];
  let cov: CertificateCoverage;
  try {
    cov = certificateCoverage();
    // A Japanese primary font that lacks あ and 漢 was not read correctly: do not refuse on its word.
    if (!cov.primary.has(0x3042) || !cov.primary.has(0x6f22)) throw new Error('the primary font maps neither あ nor 漢');
  } catch (e) {
    if (!coverageFailed) console.error(`[certificate] cannot read the certificate fonts to check input: ${(e as Error).message}`);
    coverageFailed = true;
    return [];
  }
  const bad = clusters(text, cov)
    .filter((c) => c.font === null)
    .map((c) => c.text.replace(/\p{Variation_Selector}/gu, ''));
  return [...new Set(bad)];
}

/** The field message for `unprintableCharacters`' result. */
export function unprintableMessage(label: string, chars: string[]): string {
  const shown = chars
    .slice(0, 5)
    .map((c) => `「${c}」（${codePointLabel(c)}）`)
    .join('、');
  return `${label}に合意締結証明書に印字できない文字が含まれています: ${shown}${chars.length > 5 ? ' ほか' : ''}。絵文字などは使えません。別の文字に置き換えてください。`;
}
