//! Files of contacts another CRM, a spreadsheet or a phone wrote, read
//! into contact documents: the encoding decoded ([`decode`]), CSV rows
//! ([`table`]) or vCards ([`vcard`]) split into cells, each column mapped
//! to a field ([`headers`]), each row built into a [`Contact`] and
//! validated. A row that breaks a rule is reported with its number, its
//! column and the rule, never its values.

pub mod decode;
pub mod headers;
pub mod records;
pub mod table;
pub mod vcard;

use crate::model::{Address, Contact};
use crate::{EntityBody, ErrorCode, ValidationError};
use headers::{AddressPart, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One value of a row, the column it came from and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub column: String,
    pub target: Target,
    pub value: String,
}

/// Why a row cannot be imported: its number (a spreadsheet's row, the
/// header being row 1, or a vCard's position in the file), the column, the
/// rule it breaks. Never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowProblem {
    pub row: usize,
    pub column: Option<String>,
    pub code: String,
    pub rule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Vcard,
}

/// How to read a file; everything unset is recognised.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub encoding: Option<String>,
    pub delimiter: Option<char>,
    /// Columns the importer mapped, by header (compared without case).
    pub mapping: Vec<(String, Target)>,
}

/// What became of one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColumnUse {
    pub column: String,
    /// The field it fills (as `--map` names them), or none when left out.
    pub field: Option<String>,
}

/// One row: its number and the contact it makes, or why it makes none.
#[derive(Debug, Clone)]
pub struct ReadRow {
    pub row: usize,
    pub contact: Result<Contact, RowProblem>,
}

#[derive(Debug, Clone)]
pub struct ReadFile {
    pub format: FileFormat,
    pub encoding: &'static str,
    pub columns: Vec<ColumnUse>,
    pub rows: Vec<ReadRow>,
}

/// Reads a whole file. A file that cannot be read at all (encoding,
/// structure, a mapping naming no column, no column with a name, address
/// or number) is an error; a row that breaks a rule is a [`RowProblem`].
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<ReadFile, ValidationError> {
    let decoded = decode::decode(bytes, options.encoding.as_deref())?;
    let text = decoded.text.trim_start_matches('\u{feff}');
    let is_vcard = text.trim_start().get(..11).is_some_and(|s| s.eq_ignore_ascii_case("BEGIN:VCARD"));
    let (format, columns, rows) = if is_vcard {
        let cards = vcard::read(text)?;
        let mut seen: Vec<ColumnUse> = Vec::new();
        for cell in cards.iter().flat_map(|(_, cells)| cells) {
            if !seen.iter().any(|c| c.column == cell.column) {
                // A card's addresses are numbered by position; the column is all of them.
                let field = match &cell.target {
                    Target::Address(..) => "addresses".to_string(),
                    other => target_name(other),
                };
                seen.push(ColumnUse { column: cell.column.clone(), field: Some(field) });
            }
        }
        let rows = cards.into_iter().map(|(row, cells)| ReadRow { row, contact: build(row, &cells) }).collect();
        (FileFormat::Vcard, seen, rows)
    } else {
        let table = table::read(text, options.delimiter)?;
        let targets = map_columns(&table.headers, &options.mapping)?;
        let columns = table
            .headers
            .iter()
            .zip(&targets)
            .map(|(h, t)| ColumnUse { column: h.clone(), field: t.as_ref().map(target_name) })
            .collect();
        // Each row is built as it is read: only one row's cells are held at a time.
        let rows = table
            .rows
            .iter()
            .map(|(number, record)| {
                let cells: Vec<Cell> = record
                    .iter()
                    .zip(&targets)
                    .zip(&table.headers)
                    .filter_map(|((value, target), header)| {
                        let target = target.clone()?;
                        Some(Cell { column: header.clone(), target, value: value.to_string() })
                    })
                    .collect();
                ReadRow { row: *number, contact: build(*number, &cells) }
            })
            .collect();
        (FileFormat::Csv, columns, rows)
    };
    Ok(ReadFile { format, encoding: decoded.encoding, columns, rows })
}

/// The name `--map` uses for a target.
fn target_name(target: &Target) -> String {
    let part = |p: &AddressPart| serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_string));
    match target {
        Target::Address(group, p) => format!("{group}.{}", part(p).unwrap_or_default()),
        Target::Custom(name) => format!("custom.{name}"),
        Target::FullName => "name".into(),
        Target::MiddleName => "middle_name".into(),
        Target::Company => "company".into(),
        other => other.field().to_string(),
    }
}

