-- The privacy portal. A link request keeps the SHA-256 of its single-use
-- token, the matched person's id (NULL when the address matched nobody:
-- the message then says so, and the token opens nothing) and times. Its
-- message waits in `outbox` sealed under a data key of the link's own
-- (`data_keys`, subject = the link id, owner `portal_links`); the link,
-- its key and its message go together when it is used or expires.
-- A portal session holds the SHA-256 of its cookie's secret and the
-- person it is bound to; nothing else.
CREATE TABLE portal_links (
    id TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    contact_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_links_expiry ON portal_links (expires_at);
CREATE INDEX portal_links_contact ON portal_links (contact_id);

CREATE TABLE portal_sessions (
    token_hash BYTEA PRIMARY KEY,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_contact ON portal_sessions (contact_id);
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);
