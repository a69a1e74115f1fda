//! Data-subject requests carried out, one story per kind, and erasure.

use super::*;
use crate::service::dsr::{self, DsrFulfilInput, DsrInput, DsrVerifyInput};
use crate::service::{archive, consents, erasure};
use kith_core::dsr::{RequestKind, RequestStatus};
use kith_core::model::Contact;
use serde_json::json;
use uuid::Uuid;

fn request(kind: RequestKind, contact: Option<Uuid>) -> DsrInput {
    DsrInput {
        kind,
        contact_id: contact,
        email: None,
        phone: None,
        received_at: None,
        channel: None,
        purpose: None,
        note: None,
    }
}

/// Registers a request and attests the person's identity: ready to fulfil.
async fn verified(svc: &Services, dpo: &Caller, input: DsrInput) -> Uuid {
    let id = dsr::register_for_staff(svc, dpo, &input).await.unwrap().row.id;
    let attestation = DsrVerifyInput {
        token: None,
        method: Some("staff_attestation".into()),
        note: Some("passport seen at the counter".into()),
    };
    let request = dsr::verify(svc, dpo, id, attestation).await.unwrap();
    assert_eq!(request.row.status, RequestStatus::InProgress.as_str());
    id
}

async fn fulfil(svc: &Services, dpo: &Caller, id: Uuid, input: DsrFulfilInput) -> ApiResult<dsr::Fulfilled> {
    dsr::fulfil(svc, dpo, id, input).await
}

fn code<T>(result: ApiResult<T>) -> ErrorCode {
    match result {
        Err(e) => e.code,
        Ok(_) => panic!("the step was allowed"),
    }
}

#[tokio::test]
async fn a_request_is_carried_out_only_once_verified_and_access_only_once_downloaded() {
    let f = fixture().await;
    let dpo = staff(&f.svc, "dpo").await;
    let ann = contact(&f.svc, &dpo, "ann@example.org").await;

    let unverified = dsr::register_for_staff(&f.svc, &dpo, &request(RequestKind::Access, Some(ann))).await.unwrap();
    assert_eq!(code(fulfil(&f.svc, &dpo, unverified.row.id, DsrFulfilInput::default()).await), ErrorCode::NotVerified);

    let access = verified(&f.svc, &dpo, request(RequestKind::Access, Some(ann))).await;
    let pending = fulfil(&f.svc, &dpo, access, DsrFulfilInput::default()).await;
    assert_eq!(code(pending), ErrorCode::FulfilmentPending);
    let archive = archive::download(&f.svc, &dpo, access, None).await.unwrap();
    assert_eq!(archive.kind, "access");
    assert!(archive.zip.starts_with(b"PK"), "a zip archive");
    let done = fulfil(&f.svc, &dpo, access, DsrFulfilInput::default()).await.unwrap();
    assert_eq!(done.request.row.status, RequestStatus::Completed.as_str());
    assert!(done.request.row.completed_at.is_some() && done.receipt.is_none());
    // A completed request takes no further step.
    assert_eq!(code(fulfil(&f.svc, &dpo, access, DsrFulfilInput::default()).await), ErrorCode::InvalidTransition);
}

