//! Imports of companies, interactions and purchases: each row's contact
//! found by e-mail address through the blind index (one lookup for the
//! whole file), a purchase's rows grouped by order, each record created
//! through the record service like any other create (its purpose, policy
//! and field checks, its audit event), so a row the policy refuses is a
//! row problem, not a failed job. Companies whose address or number is
//! known already are duplicates.

use super::{save, ImportJob, Progress, BATCH};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::input::from_value;
use crate::service::Services;
use kith_core::import::records::{Draft, DraftRow, RecordKind};
use kith_core::import::RowProblem;
use kith_core::model::{Company, Interaction, Purchase};
use kith_core::values::email_lookup_key;
use kith_core::{EntityBody, EntityKind, ErrorCode, IndexField};
use kith_store::Term;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

pub(super) fn entity(kind: RecordKind) -> EntityKind {
    match kind {
        RecordKind::Companies => EntityKind::Companies,
        RecordKind::Interactions => EntityKind::Interactions,
        RecordKind::Purchases => EntityKind::Purchases,
    }
}

/// A record ready to create: the first row it came from and its document.
struct Ready {
    row: usize,
    document: Value,
    draft: Draft,
}

fn problem(row: usize, code: &str, rule: &str) -> RowProblem {
    RowProblem { row, column: None, code: code.into(), rule: rule.into() }
}

/// The contacts the e-mail addresses name: term → the ids holding it.
async fn contacts_by_email(svc: &Services, who: &Caller, rows: &[DraftRow]) -> ApiResult<HashMap<Term, Vec<Uuid>>> {
    let ring = svc.keys.current();
    let terms: Vec<Term> = rows
        .iter()
        .filter_map(|r| r.draft.as_ref().ok()?.contact_email.as_deref())
        .map(|e| ring.blind_term(IndexField::Email.as_str(), &email_lookup_key(e)))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let readable = super::readable_contacts(svc, who).await?;
    let mut found: HashMap<Term, Vec<Uuid>> = HashMap::new();
    for (term, id) in svc.store.indexed(EntityKind::Contacts, &terms).await? {
        if readable.as_ref().is_none_or(|r| r.contains(&id)) {
            found.entry(term).or_default().push(id);
        }
    }
    Ok(found)
}

/// Every row's fate but the writing: invalid rows, rows of unknown
/// contacts, duplicate companies, a purchase's lines gathered.
async fn plan(
    svc: &Services,
    who: &Caller,
    kind: RecordKind,
    rows: Vec<DraftRow>,
    job: &mut ImportJob,
) -> ApiResult<Vec<Ready>> {
    let from_row = job.options.from_row.unwrap_or(0);
    let rows: Vec<DraftRow> = rows
        .into_iter()
        .filter(|r| {
            let before = r.row < from_row;
            job.counts.skipped += usize::from(before);
            !before
        })
        .collect();
    let contacts = contacts_by_email(svc, who, &rows).await?;
    let ring = svc.keys.current();
    let mut ready: Vec<Ready> = Vec::new();
    let mut orders: BTreeMap<String, usize> = BTreeMap::new();
    for DraftRow { row, draft } in rows {
        let mut draft = match draft {
            Ok(draft) => draft,
            Err(p) => {
                job.counts.invalid += 1;
                job.problem(p);
                continue;
            }
        };
        if kind != RecordKind::Companies {
            let Some(email) = draft.contact_email.as_deref() else {
                job.counts.invalid += 1;
                job.problem(problem(
                    row,
                    ErrorCode::MissingField.as_str(),
                    "contact_id: the contact's e-mail address is empty",
                ));
                continue;
            };
            let term = ring.blind_term(IndexField::Email.as_str(), &email_lookup_key(email));
            match contacts.get(&term).map(Vec::as_slice) {
                Some([id]) => {
                    draft.document.insert("contact_id".into(), json!(id));
                }
                Some(_) => {
                    job.counts.invalid += 1;
                    job.problem(problem(
                        row,
                        "ambiguous_reference",
                        "contact_id: more than one contact has this e-mail address",
                    ));
                    continue;
                }
                None => {
                    job.counts.invalid += 1;
                    job.problem(problem(
                        row,
                        ErrorCode::UnknownReference.as_str(),
                        "contact_id: no contact has this e-mail address",
                    ));
                    continue;
                }
            }
        }
        if kind == RecordKind::Purchases {
            let line = Value::Object(std::mem::take(&mut draft.line));
            // Rows of one order of one contact are the lines of one purchase.
            let key = draft.order.clone().map(|o| format!("{o}\u{0}{}", draft.document["contact_id"]));
            if let Some(at) = key.as_ref().and_then(|k| orders.get(k)) {
                if let Some(Value::Array(lines)) = ready[*at].document.get_mut("lines") {
                    lines.push(line);
                }
                job.progress.done += 1;
                continue;
            }
            draft.document.insert("lines".into(), json!([line]));
            if let Some(key) = key {
                orders.insert(key, ready.len());
            }
        }
        let document = Value::Object(draft.document.clone());
        ready.push(Ready { row, document, draft });
    }
    if kind == RecordKind::Companies {
        duplicate_companies(svc, &mut ready, job).await?;
    }
    Ok(ready)
}

