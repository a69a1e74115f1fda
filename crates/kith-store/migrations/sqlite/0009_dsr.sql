-- The data-subject request register (Art. 12-22). Clear columns hold only
-- what deadlines, lists and verification need: kind, status, channel, the
-- matched contact's id, the purpose of an objection (a catalogue key),
-- times, counters and the SHA-256 of the pending verification token. What
-- the person gave (e-mail address, phone number) and what staff wrote
-- (notes, grounds, reasons, the attestation, the rectification changes)
-- is sealed in `sealed` under a data key of the request's own, in
-- `data_keys` with the request id as subject. `contact_id` has no foreign
-- key: the register outlives an erased person.
CREATE TABLE dsr_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    contact_id TEXT,
    purpose TEXT,
    received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    extended_months INTEGER NOT NULL DEFAULT 0,
    person_told_at INTEGER,
    verified_at INTEGER,
    verification_method TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    token_hash BLOB,
    token_expires_at INTEGER,
    completed_at INTEGER,
    closed_at INTEGER,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX dsr_requests_due ON dsr_requests (due_at, id);
CREATE INDEX dsr_requests_status ON dsr_requests (status, due_at);
CREATE INDEX dsr_requests_contact ON dsr_requests (contact_id);
