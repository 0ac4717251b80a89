/**
 * Validation of one embedded signature's bytes: the ByteRange against the file, and the crypto of
 * a CAdES signature (digest, signature, PAdES attributes, signature time-stamp) or of a document
 * time-stamp, the certificate path and the revocation data in the DSS. Crypto comes from the core
 * (lib/pki/cms); the results are typed checks.
 */
import crypto from 'node:crypto';
import {
  KEY_USAGE,
  OID,
  attrValue,
  buildPath,
  certInfo,
  checkEssCertId,
  checkTimestampToken,
  findSignerCertificate,
  keyUsageBits,
  parseSignedData,
  pathRevocation,
  verifySignerInfo,
  type HashName,
  type TimestampCheck,
  type TimestampFailure,
} from '../../pki';
import { dictionaryHoldsGap, fieldExistedWhenSigned, type EmbeddedSignature, type PdfDocument } from '../../pdf';
import type { Dss } from '../dss';
import { check, type Check, type CheckCode, type Issue } from './checks';

export interface ValidationContext {
  pdf: Uint8Array;
  doc: PdfDocument;
  anchors: Uint8Array[];
  now: Date;
  dss?: Dss;
  /** Digest of a ByteRange's bytes, memoised (many fields may share one range). */
  digest(br: number[], hash: HashName): Buffer;
}

export function digestMemo(pdf: Uint8Array): ValidationContext['digest'] {
  const memo = new Map<string, Buffer>();
  return (br, hash) => {
    const k = `${hash}:${br.join(',')}`;
    let d = memo.get(k);
    if (!d) {
      d = crypto.createHash(hash).update(pdf.subarray(br[0], br[0] + br[1])).update(pdf.subarray(br[2], br[2] + br[3])).digest();
      memo.set(k, d);
    }
    return d;
  };
}

const sameRange = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The ByteRange of `s`: starts at 0, the gap is exactly its /Contents, ends at a revision's %%EOF, its dictionary is inside the signed bytes. */
export function checkByteRange(ctx: ValidationContext, s: EmbeddedSignature, all: EmbeddedSignature[]): Check {
  const { pdf, doc } = ctx;
  const br = s.byteRange;
  const ng = (code: CheckCode) => check(false, code);
  if (br.length !== 4 || !br.every((x) => Number.isInteger(x) && x >= 0)) return ng('br.malformed');
  if (br[0] !== 0) return ng('br.not_from_start');
  if (br[2] + br[3] > pdf.length || br[1] >= br[2]) return ng('br.out_of_file');
  const gap = Buffer.from(pdf.buffer, pdf.byteOffset + br[1], br[2] - br[1]);
  const hex = gap.toString('latin1');
  if (!/^<[0-9A-Fa-f]*>$/.test(hex) || !Buffer.from(hex.slice(1, -1), 'hex').equals(Buffer.from(s.contents))) return ng('br.gap_mismatch');
  const end = br[2] + br[3];
  const tail = Buffer.from(pdf.buffer, pdf.byteOffset + Math.max(0, end - 16), Math.min(16, end)).toString('latin1');
  if (!/%%EOF\s*$/.test(tail)) return ng('br.not_at_eof');
  if (!dictionaryHoldsGap(doc, s)) return ng('br.dict_outside');
  if (all.some((o) => o !== s && sameRange(o.byteRange, br)) && !fieldExistedWhenSigned(doc, s)) return ng('br.shared_later_field');
  return check(true, 'br.ok');
}

export interface CryptoResult {
  signer?: Uint8Array;
  chain: Uint8Array[];
  /** genTime of the signature time-stamp, or of the document time-stamp. */
  timestampTime?: string;
  integrity: Check;
  signature: Check;
  certificate: Check;
  timestamp?: Check;
  revocation?: Check;
  pades?: Check;
}

const TS_CODE: Record<TimestampFailure, CheckCode> = {
  malformed: 'ts.malformed',
  not_der: 'ts.not_der',
  signer_count: 'ts.signer_count',
  signer_cert_missing: 'ts.signer_cert_missing',
  signature: 'ts.signature',
  ess: 'ts.ess',
  eku: 'ts.eku',
  cert_validity: 'ts.cert_validity',
  imprint: 'ts.imprint',
  untrusted: 'ts.untrusted',
};

