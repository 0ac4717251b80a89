/**
 * Revocation services of the dev PKI (CRL + OCSP responder, both signed by the dev root, built with pkijs)
 * and `collectRevocationMaterial` which gathers DSS material (B-LT) for any chain: in-process for our dev
 * chain, over HTTP (CRL distribution point, AIA OCSP) for foreign chains, best effort with timeouts.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { getConfig } from '../config';
import { devPkiExists, getDevPki, type DevPki } from './dev';
import type { RevocationMaterial } from './types';
import {
  OID,
  certToDer,
  findExtension,
  hashOidToName,
  parseCertificate,
  serialHex,
  toArrayBuffer,
  toU8,
  toWebCryptoKey,
} from './util';

const DAY = 24 * 60 * 60 * 1000;
/** CRL and OCSP validity. */
export const REVOCATION_VALIDITY_MS = 7 * DAY;
/** Regenerate the CRL once it is older than this. */
const CRL_REFRESH_MS = DAY;

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

function subjectKeyId(cert: pkijs.Certificate): Uint8Array {
  const ext = findExtension(cert, OID.subjectKeyIdentifier);
  if (ext) return toU8((ext.parsedValue as asn1js.OctetString).valueBlock.valueHexView);
  return toU8(createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest());
}

const rootKeyCache = new WeakMap<DevPki, Promise<CryptoKey>>();
function rootCryptoKey(pki: DevPki): Promise<CryptoKey> {
  let k = rootKeyCache.get(pki);
  if (!k) {
    k = toWebCryptoKey(pki.root.key);
    rootKeyCache.set(pki, k);
  }
  return k;
}

// ---------------------------------------------------------------- CRL

async function buildCrl(pki: DevPki, now: Date): Promise<Uint8Array> {
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = pki.root.cert.subject;
  crl.thisUpdate = new pkijs.Time({ type: 0, value: now });
  crl.nextUpdate = new pkijs.Time({ type: 0, value: new Date(now.getTime() + REVOCATION_VALIDITY_MS) });
  const aki = new pkijs.AuthorityKeyIdentifier({
    keyIdentifier: new asn1js.OctetString({ valueHex: toArrayBuffer(subjectKeyId(pki.root.cert)) }),
  });
  crl.crlExtensions = new pkijs.Extensions({
    extensions: [
      new pkijs.Extension({
        extnID: OID.crlNumber,
        critical: false,
        // seconds since the epoch: monotonic across processes without shared state
        extnValue: new asn1js.Integer({ value: Math.floor(now.getTime() / 1000) }).toBER(false),
      }),
      new pkijs.Extension({ extnID: OID.authorityKeyIdentifier, critical: false, extnValue: aki.toSchema().toBER(false) }),
    ],
  });
  await crl.sign(await rootCryptoKey(pki), 'SHA-256');
  return new Uint8Array(crl.toSchema(true).toBER(false));
}

function crlTimes(der: Uint8Array): { thisUpdate: Date; nextUpdate?: Date } {
  const crl = pkijs.CertificateRevocationList.fromBER(toArrayBuffer(der));
  return { thisUpdate: crl.thisUpdate.value, nextUpdate: crl.nextUpdate?.value };
}

const crlCache = new Map<string, { der: Uint8Array; thisUpdate: Date }>();

/** The dev root's current CRL (DER): empty, nextUpdate ≈ 7 days; cached on disk and refreshed daily. */
export async function getCrl(now = new Date()): Promise<Uint8Array> {
  const pki = await getDevPki();
  const file = path.join(pki.dir, 'root.crl');
  const fresh = (t: Date) => now.getTime() - t.getTime() < CRL_REFRESH_MS && t.getTime() <= now.getTime() + 60_000;
  const mem = crlCache.get(file);
  if (mem && fresh(mem.thisUpdate)) return mem.der;
  try {
    const der = new Uint8Array(await readFile(file));
    const { thisUpdate } = crlTimes(der);
    if (fresh(thisUpdate)) {
      crlCache.set(file, { der, thisUpdate });
      return der;
    }
  } catch {
    // missing or unreadable: regenerate
  }
  const der = await buildCrl(pki, now);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, der);
  await rename(tmp, file);
  crlCache.set(file, { der, thisUpdate: now });
  return der;
}

// ---------------------------------------------------------------- OCSP

const OCSP_STATUS = { successful: 0, malformedRequest: 1, internalError: 2, unauthorized: 6 } as const;

function ocspError(status: number): Uint8Array {
  const resp = new pkijs.OCSPResponse({ responseStatus: new asn1js.Enumerated({ value: status }) });
  return new Uint8Array(resp.toSchema().toBER(false));
}

