/**
 * lib/tsa — RFC 3161 time-stamping: the HTTP client (`createTsaClient`), the built-in TSA
 * (`createTimestampResponse`, `startTsaServer`) and token inspection/verification.
 */
export type { TimestampResult, TsaClient } from './types';
export {
  createTsaClient,
  getTsaClient,
  buildTimestampRequest,
  checkTimestampResponse,
  checkedTimestampChain,
  TSA_ERROR_MESSAGE,
  type TsaClientOptions,
} from './client';
export {
  createTimestampResponse,
  startTsaServer,
  BUILTIN_TSA_POLICY,
  TSA_MAX_REQUEST_BYTES,
  type TimestampResponseOptions,
  type TsaServer,
} from './server';
export {
  parseTimestampToken,
  verifyTimestampToken,
  timestampFailureMessage,
  TimestampTokenError,
  type ParsedTimestampToken,
  type TimestampVerification,
  type TokenCheckOptions,
} from './token';
export { readBodyLimited, mediaType, binaryResponse, textResponse } from './http';
