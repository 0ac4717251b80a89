/**
 * Content-Disposition for a download (RFC 6266): an ASCII `filename` fallback and the exact name in
 * `filename*` (RFC 8187: UTF-8, percent-encoded — encodeURIComponent leaves ' ( ) * and ! unencoded,
 * which RFC 8187's attr-char does not allow for ' ( ) *). Control characters never reach the header.
 */
export function contentDisposition(disposition: 'attachment' | 'inline', fileName: string, asciiFallback?: string): string {
  const clean = fileName.replace(/[\u0000-\u001f\u007f]/g, '');
  const fallback = (asciiFallback ?? clean).replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_') || 'download';
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
