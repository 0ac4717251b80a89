/** Contract search (電子帳簿保存法 検索要件): filters, keyset pages, CSV export. */
export { normalizeForSearch } from './normalize';
export {
  ENVELOPE_STATUSES,
  EMPTY_FIELDS,
  SORT_KEYS,
  searchFiltersSchema,
  pageOptionsSchema,
  parseFilters,
  parsePageOptions,
  parseSearchParams,
  toSearchParams,
  filtersForAudit,
  type SearchFilters,
  type SearchFiltersInput,
  type PageOptions,
  type PageOptionsInput,
  type SortKey,
  type Direction,
  type EmptyField,
  type EnvelopeStatusValue,
} from './filters';
export { searchEnvelopes, scopeFor, fetchPage, countMatches, chooseCounterpartyMode, searchWhere, type SearchWhere, type SearchRow, type SearchResult, type SearchTotal } from './search';
export {
  COUNT_CAP,
  whereFor,
  counterpartyEstimateSql,
  GRAMS_MAX_ESTIMATE,
  GRAMS_MAX_ESTIMATE_COUNT,
  type CounterpartyMode,
  type PageBranch,
  pageSql,
  countSql,
  estimateSql,
  queryGrams,
  normalizeLoose,
  encodeCursor,
  decodeCursor,
  type SearchScope,
  type CursorPosition,
} from './query';
export { exportSearchCsv, csvReadableStream, csvFileName, csvField, csvLine, CSV_HEADERS } from './csv';
export { STATUS_LABELS, EMPTY_FIELD_LABELS, SORT_LABELS, statusLabel } from './labels';
