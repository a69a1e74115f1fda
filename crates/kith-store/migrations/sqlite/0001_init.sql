-- Kith schema 1. Personal values live only inside `sealed` (AEAD ciphertext
-- under the data key of `subject_id`); clear columns hold ids, times,
-- amounts, stages and currencies. `terms` repeats a record's blind-index
-- terms (16 bytes each, already keyed hashes) so that deleting the record
-- finds its index entries without a second index on `blind_index`.

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE data_keys (
    subject_id TEXT PRIMARY KEY,
    kek_id TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE blind_index (
    entity TEXT NOT NULL,
    term BLOB NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (entity, term, record_id)
) WITHOUT ROWID;

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    terms BLOB NOT NULL,
    company_id TEXT
);
CREATE INDEX contacts_created ON contacts (created_at, id);
CREATE INDEX contacts_updated ON contacts (updated_at, id);
CREATE INDEX contacts_company ON contacts (company_id);

CREATE TABLE companies (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    terms BLOB NOT NULL
);
CREATE INDEX companies_created ON companies (created_at, id);
CREATE INDEX companies_updated ON companies (updated_at, id);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    terms BLOB NOT NULL,
    contact_id TEXT,
    company_id TEXT,
    kind TEXT,
    occurred_at INTEGER NOT NULL
);
CREATE INDEX interactions_created ON interactions (created_at, id);
CREATE INDEX interactions_updated ON interactions (updated_at, id);
CREATE INDEX interactions_contact ON interactions (contact_id, occurred_at);
CREATE INDEX interactions_company ON interactions (company_id);

CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    terms BLOB NOT NULL,
    contact_id TEXT,
    company_id TEXT,
    stage TEXT,
    amount INTEGER NOT NULL,
    currency TEXT,
    expected_close TEXT NOT NULL
);
CREATE INDEX deals_created ON deals (created_at, id);
CREATE INDEX deals_updated ON deals (updated_at, id);
CREATE INDEX deals_subject ON deals (subject_id);
CREATE INDEX deals_contact ON deals (contact_id);
CREATE INDEX deals_company ON deals (company_id);

CREATE TABLE purchases (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    terms BLOB NOT NULL,
    contact_id TEXT,
    company_id TEXT,
    currency TEXT,
    total INTEGER NOT NULL,
    purchased_at INTEGER NOT NULL
);
CREATE INDEX purchases_created ON purchases (created_at, id);
CREATE INDEX purchases_updated ON purchases (updated_at, id);
CREATE INDEX purchases_contact ON purchases (contact_id, purchased_at);
CREATE INDEX purchases_company ON purchases (company_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
