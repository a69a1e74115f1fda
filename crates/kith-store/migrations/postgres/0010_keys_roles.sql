-- Third-party API keys. The key is stored as its SHA-256 only; `document`
-- holds the recipient, purposes, permissions and allowed addresses.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash BYTEA NOT NULL UNIQUE,
    document TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT
);

-- Roles admins define beside the built-in ones: a name and its permissions.
CREATE TABLE custom_roles (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
