-- The consent ledger is sealed (finding: a database writer could flip a
-- withdrawal into a grant). Each entry gets its place in the person's
-- ledger (`seq`, 1, 2, 3… in the order written: the same-millisecond tie
-- is no longer broken by a random id) and a keyed MAC over what decides
-- processing, its place and the MAC before it. The key is derived from the
-- index root in the key file, so existing entries are sealed by the server
-- when it first opens the database after this migration, once; an entry
-- without a seal after that does not count.
ALTER TABLE consents ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN mac BLOB;
UPDATE consents SET seq = (
    SELECT COUNT(*) FROM consents AS earlier
    WHERE earlier.contact_id = consents.contact_id
      AND (earlier.at < consents.at OR (earlier.at = consents.at AND earlier.id <= consents.id))
);
DROP INDEX consents_contact;
CREATE UNIQUE INDEX consents_contact_seq ON consents (contact_id, seq);