function tsIssues(t: TimestampCheck, skip: TimestampFailure[] = []): Issue[] {
  return t.failures
    .filter((f) => !skip.includes(f))
    .map((f) => (f === 'not_der' ? { code: TS_CODE[f], params: { detail: t.encodingProblems.join('; ') } } : { code: TS_CODE[f] }));
}

/** A check made of the first failing issue (all of them in `details`), or ok. */
function fromIssues(issues: Issue[], okCode: CheckCode, okParams?: Record<string, string>): Check {
  if (!issues.length) return check(true, okCode, okParams);
  return check(false, issues[0].code, issues[0].params, issues.length > 1 ? issues.slice(1) : undefined);
}

function certificateCheck(ctx: ValidationContext, signer: Uint8Array | undefined, pool: Uint8Array[], at: Date, forSignature: boolean): { check: Check; chain: Uint8Array[] } {
  if (!signer) return { check: check(false, 'cert.unknown'), chain: [] };
  const path = buildPath(signer, [...pool, ...(ctx.dss?.certs ?? [])], ctx.anchors, at);
  if (!path.trusted) return { check: check(false, 'cert.untrusted'), chain: path.chain };
  if (path.outOfValidity.length) return { check: check(false, 'cert.expired', { subject: path.outOfValidity[0] }), chain: path.chain };
  if (forSignature) {
    const ku = keyUsageBits(certInfo(signer));
    if (ku !== undefined && !(ku & (KEY_USAGE.digitalSignature | KEY_USAGE.nonRepudiation))) return { check: check(false, 'cert.key_usage'), chain: path.chain };
  }
  return { check: check(true, 'cert.ok'), chain: path.chain };
}

function revocationCheck(ctx: ValidationContext, chains: Uint8Array[][]): Check {
  if (!ctx.dss) return check(false, 'rev.no_dss');
  let complete = true;
  for (const c of chains) {
    const r = pathRevocation(c, ctx.anchors, ctx.dss);
    if (r.revoked) return check(false, 'rev.revoked');
    complete &&= r.complete;
  }
  return complete ? check(true, 'rev.ok') : check(false, 'rev.incomplete');
}

const BR_BAD = () => check(false, 'unchecked.byte_range');

/** A document time-stamp: its token over the ByteRange bytes. */
export function validateDocTimestamp(ctx: ValidationContext, s: EmbeddedSignature, brOk: boolean): CryptoResult {
  const t = checkTimestampToken(s.contents, { padded: true, certificates: ctx.dss?.certs });
  if (!t.token) {
    return { chain: [], integrity: check(false, 'ts.malformed'), signature: check(false, 'ts.malformed'), certificate: check(false, 'cert.unknown') };
  }
  const tst = t.token.tst;
  let integrity: Check;
  if (!brOk) integrity = BR_BAD();
  else if (!tst.hashName || !ctx.digest(s.byteRange, tst.hashName).equals(Buffer.from(tst.imprint))) integrity = check(false, 'integrity.imprint_mismatch');
  else integrity = check(true, 'integrity.ok_ts');
  const cert = certificateCheck(ctx, t.signerCert, t.token.certificates, tst.genTime, false);
  return {
    signer: t.signerCert,
    chain: cert.chain,
    timestampTime: tst.genTime.toISOString(),
    integrity,
    signature: fromIssues(tsIssues(t, ['cert_validity']), 'sig.ok_ts'),
    certificate: cert.check,
  };
}

