-- The audit log: identifiers and field names only, never personal values.
-- `leaf_hash` is the RFC 6962 leaf hash of the event's canonical encoding;
-- `chain_hash` links it to every event before it. `audit_head` holds the
-- last sequence number and chain hash; appends lock it, so concurrent
-- servers extend one chain.

CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT,
    record_id TEXT,
    subject_id TEXT,
    fields TEXT NOT NULL,
    purpose TEXT,
    request_id TEXT,
    client TEXT,
    outcome TEXT NOT NULL,
    leaf_hash BYTEA NOT NULL,
    chain_hash BYTEA NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, at);
CREATE INDEX audit_events_at ON audit_events (at, seq);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    chain_hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, chain_hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
