-- The register of recipients (Art. 28, 30(1)(d)-(e)): organisations, not
-- data subjects, so their documents are plain JSON. A recipient that ends
-- stays in the register: the audit log names what it received.
CREATE TABLE recipients (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    ended_at INTEGER
);

-- Every API key now belongs to a recipient of the register, whose transfer
-- rules it obeys. Keys issued before the register named a recipient only
-- in words: they stop, and the DPO issues new ones to registered recipients.
UPDATE api_keys SET revoked_at = CAST(strftime('%s','now') AS INTEGER) * 1000 WHERE revoked_at IS NULL;