/** A CAdES signature (PAdES B-B … B-LTA): digest, signature, certificate, attributes, signature time-stamp, revocation. */
export function validateCmsSignature(ctx: ValidationContext, s: EmbeddedSignature, brOk: boolean, hasClaimedTime: boolean): CryptoResult {
  let sd;
  try {
    sd = parseSignedData(s.contents, { padded: true });
  } catch (e) {
    const bad = check(false, 'cms.unparsable', { detail: (e as Error).message });
    return { chain: [], integrity: bad, signature: check(false, 'cms.unparsable', { detail: (e as Error).message }), certificate: check(false, 'cert.unknown') };
  }
  const pades: Issue[] = [];
  if (sd.signerInfos.length !== 1) pades.push({ code: 'pades.signer_count' });
  if (sd.eContent) pades.push({ code: 'pades.not_detached' });
  if (s.subFilter !== 'ETSI.CAdES.detached') pades.push({ code: 'pades.subfilter', params: { subFilter: s.subFilter ?? '—' } });
  if (!hasClaimedTime) pades.push({ code: 'pades.no_m' });
  const si = sd.signerInfos[0];
  const signer = si ? findSignerCertificate(si, [...sd.certificates, ...(ctx.dss?.certs ?? [])]) : undefined;
  let integrity: Check = BR_BAD();
  let signature: Check = BR_BAD();
  if (!si || !signer) integrity = signature = check(false, 'sig.signer_cert_missing');
  else if (brOk) {
    const v = verifySignerInfo(sd, si, signer, (h) => ctx.digest(s.byteRange, h));
    integrity = v.error && !v.digestValid ? check(false, 'sig.unsupported', { detail: v.error }) : v.digestValid ? check(true, 'integrity.ok') : check(false, 'integrity.digest_mismatch');
    if (v.error) signature = check(false, 'sig.unsupported', { detail: v.error });
    else if (!v.signatureValid || !v.contentTypeValid) signature = check(false, 'sig.invalid');
    else if (sd.encodingProblems.length) signature = check(false, 'cms.not_der', { detail: sd.encodingProblems.join('; ') });
    else signature = check(true, 'sig.ok');
  }
  if (si) {
    if (si.signedAttrs.some((a) => a.type === OID.signingTime)) pades.push({ code: 'pades.signing_time' });
    const ess = signer ? checkEssCertId(attrValue(si.signedAttrs, OID.signingCertificateV2), true, signer) : 'absent';
    if (ess === 'absent') pades.push({ code: 'pades.no_ess' });
    else if (ess !== 'match') pades.push({ code: 'pades.ess_mismatch' });
  }
  // Signature time-stamp (B-T) over the signature value.
  let timestamp: Check = check(false, 'tsig.missing');
  let timestampTime: string | undefined;
  let tsaChain: Uint8Array[] = [];
  const tok = si ? attrValue(si.unsignedAttrs, OID.signatureTimeStampToken) : undefined;
  if (si && tok) {
    const sigDigest = (h: HashName) => crypto.createHash(h).update(si.signature).digest();
    const t = checkTimestampToken(tok.buf.subarray(tok.start, tok.end), { trustAnchors: ctx.anchors, certificates: ctx.dss?.certs });
    const issues = tsIssues(t, ['imprint']);
    if (t.token) {
      timestampTime = t.token.tst.genTime.toISOString();
      const h = t.token.tst.hashName;
      if (!h || !sigDigest(h).equals(Buffer.from(t.token.tst.imprint))) issues.unshift({ code: 'tsig.imprint' });
      tsaChain = t.path?.chain ?? [];
      if (t.path?.outOfValidity.length) issues.push({ code: 'cert.expired', params: { subject: t.path.outOfValidity[0] } });
    }
    timestamp = fromIssues(issues, 'tsig.ok', { time: timestampTime ?? '' });
  }
  const at = timestampTime ? new Date(timestampTime) : ctx.now;
  const cert = certificateCheck(ctx, signer, sd.certificates, at, true);
  // Without a signature time-stamp there is no TSA chain to cover: B-LT is not reached from here.
  let revocation = revocationCheck(ctx, tok ? [cert.chain, tsaChain] : [cert.chain]);
  if (!tok && revocation.ok) revocation = check(false, 'rev.incomplete');
  return {
    signer,
    chain: cert.chain,
    timestampTime,
    integrity,
    signature,
    certificate: cert.check,
    timestamp,
    revocation,
    pades: pades.length ? check(false, 'pades.problems', undefined, pades) : check(true, 'pades.ok'),
  };
}
