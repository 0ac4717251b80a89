-- Staff MFA (TOTP, RFC 6238): the last accepted 30-second time-step per user, so a code that was
-- accepted once (login, disable) cannot be replayed. users.mfa_secret (already present) holds the
-- shared secret encrypted with a key derived from the master key.
ALTER TABLE "users" ADD COLUMN "mfa_last_step" BIGINT;
