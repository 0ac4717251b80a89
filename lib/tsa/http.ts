/** Helpers for the thin HTTP adapters (Next.js route handlers) of the TSA and PKI endpoints. */

/** Read a web `Request` body up to `limit` bytes; undefined when larger (without buffering the excess). */
export async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > limit) return undefined;
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

export function mediaType(req: Request): string {
  return (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

export function binaryResponse(body: Uint8Array, contentType: string, extra: Record<string, string> = {}): Response {
  const copy = new Uint8Array(new ArrayBuffer(body.byteLength));
  copy.set(body);
  return new Response(copy, {
    status: 200,
    headers: { 'content-type': contentType, 'content-length': String(body.byteLength), ...extra },
  });
}

export function textResponse(status: number, text: string): Response {
  return new Response(`${text}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}
