//! Privacy notices and the consent ledger. The ledger is append-only: the
//! current state of a person's consent to a purpose is derived from it (the
//! latest entry wins) and never stored apart from it.

use crate::error::{ErrorCode, ValidationError};
use crate::values::check_text;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A version of the privacy notice people are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    /// A label of 1 to 64 letters, digits, `.`, `-` or `_`, e.g. `2026-11`.
    pub version: String,
    /// The full text as shown.
    pub text: String,
}

impl NoticeInput {
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        self.version = self.version.trim().to_string();
        let ok = |c: char| c.is_ascii_alphanumeric() || ".-_".contains(c);
        if self.version.is_empty() || self.version.len() > 64 || !self.version.chars().all(ok) {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "version: 1 to 64 letters, digits, . - or _"));
        }
        if self.text.trim().is_empty() || self.text.len() > 200_000 {
            return Err(ValidationError::new(
                ErrorCode::InvalidValue,
                "text: the notice's full text, at most 200000 bytes",
            ));
        }
        Ok(())
    }
}

/// How a consent (or its withdrawal) was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    Api,
    WebForm,
    DoubleOptIn,
    Import,
    InPerson,
    Phone,
    Agent,
}

impl ConsentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::WebForm => "web_form",
            Self::DoubleOptIn => "double_opt_in",
            Self::Import => "import",
            Self::InPerson => "in_person",
            Self::Phone => "phone",
            Self::Agent => "agent",
        }
    }
}

/// One entry appended to a person's ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// A purpose key from the catalogue.
    pub purpose: String,
    /// True to give consent, false to withdraw it.
    pub granted: bool,
    /// The privacy notice version the person saw.
    pub notice_version: String,
    pub method: ConsentMethod,
    /// Where the consent came from (a form, a campaign, an import file).
    #[serde(default)]
    pub source: Option<String>,
    /// Proof: client address and user agent for online capture, the
    /// confirmation time of a double opt-in, the staff member for offline
    /// capture. Sealed under the person's key.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub evidence: Map<String, Value>,
}

impl ConsentInput {
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        self.purpose = self.purpose.trim().to_string();
        self.notice_version = self.notice_version.trim().to_string();
        if let Some(s) = &self.source {
            self.source = Some(check_text(s, 500, false).map_err(|e| e.at("source"))?);
        }
        let size = serde_json::to_vec(&self.evidence).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > 8192 {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "evidence: at most 8192 bytes"));
        }
        Ok(())
    }
}

/// A ledger entry as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConsentEntry {
    pub id: uuid::Uuid,
    pub purpose: String,
    pub granted: bool,
    /// RFC 3339.
    pub at: String,
    pub notice_version: String,
    pub method: ConsentMethod,
    pub source: Option<String>,
    #[schema(value_type = Object)]
    pub evidence: Map<String, Value>,
    /// The staff member or system that recorded it.
    pub recorded_by: String,
}

/// The state per purpose: the latest entry of each purpose, in ledger order.
pub fn current_state(ledger: &[ConsentEntry]) -> BTreeMap<String, &ConsentEntry> {
    let mut state = BTreeMap::new();
    for entry in ledger {
        state.insert(entry.purpose.clone(), entry);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(purpose: &str, granted: bool) -> ConsentEntry {
        ConsentEntry {
            id: uuid::Uuid::new_v4(),
            purpose: purpose.into(),
            granted,
            at: "t".into(),
            notice_version: "1".into(),
            method: ConsentMethod::Api,
            source: None,
            evidence: Map::new(),
            recorded_by: "x".into(),
        }
    }

    #[test]
    fn the_latest_entry_per_purpose_wins() {
        let ledger = [entry("a", true), entry("b", true), entry("a", false)];
        let state = current_state(&ledger);
        assert!(!state["a"].granted);
        assert!(state["b"].granted);
    }

    #[test]
    fn notice_versions_are_labels() {
        assert!(NoticeInput { version: "2026-11".into(), text: "We…".into() }.validate().is_ok());
        assert!(NoticeInput { version: "a b".into(), text: "x".into() }.validate().is_err());
        assert!(NoticeInput { version: "1".into(), text: " ".into() }.validate().is_err());
    }
}
