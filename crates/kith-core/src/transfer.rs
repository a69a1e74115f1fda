//! Transfers of personal data to recipients outside the EEA (Art. 44–49):
//! the countries Kith knows (ISO 3166-1 alpha-2, from Debian's iso-codes;
//! see `data/countries.NOTICE.md`), the EEA, the Commission's adequacy
//! decisions as dated data an operator can replace, and the one rule that
//! says whether a transfer to a recipient may happen on a given day.

use crate::error::{ErrorCode, ValidationError};
use crate::model::parse_date;
use crate::values::check_text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use time::Date;
use utoipa::ToSchema;

const COUNTRIES: &str = include_str!("../data/countries.tsv");

/// The EU 27, Iceland, Liechtenstein and Norway: no transfer mechanism needed.
pub const EEA: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT",
    "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Every ISO 3166-1 alpha-2 code with its English short name.
pub fn countries() -> &'static BTreeMap<String, String> {
    static MAP: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        COUNTRIES
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(code, name)| (code.to_string(), name.to_string()))
            .collect()
    })
}

/// Whether data may go to `country` without a mechanism.
pub fn in_eea(country: &str) -> bool {
    EEA.contains(&country)
}

/// A limit on whom an adequacy decision covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdequacyScope {
    /// Only organisations subject to the named law (Canada: commercial
    /// organisations under PIPEDA): the recipient must confirm it is.
    CoveredOrganisations,
    /// Only organisations certified under the EU–US Data Privacy
    /// Framework: the transfer mechanism is `dpf`, never plain `adequacy`.
    DpfCertified,
}

/// One adequacy decision (Art. 45) for a country or an international organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdequacyDecision {
    /// ISO 3166-1 alpha-2, or `EPO` for the European Patent Organisation.
    pub country: String,
    pub name: String,
    /// The Commission decision, e.g. `(EU) 2023/1795`.
    pub decision: String,
    /// `YYYY-MM-DD`.
    pub adopted_on: String,
    /// The day it stops applying (`YYYY-MM-DD`), if it was withdrawn, annulled or expires.
    #[serde(default)]
    pub ends_on: Option<String>,
    #[serde(default)]
    pub scope: Option<AdequacyScope>,
}

impl AdequacyDecision {
    /// Whether it applies on `day`.
    pub fn in_force(&self, day: Date) -> bool {
        let date = |s: &str| parse_date("date", s).ok();
        date(&self.adopted_on).is_some_and(|a| a <= day)
            && self.ends_on.as_deref().and_then(date).is_none_or(|e| day < e)
    }

    fn validate(&mut self, at: &str) -> Result<(), ValidationError> {
        let invalid = |d: String| ValidationError::new(ErrorCode::InvalidValue, d);
        self.country = self.country.trim().to_ascii_uppercase();
        if !(countries().contains_key(&self.country) || self.country == "EPO") {
            return Err(invalid(format!("{at}.country: an ISO 3166-1 alpha-2 code, or EPO")));
        }
        if in_eea(&self.country) {
            return Err(invalid(format!("{at}.country: inside the EEA, no adequacy decision applies")));
        }
        self.name = check_text(&self.name, 200, false).map_err(|e| e.at(&format!("{at}.name")))?;
        self.decision = check_text(&self.decision, 100, false).map_err(|e| e.at(&format!("{at}.decision")))?;
        if self.name.is_empty() || self.decision.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, format!("{at}: name and decision are required")));
        }
        let adopted = parse_date(&format!("{at}.adopted_on"), &self.adopted_on)?;
        if let Some(ends) = &self.ends_on {
            if parse_date(&format!("{at}.ends_on"), ends)? <= adopted {
                return Err(invalid(format!("{at}.ends_on: after adopted_on")));
            }
        }
        Ok(())
    }
}

/// Checks an operator's list: every entry valid, one entry per country.
pub fn validate_decisions(list: &mut [AdequacyDecision]) -> Result<(), ValidationError> {
    if list.len() > 300 {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "decisions: at most 300"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, d) in list.iter_mut().enumerate() {
        d.validate(&format!("decisions[{i}]"))?;
        if !seen.insert(d.country.clone()) {
            return Err(ValidationError::new(
                ErrorCode::InvalidValue,
                format!("decisions[{i}].country: one entry per country (a renewal changes its dates)"),
            ));
        }
    }
    Ok(())
}

