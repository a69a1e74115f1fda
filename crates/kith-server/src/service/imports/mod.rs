//! Imports of contacts from CSV and vCard files, as jobs: the file is
//! read and checked whole before anything is written (a file that cannot
//! be read, an option that does not hold, a field the caller may not
//! write: refused, nothing changes); then every row is planned (new,
//! duplicate, suppressed, invalid, see [`plan`]) and, unless it is a dry
//! run, the new people are written in batches ([`write`]).
//!
//! Each batch is one transaction with its audit events and first consent
//! entries: a failure stops the job with the batches before it kept, and
//! the job names the row to resume from (`from_row`). A job's document
//! holds options, counts and per-row reasons (row, column, rule), never a
//! value from the file.

mod options;
mod plan;
mod records;
mod write;

pub use options::{ImportKind, ImportOptions, OnDuplicate};

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::{Action, Credential};
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::import::records::{DraftRow, RecordKind};
use kith_core::import::{ColumnUse, FileFormat, RowProblem};
use kith_core::{EntityKind, ErrorCode};
use kith_store::ImportJobRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Rows written per transaction.
pub const BATCH: usize = 500;
/// Per-row reasons kept in a job's document; the counts are always whole.
pub const MAX_PROBLEMS: usize = 1000;
/// A running job whose document has not changed for this long was
/// stopped with its server.
const STALLED_AFTER_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Completed,
    Failed,
}

/// How many rows came to what. In a dry run `created` and `merged` count
/// what the run would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportCounts {
    pub rows: usize,
    pub created: usize,
    pub merged: usize,
    pub duplicate: usize,
    pub suppressed: usize,
    pub invalid: usize,
    /// Rows before `from_row`, not looked at.
    pub skipped: usize,
}

/// An import job and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0196f1a2-7c1e-7d3a-9c55-3f1e2d4c5b6a", "status": "completed", "dry_run": false,
    "created_by": "alice", "created_at": "2026-12-01T09:30:00.000Z", "updated_at": "2026-12-01T09:30:04.000Z",
    "options": {"purpose": "marketing.communications.email", "basis": "consent", "source": null,
                "notice_version": "2026-01", "on_duplicate": "skip", "mapping": {"E-mail Address": "emails"}},
    "format": "csv", "encoding": "UTF-8",
    "columns": [{"column": "E-mail Address", "field": "emails"}, {"column": "Lead Source", "field": null}],
    "progress": {"done": 3, "total": 3},
    "counts": {"rows": 3, "created": 1, "merged": 0, "duplicate": 1, "suppressed": 0, "invalid": 1, "skipped": 0},
    "problems": [{"row": 3, "column": "E-mail Address", "code": "invalid_email", "rule": "emails: an e-mail address has one @"},
                 {"row": 4, "column": null, "code": "duplicate", "rule": "the e-mail address or phone number of an existing contact"}],
    "problems_truncated": false, "resume_from_row": null, "error": null
}))]
pub struct ImportJob {
    pub id: Uuid,
    pub status: JobStatus,
    pub dry_run: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub options: ImportOptions,
    pub format: FileFormat,
    pub encoding: String,
    pub columns: Vec<ColumnUse>,
    pub progress: Progress,
    pub counts: ImportCounts,
    /// Why rows were not imported, the first [`MAX_PROBLEMS`].
    pub problems: Vec<RowProblem>,
    pub problems_truncated: bool,
    /// After a failure: the first row not written; start again from it with `from_row`.
    pub resume_from_row: Option<usize>,
    /// Why the job failed, if it did.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    /// Rows planned or written so far.
    pub done: usize,
    pub total: usize,
}

impl ImportJob {
    /// Keeps a row's problem among the [`MAX_PROBLEMS`] of the lowest rows
    /// (problems arrive phase by phase, not in row order).
    fn problem(&mut self, problem: RowProblem) {
        self.problems.push(problem);
        if self.problems.len() >= 2 * MAX_PROBLEMS {
            self.keep_lowest();
        }
    }

    fn keep_lowest(&mut self) {
        self.problems.sort_by_key(|p| p.row);
        if self.problems.len() > MAX_PROBLEMS {
            self.problems.truncate(MAX_PROBLEMS);
            self.problems_truncated = true;
        }
    }

    fn row(&self) -> ApiResult<ImportJobRow> {
        let status = serde_json::to_value(self.status).map_err(|e| ApiError::internal("import", e))?;
        Ok(ImportJobRow {
            id: self.id,
            created_by: self.created_by.clone(),
            created_at: crate::clock::query_time("created_at", Some(&self.created_at))?.unwrap_or_default(),
            updated_at: crate::now_millis(),
            status: status.as_str().unwrap_or("running").to_string(),
            document: serde_json::to_string(self).map_err(|e| ApiError::internal("import", e))?,
        })
    }

