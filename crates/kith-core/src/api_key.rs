//! Third-party API keys: issued to a recipient of the register (a
//! processor or a partner; see [`crate::recipient`]), limited to purposes, permissions (kinds of records, field
//! classes, a scope), an expiry and optionally the addresses it may be used
//! from. The key itself is shown once and stored hashed.

use crate::access::{Action, Permission};
use crate::error::{ErrorCode, ValidationError};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;

/// The longest a key may live.
pub const MAX_DAYS: u32 = 366;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// The recipient of the register the key is issued to; its transfer
    /// rules decide whether the key works.
    pub recipient_id: uuid::Uuid,
    /// Purposes its requests may process for; the first applies when a
    /// request names none.
    pub purposes: Vec<String>,
    /// Read, create or update only: a third party never deletes, exports or erases.
    pub permissions: Vec<Permission>,
    /// Days until it stops working, 1 to 366.
    pub expires_in_days: u32,
    /// Addresses or networks (CIDR) it may be used from; empty for anywhere.
    #[serde(default)]
    pub allowed_addresses: Vec<String>,
}

impl ApiKeyInput {
    /// Normalises and checks; purpose keys are checked against the catalogue by the caller.
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        let invalid = |d: String| ValidationError::new(ErrorCode::InvalidValue, d);
        if self.purposes.is_empty() || self.purposes.len() > 20 {
            return Err(invalid("purposes: 1 to 20 purpose keys".into()));
        }
        for p in &mut self.purposes {
            *p = p.trim().to_string();
        }
        if self.permissions.is_empty() || self.permissions.len() > 20 {
            return Err(invalid("permissions: 1 to 20".into()));
        }
        for p in &self.permissions {
            p.validate()?;
            if p.actions.iter().any(|a| !matches!(a, Action::Read | Action::Create | Action::Update)) {
                return Err(invalid("permissions: a key may read, create or update, nothing more".into()));
            }
        }
        if !(1..=MAX_DAYS).contains(&self.expires_in_days) {
            return Err(invalid(format!("expires_in_days: 1 to {MAX_DAYS}")));
        }
        if self.allowed_addresses.len() > 50 {
            return Err(invalid("allowed_addresses: at most 50".into()));
        }
        for (i, a) in self.allowed_addresses.iter_mut().enumerate() {
            *a = parse_network(a)
                .ok_or_else(|| {
                    invalid(format!("allowed_addresses[{i}]: an IP address or a network like 192.0.2.0/24"))
                })?
                .to_string();
        }
        Ok(())
    }
}

/// An address (a network of one) or a network in CIDR form.
pub fn parse_network(raw: &str) -> Option<IpNet> {
    let raw = raw.trim();
    raw.parse::<IpNet>().ok().or_else(|| raw.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Whether `client` may use a key limited to `allowed` (empty: anywhere).
pub fn address_allowed(allowed: &[String], client: Option<IpAddr>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(client) = client else { return false };
    // An IPv4 client may arrive as an IPv4-mapped IPv6 address.
    let client = match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(client),
        v4 => v4,
    };
    allowed.iter().filter_map(|a| parse_network(a)).any(|net| net.contains(&client))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ApiKeyInput {
        serde_json::from_value(serde_json::json!({
            "recipient_id": "6f1c8a52-9b1e-4c1e-8f3a-2d1b7e0c4a10", "purposes": ["marketing.communications.email"],
            "permissions": [{"actions": ["read"], "entities": ["contacts"], "fields": ["identity", "contact_details"], "scope": "all"}],
            "expires_in_days": 30, "allowed_addresses": ["192.0.2.0/24", " 2001:db8::1 "]
        }))
        .unwrap()
    }

    #[test]
    fn keys_are_limited() {
        let mut ok = input();
        ok.validate().unwrap();
        assert_eq!(ok.allowed_addresses, ["192.0.2.0/24", "2001:db8::1/128"]);
        let mut bad = input();
        bad.permissions[0].actions.insert(Action::Erase);
        assert!(bad.validate().is_err());
        let mut bad = input();
        bad.expires_in_days = 0;
        assert!(bad.validate().is_err());
        let mut bad = input();
        bad.allowed_addresses.push("somewhere".into());
        assert!(bad.validate().unwrap_err().detail.starts_with("allowed_addresses[2]"));
    }

    #[test]
    fn addresses() {
        let allowed = vec!["192.0.2.0/24".to_string()];
        assert!(address_allowed(&allowed, Some("192.0.2.7".parse().unwrap())));
        assert!(address_allowed(&allowed, Some("::ffff:192.0.2.7".parse().unwrap())), "mapped IPv4");
        assert!(!address_allowed(&allowed, Some("198.51.100.1".parse().unwrap())));
        assert!(!address_allowed(&allowed, None));
        assert!(address_allowed(&[], None));
    }
}
