//! The rules a document's fields follow, and the parsing of dates and
//! times, each naming the field at fault.

use super::*;

pub(super) fn text(
    field: &str,
    value: &mut Option<String>,
    max: usize,
    multiline: bool,
) -> Result<(), ValidationError> {
    if let Some(v) = value {
        let checked = check_text(v, max, multiline).map_err(|e| e.at(field))?;
        *value = (!checked.is_empty()).then_some(checked);
    }
    Ok(())
}

pub(super) fn required_text(field: &str, value: &mut String, max: usize) -> Result<(), ValidationError> {
    *value = check_text(value, max, false).map_err(|e| e.at(field))?;
    if value.is_empty() {
        return Err(ValidationError::new(ErrorCode::MissingField, format!("{field}: must not be empty")));
    }
    Ok(())
}

pub(super) fn list_len<T>(field: &str, list: &[T]) -> Result<(), ValidationError> {
    if list.len() > LIST_MAX {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("{field}: at most {LIST_MAX} entries")));
    }
    Ok(())
}

pub(super) fn emails(list: &mut Vec<String>) -> Result<(), ValidationError> {
    list_len("emails", list)?;
    for (i, e) in list.iter_mut().enumerate() {
        *e = parse_email(e).map_err(|err| err.at(&format!("emails[{i}]")))?;
    }
    dedup_by_key(list, |e| email_lookup_key(e));
    Ok(())
}

pub(super) fn phones(list: &mut Vec<String>) -> Result<(), ValidationError> {
    list_len("phones", list)?;
    for (i, p) in list.iter_mut().enumerate() {
        *p = parse_phone(p).map_err(|err| err.at(&format!("phones[{i}]")))?;
    }
    dedup_by_key(list, |p| p.clone());
    Ok(())
}

pub(super) fn dedup_by_key(list: &mut Vec<String>, key: impl Fn(&String) -> String) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|v| seen.insert(key(v)));
}

pub(super) fn addresses(list: &mut [Address]) -> Result<(), ValidationError> {
    list_len("addresses", list)?;
    for (i, a) in list.iter_mut().enumerate() {
        let at = |f: &str| format!("addresses[{i}].{f}");
        text(&at("street"), &mut a.street, NAME_MAX, true)?;
        text(&at("city"), &mut a.city, NAME_MAX, false)?;
        text(&at("postal_code"), &mut a.postal_code, 32, false)?;
        text(&at("region"), &mut a.region, NAME_MAX, false)?;
        if let Some(c) = &a.country {
            a.country = Some(parse_country(c).map_err(|e| e.at(&at("country")))?);
        }
    }
    Ok(())
}

pub(super) fn tags(list: &mut Vec<String>) -> Result<(), ValidationError> {
    list_len("tags", list)?;
    for (i, t) in list.iter_mut().enumerate() {
        *t = check_text(t, TAG_MAX, false).map_err(|e| e.at(&format!("tags[{i}]")))?;
        if t.is_empty() {
            return Err(ValidationError::new(ErrorCode::InvalidValue, format!("tags[{i}]: must not be empty")));
        }
    }
    dedup_by_key(list, |t| tag_key(t));
    Ok(())
}

pub(super) fn custom(map: &Map<String, Value>) -> Result<(), ValidationError> {
    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    if map.keys().any(|k| k.is_empty() || k.chars().count() > 64 || k.chars().any(char::is_control)) {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "custom: keys have 1 to 64 printable characters"));
    }
    if map.values().map(depth).max().unwrap_or(0) >= CUSTOM_MAX_DEPTH {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "custom: nested too deeply"));
    }
    let size = serde_json::to_vec(map).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > CUSTOM_MAX_BYTES {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("custom: at most {CUSTOM_MAX_BYTES} bytes")));
    }
    Ok(())
}

pub(super) fn owner(value: &mut Option<String>) -> Result<(), ValidationError> {
    if let Some(id) = value {
        *id = parse_staff_id(id).map_err(|e| e.at("owner"))?;
    }
    Ok(())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(field: &str, raw: &str) -> Result<Date, ValidationError> {
    Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| ValidationError::new(ErrorCode::InvalidDate, format!("{field}: a date is written YYYY-MM-DD")))
}

/// Parses RFC 3339 and returns it in UTC.
pub fn parse_timestamp(field: &str, raw: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339).map(|t| t.to_offset(time::UtcOffset::UTC)).map_err(|_| {
        ValidationError::new(
            ErrorCode::InvalidDate,
            format!("{field}: a time is written in RFC 3339, like 2026-01-31T09:30:00Z"),
        )
    })
}

pub(super) fn timestamp_field(field: &str, value: &mut String) -> Result<i64, ValidationError> {
    let t = parse_timestamp(field, value)?;
    *value = t
        .format(&Rfc3339)
        .map_err(|_| ValidationError::new(ErrorCode::InvalidDate, format!("{field}: out of range")))?;
    Ok(unix_millis(t))
}

pub fn unix_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
