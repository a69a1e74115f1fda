//! What storage knows of each kind of document: its validation, owner,
//! subject, clear columns, references and blind-index terms.

use super::checks::*;
use super::*;

fn word_terms(terms: &mut Vec<IndexTerm>, texts: &[&Option<String>]) {
    for text in texts.iter().copied().flatten() {
        terms.extend(name_words(text).into_iter().map(|value| IndexTerm { field: IndexField::NameWord, value }));
    }
}

fn common_terms(terms: &mut Vec<IndexTerm>, emails: &[String], phones: &[String], tags: &[String]) {
    terms.extend(emails.iter().map(|e| IndexTerm { field: IndexField::Email, value: email_lookup_key(e) }));
    terms.extend(phones.iter().map(|p| IndexTerm { field: IndexField::Phone, value: p.clone() }));
    terms.extend(tags.iter().map(|t| IndexTerm { field: IndexField::Tag, value: tag_key(t) }));
    terms.sort_by(|a, b| (a.field.as_str(), &a.value).cmp(&(b.field.as_str(), &b.value)));
    terms.dedup();
}

/// Every document keeps its owner in an `owner` field.
macro_rules! owner_accessors {
    () => {
        fn owner(&self) -> Option<&str> {
            self.owner.as_deref()
        }

        fn set_owner(&mut self, owner: String) {
            self.owner = Some(owner);
        }
    };
}

/// The records a record about a person and a company points at.
fn references(contact: Option<Uuid>, company: Option<Uuid>) -> Vec<(EntityKind, Uuid)> {
    let mut refs: Vec<_> = contact.map(|id| (EntityKind::Contacts, id)).into_iter().collect();
    refs.extend(company.map(|id| (EntityKind::Companies, id)));
    refs
}

/// Index terms of a record whose only indexed values are its tags.
fn tag_terms(tags: &[String]) -> Vec<IndexTerm> {
    let mut terms = Vec::new();
    common_terms(&mut terms, &[], &[], tags);
    terms
}

impl EntityBody for Contact {
    const KIND: EntityKind = EntityKind::Contacts;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        Some(id)
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        text("given_name", &mut self.given_name, NAME_MAX, false)?;
        text("family_name", &mut self.family_name, NAME_MAX, false)?;
        emails(&mut self.emails)?;
        phones(&mut self.phones)?;
        addresses(&mut self.addresses)?;
        if let Some(b) = &self.birthday {
            let date = parse_date("birthday", b)?;
            if date > OffsetDateTime::now_utc().date() || date.year() < 1900 {
                return Err(ValidationError::new(ErrorCode::InvalidDate, "birthday: between 1900 and today"));
            }
            self.birthday = Some(date.to_string());
        }
        text("job_title", &mut self.job_title, NAME_MAX, false)?;
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)?;
        if self.given_name.is_none() && self.family_name.is_none() && self.emails.is_empty() && self.phones.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::MissingField,
                "a contact needs at least a name, an e-mail address or a phone number",
            ));
        }
        Ok(())
    }

    fn subject(&self) -> Option<Uuid> {
        None // a contact is its own subject
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        self.company_id.map(|id| (EntityKind::Companies, id)).into_iter().collect()
    }

    fn columns(&self) -> Vec<ClearValue> {
        vec![self.company_id.into()]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        let mut terms = Vec::new();
        word_terms(&mut terms, &[&self.given_name, &self.family_name]);
        common_terms(&mut terms, &self.emails, &self.phones, &self.tags);
        terms
    }

    owner_accessors!();
}

impl EntityBody for Company {
    const KIND: EntityKind = EntityKind::Companies;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            None
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        required_text("name", &mut self.name, NAME_MAX)?;
        text("domain", &mut self.domain, 253, false)?;
        if let Some(d) = &self.domain {
            // A domain is checked the way the part after an e-mail's @ is.
            let checked = parse_email(&format!("x@{d}"))
                .map_err(|_| ValidationError::new(ErrorCode::InvalidValue, "domain: a domain name like example.org"))?;
            self.domain = checked.split_once('@').map(|(_, d)| d.to_string());
        }
        emails(&mut self.emails)?;
        phones(&mut self.phones)?;
        addresses(&mut self.addresses)?;
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        None
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        Vec::new()
    }

    fn columns(&self) -> Vec<ClearValue> {
        Vec::new()
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        let mut terms = Vec::new();
        word_terms(&mut terms, &[&Some(self.name.clone())]);
        common_terms(&mut terms, &self.emails, &self.phones, &self.tags);
        terms
    }

    owner_accessors!();
}

