/**
 * `verifyPdf`: orchestration only. It lists the embedded signatures (lib/pdf), reads the DSS
 * (../dss), validates each distinct signature value once (./signature), analyses the revisions after
 * each signature (./modifications), derives the PAdES level and writes the report with typed check
 * codes (./checks, texts from lib/i18n).
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getConfig } from '../../config';
import { t } from '../../i18n';
import { MAX_SIGNATURE_FIELDS, PdfDocument, PdfString, declaredPermissions, embeddedSignatures, lastIndexOfAscii, type EmbeddedSignature } from '../../pdf';
import { certInfo, getKeyProvider, pemToDerAll, subjectText } from '../../pki';
import { readDss } from '../dss';
import { check, notChecked, render, type Check, type Issue } from './checks';
import { analyseChanges, type ChangeAnalysis } from './modifications';
import { checkByteRange, digestMemo, validateCmsSignature, validateDocTimestamp, type CryptoResult, type ValidationContext } from './signature';

export type PadesLevel = 'B-B' | 'B-T' | 'B-LT' | 'B-LTA';
export type { Check };

/** More filled signature fields than this are refused (a file with hundreds is an attack on CPU, not a contract). */
export const MAX_SIGNATURES = MAX_SIGNATURE_FIELDS;

export interface CertSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  validFrom: string;
  validTo: string;
}

export interface SignatureReport {
  index: number;
  fieldName: string;
  kind: 'signature' | 'doc_timestamp';
  subFilter?: string;
  signer?: CertSummary;
  /** /M (claimed signing time), ISO 8601. */
  claimedSigningTime?: string;
  /** Time from the signature timestamp (or the document timestamp's genTime). */
  timestampTime?: string;
  reason?: string;
  name?: string;
  location?: string;
  byteRange?: number[];
  /** True when this signature/timestamp covers the file to its last byte. */
  coversWholeFile: boolean;
  checks: {
    byteRange: Check;
    integrity: Check;
    signature: Check;
    certificate: Check;
    timestamp?: Check;
    revocation?: Check;
    modifications: Check;
    pades?: Check;
  };
  level: PadesLevel | null;
  valid: boolean;
  /** Japanese texts of the failed checks. */
  problems: string[];
  /** Later changes (Japanese), e.g. 「DSS（長期検証用の証明書・失効情報）の追加」; codes in `changeCodes`. */
  changesAfter: string[];
  changeCodes: Issue[];
  /** True when the signature forbids later changes (a seal: P = 1); then only DSS and document timestamps may follow. */
  locked: boolean;
}

export interface VerificationReport {
  valid: boolean;
  /** One-line summary (Japanese) and its code. */
  summary: string;
  summaryCode: Issue;
  /** The PAdES level of the newest approval signature (the seal). */
  level: PadesLevel | null;
  signatures: SignatureReport[];
  fileSha256: string;
  fileSize: number;
  problems: string[];
  checkedAt: string;
}

export interface VerifyOptions {
  /** DER trust anchors. Default: configured defaults (key provider anchors + TRUST_ANCHORS). */
  trustAnchors?: Uint8Array[];
  /** Validation time for certificate validity when no timestamp is present. */
  now?: Date;
}

let defaultAnchors: (() => Promise<Uint8Array[]>) | undefined;
/** Overrides the default trust anchors (the configured key provider's anchors + TRUST_ANCHORS PEM files). */
export function setDefaultTrustAnchors(fn: (() => Promise<Uint8Array[]>) | undefined): void {
  defaultAnchors = fn;
}

export async function configuredTrustAnchors(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  try {
    out.push(...(await getKeyProvider().trustAnchors()));
  } catch {
    /* provider not configured: only TRUST_ANCHORS */
  }
  for (const f of (getConfig().TRUST_ANCHORS ?? '').split(path.delimiter).filter(Boolean)) {
    try {
      out.push(...pemToDerAll(readFileSync(f, 'utf8')));
    } catch {
      /* unreadable file: skipped */
    }
  }
  return out;
}

function summarize(der: Uint8Array): CertSummary {
  const c = certInfo(der);
  return {
    subject: subjectText(c),
    issuer: c.x509.issuer.replace(/\n/g, ', '),
    serialNumber: c.x509.serialNumber,
    validFrom: c.notBefore.toISOString(),
    validTo: c.notAfter.toISOString(),
  };
}

