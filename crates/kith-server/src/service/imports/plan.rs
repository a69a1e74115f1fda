//! Before anything is written: the caller, the purpose and its basis, the
//! file read whole ([`prepare`]); then each row's fate ([`plan`]): new,
//! a duplicate (the blind index knows its e-mail address or phone number,
//! or an earlier row has it), suppressed (an erased person's address or
//! number: never back), or invalid.

use super::{refused, ImportJob, ImportOptions, OnDuplicate};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use crate::service::consents::consent_needs_guardian;
use crate::service::erasure::suppression_term;
use crate::service::Services;
use kith_core::import::{ReadRow, RowProblem};
use kith_core::model::Contact;
use kith_core::purpose::LawfulBasis;
use kith_core::{EntityBody, EntityKind, ErrorCode, IndexField};
use kith_store::Term;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The consent each new person's ledger opens with.
#[derive(Debug, Clone)]
pub(super) struct ConsentClaim {
    pub purpose: String,
    pub notice_version: String,
}

/// A checked import, ready to plan.
pub(super) struct Prepared {
    /// The caller, processing for the import's purpose.
    pub who: Caller,
    pub job: ImportJob,
    pub rows: Vec<ReadRow>,
    pub consent: Option<ConsentClaim>,
    pub owner: String,
    /// The source declared: kept sealed with each person, never in the job.
    pub source: Option<String>,
}

/// What the rows came to: the people to create and the existing contacts
/// to merge rows into, each with its row number, in row order.
pub(super) struct Planned {
    pub new: Vec<(usize, Contact)>,
    pub merges: Vec<(usize, Uuid, Contact)>,
    pub consent: Option<ConsentClaim>,
    pub owner: String,
    pub source: Option<String>,
}

pub(super) async fn prepare(
    svc: &Services,
    who: &Caller,
    file: &[u8],
    mut options: ImportOptions,
) -> ApiResult<Prepared> {
    let grant = svc.authorizer.authorize(&who.principal, Action::Create, EntityKind::Contacts)?;
    let reading = options.validate()?;
    let (who, purpose) = super::importing_for(svc, who, &mut options).await?;
    match (purpose.lawful_basis, options.basis) {
        (LawfulBasis::Consent, None) => {
            return Err(refused(
                ErrorCode::NoConsent,
                format!(
                    "the purpose {} rests on consent: declare basis consent, and the notice version people agreed to",
                    purpose.key
                ),
            ))
        }
        (rests_on, Some(declared)) if rests_on != declared => {
            return Err(refused(
                ErrorCode::InvalidValue,
                format!("basis: the purpose {} rests on {}, not {}", purpose.key, name(rests_on), name(declared)),
            ))
        }
        _ => options.basis = Some(purpose.lawful_basis),
    }
    let consent = match purpose.lawful_basis {
        LawfulBasis::Consent => Some(ConsentClaim {
            purpose: purpose.key.clone(),
            notice_version: notice_version(svc, options.notice_version.as_deref()).await?,
        }),
        _ => None,
    };
    options.notice_version = consent.as_ref().map(|c| c.notice_version.clone());
    let owner = options.owner.clone().unwrap_or_else(|| who.principal.name.clone());
    let bytes = file.to_vec();
    let read = tokio::task::spawn_blocking(move || kith_core::import::read(&bytes, &reading))
        .await
        .map_err(|e| ApiError::internal("import", e))??;
    let mut written: Vec<&str> =
        read.columns.iter().filter_map(|c| c.field.as_deref()).flat_map(contact_fields).collect();
    if options.source.is_some() {
        written.push("custom");
    }
    super::check_fields(&who, &grant, EntityKind::Contacts, options.owner.as_deref(), &written)?;
    // A source may name a person ("referred by ..."): the job keeps none.
    let source = options.source.take();
    let job = super::new_job(&who, options, read.format, read.encoding, read.columns, read.rows.len());
    Ok(Prepared { who, job, rows: read.rows, consent, owner, source })
}

fn name(basis: LawfulBasis) -> String {
    serde_json::to_value(basis).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The contact fields a mapped column writes (`address2.city` writes `addresses`).
fn contact_fields(target: &str) -> Vec<&'static str> {
    match target.split('.').next().unwrap_or_default() {
        "name" => vec!["given_name", "family_name"],
        "given_name" | "middle_name" => vec!["given_name"],
        "family_name" => vec!["family_name"],
        "emails" => vec!["emails"],
        "phones" => vec!["phones"],
        "birthday" => vec!["birthday"],
        "job_title" => vec!["job_title"],
        "notes" => vec!["notes"],
        "tags" => vec!["tags"],
        "custom" | "company" => vec!["custom"],
        a if a.starts_with("address") || a.starts_with("adr") => vec!["addresses"],
        _ => Vec::new(),
    }
}