/// Companies whose e-mail address or phone number a company has already,
/// or an earlier row has, are left out as duplicates.
async fn duplicate_companies(svc: &Services, ready: &mut Vec<Ready>, job: &mut ImportJob) -> ApiResult<()> {
    let ring = svc.keys.current();
    let terms_of = |document: &Value| -> Vec<Term> {
        let list = |field: &str| document[field].as_array().cloned().unwrap_or_default();
        let emails = list("emails").into_iter().filter_map(|e| e.as_str().map(email_lookup_key));
        let phones = list("phones").into_iter().filter_map(|p| p.as_str().map(str::to_string));
        emails
            .map(|e| ring.blind_term(IndexField::Email.as_str(), &e))
            .chain(phones.map(|p| ring.blind_term(IndexField::Phone.as_str(), &p)))
            .collect()
    };
    let all: Vec<Term> = ready.iter().flat_map(|r| terms_of(&r.document)).collect();
    let known: HashSet<Term> =
        svc.store.indexed(EntityKind::Companies, &all).await?.into_iter().map(|(t, _)| t).collect();
    let mut earlier: HashMap<Term, usize> = HashMap::new();
    let mut kept = Vec::new();
    for r in ready.drain(..) {
        let terms = terms_of(&r.document);
        let rule = if terms.iter().any(|t| known.contains(t)) {
            Some("the e-mail address or phone number of an existing company".to_string())
        } else {
            terms
                .iter()
                .find_map(|t| earlier.get(t))
                .map(|row| format!("the same e-mail address or phone number as row {row}"))
        };
        match rule {
            Some(rule) => {
                job.counts.duplicate += 1;
                job.problem(problem(r.row, "duplicate", &rule));
            }
            None => {
                for t in terms {
                    earlier.entry(t).or_insert(r.row);
                }
                kept.push(r);
            }
        }
    }
    *ready = kept;
    Ok(())
}

/// Checks a document against its kind's rules, as a create would.
fn checked<B: EntityBody + serde::de::DeserializeOwned>(r: &Ready, owner: Option<&str>) -> Result<B, RowProblem> {
    let mut body: B = from_value(r.document.clone())
        .map_err(|e| r.draft.problem(r.row, kith_core::ValidationError::new(e.code, e.detail)))?;
    body.validate().map_err(|e| r.draft.problem(r.row, e))?;
    if let Some(owner) = owner {
        body.set_owner(owner.to_string());
    }
    Ok(body)
}

