//! The register of recipients (Art. 28, 30(1)(d)–(e)): the processors,
//! sub-processors and other controllers personal data goes to, with the
//! contract it goes under and, outside the EEA, the transfer mechanism
//! (see [`crate::transfer`]). A recipient is an organisation: its entry
//! holds no data subject's data.

use crate::error::{ErrorCode, ValidationError};
use crate::model::parse_date;
use crate::purpose::data_categories;
use crate::transfer::{countries, in_eea, AdequacyDecision, Derogation, TransferMechanism, TransferTerms};
use crate::values::check_text;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a recipient is to the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// Processes on the controller's documented instructions (Art. 28).
    Processor,
    /// Engaged by a processor with the controller's authorisation (Art. 28(2), (4)).
    SubProcessor,
    /// Decides its own purposes and means.
    IndependentController,
    /// Decides them together with the controller (Art. 26).
    JointController,
}

impl RecipientRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processor => "processor",
            Self::SubProcessor => "sub_processor",
            Self::IndependentController => "independent_controller",
            Self::JointController => "joint_controller",
        }
    }
}

/// A recipient as the DPO registers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    pub name: String,
    pub role: RecipientRole,
    /// Where the recipient processes the data: ISO 3166-1 alpha-2 (or `EPO`).
    pub country: String,
    /// Purpose keys from the catalogue the data goes to it for.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// fideslang data-category keys it receives, e.g. `user.contact.email`.
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// How to reach its privacy contact.
    #[serde(default)]
    pub contact: Option<String>,
    /// The contract or data processing agreement (Art. 28(3)); required for processors.
    #[serde(default)]
    pub contract_reference: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub contract_date: Option<String>,
    /// For a sub-processor: the processor that engaged it.
    #[serde(default)]
    pub processor_id: Option<Uuid>,
    /// Outside the EEA, what the transfer rests on; absent inside the EEA.
    /// Without one, no key is issued and no data goes.
    #[serde(default)]
    pub transfer_mechanism: Option<TransferMechanism>,
    /// With `scc`: the module of Decision (EU) 2021/914, 1 to 4.
    #[serde(default)]
    pub scc_module: Option<u8>,
    /// With `derogation`: the Art. 49 ground.
    #[serde(default)]
    pub derogation_ground: Option<Derogation>,
    /// With `adequacy` where the decision covers only some organisations
    /// (Canada): the recipient is one of them.
    #[serde(default)]
    pub within_decision_scope: bool,
    /// `YYYY-MM-DD`: the day the mechanism stops (the clauses' contract
    /// ends, the certification lapses); transfers stop on that day.
    #[serde(default)]
    pub mechanism_expires_on: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl RecipientInput {
    /// Normalises and checks every rule, naming the field at fault.
    /// Purposes are checked against the catalogue, and a sub-processor's
    /// processor against the register, by the caller.
    pub fn validate(&mut self, decisions: &[AdequacyDecision]) -> Result<(), ValidationError> {
        let invalid = |d: String| ValidationError::new(ErrorCode::InvalidValue, d);
        let missing = |d: &str| ValidationError::new(ErrorCode::MissingField, d.to_string());
        self.name = check_text(&self.name, 200, false).map_err(|e| e.at("name"))?;
        if self.name.is_empty() {
            return Err(missing("name: must not be empty"));
        }
        self.country = self.country.trim().to_ascii_uppercase();
        let organisation = self.country == "EPO" && decisions.iter().any(|d| d.country == "EPO");
        if !countries().contains_key(&self.country) && !organisation {
            return Err(invalid("country: an ISO 3166-1 alpha-2 code, like DE or US".into()));
        }
        if self.purposes.len() > 50 {
            return Err(invalid("purposes: at most 50".into()));
        }
        for p in &mut self.purposes {
            *p = p.trim().to_string();
        }
        self.purposes.sort();
        self.purposes.dedup();
        if self.data_categories.len() > 100 {
            return Err(invalid("data_categories: at most 100".into()));
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
        for (field, value, max, multiline) in [
            ("contact", &mut self.contact, 320, false),
            ("contract_reference", &mut self.contract_reference, 200, false),
            ("notes", &mut self.notes, 4000, true),
        ] {
            if let Some(text) = value {
                let checked = check_text(text, max, multiline).map_err(|e| e.at(field))?;
                *value = (!checked.is_empty()).then_some(checked);
            }
        }
        for (field, value) in
            [("contract_date", &self.contract_date), ("mechanism_expires_on", &self.mechanism_expires_on)]
        {
            if let Some(day) = value {
                parse_date(field, day)?;
            }
        }
        let processes = matches!(self.role, RecipientRole::Processor | RecipientRole::SubProcessor);
        if processes && self.contract_reference.is_none() {
            return Err(missing("contract_reference: a processor acts under a contract (Art. 28(3))"));
        }
        match (self.role, self.processor_id) {
            (RecipientRole::SubProcessor, None) => {
                return Err(missing("processor_id: a sub-processor names the processor that engaged it"))
            }
            (RecipientRole::SubProcessor, Some(_)) => {}
            (_, Some(_)) => return Err(invalid("processor_id: only for a sub-processor".into())),
            _ => {}
        }
        self.check_mechanism()
    }

    fn check_mechanism(&self) -> Result<(), ValidationError> {
        let invalid = |d: &str| ValidationError::new(ErrorCode::InvalidValue, d.to_string());
        let missing = |d: &str| ValidationError::new(ErrorCode::MissingField, d.to_string());
        let mechanism = self.transfer_mechanism;
        if in_eea(&self.country) && mechanism.is_some() {
            return Err(invalid("transfer_mechanism: none is needed inside the EEA"));
        }
        match (mechanism, self.scc_module) {
            (Some(TransferMechanism::Scc), None) => {
                return Err(missing("scc_module: standard contractual clauses name their module, 1 to 4"))
            }
            (Some(TransferMechanism::Scc), Some(m)) if !(1..=4).contains(&m) => {
                return Err(invalid("scc_module: 1 to 4"))
            }
            (Some(TransferMechanism::Scc), _) | (_, None) => {}
            (_, Some(_)) => return Err(invalid("scc_module: only with scc")),
        }
        match (mechanism, self.derogation_ground) {
            (Some(TransferMechanism::Derogation), None) => {
                return Err(missing("derogation_ground: an Art. 49 derogation names its ground"))
            }
            (Some(TransferMechanism::Derogation), Some(_)) | (_, None) => {}
            (_, Some(_)) => return Err(invalid("derogation_ground: only with derogation")),
        }
        if self.within_decision_scope && mechanism != Some(TransferMechanism::Adequacy) {
            return Err(invalid("within_decision_scope: only with adequacy"));
        }
        if mechanism.is_none() && self.mechanism_expires_on.is_some() {
            return Err(invalid("mechanism_expires_on: only with a transfer mechanism"));
        }
        Ok(())
    }

    /// What [`crate::transfer::assess`] needs of this recipient.
    pub fn terms(&self, ended: bool) -> TransferTerms<'_> {
        TransferTerms {
            country: &self.country,
            mechanism: self.transfer_mechanism,
            within_decision_scope: self.within_decision_scope,
            mechanism_expires_on: self.mechanism_expires_on.as_deref(),
            ended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::shipped_decisions;

    fn input(json: serde_json::Value) -> RecipientInput {
        let mut base = serde_json::json!({
            "name": "Mailer Ltd", "role": "processor", "country": "ie",
            "contract_reference": "DPA-7", "data_categories": ["user.contact.email"]
        });
        base.as_object_mut().unwrap().extend(json.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    fn detail(json: serde_json::Value) -> String {
        input(json).validate(&shipped_decisions()).unwrap_err().detail
    }

    #[test]
    fn a_recipient_is_checked_field_by_field() {
        let mut ok = input(serde_json::json!({}));
        ok.validate(&shipped_decisions()).unwrap();
        assert_eq!(ok.country, "IE");
        assert!(detail(serde_json::json!({"country": "XX"})).starts_with("country"));
        assert!(detail(serde_json::json!({"contract_reference": null})).starts_with("contract_reference"));
        assert!(detail(serde_json::json!({"role": "sub_processor"})).starts_with("processor_id"));
        assert!(detail(serde_json::json!({"transfer_mechanism": "scc", "scc_module": 2})).contains("inside the EEA"));
        assert!(detail(serde_json::json!({"country": "IN", "transfer_mechanism": "scc"})).starts_with("scc_module"));
        assert!(detail(serde_json::json!({"country": "IN", "transfer_mechanism": "derogation"}))
            .starts_with("derogation_ground"));
        assert!(detail(serde_json::json!({"data_categories": ["user.nothing"]})).starts_with("data_categories[0]"));
        assert!(detail(serde_json::json!({"contract_date": "31.01.2026"})).starts_with("contract_date"));
        let mut third = input(serde_json::json!({"country": "IN", "transfer_mechanism": "derogation",
            "derogation_ground": "explicit_consent", "role": "independent_controller", "contract_reference": null}));
        third.validate(&shipped_decisions()).unwrap();
    }
}
