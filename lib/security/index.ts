export { newToken, hashToken, safeEqual, looksLikeToken, sha256Hex } from './tokens';
export { safeLocalPath } from './redirect';
