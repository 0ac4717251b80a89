/**
 * Every 操作ログ action the code records has a Japanese and an English label, so the envelope page
 * and the admin log never show a raw action name (drift guard: scans lib/ and app/ for actions).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, auditActionLabel } from '../../lib/i18n';
import { en } from '../../lib/i18n/en';

const root = path.resolve(import.meta.dirname, '../..');
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (n === 'generated' || n === 'node_modules') return [];
    return statSync(p).isDirectory() ? files(p) : /\.(ts|tsx)$/.test(n) ? [p] : [];
  });
}

describe('操作ログ action labels', () => {
  const recorded = new Set<string>();
  for (const f of [...files(path.join(root, 'lib')), ...files(path.join(root, 'app'))]) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/action: (?:[^'\n]*\? )?'([a-z_]+\.[a-z_]+)'(?: : '([a-z_]+\.[a-z_]+)')?/g)) {
      recorded.add(m[1]);
      if (m[2]) recorded.add(m[2]);
    }
  }

  it('finds the recorded actions in the code', () => {
    expect(recorded.size).toBeGreaterThan(30);
    expect(recorded).toContain('download.zip');
    expect(recorded).toContain('signing_request.resent');
  });

  it('labels every recorded action in Japanese and English', () => {
    const missing = [...recorded].filter((a) => !AUDIT_ACTIONS.includes(a));
    expect(missing).toEqual([]);
    for (const a of recorded) {
      expect(auditActionLabel('ja', a)).not.toBe(a);
      expect(en[`auditAction.${a}` as keyof typeof en], a).toBeTruthy();
    }
  });
});
