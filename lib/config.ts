/**
 * The one place configuration is read. Everything comes from the environment, parsed by zod.
 * Secrets (MASTER_KEY, passwords) are never logged; `describeConfig()` prints a redacted view.
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Public base URL used in emails and certificate URLs. */
  APP_URL: z.string().url().default('http://localhost:3000'),
  PORT: z.coerce.number().int().positive().default(3000),
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
  /** Show the built-in mail inbox at /dev/mail (development only). */
  DEV_MAILBOX: bool.optional(),
  WORKER_POLL_MS: z.coerce.number().int().positive().default(1000),
});

export type AppConfig = z.infer<typeof schema> & {
  dataDir: string;
  pkiDir: string;
  storageDir: string;
  maxUploadBytes: number;
  cookieSecure: boolean;
  tsaUrl: string;
  devMailbox: boolean;
};

let cached: AppConfig | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${issues}`);
  }
  const c = parsed.data;
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    ...c,
    dataDir,
    pkiDir: path.join(dataDir, 'pki'),
    storageDir: path.join(dataDir, 'storage'),
    maxUploadBytes: Math.floor(c.MAX_UPLOAD_MB * 1024 * 1024),
    cookieSecure: c.COOKIE_SECURE ?? c.APP_URL.startsWith('https:'),
    tsaUrl: c.TSA_URL ?? new URL('/api/tsa', c.APP_URL).toString(),
    devMailbox: c.DEV_MAILBOX ?? (c.NODE_ENV !== 'production' && !c.SMTP_URL),
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
