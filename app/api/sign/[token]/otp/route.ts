import { NextResponse } from 'next/server';
import { z } from 'zod';
import { getPrisma } from '@/lib/db';
import { sendSigningOtp, verifySigningOtp } from '@/lib/envelopes';
import { errorResponse, forbiddenOrigin, readJson, requestContext, sameOrigin, signerSession, withSession } from '../../_shared';

const body = z.discriminatedUnion('action', [
  z.object({ action: z.literal('send') }),
  z.object({ action: z.literal('verify'), code: z.string().max(20) }),
]);

export async function POST(req: Request, { params }: { params: Promise<{ token: string }> }) {
  if (!sameOrigin(req)) return forbiddenOrigin();
  const { token } = await params;
  try {
    const parsed = body.safeParse(await readJson(req));
    if (!parsed.success) return NextResponse.json({ error: { code: 'validation', message: '入力が正しくありません。' } }, { status: 400 });
    const ctx = { ...requestContext(req), session: await signerSession() };
    if (parsed.data.action === 'send') {
      const r = await sendSigningOtp(getPrisma(), token, ctx);
      return NextResponse.json({ ok: true, sentTo: r.sentTo });
    }
    const r = await verifySigningOtp(getPrisma(), token, parsed.data.code, ctx);
    return withSession(NextResponse.json({ ok: true }), r.session);
  } catch (e) {
    return errorResponse(e);
  }
}
