/** IP allowlist: organizations.ip_allowlist holds CIDRs (IPv4 or IPv6); an empty list allows everyone. */
import net from 'node:net';

function normalizeIp(ip: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  let a = ip.trim();
  if (a.startsWith('[') && a.includes(']')) a = a.slice(1, a.indexOf(']'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1];
  const v = net.isIP(a);
  if (v === 4) return { address: a, family: 'ipv4' };
  if (v === 6) return { address: a, family: 'ipv6' };
  return null;
}

/** Parse "192.0.2.0/24", "2001:db8::/32" or a single address. Returns null when invalid. */
export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const parts = cidr.trim().split('/');
  if (parts.length > 2) return null;
  const [addr, bits] = parts;
  const n = normalizeIp(addr ?? '');
  if (!n) return null;
  const max = n.family === 'ipv4' ? 32 : 128;
  // Decimal digits only: Number('') is 0 (a trailing "/" would allow everyone), Number('0x8') is 8.
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { ...n, prefix };
}

export function ipAllowed(ip: string | null | undefined, allowlist: readonly string[]): boolean {
  if (allowlist.length === 0) return true;
  if (!ip) return false;
  const n = normalizeIp(ip);
  if (!n) return false;
  const list = new net.BlockList();
  for (const c of allowlist) {
    const p = parseCidr(c);
    if (p) list.addSubnet(p.address, p.prefix, p.family);
  }
  return list.check(n.address, n.family);
}
