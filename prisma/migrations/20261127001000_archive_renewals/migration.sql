-- Archive timestamp renewal (DESIGN.md §3, PADES.md §1 B-LTA): each renewal is a new, append-only
-- version of a sealed file; the sealed blob ids of documents / completion certificates never change.

-- CreateTable
CREATE TABLE "archive_renewals" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "envelope_id" UUID NOT NULL,
    "document_id" UUID,
    "certificate_id" UUID,
    "previous_blob_id" UUID NOT NULL,
    "blob_id" UUID NOT NULL,
    "sha256" TEXT NOT NULL,
    "tsa_not_after" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "archive_renewals_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "archive_renewals_one_file" CHECK (num_nonnulls("document_id", "certificate_id") = 1),
    CONSTRAINT "archive_renewals_new_blob" CHECK ("blob_id" <> "previous_blob_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "archive_renewals_previous_blob_id_key" ON "archive_renewals"("previous_blob_id");

-- CreateIndex
CREATE UNIQUE INDEX "archive_renewals_blob_id_key" ON "archive_renewals"("blob_id");

-- CreateIndex
CREATE INDEX "archive_renewals_envelope_id_created_at_idx" ON "archive_renewals"("envelope_id", "created_at");

-- CreateIndex
CREATE INDEX "archive_renewals_document_id_idx" ON "archive_renewals"("document_id");

-- CreateIndex
CREATE INDEX "archive_renewals_certificate_id_idx" ON "archive_renewals"("certificate_id");

-- AddForeignKey
ALTER TABLE "archive_renewals" ADD CONSTRAINT "archive_renewals_envelope_id_fkey" FOREIGN KEY ("envelope_id") REFERENCES "envelopes"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "archive_renewals" ADD CONSTRAINT "archive_renewals_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "archive_renewals" ADD CONSTRAINT "archive_renewals_certificate_id_fkey" FOREIGN KEY ("certificate_id") REFERENCES "completion_certificates"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "archive_renewals" ADD CONSTRAINT "archive_renewals_previous_blob_id_fkey" FOREIGN KEY ("previous_blob_id") REFERENCES "stored_blobs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "archive_renewals" ADD CONSTRAINT "archive_renewals_blob_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "stored_blobs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- archive_renewals is append-only: refuse UPDATE, DELETE and TRUNCATE (電子帳簿保存法: no silent replacement).
CREATE OR REPLACE FUNCTION "archive_renewals_append_only"() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'sealed_file: archive_renewals is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "archive_renewals_no_update_delete"
  BEFORE UPDATE OR DELETE ON "archive_renewals"
  FOR EACH ROW EXECUTE FUNCTION "archive_renewals_append_only"();

CREATE TRIGGER "archive_renewals_no_truncate"
  BEFORE TRUNCATE ON "archive_renewals"
  FOR EACH STATEMENT EXECUTE FUNCTION "archive_renewals_append_only"();

-- A renewed version is frozen like the sealed file it extends (stored_blobs_guard_sealed uses this).
CREATE OR REPLACE FUNCTION "stored_blob_is_sealed"(blob uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM "documents" WHERE "sealed_blob_id" = blob)
      OR EXISTS (SELECT 1 FROM "completion_certificates" WHERE "blob_id" = blob)
      OR EXISTS (SELECT 1 FROM "documents" d JOIN "envelopes" e ON e."id" = d."envelope_id"
                  WHERE d."original_blob_id" = blob AND e."status" = 'completed')
      OR EXISTS (SELECT 1 FROM "archive_renewals" WHERE "blob_id" = blob)
$$;
