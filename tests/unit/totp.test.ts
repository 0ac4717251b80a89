/** TOTP (RFC 6238) against the RFC's Appendix B test vectors, plus base32 and the ±1-step/replay window. */
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, matchTotp, normalizeTotpCode, otpauthUri, timeStep, totp } from '../../lib/auth/totp';

const RFC_SECRET = Buffer.from('12345678901234567890', 'ascii');
// RFC 6238 Appendix B, SHA-1 column (8 digits).
const VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238, SHA-1)', () => {
  it.each(VECTORS)('t=%i gives %s with 8 digits, and our 6-digit code is its last 6 digits', (seconds, eight) => {
    expect(totp(RFC_SECRET, seconds * 1000, 8)).toBe(eight);
    expect(totp(RFC_SECRET, seconds * 1000)).toBe(eight.slice(-6));
    expect(totp(RFC_SECRET, new Date(seconds * 1000))).toBe(eight.slice(-6));
  });

  it('matches RFC 4226 Appendix D HOTP values', () => {
    const d = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    d.forEach((v, i) => expect(hotp(RFC_SECRET, i)).toBe(v));
  });

  it('accepts ±1 step only, and refuses steps at or before the last used one (replay)', () => {
    const at = 1111111111 * 1000;
    const now = timeStep(at);
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at), at)).toBe(now);
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at - 30_000), at)).toBe(now - 1);
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at + 30_000), at)).toBe(now + 1);
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at - 60_000), at)).toBeNull();
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at + 60_000), at)).toBeNull();
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at), at, now)).toBeNull();
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at - 30_000), at, now - 1)).toBeNull();
    expect(matchTotp(RFC_SECRET, totp(RFC_SECRET, at + 30_000), at, now)).toBe(now + 1);
  });

  it('base32 round-trips (RFC 4648 vectors) and the otpauth URI carries the parameters', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Encode(Buffer.from('f'))).toBe('MY');
    expect(base32Decode('mzxw 6ytb oi======').toString()).toBe('foobar');
    expect(base32Decode(base32Encode(RFC_SECRET)).equals(RFC_SECRET)).toBe(true);
    expect(base32Encode(RFC_SECRET)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(() => base32Decode('ABC1')).toThrow();
    const u = new URL(otpauthUri('GEZDGNBV', 'staff@city.example', 'Tachiai Sign'));
    expect(u.protocol).toBe('otpauth:');
    expect(u.searchParams.get('secret')).toBe('GEZDGNBV');
    expect(u.searchParams.get('digits')).toBe('6');
    expect(u.searchParams.get('period')).toBe('30');
    expect(u.searchParams.get('algorithm')).toBe('SHA1');
  });

  it('normalises typed codes (full-width digits, spaces) and refuses anything else', () => {
    expect(normalizeTotpCode('１２３ ４５６')).toBe('123456');
    expect(normalizeTotpCode('123-456')).toBe('123456');
    expect(normalizeTotpCode('12345')).toBeNull();
    expect(normalizeTotpCode('1234567')).toBeNull();
    expect(normalizeTotpCode('abcdef')).toBeNull();
    expect(normalizeTotpCode(null)).toBeNull();
  });
});
