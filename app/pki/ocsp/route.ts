/** POST /pki/ocsp — OCSP responder of the dev root (RFC 6960, application/ocsp-request). */
import { z } from 'zod';
import { binaryResponse, mediaType, readBodyLimited, textResponse } from '@/lib/tsa';
import { respondOcsp } from '@/lib/pki';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const contentType = z.literal('application/ocsp-request');

export async function POST(req: Request): Promise<Response> {
  if (!contentType.safeParse(mediaType(req)).success) return textResponse(415, 'expected application/ocsp-request');
  const body = await readBodyLimited(req, 16 * 1024);
  if (!body) return textResponse(413, 'request too large');
  return binaryResponse(await respondOcsp(body), 'application/ocsp-response', { 'cache-control': 'no-store' });
}
