//! Companies, interactions and purchases from CSV files, as drafts: the
//! fields a row fills (a JSON document for the kind's type), the e-mail
//! address of the contact it belongs to, and for purchases the order it
//! is a line of. The server resolves the contact and creates the record
//! through the record service; the kind's own rules judge the document.

use super::headers::{self, AddressPart, Target};
use super::{country_code, iso_date, tags, RowProblem};
use crate::{ErrorCode, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The kinds a file may hold besides contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Companies,
    Interactions,
    Purchases,
}

/// Where a column's values go in a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A text field of the document.
    Text(&'static str),
    /// A list of texts (`emails`, `tags`...).
    List(&'static str),
    Phones,
    Address(String, AddressPart),
    /// The e-mail address of the contact the record is about.
    ContactEmail,
    /// A website or domain, reduced to the domain.
    Domain,
    /// A date or time, as RFC 3339 in UTC.
    Time(&'static str),
    Kind,
    Done,
    /// What groups a purchase's lines: an order or invoice number.
    Order,
    /// A field of a purchase line.
    Line(&'static str),
    Custom(String),
    Ignore,
}

impl Slot {
    /// The name an importer writes after `=`.
    pub fn parse(kind: RecordKind, name: &str) -> Result<Self, ValidationError> {
        let name = name.trim();
        let fields: &[&str] = match kind {
            RecordKind::Companies => &["name", "domain", "emails", "phones", "notes", "tags"],
            RecordKind::Interactions => {
                &["contact_email", "kind", "occurred_at", "subject", "body", "due_at", "done", "tags"]
            }
            RecordKind::Purchases => &[
                "contact_email",
                "order",
                "purchased_at",
                "currency",
                "sku",
                "description",
                "quantity",
                "unit_price",
                "notes",
                "tags",
            ],
        };
        if name == "ignore" || name == "-" {
            return Ok(Self::Ignore);
        }
        if let Some(custom) = name.strip_prefix("custom.").filter(|c| !c.is_empty()) {
            return Ok(Self::Custom(custom.into()));
        }
        if kind == RecordKind::Companies {
            if let Ok(Target::Address(group, part)) = Target::parse(name) {
                return Ok(Self::Address(group, part));
            }
        }
        let known = fields.iter().find(|f| **f == name).ok_or_else(|| {
            ValidationError::new(
                ErrorCode::InvalidValue,
                format!(
                    "mapping: {:?} is not a field here; use {}, custom.NAME or ignore",
                    name.chars().take(64).collect::<String>(),
                    fields.join(", ")
                ),
            )
        })?;
        Ok(slot_of(known))
    }
}

fn slot_of(field: &'static str) -> Slot {
    match field {
        "emails" | "tags" => Slot::List(field),
        "phones" => Slot::Phones,
        "contact_email" => Slot::ContactEmail,
        "domain" => Slot::Domain,
        "occurred_at" | "due_at" | "purchased_at" => Slot::Time(field),
        "kind" => Slot::Kind,
        "done" => Slot::Done,
        "order" => Slot::Order,
        "sku" | "description" | "quantity" | "unit_price" => Slot::Line(field),
        other => Slot::Text(other),
    }
}

/// The slot a header names, as the big CRMs' exports write them.
pub fn guess(kind: RecordKind, header: &str) -> Option<Slot> {
    let s: String = header.chars().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric()).collect();
    let common = match s.as_str() {
        "tags" | "tag" | "labels" | "categories" => Some(Slot::List("tags")),
        _ => None,
    };
    let specific = match kind {
        RecordKind::Companies => match s.as_str() {
            "name" | "company" | "companyname" | "accountname" | "organization" | "organisation"
            | "organizationname" => Some(Slot::Text("name")),
            "domain" | "website" | "companydomainname" | "web" | "url" | "websiteurl" => Some(Slot::Domain),
            "notes" | "note" | "description" | "comments" => Some(Slot::Text("notes")),
            "recordid" | "companyid" | "accountid" | "id" | "externalid" => Some(Slot::Custom("external_id".into())),
            _ => match headers::guess(header) {
                Some(Target::Emails) => Some(Slot::List("emails")),
                Some(Target::Phones) => Some(Slot::Phones),
                Some(Target::Address(group, part)) => Some(Slot::Address(group, part)),
                _ => None,
            },
        },
        RecordKind::Interactions => match s.as_str() {
            "contactemail"
            | "email"
            | "emailaddress"
            | "personemail"
            | "contact"
            | "associatedcontactemail"
            | "attendeeemail"
            | "customeremail" => Some(Slot::ContactEmail),
            "type" | "kind" | "activitytype" | "activity" | "channel" => Some(Slot::Kind),
            "date" | "occurredat" | "activitydate" | "datetime" | "time" | "timestamp" | "createdate"
            | "activitytime" => Some(Slot::Time("occurred_at")),
            "duedate" | "due" | "dueat" => Some(Slot::Time("due_at")),
            "subject" | "title" => Some(Slot::Text("subject")),
            "body" | "notes" | "note" | "description" | "details" | "comments" => Some(Slot::Text("body")),
            "done" | "completed" | "isdone" => Some(Slot::Done),
            _ => None,
        },
        RecordKind::Purchases => match s.as_str() {
            "contactemail" | "email" | "emailaddress" | "customeremail" | "billingemail" | "contact" => {
                Some(Slot::ContactEmail)
            }
            "order" | "orderid" | "ordernumber" | "orderno" | "invoice" | "invoicenumber" | "name" => Some(Slot::Order),
            "date" | "orderdate" | "purchasedat" | "purchasedate" | "createdat" | "paidat" | "invoicedate" => {
                Some(Slot::Time("purchased_at"))
            }
            "currency" | "currencycode" => Some(Slot::Text("currency")),
            "sku" | "productcode" | "itemcode" | "lineitemsku" | "productid" => Some(Slot::Line("sku")),
            "product" | "productname" | "item" | "itemname" | "lineitemname" | "description" => {
                Some(Slot::Line("description"))
            }
            "quantity" | "qty" | "lineitemquantity" => Some(Slot::Line("quantity")),
            "price" | "unitprice" | "lineitemprice" | "itemprice" => Some(Slot::Line("unit_price")),
            "notes" | "note" => Some(Slot::Text("notes")),
            _ => None,
        },
    };
    specific.or(common)
}

/// One row's fields before the contact is resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    pub document: Map<String, Value>,
    pub contact_email: Option<String>,
    pub order: Option<String>,
    /// A purchase's line (sku, description, quantity, unit_price).
    pub line: Map<String, Value>,
    /// The column each document field came from, to name it in a problem.
    pub columns: BTreeMap<String, String>,
}

impl Draft {
    /// The problem a document's rule breaks, at the column that fed it.
    pub fn problem(&self, row: usize, e: ValidationError) -> RowProblem {
        let field = e.detail.split([':', '[', '.']).next().unwrap_or_default().to_string();
        let column = self.columns.get(&field).or_else(|| self.columns.get("lines")).cloned();
        RowProblem { row, column, code: e.code.as_str().into(), rule: e.detail }
    }
}

#[derive(Debug, Clone)]
pub struct DraftRow {
    pub row: usize,
    pub draft: Result<Draft, RowProblem>,
}

#[derive(Debug, Clone)]
pub struct ReadDrafts {
    pub encoding: &'static str,
    pub columns: Vec<super::ColumnUse>,
    pub rows: Vec<DraftRow>,
}

/// Reads a CSV file of `kind`. `mapping` pairs a header with a field name.
pub fn read(
    bytes: &[u8],
    kind: RecordKind,
    encoding: Option<&str>,
    delimiter: Option<char>,
    mapping: &[(String, String)],
) -> Result<ReadDrafts, ValidationError> {
    let decoded = super::decode::decode(bytes, encoding)?;
    let text = decoded.text.trim_start_matches('\u{feff}');
    let table = super::table::read(text, delimiter)?;
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let mut slots = Vec::new();
    for header in &table.headers {
        let slot = match mapping.iter().find(|(h, _)| same(h, header)) {
            Some((_, field)) => Some(Slot::parse(kind, field)?),
            None => guess(kind, header),
        };
        slots.push(slot.filter(|s| *s != Slot::Ignore));
    }
    if let Some((missing, _)) = mapping.iter().find(|(h, _)| !table.headers.iter().any(|header| same(header, h))) {
        let missing: String = missing.chars().take(64).collect();
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("mapping: no column is named {missing:?}")));
    }
    let needed = match kind {
        RecordKind::Companies => "name",
        _ => "contact_email",
    };
    let has = |s: &Slot| match (kind, s) {
        (RecordKind::Companies, Slot::Text("name")) => true,
        (RecordKind::Companies, _) => false,
        (_, Slot::ContactEmail) => true,
        _ => false,
    };
    if !slots.iter().flatten().any(has) {
        return Err(ValidationError::new(
            ErrorCode::InvalidValue,
            format!("no column holds the {needed}; map one, like \"Email=contact_email\" or \"Company=name\""),
        ));
    }
    let columns = table
        .headers
        .iter()
        .zip(&slots)
        .map(|(h, s)| super::ColumnUse { column: h.clone(), field: s.as_ref().map(slot_name) })
        .collect();
    let rows = table
        .rows
        .iter()
        .map(|(row, record)| {
            let filled =
                record.iter().zip(&table.headers).zip(&slots).filter_map(|((v, h), s)| Some((h, s.as_ref()?, v)));
            DraftRow { row: *row, draft: draft(*row, filled) }
        })
        .collect();
    Ok(ReadDrafts { encoding: decoded.encoding, columns, rows })
}

