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
    /// Given or withdrawn by the person in the privacy portal.
    Portal,
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
            Self::Portal => "portal",
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
    /// Who consents for a person below the age of digital consent (Art. 8);
    /// required then, sealed like the evidence.
    #[serde(default)]
    pub guardian: Option<Guardian>,
}

/// The holder of parental responsibility who gave or authorised a child's consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Guardian {
    pub name: String,
    /// For example `mother`, `father`, `legal guardian`.
    pub relation: String,
    /// How the responsibility was checked (document seen, call-back, ...).
    #[serde(default)]
    pub verification: Option<String>,
}

impl Guardian {
    fn validate(&mut self) -> Result<(), ValidationError> {
        self.name = check_text(&self.name, 200, false).map_err(|e| e.at("guardian.name"))?;
        self.relation = check_text(&self.relation, 100, false).map_err(|e| e.at("guardian.relation"))?;
        if self.name.is_empty() || self.relation.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, "guardian: name and relation"));
        }
        if let Some(v) = &self.verification {
            self.verification = Some(check_text(v, 1000, true).map_err(|e| e.at("guardian.verification"))?);
        }
        Ok(())
    }
}

/// Whole years between a birthday and a day.
pub fn age_on(birthday: time::Date, day: time::Date) -> i32 {
    let before_birthday = (day.month() as u8, day.day()) < (birthday.month() as u8, birthday.day());
    day.year() - birthday.year() - i32::from(before_birthday)
}

/// A consent given for a person known to be under the age of digital
/// consent counts only with a guardian record; a withdrawal always counts.
pub fn needs_guardian(birthday: Option<time::Date>, granted: bool, digital_age: u8, today: time::Date) -> bool {
    granted && birthday.is_some_and(|b| age_on(b, today) < i32::from(digital_age))
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
        if let Some(g) = &mut self.guardian {
            g.validate()?;
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardian: Option<Guardian>,
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
            guardian: None,
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

    proptest::proptest! {
        /// The derived state is a replay of the ledger: for each purpose,
        /// the last entry written, and no purpose without an entry.
        #[test]
        fn the_state_is_a_replay_of_the_ledger(
            writes in proptest::collection::vec((0usize..4, proptest::bool::ANY), 0..30)
        ) {
            let purposes = ["a", "b", "c", "d"];
            let ledger: Vec<ConsentEntry> = writes.iter().map(|(p, g)| entry(purposes[*p], *g)).collect();
            let state = current_state(&ledger);
            for purpose in purposes {
                let last = ledger.iter().rev().find(|e| e.purpose == purpose);
                proptest::prop_assert_eq!(state.get(purpose).map(|e| e.id), last.map(|e| e.id));
            }
            proptest::prop_assert!(state.keys().all(|k| purposes.contains(&k.as_str())));
        }
    }

    #[test]
    fn age_of_digital_consent() {
        use time::macros::date;
        assert_eq!(age_on(date!(2010 - 06 - 15), date!(2026 - 06 - 14)), 15);
        assert_eq!(age_on(date!(2010 - 06 - 15), date!(2026 - 06 - 15)), 16);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 02 - 28)), 17, "a leap-day birthday");
        let today = date!(2026 - 11 - 29);
        assert!(needs_guardian(Some(date!(2012 - 01 - 01)), true, 16, today));
        assert!(!needs_guardian(Some(date!(2012 - 01 - 01)), false, 16, today), "withdrawal always counts");
        assert!(!needs_guardian(Some(date!(2012 - 01 - 01)), true, 13, today));
        assert!(!needs_guardian(None, true, 16, today), "only a person known to be a child");
    }

    #[test]
    fn notice_versions_are_labels() {
        assert!(NoticeInput { version: "2026-11".into(), text: "We…".into() }.validate().is_ok());
        assert!(NoticeInput { version: "a b".into(), text: "x".into() }.validate().is_err());
        assert!(NoticeInput { version: "1".into(), text: " ".into() }.validate().is_err());
    }
}
