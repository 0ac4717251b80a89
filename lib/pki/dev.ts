/**
 * The `dev` key provider: a small private PKI generated on first use under `getConfig().pkiDir/dev`:
 *
 *   root.crt / root.key   立会サイン 開発用ルートCA (RSA-3072, self-signed, 20 years); also signs the CRL and OCSP
 *   seal.crt / seal.key   立会サイン 立会人署名 — the witness sealing certificate (RSA-2048,
 *                         keyUsage digitalSignature+nonRepudiation, critical)
 *   tsa.crt  / tsa.key    立会サイン タイムスタンプ局 — the built-in TSA (RSA-2048, EKU timeStamping critical)
 *
 * Every leaf carries a CRL distribution point `${APP_URL}/pki/crl` and AIA OCSP `${APP_URL}/pki/ocsp`
 * + caIssuers `${APP_URL}/pki/root.crt` (the URLs in force when the PKI was generated).
 * Private keys are PKCS#8 encrypted PEM (PBES2, AES-256-CBC) under a passphrase derived from the master key.
 *
 * Creation is safe against concurrent starts: everything is written to a private temp directory which is
 * then renamed to `dev/` in one step; the loser of a race discards its copy and loads the winner's.
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { x509 } from './x509';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { deriveKey } from './master-key';
import type { KeyProvider, SigningKey } from './types';
import { crypto, derToPem, parseCertificate, pemToDerAll, toU8 } from './util';
import type * as pkijs from 'pkijs';
import { sign as nodeSign } from 'node:crypto';

export interface DevEntity {
  /** DER certificate. */
  certDer: Uint8Array;
  cert: pkijs.Certificate;
  key: KeyObject;
}

export interface DevPki {
  dir: string;
  root: DevEntity;
  seal: DevEntity;
  tsa: DevEntity;
}

export const DEV_NAMES = {
  root: 'C=JP, O=Tachiai Sign, CN=立会サイン 開発用ルートCA',
  seal: 'C=JP, O=Tachiai Sign, CN=立会サイン 立会人署名',
  tsa: 'C=JP, O=Tachiai Sign, CN=立会サイン タイムスタンプ局',
} as const;

const ENTITIES = ['root', 'seal', 'tsa'] as const;
type EntityName = (typeof ENTITIES)[number];

export function devPkiDir(): string {
  return path.join(getConfig().pkiDir, 'dev');
}

async function keyPassphrase(): Promise<string> {
  return (await deriveKey('pki-private-key-encryption')).toString('hex');
}

async function encryptKey(key: KeyObject): Promise<string> {
  return key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: await keyPassphrase() }) as string;
}

async function decryptKey(pem: string): Promise<KeyObject> {
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase: await keyPassphrase() });
  } catch (e) {
    throw new AppError('internal', '開発用PKIの秘密鍵を復号できません（マスター鍵が変わった可能性があります）。', { cause: e });
  }
}

function randomSerial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // positive
  b[0] |= 0x01; // no leading zero byte
  return b.toString('hex');
}

async function generateRsa(bits: number): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  ) as Promise<CryptoKeyPair>;
}

async function toKeyObject(k: CryptoKey): Promise<KeyObject> {
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', k));
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

function years(n: number, from = new Date()): Date {
  const d = new Date(from);
  d.setUTCFullYear(d.getUTCFullYear() + n);
  return d;
}

/** Generate the three certificates and keys. */
async function generate(appUrl: string): Promise<Record<EntityName, { certDer: Uint8Array; key: KeyObject }>> {
  const base = appUrl.replace(/\/+$/, '');
  const notBefore = new Date(Date.now() - 60 * 60 * 1000); // tolerate small clock skew
  const rootKeys = await generateRsa(3072);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: DEV_NAMES.root,
    notBefore,
    notAfter: years(20, notBefore),
    keys: rootKeys,
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });

  const leafExtensions = async (pub: CryptoKey) => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(pub),
    await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    new x509.CRLDistributionPointsExtension([`${base}/pki/crl`]),
    new x509.AuthorityInfoAccessExtension({ ocsp: [`${base}/pki/ocsp`], caIssuers: [`${base}/pki/root.crt`] }),
  ];

  /** A leaf issued by the root: CRL/OCSP/AIA extensions plus the key usages of its purpose. */
  const issueLeaf = async (subject: string, validYears: number, usage: x509.Extension[]) => {
    const keys = await generateRsa(2048);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: root.subjectName,
      notBefore,
      notAfter: years(validYears, notBefore),
      publicKey: keys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm,
      extensions: [...(await leafExtensions(keys.publicKey)), ...usage],
    });
    return { keys, cert };
  };

  const { keys: sealKeys, cert: seal } = await issueLeaf(DEV_NAMES.seal, 5, [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
  ]);
  const { keys: tsaKeys, cert: tsa } = await issueLeaf(DEV_NAMES.tsa, 10, [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping], true),
  ]);

  return {
    root: { certDer: toU8(root.rawData), key: await toKeyObject(rootKeys.privateKey) },
    seal: { certDer: toU8(seal.rawData), key: await toKeyObject(sealKeys.privateKey) },
    tsa: { certDer: toU8(tsa.rawData), key: await toKeyObject(tsaKeys.privateKey) },
  };
}

