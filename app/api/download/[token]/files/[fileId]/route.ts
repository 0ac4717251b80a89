import { getPrisma } from '@/lib/db';
import { openDownloadFile } from '@/lib/envelopes';
import { errorResponse, fileResponse, requestContext } from '../../../_shared';

export async function GET(req: Request, { params }: { params: Promise<{ token: string; fileId: string }> }) {
  const { token, fileId } = await params;
  try {
    const inline = new URL(req.url).searchParams.get('inline') === '1';
    return fileResponse(await openDownloadFile(getPrisma(), token, fileId, requestContext(req)), inline ? 'inline' : 'attachment');
  } catch (e) {
    return errorResponse(e);
  }
}
