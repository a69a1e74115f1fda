-- Staff accounts. A user is a data subject too: e-mail address and
-- display name are sealed in `sealed` under the user's own data key in
-- `data_keys` (subject = the user id), found again through
-- `email_term`, the blind-index term of the lower-cased address. Roles,
-- teams, status, times and the Argon2id hash (a PHC string) are clear; the
-- TOTP secret, enrolled or pending, is sealed under the same key.
-- `totp_last_step` is the last time step a code was accepted for (replay
-- protection). Failed logins are counted here so every server sees them.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email_term BYTEA NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    roles TEXT NOT NULL,
    teams TEXT NOT NULL,
    status TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    totp_sealed BYTEA,
    totp_pending BYTEA,
    totp_last_step BIGINT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    first_failed_at BIGINT,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Recovery codes: SHA-256 of each (80 random bits), usable once.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    code_hash BYTEA NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Browser sessions: SHA-256 of the cookie's 256-bit secret (the CSRF token
-- is derived from the secret, so nothing more is stored), the absolute
-- expiry, the last use for the idle expiry, and revocation.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    secret_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);
