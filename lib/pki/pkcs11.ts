/**
 * The `pkcs11` key provider: the sealing key lives in an HSM and never leaves it (PKCS#11 via `pkcs11js`;
 * SoftHSM2 in tests). Configuration: PKCS11_MODULE (the .so), PKCS11_SLOT (slot id, or index among slots
 * with an initialised token; default: the first initialised token), PKCS11_PIN, PKCS11_KEY_LABEL
 * (CKA_LABEL of the private key). The certificate is the token's certificate object with the key's
 * CKA_ID (or, failing that, the same label); other certificate objects on the token form the chain.
 * RSA signs with CKM_SHA256_RSA_PKCS; EC (P-256) hashes in Node and signs with CKM_ECDSA, and the raw
 * r||s is DER-encoded as Ecdsa-Sig-Value.
 *
 * pkcs11js is a native addon; it is loaded lazily with `createRequire` so bundlers (Next.js) never try to
 * bundle it and the other providers work when it is not installed.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as P11 from 'pkcs11js';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { builtinTsaAnchors } from './dev';
import type { KeyProvider, SigningKey } from './types';

type Pkcs11Module = typeof P11;

const CKF_TOKEN_INITIALIZED = 0x400;

function loadPkcs11js(): Pkcs11Module {
  try {
    const req = createRequire(path.join(process.cwd(), 'package.json'));
    return req(['pkcs11', 'js'].join('')) as Pkcs11Module;
  } catch (e) {
    throw new AppError('internal', 'PKCS#11 モジュール（pkcs11js）を読み込めません。`npm install pkcs11js` を実行してください。', { cause: e });
  }
}

export interface Pkcs11Options {
  module?: string;
  slot?: number;
  pin?: string;
  keyLabel?: string;
}

interface Loaded {
  lib: Pkcs11Module;
  p11: P11.PKCS11;
}

const modules = new Map<string, Loaded>();

function openModule(modulePath: string): Loaded {
  let m = modules.get(modulePath);
  if (!m) {
    const lib = loadPkcs11js();
    const p11 = new lib.PKCS11();
    p11.load(modulePath);
    try {
      p11.C_Initialize();
    } catch (e) {
      if (!/CKR_CRYPTOKI_ALREADY_INITIALIZED/.test(String((e as Error).message))) throw e;
    }
    m = { lib, p11 };
    modules.set(modulePath, m);
  }
  return m;
}

function ulong(buf: Buffer): number {
  if (buf.length >= 8) return Number(buf.readBigUInt64LE(0));
  return buf.readUInt32LE(0);
}

function selectSlot(m: Loaded, slot: number | undefined): Buffer {
  const slots = m.p11.C_GetSlotList(true);
  const initialised = slots.filter((s) => (m.p11.C_GetTokenInfo(s).flags & CKF_TOKEN_INITIALIZED) !== 0);
  if (slot !== undefined) {
    const byId = slots.find((s) => ulong(s) === slot);
    if (byId) return byId;
    if (initialised[slot]) return initialised[slot];
    throw new AppError('internal', `PKCS#11 スロット ${slot} が見つかりません。`);
  }
  if (!initialised[0]) throw new AppError('internal', '初期化済みのPKCS#11トークンが見つかりません。');
  return initialised[0];
}

function findObjects(m: Loaded, session: Buffer, template: P11.Template, max = 100): Buffer[] {
  m.p11.C_FindObjectsInit(session, template);
  try {
    return m.p11.C_FindObjects(session, max);
  } finally {
    m.p11.C_FindObjectsFinal(session);
  }
}

function attr(m: Loaded, session: Buffer, obj: Buffer, type: number): Buffer | undefined {
  const [r] = m.p11.C_GetAttributeValue(session, obj, [{ type }]);
  return r?.value as Buffer | undefined;
}

/** DER INTEGER from an unsigned big-endian magnitude. */
function derInteger(mag: Buffer): Buffer {
  let i = 0;
  while (i < mag.length - 1 && mag[i] === 0) i++;
  let v = mag.subarray(i);
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** Raw PKCS#11 ECDSA output (r || s) → DER Ecdsa-Sig-Value. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(Buffer.from(raw.subarray(0, half))), derInteger(Buffer.from(raw.subarray(half)))]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

function openKey(opts: Required<Pick<Pkcs11Options, 'module'>> & Pkcs11Options): SigningKey {
  const m = openModule(opts.module);
  const { lib, p11 } = m;
  const slot = selectSlot(m, opts.slot);
  const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION);
  try {
    p11.C_Login(session, lib.CKU_USER, opts.pin ?? '');
  } catch (e) {
    const msg = String((e as Error).message);
    if (!/CKR_USER_ALREADY_LOGGED_IN/.test(msg)) {
      p11.C_CloseSession(session);
      throw new AppError('internal', 'PKCS#11 トークンにログインできません（PINを確認してください）。', { cause: e });
    }
  }
  try {
    return keyFromSession(m, session, opts);
  } catch (e) {
    p11.C_CloseSession(session);
    throw e;
  }
}

