//! Processing purposes: what personal data is used for, on which lawful
//! basis (Art. 6), with which special-category condition (Art. 9), over
//! which data categories and for how long. Keys come from the fideslang
//! taxonomy (data uses and data categories, CC BY 4.0 by Ethyca, Inc.; see
//! `data/fideslang/NOTICE.md`), embedded unchanged.

use crate::error::{ErrorCode, ValidationError};
use crate::values::check_text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use utoipa::ToSchema;

const DATA_USES: &str = include_str!("../data/fideslang/data_uses.csv");
const DATA_CATEGORIES: &str = include_str!("../data/fideslang/data_categories.csv");

/// The `fides_key` column of an embedded taxonomy file.
fn keys(csv_text: &str) -> BTreeSet<String> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader.records().filter_map(Result::ok).filter_map(|r| r.get(0).map(str::to_string)).collect()
}

/// Every fideslang data-use key.
pub fn data_uses() -> &'static BTreeSet<String> {
    static KEYS: OnceLock<BTreeSet<String>> = OnceLock::new();
    KEYS.get_or_init(|| keys(DATA_USES))
}

/// Every fideslang data-category key.
pub fn data_categories() -> &'static BTreeSet<String> {
    static KEYS: OnceLock<BTreeSet<String>> = OnceLock::new();
    KEYS.get_or_init(|| keys(DATA_CATEGORIES))
}

/// Art. 6(1) (a) to (f).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LawfulBasis {
    Consent,
    Contract,
    LegalObligation,
    VitalInterests,
    PublicTask,
    LegitimateInterests,
}

/// Art. 9(2) (a) to (j): the condition that lifts the ban on special-category data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpecialCategoryCondition {
    ExplicitConsent,
    EmploymentSocialSecurity,
    VitalInterests,
    NotForProfitBody,
    MadePublicByDataSubject,
    LegalClaims,
    SubstantialPublicInterest,
    HealthOrSocialCare,
    PublicHealth,
    ArchivingResearchStatistics,
}

/// A processing purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// A fideslang data-use key, e.g. `marketing.communications.email`.
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub lawful_basis: LawfulBasis,
    /// Required with `legitimate_interests`: why the interest is not
    /// overridden by the person's rights (Art. 6(1)(f)).
    #[serde(default)]
    pub balancing_note: Option<String>,
    #[serde(default)]
    pub special_category: bool,
    /// Required when `special_category` is true.
    #[serde(default)]
    pub special_category_condition: Option<SpecialCategoryCondition>,
    /// fideslang data-category keys, e.g. `user.contact.email`.
    pub data_categories: Vec<String>,
    /// How long data kept for this purpose may be kept, in days.
    pub retention_days: u32,
    /// The staff roles that may process data for this purpose; a request
    /// from another role naming it is refused. The DPO always may. Empty
    /// (the default) means only the DPO.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Purpose {
    /// Normalises and checks every rule, naming the field at fault.
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        let invalid = |detail: String| ValidationError::new(ErrorCode::InvalidValue, detail);
        self.key = self.key.trim().to_string();
        if !data_uses().contains(&self.key) {
            return Err(invalid("key: a fideslang data-use key, like marketing.communications.email".into()));
        }
        self.name = check_text(&self.name, 200, false).map_err(|e| e.at("name"))?;
        if self.name.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, "name: must not be empty"));
        }
        if let Some(d) = &self.description {
            self.description = Some(check_text(d, 4000, true).map_err(|e| e.at("description"))?);
        }
        if let Some(n) = &self.balancing_note {
            self.balancing_note = Some(check_text(n, 4000, true).map_err(|e| e.at("balancing_note"))?);
        }
        let has_note = self.balancing_note.as_deref().is_some_and(|n| !n.is_empty());
        if self.lawful_basis == LawfulBasis::LegitimateInterests && !has_note {
            return Err(ValidationError::new(
                ErrorCode::MissingField,
                "balancing_note: legitimate interests need the balancing test written down",
            ));
        }
        match (self.special_category, self.special_category_condition) {
            (true, None) => {
                return Err(ValidationError::new(
                    ErrorCode::MissingField,
                    "special_category_condition: special-category data needs an Art. 9(2) condition",
                ))
            }
            (false, Some(_)) => return Err(invalid("special_category_condition: only with special_category".into())),
            _ => {}
        }
        if self.data_categories.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, "data_categories: at least one"));
        }
        for (i, c) in self.data_categories.iter_mut().enumerate() {
            *c = c.trim().to_string();
            if !data_categories().contains(c) {
                return Err(invalid(format!(
                    "data_categories[{i}]: a fideslang data-category key, like user.contact.email"
                )));
            }
        }
        self.data_categories.sort();
        self.data_categories.dedup();
        if self.retention_days == 0 || self.retention_days > 36_500 {
            return Err(invalid("retention_days: 1 to 36500".into()));
        }
        // Whether a custom role exists is the catalogue's writer's to check.
        for (i, role) in self.roles.iter_mut().enumerate() {
            *role = role.trim().to_string();
            if !crate::access::valid_role_name(role) {
                return Err(invalid(format!("roles[{i}]: a role name, like {}", crate::ROLES.join(", "))));
            }
        }
        self.roles.sort();
        self.roles.dedup();
        Ok(())
    }

    /// Whether a caller of `role` may process data for this purpose.
    pub fn allows_role(&self, role: &str) -> bool {
        role == "dpo" || self.roles.iter().any(|r| r == role)
    }
}

