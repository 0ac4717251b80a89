/** The `pkcs11` key provider (HSM). Not implemented yet: selecting it fails with a clear error. */
import { AppError } from '../errors';
import type { KeyProvider } from './types';

export function createPkcs11KeyProvider(): KeyProvider {
  const fail = () =>
    Promise.reject(new AppError('internal', 'KEY_PROVIDER=pkcs11（HSM）はまだ実装されていません。dev または pkcs12 を使用してください。'));
  return { kind: 'pkcs11', sealingKey: fail, trustAnchors: fail };
}
