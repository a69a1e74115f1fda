-- The breach register (Art. 33(5)): the DPO's description of each breach
-- (JSON, about the incident, never a person's value), its clock, the
-- dated changes and phases, the people the audit log shows in its scope
-- (ids and category names), and the notices queued to each of them.
CREATE TABLE breaches (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    status TEXT NOT NULL,
    aware_at INTEGER NOT NULL,
    authority_due_at INTEGER NOT NULL,
    authority_notified_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX breaches_aware ON breaches (aware_at);

CREATE TABLE breach_updates (
    breach_id TEXT NOT NULL REFERENCES breaches (id),
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    fields TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (breach_id, seq)
);

CREATE TABLE breach_affected (
    breach_id TEXT NOT NULL REFERENCES breaches (id),
    subject_id TEXT NOT NULL,
    categories TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (breach_id, subject_id)
);

CREATE TABLE breach_notices (
    breach_id TEXT NOT NULL REFERENCES breaches (id),
    subject_id TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    queued_at INTEGER NOT NULL,
    sent_at INTEGER,
    PRIMARY KEY (breach_id, subject_id)
);
