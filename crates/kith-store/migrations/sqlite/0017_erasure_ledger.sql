-- The erasure ledger: who was erased, by which request, when, and the
-- suppression terms (keyed hashes, hex) of their addresses and numbers.
-- No personal value. It travels in every backup and is kept beside the
-- key file too, so a restore can erase again whoever was erased after
-- the backup was taken.
CREATE TABLE erasure_ledger (
    subject_id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    erased_at INTEGER NOT NULL,
    terms TEXT NOT NULL
);

-- Erasures carried out before the ledger existed.
INSERT INTO erasure_ledger (subject_id, request_id, erased_at, terms)
SELECT r.contact_id, r.id, c.created_at,
       COALESCE((SELECT group_concat(lower(hex(s.term)), '') FROM suppressions s WHERE s.request_id = r.id), '')
FROM erasure_receipts c JOIN dsr_requests r ON r.id = c.request_id
WHERE r.contact_id IS NOT NULL
ON CONFLICT (subject_id) DO NOTHING;
