-- Unusual access noticed in the audit log, for the DPO.
CREATE TABLE audit_alerts (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    rule TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_alerts_at ON audit_alerts (at);
CREATE INDEX audit_alerts_rule_actor ON audit_alerts (rule, actor, at);
