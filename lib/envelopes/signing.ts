/**
 * The signer's side of an envelope: the emailed link (/sign/[token]), アクセスコード and email
 * one-time code (高度な認証), completing (完了) and declining (差し戻し).
 *
 * - The token is looked up by its SHA-256 and compared again in constant time (safeEqual).
 * - After the extra factors, the signer holds a short-lived HMAC-signed session cookie scoped to
 *   that recipient and signing request (`createSignerSession` / `readSignerSession`).
 * - Every state change runs in one transaction with its AuditEvent, under a row lock on the
 *   envelope, with guarded updates: two tabs or a double click complete once, seal once, email once.
 * - When the last signer completes, the envelope becomes `sealing` and a 'seal-envelope' job is
 *   enqueued in the same transaction (the request never seals).
 */
import { createHmac, randomInt } from 'node:crypto';
import { verify as argon2Verify } from '@node-rs/argon2';
import { z } from 'zod';
import { recordAudit, type RequestContext } from '../audit';
import { getConfig } from '../config';
import type { Db, Tx } from '../db';
import { AppError } from '../errors';
import { parseField } from './schemas';
import { formatDateTime } from '../format';
import type { Envelope, Organization, Recipient, SigningRequest, User } from '../generated/prisma/client';
import { enqueueJob } from '../jobs';
import { enqueueEmail } from '../mail';
import { deriveKey, deriveKeyCandidates } from '../pki';
import { hashToken, looksLikeToken, safeEqual } from '../security';
import { renderDeclineEmail } from '../../emails/decline';
import { renderOtpEmail } from '../../emails/otp';
import { notifyRecipient } from './notify';

export const SEAL_JOB = 'seal-envelope';
/** A TSA or storage outage is retried for about two days (backoff capped at 1 h) before a seal job stops; staff can then retry it (`retrySealing`). */
export const SEAL_MAX_ATTEMPTS = 48;
export const SIGNER_SESSION_COOKIE = 'ts_signer';
export const SIGNER_SESSION_MINUTES = 60;
export const ACCESS_CODE_MAX_FAILURES = 5;
export const ACCESS_CODE_LOCK_MINUTES = 30;
export const OTP_VALID_MINUTES = 10;
export const OTP_MAX_ATTEMPTS = 5;
export const OTP_MAX_SENDS_PER_15_MIN = 5;

export interface SigningContext extends RequestContext {
  /** Injected clock (tests). */
  now?: Date;
  /** Raw value of the signer session cookie, if any. */
  session?: string | null;
}

type Factor = 'access_code' | 'email_otp';

export interface SignerSessionClaims {
  /** recipient id */
  r: string;
  /** signing request id */
  s: string;
  /** factors passed */
  f: Factor[];
  /** expiry, epoch seconds */
  e: number;
}

const claimsSchema = z.object({
  r: z.string().uuid(),
  s: z.string().uuid(),
  f: z.array(z.enum(['access_code', 'email_otp'])),
  e: z.number().int(),
});

async function sessionKey(): Promise<Buffer> {
  return deriveKey('signer-session');
}

/** A signed cookie value for the signer (HMAC-SHA256 with a key derived from the master key). */
export async function createSignerSession(claims: Omit<SignerSessionClaims, 'e'>, now = new Date()): Promise<string> {
  const full: SignerSessionClaims = { ...claims, e: Math.floor(now.getTime() / 1000) + SIGNER_SESSION_MINUTES * 60 };
  const body = Buffer.from(JSON.stringify(full), 'utf8').toString('base64url');
  const mac = createHmac('sha256', await sessionKey()).update(body).digest('base64url');
  return `${body}.${mac}`;
}

