//! The access model: what a role (or a third-party key) may do. A
//! permission names an action, a kind of record, the classes of fields it
//! covers and a scope; what no permission grants is denied. Every field of
//! every record belongs to exactly one class, so a rule over classes covers
//! each field, including fields added later (the test below insists).

use crate::error::{ErrorCode, ValidationError};
use crate::EntityKind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    Export,
    Erase,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Export => "export",
            Self::Erase => "erase",
        }
    }
}

/// Groups of fields a permission covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldClass {
    /// Names, job title, the company link, tags, the owner.
    Identity,
    /// E-mail addresses and phone numbers.
    ContactDetails,
    Address,
    Birthday,
    /// Free text and custom fields.
    Notes,
    /// Every field of an interaction.
    Interactions,
    /// Every field of a purchase.
    Purchases,
    /// Every field of a deal.
    Deals,
    /// Art. 9 data; no field holds it yet, a custom role may still name it.
    SpecialCategory,
    /// The source, evidence and guardian of consent-ledger entries (client
    /// addresses, user agents, a child's guardian): the proof, for the DPO.
    ConsentEvidence,
}

impl FieldClass {
    pub const ALL: [FieldClass; 10] = [
        Self::Identity,
        Self::ContactDetails,
        Self::Address,
        Self::Birthday,
        Self::Notes,
        Self::Interactions,
        Self::Purchases,
        Self::Deals,
        Self::SpecialCategory,
        Self::ConsentEvidence,
    ];

    /// The snake_case name, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::ContactDetails => "contact_details",
            Self::Address => "address",
            Self::Birthday => "birthday",
            Self::Notes => "notes",
            Self::Interactions => "interactions",
            Self::Purchases => "purchases",
            Self::Deals => "deals",
            Self::SpecialCategory => "special_category",
            Self::ConsentEvidence => "consent_evidence",
        }
    }

    /// The fideslang data category the class holds, for records of
    /// processing and exports that speak the taxonomy.
    pub fn fideslang_category(self) -> &'static str {
        match self {
            Self::Identity => "user.name",
            Self::ContactDetails => "user.contact",
            Self::Address => "user.contact.address",
            Self::Birthday => "user.demographic.date_of_birth",
            Self::Notes | Self::Interactions => "user.content.private",
            Self::Purchases => "user.behavior.purchase_history",
            Self::Deals => "user.financial",
            Self::SpecialCategory => "user.health_and_medical",
            Self::ConsentEvidence => "user.privacy_preferences",
        }
    }
}

/// Which records a permission reaches, by their `owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Records the caller owns.
    Own,
    /// Records owned by a member of one of the caller's teams.
    Team,
    All,
}

/// The class of each document field; `None` for a name that is no field
/// of the kind (the caller refuses it as unknown).
pub fn field_class(entity: EntityKind, field: &str) -> Option<FieldClass> {
    use FieldClass::*;
    let class = match entity {
        EntityKind::Contacts | EntityKind::Companies => match field {
            "given_name" | "family_name" | "name" | "domain" | "job_title" | "company_id" | "tags" | "owner" => {
                Identity
            }
            "emails" | "phones" => ContactDetails,
            "addresses" => Address,
            "birthday" if entity == EntityKind::Contacts => Birthday,
            "notes" | "custom" => Notes,
            _ => return None,
        },
        EntityKind::Interactions => Interactions,
        EntityKind::Deals => Deals,
        EntityKind::Purchases => Purchases,
    };
    Some(class)
}

/// Fields of every response that are not the person's data: ids and times.
/// (A purchase's computed total is a purchase field, not one of these.)
pub const META_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

/// One thing a role or key may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    pub actions: BTreeSet<Action>,
    /// Kinds of records, by their path name (`contacts`, `deals`, ...).
    #[schema(value_type = Vec<String>)]
    pub entities: BTreeSet<String>,
    pub fields: BTreeSet<FieldClass>,
    pub scope: Scope,
}

