-- Contract search (電子帳簿保存法 検索要件) and the 真実性 guards (issue 5).

-- Every distinct 1- and 2-character substring of an (already normalised) string, each prefixed
-- with a short tenant tag (the first 8 hex digits of the organisation id) so that one GIN index
-- answers "this organisation's counterparties containing X" from small posting lists.
-- A query of 1 or 2 characters is one element; a longer one needs all of its bigrams (then
-- LIKE '%q%' rechecks). Works in any database locale, unlike pg_trgm (which ignores CJK in the
-- C locale and cannot serve queries under 3 characters). A tag collision between two
-- organisations only costs speed: queries always filter organization_id too.
CREATE OR REPLACE FUNCTION "search_grams"(tag text, s text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT tag || ':' || g), ARRAY[]::text[])
    FROM (
      SELECT substr(s, i, 1) AS g FROM generate_series(1, char_length(s)) AS i
      UNION ALL
      SELECT substr(s, i, 2) FROM generate_series(1, char_length(s) - 1) AS i
    ) AS t
$$;

-- AlterTable
ALTER TABLE "envelopes" ADD COLUMN "counterparty_grams" TEXT[] GENERATED ALWAYS AS (search_grams(left("organization_id"::text, 8), "counterparty_normalized")) STORED;

-- CreateIndex
CREATE INDEX "envelopes_organization_id_transaction_date_id_idx" ON "envelopes"("organization_id", "transaction_date", "id");

-- CreateIndex
CREATE INDEX "envelopes_organization_id_amount_id_idx" ON "envelopes"("organization_id", "amount", "id");

-- CreateIndex
CREATE INDEX "envelopes_organization_id_counterparty_normalized_id_idx" ON "envelopes"("organization_id", "counterparty_normalized", "id");

-- CreateIndex
CREATE INDEX "envelopes_counterparty_grams_idx" ON "envelopes" USING GIN ("counterparty_grams");

-- ---------------------------------------------------------------------------------------------
-- envelope_corrections is append-only: refuse UPDATE, DELETE and TRUNCATE.
CREATE OR REPLACE FUNCTION "envelope_corrections_append_only"() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'envelope_corrections is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "envelope_corrections_no_update_delete"
  BEFORE UPDATE OR DELETE ON "envelope_corrections"
  FOR EACH ROW EXECUTE FUNCTION "envelope_corrections_append_only"();

CREATE TRIGGER "envelope_corrections_no_truncate"
  BEFORE TRUNCATE ON "envelope_corrections"
  FOR EACH STATEMENT EXECUTE FUNCTION "envelope_corrections_append_only"();

-- ---------------------------------------------------------------------------------------------
-- A completed contract's files can be neither replaced nor deleted (SQLSTATE 42501, message
-- prefixed "sealed_file:" so lib/records can recognise it).

CREATE OR REPLACE FUNCTION "envelope_is_completed"(envelope uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM "envelopes" WHERE "id" = envelope AND "status" = 'completed')
$$;

-- Was a correction of this field to this value recorded by the current transaction?
CREATE OR REPLACE FUNCTION "envelope_correction_recorded"(envelope uuid, f text, v text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM "envelope_corrections" c
     WHERE c."envelope_id" = envelope AND c."field" = f AND c."new_value" IS NOT DISTINCT FROM v
       AND c.xmin::text::bigint = (pg_current_xact_id()::text::bigint % 4294967296)
  )
$$;

CREATE OR REPLACE FUNCTION "envelopes_guard_completed"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD."status" = 'completed' THEN
      RAISE EXCEPTION 'sealed_file: a completed envelope cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD."status" = 'completed' THEN
    IF NEW."status" IS DISTINCT FROM OLD."status" OR NEW."is_paper" IS DISTINCT FROM OLD."is_paper"
       OR NEW."organization_id" IS DISTINCT FROM OLD."organization_id"
       OR NEW."document_number" IS DISTINCT FROM OLD."document_number" THEN
      RAISE EXCEPTION 'sealed_file: a completed envelope cannot change status, kind, owner or 書類ID' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Search fields change only through an envelope_corrections row in the same transaction.
    IF (NEW."title" IS DISTINCT FROM OLD."title" AND NOT envelope_correction_recorded(OLD."id", 'title', NEW."title"))
       OR (NEW."counterparty" IS DISTINCT FROM OLD."counterparty" AND NOT envelope_correction_recorded(OLD."id", 'counterparty', NEW."counterparty"))
       OR (NEW."transaction_date" IS DISTINCT FROM OLD."transaction_date" AND NOT envelope_correction_recorded(OLD."id", 'transactionDate', to_char(NEW."transaction_date", 'YYYY-MM-DD')))
       OR (NEW."amount" IS DISTINCT FROM OLD."amount" AND NOT envelope_correction_recorded(OLD."id", 'amount', NEW."amount"::text))
       OR (NEW."amount_tax_included" IS DISTINCT FROM OLD."amount_tax_included" AND NOT envelope_correction_recorded(OLD."id", 'amountTaxIncluded', NEW."amount_tax_included"::text))
       OR (NEW."tax_amount" IS DISTINCT FROM OLD."tax_amount" AND NOT envelope_correction_recorded(OLD."id", 'taxAmount', NEW."tax_amount"::text))
       OR (NEW."contract_number" IS DISTINCT FROM OLD."contract_number" AND NOT envelope_correction_recorded(OLD."id", 'contractNumber', NEW."contract_number")) THEN
      RAISE EXCEPTION 'sealed_file: search fields of a completed envelope change only with a recorded correction' USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "envelopes_guard_completed"
  BEFORE UPDATE OR DELETE ON "envelopes"
  FOR EACH ROW EXECUTE FUNCTION "envelopes_guard_completed"();

