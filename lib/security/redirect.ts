/**
 * A redirect target that stays on this site: a path (with query) on our own origin, or `fallback`.
 * Browsers drop TAB/CR/LF inside URLs and read "\" as "/", so "/\t/evil.example" or "/\\evil.example"
 * would leave the site; the value is resolved the way a browser does and kept only when its origin is
 * still ours.
 */
export function safeLocalPath(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 2048) return fallback;
  const base = 'http://tachiai.invalid';
  try {
    const u = new URL(value, base);
    if (u.origin !== base) return fallback;
    const path = u.pathname + u.search + u.hash;
    return path.startsWith('//') || path.startsWith('/\\') ? fallback : path;
  } catch {
    return fallback;
  }
}