/// The adequacy decisions as Kith ships them, stated as of December 2026.
/// The 2021 United Kingdom decision carried a sunset clause and was renewed;
/// an operator replaces this list when the Commission adopts, renews or a
/// court annuls a decision (`PUT /api/v1/adequacy`).
pub fn shipped_decisions() -> Vec<AdequacyDecision> {
    let d = |country: &str, name: &str, decision: &str, adopted_on: &str, scope| AdequacyDecision {
        country: country.into(),
        name: name.into(),
        decision: decision.into(),
        adopted_on: adopted_on.into(),
        ends_on: None,
        scope,
    };
    use AdequacyScope::*;
    vec![
        d("AD", "Andorra", "2010/625/EU", "2010-10-19", None),
        d("AR", "Argentina", "2003/490/EC", "2003-06-30", None),
        d(
            "CA",
            "Canada (commercial organisations under PIPEDA)",
            "2002/2/EC",
            "2001-12-20",
            Some(CoveredOrganisations),
        ),
        d("FO", "Faroe Islands", "2010/146/EU", "2010-03-05", None),
        d("GG", "Guernsey", "2003/821/EC", "2003-11-21", None),
        d("IM", "Isle of Man", "2004/411/EC", "2004-04-28", None),
        d("IL", "Israel", "2011/61/EU", "2011-01-31", None),
        d("JP", "Japan", "(EU) 2019/419", "2019-01-23", None),
        d("JE", "Jersey", "2008/393/EC", "2008-05-08", None),
        d("NZ", "New Zealand", "2013/65/EU", "2012-12-19", None),
        d("KR", "Republic of Korea", "(EU) 2022/254", "2021-12-17", None),
        d("CH", "Switzerland", "2000/518/EC", "2000-07-26", None),
        d("GB", "United Kingdom", "(EU) 2021/1772", "2021-06-28", None),
        d("US", "United States (EU-US Data Privacy Framework)", "(EU) 2023/1795", "2023-07-10", Some(DpfCertified)),
        d("UY", "Uruguay", "2012/484/EU", "2012-08-21", None),
        d("EPO", "European Patent Organisation", "adequacy decision of 15 July 2025", "2025-07-15", None),
    ]
}

/// How data may leave the EEA (Art. 45–49).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferMechanism {
    /// An adequacy decision for the recipient's country (Art. 45).
    Adequacy,
    /// The EU–US Data Privacy Framework, for a certified US organisation.
    Dpf,
    /// Standard contractual clauses, Decision (EU) 2021/914 (Art. 46(2)(c)).
    Scc,
    /// Binding corporate rules (Art. 47).
    Bcr,
    /// A derogation for a specific situation (Art. 49).
    Derogation,
}

/// The ground of an Art. 49 derogation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Derogation {
    /// 49(1)(a): explicit consent after being told of the risks.
    ExplicitConsent,
    /// 49(1)(b): needed for a contract with the person.
    ContractWithSubject,
    /// 49(1)(c): needed for a contract in the person's interest.
    ContractInSubjectInterest,
    /// 49(1)(d): important reasons of public interest.
    PublicInterest,
    /// 49(1)(e): legal claims.
    LegalClaims,
    /// 49(1)(f): vital interests where the person cannot consent.
    VitalInterests,
    /// 49(1)(g): from a public register.
    PublicRegister,
    /// 49(1), second subparagraph: compelling legitimate interests, not repetitive, few people.
    CompellingLegitimateInterests,
}

/// What a recipient's transfer rests on, as [`assess`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct TransferTerms<'a> {
    pub country: &'a str,
    pub mechanism: Option<TransferMechanism>,
    pub within_decision_scope: bool,
    /// `YYYY-MM-DD`: the day the mechanism stops applying (a contract's or
    /// a certification's end).
    pub mechanism_expires_on: Option<&'a str>,
    pub ended: bool,
}

/// Why a transfer may happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "basis")]
pub enum TransferBasis {
    /// The recipient is in the EEA.
    InsideEea,
    /// Under the mechanism named, with the decision where there is one.
    Mechanism { mechanism: TransferMechanism, decision: Option<String> },
}

/// Why a transfer may not happen: a code and a sentence naming no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRefusal {
    pub code: ErrorCode,
    pub reason: String,
}

