/** POST /api/tsa — the built-in RFC 3161 TSA (application/timestamp-query → application/timestamp-reply). */
import { z } from 'zod';
import { binaryResponse, createTimestampResponse, mediaType, readBodyLimited, textResponse, TSA_MAX_REQUEST_BYTES } from '@/lib/tsa';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const contentType = z.literal('application/timestamp-query');

export async function POST(req: Request): Promise<Response> {
  if (!contentType.safeParse(mediaType(req)).success) return textResponse(415, 'expected application/timestamp-query');
  const body = await readBodyLimited(req, TSA_MAX_REQUEST_BYTES);
  if (!body) return textResponse(413, 'request too large');
  const reply = await createTimestampResponse(body);
  return binaryResponse(reply, 'application/timestamp-reply', { 'cache-control': 'no-store' });
}

export function GET(): Response {
  return textResponse(405, 'POST application/timestamp-query');
}
