-- 操作ログ tamper evidence (lib/audit, docs/audit-trail.md).
--
-- 1. A keyed chain: new events are hashed with HMAC-SHA-256 under a key derived from the master key
--    (hash_version 2); events written before this migration keep plain SHA-256 (hash_version 1) and
--    stay verifiable. A version-1 event after a version-2 event of the same organisation is a break.
ALTER TABLE "audit_events" ADD COLUMN "hash_version" SMALLINT NOT NULL DEFAULT 1;
ALTER TABLE "audit_events" ALTER COLUMN "hash_version" DROP DEFAULT;

-- 2. One row per verification run of an organisation's chain, with the RFC 3161 time-stamp token
--    over the verified head (the anchor). Append-only like the log itself.
-- CreateTable
CREATE TABLE "audit_verifications" (
    "id" BIGSERIAL NOT NULL,
    "organization_id" UUID NOT NULL,
    "verified_at" TIMESTAMPTZ(3) NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "events_checked" INTEGER NOT NULL,
    "head_event_id" BIGINT,
    "head_hash" TEXT,
    "first_broken_event_id" BIGINT,
    "problem" TEXT,
    "imprint" TEXT,
    "timestamp_token" BYTEA,
    "timestamped_at" TIMESTAMPTZ(3),
    "timestamp_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_verifications_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_verifications_organization_id_id_idx" ON "audit_verifications"("organization_id", "id");

-- AddForeignKey
ALTER TABLE "audit_verifications" ADD CONSTRAINT "audit_verifications_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE OR REPLACE FUNCTION "audit_verifications_append_only"() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_verifications is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "audit_verifications_no_update_delete"
  BEFORE UPDATE OR DELETE ON "audit_verifications"
  FOR EACH ROW EXECUTE FUNCTION "audit_verifications_append_only"();

CREATE TRIGGER "audit_verifications_no_truncate"
  BEFORE TRUNCATE ON "audit_verifications"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_verifications_append_only"();
