/** Reads the mail catcher's .eml files for the /dev/mail inbox. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';

export interface CaughtMailSummary {
  id: string;
  subject: string;
  from: string;
  to: string;
  date: Date | null;
}

export interface CaughtMail extends CaughtMailSummary {
  text: string;
  html: string | null;
}

const ID = /^\d{14}-[0-9a-f]{8}$/;

export function mailDir(dataDir: string): string {
  return path.join(dataDir, 'mail');
}

const addr = (a: AddressObject | AddressObject[] | undefined) =>
  a === undefined ? '' : (Array.isArray(a) ? a : [a]).map((x) => x.text).join(', ');

async function parse(dir: string, id: string): Promise<CaughtMail> {
  const m = await simpleParser(await readFile(path.join(dir, `${id}.eml`)));
  return {
    id,
    subject: m.subject ?? '',
    from: addr(m.from),
    to: addr(m.to),
    date: m.date ?? null,
    text: m.text ?? '',
    html: typeof m.html === 'string' ? m.html : null,
  };
}

/** Newest first. */
export async function listCaughtMail(dir: string, limit = 200): Promise<CaughtMailSummary[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const ids = names
    .filter((n) => n.endsWith('.eml'))
    .map((n) => n.slice(0, -4))
    .filter((id) => ID.test(id))
    .sort()
    .reverse()
    .slice(0, limit);
  const out: CaughtMailSummary[] = [];
  for (const id of ids) {
    const { text: _t, html: _h, ...summary } = await parse(dir, id);
    out.push(summary);
  }
  return out;
}

export async function getCaughtMail(dir: string, id: string): Promise<CaughtMail | null> {
  if (!ID.test(id)) return null;
  try {
    return await parse(dir, id);
  } catch {
    return null;
  }
}
