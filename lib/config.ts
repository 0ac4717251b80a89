/**
 * The one place configuration is read. Everything comes from the environment, parsed by zod.
 * Secrets (MASTER_KEY, passwords) are never logged; `describeConfig()` prints a redacted view.
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const fields = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Public base URL used in emails and certificate URLs. */
  APP_URL: z.string().url().default('http://localhost:3000'),
  PORT: z.coerce.number().int().positive().default(3000),
  /** Address the web server listens on. Default: 127.0.0.1 in development, every interface in production. */
  HOST: z.string().trim().min(1).optional(),
  /** PostgreSQL. When unset, `npm run dev` starts embedded PostgreSQL and sets it. */
  DATABASE_URL: z.string().url().optional(),
  /**
   * The schema owner's URL: migrations and the application role's grants (lib/db prepareDatabase).
   * Default: DATABASE_URL (one role: the owner — then the application could rewrite the 操作ログ, and a
   * warning says so — or a restricted role when migrations are applied separately). With embedded
   * PostgreSQL both are set by `npm run dev`. docs/database-roles.md.
   */
  MIGRATION_DATABASE_URL: z.string().url().optional(),
  /** Root of local state (embedded PostgreSQL data, dev PKI, encrypted files). */
  DATA_DIR: z.string().default('var'),
  EMBEDDED_PG_PORT: z.coerce.number().int().positive().default(54329),
  /** SMTP server (smtp://user:pass@host:port). When unset in development, the built-in mail catcher is used. */
  SMTP_URL: z.string().optional(),
  MAIL_CATCHER_PORT: z.coerce.number().int().positive().default(1025),
  MAIL_FROM: z.string().default('立会サイン <no-reply@tachiai-sign.localhost>'),
  /** 32-byte master key (base64) that wraps per-document keys. In development generated under DATA_DIR. */
  MASTER_KEY: z.string().optional(),
  /**
   * Earlier master keys (base64, comma-separated) still accepted for reading while `npm run key:rotate`
   * re-wraps everything under MASTER_KEY. Remove them once the rotation reports nothing left.
   */
  MASTER_KEY_PREVIOUS: z.string().optional(),
  /** Where encrypted files live: `local` (DATA_DIR/storage) or `s3` (an S3-compatible bucket, S3_*). */
  STORAGE_BACKEND: z.enum(['local', 's3']).default('local'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name').optional(),
  /** Key prefix inside the bucket, e.g. `tachiai/prod` (a trailing `/` is added). */
  S3_PREFIX: z
    .string()
    .default('')
    .refine(
      (v) => v === '' || (/^[A-Za-z0-9][A-Za-z0-9._\/-]{0,200}$/.test(v) && !v.includes('//') && !v.split('/').includes('..')),
      'letters, digits, . _ - / (not starting with /, no empty or .. segments)',
    )
    .transform((v) => (v === '' || v.endsWith('/') ? v : `${v}/`)),
  /** Endpoint of an S3-compatible service (MinIO, Ceph, …); unset = AWS S3 of S3_REGION. */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  /** Static credentials; unset = the AWS SDK's default chain (AWS_* variables, profile, instance role). */
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Path-style URLs (endpoint/bucket/key), needed by most S3-compatible servers. */
  S3_FORCE_PATH_STYLE: bool.default(false),
  MAX_UPLOAD_MB: z.coerce.number().positive().default(50),
  SESSION_TTL_HOURS: z.coerce.number().positive().default(12),
  SIGNING_LINK_DAYS: z.coerce.number().int().positive().max(90).default(30),
  DOWNLOAD_LINK_DAYS: z.coerce.number().int().positive().default(14),
  /** Automatic 【再送】 reminders: days after a signer was notified, comma-separated; empty = off. */
  REMINDER_DAYS: z
    .string()
    .default('7,14,21,28')
    .refine((v) => v.trim() === '' || v.split(',').every((d) => /^\s*[1-9]\d{0,2}\s*$/.test(d)), 'comma-separated whole days (1–999), or empty')
    .transform((v) => [...new Set(v.split(',').filter((d) => d.trim() !== '').map(Number))].sort((a, b) => a - b)),
  /** Archive timestamp renewal: re-timestamp a sealed file when its newest document timestamp's TSA certificate expires within this many days. */
  ARCHIVE_RENEW_BEFORE_DAYS: z.coerce.number().int().positive().default(365),
  /** RFC 3161 TSA. Default: the built-in TSA at APP_URL/api/tsa. */
  TSA_URL: z.string().url().optional(),
  TSA_USERNAME: z.string().optional(),
  TSA_PASSWORD: z.string().optional(),
  TSA_TIMEOUT_MS: z.coerce.number().int().positive().default(10000),
  KEY_PROVIDER: z.enum(['dev', 'pkcs12', 'pkcs11']).default('dev'),
  PKCS12_PATH: z.string().optional(),
  PKCS12_PASSWORD: z.string().optional(),
  PKCS11_MODULE: z.string().optional(),
  PKCS11_SLOT: z.coerce.number().int().nonnegative().optional(),
  PKCS11_PIN: z.string().optional(),
  PKCS11_KEY_LABEL: z.string().optional(),
  /** 合意締結証明書 fonts (lib/certificate/font.ts): the primary (default IPAex Gothic) and the per-character
   * fallback (default Noto Sans CJK JP from fonts-noto-cjk; 'none' = no fallback), with the face's PostScript
   * name when the fallback is a collection (.ttc). */
  CERTIFICATE_FONT_PATH: z.string().optional(),
  CERTIFICATE_FALLBACK_FONT_PATH: z.string().optional(),
  CERTIFICATE_FALLBACK_FONT_NAME: z.string().optional(),
  /** PEM file(s) of extra trust anchors for the verifier, separated by the path delimiter. */
  TRUST_ANCHORS: z.string().optional(),
  /** Cookie `Secure` flag; defaults to true when APP_URL is https. */
  COOKIE_SECURE: bool.optional(),
  /** Show the built-in mail inbox at /dev/mail (development only: refused with NODE_ENV=production). */
  DEV_MAILBOX: bool.optional(),
  WORKER_POLL_MS: z.coerce.number().int().positive().default(1000),
});