/** The claims of a valid, unexpired cookie value; null otherwise. */
export async function readSignerSession(value: string | null | undefined, now = new Date()): Promise<SignerSessionClaims | null> {
  if (!value || value.length > 2048) return null;
  const dot = value.indexOf('.');
  if (dot <= 0) return null;
  const body = value.slice(0, dot);
  const mac = value.slice(dot + 1);
  // Sessions made under an earlier master key stay valid during a rotation (MASTER_KEY_PREVIOUS).
  const keys = await deriveKeyCandidates('signer-session');
  if (!keys.some((k) => safeEqual(mac, createHmac('sha256', k).update(body).digest('base64url')))) return null;
  try {
    const parsed = claimsSchema.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    if (!parsed.success) return null;
    if (parsed.data.e * 1000 <= now.getTime()) return null;
    return parsed.data;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Link resolution

export type LinkProblem = 'invalid' | 'expired' | 'revoked' | 'voided' | 'declined' | 'envelope_expired' | 'not_ready';

export const LINK_PROBLEM_MESSAGES: Record<LinkProblem, { title: string; body: string }> = {
  invalid: { title: 'このリンクは無効です', body: 'URLが正しいかご確認ください。メールに記載されたリンクをそのまま開いてください。' },
  expired: { title: 'このリンクの有効期限が切れています', body: '送信者に署名依頼の再送を依頼してください。' },
  revoked: { title: 'このリンクは無効になりました', body: '新しい署名依頼メールが送信されている可能性があります。最新のメールのリンクを開いてください。' },
  voided: { title: 'この署名依頼は取り消されました', body: '送信者により封筒が取り消されたため、署名手続きはできません。' },
  declined: { title: 'この封筒は差し戻されました', body: '当事者の一人が差し戻したため、署名手続きは終了しました。' },
  envelope_expired: { title: '署名期限を過ぎています', body: '署名期限を過ぎたため、署名手続きはできません。送信者にお問い合わせください。' },
  not_ready: { title: 'まだ署名の順番ではありません', body: '前の署名者の手続きが完了すると、あらためてメールでお知らせします。' },
};

export type FullEnvelope = Envelope & { organization: Organization; createdBy: User | null };

export interface SigningAccess {
  request: SigningRequest;
  recipient: Recipient;
  envelope: FullEnvelope;
}

export type LinkResolution = { ok: true; access: SigningAccess } | { ok: false; problem: LinkProblem };

/** Find the signing request of a token; never reveals anything about other envelopes. */
export async function resolveSigningLink(db: Db | Tx, token: string, now = new Date()): Promise<LinkResolution> {
  if (!looksLikeToken(token)) return { ok: false, problem: 'invalid' };
  const hash = hashToken(token);
  const request = await db.signingRequest.findUnique({
    where: { tokenHash: hash },
    include: { recipient: { include: { envelope: { include: { organization: true, createdBy: true } } } } },
  });
  if (!request || !safeEqual(request.tokenHash, hash)) return { ok: false, problem: 'invalid' };
  const { recipient: rcp, ...req } = request;
  const { envelope, ...recipient } = rcp;
  if (recipient.role !== 'signer') return { ok: false, problem: 'invalid' };
  const access: SigningAccess = { request: req, recipient, envelope };
  if (envelope.status === 'voided') return { ok: false, problem: 'voided' };
  if (envelope.status === 'declined') return { ok: false, problem: 'declined' };
  if (envelope.status === 'draft') return { ok: false, problem: 'invalid' };
  // A completed signer (or a sealed envelope) still sees the "completed" page through a valid link.
  if (recipient.completedAt || envelope.status === 'sealing' || envelope.status === 'completed') {
    if (req.revokedAt) return { ok: false, problem: 'revoked' };
    return { ok: true, access };
  }
  if (envelope.status === 'expired' || (envelope.expiresAt && envelope.expiresAt <= now)) return { ok: false, problem: 'envelope_expired' };
  if (req.revokedAt) return { ok: false, problem: 'revoked' };
  if (req.expiresAt <= now) return { ok: false, problem: 'expired' };
  return { ok: true, access };
}

function linkError(problem: LinkProblem): AppError {
  const m = LINK_PROBLEM_MESSAGES[problem];
  return new AppError(problem === 'expired' || problem === 'envelope_expired' ? 'link_expired' : problem === 'invalid' ? 'link_invalid' : 'invalid_state', `${m.title}。${m.body}`);
}

async function requireLink(db: Db | Tx, token: string, now: Date): Promise<SigningAccess> {
  const r = await resolveSigningLink(db, token, now);
  if (!r.ok) throw linkError(r.problem);
  return r.access;
}

// ---------------------------------------------------------------------------------------------
// Authentication state

export interface AuthState {
  needsAccessCode: boolean;
  needsEmailOtp: boolean;
  accessCodeOk: boolean;
  emailOtpOk: boolean;
  /** Every required factor passed: documents may be shown and the signer may act. */
  authenticated: boolean;
  /** The method recorded on completion, e.g. "email_link+access_code". */
  authMethod: string;
  lockedUntil: Date | null;
}

export async function authState(access: SigningAccess, session: string | null | undefined, now = new Date()): Promise<AuthState> {
  const claims = await readSignerSession(session, now);
  const mine = claims && claims.r === access.recipient.id && claims.s === access.request.id ? claims : null;
  const needsAccessCode = !!access.recipient.accessCodeHash;
  const needsEmailOtp = access.recipient.requireEmailOtp;
  const accessCodeOk = !needsAccessCode || !!mine?.f.includes('access_code');
  const emailOtpOk = !needsEmailOtp || !!mine?.f.includes('email_otp');
  const methods = ['email_link'];
  if (needsAccessCode) methods.push('access_code');
  if (needsEmailOtp) methods.push('email_otp');
  const locked = access.recipient.lockedUntil && access.recipient.lockedUntil > now ? access.recipient.lockedUntil : null;
  return {
    needsAccessCode,
    needsEmailOtp,
    accessCodeOk,
    emailOtpOk,
    authenticated: accessCodeOk && emailOtpOk,
    authMethod: methods.join('+'),
    lockedUntil: locked,
  };
}

function actorOf(r: Recipient) {
  return { actorType: 'recipient' as const, actorId: r.id, actorLabel: `${r.name} <${r.email}>` };
}

async function lockEnvelope(tx: Tx, envelopeId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM envelopes WHERE id = ${envelopeId}::uuid FOR UPDATE`;
}

// ---------------------------------------------------------------------------------------------
// The page

export interface SigningView {
  state: 'auth' | 'sign' | 'completed' | 'waiting_seal' | 'sealed';
  auth: AuthState;
  envelope: {
    id: string;
    title: string;
    documentNumber: string;
    counterparty: string;
    message: string | null;
    signingOrder: 'parallel' | 'sequential';
    status: string;
    expiresAt: Date | null;
  };
  sender: { organization: string; name: string | null; title: string | null };
  /** The organisation shows 和暦 beside 西暦 (organizations.show_wareki). */
  showWareki: boolean;
  me: { id: string; name: string; email: string; company: string | null; completedAt: Date | null; order: number };
  parties: Array<{ name: string; company: string | null; partyType: string; order: number; status: 'completed' | 'waiting' | 'declined'; isMe: boolean }>;
  /** Only when authenticated. */
  documents: Array<{ id: string; fileName: string; pageCount: number }>;
  /** Masked address the OTP goes to (e.g. y***@example.jp). */
  otpDestination: string;
}

export function maskEmail(email: string): string {
  const [local, domain] = email.split('@');
  if (!domain) return '***';
  return `${local.slice(0, 1)}***@${domain}`;
}

/**
 * Data for /sign/[token]. Records the view (signing.page_opened; first view sets openedAt).
 * Returns the link problem instead when the link cannot be used.
 */
export async function openSigningPage(db: Db, token: string, ctx: SigningContext = {}): Promise<{ ok: true; view: SigningView } | { ok: false; problem: LinkProblem }> {
  const now = ctx.now ?? new Date();
  const r = await resolveSigningLink(db, token, now);
  if (!r.ok) return r;
  const { access } = r;
  const auth = await authState(access, ctx.session, now);
  await db.$transaction(async (tx) => {
    if (!access.recipient.openedAt) {
      await tx.recipient.updateMany({ where: { id: access.recipient.id, openedAt: null }, data: { openedAt: now } });
    }
    await recordAudit(tx, {
      organizationId: access.envelope.organizationId,
      envelopeId: access.envelope.id,
      ...actorOf(access.recipient),
      action: 'signing.page_opened',
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      details: { recipientId: access.recipient.id, first: !access.recipient.openedAt },
      at: now,
    });
  });
  return { ok: true, view: await buildView(db, access, auth) };
}

async function buildView(db: Db | Tx, access: SigningAccess, auth: AuthState): Promise<SigningView> {
  const { envelope, recipient } = access;
  const [recipients, documents] = await Promise.all([
    db.recipient.findMany({ where: { envelopeId: envelope.id, role: 'signer' }, orderBy: [{ order: 'asc' }, { createdAt: 'asc' }] }),
    auth.authenticated
      ? db.document.findMany({ where: { envelopeId: envelope.id }, orderBy: { position: 'asc' }, select: { id: true, fileName: true, pageCount: true } })
      : Promise.resolve([]),
  ]);
  const me = recipients.find((x) => x.id === recipient.id) ?? recipient;
  let state: SigningView['state'];
  if (!auth.authenticated && !me.completedAt) state = 'auth';
  else if (envelope.status === 'completed') state = 'sealed';
  else if (me.completedAt) state = envelope.status === 'sealing' ? 'waiting_seal' : 'completed';
  else state = 'sign';
  return {
    state,
    auth,
    envelope: {
      id: envelope.id,
      title: envelope.title,
      documentNumber: envelope.documentNumber,
      counterparty: envelope.counterparty,
      message: envelope.message,
      signingOrder: envelope.signingOrder,
      status: envelope.status,
      expiresAt: envelope.expiresAt,
    },
    sender: { organization: envelope.organization.name, name: envelope.createdBy?.name ?? null, title: envelope.createdBy?.title ?? null },
    showWareki: envelope.organization.showWareki,
    me: { id: me.id, name: me.name, email: me.email, company: me.company, completedAt: me.completedAt, order: me.order },
    parties: recipients.map((p) => ({
      name: p.name,
      company: p.company,
      partyType: p.partyType,
      order: p.order,
      status: p.declinedAt ? 'declined' : p.completedAt ? 'completed' : 'waiting',
      isMe: p.id === me.id,
    })),
    documents,
    otpDestination: maskEmail(me.email),
  };
}

/** The original PDF of one document of the envelope, for the in-page viewer. */
export async function getSigningDocument(db: Db, token: string, documentId: string, ctx: SigningContext = {}) {
  const now = ctx.now ?? new Date();
  const access = await requireLink(db, token, now);
  // A completed signer's link still opens the 「完了」 page after the deadline, but the documents
  // themselves follow the link's own expiry (the sealed files go through the download link).
  const { request, envelope } = access;
  if (envelope.status === 'expired' || (envelope.expiresAt && envelope.expiresAt <= now)) throw linkError('envelope_expired');
  if (request.expiresAt <= now) throw linkError('expired');
  const auth = await authState(access, ctx.session, now);
  if (!auth.authenticated) throw new AppError('unauthorized', '認証が必要です。ページを再読み込みしてください。');
  const doc = z.string().uuid().safeParse(documentId).success
    ? await db.document.findFirst({ where: { id: documentId, envelopeId: access.envelope.id } })
    : null;
  if (!doc) throw new AppError('not_found', '文書が見つかりません。');
  await db.$transaction((tx) =>
    recordAudit(tx, {
      organizationId: access.envelope.organizationId,
      envelopeId: access.envelope.id,
      ...actorOf(access.recipient),
      action: 'signing.document_viewed',
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      details: { recipientId: access.recipient.id, documentId: doc.id, fileName: doc.fileName },
      at: now,
    }),
  );
  return { document: doc, blobId: doc.originalBlobId };
}

// ---------------------------------------------------------------------------------------------
// アクセスコード

const accessCodeSchema = z.string().trim().min(1, 'アクセスコードを入力してください。').max(64, 'アクセスコードが長すぎます。');

/**
 * Check the アクセスコード. Failures are counted; after ACCESS_CODE_MAX_FAILURES the recipient is
 * locked for ACCESS_CODE_LOCK_MINUTES. Returns a new session cookie value on success.
 */
export async function verifyAccessCode(db: Db, token: string, code: string, ctx: SigningContext = {}): Promise<{ session: string }> {
  const now = ctx.now ?? new Date();
  const accessCode = parseField(accessCodeSchema, code, 'code');
  const access = await requireLink(db, token, now);
  const { recipient, envelope } = access;
  if (!recipient.accessCodeHash) throw new AppError('invalid_state', 'この署名依頼にアクセスコードは設定されていません。');
  if (recipient.lockedUntil && recipient.lockedUntil > now) {
    throw new AppError('locked', `入力の誤りが続いたため、一時的にロックされています。${formatDateTime(recipient.lockedUntil)} 以降に再度お試しください。`, {
      details: { lockedUntil: recipient.lockedUntil.toISOString() },
    });
  }
  const ok = await argon2Verify(recipient.accessCodeHash, accessCode).catch(() => false);
  const outcome = await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM recipients WHERE id = ${recipient.id}::uuid FOR UPDATE`;
    const fresh = await tx.recipient.findUniqueOrThrow({ where: { id: recipient.id } });
    if (fresh.lockedUntil && fresh.lockedUntil > now) return { locked: fresh.lockedUntil };
    if (ok) {
      await tx.recipient.update({ where: { id: recipient.id }, data: { accessCodeFailures: 0, lockedUntil: null } });
      await recordAudit(tx, {
        organizationId: envelope.organizationId,
        envelopeId: envelope.id,
        ...actorOf(recipient),
        action: 'signing.access_code_verified',
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        details: { recipientId: recipient.id },
        at: now,
      });
      return { ok: true as const };
    }
    const failures = fresh.accessCodeFailures + 1;
    const lock = failures >= ACCESS_CODE_MAX_FAILURES;
    const lockedUntil = lock ? new Date(now.getTime() + ACCESS_CODE_LOCK_MINUTES * 60_000) : null;
    await tx.recipient.update({
      where: { id: recipient.id },
      data: lock ? { accessCodeFailures: 0, lockedUntil } : { accessCodeFailures: failures },
    });
    await recordAudit(tx, {
      organizationId: envelope.organizationId,
      envelopeId: envelope.id,
      ...actorOf(recipient),
      action: 'signing.access_code_failed',
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      details: { recipientId: recipient.id, failures, locked: lock },
      at: now,
    });
    if (lock) {
      await recordAudit(tx, {
        organizationId: envelope.organizationId,
        envelopeId: envelope.id,
        ...actorOf(recipient),
        action: 'signing.locked',
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        details: { recipientId: recipient.id, lockedUntil: lockedUntil!.toISOString() },
        at: now,
      });
      return { locked: lockedUntil! };
    }
    return { remaining: ACCESS_CODE_MAX_FAILURES - failures };
  });
  if ('locked' in outcome && outcome.locked) {
    throw new AppError('locked', `入力の誤りが続いたため、一時的にロックされています。${formatDateTime(outcome.locked)} 以降に再度お試しください。`, {
      details: { lockedUntil: outcome.locked.toISOString() },
    });
  }
  if ('remaining' in outcome) {
    const msg = `アクセスコードが正しくありません（あと${outcome.remaining}回間違えると一時的にロックされます）。`;
    throw new AppError('unauthorized', msg, { fieldErrors: { code: msg }, details: { remaining: outcome.remaining } });
  }
  const prev = await readSignerSession(ctx.session, now);
  const factors = new Set<Factor>(prev && prev.r === recipient.id && prev.s === access.request.id ? prev.f : []);
  factors.add('access_code');
  return { session: await createSignerSession({ r: recipient.id, s: access.request.id, f: [...factors] }, now) };
}