impl Permission {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let invalid = |d: &str| ValidationError::new(ErrorCode::InvalidValue, d.to_string());
        if self.actions.is_empty() || self.entities.is_empty() || self.fields.is_empty() {
            return Err(invalid("permissions: actions, entities and fields must each name at least one"));
        }
        for e in &self.entities {
            if !EntityKind::ALL.iter().any(|k| k.as_str() == e) {
                return Err(invalid("permissions: entities are contacts, companies, interactions, deals, purchases"));
            }
        }
        Ok(())
    }

    fn covers(&self, action: Action, entity: EntityKind) -> bool {
        self.actions.contains(&action) && self.entities.contains(entity.as_str())
    }
}

/// What a set of permissions grants for one action on one kind of record:
/// each field class with the widest scope any permission gives *that
/// class* (notes for one's own records and names for all stay that way).
/// `None` when nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub fields: BTreeMap<FieldClass, Scope>,
}

impl Grant {
    /// Every class, everywhere.
    pub fn everything() -> Self {
        Self { fields: FieldClass::ALL.iter().map(|c| (*c, Scope::All)).collect() }
    }

    /// The widest reach of any class: which records the action touches at all.
    pub fn scope(&self) -> Scope {
        self.fields.values().copied().max().unwrap_or(Scope::Own)
    }

    /// How far a field (by name) may be seen or written. Meta fields (id,
    /// times) go with any record the grant reaches.
    pub fn field_scope(&self, entity: EntityKind, field: &str) -> Option<Scope> {
        if META_FIELDS.contains(&field) {
            return Some(self.scope());
        }
        field_class(entity, field).and_then(|c| self.fields.get(&c).copied())
    }

    /// Whether a field may be seen or written on at least some records.
    pub fn allows_field(&self, entity: EntityKind, field: &str) -> bool {
        self.field_scope(entity, field).is_some()
    }

    /// Whether records may be filtered or sorted by a field: only when the
    /// field reaches every record the grant does, else the answer would
    /// tell about the field on records where it is hidden. A name that is
    /// no field of the kind is not this rule's to refuse. Lists, segments
    /// and every other filter ask this one function.
    pub fn may_filter_by(&self, entity: EntityKind, field: &str) -> bool {
        field_class(entity, field).is_none() || self.field_scope(entity, field).is_some_and(|s| s >= self.scope())
    }
}

pub fn grant(permissions: &[Permission], action: Action, entity: EntityKind) -> Option<Grant> {
    let mut out: Option<Grant> = None;
    for p in permissions.iter().filter(|p| p.covers(action, entity)) {
        let g = out.get_or_insert(Grant { fields: BTreeMap::new() });
        for class in &p.fields {
            let scope = g.fields.entry(*class).or_insert(p.scope);
            *scope = (*scope).max(p.scope);
        }
    }
    out
}

fn permission(actions: &[Action], entities: &[EntityKind], fields: &[FieldClass], scope: Scope) -> Permission {
    Permission {
        actions: actions.iter().copied().collect(),
        entities: entities.iter().map(|e| e.as_str().to_string()).collect(),
        fields: fields.iter().copied().collect(),
        scope,
    }
}

/// A role an admin defines beside the built-in ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// Lower-case letters, digits and `_`, starting with a letter; not a built-in role's name.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
}

/// A role name: lower-case letters, digits and `_`, starting with a letter, at most 32.
pub fn valid_role_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl RoleInput {
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        self.name = self.name.trim().to_string();
        if !valid_role_name(&self.name) {
            return Err(ValidationError::new(
                ErrorCode::InvalidValue,
                "name: lower-case letters, digits and _, starting with a letter, at most 32",
            ));
        }
        if built_in(&self.name).is_some() || self.name == "capture" {
            return Err(ValidationError::new(ErrorCode::Conflict, "name: a built-in role's name"));
        }
        if let Some(d) = &self.description {
            self.description = Some(crate::values::check_text(d, 2000, true).map_err(|e| e.at("description"))?);
        }
        if self.permissions.len() > 50 {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "permissions: at most 50"));
        }
        self.permissions.iter().try_for_each(Permission::validate)
    }
}

