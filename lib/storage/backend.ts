/**
 * Where encrypted blob bytes live. The filesystem backend is the default; an S3-compatible backend
 * can implement the same interface (put = multipart upload, get = GetObject stream, delete).
 * Backends only ever see ciphertext.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StorageBackend {
  readonly name: string;
  /** Store the whole stream under `key` atomically: readers never see a partial object. */
  put(key: string, body: Readable): Promise<void>;
  /** A stream of the stored bytes; rejects with code 'ENOENT' when missing. */
  get(key: string): Promise<Readable>;
  /** Remove the object; no error when it does not exist. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every stored object (for the orphan sweep); optional for backends that cannot list cheaply. */
  list?(): AsyncIterable<{ key: string; modifiedAt: Date }>;
  /** Remove leftovers of interrupted writes older than `before` (optional). */
  sweepPartial?(before: Date): Promise<number>;
}

const KEY_RE = /^[a-z0-9][a-z0-9/_-]{0,200}$/;

/** Files under `root`, sharded by the first characters of the key; written to temp + fsync + rename. */
export class FileSystemBackend implements StorageBackend {
  readonly name = 'fs';
  constructor(readonly root: string) {}

  /** Absolute path of an object (exported for tests that tamper with files). */
  pathFor(key: string): string {
    if (!KEY_RE.test(key) || key.includes('..')) throw new Error('invalid storage key');
    return path.join(this.root, key);
  }

  async put(key: string, body: Readable): Promise<void> {
    const file = this.pathFor(key);
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await pipeline(body, createWriteStream(tmp, { mode: 0o600, flags: 'wx' }));
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      // Make the rename durable too.
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } catch {
        /* some filesystems refuse fsync on directories */
      } finally {
        await dh.close();
      }
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  async get(key: string): Promise<Readable> {
    const file = this.pathFor(key);
    await stat(file); // reject early with ENOENT
    return createReadStream(file, { highWaterMark: 256 * 1024 });
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathFor(key), { force: true });
  }

  async *list(): AsyncIterable<{ key: string; modifiedAt: Date }> {
    const walk = async function* (dir: string, prefix: string): AsyncGenerator<{ key: string; modifiedAt: Date }> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temp files of writes in progress
        const full = path.join(dir, e.name);
        const key = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory()) yield* walk(full, key);
        else if (e.isFile()) {
          const st = await stat(full).catch(() => undefined);
          if (st) yield { key, modifiedAt: st.mtime };
        }
      }
    };
    yield* walk(this.root, '');
  }

  async sweepPartial(before: Date): Promise<number> {
    let n = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.name.startsWith('.') && e.name.endsWith('.tmp')) {
          const st = await stat(full).catch(() => undefined);
          if (st && st.mtime < before) {
            await rm(full, { force: true });
            n++;
          }
        }
      }
    };
    await walk(this.root);
    return n;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.pathFor(key));
      return true;
    } catch {
      return false;
    }
  }
}