function keyFromSession(m: Loaded, session: Buffer, opts: Pkcs11Options): SigningKey {
  const { lib, p11 } = m;
  const keyTemplate: P11.Template = [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }];
  if (opts.keyLabel) keyTemplate.push({ type: lib.CKA_LABEL, value: opts.keyLabel });
  const keys = findObjects(m, session, keyTemplate);
  if (keys.length !== 1) {
    throw new AppError(
      'internal',
      keys.length === 0
        ? 'PKCS#11 トークンに指定の秘密鍵がありません（PKCS11_KEY_LABEL を確認してください）。'
        : 'PKCS#11 トークンに秘密鍵が複数あります。PKCS11_KEY_LABEL で指定してください。',
    );
  }
  const key = keys[0];
  const keyType = ulong(attr(m, session, key, lib.CKA_KEY_TYPE)!);
  const id = attr(m, session, key, lib.CKA_ID);
  const allCerts = findObjects(m, session, [{ type: lib.CKA_CLASS, value: lib.CKO_CERTIFICATE }]).map((h) => ({
    h,
    der: attr(m, session, h, lib.CKA_VALUE)!,
    id: attr(m, session, h, lib.CKA_ID),
    label: attr(m, session, h, lib.CKA_LABEL)?.toString('utf8'),
  }));
  const leaf =
    (id && id.length > 0 ? allCerts.find((c) => c.id && c.id.equals(id)) : undefined) ??
    (opts.keyLabel ? allCerts.find((c) => c.label === opts.keyLabel) : undefined);
  if (!leaf) throw new AppError('internal', 'PKCS#11 トークンに秘密鍵と対になる証明書がありません。');
  const certs = allCerts.map((c) => ({ der: c.der, x: new X509Certificate(c.der) }));
  let cur = new X509Certificate(leaf.der);
  const chain: Uint8Array[] = [];
  const used = new Set<string>([cur.fingerprint256]);
  while (cur.issuer !== cur.subject) {
    const next = certs.find((c) => !used.has(c.x.fingerprint256) && c.x.subject === cur.issuer && cur.checkIssued(c.x));
    if (!next) break;
    chain.push(new Uint8Array(next.der));
    used.add(next.x.fingerprint256);
    cur = next.x;
  }
  const leafX = new X509Certificate(leaf.der);
  const isEc = keyType === lib.CKK_EC;
  if (!isEc && keyType !== lib.CKK_RSA) throw new AppError('internal', 'PKCS#11 の鍵の種類に対応していません（RSA または ECDSA P-256）。');
  if (isEc && leafX.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AppError('internal', '対応していない楕円曲線です。P-256 を使用してください。');
  }
  return {
    certificate: new Uint8Array(leaf.der),
    chain,
    algorithm: isEc ? 'ECDSA-P256' : 'RSA',
    async sign(data: Uint8Array): Promise<Uint8Array> {
      // C_SignInit + C_Sign run synchronously back to back: no other call can interleave on this session.
      if (isEc) {
        p11.C_SignInit(session, { mechanism: lib.CKM_ECDSA }, key);
        const raw = p11.C_Sign(session, createHash('sha256').update(data).digest(), Buffer.alloc(132));
        return ecdsaRawToDer(raw);
      }
      p11.C_SignInit(session, { mechanism: lib.CKM_SHA256_RSA_PKCS }, key);
      return new Uint8Array(p11.C_Sign(session, Buffer.from(data), Buffer.alloc(1024)));
    },
  };
}