function issuerMatches(certId: pkijs.CertID, issuer: pkijs.Certificate): boolean {
  const alg = hashOidToName(certId.hashAlgorithm.algorithmId);
  if (!alg) return false;
  const nameHash = createHash(alg).update(toU8(issuer.subject.toSchema().toBER(false))).digest();
  const keyHash = createHash(alg).update(issuer.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest();
  return (
    bytesEqual(toU8(certId.issuerNameHash.valueBlock.valueHexView), nameHash) &&
    bytesEqual(toU8(certId.issuerKeyHash.valueBlock.valueHexView), keyHash)
  );
}

/**
 * OCSP responder for the dev root (RFC 6960): answers `good` for the certificates the dev root issued,
 * `unknown` for anything else; signed by the root itself; echoes a nonce. Never throws for bad input:
 * a malformed request gets a `malformedRequest` response.
 */
export async function respondOcsp(requestDer: Uint8Array, at = new Date()): Promise<Uint8Array> {
  const now = new Date(Math.floor(at.getTime() / 1000) * 1000); // whole seconds in GeneralizedTime
  let request: pkijs.OCSPRequest;
  try {
    request = pkijs.OCSPRequest.fromBER(toArrayBuffer(requestDer));
  } catch {
    return ocspError(OCSP_STATUS.malformedRequest);
  }
  try {
    const pki = await getDevPki();
    const issued = new Set([serialHex(pki.seal.cert), serialHex(pki.tsa.cert)]);
    const nextUpdate = new Date(now.getTime() + REVOCATION_VALIDITY_MS);
    const responses = request.tbsRequest.requestList.map((r) => {
      const serial = Buffer.from(r.reqCert.serialNumber.valueBlock.valueHexView).toString('hex');
      const good = issuerMatches(r.reqCert, pki.root.cert) && issued.has(serial);
      return new pkijs.SingleResponse({
        certID: r.reqCert,
        // good: [0] IMPLICIT NULL; unknown: [2] IMPLICIT NULL
        certStatus: new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: good ? 0 : 2 } }),
        thisUpdate: now,
        nextUpdate,
      });
    });
    if (responses.length === 0) return ocspError(OCSP_STATUS.malformedRequest);
    const basic = new pkijs.BasicOCSPResponse();
    basic.tbsResponseData.responderID = pki.root.cert.subject;
    basic.tbsResponseData.producedAt = now;
    basic.tbsResponseData.responses = responses;
    const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === OID.ocspNonce);
    if (nonce) {
      basic.tbsResponseData.responseExtensions = [
        new pkijs.Extension({ extnID: OID.ocspNonce, critical: false, extnValue: toArrayBuffer(toU8(nonce.extnValue.valueBlock.valueHexView)) }),
      ];
    }
    await basic.sign(await rootCryptoKey(pki), 'SHA-256');
    const resp = new pkijs.OCSPResponse({
      responseStatus: new asn1js.Enumerated({ value: OCSP_STATUS.successful }),
      responseBytes: new pkijs.ResponseBytes({
        responseType: OID.ocspBasic,
        response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER(false) }),
      }),
    });
    return new Uint8Array(resp.toSchema().toBER(false));
  } catch {
    return ocspError(OCSP_STATUS.internalError);
  }
}

/** Build an OCSP request (SHA-1 CertID, as most responders expect) for `cert` issued by `issuer`. */
export async function buildOcspRequest(certDer: Uint8Array, issuerDer: Uint8Array): Promise<Uint8Array> {
  const req = new pkijs.OCSPRequest();
  await req.createForCertificate(parseCertificate(certDer), {
    hashAlgorithm: 'SHA-1',
    issuerCertificate: parseCertificate(issuerDer),
  });
  return new Uint8Array(req.toSchema(true).toBER(false));
}

// ---------------------------------------------------------------- collection for DSS (B-LT)

function nameDer(n: pkijs.RelativeDistinguishedNames): Buffer {
  return Buffer.from(n.toSchema().toBER(false));
}

function isSelfIssued(c: pkijs.Certificate): boolean {
  return nameDer(c.subject).equals(nameDer(c.issuer));
}

function extensionUrls(cert: pkijs.Certificate): { crl: string[]; ocsp: string[]; caIssuers: string[] } {
  const crl: string[] = [];
  const ocsp: string[] = [];
  const caIssuers: string[] = [];
  const dp = findExtension(cert, OID.crlDistributionPoints)?.parsedValue as pkijs.CRLDistributionPoints | undefined;
  for (const p of dp?.distributionPoints ?? []) {
    const names = Array.isArray(p.distributionPoint) ? p.distributionPoint : [];
    for (const n of names) if (n.type === 6 && typeof n.value === 'string') crl.push(n.value);
  }
  const aia = findExtension(cert, OID.authorityInfoAccess)?.parsedValue as pkijs.InfoAccess | undefined;
  for (const d of aia?.accessDescriptions ?? []) {
    const loc = d.accessLocation;
    if (loc.type !== 6 || typeof loc.value !== 'string') continue;
    if (d.accessMethod === OID.adOcsp) ocsp.push(loc.value);
    if (d.accessMethod === OID.adCaIssuers) caIssuers.push(loc.value);
  }
  const http = (u: string) => /^https?:\/\//i.test(u);
  return { crl: crl.filter(http), ocsp: ocsp.filter(http), caIssuers: caIssuers.filter(http) };
}

