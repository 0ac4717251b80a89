/**
 * A real S3-protocol server for tests: `s3rver` in-process (objects under a temp directory), with
 * one bucket, a request log (method + path + query) and stop/start on the same port to simulate an
 * outage. `s3Env()` gives the environment that points lib/storage at it (STORAGE_BACKEND=s3).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { resetConfig } from '../../lib/config';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Every request since start (or the last `requests.length = 0`): "PUT /bucket/key?uploadId=…". */
  requests: string[];
  /** Environment for the app: STORAGE_BACKEND=s3 and the S3_* variables (s3rver's fixed credentials). */
  env(over?: Record<string, string>): Record<string, string>;
  /** Stop abruptly: open connections are cut, like a crashed server. */
  stop(): Promise<void>;
  /** Start again on the same port with the same data. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export const S3RVER_CREDENTIALS = { S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' };

export async function startTestS3(opts: { bucket?: string } = {}): Promise<TestS3> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tachiai-s3-'));
  const bucket = opts.bucket ?? 'tachiai-test';
  const requests: string[] = [];
  let port = 0;
  let server: S3rver | undefined;
  const start = async () => {
    server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
    port = (await server.run()).port;
    server.httpServer!.on('request', (req) => requests.push(`${req.method} ${req.url}`));
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s?.httpServer) return;
    s.httpServer.closeAllConnections();
    await s.close();
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    requests,
    env: (over = {}) => ({
      STORAGE_BACKEND: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      ...S3RVER_CREDENTIALS,
      ...over,
    }),
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const S3_VARS = ['STORAGE_BACKEND', 'S3_BUCKET', 'S3_PREFIX', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_FORCE_PATH_STYLE'];

/** Set `env` in process.env (and resetConfig()); returns a function that restores the previous values. */
export function applyEnv(env: Record<string, string | undefined>): () => void {
  const keys = [...new Set([...S3_VARS, ...Object.keys(env)])];
  const prev = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) {
    const v = k in env ? env[k] : undefined;
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetConfig();
  return () => {
    for (const [k, v] of Object.entries(prev)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetConfig();
  };
}