/// Each header's target: the importer's mapping first, then the
/// recognised headers. `Title` is an honorific where `Job Title` is also
/// a column (Outlook), so it is left out then.
fn map_columns(headers: &[String], mapping: &[(String, Target)]) -> Result<Vec<Option<Target>>, ValidationError> {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    if let Some((missing, _)) = mapping.iter().find(|(h, _)| !headers.iter().any(|header| same(header, h))) {
        let missing: String = missing.chars().take(64).collect();
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("mapping: no column is named {missing:?}")));
    }
    let has_job_title = headers.iter().any(|h| h.to_lowercase().replace([' ', '_', '-'], "") == "jobtitle");
    let targets: Vec<Option<Target>> = headers
        .iter()
        .map(|header| {
            if let Some((_, target)) = mapping.iter().find(|(h, _)| same(header, h)) {
                return Some(target.clone()).filter(|t| *t != Target::Ignore);
            }
            match headers::guess(header) {
                Some(Target::JobTitle) if has_job_title && same(header, "title") => None,
                guessed => guessed,
            }
        })
        .collect();
    let identifying = |t: &Target| {
        matches!(t, Target::GivenName | Target::FamilyName | Target::FullName | Target::Emails | Target::Phones)
    };
    if !targets.iter().flatten().any(identifying) {
        return Err(ValidationError::new(
            ErrorCode::InvalidValue,
            "no column holds a name, an e-mail address or a phone number; map one, like \"Mail=emails\"",
        ));
    }
    Ok(targets)
}

/// Builds one row's contact and validates it.
pub fn build(row: usize, cells: &[Cell]) -> Result<Contact, RowProblem> {
    let problem = |column: Option<&str>, e: ValidationError| RowProblem {
        row,
        column: column.map(str::to_string),
        code: e.code.as_str().to_string(),
        rule: e.detail,
    };
    let mut contact = Contact::default();
    let (mut middle, mut full) = (None, None);
    let mut addresses: BTreeMap<String, Address> = BTreeMap::new();
    let mut notes: Vec<String> = Vec::new();
    for cell in cells.iter().filter(|c| !c.value.trim().is_empty()) {
        let value = cell.value.trim();
        let at = |e: ValidationError| problem(Some(&cell.column), e);
        let first = |slot: &mut Option<String>| {
            slot.get_or_insert_with(|| value.to_string());
        };
        match &cell.target {
            Target::GivenName => first(&mut contact.given_name),
            Target::FamilyName => first(&mut contact.family_name),
            Target::MiddleName => first(&mut middle),
            Target::FullName => first(&mut full),
            Target::Emails => {
                for email in value.split([';', ',']).map(str::trim).filter(|e| !e.is_empty()) {
                    contact.emails.push(crate::values::parse_email(email).map_err(|e| at(e.at("emails")))?);
                }
            }
            Target::Phones => {
                for phone in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                    contact.phones.push(crate::values::parse_phone(phone).map_err(|e| at(e.at("phones")))?);
                }
            }
            Target::Address(group, part) => {
                let address = addresses.entry(group.clone()).or_default();
                let slot = match part {
                    AddressPart::Street => &mut address.street,
                    AddressPart::City => &mut address.city,
                    AddressPart::PostalCode => &mut address.postal_code,
                    AddressPart::Region => &mut address.region,
                    AddressPart::Country => &mut address.country,
                };
                let value = match part {
                    AddressPart::Country => country_code(value).map_err(at)?,
                    _ => value.to_string(),
                };
                match slot {
                    Some(street) if *part == AddressPart::Street => *street = format!("{street}, {value}"),
                    Some(_) => {}
                    None => *slot = Some(value),
                }
            }
            Target::Birthday => contact.birthday = Some(iso_date(value).map_err(at)?),
            Target::JobTitle => first(&mut contact.job_title),
            Target::Company => {
                contact.custom.entry("company").or_insert_with(|| Value::String(value.to_string()));
            }
            Target::Custom(name) => {
                contact.custom.entry(name.clone()).or_insert_with(|| Value::String(value.to_string()));
            }
            Target::Notes => notes.push(value.to_string()),
            Target::Tags => contact.tags.extend(tags(value)),
            Target::Ignore => {}
        }
    }
    if let (None, None, Some(full)) = (&contact.given_name, &contact.family_name, full) {
        // "Olena Kovalenko": the last word is the family name.
        match full.trim().rsplit_once(char::is_whitespace) {
            Some((given, family)) => {
                contact.given_name = Some(given.trim().to_string());
                contact.family_name = Some(family.to_string());
            }
            None => contact.given_name = Some(full),
        }
    }
    if let (Some(given), Some(middle)) = (&mut contact.given_name, middle) {
        *given = format!("{given} {middle}");
    }
    contact.addresses = addresses.into_values().filter(|a| *a != Address::default()).collect();
    if !notes.is_empty() {
        contact.notes = Some(notes.join("\n\n"));
    }
    contact.validate().map_err(|e| {
        // Name the column that fed the field the rule is about.
        let field = e.detail.split([':', '[']).next().unwrap_or_default().to_string();
        let column = cells.iter().find(|c| !c.value.trim().is_empty() && c.target.field() == field);
        problem(column.map(|c| c.column.as_str()), e)
    })?;
    Ok(contact)
}

