-- Restriction of processing (Art. 18) and objections (Art. 21). Identifiers,
-- purpose keys and times only.
CREATE TABLE restrictions (
    contact_id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL
);

CREATE TABLE objections (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX objections_contact ON objections (contact_id);
