-- The breach register (Art. 33(5)): the DPO's description of each breach
-- (JSON, about the incident, never a person's value), its clock, the
-- dated changes and phases, the people the audit log shows in its scope
-- (ids and category names), and the notices queued to each of them.
CREATE TABLE breaches (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    status TEXT NOT NULL,
    aware_at BIGINT NOT NULL,
    authority_due_at BIGINT NOT NULL,
    authority_notified_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX breaches_aware ON breaches (aware_at);

CREATE TABLE breach_updates (
    breach_id TEXT NOT NULL REFERENCES breaches (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    fields TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (breach_id, seq)
);

CREATE TABLE breach_affected (
    breach_id TEXT NOT NULL REFERENCES breaches (id),
    subject_id TEXT NOT NULL,
    categories TEXT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (breach_id, subject_id)
);

CREATE TABLE breach_notices (
    breach_id TEXT NOT NULL REFERENCES breaches (id),
    subject_id TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    queued_at BIGINT NOT NULL,
    sent_at BIGINT,
    PRIMARY KEY (breach_id, subject_id)
);
