//! `[portal]` in `kith.toml`: the privacy portal's links and sessions.

use super::Rate;
use serde::{Deserialize, Serialize};

/// `[portal]` in `kith.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSettings {
    /// How long a link sent to a person works (default an hour).
    pub link_ttl_seconds: u64,
    /// How long a portal session lasts from the link's use (default 20
    /// minutes); it does not renew.
    pub session_ttl_seconds: u64,
    /// The link in the message, with `{token}` where the token goes (e.g.
    /// `https://crm.example.org/privacy/open?token={token}`). Without it
    /// the message carries the token for the person to enter at
    /// `/privacy/open`: a link built from the request's Host header could
    /// point anywhere.
    pub link_url: Option<String>,
    /// Links asked for one address, whoever asks (the person's mailbox is
    /// not to be flooded).
    pub per_address: Rate,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            link_ttl_seconds: 3600,
            session_ttl_seconds: 20 * 60,
            link_url: None,
            per_address: Rate { per_minute: 1, burst: 3 },
        }
    }
}

impl PortalSettings {
    pub fn check(&self) -> Result<(), String> {
        if !(60..=7 * 86_400).contains(&self.link_ttl_seconds) {
            return Err("portal.link_ttl_seconds: between 60 (a minute) and 604800 (7 days)".into());
        }
        if !(60..=4 * 3600).contains(&self.session_ttl_seconds) {
            return Err("portal.session_ttl_seconds: between 60 (a minute) and 14400 (4 hours)".into());
        }
        if let Some(url) = &self.link_url {
            if !super::credential_url(url) {
                return Err(
                    "portal.link_url: an https URL (http only to loopback) with {token} where the token goes".into()
                );
            }
        }
        self.per_address.check("portal.per_address")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_go_over_https_and_lifetimes_are_bounded() {
        assert!(PortalSettings::default().check().is_ok());
        let with = |url: &str| PortalSettings { link_url: Some(url.into()), ..Default::default() }.check();
        assert!(with("https://crm.example.org/privacy/open?token={token}").is_ok());
        assert!(with("http://127.0.0.1:8443/privacy/open?token={token}").is_ok());
        assert!(with("http://crm.example.org/privacy/open?token={token}").is_err(), "a token in clear");
        assert!(with("https://crm.example.org/privacy/open").is_err(), "no place for the token");
        let short = PortalSettings { session_ttl_seconds: 5, ..Default::default() };
        assert!(short.check().is_err());
    }
}
