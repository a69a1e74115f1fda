-- Signed checkpoints of the audit log (C2SP signed notes). Copies also live
-- in the data directory and wherever the DPO exports them, so that someone
-- who can rewrite this table still cannot hide a rewritten log.
CREATE TABLE audit_checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
