/**
 * Where encrypted blob bytes live. `STORAGE_BACKEND` picks one (lib/storage `getStorageBackend`):
 * `local` = files under DATA_DIR/storage (this file), `s3` = an S3-compatible bucket (s3.ts).
 * Backends only ever see ciphertext; keys look like `b/<2 hex>/<uuid>`.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Bytes `start` to `end`, both inclusive (as in an HTTP Range header). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredObject {
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface StorageBackend {
  /** `local` or `s3`. */
  readonly name: string;
  /** Where the objects are, for operators' messages (a directory, or s3://bucket/prefix). */
  readonly location: string;
  /** Store the whole stream under `key` atomically: readers never see a partial object. */
  put(key: string, body: Readable): Promise<void>;
  /** A stream of the stored bytes (or of `range`); rejects with code 'ENOENT' when missing. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Size and time of an object; null when it does not exist. */
  stat(key: string): Promise<StoredObject | null>;
  /** Remove the object; no error when it does not exist. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every stored object (for the orphan sweep, copies and backups). */
  list(): AsyncIterable<StoredObject>;
  /** Remove leftovers of interrupted writes older than `before`; returns how many. */
  sweepPartial(before: Date): Promise<number>;
  /**
   * The store records which database it belongs to (a marker object): claim it for `owner` when
   * unclaimed, and tell whether it belongs to `owner`. The orphan sweep only runs on its own store.
   */
  claimOwner(owner: string): Promise<boolean>;
  /** Throws (AppError storage_unavailable for remote stores) when the store cannot be reached. */
  probe(): Promise<void>;
}

export const KEY_RE = /^[a-z0-9][a-z0-9/_-]{0,200}$/;

export function checkKey(key: string): string {
  if (!KEY_RE.test(key) || key.includes('..') || key.includes('//')) throw new Error('invalid storage key');
  return key;
}

export function notFoundError(key: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`stored object ${key} does not exist`), { code: 'ENOENT' });
}

const OWNER_MARKER = '.db-owner';

/** Files under `root` (key = relative path); written to temp + fsync + rename. */
export class FileSystemBackend implements StorageBackend {
  readonly name = 'local';
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  /** Absolute path of an object (exported for tests that tamper with files). */
  pathFor(key: string): string {
    return path.join(this.root, checkKey(key));
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

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathFor(key);
    await stat(file); // reject early with ENOENT
    return createReadStream(file, { highWaterMark: 256 * 1024, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const st = await stat(this.pathFor(key));
      return st.isFile() ? { key, size: st.size, modifiedAt: st.mtime } : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathFor(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async *list(): AsyncIterable<StoredObject> {
    const walk = async function* (dir: string, prefix: string): AsyncGenerator<StoredObject> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temp files of writes in progress, the owner marker
        const full = path.join(dir, e.name);
        const key = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory()) yield* walk(full, key);
        else if (e.isFile()) {
          const st = await stat(full).catch(() => undefined);
          if (st) yield { key, size: st.size, modifiedAt: st.mtime };
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

  async claimOwner(owner: string): Promise<boolean> {
    const marker = path.join(this.root, OWNER_MARKER);
    try {
      return (await readFile(marker, 'utf8')).trim() === owner;
    } catch {
      await mkdir(this.root, { recursive: true });
      try {
        await writeFile(marker, `${owner}\n`, { flag: 'wx', mode: 0o600 });
        return true;
      } catch {
        return (await readFile(marker, 'utf8').catch(() => '')).trim() === owner;
      }
    }
  }

  async probe(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }
}

export { OWNER_MARKER };
