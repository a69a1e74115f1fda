//! Logging in: lockout, one answer for every failure, the second factor.

use super::*;
use kith_core::account::{LoginInput, TotpConfirm};
use kith_crypto::totp;

fn attempt(email: &str, password: &str) -> LoginInput {
    LoginInput { email: email.into(), password: password.into(), totp: None, recovery_code: None }
}

fn refused_alike(result: ApiResult<login::LoggedIn>) {
    match result {
        Err(ApiError { code, .. }) => assert_eq!(code, ErrorCode::InvalidCredentials),
        Ok(_) => panic!("the login was let in"),
    }
}

/// The caller a session makes of its account, as the middleware would.
async fn caller_of(svc: &Services, done: &login::LoggedIn) -> Caller {
    let permissions = crate::auth::roles::resolve_permissions(&svc.store, &done.user.roles).await.unwrap();
    Caller {
        principal: Principal {
            credential: Credential::User { user: done.user.id, session: done.session.id },
            name: done.user.id.to_string(),
            roles: done.user.roles.clone(),
            teams: done.user.teams.clone(),
            permissions,
        },
        request_id: None,
        client: None,
        purpose: None,
        override_suppression: false,
    }
}

#[tokio::test]
async fn login_locks_after_repeated_failures_and_answers_every_failure_alike() {
    let f = fixture().await;
    let user = account(&f.svc, "ana@example.org").await;
    let done = login::login(&f.svc, None, None, &attempt("Ana@Example.org", PASSWORD)).await.unwrap();
    assert_eq!(done.user.id, user.id, "the address is found in any case");
    refused_alike(login::login(&f.svc, None, None, &attempt("nobody@example.org", PASSWORD)).await);
    for _ in 0..f.svc.config.accounts.max_failures {
        refused_alike(login::login(&f.svc, None, None, &attempt("ana@example.org", "wrong-password-1")).await);
    }
    refused_alike(login::login(&f.svc, None, None, &attempt("ana@example.org", PASSWORD)).await);
    let stored = f.svc.store.user(user.id).await.unwrap().unwrap();
    assert!(stored.locked_until.is_some_and(|until| until > crate::now_millis()), "the account is locked");
}

#[tokio::test]
async fn a_second_factor_is_enrolled_then_asked_for_and_a_recovery_code_works_once() {
    let f = fixture().await;
    account(&f.svc, "ben@example.org").await;
    let done = login::login(&f.svc, None, None, &attempt("ben@example.org", PASSWORD)).await.unwrap();
    let who = caller_of(&f.svc, &done).await;
    let enrolment = login::begin_totp(&f.svc, &who).await.unwrap();
    let secret = totp::base32_decode(&enrolment.secret).unwrap();
    let now = u64::try_from(crate::now_millis() / 1000).unwrap();
    let code = totp::code_at(&secret, totp::step_at(now));
    let wrong = TotpConfirm { code: if code == "000000" { "111111".into() } else { "000000".into() } };
    assert_eq!(login::confirm_totp(&f.svc, &who, &wrong).await.err().map(|e| e.code), Some(ErrorCode::TotpInvalid));
    let codes = login::confirm_totp(&f.svc, &who, &TotpConfirm { code }).await.unwrap();
    assert_eq!(codes.len(), 10);

    // The password alone no longer logs in; a recovery code does, once.
    refused_alike(login::login(&f.svc, None, None, &attempt("ben@example.org", PASSWORD)).await);
    let with_recovery =
        LoginInput { recovery_code: Some(codes[0].to_lowercase()), ..attempt("ben@example.org", PASSWORD) };
    login::login(&f.svc, None, None, &with_recovery).await.unwrap();
    refused_alike(login::login(&f.svc, None, None, &with_recovery).await);
    // A code of a later step is taken; the step used at enrolment is not taken again.
    let next = totp::code_at(&secret, totp::step_at(now) + 1);
    let with_code = LoginInput { totp: Some(next), ..attempt("ben@example.org", PASSWORD) };
    login::login(&f.svc, None, None, &with_code).await.unwrap();
    refused_alike(login::login(&f.svc, None, None, &with_code).await);
}
