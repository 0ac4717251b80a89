/** GET /pki/ocsp/{base64 DER OCSPRequest} — the GET form of the OCSP responder (RFC 6960 A.1). */
import { z } from 'zod';
import { binaryResponse, textResponse } from '@/lib/tsa';
import { respondOcsp } from '@/lib/pki';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const param = z.string().min(1).max(4096).regex(/^[A-Za-z0-9+/=_-]+$/);

export async function GET(_req: Request, ctx: { params: Promise<{ request: string[] }> }): Promise<Response> {
  // base64 may contain '/', which splits into several segments
  let joined: string;
  try {
    joined = (await ctx.params).request.map(decodeURIComponent).join('/');
  } catch {
    return textResponse(400, 'malformed request');
  }
  const parsed = param.safeParse(joined);
  if (!parsed.success) return textResponse(400, 'malformed request');
  const b64 = parsed.data.replace(/-/g, '+').replace(/_/g, '/');
  const der = new Uint8Array(Buffer.from(b64, 'base64'));
  return binaryResponse(await respondOcsp(der), 'application/ocsp-response', { 'cache-control': 'public, max-age=300' });
}
