//! The erasure ledger's copy beside the key file (`erasures.ledger`): one
//! line per erased person, their id, the request's id, when, and their
//! suppression terms (keyed hashes, hex). No personal value.
//!
//! The database keeps the same ledger (written in the erasure's own
//! transaction) and every backup carries it. The file is what outlives
//! the database: a backup taken before an erasure does not know of it,
//! so `restore` replays the file's entries before any server can read
//! the data, and every open of the data directory reconciles the two.

use anyhow::{bail, Context, Result};
use kith_store::{terms_from_hex, terms_to_hex, DynStore, LedgerRow};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

const HEADER: &str = "# kith erasure ledger v1: subject request erased_at_ms terms (no personal value)";

/// Where the ledger lives: beside the key file.
pub fn path_beside(key_file: &Path) -> PathBuf {
    key_file.with_file_name("erasures.ledger")
}

fn line(entry: &LedgerRow) -> String {
    let terms = if entry.terms.is_empty() { "-".to_string() } else { terms_to_hex(&entry.terms) };
    format!("{} {} {} {terms}", entry.subject_id, entry.request_id, entry.erased_at)
}

fn parse_line(text: &str) -> Option<LedgerRow> {
    let mut parts = text.split(' ');
    let subject_id = parts.next()?.parse().ok()?;
    let request_id = parts.next()?.parse().ok()?;
    let erased_at = parts.next()?.parse().ok()?;
    let hex = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let terms = if hex == "-" { Vec::new() } else { terms_from_hex(hex)? };
    Some(LedgerRow { subject_id, request_id, erased_at, terms })
}

/// The file's entries; a missing file is an error the caller words.
pub fn read(path: &Path) -> Result<Vec<LedgerRow>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut entries = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        match parse_line(raw) {
            Some(entry) => entries.push(entry),
            None => bail!("{} line {} is not a ledger entry", path.display(), n + 1),
        }
    }
    Ok(entries)
}

/// Appends entries, creating the file (mode 0600) when missing, and
/// syncs it: an erasure is not forgotten by a power cut.
pub fn append(path: &Path, entries: &[LedgerRow]) -> Result<()> {
    let new = !path.exists();
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut text = String::new();
    if new {
        text.push_str(HEADER);
        text.push('\n');
    }
    for entry in entries {
        text.push_str(&line(entry));
        text.push('\n');
    }
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// What bringing the file and the database together did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// People the file names whom the database still held: erased again.
    pub replayed: usize,
    /// Entries of the database the file lacked: added to it.
    pub appended: usize,
}

/// Erases again, in the database, whoever the file names and the
/// database's ledger lacks (a database put back some other way), then
/// adds to the file what only the database knew (another server's
/// erasures). Creates the file when it is missing.
pub async fn reconcile(store: &DynStore, path: &Path) -> Result<Reconciled> {
    let in_file = if path.exists() { read(path)? } else { Vec::new() };
    let in_db = store.erasure_ledger().await?;
    let db_subjects: HashSet<_> = in_db.iter().map(|e| e.subject_id).collect();
    let mut done = Reconciled::default();
    for entry in in_file.iter().filter(|e| !db_subjects.contains(&e.subject_id)) {
        store.replay_erasure(entry).await?;
        done.replayed += 1;
    }
    let file_subjects: HashSet<_> = in_file.iter().map(|e| e.subject_id).collect();
    let missing: Vec<LedgerRow> = in_db.into_iter().filter(|e| !file_subjects.contains(&e.subject_id)).collect();
    if !missing.is_empty() || !path.exists() {
        append(path, &missing)?;
    }
    done.appended = missing.len();
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn entries_round_trip_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("kith.key"));
        let a = LedgerRow {
            subject_id: Uuid::new_v4(),
            request_id: Uuid::new_v4(),
            erased_at: 5,
            terms: vec![[7; 16], [8; 16]],
        };
        let b = LedgerRow { subject_id: Uuid::new_v4(), request_id: Uuid::new_v4(), erased_at: 6, terms: vec![] };
        append(&path, std::slice::from_ref(&a)).unwrap();
        append(&path, std::slice::from_ref(&b)).unwrap();
        assert_eq!(read(&path).unwrap(), vec![a, b]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "# header\nnot an entry\n").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("line 2"));
        assert!(parse_line(&format!("{} {} 1 abc", Uuid::nil(), Uuid::nil())).is_none());
    }
}
