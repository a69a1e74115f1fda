-- Data Rights Protocol agents the DPO configured, with their Ed25519
-- verify keys; the pairwise tokens they registered (SHA-256 only); and
-- the requests they filed, each tied to the data-subject request it
-- became (none when it was denied at once). Nothing here is personal:
-- the identity an agent sends goes into the sealed data-subject request.
CREATE TABLE drp_agents (
    agent_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    verify_key BYTEA NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE drp_tokens (
    token_hash BYTEA PRIMARY KEY,
    agent_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX drp_tokens_agent ON drp_tokens (agent_id);
CREATE TABLE drp_requests (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    agent_request_id TEXT NOT NULL,
    exercise TEXT NOT NULL,
    dsr_id TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    status_callback TEXT,
    received_at BIGINT NOT NULL,
    expected_by BIGINT NOT NULL
);
CREATE INDEX drp_requests_dsr ON drp_requests (dsr_id);
-- Each status callback sent to an agent: when, which status, and how it
-- went (`delivered`, `http_<code>` or `failed`).
CREATE TABLE drp_callbacks (
    request_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempted_at BIGINT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX drp_callbacks_request ON drp_callbacks (request_id);
