-- The processing purposes catalogue. No personal data: the document is the
-- purpose as JSON (key, name, lawful basis, categories, retention).
CREATE TABLE purposes (
    key TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
