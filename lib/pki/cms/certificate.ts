/**
 * What the CMS and time-stamp code needs from an X.509 certificate, read from its DER without
 * re-encoding: the exact issuer/subject Name and serial bytes (for sid and ESS IssuerSerial), the
 * extensions with their criticality (RFC 3161 wants the timeStamping EKU critical), plus node:crypto's
 * X509Certificate for keys, validity and issuer checks.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { TAG, bytesOf, children, contentOf, intHex, octetValue, parseOne, readOid, readTime, type Tlv } from './der';
import { OID } from './oids';

export interface Extension {
  critical: boolean;
  value: Uint8Array;
}

export interface CertInfo {
  der: Uint8Array;
  x509: X509Certificate;
  /** DER of the issuer / subject Name. */
  issuer: Uint8Array;
  subject: Uint8Array;
  /** DER of the serialNumber INTEGER (tag included) and its unsigned hex. */
  serial: Uint8Array;
  serialHex: string;
  /** The subjectPublicKey BIT STRING's bytes (for OCSP CertID key hashes and key identifiers). */
  publicKeyBits: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: Map<string, Extension>;
  /** SHA-256 of the DER, hex (identity). */
  id: string;
}

const cache = new Map<string, CertInfo>();
const CACHE_MAX = 512;

export function certInfo(der: Uint8Array): CertInfo {
  const id = createHash('sha256').update(der).digest('hex');
  const hit = cache.get(id);
  if (hit) return hit;
  const cert = parseOne(der);
  const [tbs] = children(cert);
  const f = children(tbs);
  let i = f[0].tag === TAG.ctx0 ? 1 : 0;
  const serialT = f[i++];
  i++; // signature algorithm
  const issuerT = f[i++];
  const validity = children(f[i++]);
  const subjectT = f[i++];
  const spki = children(f[i++]);
  const extensions = new Map<string, Extension>();
  for (; i < f.length; i++) {
    if (f[i].tag !== TAG.ctx3) continue;
    for (const ext of children(children(f[i])[0])) {
      const e = children(ext);
      const critical = e.length === 3 && e[1].tag === TAG.boolean && contentOf(e[1])[0] !== 0;
      extensions.set(readOid(e[0]), { critical, value: octetValue(e[e.length - 1]) });
    }
  }
  const info: CertInfo = {
    der,
    x509: new X509Certificate(Buffer.from(der)),
    issuer: bytesOf(issuerT),
    subject: bytesOf(subjectT),
    serial: bytesOf(serialT),
    serialHex: intHex(serialT),
    publicKeyBits: contentOf(spki[1]).subarray(1),
    notBefore: readTime(validity[0]),
    notAfter: readTime(validity[1]),
    extensions,
    id,
  };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(id, info);
  return info;
}

/** The key purposes of the extended key usage extension, with its criticality. */
export function extendedKeyUsage(c: CertInfo): { critical: boolean; purposes: string[] } | undefined {
  const e = c.extensions.get(OID.extKeyUsage);
  if (!e) return undefined;
  return { critical: e.critical, purposes: children(parseOne(e.value)).map(readOid) };
}

/** RFC 3161 §2.3: the TSA certificate has exactly the timeStamping key purpose, in a critical EKU. */
export function hasCriticalTimeStampingEku(c: CertInfo): boolean {
  const eku = extendedKeyUsage(c);
  return !!eku && eku.critical && eku.purposes.length === 1 && eku.purposes[0] === OID.timeStamping;
}

export function subjectKeyIdentifier(c: CertInfo): Uint8Array | undefined {
  const e = c.extensions.get(OID.subjectKeyIdentifier);
  return e ? octetValue(parseOne(e.value)) : undefined;
}

/** keyUsage bits as a number (bit 0 = digitalSignature = 0x80 of the first octet, …); undefined when absent. */
export function keyUsageBits(c: CertInfo): number | undefined {
  const e = c.extensions.get(OID.keyUsage);
  if (!e) return undefined;
  const bits = contentOf(parseOne(e.value));
  return ((bits[1] ?? 0) << 8) | (bits[2] ?? 0);
}

export const KEY_USAGE = { digitalSignature: 0x8000, nonRepudiation: 0x4000 } as const;

export function certValidAt(c: CertInfo, at: Date): boolean {
  const t = at.getTime();
  return t >= c.notBefore.getTime() && t <= c.notAfter.getTime();
}

export function subjectText(c: CertInfo): string {
  return c.x509.subject.replace(/\n/g, ', ');
}

export type { Tlv };
