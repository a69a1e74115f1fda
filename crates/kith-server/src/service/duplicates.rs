//! Likely duplicate contacts: the blind index names the records that
//! share a term with one to a few others (a shared tag or common name
//! word is held by many and left out); those within the caller's reach
//! are opened through the record service (each read audited, the purpose
//! and policy applied, so a person the purpose does not allow is never
//! proposed) and paired when they share an e-mail address, a phone
//! number, or their name words and company.

use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::ApiResult;
use crate::service::Services;
use kith_core::model::Contact;
use kith_core::normalize;
use kith_core::values::email_lookup_key;
use kith_core::EntityKind;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

/// A term shared by more records than this says nothing about duplicates.
const MOST_SHARING: i64 = 5;
/// Pairs looked at, at most, per report.
const MOST_PAIRS: usize = 200;

/// Why two contacts look like one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Likeness {
    SameEmail,
    SamePhone,
    SameNameAndCompany,
}

/// Two contacts that look like one person, as the caller may see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicatePair {
    #[schema(value_type = Vec<Object>)]
    pub contacts: [Value; 2],
    pub reasons: Vec<Likeness>,
}

/// The name words of a contact, in order, lower-cased and normalised.
fn name_words(c: &Contact) -> Vec<String> {
    let joined =
        [c.given_name.as_deref(), c.family_name.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join(" ");
    let mut words: Vec<String> = normalize::name_words(&joined);
    words.sort();
    words
}

fn likeness(a: &Contact, b: &Contact) -> Vec<Likeness> {
    let mut reasons = Vec::new();
    let emails = |c: &Contact| c.emails.iter().map(|e| email_lookup_key(e)).collect::<HashSet<_>>();
    if !emails(a).is_disjoint(&emails(b)) {
        reasons.push(Likeness::SameEmail);
    }
    if a.phones.iter().any(|p| b.phones.contains(p)) {
        reasons.push(Likeness::SamePhone);
    }
    let named = !name_words(a).is_empty() && name_words(a) == name_words(b);
    if named && a.company_id.is_some() && a.company_id == b.company_id {
        reasons.push(Likeness::SameNameAndCompany);
    }
    reasons
}

pub async fn find(svc: &Services, who: &Caller) -> ApiResult<Vec<DuplicatePair>> {
    let grant = svc.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
    let owners = svc.records.grant_owners(who, &grant).await?;
    let reachable: HashSet<Uuid> =
        svc.store.clear_rows(EntityKind::Contacts, owners.as_deref()).await?.into_iter().map(|r| r.id).collect();
    let mut holders: BTreeMap<[u8; 16], Vec<Uuid>> = BTreeMap::new();
    for (term, id) in svc.store.shared_terms(EntityKind::Contacts, MOST_SHARING).await? {
        if reachable.contains(&id) {
            holders.entry(term).or_default().push(id);
        }
    }
    // Pairs sharing more terms first (an address and a name beat a name alone).
    let mut shared: BTreeMap<(Uuid, Uuid), usize> = BTreeMap::new();
    for ids in holders.values() {
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                *shared.entry((*a.min(b), *a.max(b))).or_default() += 1;
            }
        }
    }
    let mut candidates: Vec<((Uuid, Uuid), usize)> = shared.into_iter().collect();
    candidates.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let candidates = candidates.into_iter().map(|(pair, _)| pair);
    let mut opened: HashMap<Uuid, Option<(Value, Contact)>> = HashMap::new();
    let mut pairs = Vec::new();
    for (a, b) in candidates.take(MOST_PAIRS) {
        for id in [a, b] {
            if let std::collections::hash_map::Entry::Vacant(slot) = opened.entry(id) {
                // A refusal (the purpose, a restriction) keeps the person out
                // of the report; a failure of the store ends it.
                let shown = match svc.records.get::<Contact>(who, id).await {
                    Ok(shown) => Some(shown),
                    Err(e) if e.code.status() < 500 => None,
                    Err(e) => return Err(e),
                };
                slot.insert(shown.and_then(|v| Some((v.clone(), contact_of(&v)?))));
            }
        }
        if let (Some(Some((va, ca))), Some(Some((vb, cb)))) = (opened.get(&a), opened.get(&b)) {
            let reasons = likeness(ca, cb);
            if !reasons.is_empty() {
                pairs.push(DuplicatePair { contacts: [va.clone(), vb.clone()], reasons });
            }
        }
    }
    Ok(pairs)
}

/// The contact fields of a shown record (the caller's visible ones).
fn contact_of(shown: &Value) -> Option<Contact> {
    let mut fields = shown.as_object()?.clone();
    fields.retain(|k, _| kith_core::access::field_class(EntityKind::Contacts, k).is_some());
    serde_json::from_value(Value::Object(fields)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likeness_is_an_address_a_number_or_a_name_at_one_company() {
        let company = Some(Uuid::from_u128(7));
        let person = |given: &str, email: &str, phone: &str, company| Contact {
            given_name: Some(given.into()),
            family_name: Some("Kovalenko".into()),
            emails: [email].iter().filter(|e| !e.is_empty()).map(|e| e.to_string()).collect(),
            phones: [phone].iter().filter(|p| !p.is_empty()).map(|p| p.to_string()).collect(),
            company_id: company,
            ..Contact::default()
        };
        let a = person("Olena", "Olena@Example.org", "+380441234567", company);
        assert_eq!(likeness(&a, &person("O.", "olena@example.org", "", None)), [Likeness::SameEmail]);
        assert_eq!(likeness(&a, &person("Helen", "", "+380441234567", None)), [Likeness::SamePhone]);
        assert_eq!(likeness(&a, &person("OLENA", "", "", company)), [Likeness::SameNameAndCompany]);
        assert!(likeness(&a, &person("Olena", "", "", None)).is_empty(), "a name alone is not enough");
    }
}
