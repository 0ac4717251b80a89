import { getConfig } from '../config';
import { createDevKeyProvider } from './dev';
import { createPkcs11KeyProvider } from './pkcs11';
import { createPkcs12KeyProvider } from './pkcs12';
import type { KeyProvider } from './types';

let cached: { key: string; provider: KeyProvider } | undefined;

/** The configured key provider (KEY_PROVIDER = dev | pkcs12 | pkcs11), one per configuration. */
export function getKeyProvider(): KeyProvider {
  const c = getConfig();
  const key = `${c.KEY_PROVIDER}|${c.pkiDir}|${c.PKCS12_PATH ?? ''}|${c.PKCS11_MODULE ?? ''}|${c.PKCS11_KEY_LABEL ?? ''}`;
  if (cached?.key === key) return cached.provider;
  const provider =
    c.KEY_PROVIDER === 'pkcs12'
      ? createPkcs12KeyProvider()
      : c.KEY_PROVIDER === 'pkcs11'
        ? createPkcs11KeyProvider()
        : createDevKeyProvider();
  cached = { key, provider };
  return provider;
}
