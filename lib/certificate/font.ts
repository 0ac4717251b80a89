/**
 * The CJK font embedded (subset) in the 合意締結証明書. IPAex Gothic from Debian's
 * fonts-ipaexfont (installed by .ci/run); CERTIFICATE_FONT_PATH overrides it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const CANDIDATES = [
  '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf',
  '/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf',
  '/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf',
  '/usr/share/fonts/truetype/fonts-japanese-gothic.ttf',
];

let cached: Promise<Uint8Array> | undefined;

export function findCertificateFontPath(): string {
  const override = process.env.CERTIFICATE_FONT_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`CERTIFICATE_FONT_PATH does not exist: ${override}`);
    return override;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error('No Japanese font found for the completion certificate: install fonts-ipaexfont (apt) or set CERTIFICATE_FONT_PATH');
  }
  return found;
}

export function loadCertificateFont(): Promise<Uint8Array> {
  cached ??= readFile(findCertificateFontPath()).then((b) => new Uint8Array(b));
  return cached;
}
