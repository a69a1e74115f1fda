//! Public consent capture: the forms a web page submits to, what a
//! submission may hold, and how the Global Privacy Control signal is read
//! and what it objects to. Pure rules; the server does the I/O.

use crate::error::{ErrorCode, ValidationError};
use crate::model::Contact;
use crate::policy::is_direct_marketing;
use crate::values::check_text;
use crate::EntityBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The date `/.well-known/gpc.json` names as the last change of how Kith
/// honours the signal. Change it whenever that behaviour changes.
pub const GPC_LAST_UPDATE: &str = "2026-11-29";

/// The request header of the Global Privacy Control.
pub const GPC_HEADER: &str = "sec-gpc";

/// Whether the values of every `Sec-GPC` header of a request carry the
/// signal: only a value of exactly `1` does (any other value means no
/// signal), and with several headers any one that is exactly `1` counts.
/// A proxy may join several headers into one line separated by commas
/// (RFC 9110, 5.3), so each part counts as a header of its own; the
/// whitespace around a part is not part of the value. `01`, `yes` or
/// `true` are not the signal.
pub fn gpc_signal<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> bool {
    values.into_iter().any(|v| v.split(|b| *b == b',').any(|part| part.trim_ascii() == b"1"))
}

/// Purposes the GPC signal objects to: the sale or sharing of personal
/// data with third parties, and direct marketing.
pub fn gpc_objects_to(purpose_key: &str) -> bool {
    is_direct_marketing(purpose_key)
        || purpose_key == "third_party_sharing"
        || purpose_key.starts_with("third_party_sharing.")
}

/// The objections recorded for a person whose consent came with the signal.
pub const GPC_OBJECTIONS: [&str; 2] = ["marketing", "third_party_sharing"];

/// A capture form as an administrator defines it. It holds no personal
/// data: a name, the purposes it asks consent for, the notice shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    /// A label for staff, e.g. `newsletter footer`.
    pub name: String,
    /// Purpose keys from the catalogue the form asks consent for.
    pub purposes: Vec<String>,
    /// The privacy notice version the form shows.
    pub notice_version: String,
    /// Where consents from this form come from, as the ledger records it
    /// (defaults to the name).
    #[serde(default)]
    pub source: Option<String>,
}

impl FormInput {
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        self.name = check_text(&self.name, 100, false).map_err(|e| e.at("name"))?;
        if self.name.is_empty() {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "name: 1 to 100 characters"));
        }
        self.purposes = dedup(&self.purposes);
        if self.purposes.is_empty() || self.purposes.len() > 20 {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "purposes: 1 to 20 purpose keys"));
        }
        self.notice_version = self.notice_version.trim().to_string();
        if let Some(s) = &self.source {
            let s = check_text(s, 500, false).map_err(|e| e.at("source"))?;
            self.source = (!s.is_empty()).then_some(s);
        }
        Ok(())
    }
}

/// What a web form sends. Strict like every body: unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionInput {
    pub email: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    /// A subset of the form's purposes; all of them when absent.
    #[serde(default)]
    pub purposes: Option<Vec<String>>,
}

impl SubmissionInput {
    /// Checks the person's fields by the rules of a contact (the contact
    /// the confirmation creates must be valid) and the purposes against the
    /// form's; leaves `purposes` filled in.
    pub fn validate(&mut self, form_purposes: &[String]) -> Result<(), ValidationError> {
        let mut person = self.as_contact(None);
        person.validate().map_err(|e| ValidationError::new(e.code, e.detail.replacen("emails[0]", "email", 1)))?;
        (self.given_name, self.family_name) = (person.given_name, person.family_name);
        self.email = person.emails.into_iter().next().unwrap_or_default();
        let chosen = match &self.purposes {
            None => form_purposes.to_vec(),
            Some(list) => dedup(list),
        };
        if chosen.is_empty() {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "purposes: at least one of the form's purposes"));
        }
        if chosen.iter().any(|p| !form_purposes.contains(p)) {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "purposes: only purposes this form asks for"));
        }
        self.purposes = Some(chosen);
        Ok(())
    }

    /// The contact a confirmation creates for a person not known yet.
    pub fn as_contact(&self, owner: Option<&str>) -> Contact {
        Contact {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            emails: vec![self.email.clone()],
            owner: owner.map(str::to_string),
            ..Default::default()
        }
    }
}

fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list.iter().map(|p| p.trim().to_string()) {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_one_is_the_signal() {
        let signal = |values: &[&str]| gpc_signal(values.iter().map(|v| v.as_bytes()));
        assert!(signal(&["1"]));
        assert!(signal(&["0", "1"]), "any exact 1 among several headers counts");
        assert!(signal(&["yes", "1"]));
        assert!(signal(&["1, 1"]) && signal(&["0, 1"]), "headers a proxy joined");
        assert!(signal(&["1 "]));
        for none in [&[][..], &["0"], &["yes"], &["true"], &["01"], &["0, 01"], &["1;x"], &["I"], &[""], &[","]] {
            assert!(!signal(none), "{none:?}");
        }
    }

    #[test]
    fn the_signal_objects_to_marketing_and_sharing() {
        for key in ["marketing.communications.email", "marketing", "third_party_sharing", "third_party_sharing.x"] {
            assert!(gpc_objects_to(key), "{key}");
        }
        for key in ["essential.service", "analytics.reporting", "third_party_sharingx", "marketingx"] {
            assert!(!gpc_objects_to(key), "{key}");
        }
    }

    #[test]
    fn submissions_are_checked_like_contacts_and_against_the_form() {
        let form = vec!["a.b".to_string(), "c".to_string()];
        let mut ok = SubmissionInput {
            email: " Olena@Example.ORG ".into(),
            given_name: Some(" Olena ".into()),
            family_name: None,
            purposes: None,
        };
        ok.validate(&form).unwrap();
        assert_eq!(ok.email, "Olena@example.org");
        assert_eq!(ok.given_name.as_deref(), Some("Olena"));
        assert_eq!(ok.purposes.as_deref(), Some(&form[..]));
        let mut bad_email = SubmissionInput { email: "nope".into(), ..ok.clone() };
        assert_eq!(bad_email.validate(&form).unwrap_err().code, ErrorCode::InvalidEmail);
        let mut other = SubmissionInput { purposes: Some(vec!["x".into()]), ..ok.clone() };
        assert_eq!(other.validate(&form).unwrap_err().code, ErrorCode::InvalidValue);
        let mut none = SubmissionInput { purposes: Some(vec![]), ..ok };
        assert!(none.validate(&form).is_err());
    }
}
