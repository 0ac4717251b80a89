/** GET /pki/crl — the dev root's CRL (DER), the CRL distribution point of every dev certificate. */
import { binaryResponse } from '@/lib/tsa';
import { getCrl } from '@/lib/pki';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  return binaryResponse(await getCrl(), 'application/pkix-crl', { 'cache-control': 'public, max-age=600' });
}