fn slot_name(slot: &Slot) -> String {
    match slot {
        Slot::Text(f) | Slot::List(f) | Slot::Time(f) | Slot::Line(f) => f.to_string(),
        Slot::Phones => "phones".into(),
        Slot::Address(group, part) => {
            format!(
                "{group}.{}",
                serde_json::to_value(part).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
            )
        }
        Slot::ContactEmail => "contact_email".into(),
        Slot::Domain => "domain".into(),
        Slot::Kind => "kind".into(),
        Slot::Done => "done".into(),
        Slot::Order => "order".into(),
        Slot::Custom(name) => format!("custom.{name}"),
        Slot::Ignore => "ignore".into(),
    }
}

fn draft<'a>(row: usize, cells: impl Iterator<Item = (&'a String, &'a Slot, &'a str)>) -> Result<Draft, RowProblem> {
    let mut d = Draft::default();
    let mut addresses: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (column, slot, value) in cells {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let problem = |e: ValidationError| RowProblem {
            row,
            column: Some(column.clone()),
            code: e.code.as_str().into(),
            rule: e.detail,
        };
        let mut put = |field: &str, v: Value| {
            d.columns.entry(field.to_string()).or_insert_with(|| column.clone());
            d.document.entry(field.to_string()).or_insert(v);
        };
        match slot {
            Slot::Text(field) => put(field, json!(value)),
            Slot::List(field) => {
                let items: Vec<String> = match *field {
                    "tags" => tags(value),
                    _ => value.split([';', ',']).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect(),
                };
                d.columns.entry(field.to_string()).or_insert_with(|| column.clone());
                let list = d.document.entry(field.to_string()).or_insert_with(|| json!([]));
                if let Value::Array(list) = list {
                    list.extend(items.into_iter().map(Value::String));
                }
            }
            Slot::Phones => {
                let phones: Vec<Value> = value
                    .split(';')
                    .map(|p| crate::values::parse_phone(p).map(Value::String).map_err(|e| problem(e.at("phones"))))
                    .collect::<Result<_, _>>()?;
                d.columns.entry("phones".into()).or_insert_with(|| column.clone());
                if let Value::Array(list) = d.document.entry("phones").or_insert_with(|| json!([])) {
                    list.extend(phones);
                }
            }
            Slot::Address(group, part) => {
                let value = match part {
                    AddressPart::Country => country_code(value).map_err(problem)?,
                    _ => value.to_string(),
                };
                let key =
                    serde_json::to_value(part).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                d.columns.entry("addresses".into()).or_insert_with(|| column.clone());
                addresses.entry(group.clone()).or_default().entry(key).or_insert(Value::String(value));
            }
            Slot::ContactEmail => {
                d.contact_email.get_or_insert_with(|| value.to_string());
                d.columns.entry("contact_id".into()).or_insert_with(|| column.clone());
            }
            Slot::Domain => {
                let bare =
                    value.trim_start_matches("https://").trim_start_matches("http://").trim_start_matches("www.");
                put("domain", json!(bare.split(['/', '?', '#']).next().unwrap_or(bare)));
            }
            Slot::Time(field) => put(field, json!(timestamp(field, value).map_err(problem)?)),
            Slot::Kind => put("kind", json!(interaction_kind(value).map_err(problem)?)),
            Slot::Done => put(
                "done",
                json!(matches!(value.to_lowercase().as_str(), "true" | "yes" | "1" | "done" | "completed" | "x")),
            ),
            Slot::Order => {
                d.order.get_or_insert_with(|| value.to_string());
            }
            Slot::Line(field) => {
                d.columns.entry("lines".into()).or_insert_with(|| column.clone());
                let v = match *field {
                    "quantity" | "unit_price" => json!(decimal(value)),
                    _ => json!(value),
                };
                d.line.entry(field.to_string()).or_insert(v);
            }
            Slot::Custom(name) => {
                d.columns.entry("custom".into()).or_insert_with(|| column.clone());
                if let Value::Object(custom) = d.document.entry("custom").or_insert_with(|| json!({})) {
                    custom.entry(name.clone()).or_insert(json!(value));
                }
            }
            Slot::Ignore => {}
        }
    }
    if !addresses.is_empty() {
        d.document.insert("addresses".into(), Value::Array(addresses.into_values().map(Value::Object).collect()));
    }
    Ok(d)
}

