//! Exports of contacts as CSV, vCard or JSON: the people the request's
//! purpose allows, with the fields the caller may see, read page by page
//! through the record service (so every record returned is audited as
//! read and the alerts on mass reads see them) and streamed, so memory
//! stays flat whatever the number. One more event names the export, its
//! format, count and columns.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use crate::listing::ListParams;
use crate::service::Services;
use kith_core::access::{field_class, META_FIELDS};
use kith_core::audit::AuditAction;
use kith_core::model::Contact;
use kith_core::EntityKind;
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Contacts per page read; also the most a chunk of the stream holds.
const PAGE: u32 = 200;

/// The contact fields in the order CSV columns take them.
const FIELDS: [&str; 12] = [
    "given_name",
    "family_name",
    "emails",
    "phones",
    "addresses",
    "birthday",
    "company_id",
    "job_title",
    "notes",
    "tags",
    "owner",
    "custom",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Vcf,
    Json,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "vcf" => Some(Self::Vcf),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Vcf => "vcf",
            Self::Json => "json",
        }
    }
}

/// A CSV cell: text a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so
/// it is shown, never evaluated (OWASP's CSV injection advice).
pub fn csv_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A value as one cell: text as it is, lists of text joined with `; `,
/// anything else as compact JSON.
fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    };
    csv_cell(&text)
}

fn csv_line(cells: impl IntoIterator<Item = String>) -> ApiResult<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    writer.write_record(cells).map_err(|e| ApiError::internal("export", e))?;
    writer.into_inner().map_err(|e| ApiError::internal("export", e))
}

/// One contact in the export's format.
fn render(format: ExportFormat, columns: &[&str], item: &Value, first: bool) -> ApiResult<Vec<u8>> {
    match format {
        ExportFormat::Csv => csv_line(columns.iter().map(|c| cell(&item[*c]))),
        ExportFormat::Json => {
            let mut out = if first { b"\n".to_vec() } else { b",\n".to_vec() };
            out.extend(serde_json::to_vec(item).map_err(|e| ApiError::internal("export", e))?);
            Ok(out)
        }
        ExportFormat::Vcf => {
            let id = item["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).unwrap_or_default();
            let mut fields = item.as_object().cloned().unwrap_or_default();
            fields.retain(|k, _| FIELDS.contains(&k.as_str()));
            let contact: Contact =
                serde_json::from_value(Value::Object(fields)).map_err(|_| ApiError::undecodable("export"))?;
            Ok(kith_core::export::vcard(&contact, id, None).into_bytes())
        }
    }
}

/// The stream of an export: chunks of bytes, the last an error if the
/// export failed half-way (the client then sees the transfer break off).
pub struct ExportStream {
    pub format: ExportFormat,
    pub chunks: mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
}

/// Starts an export of the contacts the caller may export for the
/// request's purpose. Refusals (no export permission, a purpose not
/// allowed) come before anything is sent.
pub async fn contacts(svc: &Services, who: &Caller, format: ExportFormat) -> ApiResult<ExportStream> {
    svc.authorizer.authorize(&who.principal, Action::Export, EntityKind::Contacts)?;
    let grant = svc.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
    let mut columns: Vec<&'static str> = vec!["id"];
    columns.extend(FIELDS.iter().copied().filter(|f| grant.allows_field(EntityKind::Contacts, f)));
    columns.extend(META_FIELDS.iter().copied().filter(|f| *f != "id"));
    let first_page = svc.records.list_to_process::<Contact>(who, page(None)).await?;
    let (sender, chunks) = mpsc::channel(4);
    let (svc, who) = (svc.clone(), who.clone());
    tokio::spawn(async move {
        if let Err(e) = produce(&svc, &who, format, &columns, first_page, &sender).await {
            tracing::warn!(error = %e.detail, "an export stopped half-way");
            let _ = sender.send(Err(std::io::Error::other("the export stopped"))).await;
        }
    });
    Ok(ExportStream { format, chunks })
}

fn page(cursor: Option<String>) -> ListParams {
    ListParams { limit: Some(PAGE), cursor, ..ListParams::default() }
}

/// Writes every page into the stream, then records the export.
async fn produce(
    svc: &Services,
    who: &Caller,
    format: ExportFormat,
    columns: &[&str],
    mut current: crate::listing::Page,
    sender: &mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) -> ApiResult<()> {
    let gone = || ApiError::internal("export", "the client went away");
    let opening = match format {
        ExportFormat::Csv => csv_line(columns.iter().map(|c| c.to_string()))?,
        ExportFormat::Json => b"[".to_vec(),
        ExportFormat::Vcf => Vec::new(),
    };
    sender.send(Ok(opening)).await.map_err(|_| gone())?;
    let mut count: u64 = 0;
    loop {
        let mut chunk = Vec::new();
        for item in &current.items {
            chunk.extend(render(format, columns, item, count == 0)?);
            count += 1;
        }
        sender.send(Ok(chunk)).await.map_err(|_| gone())?;
        match current.next_cursor.take() {
            Some(cursor) => current = svc.records.list_to_process::<Contact>(who, page(Some(cursor))).await?,
            None => break,
        }
    }
    if format == ExportFormat::Json {
        sender.send(Ok(b"\n]\n".to_vec())).await.map_err(|_| gone())?;
    }
    let mut fields = vec!["export".to_string(), format!("format:{}", format.as_str()), format!("count:{count}")];
    fields.extend(columns.iter().filter(|c| field_class(EntityKind::Contacts, c).is_some()).map(|c| c.to_string()));
    let event = audit_event::by(who, AuditAction::Read, About::entity("contacts"), fields);
    svc.audit.record(vec![event]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_escaped_and_lists_joined() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for risky in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(risky).starts_with('\''), "{risky:?}");
        }
        assert_eq!(csv_cell("Olena"), "Olena");
        assert_eq!(cell(&serde_json::json!(["a@example.org", "b@example.org"])), "a@example.org; b@example.org");
        assert_eq!(cell(&serde_json::json!([{"city": "Kyiv"}])), "[{\"city\":\"Kyiv\"}]");
        assert_eq!(cell(&Value::Null), "");
    }
}
