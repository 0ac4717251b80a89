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
  login,
  logout,
  getSessionActor,
  purgeExpiredSessions,
  type LoginInput,
  type LoginResult,
  type SessionCheck,
} from './sessions';
export { createStaffUser } from './users';