/// A number as spreadsheets write it: the last separator is the decimal
/// one when one or two digits follow it (`12,50`, `1.234,50`, `1,234.50`);
/// a comma followed by three digits groups thousands (`1,234`).
fn decimal(value: &str) -> String {
    let compact: String = value.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\'').collect();
    let Some(at) = compact.rfind([',', '.']) else { return compact };
    let decimals = compact.len() - at - 1;
    let (whole, fraction) = compact.split_at(at);
    let whole: String = whole.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
    match decimals {
        1 | 2 => format!("{whole}.{}", &fraction[1..]),
        _ if compact[at..].starts_with('.') => format!("{whole}{fraction}"),
        _ => format!("{whole}{}", &fraction[1..]),
    }
}

/// RFC 3339, or a date (`YYYY-MM-DD`, `DD.MM.YYYY`, `YYYYMMDD`) with an
/// optional `HH:MM[:SS]`, read as UTC.
fn timestamp(field: &str, value: &str) -> Result<String, ValidationError> {
    if crate::model::parse_timestamp(field, value).is_ok() {
        return Ok(value.to_string());
    }
    let (day, time) = value.split_once([' ', 'T']).unwrap_or((value, "00:00:00"));
    let refuse = || {
        ValidationError::new(
            ErrorCode::InvalidDate,
            format!("{field}: a time is written like 2026-01-31T09:30:00Z or 2026-01-31 09:30"),
        )
    };
    let day = iso_date(day).map_err(|_| refuse())?;
    let time = match time.trim().len() {
        5 => format!("{}:00", time.trim()),
        _ => time.trim().to_string(),
    };
    let stamp = format!("{day}T{time}Z");
    crate::model::parse_timestamp(field, &stamp).map_err(|_| refuse())?;
    Ok(stamp)
}