async function httpGet(url: string, timeoutMs: number, init?: RequestInit): Promise<Uint8Array | undefined> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    if (!res.ok) return undefined;
    const buf = new Uint8Array(await res.arrayBuffer());
    return buf.length > 0 && buf.length <= 20 * 1024 * 1024 ? buf : undefined;
  } catch {
    return undefined;
  }
}

function maybePem(buf: Uint8Array): Uint8Array {
  const text = Buffer.from(buf.subarray(0, 64)).toString('latin1');
  if (!text.includes('-----BEGIN')) return buf;
  const body = Buffer.from(buf).toString('latin1').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

function ocspIsSuccessful(der: Uint8Array): boolean {
  try {
    const r = pkijs.OCSPResponse.fromBER(toArrayBuffer(der));
    return r.responseStatus.valueBlock.valueDec === OCSP_STATUS.successful && !!r.responseBytes;
  } catch {
    return false;
  }
}

export interface CollectOptions {
  /** Per-request timeout for foreign CRL/OCSP fetches (default TSA_TIMEOUT_MS). */
  timeoutMs?: number;
}

/**
 * Validation material for `chainDer` (signer first; issuers may be missing — fetched via AIA caIssuers).
 * Our dev chain: certificates + fresh CRL + OCSP responses made in-process. Foreign chains: CRLs from the
 * CRL distribution points and OCSP responses via AIA, over HTTP, best effort (failures are skipped).
 */
export async function collectRevocationMaterial(chainDer: Uint8Array[], opts: CollectOptions = {}): Promise<RevocationMaterial> {
  const timeoutMs = opts.timeoutMs ?? getConfig().TSA_TIMEOUT_MS;
  const certs: Uint8Array[] = [];
  const crls: Uint8Array[] = [];
  const ocsps: Uint8Array[] = [];
  const seen = new Set<string>();
  const addCert = (der: Uint8Array) => {
    const k = Buffer.from(der).toString('base64');
    if (seen.has(k)) return false;
    seen.add(k);
    certs.push(der);
    return true;
  };
  const crlSeen = new Set<string>();
  const addCrl = (der: Uint8Array) => {
    const k = Buffer.from(der).toString('base64');
    if (!crlSeen.has(k)) {
      crlSeen.add(k);
      crls.push(der);
    }
  };

  // Our dev chain only exists once the dev PKI does: never create it just to compare against it.
  let dev: DevPki | undefined;
  try {
    dev = (await devPkiExists()) ? await getDevPki() : undefined;
  } catch {
    dev = undefined;
  }

  const pool: { der: Uint8Array; cert: pkijs.Certificate }[] = [];
  for (const der of chainDer) {
    try {
      pool.push({ der, cert: parseCertificate(der) });
    } catch {
      // ignore unparsable entries
    }
  }
  const findIssuer = (c: pkijs.Certificate) =>
    pool.find((p) => nameDer(p.cert.subject).equals(nameDer(c.issuer)) && p.cert !== c);

  // walk: for every certificate (including issuers we discover), collect revocation info
  for (let i = 0; i < pool.length; i++) {
    const { der, cert } = pool[i];
    addCert(der);
    if (isSelfIssued(cert)) continue;
    let issuer = findIssuer(cert);
    const urls = extensionUrls(cert);
    if (dev && nameDer(cert.issuer).equals(nameDer(dev.root.cert.subject)) && (!issuer || bytesEqual(issuer.der, dev.root.certDer))) {
      if (!issuer) {
        issuer = { der: dev.root.certDer, cert: dev.root.cert };
        pool.push(issuer);
      }
      ocsps.push(await respondOcsp(await buildOcspRequest(der, dev.root.certDer)));
      addCrl(await getCrl());
      continue;
    }
    if (!issuer) {
      for (const u of urls.caIssuers) {
        const got = await httpGet(u, timeoutMs);
        if (!got) continue;
        try {
          const d = maybePem(got);
          const c = parseCertificate(d);
          if (nameDer(c.subject).equals(nameDer(cert.issuer))) {
            issuer = { der: d, cert: c };
            pool.push(issuer);
            break;
          }
        } catch {
          // not a certificate (maybe a PKCS#7 bundle): skip
        }
      }
    }
    if (issuer) {
      for (const u of urls.ocsp) {
        const body = await buildOcspRequest(der, issuer.der);
        const got = await httpGet(u, timeoutMs, {
          method: 'POST',
          headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
          body: Buffer.from(body),
        });
        if (got && ocspIsSuccessful(got)) {
          ocsps.push(got);
          break;
        }
      }
    }
    for (const u of urls.crl) {
      const got = await httpGet(u, timeoutMs);
      if (!got) continue;
      const d = maybePem(got);
      try {
        pkijs.CertificateRevocationList.fromBER(toArrayBuffer(d));
        addCrl(d);
        break;
      } catch {
        // not a CRL
      }
    }
  }
  return { certs, crls, ocsps };
}

export { certToDer };
