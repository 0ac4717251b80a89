/**
 * Certificate path building (signer → … → trust anchor) and revocation lookup in given CRLs and OCSP
 * responses (a PDF's DSS, or material just collected). node:crypto checks every signature.
 */
import { createHash } from 'node:crypto';
import { certInfo, certValidAt, extendedKeyUsage, subjectText, type CertInfo } from './certificate';
import { TAG, bytesOf, children, contentOf, octetValue, parseOne, readOid, type Tlv } from './der';
import { OID, hashOidToName } from './oids';
import { verifyTbs } from './signed-data';

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

export interface CertPath {
  /** Leaf first; ends with the anchor when `trusted`. */
  chain: Uint8Array[];
  trusted: boolean;
  /** Subjects of certificates in the path that are not valid at the validation time. */
  outOfValidity: string[];
}

function issues(child: CertInfo, issuer: CertInfo): boolean {
  try {
    return child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Builds the path from `leaf` to one of `anchors`, taking intermediates from `pool`. Below the anchor
 * only CA certificates (basicConstraints CA:TRUE) may issue: otherwise any holder of an end-entity
 * certificate from a trusted CA could mint a certificate for anyone.
 */
export function buildPath(leaf: Uint8Array, pool: Uint8Array[], anchors: Uint8Array[], at: Date): CertPath {
  const outOfValidity: string[] = [];
  const chain: Uint8Array[] = [leaf];
  const isAnchor = (d: Uint8Array) => anchors.some((a) => eq(a, d));
  let cur = leaf;
  for (let depth = 0; depth < 10; depth++) {
    let ci: CertInfo;
    try {
      ci = certInfo(cur);
    } catch {
      return { chain, trusted: false, outOfValidity };
    }
    if (!certValidAt(ci, at)) outOfValidity.push(subjectText(ci));
    if (isAnchor(cur)) return { chain, trusted: true, outOfValidity };
    const issuer = [...anchors, ...pool].find((c) => {
      if (eq(c, cur)) return false;
      try {
        const ic = certInfo(c);
        if (!ic.x509.ca && !isAnchor(c)) return false;
        return issues(ci, ic);
      } catch {
        return false;
      }
    });
    if (!issuer) return { chain, trusted: false, outOfValidity };
    chain.push(issuer);
    if (isAnchor(issuer)) {
      if (!certValidAt(certInfo(issuer), at)) outOfValidity.push(subjectText(certInfo(issuer)));
      return { chain, trusted: true, outOfValidity };
    }
    cur = issuer;
  }
  return { chain, trusted: false, outOfValidity };
}

export interface RevocationSources {
  crls: Uint8Array[];
  ocsps: Uint8Array[];
}

export type RevocationStatus = 'good' | 'revoked' | 'missing';

function bitStringBytes(t: Tlv): Uint8Array {
  return contentOf(t).subarray(1);
}

function crlStatus(cert: CertInfo, issuer: Uint8Array, crlDer: Uint8Array): RevocationStatus | undefined {
  const crl = parseOne(crlDer);
  const [tbs, alg, sig] = children(crl);
  const f = children(tbs);
  let i = f[0].tag === TAG.integer ? 1 : 0;
  i++; // signature algorithm
  if (!eq(bytesOf(f[i]), cert.issuer)) return undefined;
  if (!verifyTbs(bytesOf(tbs), readOid(children(alg)[0]), bitStringBytes(sig), issuer)) return undefined;
  const revoked = f.find((x, k) => k > i && x.tag === TAG.sequence);
  for (const r of revoked ? children(revoked) : []) if (eq(bytesOf(children(r)[0]), cert.serial)) return 'revoked';
  return 'good';
}

function ocspStatus(cert: CertInfo, issuerDer: Uint8Array, der: Uint8Array): RevocationStatus | undefined {
  const resp = children(parseOne(der));
  if (Number(contentOf(resp[0])[0]) !== 0 || !resp[1]) return undefined;
  const rb = children(children(resp[1])[0]);
  if (readOid(rb[0]) !== OID.ocspBasic) return undefined;
  const basic = children(parseOne(octetValue(rb[1])));
  const [tbs, alg, sig] = basic;
  const issuer = certInfo(issuerDer);
  // Signed by the issuer itself, or by a responder certificate the issuer gave id-kp-OCSPSigning
  // (RFC 6960 §4.2.2.2) — not by whatever certificate the response happens to carry.
  const carried = basic[3] ? children(children(basic[3])[0]).map(bytesOf) : [];
  const delegated = carried.filter((d) => {
    try {
      const c = certInfo(d);
      return c.x509.checkIssued(issuer.x509) && c.x509.verify(issuer.x509.publicKey) && !!extendedKeyUsage(c)?.purposes.includes(OID.ocspSigning);
    } catch {
      return false;
    }
  });
  const algOid = readOid(children(alg)[0]);
  if (![issuerDer, ...delegated].some((s) => verifyTbs(bytesOf(tbs), algOid, bitStringBytes(sig), s))) return undefined;
  const tf = children(tbs);
  const responses = tf.find((x, k) => k > 0 && x.tag === TAG.sequence && children(x).every((c) => c.tag === TAG.sequence));
  for (const sr of responses ? children(responses) : []) {
    const [certId, status] = children(sr);
    const [hashAlg, nameHash, keyHash, serial] = children(certId);
    if (!eq(bytesOf(serial), cert.serial)) continue;
    const h = hashOidToName(readOid(children(hashAlg)[0]));
    if (!h) continue;
    const pub = issuer.publicKeyBits;
    if (!eq(octetValue(nameHash), createHash(h).update(issuer.subject).digest())) continue;
    if (!eq(octetValue(keyHash), createHash(h).update(pub).digest())) continue;
    if (status.tag === 0x80) return 'good';
    if (status.tag === 0xa1) return 'revoked';
  }
  return undefined;
}

/** Whether the CRLs / OCSP responses show `cert` (issued by `issuer`) not revoked. */
export function revocationStatus(certDer: Uint8Array, issuerDer: Uint8Array, src: RevocationSources): RevocationStatus {
  const cert = certInfo(certDer);
  for (const crl of src.crls) {
    try {
      const s = crlStatus(cert, issuerDer, crl);
      if (s) return s;
    } catch {
      /* next */
    }
  }
  for (const o of src.ocsps) {
    try {
      const s = ocspStatus(cert, issuerDer, o);
      if (s) return s;
    } catch {
      /* next */
    }
  }
  return 'missing';
}

/** Revocation status of every non-anchor certificate of a path. */
export function pathRevocation(chain: Uint8Array[], anchors: Uint8Array[], src: RevocationSources): { complete: boolean; revoked: boolean } {
  let complete = true;
  for (let i = 0; i + 1 < chain.length; i++) {
    if (anchors.some((a) => eq(a, chain[i]))) break;
    const st = revocationStatus(chain[i], chain[i + 1], src);
    if (st === 'revoked') return { complete: false, revoked: true };
    if (st === 'missing') complete = false;
  }
  return { complete, revoked: false };
}
