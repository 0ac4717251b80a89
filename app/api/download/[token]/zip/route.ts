import { getPrisma } from '@/lib/db';
import { openDownloadZip } from '@/lib/envelopes';
import { errorResponse, fileResponse, requestContext } from '../../_shared';

export async function GET(req: Request, { params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  try {
    return fileResponse(await openDownloadZip(getPrisma(), token, requestContext(req)));
  } catch (e) {
    return errorResponse(e);
  }
}
