-- Each per-organisation keyset index carries all three 電子帳簿保存法 search fields
-- (取引年月日, 取引金額, 取引先), so any combination of them is tested on index tuples
-- (index-only scans for counts and for the id list of a page) instead of one heap fetch per row.

-- DropIndex
DROP INDEX "envelopes_org_date_search_idx";

-- DropIndex
DROP INDEX "envelopes_org_amount_search_idx";

-- DropIndex
DROP INDEX "envelopes_organization_id_counterparty_normalized_id_idx";

-- CreateIndex
CREATE INDEX "envelopes_org_date_search_idx" ON "envelopes"("organization_id", "transaction_date", "id", "counterparty_normalized", "amount");

-- CreateIndex
CREATE INDEX "envelopes_org_amount_search_idx" ON "envelopes"("organization_id", "amount", "id", "counterparty_normalized", "transaction_date");

-- CreateIndex
CREATE INDEX "envelopes_org_counterparty_search_idx" ON "envelopes"("organization_id", "counterparty_normalized", "id", "transaction_date", "amount");