/// The purposes a new installation starts with; admins and the DPO edit them.
pub fn defaults() -> Vec<Purpose> {
    let p = |key: &str, name: &str, basis, note: Option<&str>, categories: &[&str], days, roles: &[&str]| Purpose {
        key: key.into(),
        name: name.into(),
        description: None,
        lawful_basis: basis,
        balancing_note: note.map(str::to_string),
        special_category: false,
        special_category_condition: None,
        data_categories: categories.iter().map(|c| c.to_string()).collect(),
        retention_days: days,
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    use LawfulBasis::*;
    vec![
        p("essential.service", "Service delivery", Contract, None, &["user.name", "user.contact", "user.behavior.purchase_history"], 2555, &["admin", "sales", "support", "marketing"]),
        p(
            "sales",
            "Sales follow-up",
            LegitimateInterests,
            Some("Following up an enquiry or an existing customer relationship is expected by the person; they can object at any time."),
            &["user.name", "user.contact", "user.job_title"],
            730,
            &["sales"],
        ),
        p("essential.service.operations.support", "Customer support", Contract, None, &["user.name", "user.contact"], 1095, &["support"]),
        p("marketing.communications.email", "E-mail marketing", Consent, None, &["user.name", "user.contact.email"], 730, &["marketing"]),
        p("analytics.reporting", "Analytics", LegitimateInterests, Some("Aggregate reporting on sales and service; no decision about a person is taken from it."), &["user.behavior.purchase_history"], 365, &["sales", "marketing"]),
        p("personalize.content.profiling", "Profiling", Consent, None, &["user.behavior", "user.demographic"], 365, &["marketing"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taxonomy_is_embedded() {
        assert!(data_uses().contains("marketing.communications.email"));
        assert!(data_categories().contains("user.contact.email"));
        assert!(data_uses().len() > 40 && data_categories().len() > 80);
    }

    #[test]
    fn defaults_are_valid() {
        for mut p in defaults() {
            p.validate().unwrap_or_else(|e| panic!("{}: {e}", p.key));
        }
    }

    #[test]
    fn rules() {
        let mut p = defaults().remove(1);
        p.balancing_note = None;
        assert_eq!(p.validate().unwrap_err().code, ErrorCode::MissingField);
        let mut p = defaults().remove(0);
        p.key = "marketing.mind_control".into();
        assert_eq!(p.validate().unwrap_err().code, ErrorCode::InvalidValue);
        let mut p = defaults().remove(0);
        p.special_category = true;
        assert_eq!(p.validate().unwrap_err().code, ErrorCode::MissingField);
        p.special_category_condition = Some(SpecialCategoryCondition::ExplicitConsent);
        p.validate().unwrap();
        p.roles = vec!["sales".into(), "sales".into()];
        p.validate().unwrap();
        assert_eq!(p.roles, ["sales"]);
        assert!(p.allows_role("sales") && p.allows_role("dpo") && !p.allows_role("marketing"));
        p.roles.push("Janitor!".into());
        assert!(p.validate().unwrap_err().detail.starts_with("roles["));
        p.roles.pop();
        p.data_categories.push("user.shoe_size".into());
        assert!(p.validate().unwrap_err().detail.starts_with("data_categories["));
    }
}
