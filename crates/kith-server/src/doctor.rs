//! The security self-check (`kith doctor`): what an installation should
//! look at, each finding with its severity and its fix. It reads the data
//! directory and the store; it changes nothing and reads no personal value
//! (counts and ids only).

use crate::datadir::DataDir;
use kith_store::{DsrQuery, DynStore};
use std::path::Path;

/// How much a finding matters; any `High` makes `kith doctor` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// One thing to look at: what, why it matters, how to fix it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub severity: Severity,
    /// A stable name, e.g. `key_file_permissions`.
    pub check: &'static str,
    pub problem: String,
    pub fix: String,
}

fn finding(severity: Severity, check: &'static str, problem: String, fix: String) -> Finding {
    Finding { severity, check, problem, fix }
}

const DAY_MS: i64 = 86_400_000;
/// A KEK older than this is due for rotation.
const KEK_ROTATION_DAYS: i64 = 365;
/// An API key unused this long is probably not needed.
const KEY_UNUSED_DAYS: i64 = 90;
/// A certificate this close to its end needs renewing.
const CERT_WARNING_DAYS: i64 = 30;
/// More admins than this is more standing access than most need.
const MANY_ADMINS: usize = 3;

/// The permission bits of a path others than its owner have (Unix).
#[cfg(unix)]
fn open_to_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    Some(mode & 0o077).filter(|bits| *bits != 0)
}

#[cfg(not(unix))]
fn open_to_others(_: &Path) -> Option<u32> {
    None
}

/// The data directory's files: the key file, the directory, TLS.
pub fn files(dir: &DataDir, now: time::OffsetDateTime) -> Vec<Finding> {
    let mut found = Vec::new();
    let key_file = dir.key_file();
    if let Some(bits) = open_to_others(&key_file) {
        found.push(finding(
            Severity::High,
            "key_file_permissions",
            format!("the key file {} can be read by others than its owner (mode ...{bits:03o})", key_file.display()),
            format!("chmod 600 {}", key_file.display()),
        ));
    }
    if let Some(bits) = open_to_others(&dir.root).filter(|bits| bits & 0o022 != 0) {
        found.push(finding(
            Severity::Medium,
            "data_dir_permissions",
            format!(
                "others than its owner may write to the data directory {} (mode ...{bits:03o})",
                dir.root.display()
            ),
            format!("chmod 700 {}", dir.root.display()),
        ));
    }
    match kith_crypto::KeyFile::load(&key_file) {
        Ok(keys) => {
            let active = keys.kek(&keys.active_kek).and_then(|k| {
                time::OffsetDateTime::parse(&k.created_at, &time::format_description::well_known::Rfc3339).ok()
            });
            if let Some(created) = active {
                let age = (now - created).whole_days();
                if age > KEK_ROTATION_DAYS {
                    found.push(finding(
                        Severity::Medium,
                        "kek_age",
                        format!("the active key-encryption key is {age} days old"),
                        "kith keys rotate --data-dir DIR (every data key is rewrapped; nothing stops)".into(),
                    ));
                }
            }
        }
        // A key file open to others is refused by the loader: named above.
        Err(_) if key_file.exists() => {}
        Err(_) => found.push(finding(
            Severity::High,
            "key_file_missing",
            format!("there is no key file at {}", key_file.display()),
            "restore the key file from where it is kept apart from the database".into(),
        )),
    }
    if let Some(expiry) = crate::http::tls::self_signed_expiry(&dir.tls_dir()) {
        let left = (expiry - now).whole_days();
        found.push(finding(
            Severity::Low,
            "tls_self_signed",
            format!("the server presents a self-signed certificate (valid for {left} more days)"),
            "give --tls-cert and --tls-key (or tls_cert and tls_key in kith.toml) a certificate clients trust".into(),
        ));
        if left < 0 {
            found.push(finding(
                Severity::High,
                "tls_expired",
                "the TLS certificate has expired".into(),
                "restart kith serve to renew the self-signed certificate, or install a new one".into(),
            ));
        } else if left < CERT_WARNING_DAYS {
            found.push(finding(
                Severity::Medium,
                "tls_expiring",
                format!("the TLS certificate ends in {left} days"),
                "renew it before then".into(),
            ));
        }
    }
    found
}

