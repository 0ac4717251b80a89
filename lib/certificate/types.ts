/** Everything printed on the 合意締結証明書. Dates are UTC instants; they are shown in Asia/Tokyo. */
export interface CertificateDocument {
  fileName: string;
  pageCount: number;
  /** SHA-256 (hex) of the uploaded original. */
  sha256Before: string;
  /** SHA-256 (hex) of the sealed file. */
  sha256After: string | null;
}

export interface CertificateParty {
  role: 'signer' | 'cc';
  partyType: 'supplier' | 'municipal';
  order: number;
  name: string;
  title?: string | null;
  company?: string | null;
  email: string;
  /** e.g. "email_link", "email_link+access_code", "email_link+email_otp". */
  authMethod?: string | null;
  notifiedAt?: Date | null;
  openedAt?: Date | null;
  openedIp?: string | null;
  openedUserAgent?: string | null;
  completedAt?: Date | null;
  completedIp?: string | null;
  completedUserAgent?: string | null;
  declinedAt?: Date | null;
  declineReason?: string | null;
}

export interface CertificateEvent {
  at: Date;
  /** Japanese label of the action (e.g. 「署名依頼メール送信」). */
  label: string;
  actor?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface CertificateData {
  serviceName: string;
  envelope: {
    documentNumber: string;
    title: string;
    counterparty: string;
    transactionDate?: Date | null;
    amount?: bigint | null;
    amountTaxIncluded: boolean;
    taxAmount?: bigint | null;
    contractNumber?: string | null;
    sentAt?: Date | null;
    completedAt?: Date | null;
  };
  sender: { organizationName: string; name?: string | null; email?: string | null };
  documents: CertificateDocument[];
  parties: CertificateParty[];
  events: CertificateEvent[];
  sealedAt: Date;
  issuedAt: Date;
}