/// Whether permissions reach the personal data of everyone at its most
/// sensitive: scope `all` over special categories or consent evidence. An
/// account holding such a role (the DPO, or a custom role like it) is
/// created, changed, reset and disabled only by a DPO or from the command
/// line on the server, never by an admin (who holds no personal data).
pub fn is_high_privilege(permissions: &[Permission]) -> bool {
    permissions.iter().any(|p| {
        p.scope == Scope::All
            && (p.fields.contains(&FieldClass::SpecialCategory) || p.fields.contains(&FieldClass::ConsentEvidence))
    })
}

/// Whether `held` grants everything `wanted` does: every action on every
/// kind for every field class, over at least the same scope. No one
/// defines a role that grants more than they hold themselves.
pub fn covers(held: &[Permission], wanted: &Permission) -> bool {
    wanted.actions.iter().all(|action| {
        wanted.entities.iter().all(|entity| {
            wanted.fields.iter().all(|field| {
                held.iter().any(|p| {
                    p.actions.contains(action)
                        && p.entities.contains(entity)
                        && p.fields.contains(field)
                        && p.scope >= wanted.scope
                })
            })
        })
    })
}

/// The built-in roles. `admin` manages users, settings and keys and sees
/// no personal data by default; `auditor` sees the audit log and no
/// personal values; the DPO sees every person.
pub fn built_in(role: &str) -> Option<Vec<Permission>> {
    use Action::*;
    use EntityKind::{Companies, Contacts};
    use FieldClass::{Address, Birthday, ContactDetails, Identity, Notes};
    let crud = [Read, Create, Update, Delete];
    let people = [Identity, ContactDetails, Address, Notes];
    let records = [EntityKind::Deals, EntityKind::Interactions, EntityKind::Purchases];
    let record_fields = [FieldClass::Deals, FieldClass::Interactions, FieldClass::Purchases];
    Some(match role {
        "admin" | "auditor" => Vec::new(),
        "dpo" => vec![permission(
            &[Read, Create, Update, Delete, Export, Erase],
            &EntityKind::ALL,
            &FieldClass::ALL,
            Scope::All,
        )],
        "sales" => vec![
            permission(
                &crud,
                &[Contacts, Companies],
                &[Identity, ContactDetails, Address, Birthday, Notes],
                Scope::All,
            ),
            permission(&crud, &records, &record_fields, Scope::All),
        ],
        "support" => vec![
            permission(&[Read, Update], &[Contacts], &people, Scope::All),
            permission(&[Read], &[Companies], &people, Scope::All),
            permission(&crud, &[EntityKind::Interactions], &[FieldClass::Interactions], Scope::All),
            permission(&[Read], &[EntityKind::Purchases], &[FieldClass::Purchases], Scope::All),
        ],
        "marketing" => vec![
            permission(&[Read], &[Contacts, Companies], &[Identity, ContactDetails], Scope::All),
            permission(&[Create, Update], &[Contacts], &[Identity, ContactDetails], Scope::Own),
            permission(&[Read], &[EntityKind::Purchases], &[FieldClass::Purchases], Scope::All),
        ],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_names_a_fideslang_category() {
        for class in FieldClass::ALL {
            assert!(crate::purpose::data_categories().contains(class.fideslang_category()), "{class:?}");
            let json = serde_json::to_value(class).unwrap();
            assert_eq!(json, class.as_str());
        }
    }

    #[test]
    fn only_the_dpo_like_roles_are_high_privilege_and_no_one_grants_more_than_they_hold() {
        let dpo = built_in("dpo").unwrap();
        let sales = built_in("sales").unwrap();
        assert!(is_high_privilege(&dpo));
        for role in ["admin", "auditor", "sales", "support", "marketing"] {
            assert!(!is_high_privilege(&built_in(role).unwrap()), "{role}");
        }
        assert!(sales.iter().all(|p| covers(&dpo, p)), "the DPO holds what sales does");
        assert!(!dpo.iter().all(|p| covers(&sales, p)), "sales does not hold what the DPO does");
        assert!(sales.iter().all(|p| !covers(&[], p)), "an admin holds nothing");
        let mut wider = sales[0].clone();
        wider.scope = Scope::All;
        let mut narrower = wider.clone();
        narrower.scope = Scope::Own;
        assert!(covers(std::slice::from_ref(&wider), &narrower));
        assert!(!covers(std::slice::from_ref(&narrower), &wider), "a narrower scope does not cover a wider one");
    }

    #[test]
    fn every_field_of_every_record_has_a_class() {
        // The fields of each kind, as its serialised document shows them.
        let documents = [
            (EntityKind::Contacts, serde_json::to_value(crate::model::Contact::default()).unwrap()),
            (EntityKind::Companies, serde_json::to_value(crate::model::Company::default()).unwrap()),
        ];
        for (entity, document) in documents {
            for field in document.as_object().unwrap().keys() {
                assert!(field_class(entity, field).is_some(), "{} has no class for {field}", entity.as_str());
            }
        }
    }

    #[test]
    fn grants_are_unions() {
        let sales = built_in("sales").unwrap();
        let read = grant(&sales, Action::Read, EntityKind::Contacts).unwrap();
        assert!(read.allows_field(EntityKind::Contacts, "birthday"));
        assert_eq!(read.scope(), Scope::All);
        let marketing = built_in("marketing").unwrap();
        let read = grant(&marketing, Action::Read, EntityKind::Contacts).unwrap();
        assert!(read.allows_field(EntityKind::Contacts, "emails") && read.allows_field(EntityKind::Contacts, "id"));
        assert!(
            !read.allows_field(EntityKind::Contacts, "notes") && !read.allows_field(EntityKind::Contacts, "birthday")
        );
        assert_eq!(grant(&marketing, Action::Update, EntityKind::Contacts).unwrap().scope(), Scope::Own);
        // Two permissions of one role: each class keeps its own reach.
        let mixed = vec![
            permission(&[Action::Read], &[EntityKind::Contacts], &[FieldClass::Identity], Scope::All),
            permission(&[Action::Read], &[EntityKind::Contacts], &[FieldClass::Notes], Scope::Own),
        ];
        let read = grant(&mixed, Action::Read, EntityKind::Contacts).unwrap();
        assert_eq!(read.field_scope(EntityKind::Contacts, "given_name"), Some(Scope::All));
        assert_eq!(read.field_scope(EntityKind::Contacts, "notes"), Some(Scope::Own), "not widened by the other");
        assert_eq!(read.field_scope(EntityKind::Contacts, "id"), Some(Scope::All));
        assert_eq!(read.field_scope(EntityKind::Purchases, "total"), None);
        assert!(grant(&marketing, Action::Delete, EntityKind::Contacts).is_none());
        assert!(grant(&built_in("admin").unwrap(), Action::Read, EntityKind::Contacts).is_none());
        for role in crate::ROLES {
            assert!(built_in(role).is_some(), "{role}");
        }
        let bad = Permission { entities: ["people".to_string()].into(), ..sales[0].clone() };
        assert!(bad.validate().is_err());
        let mut role = RoleInput { name: "analyst".into(), description: None, permissions: sales.clone() };
        role.validate().unwrap();
        for name in ["Analyst", "sales", "1st", "a-b", ""] {
            role.name = name.into();
            assert!(role.validate().is_err(), "{name}");
        }
    }
}
