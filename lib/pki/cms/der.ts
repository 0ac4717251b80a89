/**
 * A small DER reader/writer for the CMS structures we build and check (see docs/pades.md, "DER").
 * Writing: `tlv(tag, ...parts)` and a few primitives, always definite minimal lengths. Reading:
 * `readTlv` / `children` walk an encoding without copying; BER forms (indefinite lengths,
 * constructed strings) are read so that they can be reported, and `derViolations` names every
 * place where an encoding is not DER. Tested against asn1crypto's strict DER parser/encoder.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  generalizedTime: 0x18,
  utcTime: 0x17,
  ctx0: 0xa0,
  ctx1: 0xa1,
  ctx3: 0xa3,
} as const;

export class DerError extends Error {}

// ------------------------------------------------------------------------------------------- write

export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single identifier octet around the concatenated parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** DER SET OF: the elements sorted by their encodings. */
export function setOf(elements: Uint8Array[], tag: number = TAG.set): Buffer {
  return tlv(tag, ...[...elements].map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength)).sort(Buffer.compare));
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => BigInt(p));
  const out: number[] = [];
  const push = (v: bigint) => {
    const bytes: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) bytes.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...bytes);
  };
  push(parts[0] * 40n + parts[1]);
  for (const p of parts.slice(2)) push(p);
  return tlv(TAG.oid, Buffer.from(out));
}

/** INTEGER from unsigned big-endian bytes (minimal: leading zeros dropped, 0x00 added when the top bit is set). */
export function uint(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = Buffer.from(bytes.subarray(i));
  return tlv(TAG.integer, v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

export function smallInt(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  return uint(Uint8Array.from(bytes));
}

export const octets = (b: Uint8Array) => tlv(TAG.octetString, b);
export const DER_NULL = Buffer.from([0x05, 0x00]);
export const DER_TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** GeneralizedTime in whole seconds, 'Z' (DER). */
export function generalizedTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  return tlv(TAG.generalizedTime, Buffer.from(s, 'latin1'));
}

export function algorithmIdentifier(algOid: string, nullParams = false): Buffer {
  return nullParams ? tlv(TAG.sequence, oid(algOid), DER_NULL) : tlv(TAG.sequence, oid(algOid));
}

// -------------------------------------------------------------------------------------------- read

export interface Tlv {
  /** The first identifier octet (class + constructed bit + low tag number). */
  tag: number;
  tagClass: number;
  constructed: boolean;
  tagNumber: number;
  /** Offsets in `buf`: TLV start, contents start, contents end, TLV end. */
  start: number;
  contentStart: number;
  contentEnd: number;
  end: number;
  indefinite: boolean;
  /** The length octets were not the minimal DER form. */
  longLength: boolean;
  buf: Uint8Array;
}

export function readTlv(buf: Uint8Array, off = 0, limit = buf.length): Tlv {
  if (off + 2 > limit) throw new DerError(`truncated TLV at ${off}`);
  const tag = buf[off];
  let p = off + 1;
  let tagNumber = tag & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (;;) {
      if (p >= limit) throw new DerError('truncated tag');
      const b = buf[p++];
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (p >= limit) throw new DerError('truncated length');
  const l0 = buf[p++];
  let len = 0;
  let indefinite = false;
  let longLength = false;
  if (l0 < 0x80) len = l0;
  else if (l0 === 0x80) indefinite = true;
  else {
    const n = l0 & 0x7f;
    if (n > 6 || p + n > limit) throw new DerError(`bad length at ${off}`);
    if (buf[p] === 0) longLength = true;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
    if (len < 0x80) longLength = true;
  }
  const constructed = (tag & 0x20) !== 0;
  const contentStart = p;
  let contentEnd: number;
  let end: number;
  if (indefinite) {
    if (!constructed) throw new DerError('indefinite length on a primitive');
    let q = contentStart;
    for (;;) {
      if (q + 2 > limit) throw new DerError('unterminated indefinite length');
      if (buf[q] === 0 && buf[q + 1] === 0) break;
      q = readTlv(buf, q, limit).end;
    }
    contentEnd = q;
    end = q + 2;
  } else {
    contentEnd = contentStart + len;
    end = contentEnd;
    if (end > limit) throw new DerError(`length beyond the data at ${off}`);
  }
  return { tag, tagClass: tag >> 6, constructed, tagNumber, start: off, contentStart, contentEnd, end, indefinite, longLength, buf };
}

export function children(t: Tlv): Tlv[] {
  if (!t.constructed) return [];
  const out: Tlv[] = [];
  for (let p = t.contentStart; p < t.contentEnd; ) {
    const c = readTlv(t.buf, p, t.contentEnd);
    out.push(c);
    p = c.end;
  }
  return out;
}

export const bytesOf = (t: Tlv): Uint8Array => t.buf.subarray(t.start, t.end);
export const contentOf = (t: Tlv): Uint8Array => t.buf.subarray(t.contentStart, t.contentEnd);

/** The value of a (possibly BER-constructed) OCTET STRING. */
export function octetValue(t: Tlv): Uint8Array {
  if (!t.constructed) return contentOf(t);
  return Buffer.concat(children(t).map(octetValue));
}

export function readOid(t: Tlv): string {
  const b = contentOf(t);
  const out: bigint[] = [];
  let v = 0n;
  for (const x of b) {
    v = (v << 7n) | BigInt(x & 0x7f);
    if (!(x & 0x80)) {
      out.push(v);
      v = 0n;
    }
  }
  if (!out.length) throw new DerError('empty OID');
  const first = out[0] < 80n ? out[0] / 40n : 2n;
  return [first, out[0] - first * 40n, ...out.slice(1)].join('.');
}

export function readTime(t: Tlv): Date {
  const s = Buffer.from(contentOf(t)).toString('latin1');
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{4})?$/.exec(s);
  if (!m) throw new DerError(`bad time ${s}`);
  let y = Number(m[1]);
  if (m[1].length === 2) y += y >= 50 ? 1900 : 2000;
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  let d = Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), ms);
  if (m[8] && m[8] !== 'Z') d -= (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(3))) * 60_000;
  return new Date(d);
}

