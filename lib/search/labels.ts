/** Japanese labels for search results and the CSV. */
import type { EnvelopeStatusValue, EmptyField, SortKey } from './filters';

export const STATUS_LABELS: Record<EnvelopeStatusValue, string> = {
  draft: '下書き',
  sent: '送信済み',
  in_progress: '署名中',
  sealing: '封緘中',
  completed: '締結完了',
  declined: '却下',
  voided: '取消',
  expired: '期限切れ',
};

export const EMPTY_FIELD_LABELS: Record<EmptyField, string> = {
  counterparty: '取引先',
  transactionDate: '取引年月日',
  amount: '取引金額',
  contractNumber: '契約番号',
};

export const SORT_LABELS: Record<SortKey, string> = {
  transactionDate: '取引年月日',
  amount: '取引金額',
  counterparty: '取引先',
};

export function statusLabel(s: string): string {
  return (STATUS_LABELS as Record<string, string>)[s] ?? s;
}
