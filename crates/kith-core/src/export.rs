//! The access and portability archive (Art. 15, 20): everything held about
//! one person, as `data.json` (a published, versioned schema), a CSV per
//! kind of record, the person's vCard 4.0 (RFC 6350) and a readable
//! summary. Pure: the server opens the records and packs the files.

use crate::consent::ConsentEntry;
use crate::controller::ControllerDetails;
use crate::dsr::COMPLAINT_STATEMENT;
use crate::model::{Contact, Deal, Interaction, Purchase};
use crate::purpose::Purpose;
use crate::EntityBody;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use uuid::Uuid;

/// The `$id` of the published schema `data.json` follows.
pub const SCHEMA_ID: &str = "https://kith.example/schemas/subject-export/v1";
/// Bumped with every change of `data.json` a reader could notice.
pub const SCHEMA_VERSION: u32 = 1;
/// The schema itself, served at `/schemas/subject-export-v1.json`.
pub const SCHEMA: &str = include_str!("../data/schemas/subject-export-v1.json");

/// vCard lines are folded after this many octets (RFC 6350 3.2).
const FOLD_OCTETS: usize = 75;

/// One opened record with its id and times (RFC 3339).
#[derive(Debug, Clone)]
pub struct Record<B> {
    pub id: Uuid,
    pub created_at: String,
    pub updated_at: String,
    pub body: B,
}

impl<B: EntityBody> Record<B> {
    /// The record as the API shows it, in full: document, id, times and computed values.
    fn to_json(&self) -> Value {
        let mut object = match serde_json::to_value(&self.body) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        object.insert("id".into(), json!(self.id));
        object.insert("created_at".into(), json!(self.created_at));
        object.insert("updated_at".into(), json!(self.updated_at));
        object.extend(self.body.computed());
        Value::Object(object)
    }
}

/// One line of the access log: who read or changed the person's data.
#[derive(Debug, Clone, Serialize)]
pub struct AccessEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: Option<String>,
    pub fields: Vec<String>,
    pub purpose: Option<String>,
    pub outcome: String,
}

/// A recipient the person's data goes or went to (Art. 15(1)(c)).
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub name: String,
    /// `processor`, `sub_processor`, `independent_controller` or `joint_controller`.
    pub role: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub purposes: Vec<String>,
    /// Outside the EEA, what the transfer rests on (`adequacy`, `scc`, ...).
    pub transfer_mechanism: Option<String>,
    /// What it received of this person, from the audit log; `None` if nothing yet.
    pub received: Option<Received>,
}

/// The categories of a person's data a recipient received, and when.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub categories: Vec<String>,
    pub first_at: String,
    pub last_at: String,
}

/// Everything the archive is made of, opened.
#[derive(Debug, Clone)]
pub struct Subject {
    pub generated_at: String,
    pub contact: Record<Contact>,
    /// The name of the contact's company, for the vCard's ORG.
    pub company_name: Option<String>,
    pub interactions: Vec<Record<Interaction>>,
    pub deals: Vec<Record<Deal>>,
    pub purchases: Vec<Record<Purchase>>,
    pub consents: Vec<ConsentEntry>,
    pub restricted: bool,
    pub objections: Vec<String>,
    pub access_log: Vec<AccessEntry>,
    pub purposes: Vec<Purpose>,
    pub recipients: Vec<Recipient>,
    /// The controller, its DPO and representative, once set.
    pub controller: Option<ControllerDetails>,
}

/// The files of the archive, by name, in the order they are packed.
pub fn files(subject: &Subject) -> Vec<(&'static str, Vec<u8>)> {
    let data = data_json(subject);
    let list = |key: &str| data[key].as_array().cloned().unwrap_or_default();
    vec![
        ("data.json", serde_json::to_vec_pretty(&data).unwrap_or_default()),
        ("contact.csv", csv_of(&[data["contact"].clone()])),
        ("interactions.csv", csv_of(&list("interactions"))),
        ("deals.csv", csv_of(&list("deals"))),
        ("purchases.csv", csv_of(&list("purchases"))),
        ("consents.csv", csv_of(&list("consents"))),
        ("access_log.csv", csv_of(&list("access_log"))),
        ("contact.vcf", vcard(&subject.contact.body, subject.contact.id, subject.company_name.as_deref()).into_bytes()),
        ("summary.txt", summary(subject).into_bytes()),
    ]
}

