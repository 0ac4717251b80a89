/**
 * The development mailbox (/dev/mail) answers only to this machine. The runner (scripts/dev.ts)
 * checks the TCP peer of each request itself — not a header a client or proxy could write — and passes
 * it to the pages in `x-tachiai-peer` after discarding any value the client sent.
 */
import net from 'node:net';

/** Request header the runner sets to the socket's remote address (client-sent values are dropped). */
export const PEER_HEADER = 'x-tachiai-peer';

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z). Anything else, or nothing, is not. */
export function isLoopbackAddress(addr: string | null | undefined): boolean {
  if (!addr) return false;
  const a = addr.trim().replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return net.isIPv4(mapped[1]) && loopback.check(mapped[1], 'ipv4');
  if (net.isIPv4(a)) return loopback.check(a, 'ipv4');
  if (net.isIPv6(a)) return loopback.check(a, 'ipv6');
  return false;
}

/** Paths of the development-only pages (/dev and below). */
export function isDevPath(pathname: string): boolean {
  let p: string;
  try {
    p = decodeURIComponent(pathname.split('?')[0]);
  } catch {
    p = pathname;
  }
  return /^\/+dev(\/|$)/i.test(p.replace(/\\/g, '/'));
}

/** Whether the runner lets a request reach a development-only page: never in production, else only from loopback. */
export function devPageAllowed(opts: { production: boolean; peer: string | null | undefined }): boolean {
  return !opts.production && isLoopbackAddress(opts.peer);
}