    fn from_row(row: &ImportJobRow) -> ApiResult<Self> {
        let mut job: Self = serde_json::from_str(&row.document).map_err(|e| ApiError::internal("import", e))?;
        job.updated_at = rfc3339_millis(row.updated_at);
        if job.status == JobStatus::Running && crate::now_millis() - row.updated_at > STALLED_AFTER_MS {
            job.status = JobStatus::Failed;
            job.error = Some("the job stopped with its server; start it again from resume_from_row".into());
            let first = if job.format == FileFormat::Vcard { 1 } else { 2 };
            job.resume_from_row.get_or_insert(job.options.from_row.unwrap_or(first));
        }
        Ok(job)
    }
}

/// Called with the job after each step, for a progress bar.
pub type OnProgress = Box<dyn Fn(&ImportJob) + Send + Sync>;

/// A checked import, ready to run: contacts, or records of another kind.
enum Work {
    Contacts(plan::Prepared),
    Records { who: Caller, job: ImportJob, kind: RecordKind, rows: Vec<DraftRow> },
}

impl Work {
    fn job(&self) -> &ImportJob {
        match self {
            Self::Contacts(prepared) => &prepared.job,
            Self::Records { job, .. } => job,
        }
    }

    fn who(&self) -> &Caller {
        match self {
            Self::Contacts(prepared) => &prepared.who,
            Self::Records { who, .. } => who,
        }
    }
}

async fn prepare(svc: &Services, who: &Caller, file: &[u8], options: ImportOptions) -> ApiResult<Work> {
    match options.kind.records() {
        None => Ok(Work::Contacts(plan::prepare(svc, who, file, options).await?)),
        Some(kind) => {
            let (who, job, rows) = records::prepare(svc, who, file, options, kind).await?;
            Ok(Work::Records { who, job, kind, rows })
        }
    }
}

/// The caller processing for the import's purpose (named in the options,
/// else their role's default), and that purpose, written back into the options.
async fn importing_for(
    svc: &Services,
    who: &Caller,
    options: &mut ImportOptions,
) -> ApiResult<(Caller, kith_core::purpose::Purpose)> {
    let mut who = who.clone();
    if let Some(purpose) = &options.purpose {
        who.purpose = Some(purpose.clone());
    }
    let purpose = crate::auth::purpose::request_purpose(&svc.store, &who).await?;
    who.purpose = Some(purpose.key.clone());
    options.purpose = Some(purpose.key.clone());
    Ok((who, purpose))
}

/// A new job of `who`, running.
fn new_job(
    who: &Caller,
    options: ImportOptions,
    format: FileFormat,
    encoding: &str,
    columns: Vec<ColumnUse>,
    rows: usize,
) -> ImportJob {
    let now = crate::now_millis();
    ImportJob {
        id: Uuid::now_v7(),
        status: JobStatus::Running,
        dry_run: options.dry_run,
        created_by: who.principal.name.clone(),
        created_at: rfc3339_millis(now),
        updated_at: rfc3339_millis(now),
        options,
        format,
        encoding: encoding.to_string(),
        columns,
        progress: Progress { done: 0, total: rows },
        counts: ImportCounts { rows, ..ImportCounts::default() },
        problems: Vec::new(),
        problems_truncated: false,
        resume_from_row: None,
        error: None,
    }
}