pub(super) async fn import(
    svc: &Services,
    who: &Caller,
    kind: RecordKind,
    rows: Vec<DraftRow>,
    job: &mut ImportJob,
    tell: &(dyn Fn(&ImportJob) + Send + Sync),
) -> ApiResult<()> {
    let ready = plan(svc, who, kind, rows, job).await?;
    job.progress = Progress { done: job.progress.total - ready.len(), total: job.progress.total };
    let owner = job.options.owner.clone();
    for (n, r) in ready.iter().enumerate() {
        let created = match kind {
            RecordKind::Companies => create::<Company>(svc, who, r, owner.as_deref(), job.dry_run).await,
            RecordKind::Interactions => create::<Interaction>(svc, who, r, owner.as_deref(), job.dry_run).await,
            RecordKind::Purchases => create::<Purchase>(svc, who, r, owner.as_deref(), job.dry_run).await,
        };
        match created {
            Ok(()) => job.counts.created += 1,
            Err(Outcome::Row(p)) => {
                job.counts.invalid += 1;
                job.problem(p);
            }
            Err(Outcome::Stop(e)) => {
                job.resume_from_row = Some(r.row);
                return Err(e);
            }
        }
        job.progress.done += 1;
        if (n + 1) % BATCH == 0 && !job.dry_run {
            save(svc, job).await?;
            tell(job);
        }
    }
    Ok(())
}

/// Why a record was not created: its row's fault, or the job's end.
enum Outcome {
    Row(RowProblem),
    Stop(ApiError),
}

async fn create<B: EntityBody + serde::de::DeserializeOwned>(
    svc: &Services,
    who: &Caller,
    r: &Ready,
    owner: Option<&str>,
    dry_run: bool,
) -> Result<(), Outcome> {
    let body: B = checked(r, owner).map_err(Outcome::Row)?;
    if dry_run {
        return Ok(());
    }
    match svc.records.create::<B>(who, body).await {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable) => Err(Outcome::Stop(e)),
        Err(e) => {
            Err(Outcome::Row(RowProblem { row: r.row, column: None, code: e.code.as_str().into(), rule: e.detail }))
        }
    }
}

/// Checks what the importer declared for a kind other than contacts and
/// reads the file; the job as it starts.
pub(super) async fn prepare(
    svc: &Services,
    who: &Caller,
    file: &[u8],
    mut options: super::ImportOptions,
    kind: RecordKind,
) -> ApiResult<(Caller, ImportJob, Vec<DraftRow>)> {
    let grant = svc.authorizer.authorize(&who.principal, crate::auth::Action::Create, entity(kind))?;
    let (encoding, delimiter) = options.validate_reading()?;
    let contacts_only = [
        ("basis", options.basis.is_some()),
        ("notice_version", options.notice_version.is_some()),
        ("source", options.source.is_some()),
        ("on_duplicate", options.on_duplicate == super::OnDuplicate::Merge),
    ];
    if let Some((name, _)) = contacts_only.iter().find(|(_, given)| *given) {
        return Err(ApiError::new(ErrorCode::InvalidValue, format!("{name}: only for imports of contacts")));
    }
    let (who, _) = super::importing_for(svc, who, &mut options).await?;
    let mapping: Vec<(String, String)> = options.mapping.iter().map(|(h, f)| (h.clone(), f.clone())).collect();
    let bytes = file.to_vec();
    let read = tokio::task::spawn_blocking(move || {
        kith_core::import::records::read(&bytes, kind, encoding.as_deref(), delimiter, &mapping)
    })
    .await
    .map_err(|e| ApiError::internal("import", e))??;
    let written: Vec<String> = read.columns.iter().filter_map(|c| c.field.clone()).collect();
    let field_of = |f: &str| match f.split('.').next().unwrap_or_default() {
        "contact_email" => "contact_id".to_string(),
        "order" => String::new(),
        "sku" | "description" | "quantity" | "unit_price" => "lines".to_string(),
        a if a.starts_with("address") => "addresses".to_string(),
        other => other.to_string(),
    };
    let fields: Vec<String> = written.iter().map(|f| field_of(f)).filter(|f| !f.is_empty()).collect();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    super::check_fields(&who, &grant, entity(kind), options.owner.as_deref(), &fields)?;
    let job =
        super::new_job(&who, options, kith_core::import::FileFormat::Csv, read.encoding, read.columns, read.rows.len());
    Ok((who, job, read.rows))
}
