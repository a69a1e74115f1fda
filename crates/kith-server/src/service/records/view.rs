//! What a caller may see of a record: the reach of their scopes, the
//! fields their grant hides, and the fields an event names.

use super::{render, Records};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use kith_core::access::META_FIELDS;
use kith_core::access::{Grant, Scope};
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::model::Contact;
use kith_core::{EntityBody, EntityKind, ErrorCode};
use kith_store::StoredRecord;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Whose records each scope reaches for one caller, resolved once per
/// request: their own name (an account's id, a token's name) and, when a
/// class reaches a team, the accounts sharing one of their teams.
pub struct Reach {
    own: String,
    team: Vec<String>,
}

impl Reach {
    pub fn covers(&self, scope: Scope, owner: Option<&str>) -> bool {
        match scope {
            Scope::All => true,
            Scope::Own => owner == Some(self.own.as_str()),
            Scope::Team => owner.is_some_and(|o| o == self.own || self.team.iter().any(|m| m == o)),
        }
    }

    /// The owners a scope reaches; `None` for everyone's.
    pub fn owners(&self, scope: Scope) -> Option<Vec<String>> {
        match scope {
            Scope::All => None,
            Scope::Own => Some(vec![self.own.clone()]),
            Scope::Team => Some(std::iter::once(self.own.clone()).chain(self.team.iter().cloned()).collect()),
        }
    }

    /// Whether a field of a record owned by `owner` is within the grant.
    pub(super) fn field(&self, grant: &Grant, entity: EntityKind, field: &str, owner: Option<&str>) -> bool {
        grant.field_scope(entity, field).is_some_and(|scope| self.covers(scope, owner))
    }
}

/// A record as a caller may see it: the fields their grant hides (for
/// this record's owner) are absent.
pub(super) fn redact(entity: EntityKind, grant: &Grant, reach: &Reach, owner: Option<&str>, rendered: Value) -> Value {
    match rendered {
        Value::Object(mut fields) => {
            fields.retain(|name, _| reach.field(grant, entity, name, owner));
            Value::Object(fields)
        }
        other => other,
    }
}

/// Only the id and times of a record.
pub(super) fn only_meta(rendered: Value) -> Value {
    match rendered {
        Value::Object(mut fields) => {
            fields.retain(|name, _| META_FIELDS.contains(&name.as_str()));
            Value::Object(fields)
        }
        other => other,
    }
}

pub(super) fn hidden_field(field: &str, verb: &str) -> ApiError {
    ApiError::new(ErrorCode::FieldForbidden, format!("{field}: your role may not {verb} this field"))
}

pub(super) fn out_of_scope() -> ApiError {
    ApiError::new(ErrorCode::Forbidden, "owner: the record would be outside your scope")
}