/// The fields a file writes must be the caller's to write; for records
/// owned by someone else than the importer, on every record of the kind.
fn check_fields(
    who: &Caller,
    grant: &kith_core::access::Grant,
    entity: EntityKind,
    owner: Option<&str>,
    fields: &[&str],
) -> ApiResult<()> {
    let others = owner.is_some_and(|o| o != who.principal.name);
    for field in fields {
        match grant.field_scope(entity, field) {
            None => {
                return Err(refused(ErrorCode::FieldForbidden, format!("{field}: not a field your role may write")))
            }
            Some(scope) if others && scope != kith_core::access::Scope::All => {
                return Err(refused(
                    ErrorCode::Forbidden,
                    format!("owner: only a role that writes {field} on every record may import for others"),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Reads and checks the file and the options, records the job and runs it
/// in the background; the answer is the job as it starts.
pub async fn start(svc: &Services, who: &Caller, file: Vec<u8>, options: ImportOptions) -> ApiResult<ImportJob> {
    let work = prepare(svc, who, &file, options).await?;
    let job = work.job().clone();
    svc.store.insert_import(&job.row()?).await?;
    let (svc, who) = (svc.clone(), work.who().clone());
    tokio::spawn(async move {
        if let Err(e) = run_prepared(&svc, &who, work, None).await {
            tracing::warn!(error = %e.detail, "an import job could not record its end");
        }
    });
    Ok(job)
}

/// The same import, awaited (the command line), with `progress` told of each step.
pub async fn run(
    svc: &Services,
    who: &Caller,
    file: Vec<u8>,
    options: ImportOptions,
    progress: OnProgress,
) -> ApiResult<ImportJob> {
    let work = prepare(svc, who, &file, options).await?;
    svc.store.insert_import(&work.job().row()?).await?;
    let who = work.who().clone();
    run_prepared(svc, &who, work, Some(progress)).await
}

async fn run_prepared(svc: &Services, who: &Caller, work: Work, progress: Option<OnProgress>) -> ApiResult<ImportJob> {
    let tell = |job: &ImportJob| {
        if let Some(progress) = &progress {
            progress(job);
        }
    };
    let mut job = work.job().clone();
    let outcome = match work {
        Work::Contacts(prepared) => {
            async {
                let planned = plan::plan(svc, prepared, &mut job).await?;
                tell(&job);
                write::write(svc, who, planned, &mut job, &tell).await
            }
            .await
        }
        Work::Records { kind, rows, .. } => records::import(svc, who, kind, rows, &mut job, &tell).await,
    };
    match outcome {
        Ok(()) => job.status = JobStatus::Completed,
        Err(e) => {
            job.status = JobStatus::Failed;
            job.error = Some(e.detail.clone());
        }
    }
    job.keep_lowest();
    let kind = serde_json::to_value(job.options.kind).ok().and_then(|k| k.as_str().map(str::to_string));
    let mut fields = vec!["import".to_string(), format!("job:{}", job.id), format!("dry_run:{}", job.dry_run)];
    fields.push(format!("kind:{}", kind.unwrap_or_default()));
    let counts = &job.counts;
    fields.extend([
        format!("created:{}", counts.created),
        format!("merged:{}", counts.merged),
        format!("duplicate:{}", counts.duplicate),
        format!("suppressed:{}", counts.suppressed),
        format!("invalid:{}", counts.invalid),
    ]);
    let summary = audit_event::by(who, AuditAction::Create, About::record("imports", job.id), fields);
    svc.audit.record(vec![summary]).await?;
    svc.store.update_import(&job.row()?).await?;
    tell(&job);
    Ok(job)
}

/// The contacts the caller may read (`None`: every one): an import finds
/// duplicates and the contacts of records only among them, so a file
/// tells nobody whether an address is known outside their scope.
async fn readable_contacts(svc: &Services, who: &Caller) -> ApiResult<Option<std::collections::HashSet<Uuid>>> {
    let Ok(grant) = svc.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts) else {
        return Ok(Some(Default::default()));
    };
    match svc.records.grant_owners(who, &grant).await? {
        None => Ok(None),
        Some(owners) => {
            let rows = svc.store.clear_rows(EntityKind::Contacts, Some(&owners)).await?;
            Ok(Some(rows.into_iter().map(|r| r.id).collect()))
        }
    }
}

/// Saves a running job's progress.
async fn save(svc: &Services, job: &ImportJob) -> ApiResult<()> {
    svc.store.update_import(&job.row()?).await?;
    Ok(())
}

/// Whoever may import may follow their own jobs; the DPO (and the
/// operator on the command line) everyone's.
fn sees_all(who: &Caller) -> bool {
    matches!(who.principal.credential, Credential::Command) || who.is_dpo()
}

fn may_see(who: &Caller, job: &ImportJob) -> bool {
    job.created_by == who.principal.name || sees_all(who)
}

/// Whether the principal may create records of some kind a file can hold.
pub fn may_import(authorizer: &dyn crate::auth::Authorizer, principal: &crate::auth::Principal) -> ApiResult<()> {
    let kinds = [EntityKind::Contacts, EntityKind::Companies, EntityKind::Interactions, EntityKind::Purchases];
    let refusals: Vec<ApiError> =
        kinds.iter().filter_map(|k| authorizer.authorize(principal, Action::Create, *k).err()).collect();
    match refusals.len() < kinds.len() {
        true => Ok(()),
        false => Err(refusals
            .into_iter()
            .next()
            .unwrap_or_else(|| ApiError::new(ErrorCode::Forbidden, "no right to import"))),
    }
}

pub async fn job(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<ImportJob> {
    may_import(svc.authorizer.as_ref(), &who.principal)?;
    let job = match svc.store.import_job(id).await? {
        Some(row) => ImportJob::from_row(&row)?,
        None => return Err(ApiError::not_found("import")),
    };
    if !may_see(who, &job) {
        return Err(ApiError::not_found("import"));
    }
    Ok(job)
}

/// The most recent jobs the caller may see.
pub async fn jobs(svc: &Services, who: &Caller) -> ApiResult<Vec<ImportJob>> {
    may_import(svc.authorizer.as_ref(), &who.principal)?;
    let author = (!sees_all(who)).then_some(who.principal.name.as_str());
    svc.store.import_jobs(50, author).await?.iter().map(ImportJob::from_row).collect()
}

/// A refusal of the whole import.
fn refused(code: ErrorCode, detail: impl Into<String>) -> ApiError {
    ApiError::new(code, detail)
}
