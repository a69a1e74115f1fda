//! A posted form read as its pairs, where a name may repeat (checkboxes),
//! which a typed `Form` cannot take.

/// The pairs of a posted form, in order.
pub type Pairs = Vec<(String, String)>;

pub fn pairs(raw: &[u8]) -> Pairs {
    form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `name`, trimmed; empty when absent.
pub fn first(pairs: &Pairs, name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
}

/// Every non-empty value of `name`, trimmed, in order.
pub fn all(pairs: &Pairs, name: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
}

/// The items of a comma-separated field.
pub fn listed(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
}
