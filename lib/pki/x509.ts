/**
 * @peculiar/x509 needs a Reflect metadata polyfill loaded before it (tsyringe). Import x509 from here,
 * never from '@peculiar/x509' directly, so the polyfill and our WebCrypto provider are always set.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
