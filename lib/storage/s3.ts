/**
 * The S3-compatible backend (AWS S3, MinIO, Ceph RGW, …) on the AWS SDK v3.
 *
 * - Objects live at `<S3_PREFIX><key>`; the bytes are the same encrypted blob format as on disk.
 * - `put` streams through `@aws-sdk/lib-storage` `Upload`: one PutObject for small blobs, a multipart
 *   upload (8 MiB parts, 2 in flight) for large ones. An object only becomes visible when the upload
 *   completes, and a failed multipart upload is aborted, so a reader never sees a partial object.
 *   Uploads whose process died are aborted by `sweepPartial` (ListMultipartUploads) where the server
 *   implements it; a bucket lifecycle rule "AbortIncompleteMultipartUpload" does the same server-side.
 * - Every failure of the service or the network becomes AppError `storage_unavailable` with a
 *   Japanese message naming the likely cause (bucket missing, access refused, unreachable).
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError, isAppError } from '../errors';
import { checkKey, notFoundError, OWNER_MARKER, type ByteRange, type StorageBackend, type StoredObject } from './backend';

export interface S3BackendOptions {
  bucket: string;
  /** '' or ending with '/'. */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Multipart part size (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
}

const PART_SIZE = 8 * 1024 * 1024;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isMissing(e: unknown): boolean {
  const name = (e as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(e) === 404 && name !== 'NoSuchBucket');
}

/**
 * An AppError `storage_unavailable` for a failure of the S3 service or the network. AppErrors (e.g. an
 * upload over the size limit) and errors that are not about the store pass through unchanged.
 */
export function toStorageError(e: unknown, operation: string, bucket: string): unknown {
  if (isAppError(e)) return e;
  const err = e as { name?: string; code?: string; message?: string };
  const status = statusOf(e);
  const details = { backend: 's3', bucket, operation, reason: err.name ?? err.code, status };
  const fail = (message: string) => new AppError('storage_unavailable', message, { details, cause: e });
  if (err.name === 'NoSuchBucket') {
    return fail(`ファイル保管庫のバケット「${bucket}」が見つかりません。S3_BUCKET と S3_ENDPOINT の設定を確認してください。`);
  }
  if (
    status === 401 ||
    status === 403 ||
    ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError'].includes(err.name ?? '')
  ) {
    return fail('ファイル保管庫（S3）へのアクセスが拒否されました。S3 の認証情報とバケットの権限を確認してください。');
  }
  if (e instanceof S3ServiceException || status !== undefined) {
    return fail('ファイル保管庫（S3）がエラーを返しました。しばらくしてから再度お試しください。');
  }
  if (
    NETWORK_CODES.has(err.code ?? '') ||
    ['TimeoutError', 'RequestTimeout', 'AbortError'].includes(err.name ?? '') ||
    /socket|ECONN|timed? ?out|getaddrinfo/i.test(err.message ?? '')
  ) {
    return fail('ファイル保管庫（S3）に接続できません。しばらくしてから再度お試しください。');
  }
  return e;
}

export class S3Backend implements StorageBackend {
  readonly name = 's3';
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partSize: number;

  constructor(opts: S3BackendOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix;
    this.partSize = opts.partSize ?? PART_SIZE;
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.credentials,
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    });
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private objectKey(key: string): string {
    return this.prefix + checkKey(key);
  }

  private fail(e: unknown, operation: string): unknown {
    return toStorageError(e, operation, this.bucket);
  }

  async put(key: string, body: Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: body, ContentType: 'application/octet-stream' },
      partSize: this.partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (e) {
      body.destroy();
      throw this.fail(e, 'put');
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      if (!(r.Body instanceof Readable)) throw new Error('S3 GetObject returned no stream');
      return r.Body;
    } catch (e) {
      if (isMissing(e)) throw notFoundError(key);
      throw this.fail(e, 'get');
    }
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: r.ContentLength ?? 0, modifiedAt: r.LastModified ?? new Date(0) };
    } catch (e) {
      if (isMissing(e)) return null;
      throw this.fail(e, 'stat');
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (e) {
      if (isMissing(e)) return;
      throw this.fail(e, 'delete');
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async *list(): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
      } catch (e) {
        throw this.fail(e, 'list');
      }
      for (const o of page.Contents ?? []) {
        const key = (o.Key ?? '').slice(this.prefix.length);
        if (key.startsWith('.') || key === '') continue; // the owner marker
        yield { key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async sweepPartial(before: Date): Promise<number> {
    let n = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (e) {
        // Some S3-compatible servers do not list uploads; a lifecycle rule must clean up there.
        if ((e as { name?: string }).name === 'NotImplemented' || statusOf(e) === 501) return n;
        throw this.fail(e, 'list-uploads');
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= before) continue;
        try {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
          n++;
        } catch (e) {
          if (!isMissing(e)) throw this.fail(e, 'abort-upload');
        }
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return n;
  }

  private async readMarker(): Promise<string | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + OWNER_MARKER }));
      return ((await r.Body?.transformToString('utf8')) ?? '').trim();
    } catch (e) {
      if (isMissing(e)) return null;
      throw this.fail(e, 'get');
    }
  }

  async claimOwner(owner: string): Promise<boolean> {
    const current = await this.readMarker();
    if (current !== null) return current === owner;
    try {
      // If-None-Match: a server that supports conditional writes refuses a second claim (412).
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + OWNER_MARKER, Body: `${owner}\n`, IfNoneMatch: '*' }),
      );
    } catch (e) {
      if (statusOf(e) !== 412 && statusOf(e) !== 409) throw this.fail(e, 'put');
    }
    return (await this.readMarker()) === owner;
  }

  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      // HeadBucket has no body: a missing bucket is a bare 404.
      if (statusOf(e) === 404) throw this.fail(Object.assign(new Error('no such bucket'), { name: 'NoSuchBucket' }), 'probe');
      throw this.fail(e, 'probe');
    }
  }
}