function parsePdfDate(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const m = /^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?'?/.exec(s);
  if (!m) return undefined;
  const [y, mo = '01', d = '01', h = '00', mi = '00', se = '00', tz, th = '00', tm = '00'] = m.slice(1);
  const off = tz === '+' || tz === '-' ? `${tz}${th}:${tm}` : 'Z';
  const dt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${se}${off}`);
  return Number.isNaN(dt.getTime()) ? undefined : dt.toISOString();
}

const ws = (pdf: Uint8Array, from: number) => /^[\s\0]*$/.test(Buffer.from(pdf.buffer, pdf.byteOffset + from, Math.max(0, pdf.length - from)).toString('latin1'));

function failedReport(base: Pick<VerificationReport, 'fileSha256' | 'fileSize' | 'checkedAt'>, summary: Issue, problem: Issue): VerificationReport {
  return { ...base, valid: false, summary: render('ja', summary), summaryCode: summary, level: null, signatures: [], problems: [render('ja', problem)] };
}

export async function verifyPdf(pdf: Uint8Array, opts: VerifyOptions = {}): Promise<VerificationReport> {
  const anchors = opts.trustAnchors ?? (defaultAnchors ? await defaultAnchors() : await configuredTrustAnchors());
  const now = opts.now ?? new Date();
  const base = { fileSha256: crypto.createHash('sha256').update(pdf).digest('hex'), fileSize: pdf.length, checkedAt: now.toISOString() };
  let doc: PdfDocument;
  try {
    doc = new PdfDocument(pdf);
    doc.catalog();
  } catch {
    return failedReport(base, { code: 'report.unreadable' }, { code: 'report.unreadable_detail' });
  }
  if (doc.trailer.has('Encrypt')) return failedReport(base, { code: 'report.encrypted' }, { code: 'report.encrypted_detail' });
  let sigs: EmbeddedSignature[];
  try {
    sigs = embeddedSignatures(doc);
  } catch {
    sigs = [];
  }
  if (!sigs.length) return failedReport(base, { code: 'report.no_signatures' }, { code: 'report.no_signatures_detail' });
  if (sigs.length > MAX_SIGNATURES) {
    const i: Issue = { code: 'report.too_many_fields', params: { count: sigs.length, max: MAX_SIGNATURES } };
    return failedReport(base, i, i);
  }

  const dss = readDss(doc);
  const ctx: ValidationContext = { pdf, doc, anchors, now, dss, digest: digestMemo(pdf) };
  // Each distinct signature value is validated once, however many fields share it.
  const crypto_ = new Map<string, CryptoResult>();
  const changes = new Map<string, ChangeAnalysis>();
  const lastEof = lastIndexOfAscii(pdf, '%%EOF');
  const reports: SignatureReport[] = [];
  const dtsInfo: Array<{ end: number; valid: boolean }> = [];
  const padesOk = new Map<SignatureReport, boolean>();

  sigs.forEach((s, i) => {
    const v = s.value;
    const txt = (k: string) => {
      const x = v.get(k);
      return x instanceof PdfString ? x.text() : undefined;
    };
    const isDts = s.kind === 'doc_timestamp';
    const byteRange = checkByteRange(ctx, s, sigs);
    const brOk = byteRange.ok;
    const end = brOk ? s.coveredEnd : 0;
    const claimedSigningTime = parsePdfDate(txt('M'));
    // The crypto depends only on the signature value and the range it covers; whether this field may
    // claim them is the ByteRange check above.
    const br = s.byteRange;
    const hashable = br.length === 4 && br.every((x) => Number.isInteger(x) && x >= 0) && br[0] === 0 && br[1] < br[2] && br[2] + br[3] <= pdf.length;
    const key = `${s.kind}:${crypto.createHash('sha256').update(s.contents).digest('hex')}:${br.join(',')}:${!!claimedSigningTime}`;
    let c = crypto_.get(key);
    if (!c) {
      c = isDts ? validateDocTimestamp(ctx, s, hashable) : validateCmsSignature(ctx, s, hashable, !!claimedSigningTime);
      crypto_.set(key, c);
    }
    if (!brOk) c = { ...c, integrity: check(false, 'unchecked.byte_range'), signature: check(false, 'unchecked.byte_range') };
    const rep: SignatureReport = {
      index: i + 1,
      fieldName: s.fieldName,
      kind: s.kind,
      subFilter: s.subFilter,
      signer: c.signer ? summarize(c.signer) : undefined,
      claimedSigningTime,
      timestampTime: c.timestampTime,
      reason: txt('Reason'),
      name: txt('Name'),
      location: txt('Location'),
      byteRange: s.byteRange,
      coversWholeFile: brOk && ws(pdf, end),
      checks: {
        byteRange,
        integrity: c.integrity,
        signature: c.signature,
        certificate: c.certificate,
        ...(c.timestamp ? { timestamp: c.timestamp } : {}),
        ...(isDts ? {} : { revocation: c.revocation ?? notChecked() }),
        modifications: notChecked(),
        ...(c.pades ? { pades: c.pades } : {}),
      },
      level: null,
      valid: false,
      problems: [],
      changesAfter: [],
      changeCodes: [],
      locked: false,
    };
    reports.push(rep);

    if (brOk) {
      const locked = !isDts && declaredPermissions(doc, s, doc.viewBefore(end)).p === 1;
      rep.locked = locked;
      const mk = `${end}:${locked}`;
      let a = changes.get(mk);
      if (!a) {
        a = analyseChanges(doc, end, locked);
        changes.set(mk, a);
      }
      const bad = [...a.bad];
      const laterRevision = doc.sections.some((sec) => sec.offset >= end);
      if (!laterRevision && !rep.coversWholeFile) bad.push({ code: 'change.unowned_data' });
      if (laterRevision && lastEof >= 0 && !ws(pdf, lastEof + 5)) bad.push({ code: 'change.trailing_data' });
      for (const k of ['dss', 'doc_timestamp', 'signature'] as const) if (a.kinds.has(k)) rep.changeCodes.push({ code: `change.${k}` });
      rep.changesAfter = rep.changeCodes.map((x) => render('ja', x));
      rep.checks.modifications = bad.length
        ? check(false, locked ? 'mod.disallowed_locked' : 'mod.disallowed', undefined, bad)
        : rep.changeCodes.length
          ? check(true, 'mod.allowed', undefined, rep.changeCodes)
          : check(true, 'mod.none');
    } else rep.checks.modifications = check(false, 'mod.unchecked');

    const core = [rep.checks.byteRange, rep.checks.integrity, rep.checks.signature, rep.checks.certificate, rep.checks.modifications];
    // BER where DER is required makes strict validators reject the whole file, wherever it is.
    const ber = Object.values(rep.checks).some((x) => x && [x, ...(x.details ?? [])].some((i) => i.code === 'ts.not_der' || i.code === 'cms.not_der'));
    rep.valid = core.every((x) => x.ok) && rep.checks.revocation?.code !== 'rev.revoked' && !ber;
    for (const x of Object.values(rep.checks)) if (x && !x.ok && !rep.problems.includes(x.message)) rep.problems.push(x.message);
    if (isDts) dtsInfo.push({ end, valid: rep.valid });
    padesOk.set(rep, rep.checks.pades?.ok ?? false);
  });

  // Levels (B-T by the signature time-stamp or a later document time-stamp; B-LT with a DSS after the
  // signature; B-LTA with a document time-stamp after that DSS).
  for (const rep of reports) {
    if (rep.kind !== 'signature' || !rep.valid || !padesOk.get(rep)) continue;
    const end = rep.byteRange ? rep.byteRange[2] + rep.byteRange[3] : 0;
    const dtsAfter = dtsInfo.filter((d) => d.valid && d.end > end);
    let level: PadesLevel = 'B-B';
    if (rep.checks.timestamp?.ok || dtsAfter.length) level = 'B-T';
    if (level === 'B-T' && rep.checks.revocation?.ok && dss && dss.offset > end) level = 'B-LT';
    if (level === 'B-LT' && dss && dtsAfter.some((d) => d.end > dss.offset)) level = 'B-LTA';
    rep.level = level;
  }

  const problems: string[] = [];
  for (const rep of reports) {
    if (rep.valid) continue;
    problems.push(
      t('ja', 'verify.code.report.problem', {
        kind: t('ja', rep.kind === 'signature' ? 'verify.code.report.kind.signature' : 'verify.code.report.kind.timestamp'),
        index: rep.index,
        field: rep.fieldName,
        problem: rep.problems[0] ?? '',
      }),
    );
  }
  if (!reports[reports.length - 1].coversWholeFile && !problems.length) problems.push(render('ja', { code: 'report.data_after_newest' }));
  const valid = reports.every((r) => r.valid);
  const seal = reports.filter((r) => r.kind === 'signature').pop();
  const level = seal?.level ?? null;
  const summaryCode: Issue = !valid ? { code: 'report.invalid' } : level ? { code: 'report.valid_level', params: { level } } : { code: 'report.valid' };
  return { ...base, valid, summary: render('ja', summaryCode), summaryCode, level, signatures: reports, problems };
}

