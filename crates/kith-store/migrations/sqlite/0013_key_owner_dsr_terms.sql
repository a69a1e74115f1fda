-- Every data key names the table of the row it belongs to. A key is only
-- ever deleted together with that row, by a statement that names the same
-- table, so no id from another table can reach a key (a contact's id sent
-- to the segments route must not crypto-shred the contact). Keys written
-- before this migration get their owner from the row that uses them; a key
-- no row uses keeps none and is never deleted through a row.
ALTER TABLE data_keys ADD COLUMN owner TEXT;
UPDATE data_keys SET owner = 'contacts' WHERE subject_id IN (SELECT id FROM contacts);
UPDATE data_keys SET owner = 'companies' WHERE subject_id IN (SELECT id FROM companies);
UPDATE data_keys SET owner = 'deals' WHERE subject_id IN (SELECT id FROM deals WHERE subject_id = id);
UPDATE data_keys SET owner = 'segments' WHERE subject_id IN (SELECT id FROM segments);
UPDATE data_keys SET owner = 'users' WHERE subject_id IN (SELECT id FROM users);
UPDATE data_keys SET owner = 'dsr_requests' WHERE subject_id IN (SELECT id FROM dsr_requests);
UPDATE data_keys SET owner = 'pending_confirmations' WHERE subject_id IN (SELECT id FROM pending_confirmations);

-- A request registered by e-mail address or phone number keeps the keyed
-- hash of that value (the same term the suppression list would hold), so
-- erasing the person finds it even when it matched no one. Erasure deletes
-- the request's data key, empties `sealed` and the term, and sets
-- `erased_at`: the register keeps the request, never the person's values.
ALTER TABLE dsr_requests ADD COLUMN given_term BLOB;
ALTER TABLE dsr_requests ADD COLUMN erased_at INTEGER;
CREATE INDEX dsr_requests_given_term ON dsr_requests (given_term);