/// A two-letter code, or a country's English short name as exports write
/// it (`Germany`, `United States`), or one of the usual short forms.
fn country_code(value: &str) -> Result<String, ValidationError> {
    let wanted = value.trim().trim_end_matches('.').to_lowercase();
    let alias = match wanted.as_str() {
        "usa" | "us" | "u.s.a" | "united states" | "united states of america" | "america" => Some("US"),
        "uk" | "u.k" | "united kingdom" | "great britain" | "england" | "scotland" | "wales" => Some("GB"),
        "deutschland" => Some("DE"),
        "україна" | "украина" => Some("UA"),
        "österreich" => Some("AT"),
        "schweiz" | "suisse" => Some("CH"),
        "polska" => Some("PL"),
        "españa" => Some("ES"),
        "italia" => Some("IT"),
        "nederland" | "holland" | "the netherlands" => Some("NL"),
        _ => None,
    };
    if let Some(code) = alias {
        return Ok(code.to_string());
    }
    let countries = crate::transfer::countries();
    if wanted.len() == 2 && countries.contains_key(&wanted.to_uppercase()) {
        return Ok(wanted.to_uppercase());
    }
    countries.iter().find(|(_, name)| name.to_lowercase() == wanted).map(|(code, _)| code.clone()).ok_or_else(|| {
        ValidationError::new(
            ErrorCode::InvalidValue,
            "addresses: a country is a two-letter ISO code or an English name",
        )
    })
}

/// `1990-04-12`, `19900412`, `12.04.1990`, `1990/04/12` as `1990-04-12`.
/// Dates like `04/12/1990` mean different days on either side of the
/// Atlantic and are refused rather than guessed.
fn iso_date(value: &str) -> Result<String, ValidationError> {
    let refuse = || {
        ValidationError::new(ErrorCode::InvalidDate, "birthday: a date is written YYYY-MM-DD (or DD.MM.YYYY, YYYYMMDD)")
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let day = value.split(['T', ' ']).next().unwrap_or(value);
    let parts: Vec<&str> = day.split(['-', '.', '/']).collect();
    let (y, m, d) = match parts.as_slice() {
        [ymd] if ymd.len() == 8 && digits(ymd) => (&ymd[..4], &ymd[4..6], &ymd[6..]),
        [y, m, d] if y.len() == 4 && (day.contains('-') || day.contains('/')) => (*y, *m, *d),
        [d, m, y] if y.len() == 4 && day.contains('.') => (*y, *m, *d),
        _ => return Err(refuse()),
    };
    if ![y, m, d].iter().all(|p| digits(p)) || m.len() > 2 || d.len() > 2 {
        return Err(refuse());
    }
    Ok(format!("{y}-{m:0>2}-{d:0>2}"))
}

/// Tags as exports join them: `;`, `,` or Google's ` ::: `, with
/// Google's system groups (`* myContacts`, `* starred`) left out.
fn tags(value: &str) -> Vec<String> {
    value
        .split(":::")
        .flat_map(|part| part.split([';', ',']))
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.starts_with('*'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests;