export function createPkcs11KeyProvider(opts: Pkcs11Options = {}): KeyProvider {
  let cached: SigningKey | undefined;
  const load = async (): Promise<SigningKey> => {
    if (cached) return cached;
    const c = getConfig();
    const module = opts.module ?? c.PKCS11_MODULE;
    if (!module) throw new AppError('internal', 'KEY_PROVIDER=pkcs11 には PKCS11_MODULE の設定が必要です。');
    cached = openKey({
      module,
      slot: opts.slot ?? c.PKCS11_SLOT,
      pin: opts.pin ?? c.PKCS11_PIN,
      keyLabel: opts.keyLabel ?? c.PKCS11_KEY_LABEL,
    });
    return cached;
  };
  return {
    kind: 'pkcs11',
    sealingKey: load,
    /** The token chain's self-signed root, plus the dev root while the built-in TSA is in use. */
    async trustAnchors() {
      const k = await load();
      const last = k.chain[k.chain.length - 1];
      const x = last ? new X509Certificate(Buffer.from(last)) : undefined;
      return [...(x && x.subject === x.issuer ? [last] : []), ...(await builtinTsaAnchors())];
    },
  };
}

/**
 * Store an X.509 certificate object on a token (for provisioning: SoftHSM's `softhsm2-util --import`
 * only imports keys). `id` should equal the private key's CKA_ID.
 */
export function importCertificateToToken(opts: {
  module: string;
  slot?: number;
  pin: string;
  label: string;
  id?: Uint8Array;
  certificate: Uint8Array;
}): void {
  const m = openModule(opts.module);
  const { lib, p11 } = m;
  const session = p11.C_OpenSession(selectSlot(m, opts.slot), lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
  try {
    try {
      p11.C_Login(session, lib.CKU_USER, opts.pin);
    } catch (e) {
      if (!/CKR_USER_ALREADY_LOGGED_IN/.test(String((e as Error).message))) throw e;
    }
    const x = new X509Certificate(Buffer.from(opts.certificate));
    const der = x.raw;
    p11.C_CreateObject(session, [
      { type: lib.CKA_CLASS, value: lib.CKO_CERTIFICATE },
      { type: lib.CKA_CERTIFICATE_TYPE, value: lib.CKC_X_509 },
      { type: lib.CKA_TOKEN, value: true },
      { type: lib.CKA_LABEL, value: opts.label },
      ...(opts.id ? [{ type: lib.CKA_ID, value: Buffer.from(opts.id) }] : []),
      { type: lib.CKA_VALUE, value: der },
      { type: lib.CKA_SUBJECT, value: subjectDer(der) },
    ]);
  } finally {
    p11.C_CloseSession(session);
  }
}

/** The DER subject Name of a certificate (tbsCertificate field 6, after an optional [0] version). */
function subjectDer(cert: Buffer): Buffer {
  // minimal DER walk: Certificate SEQ → tbsCertificate SEQ → fields
  const readTlv = (buf: Buffer, off: number) => {
    let len = buf[off + 1];
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
      hdr = 2 + n;
    }
    return { start: off, hdr, len, end: off + hdr + len };
  };
  const certTlv = readTlv(cert, 0);
  const tbs = readTlv(cert, certTlv.start + certTlv.hdr);
  let off = tbs.start + tbs.hdr;
  const fields: { start: number; end: number }[] = [];
  while (off < tbs.end) {
    const t = readTlv(cert, off);
    fields.push(t);
    off = t.end;
  }
  const hasVersion = cert[fields[0].start] === 0xa0;
  const subj = fields[(hasVersion ? 1 : 0) + 4];
  return cert.subarray(subj.start, subj.end);
}
