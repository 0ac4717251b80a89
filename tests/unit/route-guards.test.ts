/**
 * A layout is never the only guard. An App Router client navigation (RSC request) that claims a
 * layout is already mounted gets only the segments below it rendered, so the layout's check does not
 * run. This scans app/: under every layout that guards anything, each page, route handler and server
 * action must call a guard itself. Also: development-only routes (app/dev) are .dev.tsx files only, so a
 * production build has none of them. The behaviour is checked end to end in tests/e2e/security.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Calls that decide who may see a page or call a route (app/_lib, app/dev/mail/guard.ts). */
const GUARDS = ['requireStaff', 'requireStaffForMfaSetup', 'requireAdmin', 'staffFromRequest', 'requireDevMailbox'];
/** What makes a layout a guard: any of the guards, or refusing by itself. */
const LAYOUT_GUARD = new RegExp(`\\b(${[...GUARDS, 'notFound', 'redirect'].join('|')})\\s*\\(`);
const GUARD_CALL = new RegExp(`\\b(${GUARDS.join('|')})\\s*\\(`);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const isLayout = (f: string) => /^layout\.(dev\.)?tsx?$/.test(path.basename(f));
const isPage = (f: string) => /^page\.(dev\.)?tsx?$/.test(path.basename(f));
const isRoute = (f: string) => /^route\.tsx?$/.test(path.basename(f));
const isActions = (src: string) => /^\s*(['"])use server\1/m.test(src.split('\n').slice(0, 5).join('\n'));

/** Exported functions of a 'use server' file that reach no guard (directly or through a local helper). */
function unguardedActions(src: string): string[] {
  const fns = [...src.matchAll(/^(export\s+)?(?:async\s+)?function\s+(\w+)\s*\(/gm)].map((m, i, all) => ({
    exported: !!m[1],
    name: m[2],
    body: src.slice(m.index, all[i + 1]?.index ?? src.length),
  }));
  const helpers = fns.filter((f) => !f.exported && GUARD_CALL.test(f.body)).map((f) => f.name);
  const viaHelper = helpers.length ? new RegExp(`\\b(${helpers.join('|')})\\s*\\(`) : null;
  return fns.filter((f) => f.exported && !GUARD_CALL.test(f.body) && !(viaHelper && viaHelper.test(f.body))).map((f) => f.name);
}

/** Every page / route / action under a guarding layout that does not guard itself, as "file: why". */
function findUnguarded(appDir: string): string[] {
  const files = walk(appDir);
  const guardedDirs = files.filter((f) => isLayout(f) && LAYOUT_GUARD.test(readFileSync(f, 'utf8'))).map((f) => path.dirname(f));
  const problems: string[] = [];
  for (const f of files) {
    if (!guardedDirs.some((d) => f.startsWith(d + path.sep))) continue;
    if (!/\.(tsx?|jsx?)$/.test(f)) continue;
    const src = readFileSync(f, 'utf8');
    const rel = path.relative(appDir, f);
    if ((isPage(f) || isRoute(f)) && !GUARD_CALL.test(src)) problems.push(`${rel}: no guard call (${GUARDS.join(', ')})`);
    else if (isActions(src)) for (const fn of unguardedActions(src)) problems.push(`${rel}: server action ${fn} has no guard call`);
  }
  return problems;
}

describe('every page and route does its own authorisation', () => {
  it('finds the guarding layouts of this app (the staff area and the development mailbox)', () => {
    const layouts = walk(path.join(ROOT, 'app'))
      .filter((f) => isLayout(f) && LAYOUT_GUARD.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(ROOT, path.dirname(f)));
    expect(layouts).toEqual(expect.arrayContaining([path.join('app', '(staff)'), path.join('app', 'dev', 'mail')]));
  });

  it('no page, route handler or server action under a guarding layout relies on the layout alone', () => {
    expect(findUnguarded(path.join(ROOT, 'app'))).toEqual([]);
  });

  it('development-only routes are .dev.tsx files (not pages in a production build)', () => {
    const devFiles = walk(path.join(ROOT, 'app', 'dev')).map((f) => path.basename(f));
    expect(devFiles.filter((n) => /^(page|layout|route|template|default|loading|error|not-found)\.(tsx?|jsx?)$/.test(n))).toEqual([]);
    expect(devFiles.filter((n) => /^(page|layout)\.dev\.tsx$/.test(n)).length).toBeGreaterThanOrEqual(3);
  });

  it('the scan catches a page, a route and an action that forgot their guard', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guard-scan-'));
    const write = (rel: string, src: string) => {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), src);
    };
    write('(area)/layout.tsx', 'export default async function L({ children }) { await requireStaff(); return children; }');
    write('(area)/ok/page.tsx', 'export default async function P() { const a = await requireStaff(); return a.name; }');
    write('(area)/bad/page.tsx', 'export default async function P() { return (await listSecrets()).join(); }');
    write('(area)/bad/route.ts', 'export async function GET() { return Response.json(await listSecrets()); }');
    write(
      '(area)/bad/actions.ts',
      "'use server';\nasync function save() { await requireStaff(); }\nexport async function a() { await save(); }\nexport async function b() { await deleteAll(); }\n",
    );
    write('open/page.tsx', 'export default function P() { return "public"; }');
    expect(findUnguarded(dir).sort()).toEqual([
      `${path.join('(area)', 'bad', 'actions.ts')}: server action b has no guard call`,
      expect.stringContaining(path.join('(area)', 'bad', 'page.tsx')),
      expect.stringContaining(path.join('(area)', 'bad', 'route.ts')),
    ]);
  });
});