/// `data.json`: everything held about the person, following [`SCHEMA`].
pub fn data_json(s: &Subject) -> Value {
    json!({
        "schema": SCHEMA_ID,
        "version": SCHEMA_VERSION,
        "generated_at": s.generated_at,
        "contact": s.contact.to_json(),
        "interactions": s.interactions.iter().map(Record::to_json).collect::<Vec<_>>(),
        "deals": s.deals.iter().map(Record::to_json).collect::<Vec<_>>(),
        "purchases": s.purchases.iter().map(Record::to_json).collect::<Vec<_>>(),
        "consents": s.consents,
        "restriction": {"restricted": s.restricted},
        "objections": s.objections,
        "access_log": s.access_log,
    })
}

/// A CSV (RFC 4180) of JSON objects: `id` first, then every other key in
/// order; nested values are written as compact JSON.
pub fn csv_of(rows: &[Value]) -> Vec<u8> {
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        for key in row.as_object().into_iter().flat_map(|o| o.keys()) {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    columns.sort_by_key(|c| (c != "id", c.clone()));
    if columns.is_empty() {
        // No records of the kind: an empty file.
        return Vec::new();
    }
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let _ = writer.write_record(&columns);
    for row in rows {
        let cells = columns.iter().map(|c| match &row[c.as_str()] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let _ = writer.write_record(cells);
    }
    writer.into_inner().unwrap_or_default()
}

/// Escapes a text value (RFC 6350 3.4): backslash, comma, semicolon, newline.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line after 75 octets, never inside a character, with
/// CRLF and one space (RFC 6350 3.2); ends it with CRLF.
fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > FOLD_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// The person's vCard 4.0 (RFC 6350).
pub fn vcard(c: &Contact, id: Uuid, company: Option<&str>) -> String {
    let given = c.given_name.as_deref().unwrap_or_default();
    let family = c.family_name.as_deref().unwrap_or_default();
    let full = [given, family].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ");
    // FN is required: a person without a name is shown by address or id.
    let full = match full.is_empty() {
        false => full,
        true => c.emails.first().cloned().unwrap_or_else(|| id.to_string()),
    };
    let mut lines = vec![
        "BEGIN:VCARD".to_string(),
        "VERSION:4.0".into(),
        format!("UID:urn:uuid:{id}"),
        format!("FN:{}", escape(&full)),
        format!("N:{};{};;;", escape(family), escape(given)),
    ];
    lines.extend(c.emails.iter().map(|e| format!("EMAIL:{}", escape(e))));
    lines.extend(c.phones.iter().map(|p| format!("TEL;VALUE=uri:tel:{p}")));
    for a in &c.addresses {
        let part = |v: &Option<String>| escape(v.as_deref().unwrap_or_default());
        lines.push(format!(
            "ADR:;;{};{};{};{};{}",
            part(&a.street),
            part(&a.city),
            part(&a.region),
            part(&a.postal_code),
            part(&a.country)
        ));
    }
    if let Some(birthday) = &c.birthday {
        lines.push(format!("BDAY:{}", birthday.replace('-', "")));
    }
    if let Some(company) = company {
        lines.push(format!("ORG:{}", escape(company)));
    }
    if let Some(title) = &c.job_title {
        lines.push(format!("TITLE:{}", escape(title)));
    }
    if !c.tags.is_empty() {
        lines.push(format!("CATEGORIES:{}", c.tags.iter().map(|t| escape(t)).collect::<Vec<_>>().join(",")));
    }
    if let Some(notes) = &c.notes {
        lines.push(format!("NOTE:{}", escape(notes)));
    }
    lines.push("END:VCARD".into());
    let mut out = String::new();
    for line in &lines {
        fold(line, &mut out);
    }
    out
}

/// The person's rights, for the summary (Art. 15–22, 77).
const RIGHTS: &str = "\
- Access (Art. 15): a copy of your data and this information; this archive.
- Rectification (Art. 16): correction of inaccurate data, completion of incomplete data.
- Erasure (Art. 17): deletion of your data where the law allows it.
- Restriction (Art. 18): your data only stored, not otherwise used, while a question is settled.
- Notification (Art. 19): recipients are told of a rectification, erasure or restriction.
- Portability (Art. 20): data.json, the CSV files and contact.vcf in this archive are machine-readable.
- Objection (Art. 21): to processing based on legitimate interests, and at any time to direct marketing.
- Automated decisions (Art. 22): no decision with legal or similar effect is made about you by automated means alone.
";

/// `summary.txt`: what the data is used for and why, who receives it, how
/// long it is kept, where it came from, the person's rights and who
/// read or changed it.
pub fn summary(s: &Subject) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Your data held in Kith\nGenerated {}\nData format: {SCHEMA_ID} (version {SCHEMA_VERSION})\n",
        s.generated_at
    );
    if let Some(c) = &s.controller {
        let _ = writeln!(out, "Who is responsible");
        for (name, line) in c.lines() {
            let _ = writeln!(out, "- {}: {line}", ControllerDetails::label(name));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "Purposes, lawful bases, data categories and retention");
    for p in &s.purposes {
        let basis = serde_json::to_value(p.lawful_basis).ok().and_then(|v| v.as_str().map(str::to_string));
        let _ = writeln!(out, "- {} ({}): lawful basis {}", p.name, p.key, basis.unwrap_or_default());
        if let Some(description) = &p.description {
            let _ = writeln!(out, "  {description}");
        }
        let _ = writeln!(out, "  data categories: {}", p.data_categories.join(", "));
        let _ = writeln!(out, "  kept for {} days", p.retention_days);
    }
    let _ = writeln!(out, "\nRecipients");
    if s.recipients.is_empty() {
        let _ = writeln!(out, "- none: your data goes to no third party");
    }
    for r in &s.recipients {
        let transfer = r.transfer_mechanism.as_deref().map(|m| format!(", transfer under {m}")).unwrap_or_default();
        let _ =
            writeln!(out, "- {} ({}, {}{transfer}; purposes: {})", r.name, r.role, r.country, r.purposes.join(", "));
        match &r.received {
            Some(got) => {
                let _ = writeln!(
                    out,
                    "  received your {} from {} to {}",
                    got.categories.join(", "),
                    got.first_at,
                    got.last_at
                );
            }
            None => {
                let _ = writeln!(out, "  has received none of your data so far");
            }
        }
    }
    let _ = writeln!(out, "\nSource of the data");
    let mut sources: Vec<String> = s.consents.iter().filter_map(|c| c.source.clone()).collect();
    sources.sort();
    sources.dedup();
    for source in &sources {
        let _ = writeln!(out, "- {source}");
    }
    match &s.contact.body.owner {
        Some(owner) => {
            let _ = writeln!(out, "- entered by staff; responsible: {owner}");
        }
        None if sources.is_empty() => {
            let _ = writeln!(out, "- entered by staff");
        }
        None => {}
    }
    let _ = writeln!(out, "\nRestriction and objections");
    let _ = writeln!(out, "- processing restricted: {}", if s.restricted { "yes" } else { "no" });
    for o in &s.objections {
        let _ = writeln!(out, "- objected to: {o}");
    }
    let _ = writeln!(out, "\nYour rights\n{RIGHTS}- Complaint: {COMPLAINT_STATEMENT}");
    let _ = writeln!(out, "\nAccess log (time, actor, action, fields)");
    for e in &s.access_log {
        let action = match &e.entity {
            Some(entity) => format!("{} {entity}", e.action),
            None => e.action.clone(),
        };
        let _ = writeln!(out, "{}, {}, {action}, {}", e.at, e.actor, e.fields.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcard_escapes_and_folds() {
        let contact = Contact {
            given_name: Some("Ann, the; \\ first".into()),
            family_name: Some("Lee".into()),
            notes: Some(format!("line one\nline two {}", "é".repeat(60))),
            ..Contact::default()
        };
        let card = vcard(&contact, Uuid::nil(), None);
        assert!(card.contains("FN:Ann\\, the\\; \\\\ first Lee\r\n"));
        assert!(card.contains("NOTE:line one\\nline two"));
        for line in card.split("\r\n") {
            assert!(line.len() <= FOLD_OCTETS, "{line}");
        }
        assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n") && card.ends_with("END:VCARD\r\n"));
    }

    #[test]
    fn csv_puts_id_first_and_quotes() {
        let out = csv_of(&[json!({"b": "x,\"y\"", "id": "1", "a": [1, 2]})]);
        assert_eq!(String::from_utf8(out).unwrap(), "id,a,b\r\n1,\"[1,2]\",\"x,\"\"y\"\"\"\r\n");
    }

    #[test]
    fn the_schema_is_json_with_its_id() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(schema["$id"], SCHEMA_ID);
    }
}
