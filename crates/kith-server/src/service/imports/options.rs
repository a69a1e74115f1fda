//! What the importer declares: purpose, lawful basis, source, the column
//! mapping and how to read the file.

use kith_core::import::headers::{self, Target};
use kith_core::import::records::RecordKind;
use kith_core::import::ReadOptions;
use kith_core::purpose::LawfulBasis;
use kith_core::values::check_text;
use kith_core::{ErrorCode, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What to do with a row whose e-mail address or phone number is an
/// existing contact's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Leave the existing contact as it is.
    #[default]
    Skip,
    /// Add to the existing contact what the row has and it lacks: empty
    /// fields filled, new addresses, numbers and tags added.
    Merge,
}

/// What a file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    #[default]
    Contacts,
    Companies,
    /// Each row names its contact by e-mail address.
    Interactions,
    /// Each row is a line; rows of one order (and contact) are one purchase.
    Purchases,
}

impl ImportKind {
    /// The kind as the record importer knows it; `None` for contacts.
    pub fn records(self) -> Option<RecordKind> {
        match self {
            Self::Contacts => None,
            Self::Companies => Some(RecordKind::Companies),
            Self::Interactions => Some(RecordKind::Interactions),
            Self::Purchases => Some(RecordKind::Purchases),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// What the file holds (contacts by default).
    #[serde(default)]
    pub kind: ImportKind,
    /// Plan only: counts and reasons, nothing written.
    #[serde(default)]
    pub dry_run: bool,
    /// The purpose the people are imported for (the caller's default when absent).
    #[serde(default)]
    pub purpose: Option<String>,
    /// The lawful basis the importer declares; required (as `consent`)
    /// when the purpose rests on consent, and then each new person's
    /// consent is recorded with method `import`.
    #[serde(default)]
    pub basis: Option<LawfulBasis>,
    /// Where the data came from (Art. 14(2)(f)), kept sealed with each
    /// person; a job does not keep it (it may name someone).
    #[serde(default)]
    pub source: Option<String>,
    /// The privacy notice version people consented under (the latest when absent).
    #[serde(default)]
    pub notice_version: Option<String>,
    #[serde(default)]
    pub on_duplicate: OnDuplicate,
    /// The staff member who will own the new contacts (the caller when absent).
    #[serde(default)]
    pub owner: Option<String>,
    /// Column header to field: `emails`, `given_name`, `address.city`, `custom.NAME`, `ignore`...
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// A WHATWG encoding label (`windows-1251`); detected when absent.
    #[serde(default)]
    pub encoding: Option<String>,
    /// One character; recognised from the header when absent.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Start at this row (a spreadsheet's numbering, the header being 1; a
    /// vCard's position, from 1): to resume a failed job.
    #[serde(default)]
    pub from_row: Option<usize>,
}

impl ImportOptions {
    /// Checks the options and trims the source; the reading options for a file of contacts.
    pub fn validate(&mut self) -> Result<ReadOptions, ValidationError> {
        let (encoding, delimiter) = self.validate_reading()?;
        let mapping = self
            .mapping
            .iter()
            .map(|(header, field)| Ok((header.clone(), Target::parse(field)?)))
            .collect::<Result<Vec<_>, ValidationError>>()?;
        Ok(ReadOptions { encoding, delimiter, mapping })
    }

    /// Checks what every kind shares: source, owner, delimiter, starting
    /// row; the encoding and delimiter to read with.
    pub fn validate_reading(&mut self) -> Result<(Option<String>, Option<char>), ValidationError> {
        if let Some(source) = &self.source {
            let source = check_text(source, 200, false).map_err(|e| e.at("source"))?;
            self.source = Some(source).filter(|s| !s.is_empty());
        }
        if let Some(owner) = &self.owner {
            self.owner = Some(kith_core::values::parse_staff_id(owner).map_err(|e| e.at("owner"))?);
        }
        let delimiter = match self.delimiter.as_deref() {
            None | Some("") => None,
            Some("\\t" | "tab") => Some('\t'),
            Some(d) if d.chars().count() == 1 => d.chars().next(),
            Some(_) => return Err(ValidationError::new(ErrorCode::InvalidValue, "delimiter: one character")),
        };
        if self.from_row == Some(0) {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "from_row: rows count from 1"));
        }
        Ok((self.encoding.clone(), delimiter))
    }

    /// Adds `Header=field` pairs as the command line and forms write them.
    /// Field names are checked when the file is read, against its kind.
    pub fn map(&mut self, specs: &[String]) -> Result<(), ValidationError> {
        for spec in specs.iter().filter(|s| !s.trim().is_empty()) {
            let (header, field) = spec.rsplit_once('=').ok_or_else(|| {
                ValidationError::new(
                    ErrorCode::InvalidValue,
                    "mapping: write Header=field, like \"E-mail Address=emails\"",
                )
            })?;
            if self.kind == ImportKind::Contacts {
                headers::parse_mapping(spec)?;
            }
            self.mapping.insert(header.trim().to_string(), field.trim().to_string());
        }
        Ok(())
    }
}
