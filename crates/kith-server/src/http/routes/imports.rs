//! The import routes: a file as the body (CSV or vCard) or in a
//! multipart form, options in the query (or the form), the job answered
//! at once and followed at its own path.

use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{id_parameter, json_content, json_response, operation, page_schema, problem_response, Api};
use crate::http::extract::path_id_once;
use crate::http::guard::{Guard, ImportRecords};
use crate::service::imports::{
    self, ImportCounts, ImportJob, ImportKind, ImportOptions, JobStatus, OnDuplicate, Progress,
};
use crate::AppState;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kith_core::import::{ColumnUse, FileFormat, RowProblem};
use kith_core::purpose::LawfulBasis;
use kith_core::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::json;
use utoipa::openapi::path::{HttpMethod, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, Required};
use utoipa::{PartialSchema, ToSchema};

/// The body types a file may arrive in.
const FILE_TYPES: [&str; 6] =
    ["text/csv", "text/vcard", "text/x-vcard", "text/plain", "text/tab-separated-values", "application/octet-stream"];

/// Options as `name=value` pairs (the query, or a form's fields); `mapping`
/// repeats, once per column, as `Header=field`.
pub fn options_from_pairs(pairs: &[(String, String)]) -> ApiResult<ImportOptions> {
    let invalid = |name: &str, what: &str| ApiError::new(ErrorCode::InvalidQuery, format!("{name}: {what}"));
    let mut options = ImportOptions::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut mapping = Vec::new();
    for (name, value) in pairs {
        if name != "mapping" && seen.contains(&name.as_str()) {
            return Err(invalid(name, "given twice"));
        }
        seen.push(name);
        let text = || Some(value.clone()).filter(|v| !v.trim().is_empty());
        match name.as_str() {
            "dry_run" => options.dry_run = value.parse().map_err(|_| invalid(name, "true or false"))?,
            "kind" => options.kind = enum_value::<ImportKind>(name, value)?,
            "purpose" => options.purpose = text(),
            "basis" => options.basis = text().map(|v| enum_value::<LawfulBasis>(name, &v)).transpose()?,
            "source" => options.source = text(),
            "notice_version" => options.notice_version = text(),
            "on_duplicate" => options.on_duplicate = enum_value::<OnDuplicate>(name, value)?,
            "owner" => options.owner = text(),
            "encoding" => options.encoding = text(),
            "delimiter" => options.delimiter = Some(value.clone()).filter(|v| !v.is_empty()),
            "from_row" => {
                options.from_row = text().map(|v| v.parse().map_err(|_| invalid(name, "a row number"))).transpose()?
            }
            "mapping" => mapping.extend(value.lines().map(str::to_string)),
            other => return Err(invalid(other, "unknown query parameter")),
        }
    }
    options.map(&mapping).map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.detail))?;
    Ok(options)
}

fn enum_value<T: DeserializeOwned>(name: &str, value: &str) -> ApiResult<T> {
    serde_json::from_value(json!(value))
        .map_err(|_| ApiError::new(ErrorCode::InvalidQuery, format!("{name}: not one of the documented values")))
}

fn query_pairs(request: &Request) -> Vec<(String, String)> {
    let query = request.uri().query().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// The file and the option pairs of a multipart form: the part `file`,
/// the others options.
pub async fn from_multipart(mut form: Multipart) -> ApiResult<(Option<Vec<u8>>, Vec<(String, String)>)> {
    let broken = |_| ApiError::new(ErrorCode::InvalidValue, "the form could not be read");
    let (mut file, mut pairs) = (None, Vec::new());
    while let Some(field) = form.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            file = Some(field.bytes().await.map_err(broken)?.to_vec());
        } else {
            let value = field.text().await.map_err(broken)?;
            pairs.push((name, value));
        }
    }
    Ok((file, pairs))
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _: Guard<ImportRecords>,
    request: Request,
) -> ApiResult<Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let mut pairs = query_pairs(&request);
    let file = if content_type == "multipart/form-data" {
        let form = Multipart::from_request(request, &state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::InvalidValue, "the form could not be read"))?;
        let (file, fields) = from_multipart(form).await?;
        pairs.extend(fields);
        file.ok_or_else(|| ApiError::new(ErrorCode::MissingField, "file: the form has no part named file"))?
    } else if FILE_TYPES.contains(&content_type.as_str()) {
        axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|_| ApiError::new(ErrorCode::InvalidValue, "the body could not be read"))?
            .to_vec()
    } else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the file as text/csv, text/vcard or multipart/form-data",
        ));
    };
    let options = options_from_pairs(&pairs)?;
    let job = imports::start(&state, &who, file, options).await?;
    let location = format!("/api/v1/imports/{}", job.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(job)).into_response())
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<serde_json::Value>> {
    let jobs = imports::jobs(&state, &who).await?;
    Ok(Json(json!({"items": jobs, "next_cursor": null})))
}

