/** getMasterKey: MASTER_KEY wins; otherwise a generated 0600 key file in development; production requires MASTER_KEY. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { deriveKey, getMasterKey, masterKeyId, masterKeyPath } from '@/lib/pki';

let dir: string;
const saved = { ...process.env };
const env = process.env as Record<string, string | undefined>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pki-mk-'));
});

afterEach(() => {
  for (const k of ['DATA_DIR', 'MASTER_KEY', 'NODE_ENV'] as const) {
    if (saved[k] === undefined) delete env[k];
    else env[k] = saved[k];
  }
  resetConfig();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('master key', () => {
  it('generates a 32-byte key file (0600) once and keeps returning it', async () => {
    process.env.DATA_DIR = path.join(dir, 'a');
    delete process.env.MASTER_KEY;
    resetConfig();
    const [k1, k2] = await Promise.all([getMasterKey(), getMasterKey()]);
    expect(k1.length).toBe(32);
    expect(k1.equals(k2)).toBe(true);
    const file = masterKeyPath();
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').equals(k1)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await masterKeyId()).toMatch(/^[0-9a-f]{8}$/);
    // callers get copies: zeroing one does not change the next
    k1.fill(0);
    expect((await getMasterKey()).equals(k2)).toBe(true);
  });

  it('MASTER_KEY (base64, 32 bytes) wins over the file; derived keys differ by purpose', async () => {
    const key = Buffer.alloc(32, 0x2a);
    process.env.DATA_DIR = path.join(dir, 'a');
    process.env.MASTER_KEY = key.toString('base64');
    resetConfig();
    expect((await getMasterKey()).equals(key)).toBe(true);
    const a = await deriveKey('x');
    const b = await deriveKey('y');
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(false);
  });

  it('rejects a malformed MASTER_KEY and requires one in production', async () => {
    process.env.DATA_DIR = path.join(dir, 'b');
    process.env.MASTER_KEY = Buffer.alloc(16).toString('base64');
    resetConfig();
    const e1 = await getMasterKey().catch((e: unknown) => e);
    expect(isAppError(e1) && e1.message).toMatch(/32バイト/);
    delete process.env.MASTER_KEY;
    env.NODE_ENV = 'production';
    resetConfig();
    const e2 = await getMasterKey().catch((e: unknown) => e);
    expect(isAppError(e2) && e2.message).toMatch(/MASTER_KEY/);
  });
});
