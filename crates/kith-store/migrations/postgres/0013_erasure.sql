-- Erasure (Art. 17). Exceptions the DPO records (a legal hold or an
-- Art. 17(3) ground) stop an erasure; their note is sealed under the
-- person's key. No foreign key: erasing or deleting the person drops them.
CREATE TABLE erasure_exceptions (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    ground TEXT NOT NULL,
    at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    sealed BYTEA NOT NULL
);
CREATE INDEX erasure_exceptions_contact ON erasure_exceptions (contact_id);

-- The suppression list: keyed hashes (blind-index terms under fields of
-- their own, suppressed_email and suppressed_phone) of an erased person's
-- e-mail addresses and phone numbers, never the values, so the person is
-- not created again without an explicit override.
CREATE TABLE suppressions (
    term BYTEA PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The signed receipt of an erasure: categories and counts, no values, so
-- it is kept in clear beside the request.
CREATE TABLE erasure_receipts (
    request_id TEXT PRIMARY KEY,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Art. 19: one task per recipient (a third-party key that could read
-- contacts and was used) to tell of the erasure.
CREATE TABLE erasure_notifications (
    request_id TEXT NOT NULL,
    api_key_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, api_key_id)
);