fn interaction_kind(value: &str) -> Result<&'static str, ValidationError> {
    let v: String = value.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    Ok(match v.as_str() {
        "call" | "phonecall" | "phone" | "calllog" | "loggedcall" => "call",
        "email" | "mail" | "loggedemail" => "email",
        "meeting" | "lunch" | "demo" | "visit" | "appointment" => "meeting",
        "note" | "comment" => "note",
        "task" | "todo" | "followup" => "task",
        _ => {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "kind: call, email, meeting, note or task"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drafts(kind: RecordKind, text: &str) -> Vec<Result<Draft, RowProblem>> {
        read(text.as_bytes(), kind, None, None, &[]).unwrap().rows.into_iter().map(|r| r.draft).collect()
    }

    #[test]
    fn companies_from_a_crm_export() {
        let d = drafts(
            RecordKind::Companies,
            "Company name,Company Domain Name,Phone Number,City,Country/Region,Description,Record ID\n\
             Acme GmbH,https://www.acme.example/about,+49 30 1234567,Berlin,Germany,Supplier,77\n",
        );
        let doc = &d[0].as_ref().unwrap().document;
        assert_eq!(doc["name"], "Acme GmbH");
        assert_eq!(doc["domain"], "acme.example");
        assert_eq!(doc["phones"], json!(["+49301234567"]));
        assert_eq!(doc["addresses"], json!([{"city": "Berlin", "country": "DE"}]));
        assert_eq!(doc["custom"], json!({"external_id": "77"}));
    }

    #[test]
    fn interactions_with_their_contact_kind_and_time() {
        let d = drafts(
            RecordKind::Interactions,
            "Contact Email,Activity Type,Date,Subject,Notes,Completed\n\
             olena@example.org,Phone Call,2026-03-01 09:30,Order,Called about it,yes\n\
             olena@example.org,Carrier pigeon,2026-03-01,,,\n\
             olena@example.org,Email,04/01/2026,,,\n",
        );
        let first = d[0].as_ref().unwrap();
        assert_eq!(first.contact_email.as_deref(), Some("olena@example.org"));
        assert_eq!(first.document["kind"], "call");
        assert_eq!(first.document["occurred_at"], "2026-03-01T09:30:00Z");
        assert_eq!(first.document["done"], true);
        let kind = d[1].clone().unwrap_err();
        assert_eq!((kind.row, kind.column.as_deref()), (3, Some("Activity Type")));
        assert_eq!(d[2].clone().unwrap_err().code, "invalid_date");
    }

    #[test]
    fn purchase_lines_with_orders_and_decimal_commas() {
        let d = drafts(
            RecordKind::Purchases,
            "Order Number;Customer Email;Order Date;Currency;SKU;Product;Qty;Unit Price\n\
             1001;jean@example.fr;14.07.2026;EUR;T-1;Tasse;2;12,50\n\
             1001;jean@example.fr;14.07.2026;EUR;S-9;Soucoupe;1;4,00\n",
        );
        let line = &d[0].as_ref().unwrap().line;
        assert_eq!(line["unit_price"], "12.50");
        assert_eq!(d[1].as_ref().unwrap().order.as_deref(), Some("1001"));
        assert_eq!(d[0].as_ref().unwrap().document["purchased_at"], "2026-07-14T00:00:00Z");
    }

    #[test]
    fn numbers_with_decimal_commas_and_thousands() {
        for (written, read) in [
            ("12,50", "12.50"),
            ("1.234,50", "1234.50"),
            ("1,234.50", "1234.50"),
            ("1,234", "1234"),
            ("1 000", "1000"),
            ("19.999", "19.999"),
            ("7", "7"),
            ("-3,5", "-3.5"),
        ] {
            assert_eq!(decimal(written), read, "{written}");
        }
    }

    #[test]
    fn a_file_without_its_key_column_is_refused() {
        assert!(read(b"Subject,Date\nx,2026-01-01\n", RecordKind::Interactions, None, None, &[]).is_err());
        assert!(read(b"Website\nacme.example\n", RecordKind::Companies, None, None, &[]).is_err());
        let mapping = vec![("Mail".to_string(), "contact_email".to_string())];
        assert!(read(b"Mail,Subject\na@b.example,x\n", RecordKind::Interactions, None, None, &mapping).is_ok());
        let wrong = vec![("Mail".to_string(), "emails".to_string())];
        assert!(read(b"Mail\na@b.example\n", RecordKind::Interactions, None, None, &wrong).is_err());
    }
}