impl EntityBody for Interaction {
    const KIND: EntityKind = EntityKind::Interactions;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            Some(self.contact_id)
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        timestamp_field("occurred_at", &mut self.occurred_at)?;
        if let Some(due) = &mut self.due_at {
            timestamp_field("due_at", due)?;
        }
        if self.kind != InteractionKind::Task && (self.due_at.is_some() || self.done.is_some()) {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "due_at and done: only for tasks"));
        }
        text("subject", &mut self.subject, 500, false)?;
        text("body", &mut self.body, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        Some(self.contact_id)
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        references(Some(self.contact_id), self.company_id)
    }

    fn columns(&self) -> Vec<ClearValue> {
        let occurred = parse_timestamp("occurred_at", &self.occurred_at).map(unix_millis).unwrap_or(0);
        vec![
            Some(self.contact_id).into(),
            self.company_id.into(),
            ClearValue::Text(self.kind.as_str().into()),
            ClearValue::Int(occurred),
        ]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        tag_terms(&self.tags)
    }

    owner_accessors!();
}

impl EntityBody for Deal {
    const KIND: EntityKind = EntityKind::Deals;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            self.contact_id
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        required_text("title", &mut self.title, 500)?;
        if let Some(a) = self.amount {
            self.amount = Some(check_decimal(a, false).map_err(|e| e.at("amount"))?);
        }
        if let Some(c) = &self.currency {
            self.currency = Some(parse_currency(c).map_err(|e| e.at("currency"))?);
        }
        if self.amount.is_some() && self.currency.is_none() {
            return Err(ValidationError::new(ErrorCode::MissingField, "currency: required with an amount"));
        }
        if let Some(d) = &self.expected_close {
            self.expected_close = Some(parse_date("expected_close", d)?.to_string());
        }
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        self.contact_id.or(self.company_id)
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        references(self.contact_id, self.company_id)
    }

    fn columns(&self) -> Vec<ClearValue> {
        vec![
            self.contact_id.into(),
            self.company_id.into(),
            ClearValue::Text(self.stage.as_str().into()),
            ClearValue::Int(self.amount.map(decimal_to_scaled).unwrap_or(0)),
            self.currency.clone().map_or(ClearValue::Null, ClearValue::Text),
            // Sortable columns are never NULL: undated deals sort last.
            ClearValue::Text(self.expected_close.clone().unwrap_or_else(|| "9999-12-31".into())),
        ]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        tag_terms(&self.tags)
    }

    owner_accessors!();
}

impl EntityBody for Purchase {
    const KIND: EntityKind = EntityKind::Purchases;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            Some(self.contact_id)
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        timestamp_field("purchased_at", &mut self.purchased_at)?;
        self.currency = parse_currency(&self.currency).map_err(|e| e.at("currency"))?;
        if self.lines.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, "lines: a purchase has at least one line"));
        }
        if self.lines.len() > 1000 {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "lines: at most 1000 lines"));
        }
        for (i, line) in self.lines.iter_mut().enumerate() {
            let at = |f: &str| format!("lines[{i}].{f}");
            required_text(&at("sku"), &mut line.sku, 100)?;
            text(&at("description"), &mut line.description, 2000, true)?;
            line.quantity = check_decimal(line.quantity, false).map_err(|e| e.at(&at("quantity")))?;
            if line.quantity.is_zero() {
                return Err(ValidationError::new(
                    ErrorCode::InvalidAmount,
                    format!("{}: must be above zero", at("quantity")),
                ));
            }
            line.unit_price = check_decimal(line.unit_price, false).map_err(|e| e.at(&at("unit_price")))?;
        }
        let total =
            self.checked_total().ok_or_else(|| ValidationError::new(ErrorCode::InvalidAmount, "total: too large"))?;
        check_decimal(total, false).map_err(|e| e.at("total"))?;
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        Some(self.contact_id)
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        references(Some(self.contact_id), self.company_id)
    }

    fn columns(&self) -> Vec<ClearValue> {
        let purchased = parse_timestamp("purchased_at", &self.purchased_at).map(unix_millis).unwrap_or(0);
        vec![
            Some(self.contact_id).into(),
            self.company_id.into(),
            ClearValue::Text(self.currency.clone()),
            ClearValue::Int(decimal_to_scaled(self.total())),
            ClearValue::Int(purchased),
        ]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        tag_terms(&self.tags)
    }

    fn computed(&self) -> Map<String, Value> {
        let mut extra = Map::new();
        extra.insert("total".into(), Value::String(self.total().to_string()));
        extra
    }

    owner_accessors!();
}
