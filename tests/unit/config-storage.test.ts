/** The storage and master-key settings of lib/config: validation, normalisation, redaction. */
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig as load } from '../../lib/config';

const loadConfig = (env: Record<string, string>) => load({ NODE_ENV: 'test', ...env });

describe('storage configuration', () => {
  it('defaults to the local store and requires a bucket for s3', () => {
    expect(loadConfig({}).STORAGE_BACKEND).toBe('local');
    expect(() => loadConfig({ STORAGE_BACKEND: 's3' })).toThrow(/S3_BUCKET: required when STORAGE_BACKEND=s3/);
    expect(() => loadConfig({ STORAGE_BACKEND: 'gcs' })).toThrow(/STORAGE_BACKEND/);
    const c = loadConfig({ STORAGE_BACKEND: 's3', S3_BUCKET: 'tachiai-prod', S3_PREFIX: 'city/kawaguchi', S3_FORCE_PATH_STYLE: 'true' });
    expect([c.S3_PREFIX, c.S3_REGION, c.S3_FORCE_PATH_STYLE]).toEqual(['city/kawaguchi/', 'us-east-1', true]);
  });

  it('refuses bad bucket names, prefixes and half credentials', () => {
    expect(() => loadConfig({ S3_BUCKET: 'Bad_Bucket' })).toThrow(/S3_BUCKET/);
    for (const p of ['/abs', 'a//b', 'a/../b', 'a b']) expect(() => loadConfig({ S3_PREFIX: p }), p).toThrow(/S3_PREFIX/);
    expect(() => loadConfig({ S3_ACCESS_KEY_ID: 'AKIA' })).toThrow(/both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/);
  });

  it('never shows the S3 secret or the master keys', () => {
    const c = loadConfig({ S3_ACCESS_KEY_ID: 'AKIAEXAMPLE', S3_SECRET_ACCESS_KEY: 'very-secret', MASTER_KEY: 'a', MASTER_KEY_PREVIOUS: 'b,c' });
    const d = describeConfig(c);
    expect([d.S3_SECRET_ACCESS_KEY, d.MASTER_KEY, d.MASTER_KEY_PREVIOUS]).toEqual(['***', '***', '***']);
    expect(JSON.stringify(d)).not.toContain('very-secret');
  });
});
