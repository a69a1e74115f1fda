//! The one rule every processing path asks: may this person's data be used
//! for this purpose now? It weighs the purpose's lawful basis, the person's
//! consent state, restriction (Art. 18) and objections (Art. 21).

use crate::purpose::{LawfulBasis, Purpose};
use std::collections::{BTreeMap, BTreeSet};

/// What is known about one person's processing choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonStatus {
    /// Processing restricted (Art. 18): the data is only stored.
    pub restricted: bool,
    /// Purposes the person objected to (Art. 21).
    pub objections: BTreeSet<String>,
    /// The current consent per purpose (latest ledger entry).
    pub consents: BTreeMap<String, bool>,
    /// Purposes the DPO allowed despite the restriction, for the
    /// establishment, exercise or defence of legal claims (Art. 18(2)).
    pub legal_claims: BTreeSet<String>,
}

/// Why processing is refused; the code names it in problem responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Restricted,
    Objected,
    NoConsent,
}

impl Denial {
    pub fn code(self) -> crate::ErrorCode {
        match self {
            Self::Restricted => crate::ErrorCode::ProcessingRestricted,
            Self::Objected => crate::ErrorCode::ObjectedPurpose,
            Self::NoConsent => crate::ErrorCode::NoConsent,
        }
    }
}

/// Direct marketing: an objection to it is absolute (Art. 21(3)).
pub fn is_direct_marketing(purpose_key: &str) -> bool {
    purpose_key == "marketing" || purpose_key.starts_with("marketing.")
}

/// Whether an objection covers a purpose: its own key and the keys below it
/// (`third_party_sharing` covers `third_party_sharing.legal_obligation`),
/// and an objection to any direct marketing covers all of it.
pub fn objection_covers(objection: &str, purpose_key: &str) -> bool {
    purpose_key == objection
        || purpose_key.strip_prefix(objection).is_some_and(|rest| rest.starts_with('.'))
        || (is_direct_marketing(objection) && is_direct_marketing(purpose_key))
}

/// Decides. `dpo_view` is the DPO looking at the person's data, which
/// restriction does not stop (the DPO must be able to handle the
/// request); objections and consent bind the DPO like anyone.
pub fn may_process(purpose: &Purpose, person: &PersonStatus, dpo_view: bool) -> Result<(), Denial> {
    if person.restricted && !dpo_view && !person.legal_claims.contains(&purpose.key) {
        return Err(Denial::Restricted);
    }
    if person.objections.iter().any(|o| objection_covers(o, &purpose.key)) {
        return Err(Denial::Objected);
    }
    if purpose.lawful_basis == LawfulBasis::Consent && person.consents.get(&purpose.key) != Some(&true) {
        return Err(Denial::NoConsent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::purpose::defaults;
    use proptest::prelude::*;

    /// Purposes of the default catalogue, and `marketing` (an objection key).
    const KEYS: [&str; 6] = [
        "essential.service",
        "sales",
        "marketing.communications.email",
        "personalize.content.profiling",
        "analytics.reporting",
        "marketing",
    ];
    const PURPOSES: usize = 5;

    fn any_status() -> impl Strategy<Value = PersonStatus> {
        let key = || proptest::sample::select(KEYS.to_vec()).prop_map(str::to_string);
        (
            any::<bool>(),
            proptest::collection::btree_set(key(), 0..3),
            proptest::collection::btree_map(key(), any::<bool>(), 0..4),
            proptest::collection::btree_set(key(), 0..2),
        )
            .prop_map(|(restricted, objections, consents, legal_claims)| PersonStatus {
                restricted,
                objections,
                consents,
                legal_claims,
            })
    }

    proptest! {
        #[test]
        fn what_the_policy_never_allows(status in any_status(), index in 0..PURPOSES) {
            let catalogue = defaults();
            let purpose = catalogue.iter().find(|p| p.key == KEYS[index]).expect("a default purpose");
            let unrestricted = PersonStatus { restricted: false, ..status.clone() };
            prop_assert_eq!(
                may_process(purpose, &status, true),
                may_process(purpose, &unrestricted, false),
                "the DPO's view is not stopped by restriction, and by nothing else"
            );
            let allowed = may_process(purpose, &status, false).is_ok();
            if status.restricted && !status.legal_claims.contains(&purpose.key) {
                prop_assert!(!allowed, "restriction stops every purpose but a legal claim's");
            }
            if is_direct_marketing(&purpose.key) && status.objections.iter().any(|o| is_direct_marketing(o)) {
                prop_assert!(!allowed, "an objection to direct marketing is absolute, whatever the consent");
            }
            if status.objections.contains(&purpose.key) {
                prop_assert!(!allowed);
            }
            if purpose.lawful_basis == LawfulBasis::Consent && status.consents.get(&purpose.key) != Some(&true) {
                prop_assert!(!allowed, "no consent, no processing on that basis");
            }
            let objected = status.objections.iter().any(|o| {
                *o == purpose.key || purpose.key.starts_with(&format!("{o}."))
                    || (is_direct_marketing(o) && is_direct_marketing(&purpose.key))
            });
            let consented = purpose.lawful_basis != LawfulBasis::Consent || status.consents.get(&purpose.key) == Some(&true);
            let unrestricted = !status.restricted || status.legal_claims.contains(&purpose.key);
            prop_assert_eq!(allowed, unrestricted && !objected && consented, "and everything else is allowed");
        }
    }

    fn purpose(key: &str) -> Purpose {
        defaults().into_iter().find(|p| p.key == key).unwrap()
    }

    #[test]
    fn the_rules() {
        let sales = purpose("sales");
        let email = purpose("marketing.communications.email");
        let mut person = PersonStatus::default();
        assert_eq!(may_process(&sales, &person, false), Ok(()), "legitimate interests need no consent");
        assert_eq!(may_process(&email, &person, false), Err(Denial::NoConsent));
        person.consents.insert(email.key.clone(), true);
        assert_eq!(may_process(&email, &person, false), Ok(()));
        person.objections.insert("marketing".into());
        assert_eq!(
            may_process(&email, &person, false),
            Err(Denial::Objected),
            "an objection to direct marketing covers every marketing purpose"
        );
        assert_eq!(may_process(&sales, &person, false), Ok(()));
        person.restricted = true;
        assert_eq!(may_process(&sales, &person, false), Err(Denial::Restricted));
        assert_eq!(may_process(&sales, &person, true), Ok(()), "the DPO's view");
        assert_eq!(may_process(&email, &person, true), Err(Denial::Objected), "an objection binds the DPO too");
        person.legal_claims.insert("sales".into());
        assert_eq!(may_process(&sales, &person, false), Ok(()), "a legal-claims exception");
        assert_eq!(may_process(&email, &person, false), Err(Denial::Restricted), "for its purpose only");
    }

    #[test]
    fn objections_cover_the_purposes_below_them() {
        assert!(objection_covers("third_party_sharing", "third_party_sharing.legal_obligation"));
        assert!(objection_covers("sales", "sales"));
        assert!(!objection_covers("sales", "salesforce"));
        assert!(objection_covers("marketing.communications.email", "marketing.advertising"), "direct marketing");
        assert!(!objection_covers("analytics.reporting", "analytics"));
    }
}