#[tokio::test]
async fn restriction_objection_and_rectification_change_what_the_policy_and_the_record_say() {
    let f = fixture().await;
    let dpo = staff(&f.svc, "dpo").await;
    let bea = contact(&f.svc, &dpo, "bea@example.org").await;

    let restriction = verified(&f.svc, &dpo, request(RequestKind::Restriction, Some(bea))).await;
    fulfil(&f.svc, &dpo, restriction, DsrFulfilInput::default()).await.unwrap();
    assert!(consents::restriction_state(&f.svc, &dpo, bea).await.unwrap().restricted);

    let objection = verified(
        &f.svc,
        &dpo,
        DsrInput { purpose: Some("marketing".into()), ..request(RequestKind::Objection, Some(bea)) },
    )
    .await;
    fulfil(&f.svc, &dpo, objection, DsrFulfilInput::default()).await.unwrap();
    assert!(consents::restriction_state(&f.svc, &dpo, bea).await.unwrap().objections.contains("marketing"));

    let rectification = verified(&f.svc, &dpo, request(RequestKind::Rectification, Some(bea))).await;
    let without = fulfil(&f.svc, &dpo, rectification, DsrFulfilInput::default()).await;
    assert_eq!(code(without), ErrorCode::MissingField, "a rectification names its changes");
    let changes = json!({"given_name": "Beatrix"}).as_object().cloned();
    let done = fulfil(&f.svc, &dpo, rectification, DsrFulfilInput { changes, outcome: None }).await.unwrap();
    assert_eq!(done.request.details.changes.as_ref().and_then(|c| c.get("given_name")), Some(&json!("Beatrix")));
    // The DPO reads the person with a purpose the restriction still allows.
    let record = f.svc.records.get::<Contact>(&dpo, bea).await.unwrap();
    assert_eq!(record["given_name"], "Beatrix");
}

#[tokio::test]
async fn a_request_for_nobody_completes_with_no_data_and_only_so() {
    let f = fixture().await;
    let dpo = staff(&f.svc, "dpo").await;
    let input = DsrInput { email: Some("nobody@example.org".into()), ..request(RequestKind::Access, None) };
    let id = verified(&f.svc, &dpo, input).await;
    assert_eq!(code(fulfil(&f.svc, &dpo, id, DsrFulfilInput::default()).await), ErrorCode::Conflict);
    let wrong = DsrFulfilInput { changes: None, outcome: Some("nothing".into()) };
    assert_eq!(code(fulfil(&f.svc, &dpo, id, wrong).await), ErrorCode::InvalidValue);
    let no_data = DsrFulfilInput { changes: None, outcome: Some("no_data".into()) };
    let done = fulfil(&f.svc, &dpo, id, no_data).await.unwrap();
    assert_eq!(done.request.details.outcome.as_deref(), Some("no_data"));
    assert_eq!(done.request.row.contact_id, None);
}

#[tokio::test]
async fn erasure_removes_the_person_and_their_key_keeps_them_out_and_answers_a_receipt() {
    let f = fixture().await;
    let dpo = staff(&f.svc, "dpo").await;
    let cleo = contact(&f.svc, &dpo, "cleo@example.org").await;
    let other = contact(&f.svc, &dpo, "dora@example.org").await;

    let input = DsrInput { note: Some("asked by letter".into()), ..request(RequestKind::Erasure, Some(cleo)) };
    let id = verified(&f.svc, &dpo, input).await;
    let done = fulfil(&f.svc, &dpo, id, DsrFulfilInput::default()).await.unwrap();
    let receipt = done.receipt.expect("an erasure answers its receipt");
    assert_eq!(receipt, erasure::receipt(&f.svc, &dpo, id).await.unwrap());

    assert!(f.svc.store.get(kith_core::EntityKind::Contacts, cleo).await.unwrap().is_none());
    assert!(f.svc.store.data_key(cleo).await.unwrap().is_none(), "the person's key is destroyed");
    assert!(f.svc.store.get(kith_core::EntityKind::Contacts, other).await.unwrap().is_some());
    // The request stays in the register without its details.
    let kept = dsr::get(&f.svc, &dpo, id).await.unwrap();
    assert!(kept.row.erased_at.is_some() && kept.details.note.is_none());
    assert_eq!(kept.row.status, RequestStatus::Completed.as_str());
    // The address may not come back, except by the DPO's override.
    let again = f.svc.records.create::<Contact>(&dpo, person("cleo@example.org")).await;
    assert_eq!(code(again), ErrorCode::SuppressedAfterErasure);
    let overriding = Caller { override_suppression: true, ..dpo.clone() };
    f.svc.records.create::<Contact>(&overriding, person("cleo@example.org")).await.unwrap();
}
