/**
 * TOTP (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30-second steps, accepted within ±1 step.
 * Pure functions (node:crypto only); storage, replay protection and attempt limits live in mfa.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** Accepted clock drift in steps either side of the current one. */
export const TOTP_WINDOW = 1;

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (the form authenticator apps expect). */
export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (case-insensitive, spaces and padding ignored); throws on other characters. */
export function base32Decode(s: string): Buffer {
  const clean = s.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error('invalid base32');
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new 160-bit secret (RFC 4226 §4 recommends 160 bits for SHA-1). */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

/** The time-step number T = floor(unixSeconds / 30). */
export function timeStep(at: Date | number): number {
  const ms = typeof at === 'number' ? at : at.getTime();
  return Math.floor(ms / 1000 / TOTP_PERIOD_SECONDS);
}

/** HOTP value for a counter, `digits` long (RFC 4226 §5.3 dynamic truncation). */
export function hotp(secret: Buffer, counter: number, digits = TOTP_DIGITS): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', secret).update(msg).digest();
  const off = h[h.length - 1] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The TOTP code at a time. */
export function totp(secret: Buffer, at: Date | number, digits = TOTP_DIGITS): string {
  return hotp(secret, timeStep(at), digits);
}

/** Normalises user input: full-width digits → ASCII, spaces/hyphens removed. Null unless exactly 6 digits. */
export function normalizeTotpCode(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  const s = input.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[\s\-‐－]/g, '');
  return /^\d{6}$/.test(s) ? s : null;
}

/**
 * The time-step the code matches within ±TOTP_WINDOW of `at`, only among steps after `afterStep`
 * (the last step already used: replay protection). Null when none matches.
 */
export function matchTotp(secret: Buffer, code: string, at: Date | number, afterStep: number | null = null): number | null {
  const want = Buffer.from(code);
  const now = timeStep(at);
  let found: number | null = null;
  for (let step = now - TOTP_WINDOW; step <= now + TOTP_WINDOW; step++) {
    const got = Buffer.from(hotp(secret, step));
    // Constant-time compare; check every step so timing does not reveal which one matched.
    if (got.length === want.length && timingSafeEqual(got, want) && (afterStep === null || step > afterStep) && found === null) {
      found = step;
    }
  }
  return found;
}

/** otpauth:// URI (Key Uri Format) for authenticator apps. */
export function otpauthUri(secretBase32: string, account: string, issuer: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const q = new URLSearchParams({
    secret: secretBase32,
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  });
  return `otpauth://totp/${label}?${q.toString()}`;
}
