//! The settings a server runs with (from `kith.toml`, flags and the
//! environment, resolved by the command line).

use serde::{Deserialize, Serialize};

mod accounts;
mod alerts;
mod backup;
mod callbacks;
mod capture;
mod portal;
mod retention;

pub use accounts::AccountSettings;
pub use alerts::AlertRules;
pub use backup::{parse_every, BackupSettings};
pub use callbacks::CallbackRules;
pub use capture::CaptureSettings;
pub use portal::PortalSettings;
pub use retention::RetentionSettings;

/// Hides a password in a database URL before it is printed or logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// How fast requests may come: `burst` at once, then `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub fn check(&self, name: &str) -> Result<(), String> {
        if self.per_minute == 0 || self.burst == 0 {
            return Err(format!("{name}: per_minute and burst are at least 1"));
        }
        Ok(())
    }

    pub(crate) fn per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }
}

/// Whether a URL may carry a token (a credential) to the person: https, or
/// http only to this machine, with `{token}` where the token goes.
fn credential_url(url: &str) -> bool {
    let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|p| url.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/'])));
    (url.starts_with("https://") || loopback) && url.contains("{token}")
}

/// Settings the request path and the services need.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest file an import takes, in bytes.
    pub max_upload_bytes: usize,
    /// How long a client has to send a body, and the server to answer.
    pub body_deadline: std::time::Duration,
    pub response_deadline: std::time::Duration,
    /// Whether the server speaks TLS (then it sends HSTS).
    pub tls: bool,
    pub alerts: AlertRules,
    /// The age of digital consent (Art. 8: 13 to 16 by member state):
    /// below it a consent needs a guardian record.
    pub digital_consent_age: u8,
    /// Public capture: confirmation lifetime, link, rate limits.
    pub capture: CaptureSettings,
    /// Staff accounts: lockout, session lifetimes, login rate, hash cost.
    pub accounts: AccountSettings,
    /// The privacy portal: link and session lifetimes, the link, rates.
    pub portal: PortalSettings,
    /// The business id Data Rights Protocol agents put in their signed
    /// claims: a claim for another business is refused.
    pub drp_business_id: String,
    /// Where and how status callbacks to agents may go.
    pub drp_callbacks: CallbackRules,
    /// The erasure ledger's file beside the key file, appended to after
    /// each erasure (none in tests without a data directory).
    pub erasure_ledger: Option<std::path::PathBuf>,
    /// The data directory and database this server runs from, for the
    /// doctor's report at `/api/v1/doctor` (none in tests that need none).
    pub installation: Option<Installation>,
    /// `[retention]`: periods of categories with their own, its schedule.
    pub retention: RetentionSettings,
}

/// Where a server runs from, as the doctor looks at it.
#[derive(Debug, Clone)]
pub struct Installation {
    pub data_dir: std::path::PathBuf,
    /// A key file named on the command line, if not the data directory's.
    pub key_file: Option<std::path::PathBuf>,
    pub database_url: String,
    /// `[backup] every`, when backups are scheduled.
    pub backup_every_ms: Option<i64>,
}

/// How long a client has to send a request's body.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);
/// How long the server has to answer, once the body is in.
pub const RESPONSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// The Data Rights Protocol business id when `kith.toml` names none.
pub const DEFAULT_DRP_BUSINESS_ID: &str = "kith";

/// How many `sale:opt-out` requests an agent may file: 60 at once, then
/// one every two seconds.
pub const DRP_OPT_OUT_RATE: Rate = Rate { per_minute: 30, burst: 60 };

/// Art. 8(1)'s default; member states may lower it to 13.
pub const DEFAULT_DIGITAL_CONSENT_AGE: u8 = 16;

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024,
            body_deadline: BODY_DEADLINE,
            response_deadline: RESPONSE_DEADLINE,
            tls: true,
            alerts: Default::default(),
            digital_consent_age: DEFAULT_DIGITAL_CONSENT_AGE,
            capture: Default::default(),
            accounts: Default::default(),
            portal: Default::default(),
            drp_business_id: DEFAULT_DRP_BUSINESS_ID.into(),
            drp_callbacks: Default::default(),
            erasure_ledger: None,
            installation: None,
            retention: RetentionSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_kith_toml_and_are_checked() {
        let parsed: crate::datadir::FileSettings = toml::from_str(
            "[capture]\nconfirmation_ttl_seconds = 3600\nconfirm_url = \"https://example.org/c#{token}\"\n\
             per_client = { per_minute = 5, burst = 10 }\n",
        )
        .unwrap();
        let capture = parsed.capture.unwrap();
        assert_eq!(capture.confirmation_ttl_seconds, 3600);
        assert_eq!(capture.per_client, Rate { per_minute: 5, burst: 10 });
        assert_eq!(capture.per_form, CaptureSettings::default().per_form, "unnamed settings keep their defaults");
        assert!(capture.check().is_ok());
        assert_eq!(CaptureSettings::default().confirmation_ttl_seconds, 48 * 3600);
        for bad in [
            CaptureSettings { confirmation_ttl_seconds: 1, ..Default::default() },
            CaptureSettings { confirm_url: Some("https://example.org/confirm".into()), ..Default::default() },
            CaptureSettings { confirm_url: Some("javascript:{token}".into()), ..Default::default() },
            CaptureSettings { confirm_url: Some("http://example.org/c#{token}".into()), ..Default::default() },
            CaptureSettings { confirm_url: Some("http://localhost.example.org/{token}".into()), ..Default::default() },
            CaptureSettings { per_form: Rate { per_minute: 0, burst: 1 }, ..Default::default() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        let local =
            CaptureSettings { confirm_url: Some("http://127.0.0.1:8080/c#{token}".into()), ..Default::default() };
        assert!(local.check().is_ok(), "plain HTTP to this machine is fine");
        assert!(
            toml::from_str::<crate::datadir::FileSettings>("[capture]\nttl = 1\n").is_err(),
            "unknown keys refused"
        );
    }
}
