/** GET /pki/tsa.crt — the built-in TSA's certificate (DER). */
import { binaryResponse } from '@/lib/tsa';
import { getDevTsaKey } from '@/lib/pki';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  return binaryResponse((await getDevTsaKey()).certificate, 'application/pkix-cert', {
    'content-disposition': 'attachment; filename="tachiai-sign-tsa.crt"',
    'cache-control': 'public, max-age=3600',
  });
}
