/** HTTP helpers: the thin adapters (Next.js route handlers) of the TSA and PKI endpoints, and the TSA client's POST. */
import http from 'node:http';
import https from 'node:https';

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

// ------------------------------------------------------------------------------------- client side

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

export interface PostResult {
  status: number;
  contentType: string;
  body: Uint8Array;
}

export class HttpTimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * POST `body` over node:http(s) with a keep-alive connection and TCP_NODELAY (a time-stamp round trip on
 * loopback is then about one TSA signature; fetch() added tens of milliseconds). Reads at most
 * `maxBytes` of the answer; the whole exchange is bounded by `timeoutMs`.
 */
export function postBinary(url: string, body: Uint8Array, headers: Record<string, string>, timeoutMs: number, maxBytes = 1024 * 1024): Promise<PostResult> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, {
      method: 'POST',
      agent: u.protocol === 'https:' ? agents.https : agents.http,
      headers: { ...headers, 'content-length': String(body.byteLength) },
    });
    const timer = setTimeout(() => req.destroy(new HttpTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('socket', (s) => s.setNoDelay(true));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) req.destroy(new Error('answer too large'));
        else parts.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase(),
          body: new Uint8Array(Buffer.concat(parts)),
        });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}