/// The one rule every transfer to a recipient passes (an API key's
/// request, an export): whether data may go to it on `day`.
pub fn assess(
    terms: &TransferTerms,
    decisions: &[AdequacyDecision],
    day: Date,
) -> Result<TransferBasis, TransferRefusal> {
    let refuse = |code, reason: String| Err(TransferRefusal { code, reason });
    if terms.ended {
        return refuse(ErrorCode::RecipientEnded, "the relationship with this recipient has ended".into());
    }
    if in_eea(terms.country) {
        return Ok(TransferBasis::InsideEea);
    }
    let Some(mechanism) = terms.mechanism else {
        return refuse(
            ErrorCode::NoTransferMechanism,
            format!("{} is outside the EEA and the recipient has no transfer mechanism", terms.country),
        );
    };
    if let Some(ends) = terms.mechanism_expires_on.and_then(|d| parse_date("", d).ok()) {
        if ends <= day {
            return refuse(ErrorCode::TransferMechanismExpired, format!("the transfer mechanism ended on {ends}"));
        }
    }
    let decision = decisions.iter().find(|d| d.country == terms.country && d.in_force(day));
    match mechanism {
        TransferMechanism::Adequacy | TransferMechanism::Dpf => {
            let Some(decision) = decision else {
                return refuse(
                    ErrorCode::NoTransferMechanism,
                    format!("no adequacy decision for {} is in force", terms.country),
                );
            };
            let dpf = decision.scope == Some(AdequacyScope::DpfCertified);
            if dpf != (mechanism == TransferMechanism::Dpf) {
                let why = if dpf {
                    "the decision covers only certified organisations: the mechanism is dpf"
                } else {
                    "dpf applies only to certified organisations in the United States"
                };
                return refuse(ErrorCode::NoTransferMechanism, why.into());
            }
            if decision.scope == Some(AdequacyScope::CoveredOrganisations) && !terms.within_decision_scope {
                return refuse(
                    ErrorCode::NoTransferMechanism,
                    format!(
                        "the decision for {} covers only some organisations; the recipient is not confirmed as one",
                        terms.country
                    ),
                );
            }
            Ok(TransferBasis::Mechanism { mechanism, decision: Some(decision.decision.clone()) })
        }
        TransferMechanism::Scc | TransferMechanism::Bcr | TransferMechanism::Derogation => {
            Ok(TransferBasis::Mechanism { mechanism, decision: None })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn terms(country: &str, mechanism: Option<TransferMechanism>) -> TransferTerms<'_> {
        TransferTerms { country, mechanism, within_decision_scope: false, mechanism_expires_on: None, ended: false }
    }

    #[test]
    fn the_country_list_is_iso_3166() {
        assert_eq!(countries().len(), 249);
        assert_eq!(countries()["UA"], "Ukraine");
        assert!(EEA.iter().all(|c| countries().contains_key(*c)));
        let mut shipped = shipped_decisions();
        validate_decisions(&mut shipped).unwrap();
    }

    #[test]
    fn transfers_follow_articles_45_to_49() {
        let list = shipped_decisions();
        let day = date!(2026 - 12 - 01);
        use TransferMechanism::*;
        assert_eq!(assess(&terms("DE", None), &list, day), Ok(TransferBasis::InsideEea));
        assert!(matches!(assess(&terms("JP", Some(Adequacy)), &list, day), Ok(TransferBasis::Mechanism { .. })));
        let refused = |t: &TransferTerms| assess(t, &list, day).unwrap_err().code;
        assert_eq!(refused(&terms("IN", None)), ErrorCode::NoTransferMechanism);
        assert_eq!(refused(&terms("IN", Some(Adequacy))), ErrorCode::NoTransferMechanism);
        assert!(assess(&terms("IN", Some(Scc)), &list, day).is_ok());
        // The US only under the Data Privacy Framework, and dpf only there.
        assert_eq!(refused(&terms("US", Some(Adequacy))), ErrorCode::NoTransferMechanism);
        assert!(assess(&terms("US", Some(Dpf)), &list, day).is_ok());
        assert_eq!(refused(&terms("GB", Some(Dpf))), ErrorCode::NoTransferMechanism);
        // Canada only for organisations the decision covers.
        assert_eq!(refused(&terms("CA", Some(Adequacy))), ErrorCode::NoTransferMechanism);
        assert!(
            assess(&TransferTerms { within_decision_scope: true, ..terms("CA", Some(Adequacy)) }, &list, day).is_ok()
        );
        // An expired mechanism, an ended recipient.
        let expired = TransferTerms { mechanism_expires_on: Some("2026-12-01"), ..terms("IN", Some(Scc)) };
        assert_eq!(refused(&expired), ErrorCode::TransferMechanismExpired);
        assert_eq!(refused(&TransferTerms { ended: true, ..terms("DE", None) }), ErrorCode::RecipientEnded);
    }

    #[test]
    fn a_decision_applies_between_its_dates() {
        let mut list = shipped_decisions();
        let gb = list.iter_mut().find(|d| d.country == "GB").unwrap();
        gb.ends_on = Some("2027-01-01".into());
        let day = |d| assess(&terms("GB", Some(TransferMechanism::Adequacy)), &list, d).is_ok();
        assert!(!day(date!(2021 - 06 - 27)));
        assert!(day(date!(2021 - 06 - 28)));
        assert!(day(date!(2026 - 12 - 31)));
        assert!(!day(date!(2027 - 01 - 01)));
    }

    #[test]
    fn an_operator_list_is_checked() {
        let mut list = shipped_decisions();
        list.push(list[0].clone());
        assert!(validate_decisions(&mut list).unwrap_err().detail.contains("one entry per country"));
        let mut list = vec![AdequacyDecision { country: "FR".into(), ..shipped_decisions()[0].clone() }];
        assert!(validate_decisions(&mut list).is_err());
        let mut list = vec![AdequacyDecision { country: "ZZ".into(), ..shipped_decisions()[0].clone() }];
        assert!(validate_decisions(&mut list).is_err());
        let mut list = vec![AdequacyDecision { ends_on: Some("2000-01-01".into()), ..shipped_decisions()[0].clone() }];
        assert!(validate_decisions(&mut list).is_err());
    }
}