/// The version named, which must exist, or the latest.
async fn notice_version(svc: &Services, named: Option<&str>) -> ApiResult<String> {
    let notices = svc.store.notices().await?;
    let found = match named {
        Some(version) => notices.into_iter().find(|n| n.version == version),
        None => notices.into_iter().max_by_key(|n| n.created_at),
    };
    found.map(|n| n.version).ok_or_else(|| {
        refused(
            ErrorCode::UnknownReference,
            "notice_version: consent is recorded against a privacy notice; add one or name an existing version",
        )
    })
}

/// A row's e-mail and phone terms (for duplicates) and suppression terms.
struct Candidate {
    row: usize,
    contact: Contact,
    known: Vec<(Term, IndexField)>,
    suppression: Vec<Term>,
}

pub(super) async fn plan(svc: &Services, prepared: Prepared, job: &mut ImportJob) -> ApiResult<Planned> {
    let ring = svc.keys.current();
    let from_row = job.options.from_row.unwrap_or(0);
    let mut candidates = Vec::new();
    for read in prepared.rows {
        if read.row < from_row {
            job.counts.skipped += 1;
            continue;
        }
        let contact = match read.contact {
            Ok(contact) => contact,
            Err(problem) => {
                job.counts.invalid += 1;
                job.problem(problem);
                continue;
            }
        };
        if prepared.consent.is_some() && consent_needs_guardian(svc, &contact, true) {
            job.counts.invalid += 1;
            job.problem(RowProblem {
                row: read.row,
                column: None,
                code: ErrorCode::GuardianRequired.as_str().into(),
                rule: "a child's consent needs its guardian's, which a file cannot carry".into(),
            });
            continue;
        }
        let terms = contact.index_terms();
        let known = terms
            .iter()
            .filter(|t| matches!(t.field, IndexField::Email | IndexField::Phone))
            .map(|t| (ring.blind_term(t.field.as_str(), &t.value), t.field))
            .collect();
        let suppression = terms.iter().filter_map(|t| suppression_term(&ring, t)).collect();
        candidates.push(Candidate { row: read.row, contact, known, suppression });
    }
    let all_known: Vec<Term> = candidates.iter().flat_map(|c| c.known.iter().map(|(t, _)| *t)).collect();
    let readable = super::readable_contacts(svc, &prepared.who).await?;
    let existing: HashMap<Term, Uuid> = svc
        .store
        .indexed(EntityKind::Contacts, &all_known)
        .await?
        .into_iter()
        .filter(|(_, id)| readable.as_ref().is_none_or(|r| r.contains(id)))
        .collect();
    let all_suppression: Vec<Term> = candidates.iter().flat_map(|c| c.suppression.iter().copied()).collect();
    let suppressed: HashSet<Term> = svc.store.suppressed_among(&all_suppression).await?.into_iter().collect();

    let (mut new, mut merges) = (Vec::new(), Vec::new());
    let mut earlier: HashMap<Term, usize> = HashMap::new();
    let merge = job.options.on_duplicate == OnDuplicate::Merge;
    for c in candidates {
        let problem = |code: &str, rule: String| RowProblem { row: c.row, column: None, code: code.into(), rule };
        if c.suppression.iter().any(|t| suppressed.contains(t)) {
            job.counts.suppressed += 1;
            job.problem(problem(
                ErrorCode::SuppressedAfterErasure.as_str(),
                "an e-mail address or phone number of an erased person: not imported again".into(),
            ));
        } else if let Some((id, field)) = c.known.iter().find_map(|(t, f)| existing.get(t).map(|id| (*id, *f))) {
            if merge {
                merges.push((c.row, id, c.contact));
            } else {
                job.counts.duplicate += 1;
                job.problem(problem("duplicate", format!("the {} of an existing contact", what(field))));
            }
        } else if let Some((row, field)) = c.known.iter().find_map(|(t, f)| earlier.get(t).map(|r| (*r, *f))) {
            job.counts.duplicate += 1;
            job.problem(problem("duplicate", format!("the same {} as row {row}", what(field))));
        } else {
            for (term, _) in &c.known {
                earlier.entry(*term).or_insert(c.row);
            }
            new.push((c.row, c.contact));
        }
    }
    job.progress.done = job.progress.total - new.len() - merges.len();
    if job.dry_run {
        (job.counts.created, job.counts.merged) = (new.len(), merges.len());
        job.progress.done = job.progress.total;
    }
    Ok(Planned { new, merges, consent: prepared.consent, owner: prepared.owner, source: prepared.source })
}

fn what(field: IndexField) -> &'static str {
    match field {
        IndexField::Phone => "phone number",
        _ => "e-mail address",
    }
}
