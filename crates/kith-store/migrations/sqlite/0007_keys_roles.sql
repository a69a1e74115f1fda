-- Third-party API keys. The key is stored as its SHA-256 only; `document`
-- holds the recipient, purposes, permissions and allowed addresses.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash BLOB NOT NULL UNIQUE,
    document TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER
);

-- Roles admins define beside the built-in ones: a name and its permissions.
CREATE TABLE custom_roles (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
