-- Keyset indexes for date and amount also carry counterparty_normalized, so a common 1–2 character
-- counterparty query (say 「株式」) is answered by walking the index in order and testing
-- LIKE '%q%' on the index tuple (index-only), instead of fetching every matching row from the heap
-- through the grams GIN index. lib/search picks the path from the planner's estimate.

-- DropIndex
DROP INDEX "envelopes_organization_id_transaction_date_id_idx";

-- DropIndex
DROP INDEX "envelopes_organization_id_amount_id_idx";

-- CreateIndex
CREATE INDEX "envelopes_org_date_search_idx" ON "envelopes"("organization_id", "transaction_date", "id", "counterparty_normalized");

-- CreateIndex
CREATE INDEX "envelopes_org_amount_search_idx" ON "envelopes"("organization_id", "amount", "id", "counterparty_normalized");
