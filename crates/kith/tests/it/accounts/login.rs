//! Logging in: TOTP enrolment, replay and recovery codes; lockout and
//! indistinguishable failures; the login rate per client.

use super::*;
use kith_crypto::totp;

fn now_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_totp_enrolment_replay_and_recovery_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, settings(|a| a.max_failures = 50)).await;
        let admin = token_for(&s, "admin").await;
        let email = "iryna@example.org";
        add_user(&s, &admin, email, &["support"]).await;
        let b = login(&s, email, PASSWORD).await;
        let no_csrf = as_browser(&s, &b, None, Method::POST, "/api/v1/session/totp", None).await;
        assert_problem(&no_csrf, 403, "csrf_failed");
        let (status, begun) = as_browser(&s, &b, Some(&b.csrf), Method::POST, "/api/v1/session/totp", None).await;
        assert_eq!(status, StatusCode::OK, "{begun}");
        let secret = totp::base32_decode(begun["secret"].as_str().unwrap()).unwrap();
        assert!(begun["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Kith:iryna@example.org?secret="));
        let wrong = post(&s, &b, "/api/v1/session/totp/confirm", &json!({"code": "000000x"})).await;
        assert_problem(&wrong, 422, "totp_invalid");
        let step = totp::step_at(now_seconds());
        let code = totp::code_at(&secret, step);
        let (status, enrolled) = post(&s, &b, "/api/v1/session/totp/confirm", &json!({"code": code})).await;
        assert_eq!(status, StatusCode::OK, "{enrolled}");
        let recovery: Vec<String> =
            enrolled["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
        assert_eq!(recovery.len(), 10);
        let again = as_browser(&s, &b, Some(&b.csrf), Method::POST, "/api/v1/session/totp", None).await;
        assert_problem(&again, 409, "conflict");

        // The password alone no longer logs in, nor does a wrong code, nor the
        // code that confirmed the enrolment (its step was used).
        let failure = try_login(&s, json!({"email": email, "password": PASSWORD})).await;
        assert_problem(&(failure.0, failure.1.clone()), 401, "invalid_credentials");
        let wrong = try_login(&s, json!({"email": email, "password": PASSWORD, "totp": "123456x"})).await;
        assert_eq!((wrong.0, &wrong.1), (failure.0, &failure.1));
        let replay = try_login(&s, json!({"email": email, "password": PASSWORD, "totp": code})).await;
        assert_eq!((replay.0, &replay.1), (failure.0, &failure.1), "the enrolment's code works once");
        // The next step's code is inside the window: it works once.
        let next = totp::code_at(&secret, step + 1);
        let b2 = login_with(&s, json!({"email": email, "password": PASSWORD, "totp": next})).await;
        assert_eq!(b2.body["user"]["totp_enrolled"], true);
        let replay = try_login(&s, json!({"email": email, "password": PASSWORD, "totp": next})).await;
        assert_eq!((replay.0, &replay.1), (failure.0, &failure.1), "a code works once");
        // A code for the wrong password is refused like any failure.
        let later = totp::code_at(&secret, totp::step_at(now_seconds()) + 1);
        let wrong_password =
            try_login(&s, json!({"email": email, "password": "wrong-password-123", "totp": later})).await;
        assert_eq!((wrong_password.0, &wrong_password.1), (failure.0, &failure.1));

        // A recovery code works once, in any case and spacing.
        let typed = recovery[3].to_lowercase().replace('-', " ");
        login_with(&s, json!({"email": email, "password": PASSWORD, "recovery_code": typed})).await;
        let reused = try_login(&s, json!({"email": email, "password": PASSWORD, "recovery_code": recovery[3]})).await;
        assert_eq!((reused.0, &reused.1), (failure.0, &failure.1), "a recovery code works once");
        login_with(&s, json!({"email": email, "password": PASSWORD, "recovery_code": recovery[4]})).await;

        // The secret is sealed: not in the row as written.
        let user = s.store.user(b2.body["user"]["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
        assert!(!contains(&user.totp.unwrap(), &secret));
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_lockout_and_indistinguishable_failures_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let config = settings(|a| {
            a.max_failures = 3;
            a.failure_window_seconds = 60;
            a.lockout_seconds = 2;
        });
        let s = Server::start_with(&db, config).await;
        let admin = token_for(&s, "admin").await;
        let email = "bohdan@example.org";
        let id = add_user(&s, &admin, email, &["sales"]).await;

        // Unknown address, wrong password: the same status and body.
        let unknown = try_login(&s, json!({"email": "nobody@example.org", "password": PASSWORD})).await;
        let wrong = try_login(&s, json!({"email": email, "password": "wrong-password-1"})).await;
        assert_problem(&(unknown.0, unknown.1.clone()), 401, "invalid_credentials");
        assert_eq!((unknown.0, &unknown.1), (wrong.0, &wrong.1), "unknown and known accounts fail alike");
        assert_eq!(unknown.2, Vec::<String>::new(), "no cookie");
        let malformed = try_login(&s, json!({"email": "not an address", "password": "x"})).await;
        assert_eq!((malformed.0, &malformed.1), (unknown.0, &unknown.1));

        // The third failure locks; the right password is then refused alike.
        for _ in 0..2 {
            try_login(&s, json!({"email": email, "password": "wrong-password-1"})).await;
        }
        let locked = try_login(&s, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!((locked.0, &locked.1), (unknown.0, &unknown.1), "a lockout looks like any failure");
        let (_, shown) = send_as(&s, &admin, Method::GET, &format!("/api/v1/users/{id}"), None).await;
        assert_eq!(shown["status"], "locked", "{shown}");
        assert!(shown["locked_until"].is_string());
        tokio::time::sleep(Duration::from_millis(2300)).await;
        login(&s, email, PASSWORD).await;
        let (_, shown) = send_as(&s, &admin, Method::GET, &format!("/api/v1/users/{id}"), None).await;
        assert_eq!(shown["status"], "active");

        // Failures are audited without the address.
        let audit = s.store.audit_query(&kith_store::AuditQuery { limit: 1000, ..Default::default() }).await.unwrap();
        let denied: Vec<_> =
            audit.iter().filter(|e| e.action.as_str() == "authenticate" && e.outcome.as_str() == "denied").collect();
        assert!(denied.iter().any(|e| e.actor == "anonymous"));
        assert!(denied.iter().any(|e| e.actor == format!("user:{id}") && e.fields.contains(&"locked".to_string())));
        assert!(!format!("{audit:?}").contains("example.org"), "no address in the audit log");

        // An admin can lift a lockout at once by setting the account active.
        for _ in 0..3 {
            try_login(&s, json!({"email": email, "password": "wrong-password-1"})).await;
        }
        assert_eq!(try_login(&s, json!({"email": email, "password": PASSWORD})).await.0, StatusCode::UNAUTHORIZED);
        // Any other change leaves the lockout as it is.
        let rename = json!({"display_name": "Renamed Person"});
        let (status, _) = send_as(&s, &admin, Method::PATCH, &format!("/api/v1/users/{id}"), Some(&rename)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(try_login(&s, json!({"email": email, "password": PASSWORD})).await.0, StatusCode::UNAUTHORIZED);
        let body = json!({"status": "active"});
        let (status, _) = send_as(&s, &admin, Method::PATCH, &format!("/api/v1/users/{id}"), Some(&body)).await;
        assert_eq!(status, StatusCode::OK);
        login(&s, email, PASSWORD).await;
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_login_rate_limit_per_client() {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = settings(|a| a.login_per_client = kith_server::config::Rate { per_minute: 1, burst: 2 });
    let s = Server::start_with(&db, config).await;
    for _ in 0..2 {
        assert_eq!(try_login(&s, json!({"email": "a@example.org", "password": "x"})).await.0, 401);
    }
    let limited = try_login(&s, json!({"email": "a@example.org", "password": "x"})).await;
    assert_problem(&(limited.0, limited.1), 429, "rate_limited");
    s.stop().await;
}