// ---------------------------------------------------------------------------------------------
// Email one-time code (高度な認証)

function otpHash(recipientId: string, code: string): string {
  return hashToken(`otp:${recipientId}:${code}`);
}

/** Send a 6-digit code to the recipient's address. The access code (if any) must be passed first. */
export async function sendSigningOtp(db: Db, token: string, ctx: SigningContext = {}): Promise<{ sentTo: string }> {
  const now = ctx.now ?? new Date();
  const access = await requireLink(db, token, now);
  const { recipient, envelope } = access;
  if (!recipient.requireEmailOtp) throw new AppError('invalid_state', 'この署名依頼に確認コードは必要ありません。');
  const auth = await authState(access, ctx.session, now);
  if (!auth.accessCodeOk) throw new AppError('unauthorized', '先にアクセスコードを入力してください。');
  const since = new Date(now.getTime() - 15 * 60_000);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const mail = await renderOtpEmail({ recipientName: recipient.name, envelopeTitle: envelope.title, code, validMinutes: OTP_VALID_MINUTES });
  await db.$transaction(async (tx) => {
    // Counted under the recipient's row lock, so parallel requests cannot all pass the send limit.
    await tx.$queryRaw`SELECT id FROM recipients WHERE id = ${recipient.id}::uuid FOR UPDATE`;
    const recent = await tx.emailOtp.count({ where: { recipientId: recipient.id, createdAt: { gte: since } } });
    if (recent >= OTP_MAX_SENDS_PER_15_MIN) throw new AppError('rate_limited', '確認コードの送信回数が上限に達しました。しばらくしてから再度お試しください。');
    // Older codes stop working when a new one is sent.
    await tx.emailOtp.updateMany({ where: { recipientId: recipient.id, consumedAt: null }, data: { consumedAt: now } });
    const otp = await tx.emailOtp.create({
      data: { recipientId: recipient.id, codeHash: otpHash(recipient.id, code), expiresAt: new Date(now.getTime() + OTP_VALID_MINUTES * 60_000), createdAt: now },
    });
    await enqueueEmail(tx, {
      dedupeKey: `otp:${otp.id}`,
      kind: 'signing_otp',
      organizationId: envelope.organizationId,
      envelopeId: envelope.id,
      to: recipient.email,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
    });
    await recordAudit(tx, {
      organizationId: envelope.organizationId,
      envelopeId: envelope.id,
      ...actorOf(recipient),
      action: 'signing.otp_sent',
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      details: { recipientId: recipient.id, to: maskEmail(recipient.email) },
      at: now,
    });
  });
  return { sentTo: maskEmail(recipient.email) };
}

