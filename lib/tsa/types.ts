/** RFC 3161 time-stamping. */

export interface TimestampResult {
  /** DER ContentInfo (SignedData with eContentType id-ct-TSTInfo): the TimeStampToken. */
  token: Uint8Array;
  genTime: Date;
  serialNumber: string;
  /** The TSA's certificate chain found in the token (DER), signer first. */
  certificates: Uint8Array[];
}

export interface TsaClient {
  /** Time-stamp a SHA-256 digest (32 bytes). Throws AppError('tsa_unavailable') when the TSA cannot be reached. */
  timestamp(sha256Digest: Uint8Array): Promise<TimestampResult>;
}