CREATE OR REPLACE FUNCTION "documents_guard_sealed"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF envelope_is_completed(OLD."envelope_id") THEN
      RAISE EXCEPTION 'sealed_file: a document of a completed envelope cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF envelope_is_completed(NEW."envelope_id") THEN
      RAISE EXCEPTION 'sealed_file: a completed envelope cannot get new documents' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF (OLD."sealed_blob_id" IS NOT NULL AND NEW."sealed_blob_id" IS DISTINCT FROM OLD."sealed_blob_id")
     OR (OLD."sealed_sha256" IS NOT NULL AND NEW."sealed_sha256" IS DISTINCT FROM OLD."sealed_sha256") THEN
    RAISE EXCEPTION 'sealed_file: a sealed document cannot be replaced' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (envelope_is_completed(OLD."envelope_id") OR envelope_is_completed(NEW."envelope_id"))
     AND (NEW."original_blob_id" IS DISTINCT FROM OLD."original_blob_id" OR NEW."sha256" IS DISTINCT FROM OLD."sha256"
          OR NEW."envelope_id" IS DISTINCT FROM OLD."envelope_id" OR NEW."kind" IS DISTINCT FROM OLD."kind") THEN
    RAISE EXCEPTION 'sealed_file: a document of a completed envelope cannot be replaced' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "documents_guard_sealed"
  BEFORE INSERT OR UPDATE OR DELETE ON "documents"
  FOR EACH ROW EXECUTE FUNCTION "documents_guard_sealed"();

-- A blob that is a sealed document, a certificate, or any file of a completed envelope is frozen.
CREATE OR REPLACE FUNCTION "stored_blob_is_sealed"(blob uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM "documents" WHERE "sealed_blob_id" = blob)
      OR EXISTS (SELECT 1 FROM "completion_certificates" WHERE "blob_id" = blob)
      OR EXISTS (SELECT 1 FROM "documents" d JOIN "envelopes" e ON e."id" = d."envelope_id"
                  WHERE d."original_blob_id" = blob AND e."status" = 'completed')
$$;

CREATE OR REPLACE FUNCTION "stored_blobs_guard_sealed"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF stored_blob_is_sealed(OLD."id") THEN
      RAISE EXCEPTION 'sealed_file: a sealed file cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  -- Re-wrapping the data key (master key rotation) is allowed; the content identity is not.
  IF (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."storage_key" IS DISTINCT FROM OLD."storage_key"
      OR NEW."sha256" IS DISTINCT FROM OLD."sha256" OR NEW."size_bytes" IS DISTINCT FROM OLD."size_bytes")
     AND stored_blob_is_sealed(OLD."id") THEN
    RAISE EXCEPTION 'sealed_file: a sealed file cannot be replaced' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "stored_blobs_guard_sealed"
  BEFORE UPDATE OR DELETE ON "stored_blobs"
  FOR EACH ROW EXECUTE FUNCTION "stored_blobs_guard_sealed"();

CREATE OR REPLACE FUNCTION "completion_certificates_guard_sealed"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF envelope_is_completed(OLD."envelope_id") THEN
      RAISE EXCEPTION 'sealed_file: the completion certificate of a completed envelope cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF NEW."blob_id" IS DISTINCT FROM OLD."blob_id" OR NEW."sha256" IS DISTINCT FROM OLD."sha256"
     OR NEW."envelope_id" IS DISTINCT FROM OLD."envelope_id" THEN
    RAISE EXCEPTION 'sealed_file: a completion certificate cannot be replaced' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "completion_certificates_guard_sealed"
  BEFORE UPDATE OR DELETE ON "completion_certificates"
  FOR EACH ROW EXECUTE FUNCTION "completion_certificates_guard_sealed"();
