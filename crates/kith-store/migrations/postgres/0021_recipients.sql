-- The register of recipients (Art. 28, 30(1)(d)-(e)): organisations, not
-- data subjects, so their documents are plain JSON. A recipient that ends
-- stays in the register: the audit log names what it received.
CREATE TABLE recipients (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT
);

-- Every API key now belongs to a recipient of the register, whose transfer
-- rules it obeys. Keys issued before the register named a recipient only
-- in words: they stop, and the DPO issues new ones to registered recipients.
UPDATE api_keys SET revoked_at = (extract(epoch FROM now()) * 1000)::bigint WHERE revoked_at IS NULL;