/// Whether a PostgreSQL URL reaches a host off this machine without
/// requiring TLS.
pub fn database(url: &str) -> Vec<Finding> {
    let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) else {
        return Vec::new();
    };
    let host_part = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host_part.split(['/', '?']).next().unwrap_or_default();
    let host =
        host.rsplit_once(':').map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    let loopback = ["localhost", "127.0.0.1", "[::1]", "::1", ""].contains(&host) || host.starts_with("/");
    let tls = ["sslmode=require", "sslmode=verify-ca", "sslmode=verify-full"].iter().any(|m| url.contains(m));
    if loopback || tls {
        return Vec::new();
    }
    vec![finding(
        Severity::High,
        "database_tls",
        format!("the database at {host} is reached without requiring TLS"),
        "add sslmode=verify-full (or at least sslmode=require) to the database URL".into(),
    )]
}

/// What the store holds about access and duties: accounts without a
/// second factor, the number of admins, API keys unused for long, overdue
/// data-subject requests.
pub async fn store(store: &DynStore, now_ms: i64) -> anyhow::Result<Vec<Finding>> {
    let mut found = Vec::new();
    let users = store.users().await?;
    let active: Vec<_> = users.iter().filter(|u| u.status == "active").collect();
    let without = active.iter().filter(|u| u.totp.is_none()).count();
    if without > 0 {
        let privileged =
            active.iter().filter(|u| u.totp.is_none() && u.roles.iter().any(|r| r == "admin" || r == "dpo")).count();
        found.push(finding(
            if privileged > 0 { Severity::High } else { Severity::Medium },
            "second_factor",
            format!("{without} active accounts sign in without a second factor ({privileged} of them admin or DPO)"),
            "have each set up an authenticator on /account, starting with admin and DPO accounts".into(),
        ));
    }
    let admins = active.iter().filter(|u| u.roles.iter().any(|r| r == "admin")).count();
    if admins > MANY_ADMINS {
        found.push(finding(
            Severity::Low,
            "many_admins",
            format!("{admins} active accounts hold the admin role"),
            "keep the admin role to the few who need it (PATCH /api/v1/users/{id}, or disable the account on /admin)"
                .into(),
        ));
    }
    let unused: Vec<_> = store
        .api_keys()
        .await?
        .into_iter()
        .filter(|k| k.revoked_at.is_none() && k.expires_at > now_ms)
        .filter(|k| k.last_used_at.unwrap_or(k.created_at) < now_ms - KEY_UNUSED_DAYS * DAY_MS)
        .collect();
    if !unused.is_empty() {
        let ids: Vec<String> = unused.iter().map(|k| k.id.to_string()).collect();
        found.push(finding(
            Severity::Low,
            "unused_api_keys",
            format!("{} live API keys have not been used for {KEY_UNUSED_DAYS} days: {}", unused.len(), ids.join(", ")),
            "revoke the keys no recipient needs (on /admin, or DELETE /api/v1/api-keys/{id})".into(),
        ));
    }
    let open = ["received", "identity_verification", "locked", "in_progress"];
    let overdue = DsrQuery {
        statuses: open.iter().map(|s| s.to_string()).collect(),
        due_to: Some(now_ms),
        limit: 1000,
        ..DsrQuery::default()
    };
    let late = store.dsrs(&overdue).await?;
    if !late.is_empty() {
        found.push(finding(
            Severity::High,
            "overdue_requests",
            format!("{} data-subject requests are past their deadline", late.len()),
            "answer them now, or extend them with the reason (GET /requests?due=overdue)".into(),
        ));
    }
    Ok(found)
}

/// The most severe first, then by check.
pub fn sort(found: &mut [Finding]) {
    found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.check.cmp(b.check)));
}

/// When the store could not be opened (a key file open to others is
/// refused): what was found so far stands, and the rest is unchecked.
pub fn unopened(error: &dyn std::fmt::Display) -> Finding {
    finding(
        Severity::High,
        "store_not_checked",
        format!("the database could not be opened, so accounts, keys and requests were not checked: {error}"),
        "fix the findings above, then run kith doctor again".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_database_without_tls_is_high_and_loopback_or_tls_is_fine() {
        let high = |url: &str| database(url).iter().any(|f| f.severity == Severity::High);
        assert!(high("postgres://kith:secret@db.internal:5432/kith"));
        assert!(!high("postgres://kith@db.internal:5432/kith?sslmode=verify-full"));
        assert!(!high("postgres://postgres@127.0.0.1:5432/postgres"));
        assert!(!high("postgres://postgres@localhost/postgres"));
        assert!(database("sqlite:///var/lib/kith/kith.db").is_empty());
    }
}
