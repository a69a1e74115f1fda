-- Privacy notices (never personal) and the consent ledger. The ledger is
-- append-only: no statement in Kith updates it. `sealed` holds the source
-- and evidence under the person's data key; the rest is identifiers,
-- times, the purpose key and the yes/no.
CREATE TABLE notices (
    version TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    granted INTEGER NOT NULL,
    at INTEGER NOT NULL,
    notice_version TEXT NOT NULL REFERENCES notices (version),
    method TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX consents_contact ON consents (contact_id, at, id);
