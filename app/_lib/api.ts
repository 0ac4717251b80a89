/** Helpers for route handlers: staff from the cookie, JSON errors (Japanese messages, never stacks). */
import { cookies } from 'next/headers';
import { NextResponse } from 'next/server';
import type { RequestContext } from '@/lib/audit';
import { getSessionActor, SESSION_COOKIE, type StaffActor } from '@/lib/auth';
import { AppError, isAppError } from '@/lib/errors';
import { readBodyLimited } from '@/lib/tsa';
import { clientIpFrom, getDb, MFA_SETUP_REQUIRED_MESSAGE } from './server';

export function contextOf(req: Request): RequestContext {
  return { ip: clientIpFrom(req.headers), userAgent: req.headers.get('user-agent')?.slice(0, 512) ?? null };
}

/** The staff member, or an AppError('unauthorized'); 'forbidden' while the organisation requires MFA they lack. */
export async function staffFromRequest(req: Request): Promise<StaffActor> {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  const r = await getSessionActor(getDb(), token, contextOf(req));
  if (r.status === 'ok' && r.mfaSetupRequired) throw new AppError('forbidden', MFA_SETUP_REQUIRED_MESSAGE);
  if (r.status === 'ok') return r.actor;
  if (r.status === 'ip_denied') throw new AppError('forbidden', 'この接続元（IPアドレス）からは利用できません。');
  throw new AppError('unauthorized', 'ログインしてください。');
}

export function errorResponse(e: unknown): NextResponse {
  if (isAppError(e)) return NextResponse.json(e.toJSON(), { status: e.httpStatus });
  console.error('[api] unexpected error', e instanceof Error ? e.message : e);
  return NextResponse.json({ error: { code: 'internal', message: 'エラーが発生しました。時間をおいて再度お試しください。' } }, { status: 500 });
}

/**
 * The request body, refusing it at `limit` bytes while it streams in (a chunked upload has no
 * Content-Length to check first). Throws `tooLarge()` over the limit.
 */
export async function readBodyWithin(req: Request, limit: number, tooLarge: () => AppError): Promise<Uint8Array> {
  const body = await readBodyLimited(req, limit);
  if (!body) throw tooLarge();
  return body;
}

/** multipart/form-data (or urlencoded) parsed from a body read within `limit` bytes. */
export async function formDataWithin(req: Request, limit: number, tooLarge: () => AppError): Promise<FormData> {
  const body = await readBodyWithin(req, limit, tooLarge);
  return new Response(new Blob([body as Uint8Array<ArrayBuffer>]), { headers: { 'content-type': req.headers.get('content-type') ?? '' } }).formData();
}
