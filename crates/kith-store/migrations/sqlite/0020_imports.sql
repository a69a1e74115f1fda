-- Import jobs: options, progress, counts and per-row reasons (row,
-- column, rule) as JSON; never a value from the file.
CREATE TABLE import_jobs (
    id TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX import_jobs_created ON import_jobs (created_at);