/// Names of the document fields a rendered record shows with a value.
pub(crate) fn present_fields(rendered: &Value) -> Vec<String> {
    let Value::Object(fields) = rendered else { return Vec::new() };
    fields
        .iter()
        .filter(|(name, value)| !META_FIELDS.contains(&name.as_str()) && !is_empty(value))
        .map(|(name, _)| name.clone())
        .collect()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Names of the document fields whose values differ between two versions.
pub(super) fn changed_fields(before: &Map<String, Value>, after: &Value) -> Vec<String> {
    let Value::Object(after) = after else { return Vec::new() };
    let mut names: Vec<String> = after
        .iter()
        .filter(|(name, value)| !META_FIELDS.contains(&name.as_str()) && before.get(*name) != Some(value))
        .map(|(name, _)| name.clone())
        .collect();
    names.extend(before.keys().filter(|name| !after.contains_key(*name)).cloned());
    names.sort();
    names.dedup();
    names
}

impl Records {
    /// Whose records a grant's scopes reach for this caller; the team's
    /// members are looked up only when some class reaches a team.
    pub async fn reach(&self, who: &Caller, grant: &Grant) -> ApiResult<Reach> {
        let team = if grant.fields.values().any(|s| *s == Scope::Team) {
            self.store.team_members(&who.principal.teams).await?
        } else {
            Vec::new()
        };
        Ok(Reach { own: who.principal.name.clone(), team })
    }

    /// Renders records as this caller may see them (fields their grant
    /// hides are absent, not null) with the audit event of each read.
    pub(super) fn present<B: EntityBody>(
        who: &Caller,
        grant: &Grant,
        reach: &Reach,
        records: Vec<(&StoredRecord, B)>,
    ) -> ApiResult<(Vec<Value>, Vec<AuditEvent>)> {
        let mut items = Vec::with_capacity(records.len());
        let mut events = Vec::with_capacity(records.len());
        for (row, body) in records {
            let rendered = render(row.id, row.created_at, row.updated_at, &body)?;
            let rendered = redact(B::KIND, grant, reach, row.owner.as_deref(), rendered);
            let fields = present_fields(&rendered);
            events.push(Self::event::<B>(
                who,
                AuditAction::Read,
                Some(row.id),
                Some(row.subject_id),
                fields,
                AuditOutcome::Ok,
            ));
            items.push(rendered);
        }
        Ok((items, events))
    }

    /// A write's answer, as the caller may read it: without a read grant
    /// reaching the record, only the id and times.
    pub(super) async fn shown<B: EntityBody>(
        &self,
        who: &Caller,
        owner: Option<&str>,
        rendered: Value,
    ) -> ApiResult<Value> {
        let Ok(grant) = self.authorizer.authorize(&who.principal, Action::Read, B::KIND) else {
            return Ok(only_meta(rendered));
        };
        let reach = self.reach(who, &grant).await?;
        if !reach.covers(grant.scope(), owner) {
            return Ok(only_meta(rendered));
        }
        Ok(redact(B::KIND, &grant, &reach, owner, rendered))
    }

    /// Opens and renders contacts another path (a segment) selected within
    /// the caller's scope and the policy already allowed; each is audited as read.
    pub async fn show_contacts(&self, who: &Caller, grant: &Grant, rows: &[StoredRecord]) -> ApiResult<Vec<Value>> {
        let mut keys = HashMap::new();
        let mut opened = Vec::with_capacity(rows.len());
        for row in rows {
            opened.push((row, self.open::<Contact>(row, &mut keys)?));
        }
        let reach = self.reach(who, grant).await?;
        let (items, events) = Self::present(who, grant, &reach, opened)?;
        if !events.is_empty() {
            self.audit.record(events).await?;
        }
        Ok(items)
    }

    /// The owners a grant reaches (`None`: all), for paths that select
    /// records themselves (segments).
    pub async fn grant_owners(&self, who: &Caller, grant: &Grant) -> ApiResult<Option<Vec<String>>> {
        Ok(self.reach(who, grant).await?.owners(grant.scope()))
    }

    /// The owners whose records the grant shows every one of `fields` on
    /// (`None`: all): the narrowest of the fields' scopes. A field the
    /// grant does not show at all is refused.
    pub async fn fields_owners(
        &self,
        who: &Caller,
        grant: &Grant,
        entity: kith_core::EntityKind,
        fields: &[&str],
    ) -> ApiResult<Option<Vec<String>>> {
        let mut narrowest = grant.scope();
        for field in fields {
            match grant.field_scope(entity, field) {
                Some(scope) => narrowest = narrowest.min(scope),
                None => return Err(hidden_field(field, "read")),
            }
        }
        Ok(self.reach(who, grant).await?.owners(narrowest))
    }

    /// Whether a record owned by `owner` is within the grant's reach.
    pub async fn within_scope(&self, who: &Caller, grant: &Grant, owner: Option<&str>) -> ApiResult<bool> {
        Ok(self.reach(who, grant).await?.covers(grant.scope(), owner))
    }
}
