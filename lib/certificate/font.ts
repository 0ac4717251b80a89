/**
 * The fonts of the 合意締結証明書, tried per character in order:
 *
 * 1. primary — IPAex Gothic (Debian fonts-ipaexfont: JIS X 0208 and JIS X 0213, including the
 *    JIS X 0213 characters of CJK Extension B); CERTIFICATE_FONT_PATH overrides it;
 * 2. fallback — Noto Sans CJK JP (Debian fonts-noto-cjk, a CFF-based OpenType collection: the
 *    Japanese face of NotoSansCJK-Regular.ttc): Adobe-Japan1-7 with 𠮷 and the other Extension B
 *    characters of Japanese names, and ideographic variation sequences (IVS);
 *    CERTIFICATE_FALLBACK_FONT_PATH (+ CERTIFICATE_FALLBACK_FONT_NAME, the PostScript name of the
 *    face in a .ttc/.otc collection) overrides it.
 *
 * Both are embedded as subsets (@cantoo/pdf-lib + @cantoo/fontkit: TrueType as CIDFontType2, CFF as
 * CIDFontType0C); the fallback only when a character needs it. `certificateCoverage()` is the
 * union of both fonts' character maps, read synchronously once per process, for the entry checks
 * (lib/certificate/coverage.ts); the font bytes themselves are only kept by the process that renders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import fontkit from '@cantoo/fontkit';
import { getConfig } from '../config';

const PRIMARY_CANDIDATES = [
  '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf',
  '/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf',
  '/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf',
  '/usr/share/fonts/truetype/fonts-japanese-gothic.ttf',
];

const FALLBACK_CANDIDATES = [
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJKjp-Regular.otf',
  '/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc',
];

export interface CertificateFontFile {
  path: string;
  /** The face to use inside a collection (.ttc/.otc); undefined for a single font. */
  postscriptName?: string;
}

/** The primary font file (throws when none is installed). */
export function findCertificateFontPath(): string {
  const override = getConfig().CERTIFICATE_FONT_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`CERTIFICATE_FONT_PATH does not exist: ${override}`);
    return override;
  }
  const found = PRIMARY_CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error('No Japanese font found for the completion certificate: install fonts-ipaexfont (apt) or set CERTIFICATE_FONT_PATH');
  }
  return found;
}

/** The fallback font file, or undefined when none is installed (CERTIFICATE_FALLBACK_FONT_PATH=none turns it off). */
export function findFallbackFontPath(): string | undefined {
  const override = getConfig().CERTIFICATE_FALLBACK_FONT_PATH;
  if (override === 'none') return undefined;
  if (override) {
    if (!existsSync(override)) throw new Error(`CERTIFICATE_FALLBACK_FONT_PATH does not exist: ${override}`);
    return override;
  }
  return FALLBACK_CANDIDATES.find((p) => existsSync(p));
}

interface FontkitFace {
  postscriptName: string;
  characterSet: number[];
}
interface FontkitCollection {
  fonts: FontkitFace[];
}

/** A face of `bytes`: the single font, or the named / Japanese / first face of a collection. */
function pickFace(bytes: Uint8Array, wanted?: string): { face: FontkitFace; postscriptName?: string } {
  const opened = fontkit.create(bytes) as unknown as FontkitFace | FontkitCollection;
  if (!('fonts' in opened)) return { face: opened };
  const faces = opened.fonts;
  const face =
    (wanted ? faces.find((f) => f.postscriptName === wanted) : undefined) ??
    (wanted ? undefined : faces.find((f) => /CJKjp-|JP-/.test(f.postscriptName))) ??
    (wanted ? undefined : faces[0]);
  if (!face) throw new Error(`font collection has no face ${wanted}: ${faces.map((f) => f.postscriptName).join(', ')}`);
  return { face, postscriptName: face.postscriptName };
}

export interface LoadedCertificateFont extends CertificateFontFile {
  bytes: Uint8Array;
}

let cachedFonts: Promise<{ primary: LoadedCertificateFont; fallback?: LoadedCertificateFont }> | undefined;
let cachedKey = '';

/** Both fonts' bytes (cached per process and configuration). */
export function loadCertificateFonts(): Promise<{ primary: LoadedCertificateFont; fallback?: LoadedCertificateFont }> {
  const primaryPath = findCertificateFontPath();
  const fallbackPath = findFallbackFontPath();
  const key = `${primaryPath}|${fallbackPath}|${getConfig().CERTIFICATE_FALLBACK_FONT_NAME ?? ''}`;
  if (!cachedFonts || cachedKey !== key) {
    cachedKey = key;
    cachedFonts = (async () => {
      const primaryBytes = new Uint8Array(await readFile(primaryPath));
      const primary = { path: primaryPath, bytes: primaryBytes, postscriptName: pickFace(primaryBytes).postscriptName };
      if (!fallbackPath) return { primary };
      const fallbackBytes = new Uint8Array(await readFile(fallbackPath));
      const { postscriptName } = pickFace(fallbackBytes, getConfig().CERTIFICATE_FALLBACK_FONT_NAME);
      return { primary, fallback: { path: fallbackPath, bytes: fallbackBytes, postscriptName } };
    })();
    cachedFonts.catch(() => {
      cachedFonts = undefined;
    });
  }
  return cachedFonts;
}

/** The primary font's bytes (kept for callers of the single-font API). */
export async function loadCertificateFont(): Promise<Uint8Array> {
  return (await loadCertificateFonts()).primary.bytes;
}

export interface CertificateCoverage {
  /** Code points the primary font maps. */
  primary: ReadonlySet<number>;
  /** Code points the fallback font maps (empty when there is none). */
  fallback: ReadonlySet<number>;
}

let coverage: { key: string; value: CertificateCoverage } | undefined;

/** The character maps of both fonts (read synchronously once per process and configuration; only the sets are kept). */
export function certificateCoverage(): CertificateCoverage {
  const primaryPath = findCertificateFontPath();
  const fallbackPath = findFallbackFontPath();
  const key = `${primaryPath}|${fallbackPath}|${getConfig().CERTIFICATE_FALLBACK_FONT_NAME ?? ''}`;
  if (coverage?.key !== key) {
    const primary = new Set(pickFace(new Uint8Array(readFileSync(primaryPath))).face.characterSet);
    const fallback = fallbackPath
      ? new Set(pickFace(new Uint8Array(readFileSync(fallbackPath)), getConfig().CERTIFICATE_FALLBACK_FONT_NAME).face.characterSet)
      : new Set<number>();
    coverage = { key, value: { primary, fallback } };
  }
  return coverage.value;
}
