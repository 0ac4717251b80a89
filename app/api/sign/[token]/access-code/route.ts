import { NextResponse } from 'next/server';
import { z } from 'zod';
import { getPrisma } from '@/lib/db';
import { verifyAccessCode } from '@/lib/envelopes';
import { errorResponse, forbiddenOrigin, readJson, requestContext, sameOrigin, signerSession, withSession } from '../../_shared';

const body = z.object({ code: z.string().max(200) });

export async function POST(req: Request, { params }: { params: Promise<{ token: string }> }) {
  if (!sameOrigin(req)) return forbiddenOrigin();
  const { token } = await params;
  try {
    const parsed = body.safeParse(await readJson(req));
    const r = await verifyAccessCode(getPrisma(), token, parsed.success ? parsed.data.code : '', {
      ...requestContext(req),
      session: await signerSession(),
    });
    return withSession(NextResponse.json({ ok: true }), r.session);
  } catch (e) {
    return errorResponse(e);
  }
}
