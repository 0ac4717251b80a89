-- The 操作ログ chain's HMAC key: a random 32-byte key, wrapped by the master key (AES-256-GCM) and
-- stored here with the wrapping key's id, so a master-key rotation re-wraps it (npm run key:rotate)
-- and events hashed before a rotation stay verifiable after it. One row (id = 1). The application
-- role may only SELECT and INSERT it (lib/db APPEND_ONLY_TABLES); re-wrapping runs as the owner.
-- CreateTable
CREATE TABLE "audit_chain_keys" (
    "id" SMALLINT NOT NULL DEFAULT 1,
    "wrapped_key" TEXT NOT NULL,
    "master_key_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_chain_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "audit_chain_keys_one_row" CHECK ("id" = 1)
);
