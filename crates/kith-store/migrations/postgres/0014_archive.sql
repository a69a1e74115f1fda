-- Download links of the access and portability archive: single use,
-- expiring, stored as the SHA-256 of the token. `used_at` is when the
-- archive was downloaded with it; a request whose archive was downloaded
-- may be completed.
CREATE TABLE dsr_export_links (
    token_hash BYTEA PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX dsr_export_links_request ON dsr_export_links (request_id);