const otpSchema = z.string().trim().regex(/^\d{6}$/, '6桁の確認コードを入力してください。');

export async function verifySigningOtp(db: Db, token: string, code: string, ctx: SigningContext = {}): Promise<{ session: string }> {
  const now = ctx.now ?? new Date();
  const otpCode = parseField(otpSchema, code, 'code');
  const access = await requireLink(db, token, now);
  const { recipient, envelope } = access;
  const auth = await authState(access, ctx.session, now);
  if (!auth.accessCodeOk) throw new AppError('unauthorized', '先にアクセスコードを入力してください。');
  const result = await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM recipients WHERE id = ${recipient.id}::uuid FOR UPDATE`;
    const otp = await tx.emailOtp.findFirst({
      where: { recipientId: recipient.id, consumedAt: null, expiresAt: { gt: now } },
      orderBy: { createdAt: 'desc' },
    });
    const audit = (action: string, details: Record<string, unknown>) =>
      recordAudit(tx, {
        organizationId: envelope.organizationId,
        envelopeId: envelope.id,
        ...actorOf(recipient),
        action,
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        details: { recipientId: recipient.id, ...details },
        at: now,
      });
    if (!otp || otp.attempts >= OTP_MAX_ATTEMPTS) {
      await audit('signing.otp_failed', { reason: otp ? 'too_many_attempts' : 'no_valid_code' });
      return 'expired' as const;
    }
    if (!safeEqual(otp.codeHash, otpHash(recipient.id, otpCode))) {
      const attempts = otp.attempts + 1;
      await tx.emailOtp.update({ where: { id: otp.id }, data: { attempts, consumedAt: attempts >= OTP_MAX_ATTEMPTS ? now : null } });
      await audit('signing.otp_failed', { reason: 'wrong_code', attempts });
      return attempts >= OTP_MAX_ATTEMPTS ? ('expired' as const) : ('wrong' as const);
    }
    await tx.emailOtp.update({ where: { id: otp.id }, data: { consumedAt: now } });
    await audit('signing.otp_verified', {});
    return 'ok' as const;
  });
  if (result === 'expired') throw new AppError('unauthorized', '確認コードの有効期限が切れたか、入力回数の上限に達しました。確認コードを再送してください。', { fieldErrors: { code: '確認コードを再送してください。' } });
  if (result === 'wrong') throw new AppError('unauthorized', '確認コードが正しくありません。', { fieldErrors: { code: '確認コードが正しくありません。' } });
  const prev = await readSignerSession(ctx.session, now);
  const factors = new Set<Factor>(prev && prev.r === recipient.id && prev.s === access.request.id ? prev.f : []);
  factors.add('email_otp');
  return { session: await createSignerSession({ r: recipient.id, s: access.request.id, f: [...factors] }, now) };
}

// ---------------------------------------------------------------------------------------------
// 完了

export interface CompleteResult {
  /** false when this recipient had already completed (a second tab / double click). */
  completedNow: boolean;
  /** The envelope moved to `sealing` in this call. */
  sealingStarted: boolean;
  /** Recipients emailed next (sequential order). */
  notifiedNext: string[];
}

/** Signers of the lowest order that has not completed yet (the group whose turn it is). */
function currentGroup(signers: Recipient[]): Recipient[] {
  const pending = signers.filter((s) => !s.completedAt);
  if (!pending.length) return [];
  const min = Math.min(...pending.map((s) => s.order));
  return pending.filter((s) => s.order === min);
}

/**
 * The signer agrees to every document. Idempotent: a second call for the same recipient returns
 * completedNow=false and changes nothing. When this was the last signer, the envelope becomes
 * `sealing` and one 'seal-envelope' job is enqueued (singleton per envelope).
 */
export async function completeSigning(db: Db, token: string, ctx: SigningContext = {}): Promise<CompleteResult> {
  const now = ctx.now ?? new Date();
  const access = await requireLink(db, token, now);
  const auth = await authState(access, ctx.session, now);
  if (!auth.authenticated) throw new AppError('unauthorized', '認証が必要です。ページを再読み込みしてください。');
  return db.$transaction(
    async (tx) => {
      await lockEnvelope(tx, access.envelope.id);
      const envelope = await tx.envelope.findUniqueOrThrow({ where: { id: access.envelope.id }, include: { organization: true, createdBy: true } });
      const me = await tx.recipient.findUniqueOrThrow({ where: { id: access.recipient.id } });
      if (me.completedAt) return { completedNow: false, sealingStarted: false, notifiedNext: [] };
      if (me.declinedAt || envelope.status === 'declined') throw linkError('declined');
      if (envelope.status === 'voided') throw linkError('voided');
      if (envelope.status !== 'sent' && envelope.status !== 'in_progress') {
        throw new AppError('invalid_state', 'この封筒は現在署名できる状態ではありません。');
      }
      const signers = await tx.recipient.findMany({ where: { envelopeId: envelope.id, role: 'signer' }, orderBy: [{ order: 'asc' }, { createdAt: 'asc' }] });
      if (envelope.signingOrder === 'sequential' && !currentGroup(signers).some((s) => s.id === me.id)) throw linkError('not_ready');

      const updated = await tx.recipient.updateMany({
        where: { id: me.id, completedAt: null, declinedAt: null },
        data: {
          completedAt: now,
          completedIp: ctx.ip ?? null,
          completedUserAgent: ctx.userAgent ? ctx.userAgent.slice(0, 512) : null,
          authMethod: auth.authMethod,
        },
      });
      if (updated.count !== 1) return { completedNow: false, sealingStarted: false, notifiedNext: [] };
      await recordAudit(tx, {
        organizationId: envelope.organizationId,
        envelopeId: envelope.id,
        ...actorOf(me),
        action: 'signing.completed',
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        details: { recipientId: me.id, authMethod: auth.authMethod, order: me.order },
        at: now,
      });

      const after = signers.map((s) => (s.id === me.id ? { ...s, completedAt: now } : s));
      const remaining = after.filter((s) => !s.completedAt);
      if (!remaining.length) {
        const moved = await tx.envelope.updateMany({
          where: { id: envelope.id, status: { in: ['sent', 'in_progress'] } },
          data: { status: 'sealing', sealingStartedAt: now },
        });
        if (moved.count !== 1) return { completedNow: true, sealingStarted: false, notifiedNext: [] };
        await enqueueJob(tx, SEAL_JOB, { envelopeId: envelope.id }, { singletonKey: envelope.id, maxAttempts: SEAL_MAX_ATTEMPTS });
        await recordAudit(tx, {
          organizationId: envelope.organizationId,
          envelopeId: envelope.id,
          actorType: 'system',
          action: 'envelope.sealing_started',
          details: { signers: signers.length },
          at: now,
        });
        return { completedNow: true, sealingStarted: true, notifiedNext: [] };
      }
      if (envelope.status === 'sent') {
        await tx.envelope.updateMany({ where: { id: envelope.id, status: 'sent' }, data: { status: 'in_progress' } });
      }
      const notifiedNext: string[] = [];
      if (envelope.signingOrder === 'sequential') {
        for (const next of currentGroup(after)) {
          if (next.notifiedAt) continue; // already emailed (e.g. same order as me)
          await notifyRecipient(tx, envelope, next, { ip: ctx.ip, userAgent: ctx.userAgent, now });
          notifiedNext.push(next.id);
        }
      }
      return { completedNow: true, sealingStarted: false, notifiedNext };
    },
    { timeout: 30_000 },
  );
}

// ---------------------------------------------------------------------------------------------
// 差し戻し

export const declineReasonSchema = z
  .string()
  .trim()
  .min(1, '差し戻しの理由を入力してください。')
  .max(2000, '差し戻しの理由は2000文字以内で入力してください。');

/**
 * The signer returns the envelope with a reason: status `declined`, every signing link revoked,
 * the sender and the other parties emailed (once each).
 */
export async function declineSigning(db: Db, token: string, reason: string, ctx: SigningContext = {}): Promise<{ declinedNow: boolean }> {
  const now = ctx.now ?? new Date();
  const declineReason = parseField(declineReasonSchema, reason, 'reason');
  const access = await requireLink(db, token, now);
  const auth = await authState(access, ctx.session, now);
  if (!auth.authenticated) throw new AppError('unauthorized', '認証が必要です。ページを再読み込みしてください。');
  const appUrl = getConfig().APP_URL;
  return db.$transaction(
    async (tx) => {
      await lockEnvelope(tx, access.envelope.id);
      const envelope = await tx.envelope.findUniqueOrThrow({ where: { id: access.envelope.id }, include: { organization: true, createdBy: true } });
      const me = await tx.recipient.findUniqueOrThrow({ where: { id: access.recipient.id } });
      if (envelope.status === 'declined') return { declinedNow: false };
      if (me.completedAt) throw new AppError('invalid_state', '署名手続きを完了済みのため、差し戻しできません。');
      if (envelope.status !== 'sent' && envelope.status !== 'in_progress') {
        throw new AppError('invalid_state', 'この封筒は現在差し戻しできる状態ではありません。');
      }
      await tx.recipient.update({ where: { id: me.id }, data: { declinedAt: now, declineReason } });
      await tx.envelope.update({ where: { id: envelope.id }, data: { status: 'declined', declinedAt: now, declineReason: declineReason } });
      await tx.signingRequest.updateMany({ where: { recipient: { envelopeId: envelope.id }, revokedAt: null }, data: { revokedAt: now } });
      await recordAudit(tx, {
        organizationId: envelope.organizationId,
        envelopeId: envelope.id,
        ...actorOf(me),
        action: 'signing.declined',
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        details: { recipientId: me.id, reason: declineReason },
        at: now,
      });
      const others = await tx.recipient.findMany({ where: { envelopeId: envelope.id, id: { not: me.id } } });
      const to = new Map<string, { name: string; isSender: boolean }>();
      if (envelope.createdBy) to.set(envelope.createdBy.email.toLowerCase(), { name: envelope.createdBy.name, isSender: true });
      for (const o of others) if (!to.has(o.email.toLowerCase())) to.set(o.email.toLowerCase(), { name: o.name, isSender: false });
      to.delete(me.email.toLowerCase());
      for (const [email, who] of to) {
        const mail = await renderDeclineEmail({
          envelopeTitle: envelope.title,
          documentNumber: envelope.documentNumber,
          recipientName: who.name,
          declinedBy: me.name,
          declinedByCompany: me.company,
          reason: declineReason,
          declinedAtLabel: `${formatDateTime(now)}（日本時間）`,
          senderOrganization: envelope.organization.name,
          envelopeUrl: who.isSender ? new URL(`/envelopes/${envelope.id}`, appUrl).toString() : null,
        });
        await enqueueEmail(tx, {
          dedupeKey: `decline:${envelope.id}:${email}`,
          kind: 'envelope_declined',
          organizationId: envelope.organizationId,
          envelopeId: envelope.id,
          to: email,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
        });
      }
      return { declinedNow: true };
    },
    { timeout: 30_000 },
  );
}