async fn get(State(state): State<AppState>, who: Caller, Path(raw): Path<String>) -> ApiResult<Json<ImportJob>> {
    let allowed = imports::may_import(state.authorizer.as_ref(), &who.principal);
    let id = path_id_once(allowed, &raw)?;
    Ok(Json(imports::job(&state, &who, id).await?))
}

fn query(
    name: &str,
    description: &str,
    schema: impl Into<utoipa::openapi::RefOr<utoipa::openapi::Schema>>,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    for add in [
        <ImportJob as ToSchema>::schemas,
        <ImportOptions as ToSchema>::schemas,
        <RowProblem as ToSchema>::schemas,
        <ColumnUse as ToSchema>::schemas,
        <ImportCounts as ToSchema>::schemas,
        <Progress as ToSchema>::schemas,
    ] {
        add(&mut nested);
    }
    api.schemas.extend(nested);
    for (name, schema) in [
        ("ImportJob", ImportJob::schema()),
        ("ImportOptions", ImportOptions::schema()),
        ("RowProblem", RowProblem::schema()),
        ("ColumnUse", ColumnUse::schema()),
        ("ImportCounts", ImportCounts::schema()),
        ("Progress", Progress::schema()),
        ("JobStatus", JobStatus::schema()),
        ("FileFormat", FileFormat::schema()),
        ("OnDuplicate", OnDuplicate::schema()),
        ("ImportKind", ImportKind::schema()),
        ("LawfulBasis", LawfulBasis::schema()),
        ("ImportJobPage", page_schema(Ref::from_schema_name("ImportJob")).into()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let enumerated = |values: &[&str]| string().enum_values(Some(values.to_vec()));
    let parameters = vec![
        query(
            "kind",
            "what the file holds: contacts (the default), companies, interactions or purchases (each row naming its contact by e-mail address)",
            enumerated(&["contacts", "companies", "interactions", "purchases"]),
        ),
        query("dry_run", "plan only: counts and per-row reasons, nothing written", ObjectBuilder::new().schema_type(Type::Boolean)),
        query("purpose", "the purpose the people are imported for (the caller's default when absent)", string()),
        query(
            "basis",
            "the lawful basis declared; `consent` is required when the purpose rests on consent",
            enumerated(&["consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"]),
        ),
        query("source", "where the data came from, kept with each person", string()),
        query("notice_version", "the privacy notice people consented under (the latest when absent)", string()),
        query("on_duplicate", "`skip` (the default) or `merge` into the existing contact", enumerated(&["skip", "merge"])),
        query("owner", "the staff member who owns the new contacts (the caller when absent)", string()),
        query("mapping", "`Header=field`, once per column (or one per line): emails, given_name, address.city, custom.NAME, ignore...", string()),
        query("encoding", "a WHATWG encoding label such as windows-1251 (detected when absent)", string()),
        query("delimiter", "one character (recognised from the header when absent)", string()),
        query("from_row", "start at this row (2 is the first after a CSV header, 1 a file's first vCard): to resume a failed job", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1))),
    ];
    let file = || ContentBuilder::new().schema(Some(string())).build();
    let form = ObjectBuilder::new()
        .property(
            "file",
            string().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary))),
        )
        .required("file")
        .additional_properties(Some(string()));
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("text/csv", file())
        .content("text/vcard", file())
        .content("multipart/form-data", json_content(form))
        .build();
    api.route(
        HttpMethod::Post,
        "/api/v1/imports",
        create,
        operation("create_import", "imports", "Import contacts (CSV or vCard), companies, interactions or purchases (CSV) from a file, as a job (the right to create records of the kind)")
            .parameters(Some(parameters))
            .request_body(Some(body))
            .response("202", json_response("the job, started; follow it at Location", "ImportJob"))
            .response("403", problem_response("no right to create contacts, a field the role may not write, the purpose not the caller's, or a consent purpose without basis consent"))
            .response("415", problem_response("the body is not CSV, vCard or a multipart form"))
            .response("422", problem_response("the file cannot be read (encoding, structure, no column with a name, address or number), an option is invalid, or no notice to record consent against"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/imports",
        list,
        operation("list_imports", "imports", "The recent import jobs: the caller's own (every job for the dpo)")
            .response("200", json_response("the jobs, the most recent first", "ImportJobPage"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/imports/{id}",
        get,
        operation("get_import", "imports", "An import job: progress, counts, per-row reasons")
            .parameter(id_parameter())
            .response("200", json_response("the job", "ImportJob"))
            .response("404", problem_response("no such job, or another's"))
            .build(),
    )
}
