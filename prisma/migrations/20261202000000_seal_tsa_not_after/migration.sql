-- Archive renewal without re-reading archives: the notAfter of the TSA certificate of each sealed file's
-- newest document timestamp is stored when it is sealed (renewals already store theirs), so the daily
-- renewal selects due files with one indexed query. Files sealed before this migration are back-filled
-- once by the renewal code (lib/envelopes/archive.ts, backfillTsaNotAfter): SQL cannot read the
-- encrypted PDFs.

-- AlterTable
ALTER TABLE "documents" ADD COLUMN "tsa_not_after" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "completion_certificates" ADD COLUMN "tsa_not_after" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "documents_tsa_not_after_idx" ON "documents"("tsa_not_after");

-- CreateIndex
CREATE INDEX "completion_certificates_tsa_not_after_idx" ON "completion_certificates"("tsa_not_after");

-- CreateIndex
CREATE INDEX "archive_renewals_tsa_not_after_idx" ON "archive_renewals"("tsa_not_after");
