/** GET /api/health — liveness + database reachability (for load balancers and docker healthchecks). */
import { NextResponse } from 'next/server';
import { getDb } from '../../_lib/server';

export const dynamic = 'force-dynamic';

export async function GET() {
  try {
    await getDb().$queryRaw`SELECT 1`;
    return NextResponse.json({ status: 'ok' });
  } catch {
    return NextResponse.json({ status: 'error', database: 'unreachable' }, { status: 503 });
  }
}
