//! The security self-check (`kith doctor`): what an installation should
//! look at, each finding with its severity and its fix. It reads the data
//! directory and the store; it changes nothing and reads no personal value
//! (counts and ids only).

use crate::datadir::DataDir;
use kith_store::{DsrQuery, DynStore};
use serde::Serialize;
use std::path::Path;

/// How much a finding matters; any `High` makes `kith doctor` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
/// The newest backup should be younger than this, unless `[backup]` says
/// how often backups are taken (then twice that).
const BACKUP_MAX_AGE_DAYS: i64 = 7;
/// The audit chain should have been verified within this many days.
const AUDIT_VERIFY_DAYS: i64 = 30;

/// The setting a server started with `--http` leaves (plain HTTP on
/// loopback), and a server started with TLS removes.
pub const PLAIN_HTTP_SINCE: &str = "plain_http_since";

/// What the store's checks need to know beyond the store.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub now_ms: i64,
    /// When the active KEK was made (from the key file).
    pub kek_created_ms: Option<i64>,
    /// How often backups are scheduled (`[backup] every_hours`).
    pub backup_every_ms: Option<i64>,
}

/// When the active KEK of a key file was made.
pub fn kek_created_ms(dir: &DataDir) -> Option<i64> {
    let keys = kith_crypto::KeyFile::load(&dir.key_file()).ok()?;
    let kek = keys.kek(&keys.active_kek)?;
    kith_core::model::parse_timestamp("created_at", &kek.created_at).ok().map(kith_core::model::unix_millis)
}

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
    let ledger = dir.erasure_ledger_file();
    if key_file.exists() && !ledger.exists() {
        found.push(finding(
            Severity::High,
            "erasure_ledger_missing",
            format!(
                "there is no erasure ledger at {}: a restore would refuse to run, or bring back people erased since the backup",
                ledger.display()
            ),
            "run any kith command on the data directory (it writes the ledger from the database), and make sure the directory of the key file is writable".into(),
        ));
    }
    if let Some(expiry) = crate::tls::self_signed_expiry(&dir.tls_dir()) {
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
pub async fn store(store: &DynStore, context: Context) -> anyhow::Result<Vec<Finding>> {
    let now_ms = context.now_ms;
    let mut found = upkeep(store, context).await?;
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
    found.extend(accountability(store, now_ms).await?);
    Ok(found)
}

/// What accountability needs: the controller's details, recipients data
/// may not go to, breaches past the authority's 72 hours.
async fn accountability(store: &DynStore, now_ms: i64) -> anyhow::Result<Vec<Finding>> {
    let mut found = Vec::new();
    if store.setting(crate::ropa::CONTROLLER_SETTING).await?.is_none() {
        found.push(finding(
            Severity::Low,
            "controller_unset",
            "the controller's and the DPO's contact details are not set: notices, the record of processing and breach notifications lack them".into(),
            "set them on /ropa (or PUT /api/v1/controller)".into(),
        ));
    }
    let decisions = crate::transfers::decisions(store).await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let mut refused = Vec::new();
    for row in store.recipients().await? {
        let recipient = crate::transfers::Recipient::parse(row).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        if recipient.row.ended_at.is_none() && recipient.assess(&decisions, now_ms).is_err() {
            refused.push(recipient.row.id.to_string());
        }
    }
    if !refused.is_empty() {
        found.push(finding(
            Severity::Medium,
            "transfer_refused",
            format!(
                "{} recipients may receive no data (no valid transfer mechanism): {}",
                refused.len(),
                refused.join(", ")
            ),
            "give each a mechanism on /recipients, or end the relationship".into(),
        ));
    }
    let mut overdue = 0;
    for breach in store.breaches().await? {
        let document: serde_json::Value = serde_json::from_str(&breach.document)?;
        let input: kith_core::breach::BreachInput = serde_json::from_value(document["description"].clone())?;
        let state =
            kith_core::breach::clock_state(&input, breach.authority_due_at, breach.authority_notified_at, now_ms);
        if breach.status != "closed" && state == kith_core::breach::ClockState::Overdue {
            overdue += 1;
        }
    }
    if overdue > 0 {
        found.push(finding(
            Severity::High,
            "overdue_breaches",
            format!("{overdue} breaches are past the 72 hours without a notification to the supervisory authority"),
            "notify the authority now, with the reasons for the delay, and record it on /breaches".into(),
        ));
    }
    Ok(found)
}

fn days_ago(now_ms: i64, at: i64) -> i64 {
    (now_ms - at) / DAY_MS
}

async fn setting_ms(store: &DynStore, name: &str) -> anyhow::Result<Option<i64>> {
    Ok(store.setting(name).await?.and_then(|v| v.parse().ok()))
}

/// The upkeep an installation needs: backups taken and verified, the
/// audit chain verified and a checkpoint kept elsewhere, old backups that
/// still hold erased people, plain HTTP.
async fn upkeep(store: &DynStore, context: Context) -> anyhow::Result<Vec<Finding>> {
    use crate::backup::{FIRST_BACKUP_AT, LAST_BACKUP_AT, LAST_VERIFIED_BACKUP};
    let now = context.now_ms;
    let mut found = Vec::new();
    let last_backup = setting_ms(store, LAST_BACKUP_AT).await?;
    match last_backup {
        None => found.push(finding(
            Severity::Medium,
            "backup_missing",
            "no backup of this installation has been taken".into(),
            "kith backup create --data-dir DIR --out FILE, or schedule them with [backup] in kith.toml".into(),
        )),
        Some(at) => {
            let limit = context.backup_every_ms.map_or(BACKUP_MAX_AGE_DAYS * DAY_MS, |every| 2 * every);
            if now - at > limit {
                found.push(finding(
                    Severity::Medium,
                    "backup_old",
                    format!("the newest backup is {} days old", days_ago(now, at)),
                    "take a backup now, and check the schedule ([backup] in kith.toml)".into(),
                ));
            }
            if setting_ms(store, LAST_VERIFIED_BACKUP).await?.is_none_or(|verified| verified < at) {
                found.push(finding(
                    Severity::Medium,
                    "backup_unverified",
                    "the newest backup has not been verified".into(),
                    "kith backup verify FILE --data-dir DIR (it also proves the backup restores)".into(),
                ));
            }
        }
    }
    match setting_ms(store, crate::audit::VERIFIED_AT).await? {
        Some(at) if now - at <= AUDIT_VERIFY_DAYS * DAY_MS => {}
        last => found.push(finding(
            Severity::Medium,
            "audit_not_verified",
            match last {
                Some(at) => format!("the audit chain was last verified {} days ago", days_ago(now, at)),
                None => "the audit chain has never been verified".into(),
            },
            "kith audit verify --data-dir DIR (or the check on /audit), monthly or from cron".into(),
        )),
    }
    if store.setting(crate::audit::CHECKPOINT_EXPORTED_AT).await?.is_none() {
        found.push(finding(
            Severity::Low,
            "checkpoint_not_exported",
            "no signed audit checkpoint has been exported to keep apart from the database".into(),
            "kith audit checkpoint --data-dir DIR --out FILE, and keep the file elsewhere".into(),
        ));
    }
    if let (Some(kek), Some(first_backup)) = (context.kek_created_ms, setting_ms(store, FIRST_BACKUP_AT).await?) {
        let since = kek.max(first_backup);
        let erased = store.erasure_ledger().await?.iter().filter(|e| e.erased_at > since).count();
        if erased > 0 {
            found.push(finding(
                Severity::Medium,
                "erasures_since_rotation",
                format!(
                    "{erased} people were erased since the active key-encryption key was made: backups from before \
                     their erasure still hold their data keys wrapped under it"
                ),
                "kith keys rotate --data-dir DIR, then take a new backup: older backups can then no longer be opened \
                 for anyone"
                    .into(),
            ));
        }
    }
    if store.setting(PLAIN_HTTP_SINCE).await?.is_some() {
        found.push(finding(
            Severity::Medium,
            "plain_http",
            "a server was started with --http: it speaks plain HTTP (on loopback only)".into(),
            "start kith serve without --http, behind a TLS-terminating proxy on this machine at most".into(),
        ));
    }
    Ok(found)
}

/// Every check: the data directory's files, the database URL, and the
/// store when it could be opened (`Err` says why not). Sorted.
pub async fn examine(
    dir: &DataDir,
    url: &str,
    store: Result<&DynStore, String>,
    backup_every_ms: Option<i64>,
) -> anyhow::Result<Vec<Finding>> {
    let mut found = files(dir, time::OffsetDateTime::now_utc());
    found.extend(database(url));
    match store {
        Ok(opened) => {
            let context = Context { now_ms: crate::now_millis(), kek_created_ms: kek_created_ms(dir), backup_every_ms };
            found.extend(self::store(opened, context).await?);
        }
        Err(reason) => found.push(unopened(&reason)),
    }
    sort(&mut found);
    Ok(found)
}

/// The findings with their counts, as the API answers them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The most severe first.
    pub findings: Vec<Finding>,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

impl Report {
    pub fn of(findings: Vec<Finding>) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let (high, medium, low) = (count(Severity::High), count(Severity::Medium), count(Severity::Low));
        Self { findings, high, medium, low }
    }

    /// The audit event's fields: counts, never a finding's text.
    pub fn fields(&self) -> Vec<String> {
        vec![format!("high:{}", self.high), format!("medium:{}", self.medium), format!("low:{}", self.low)]
    }
}

/// When a server last ran the doctor on its own (ms).
pub const DAILY_RAN_AT: &str = "doctor_ran_at";

/// Run from a server's periodic tick: once a day (across the servers of
/// a database), the whole check, recorded as an audit event of
/// `system:scheduler`; high findings are logged too.
pub async fn daily(dir: &DataDir, url: &str, store: &DynStore, backup_every_ms: Option<i64>) -> anyhow::Result<()> {
    let now = crate::now_millis();
    let last = store.setting(DAILY_RAN_AT).await?.and_then(|v| v.parse::<i64>().ok());
    if last.is_some_and(|at| now - at < DAY_MS) {
        return Ok(());
    }
    store.set_setting(DAILY_RAN_AT, &now.to_string()).await?;
    let report = Report::of(examine(dir, url, Ok(store), backup_every_ms).await?);
    let fields = report.fields();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    crate::audit::record_system(
        store,
        "system:scheduler",
        kith_core::audit::AuditAction::Read,
        "doctor",
        None,
        &fields,
    )
    .await?;
    for high in report.findings.iter().filter(|f| f.severity == Severity::High) {
        tracing::warn!(check = high.check, "the daily self-check found a high finding; run kith doctor");
    }
    Ok(())
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
