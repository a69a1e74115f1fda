//! `[backup]` in `kith.toml`: scheduled backups from the server.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[backup]`: how often, how many to keep, where, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSettings {
    /// How often: a number and a unit, `30m`, `6h` or `1d`.
    pub every: String,
    /// How many scheduled backups to keep in `dir` (older ones are deleted).
    #[serde(default = "default_keep")]
    pub keep: usize,
    /// Where the scheduled backups go (created with mode 0700).
    pub dir: PathBuf,
    /// Encrypt to these age public keys instead of the key file's backup
    /// key; the server cannot then verify what it wrote.
    #[serde(default)]
    pub recipients: Vec<String>,
}

fn default_keep() -> usize {
    7
}

/// `30m`, `6h`, `1d` as milliseconds.
pub fn parse_every(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let unit_ms = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

impl BackupSettings {
    pub fn every_ms(&self) -> i64 {
        parse_every(&self.every).unwrap_or(86_400_000)
    }

    pub fn check(&self) -> Result<(), String> {
        match parse_every(&self.every) {
            Some(ms) if ms >= 15 * 60_000 => {}
            _ => return Err("backup.every: a number and a unit, at least 15m (e.g. \"6h\" or \"1d\")".into()),
        }
        if !(1..=1000).contains(&self.keep) {
            return Err("backup.keep: between 1 and 1000".into());
        }
        if self.dir.as_os_str().is_empty() {
            return Err("backup.dir: the directory scheduled backups go to".into());
        }
        if let Some(bad) = self.recipients.iter().find(|r| !r.starts_with("age1")) {
            return Err(format!("backup.recipients: {bad} is not an age public key (age1…)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_bad_settings() {
        assert_eq!(parse_every("30m"), Some(1_800_000));
        assert_eq!(parse_every("6h"), Some(21_600_000));
        assert_eq!(parse_every("1d"), Some(86_400_000));
        for bad in ["", "h", "0h", "-1h", "5s", "1.5h", "1 d"] {
            assert_eq!(parse_every(bad), None, "{bad}");
        }
        let ok = BackupSettings { every: "1d".into(), keep: 7, dir: "/var/backups/kith".into(), recipients: vec![] };
        assert!(ok.check().is_ok());
        assert!(BackupSettings { every: "5m".into(), ..ok.clone() }.check().is_err());
        assert!(BackupSettings { keep: 0, ..ok.clone() }.check().is_err());
        assert!(BackupSettings { recipients: vec!["ssh-ed25519 x".into()], ..ok }.check().is_err());
    }
}