const schema = fields.superRefine((c, ctx) => {
  if (c.STORAGE_BACKEND === 's3' && !c.S3_BUCKET) {
    ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'required when STORAGE_BACKEND=s3' });
  }
  if (!!c.S3_ACCESS_KEY_ID !== !!c.S3_SECRET_ACCESS_KEY) {
    ctx.addIssue({ code: 'custom', path: ['S3_SECRET_ACCESS_KEY'], message: 'set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither' });
  }
});

export type AppConfig = z.infer<typeof schema> & {
  dataDir: string;
  pkiDir: string;
  storageDir: string;
  maxUploadBytes: number;
  cookieSecure: boolean;
  tsaUrl: string;
  devMailbox: boolean;
  /** Where the web server listens; undefined = every interface. */
  listenHost: string | undefined;
};

let cached: AppConfig | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${issues}`);
  }
  const c = parsed.data;
  const production = c.NODE_ENV === 'production';
  if (production && c.DEV_MAILBOX) {
    throw new Error(
      'Invalid configuration: DEV_MAILBOX cannot be on in production (the development mailbox shows every signing link and code without signing in). Remove DEV_MAILBOX and set SMTP_URL.',
    );
  }
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    ...c,
    dataDir,
    pkiDir: path.join(dataDir, 'pki'),
    storageDir: path.join(dataDir, 'storage'),
    maxUploadBytes: Math.floor(c.MAX_UPLOAD_MB * 1024 * 1024),
    cookieSecure: c.COOKIE_SECURE ?? c.APP_URL.startsWith('https:'),
    tsaUrl: c.TSA_URL ?? new URL('/api/tsa', c.APP_URL).toString(),
    devMailbox: !production && (c.DEV_MAILBOX ?? !c.SMTP_URL),
    listenHost: c.HOST === '*' ? undefined : (c.HOST ?? (production ? undefined : '127.0.0.1')),
  };
}

/** Process-wide config (parsed once). Tests call `resetConfig()` after changing process.env. */
export function getConfig(): AppConfig {
  cached ??= loadConfig();
  return cached;
}

export function resetConfig(): void {
  cached = undefined;
}

const SECRET_KEYS = /PASSWORD|MASTER_KEY|PIN|SECRET|TOKEN/i;

/** A loggable view of the configuration: secrets and credentials in URLs are redacted. */
export function describeConfig(c: AppConfig = getConfig()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (SECRET_KEYS.test(k)) out[k] = v === undefined ? undefined : '***';
    else if (typeof v === 'string' && /^[a-z]+:\/\/[^/]*@/.test(v)) out[k] = v.replace(/\/\/[^@]*@/, '//***@');
    else out[k] = v;
  }
  return out;
}
