import { NextResponse } from 'next/server';
import { cookies } from 'next/headers';
import { logout, SESSION_COOKIE } from '@/lib/auth';
import { clientIpFrom, getDb, sameOrigin } from '../_lib/server';

/** POST /logout: delete the session server-side, clear the cookie, back to /login. */
export async function POST(req: Request) {
  if (!sameOrigin(req)) return new NextResponse('Forbidden', { status: 403 });
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  await logout(getDb(), token, { ip: clientIpFrom(req.headers), userAgent: req.headers.get('user-agent') });
  const res = new NextResponse(null, { status: 303, headers: { Location: '/login?reason=logout' } });
  res.cookies.delete(SESSION_COOKIE);
  return res;
}