/** Unsigned big-endian hex of an INTEGER's value (leading zero octets dropped). */
export function intHex(t: Tlv): string {
  const b = contentOf(t);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return Buffer.from(b.subarray(i)).toString('hex');
}

/** Parse exactly one TLV; trailing zero bytes (the padding of a PDF /Contents) are allowed when `padded`. */
export function parseOne(buf: Uint8Array, padded = false): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length && !(padded && buf.subarray(t.end).every((b) => b === 0))) throw new DerError('data after the ASN.1 object');
  return t;
}

// ----------------------------------------------------------------------------- DER conformance

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Universal types whose DER encoding is always primitive. */
const PRIMITIVE_ONLY = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1e]);

/**
 * Every place where `t` (walked recursively) is not DER: indefinite or non-minimal lengths,
 * constructed strings, BOOLEAN other than 00/FF, non-minimal INTEGERs, unsorted SET OF, times
 * without seconds or 'Z'. `setOfTags` lists extra tags (e.g. IMPLICIT [0] SET OF) to check for order.
 */
export function derViolations(t: Tlv, setOfTags: number[] = [], max = 8): string[] {
  const out: string[] = [];
  const visit = (x: Tlv) => {
    if (out.length >= max) return;
    const at = `offset ${x.start}`;
    if (x.indefinite) out.push(`indefinite length (${at})`);
    if (x.longLength) out.push(`non-minimal length (${at})`);
    const universal = x.tagClass === 0;
    if (universal && x.constructed && PRIMITIVE_ONLY.has(x.tagNumber)) {
      out.push(`${x.tagNumber === 4 ? 'constructed OCTET STRING' : `constructed string type ${x.tagNumber}`} (${at})`);
      return;
    }
    if (universal && x.tagNumber === 1 && !(x.contentEnd - x.contentStart === 1 && (x.buf[x.contentStart] === 0 || x.buf[x.contentStart] === 0xff)))
      out.push(`BOOLEAN not 00/FF (${at})`);
    if (universal && (x.tagNumber === 2 || x.tagNumber === 10)) {
      const c = contentOf(x);
      if (c.length === 0 || (c.length > 1 && ((c[0] === 0 && !(c[1] & 0x80)) || (c[0] === 0xff && c[1] & 0x80)))) out.push(`non-minimal INTEGER (${at})`);
    }
    if (universal && (x.tagNumber === 23 || x.tagNumber === 24)) {
      const s = Buffer.from(contentOf(x)).toString('latin1');
      if (!(x.tagNumber === 23 ? /^\d{12}Z$/ : /^\d{14}(\.\d*[1-9])?Z$/).test(s)) out.push(`time not in DER form (${at})`);
    }
    if (!x.constructed) return;
    const kids = children(x);
    if ((universal && x.tagNumber === 17) || setOfTags.includes(x.tag)) {
      for (let i = 1; i < kids.length; i++) {
        if (compareBytes(bytesOf(kids[i - 1]), bytesOf(kids[i])) > 0) {
          out.push(`SET OF not sorted (${at})`);
          break;
        }
      }
    }
    for (const k of kids) visit(k);
  };
  visit(t);
  return out;
}

function identifier(t: Tlv): Uint8Array {
  let p = t.start + 1;
  if ((t.tag & 0x1f) === 0x1f) while (t.buf[p++] & 0x80);
  return t.buf.subarray(t.start, p);
}

/**
 * Re-encodes a BER encoding as DER: definite minimal lengths, constructed strings joined into
 * primitive ones, SET (universal 17) elements sorted. Idempotent on DER input. Used on time-stamp
 * tokens from external TSAs: their signature covers the TSTInfo's value and the DER of the signed
 * attributes, not the outer encoding, so normalising keeps the token valid.
 */
export function toDer(t: Tlv): Buffer {
  const id = identifier(t);
  if (!t.constructed) return Buffer.concat([id, derLength(t.contentEnd - t.contentStart), contentOf(t)]);
  if (t.tagClass === 0 && PRIMITIVE_ONLY.has(t.tagNumber)) {
    const v = octetValue(t);
    return Buffer.concat([Buffer.from([t.tag & ~0x20]), derLength(v.length), v]);
  }
  let kids = children(t).map(toDer);
  if (t.tagClass === 0 && t.tagNumber === 17) kids = kids.sort(Buffer.compare);
  const body = Buffer.concat(kids);
  return Buffer.concat([id, derLength(body.length), body]);
}
