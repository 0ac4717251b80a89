/**
 * The `pkcs12` key provider: the sealing key and certificate chain from a PKCS#12 (.p12/.pfx) file
 * (PKCS12_PATH, PKCS12_PASSWORD). RSA and ECDSA P-256 keys; signatures with node:crypto.
 *
 * node-forge decrypts the file (legacy PKCS#12 PBE as well as PBES2/AES from OpenSSL 3). Forge can only
 * model RSA keys and certificates, so while it parses we make it hand back the raw ASN.1 of every bag
 * (its documented fallback for unknown key/certificate types): we get the exact certificate bytes and
 * the PKCS#8 key for both RSA and EC, and Node's crypto takes it from there.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import forge from 'node-forge';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { builtinTsaAnchors, keySigningKey } from './dev';
import type { KeyProvider, SigningKey } from './types';

export interface Pkcs12Contents {
  key: KeyObject;
  certificate: Uint8Array;
  /** Issuers above the signer, nearest first (as far as the file contains them). */
  chain: Uint8Array[];
}

function rawBagsOf(p12Der: Uint8Array, password: string): { keys: Uint8Array[]; certs: Uint8Array[] } {
  try {
    return rawBagsOnce(p12Der, password, false);
  } catch (e) {
    // Non-ASCII passwords: OpenSSL derives the MAC and legacy PBE keys from the BMPString of the password
    // (forge does too) but feeds PBKDF2 (PBES2/AES) the UTF-8 bytes, which forge does not. When the MAC
    // verified with the Unicode password and only the decryption failed, retry the decryption with the UTF-8
    // bytes (the MAC, already checked, is skipped on that second pass).
    // (A wrong key can also yield valid-looking padding and then an ASN.1 error: any error but the MAC's counts.)
    const macPassed = !/MAC could not be verified/i.test((e as Error).message);
    if (!macPassed || /^[\x00-\x7f]*$/.test(password)) throw e;
    return rawBagsOnce(p12Der, forge.util.encodeUtf8(password), true);
  }
}

function rawBagsOnce(p12Der: Uint8Array, password: string, skipMac: boolean): { keys: Uint8Array[]; certs: Uint8Array[] } {
  const pki = forge.pki as unknown as Record<string, unknown>;
  const origCert = pki.certificateFromAsn1;
  const origKey = pki.privateKeyFromAsn1;
  const refuse = () => {
    throw new Error('raw');
  };
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    // Synchronous: no other code can observe the temporary replacement.
    pki.certificateFromAsn1 = refuse;
    pki.privateKeyFromAsn1 = refuse;
    const asn = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(p12Der).toString('binary')));
    if (skipMac && Array.isArray(asn.value) && asn.value.length === 3) asn.value.pop(); // drop macData
    p12 = forge.pkcs12.pkcs12FromAsn1(asn, false, password);
  } finally {
    pki.certificateFromAsn1 = origCert;
    pki.privateKeyFromAsn1 = origKey;
  }
  const keys: Uint8Array[] = [];
  const certs: Uint8Array[] = [];
  for (const safe of p12.safeContents) {
    for (const bag of safe.safeBags) {
      const raw = (bag as { asn1?: forge.asn1.Asn1 }).asn1;
      if (!raw) continue;
      const der = new Uint8Array(Buffer.from(forge.asn1.toDer(raw).getBytes(), 'binary'));
      if (bag.type === forge.pki.oids.certBag) certs.push(der);
      else if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) keys.push(der);
    }
  }
  return { keys, certs };
}

/** Parse a PKCS#12 file: the private key, its certificate and the rest of the chain ordered upwards. */
export function parsePkcs12(p12Der: Uint8Array, password: string): Pkcs12Contents {
  let bags: { keys: Uint8Array[]; certs: Uint8Array[] };
  try {
    bags = rawBagsOf(p12Der, password);
  } catch (e) {
    throw new AppError('internal', 'PKCS#12ファイルを読み込めません（パスワードまたは形式を確認してください）。', { cause: e });
  }
  if (bags.keys.length !== 1) {
    throw new AppError('internal', `PKCS#12ファイルには秘密鍵がちょうど1つ必要です（${bags.keys.length}個）。`);
  }
  const key = createPrivateKey({ key: Buffer.from(bags.keys[0]), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'P-256') {
      throw new AppError('internal', `対応していない楕円曲線です（${curve ?? '不明'}）。P-256 を使用してください。`);
    }
  } else if (key.asymmetricKeyType !== 'rsa') {
    throw new AppError('internal', `対応していない鍵の種類です（${key.asymmetricKeyType ?? '不明'}）。RSA または ECDSA P-256 を使用してください。`);
  }
  const certs = bags.certs.map((der) => ({ der, x: new X509Certificate(Buffer.from(der)) }));
  const leaf = certs.find((c) => c.x.checkPrivateKey(key));
  if (!leaf) throw new AppError('internal', 'PKCS#12ファイルに秘密鍵と対になる証明書がありません。');
  const chain: Uint8Array[] = [];
  let cur = leaf;
  const used = new Set([leaf]);
  for (;;) {
    if (cur.x.issuer === cur.x.subject) break;
    const next = certs.find((c) => !used.has(c) && c.x.subject === cur.x.issuer && cur.x.checkIssued(c.x));
    if (!next) break;
    chain.push(next.der);
    used.add(next);
    cur = next;
  }
  return { key, certificate: leaf.der, chain };
}

export interface Pkcs12ProviderOptions {
  path?: string;
  password?: string;
  /** Extra trust anchors (DER); by default the self-signed root of the file's chain, when present. */
  trustAnchors?: Uint8Array[];
}

export function createPkcs12KeyProvider(opts: Pkcs12ProviderOptions = {}): KeyProvider {
  let loaded: Promise<Pkcs12Contents> | undefined;
  const load = () => {
    loaded ??= (async () => {
      const c = getConfig();
      const file = opts.path ?? c.PKCS12_PATH;
      if (!file) throw new AppError('internal', 'KEY_PROVIDER=pkcs12 には PKCS12_PATH の設定が必要です。');
      const der = new Uint8Array(await readFile(file));
      return parsePkcs12(der, opts.password ?? c.PKCS12_PASSWORD ?? '');
    })();
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
  return {
    kind: 'pkcs12',
    async sealingKey(): Promise<SigningKey> {
      const p = await load();
      return keySigningKey(p.key, p.certificate, p.chain);
    },
    /** The file's self-signed root (or opts.trustAnchors), plus the dev root while the built-in TSA is in use. */
    async trustAnchors() {
      const tsa = await builtinTsaAnchors();
      if (opts.trustAnchors) return [...opts.trustAnchors, ...tsa];
      const p = await load();
      const last = p.chain[p.chain.length - 1];
      const own = last && new X509Certificate(Buffer.from(last)).subject === new X509Certificate(Buffer.from(last)).issuer ? [last] : [];
      return [...own, ...tsa];
    },
  };
}
