export type { StaffActor } from './types';
export { hashPassword, verifyPassword, MIN_PASSWORD_LENGTH } from './password';
export { ipAllowed, parseCidr } from './ip';
export {
  SESSION_COOKIE,
  MAX_FAILED_LOGINS,
  MAX_FAILED_LOGINS_PER_IP,
  RATE_LIMITED_MESSAGE,
  resetLoginThrottle,
  LOCKOUT_WINDOW_MS,
  LOGIN_FAILED_MESSAGE,
  LOGIN_LOCKED_MESSAGE,
  IP_DENIED_MESSAGE,
  loginSchema,
  staffEmailSchema,
  login,
  beginLogin,
  completeMfaLogin,
  MFA_REQUIRED_MESSAGE,
  MFA_CODE_FAILED_MESSAGE,
  MFA_PENDING_EXPIRED_MESSAGE,
  type MfaChallenge,
  logout,
  getSessionActor,
  purgeExpiredSessions,
  type LoginInput,
  type LoginResult,
  type SessionCheck,
} from './sessions';
export { createStaffUser } from './users';
export { getMfaStatus, startMfaEnrolment, confirmMfaEnrolment, disableMfa, regenerateRecoveryCodes, MFA_ISSUER, type MfaEnrolment } from './mfa';
export { RECOVERY_CODE_COUNT, normalizeRecoveryCode } from './recovery';
export { MFA_PENDING_TTL_MS, rewrapMfaSecret } from './mfa-crypto';
export { totp, hotp, matchTotp, base32Encode, base32Decode, timeStep, normalizeTotpCode, otpauthUri } from './totp';
