-- Legal-claims exceptions to a restriction (Art. 18(2)): the DPO allows one
-- purpose for a restricted person. The note is sealed under the person's key.
CREATE TABLE legal_claims (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    sealed BYTEA NOT NULL
);
CREATE INDEX legal_claims_contact ON legal_claims (contact_id);

-- Saved filters over contacts. The definition (name and filter values such
-- as tags) is sealed under a data key of the segment's own.
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sealed BYTEA NOT NULL
);