async function readDir(dir: string): Promise<DevPki> {
  const out: Partial<Record<EntityName, DevEntity>> = {};
  for (const name of ENTITIES) {
    const [certPem, keyPem] = await Promise.all([
      readFile(path.join(dir, `${name}.crt`), 'utf8'),
      readFile(path.join(dir, `${name}.key`), 'utf8'),
    ]);
    const certDer = pemToDerAll(certPem)[0];
    if (!certDer) throw new AppError('internal', `開発用PKIの証明書 ${name}.crt が壊れています。`);
    out[name] = { certDer, cert: parseCertificate(certDer), key: await decryptKey(keyPem) };
  }
  return { dir, root: out.root!, seal: out.seal!, tsa: out.tsa! };
}

async function exists(file: string): Promise<boolean> {
  try {
    await readFile(file);
    return true;
  } catch {
    return false;
  }
}

async function createDir(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  await mkdir(parent, { recursive: true });
  const generated = await generate(getConfig().APP_URL);
  const tmp = path.join(parent, `.dev-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  await mkdir(tmp, { mode: 0o700 });
  try {
    for (const name of ENTITIES) {
      await writeFile(path.join(tmp, `${name}.crt`), derToPem(generated[name].certDer));
      await writeFile(path.join(tmp, `${name}.key`), await encryptKey(generated[name].key), { mode: 0o600 });
    }
    await writeFile(
      path.join(tmp, 'README.txt'),
      '立会サイン 開発用PKI (KEY_PROVIDER=dev). Private keys are encrypted with a key derived from the master key.\n' +
        'Trust root.crt only for development and testing.\n',
    );
    await rename(tmp, dir); // atomic; fails with ENOTEMPTY/EEXIST when another process created it first
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const cache = new Map<string, Promise<DevPki>>();

/** True when the dev PKI has been created (without creating it). */
export async function devPkiExists(): Promise<boolean> {
  return cache.has(devPkiDir()) || exists(path.join(devPkiDir(), 'root.crt'));
}

/** Load (creating on first use) the development PKI under `pkiDir/dev`. */
export function getDevPki(): Promise<DevPki> {
  const dir = devPkiDir();
  let p = cache.get(dir);
  if (!p) {
    p = (async () => {
      if (!(await exists(path.join(dir, 'root.crt')))) await createDir(dir);
      return readDir(dir);
    })();
    p.catch(() => cache.delete(dir));
    cache.set(dir, p);
  }
  return p;
}

/** The dev root CA certificate (DER). */
export async function getRootCertificate(): Promise<Uint8Array> {
  return (await getDevPki()).root.certDer;
}

export function keySigningKey(key: KeyObject, certificate: Uint8Array, chain: Uint8Array[]): SigningKey {
  const algorithm = key.asymmetricKeyType === 'ec' ? 'ECDSA-P256' : 'RSA';
  return {
    certificate,
    chain,
    algorithm,
    async sign(data: Uint8Array): Promise<Uint8Array> {
      return new Uint8Array(nodeSign('sha256', data, key));
    },
  };
}

export function createDevKeyProvider(): KeyProvider {
  return {
    kind: 'dev',
    async sealingKey() {
      const pki = await getDevPki();
      return keySigningKey(pki.seal.key, pki.seal.certDer, [pki.root.certDer]);
    },
    async trustAnchors() {
      return [(await getDevPki()).root.certDer];
    },
  };
}

/**
 * Anchors a non-dev provider adds for time-stamps: while TSA_URL is unset the built-in TSA signs with the
 * dev PKI, so the dev root must be trusted for those tokens too.
 */
export async function builtinTsaAnchors(): Promise<Uint8Array[]> {
  return getConfig().TSA_URL ? [] : [await getRootCertificate()];
}

/** The built-in TSA's key and chain (signer first, root last). */
export async function getDevTsaKey(): Promise<{ key: KeyObject; certificate: Uint8Array; chain: Uint8Array[] }> {
  const pki = await getDevPki();
  return { key: pki.tsa.key, certificate: pki.tsa.certDer, chain: [pki.root.certDer] };
}
