-- The host names an agent's status callbacks may go to, space-separated.
-- An agent configured before this list existed has none: its callbacks
-- stop until the DPO names its hosts (it can always ask for the status).
ALTER TABLE drp_agents ADD COLUMN callback_hosts TEXT NOT NULL DEFAULT '';
