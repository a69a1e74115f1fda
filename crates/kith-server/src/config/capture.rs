//! `[capture]` in `kith.toml`: public forms' confirmation and rates.

use super::Rate;
use serde::{Deserialize, Serialize};

/// `[capture]` in `kith.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSettings {
    /// How long a confirmation token stays valid (default 48 hours).
    pub confirmation_ttl_seconds: u64,
    /// The page a confirmation link opens, with `{token}` where the token
    /// goes (e.g. `https://example.org/confirm#{token}`); that page posts
    /// the token to `/api/v1/public/confirmations/{token}`. Without it the
    /// message carries the token alone.
    pub confirm_url: Option<String>,
    /// Public requests per client address (IPv6: per /64).
    pub per_client: Rate,
    /// Submissions per form, whoever sends them.
    pub per_form: Rate,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            confirmation_ttl_seconds: 48 * 3600,
            confirm_url: None,
            per_client: Rate { per_minute: 10, burst: 20 },
            per_form: Rate { per_minute: 300, burst: 600 },
        }
    }
}

impl CaptureSettings {
    pub fn check(&self) -> Result<(), String> {
        if !(60..=30 * 86_400).contains(&self.confirmation_ttl_seconds) {
            return Err("capture.confirmation_ttl_seconds: between 60 (a minute) and 2592000 (30 days)".into());
        }
        if let Some(url) = &self.confirm_url {
            if !super::credential_url(url) {
                return Err(
                    "capture.confirm_url: an https URL (http only to loopback) with {token} where the token goes"
                        .into(),
                );
            }
        }
        self.per_client.check("capture.per_client")?;
        self.per_form.check("capture.per_form")
    }
}
