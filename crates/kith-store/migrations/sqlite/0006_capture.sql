-- Public consent capture. Forms hold no personal data (a label, purpose
-- keys, a notice version). A pending confirmation holds only the hash of
-- its token, times, and `sealed` (e-mail, names, chosen purposes, client
-- address, user agent, GPC flag) under a data key of its own in
-- `data_keys` (subject = the pending id): deleting the row and that key
-- when the confirmation is used or expires shreds the submission. Outbox
-- messages are sealed under the same key.
CREATE TABLE capture_forms (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    purposes TEXT NOT NULL,
    notice_version TEXT NOT NULL REFERENCES notices (version),
    source TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at INTEGER
);

CREATE TABLE pending_confirmations (
    id TEXT PRIMARY KEY,
    form_key TEXT NOT NULL REFERENCES capture_forms (key),
    token_hash BLOB NOT NULL UNIQUE,
    submitted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX pending_confirmations_expiry ON pending_confirmations (expires_at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    pending_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX outbox_pending ON outbox (pending_id);
CREATE INDEX outbox_created ON outbox (created_at, id);
