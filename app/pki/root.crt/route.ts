/** GET /pki/root.crt — the dev root CA certificate (DER), the AIA caIssuers target. */
import { binaryResponse } from '@/lib/tsa';
import { getRootCertificate } from '@/lib/pki';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  return binaryResponse(await getRootCertificate(), 'application/pkix-cert', {
    'content-disposition': 'attachment; filename="tachiai-sign-root.crt"',
    'cache-control': 'public, max-age=3600',
  });
}
