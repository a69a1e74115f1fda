//! Public capture: a submission waits sealed until its token comes back,
//! then the person is found or created and their consent recorded.

use super::*;
use crate::auth::caller::PublicRequest;
use crate::service::{capture, consents};
use kith_core::capture::{FormInput, SubmissionInput};
use kith_core::consent::NoticeInput;

const EMAIL_MARKETING: &str = "marketing.communications.email";

fn from_browser() -> PublicRequest {
    PublicRequest { request_id: None, client: Some("192.0.2.7".into()), user_agent: None, gpc: false }
}

async fn submit(svc: &Services, form: &str, email: &str) {
    let input =
        SubmissionInput { email: email.into(), given_name: Some("Eli".into()), family_name: None, purposes: None };
    capture::submit(svc, form, from_browser(), input).await.unwrap();
}

/// The token of the one message waiting in the outbox.
async fn token_sent(svc: &Services, dpo: &Caller) -> String {
    let mut sent = capture::claim_outbox(svc, dpo).await.unwrap();
    assert_eq!(sent.len(), 1, "one message per submission");
    sent.remove(0).message.token
}

#[tokio::test]
async fn a_confirmation_creates_the_person_once_records_consent_and_works_once() {
    let f = fixture().await;
    let dpo = staff(&f.svc, "dpo").await;
    let notice = NoticeInput { version: "n1".into(), text: "We write to you about offers.".into() };
    consents::add_notice(&f.svc, &dpo, notice).await.unwrap();
    let input = FormInput {
        name: "footer".into(),
        purposes: vec![EMAIL_MARKETING.into()],
        notice_version: "n1".into(),
        source: None,
    };
    let form = capture::add_form(&f.svc, &dpo, input).await.unwrap();

    submit(&f.svc, &form.key, "eli@example.org").await;
    let not_yet = f.svc.records.find_contact_by_email(&dpo, "eli@example.org").await.unwrap();
    assert_eq!(not_yet, None, "nothing is recorded before the confirmation");
    let token = token_sent(&f.svc, &dpo).await;
    capture::confirm(&f.svc, &token, from_browser()).await.unwrap();
    let eli = f.svc.records.find_contact_by_email(&dpo, "eli@example.org").await.unwrap().expect("created");
    let ledger = consents::ledger(&f.svc, &dpo, eli).await.unwrap();
    assert!(ledger.intact);
    assert!(ledger.entries.iter().any(|e| e.purpose == EMAIL_MARKETING && e.granted && e.notice_version == "n1"));

    let used = capture::confirm(&f.svc, &token, from_browser()).await;
    assert_eq!(used.err().map(|e| e.code), Some(ErrorCode::ConfirmationExpired), "a token works once");
    let unknown = capture::confirm(&f.svc, "not-a-token", from_browser()).await;
    assert_eq!(unknown.err().map(|e| e.code), Some(ErrorCode::ConfirmationExpired));

    // The same address again finds the same person: no duplicate.
    submit(&f.svc, &form.key, "ELI@example.org").await;
    let token = token_sent(&f.svc, &dpo).await;
    capture::confirm(&f.svc, &token, from_browser()).await.unwrap();
    let found = f.svc.records.find_contact_by_email(&dpo, "eli@example.org").await.unwrap();
    assert_eq!(found, Some(eli));
    assert_eq!(consents::ledger(&f.svc, &dpo, eli).await.unwrap().entries.len(), 2);
}
