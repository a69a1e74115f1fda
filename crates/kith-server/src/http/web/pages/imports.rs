//! Importing contacts from a file: the form (a dry run first, by
//! default), the recent jobs, and a job's page that follows it until it
//! is done, with its counts, columns and the rows it did not import.
//! The service is the API's.

use super::{error, problem, render, status_of, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::routes::imports::{from_multipart, options_from_pairs};
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::imports::{self, ImportJob, JobStatus};
use crate::AppState;
use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::ErrorCode;

/// The form's choices as they were sent, to show them again after a refusal.
#[derive(Default)]
pub struct ImportForm {
    pub kind: String,
    pub purpose: String,
    pub basis: String,
    pub source: String,
    pub notice_version: String,
    pub on_duplicate: String,
    pub mapping: String,
    pub encoding: String,
    pub dry_run: bool,
}

impl ImportForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        Self {
            kind: get("kind"),
            purpose: get("purpose"),
            basis: get("basis"),
            source: get("source"),
            notice_version: get("notice_version"),
            on_duplicate: get("on_duplicate"),
            mapping: get("mapping"),
            encoding: get("encoding"),
            dry_run: get("dry_run") == "true",
        }
    }
}

/// A job as a line of the list.
pub struct JobLine {
    pub id: String,
    pub created_at: String,
    pub status: String,
    pub dry_run: bool,
    pub rows: usize,
    pub created: usize,
}

#[derive(Template)]
#[template(path = "import_form.html")]
struct FormPage {
    chrome: Chrome,
    form: ImportForm,
    notices: Vec<String>,
    jobs: Vec<JobLine>,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    chrome: Chrome,
    job: ImportJob,
    status: String,
    running: bool,
    /// (label, count) in the order a reader checks them.
    counts: Vec<(String, usize)>,
}

fn minutes(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

fn status_words(lang: &Lang, status: JobStatus) -> String {
    let key = match status {
        JobStatus::Running => "import-status-running",
        JobStatus::Completed => "import-status-completed",
        JobStatus::Failed => "import-status-failed",
    };
    lang.t(key)
}

async fn form_page(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    form: ImportForm,
    refusal: Option<ApiError>,
) -> Response {
    let jobs = match imports::jobs(state, who).await {
        Ok(jobs) => jobs,
        Err(e) => return error(chrome, e),
    };
    let notices = crate::service::consents::notices(state, who).await;
    let notices = notices.map(|n| n.into_iter().map(|n| n.version).collect()).unwrap_or_default();
    let jobs = jobs
        .iter()
        .map(|j| JobLine {
            id: j.id.to_string(),
            created_at: minutes(&j.created_at),
            status: status_words(&chrome.lang, j.status),
            dry_run: j.dry_run,
            rows: j.counts.rows,
            created: j.counts.created,
        })
        .collect();
    let status = refusal.as_ref().map_or(StatusCode::OK, status_of);
    let problem = refusal.map(|r| format!("{} ({})", problem(&chrome.lang, &r), r.detail));
    render(status, &FormPage { chrome, form, notices, jobs, problem })
}

pub async fn show_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/contacts/import").await;
    if let Err(e) =
        state.authorizer.authorize(&who.principal, crate::auth::Action::Create, kith_core::EntityKind::Contacts)
    {
        return error(chrome, e);
    }
    let form = ImportForm { purpose: chrome.purpose.clone(), dry_run: true, ..ImportForm::default() };
    form_page(&state, chrome, &who, form, None).await
}

/// Starts the job and follows it on its page; a refusal shows the form again.
pub async fn start(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    request: Request,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/contacts/import").await;
    let unreadable = || ApiError::new(ErrorCode::InvalidValue, "the form could not be read");
    let (file, pairs) = match Multipart::from_request(request, &state).await {
        Ok(form) => match from_multipart(form).await {
            Ok(read) => read,
            Err(e) => return form_page(&state, chrome, &who, ImportForm::default(), Some(e)).await,
        },
        Err(_) => return form_page(&state, chrome, &who, ImportForm::default(), Some(unreadable())).await,
    };
    // The form's own fields (its token, an empty choice) are not options.
    let options: Vec<(String, String)> =
        pairs.iter().filter(|(name, value)| name != "csrf" && !value.is_empty()).cloned().collect();
    let form = ImportForm::from_pairs(&pairs);
    let file = match file.filter(|f| !f.is_empty()) {
        Some(file) => file,
        None => {
            let missing = ApiError::new(ErrorCode::MissingField, "file: choose a CSV or vCard file");
            return form_page(&state, chrome, &who, form, Some(missing)).await;
        }
    };
    let started = match options_from_pairs(&options) {
        Ok(options) => imports::start(&state, &who, file, options).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(job) => Redirect::to(&format!("/imports/{}", job.id)).into_response(),
        Err(refusal) => form_page(&state, chrome, &who, form, Some(refusal)).await,
    }
}

pub async fn show_job(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, &format!("/imports/{raw}")).await;
    let job = match path_id(&raw) {
        Ok(id) => imports::job(&state, &who, id).await,
        Err(e) => Err(e),
    };
    let job = match job {
        Ok(job) => job,
        Err(e) => return error(chrome, e),
    };
    let t = |key: &str| chrome.lang.t(key);
    let c = &job.counts;
    let counts = vec![
        (t("import-count-rows"), c.rows),
        (t(if job.dry_run { "import-count-new" } else { "import-count-created" }), c.created),
        (t("import-count-merged"), c.merged),
        (t("import-count-duplicate"), c.duplicate),
        (t("import-count-suppressed"), c.suppressed),
        (t("import-count-invalid"), c.invalid),
        (t("import-count-skipped"), c.skipped),
    ];
    let status = status_words(&chrome.lang, job.status);
    let running = job.status == JobStatus::Running;
    render(StatusCode::OK, &JobPage { chrome, job, status, running, counts })
}
