//! Staff accounts and sessions on every backend: the CLI and the admin
//! routes, the password policy and its hash, TOTP enrolment with replay
//! refusal and recovery codes, lockout and its expiry, session expiry,
//! logout and revocation, CSRF, disabled accounts, indistinguishable
//! failures, admin-only management, and no e-mail or name in clear.

use crate::canary::{contains, scan_postgres};
use crate::harness::{assert_problem, backends, kith, send_as, token_for, Backend, Server, TestDb};
use kith_crypto::totp;
use kith_server::config::AccountSettings;
use kith_server::config::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "violet-harbour-lantern-92";

/// A browser: the session cookie and the CSRF token its login answered.
struct Browser {
    cookie: String,
    csrf: String,
    body: Value,
}

/// The answer to a request as (status, JSON body, Set-Cookie values).
async fn answer(resp: reqwest::Response) -> (StatusCode, Value, Vec<String>) {
    let status = resp.status();
    let cookies =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), cookies)
}

async fn try_login(s: &Server, body: Value) -> (StatusCode, Value, Vec<String>) {
    answer(s.client.post(s.url("/api/v1/session")).json(&body).send().await.unwrap()).await
}

async fn login_with(s: &Server, body: Value) -> Browser {
    let (status, body, cookies) = try_login(s, body).await;
    assert_eq!(status, StatusCode::OK, "login: {body}");
    let cookie = cookies.iter().find(|c| c.starts_with("kith_session=")).expect("session cookie").clone();
    let pair = cookie.split(';').next().unwrap().to_string();
    Browser { cookie: pair, csrf: body["csrf_token"].as_str().unwrap().to_string(), body }
}

async fn login(s: &Server, email: &str, password: &str) -> Browser {
    login_with(s, json!({"email": email, "password": password})).await
}

/// A request with the session cookie, and the CSRF header when given.
async fn as_browser(
    s: &Server,
    b: &Browser,
    csrf: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = s.client.request(method, s.url(path)).header("cookie", &b.cookie);
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let (status, value, _) = answer(req.send().await.unwrap()).await;
    (status, value)
}

async fn get(s: &Server, b: &Browser, path: &str) -> (StatusCode, Value) {
    as_browser(s, b, None, Method::GET, path, None).await
}

async fn post(s: &Server, b: &Browser, path: &str, body: &Value) -> (StatusCode, Value) {
    as_browser(s, b, Some(&b.csrf), Method::POST, path, Some(body)).await
}

/// Creates an account through the admin API; returns its id.
async fn add_user(s: &Server, admin: &str, email: &str, roles: &[&str]) -> String {
    let body = json!({"email": email, "display_name": "Test Person", "roles": roles, "password": PASSWORD});
    let (status, user) = send_as(s, admin, Method::POST, "/api/v1/users", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["id"].as_str().unwrap().to_string()
}

fn settings(f: impl FnOnce(&mut AccountSettings)) -> ServerConfig {
    let mut accounts = AccountSettings {
        login_per_client: kith_server::config::Rate { per_minute: 6000, burst: 6000 },
        ..Default::default()
    };
    f(&mut accounts);
    ServerConfig { accounts, ..Default::default() }
}

/// Runs `kith ARGS` with `stdin` as its standard input.
async fn kith_with_stdin(args: Vec<String>, stdin: &str) -> (bool, String, String) {
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = kith()
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn cli_args(db: &TestDb, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(["--data-dir".to_string(), db.data_dir().to_str().unwrap().to_string()]);
    all.extend(db.url_args());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_cli_login_hash_and_disable_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, settings(|_| {})).await;
        let email = "Olena.K@Example.org";
        let add = cli_args(&db, &["user", "add", "--email", email, "--role", "sales", "--role", "support"]);
        let (ok, _, err) =
            kith_with_stdin([add.clone(), vec!["--name".into(), "Olena K".into()]].concat(), PASSWORD).await;
        assert!(!ok && err.contains("--password-stdin"), "the password comes from standard input only: {err}");
        let with_password = [add, vec!["--name".into(), "Olena K".into(), "--password-stdin".into()]].concat();
        let (ok, _, err) = kith_with_stdin(with_password.clone(), "short\n").await;
        assert!(!ok && err.contains("weak_password") && err.contains("12"), "{err}");
        let (ok, out_ok, err) = kith_with_stdin(with_password.clone(), &format!("{PASSWORD}\n")).await;
        assert!(ok, "{err}");
        let id: uuid::Uuid = out_ok.trim().parse().expect("the new account's id");
        let (ok, _, err) = kith_with_stdin(with_password, &format!("{PASSWORD}\n")).await;
        assert!(!ok && err.contains("exists"), "one account per address: {err}");

        // The hash: Argon2id at the production cost, as a PHC string.
        let stored = s.store.user(id).await.unwrap().unwrap();
        assert!(stored.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", stored.password_hash);
        assert!(!stored.password_hash.contains(PASSWORD));

        // Login (the address in another case), the cookie's attributes, who am I.
        let (status, body, cookies) =
            try_login(&s, json!({"email": "olena.k@example.ORG", "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = &cookies[0];
        for attribute in ["kith_session=", "HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert_eq!(body["user"]["id"], id.to_string());
        assert_eq!(body["user"]["email"], "Olena.K@example.org", "the domain is lower-cased");
        assert_eq!(body["user"]["roles"], json!(["sales", "support"]));
        for field in ["csrf_token", "expires_at", "idle_expires_at"] {
            assert!(body[field].is_string(), "{field}: {body}");
        }
        let b = login(&s, email, PASSWORD).await;
        let (status, me) = get(&s, &b, "/api/v1/session").await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["user"]["display_name"], "Olena K");
        assert_eq!(me["csrf_token"], b.csrf);

        // A session works with records; its records name the account, not a person.
        let (status, contact) =
            post(&s, &b, "/api/v1/contacts", &json!({"given_name": "Taras", "emails": ["t@example.org"]})).await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        let audit = s.store.audit_query(&kith_store::AuditQuery { limit: 1000, ..Default::default() }).await.unwrap();
        assert!(audit.iter().any(|e| e.actor == format!("user:{id}") && e.action.as_str() == "create"));
        assert!(audit.iter().any(|e| e.actor == format!("user:{id}") && e.action.as_str() == "authenticate"));

        // kith user list unseals; passwd changes the password and ends sessions.
        let (ok, list, err) = kith_with_stdin(cli_args(&db, &["user", "list"]), "").await;
        assert!(ok, "{err}");
        assert!(
            list.contains("Olena.K@example.org") && list.contains("Olena K") && list.contains("sales,support"),
            "{list}"
        );
        let new_password = "another-long-passphrase-7";
        let (ok, _, err) =
            kith_with_stdin(cli_args(&db, &["user", "passwd", "--email", email, "--password-stdin"]), new_password)
                .await;
        assert!(ok, "{err}");
        assert_eq!(get(&s, &b, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED, "sessions ended");
        assert_eq!(try_login(&s, json!({"email": email, "password": PASSWORD})).await.0, StatusCode::UNAUTHORIZED);
        let b = login(&s, email, new_password).await;

        // Disabled: no login, and the sessions end.
        let (ok, _, err) = kith_with_stdin(cli_args(&db, &["user", "disable", "--email", email]), "").await;
        assert!(ok, "{err}");
        assert_eq!(get(&s, &b, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED);
        let (status, body, _) = try_login(&s, json!({"email": email, "password": new_password})).await;
        assert_problem(&(status, body), 401, "invalid_credentials");
        let (ok, list, _) = kith_with_stdin(cli_args(&db, &["user", "list"]), "").await;
        assert!(ok && list.contains("disabled"), "{list}");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_password_policy_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, settings(|_| {})).await;
        let admin = token_for(&s, "admin").await;
        let attempt = |password: &str| json!({"email": "mykola.p@example.org", "display_name": "Mykola Petrenko", "roles": ["sales"], "password": password});
        for (password, why) in [
            ("short-pw-1", "at least 12"),
            ("ääääääääääb", "at least 12"),
            ("I-am-mykola.p-2024", "e-mail"),
            ("petrenko-and-sons-1", "name"),
            ("qwerty123456", "common"),
            ("Password123456!", "common"),
        ] {
            let result = send_as(&s, &admin, Method::POST, "/api/v1/users", Some(&attempt(password))).await;
            assert_problem(&result, 422, "weak_password");
            assert!(result.1["detail"].as_str().unwrap().contains(why), "{password}: {}", result.1);
            assert!(!result.1.to_string().contains(password), "the password is not echoed");
        }
        let (status, user) = send_as(&s, &admin, Method::POST, "/api/v1/users", Some(&attempt(PASSWORD))).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        assert_eq!(user["status"], "active");
        assert!(user.get("password_hash").is_none());
        let stored = s.store.user(user["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
        assert!(stored.password_hash.starts_with("$argon2id$v=19$"), "{}", stored.password_hash);

        // Changing one's own password: the current one is needed, the policy applies.
        let b = login(&s, "mykola.p@example.org", PASSWORD).await;
        let other = login(&s, "mykola.p@example.org", PASSWORD).await;
        let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
        let wrong =
            post(&s, &b, "/api/v1/session/password", &change("not-the-password-1", "a-fine-new-passphrase")).await;
        assert_problem(&wrong, 403, "forbidden");
        let weak = post(&s, &b, "/api/v1/session/password", &change(PASSWORD, "mykolapetrenko")).await;
        assert_problem(&weak, 422, "weak_password");
        let done = post(&s, &b, "/api/v1/session/password", &change(PASSWORD, "a-fine-new-passphrase")).await;
        assert_eq!(done.0, StatusCode::NO_CONTENT, "{}", done.1);
        assert_eq!(get(&s, &b, "/api/v1/session").await.0, StatusCode::OK, "this session goes on");
        assert_eq!(get(&s, &other, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED, "the others end");
        login(&s, "mykola.p@example.org", "a-fine-new-passphrase").await;
        s.stop().await;
        db.cleanup().await;
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_session_expiry_logout_revocation_and_csrf_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let config = settings(|a| {
            a.session_idle_seconds = 2;
            a.session_absolute_seconds = 4;
        });
        let s = Server::start_with(&db, config).await;
        let admin = token_for(&s, "admin").await;
        let email = "petro@example.org";
        let id = add_user(&s, &admin, email, &["sales"]).await;

        // CSRF: a state-changing request with the cookie needs the header.
        let b = login(&s, email, PASSWORD).await;
        let contact = json!({"given_name": "Anna"});
        let none = as_browser(&s, &b, None, Method::POST, "/api/v1/contacts", Some(&contact)).await;
        assert_problem(&none, 403, "csrf_failed");
        let wrong = as_browser(&s, &b, Some("forged"), Method::POST, "/api/v1/contacts", Some(&contact)).await;
        assert_problem(&wrong, 403, "csrf_failed");
        let other = login(&s, email, PASSWORD).await;
        let cross = as_browser(&s, &b, Some(&other.csrf), Method::POST, "/api/v1/contacts", Some(&contact)).await;
        assert_problem(&cross, 403, "csrf_failed");
        let (status, created) = post(&s, &b, "/api/v1/contacts", &contact).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let path = format!("/api/v1/contacts/{}", created["id"].as_str().unwrap());
        let delete = as_browser(&s, &b, None, Method::DELETE, &path, None).await;
        assert_problem(&delete, 403, "csrf_failed");
        assert_eq!(get(&s, &b, &path).await.0, StatusCode::OK, "reads need no CSRF token");

        // Logout ends the session and removes the cookie.
        let mut req = s.client.delete(s.url("/api/v1/session")).header("cookie", &other.cookie);
        req = req.header("x-csrf-token", &other.csrf);
        let (status, _, cookies) = answer(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(cookies[0].starts_with("kith_session=;") && cookies[0].contains("Max-Age=0"), "{cookies:?}");
        let after = get(&s, &other, "/api/v1/session").await;
        assert_problem(&after, 401, "unauthenticated");

        // Revoking every session of the account.
        let second = login(&s, email, PASSWORD).await;
        let (status, revoked) =
            send_as(&s, &admin, Method::POST, &format!("/api/v1/users/{id}/sessions/revoke"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(revoked["revoked"], 2, "{revoked}");
        for gone in [&b, &second] {
            assert_eq!(get(&s, gone, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED);
        }

        // Idle expiry: unused for longer than the idle time.
        let idle = login(&s, email, PASSWORD).await;
        assert_eq!(get(&s, &idle, "/api/v1/session").await.0, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(2300)).await;
        assert_eq!(get(&s, &idle, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED, "idle expiry");

        // Absolute expiry: used all along, it still ends.
        let busy = login(&s, email, PASSWORD).await;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(3500) {
            assert_eq!(get(&s, &busy, "/api/v1/session").await.0, StatusCode::OK, "kept alive by use");
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(get(&s, &busy, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED, "absolute expiry");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_admin_routes_and_disabled_accounts_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, settings(|_| {})).await;
        let admin = token_for(&s, "admin").await;
        let sales_id = add_user(&s, &admin, "sales@example.org", &["sales"]).await;
        add_user(&s, &admin, "boss@example.org", &["admin"]).await;

        // Only admins manage accounts: a sales token and a sales session are refused.
        for (method, path) in [
            (Method::GET, "/api/v1/users".to_string()),
            (Method::GET, format!("/api/v1/users/{sales_id}")),
            (Method::POST, format!("/api/v1/users/{sales_id}/sessions/revoke")),
        ] {
            let result = send_as(&s, &s.token, method, &path, None).await;
            assert_problem(&result, 403, "forbidden");
        }
        let seller = login(&s, "sales@example.org", PASSWORD).await;
        assert_problem(&get(&s, &seller, "/api/v1/users").await, 403, "forbidden");
        let body = json!({"email": "x@example.org", "roles": ["admin"], "password": PASSWORD});
        assert_problem(&post(&s, &seller, "/api/v1/users", &body).await, 403, "forbidden");

        // An admin session manages them.
        let boss = login(&s, "boss@example.org", PASSWORD).await;
        let (status, list) = get(&s, &boss, "/api/v1/users").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        assert!(list["next_cursor"].is_null());
        let patch = json!({"display_name": "Sales Person", "roles": ["sales", "marketing"], "teams": ["north"]});
        let path = format!("/api/v1/users/{sales_id}");
        let (status, changed) = as_browser(&s, &boss, Some(&boss.csrf), Method::PATCH, &path, Some(&patch)).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["roles"], json!(["sales", "marketing"]));
        assert_eq!(changed["teams"], json!(["north"]));
        let (_, me) = get(&s, &seller, "/api/v1/session").await;
        assert_eq!(me["user"]["roles"], json!(["sales", "marketing"]), "roles apply to running sessions");
        for bad in
            [json!({"roles": ["root"]}), json!({"roles": []}), json!({"status": "locked"}), json!({"email": "a@b.org"})]
        {
            let result = send_as(&s, &admin, Method::PATCH, &path, Some(&bad)).await;
            assert_eq!(result.0.as_u16(), 422, "{bad}: {}", result.1);
        }
        let dup = json!({"email": "SALES@example.org", "roles": ["sales"], "password": PASSWORD});
        assert_problem(&send_as(&s, &admin, Method::POST, "/api/v1/users", Some(&dup)).await, 409, "conflict");
        assert_problem(&send_as(&s, &admin, Method::GET, "/api/v1/users/nope", None).await, 404, "not_found");

        // Disabled: the session ends and login fails like any failure.
        let unknown = try_login(&s, json!({"email": "nobody@example.org", "password": PASSWORD})).await;
        let disable = json!({"status": "disabled"});
        let (status, shown) = send_as(&s, &admin, Method::PATCH, &path, Some(&disable)).await;
        assert_eq!((status, shown["status"].as_str()), (StatusCode::OK, Some("disabled")));
        assert_eq!(get(&s, &seller, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED);
        let refused = try_login(&s, json!({"email": "sales@example.org", "password": PASSWORD})).await;
        assert_eq!((refused.0, &refused.1), (unknown.0, &unknown.1));
        let enable = json!({"status": "active"});
        send_as(&s, &admin, Method::PATCH, &path, Some(&enable)).await;
        let seller = login(&s, "sales@example.org", PASSWORD).await;

        // An admin reset sets a new password and ends the sessions.
        let reset = json!({"password": "reset-by-the-admin-42"});
        let (status, _) = send_as(&s, &admin, Method::POST, &format!("{path}/password"), Some(&reset)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(get(&s, &seller, "/api/v1/session").await.0, StatusCode::UNAUTHORIZED);
        login(&s, "sales@example.org", "reset-by-the-admin-42").await;
        // A token has no session of its own.
        assert_problem(&send_as(&s, &admin, Method::GET, "/api/v1/session", None).await, 403, "forbidden");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_keep_no_email_or_name_in_clear_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, settings(|_| {})).await;
        let admin = token_for(&s, "admin").await;
        let marker = format!("Mk{}", uuid::Uuid::new_v4().simple());
        let name = format!("Ґ{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let email = format!("{marker}@example.org");
        let body = json!({"email": email, "display_name": name, "roles": ["sales"], "password": PASSWORD});
        let (status, user) = send_as(&s, &admin, Method::POST, "/api/v1/users", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        let cli_marker = format!("Mc{}", uuid::Uuid::new_v4().simple());
        let add = cli_args(
            &db,
            &["user", "add", "--email", &format!("{cli_marker}@example.org"), "--role", "dpo", "--password-stdin"],
        );
        let (ok, _, err) =
            kith_with_stdin([add, vec!["--name".into(), format!("{cli_marker} Name")]].concat(), PASSWORD).await;
        assert!(ok, "{err}");
        let b = login(&s, &email, PASSWORD).await;
        let (status, _) = as_browser(&s, &b, Some(&b.csrf), Method::POST, "/api/v1/session/totp", None).await;
        assert_eq!(status, StatusCode::OK);

        let mut needles = Vec::new();
        for m in [&marker, &name, &cli_marker] {
            for form in [m.clone(), m.to_lowercase()] {
                needles.push((form.clone(), form.as_bytes().to_vec()));
                let hex: String = form.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                needles.push((format!("hex of {form}"), hex.into_bytes()));
            }
        }
        let mut found = Vec::new();
        let scanned = scan_files(&db.data_dir(), &needles, &mut found);
        if backend == Backend::Sqlite {
            assert!(scanned.iter().any(|f| f == "kith.db-wal"), "the WAL was scanned: {scanned:?}");
        }
        if backend == Backend::Postgres {
            scan_postgres(db.url.as_deref().unwrap(), &needles, &mut found).await;
        }
        s.stop().await;
        scan_files(&db.data_dir(), &needles, &mut found);
        assert!(found.is_empty(), "account values in clear: {found:?}");
        db.cleanup().await;
    }
}

/// Every file under `dir` searched for the needles; a file that vanished
/// meanwhile (a journal the running server removed) is skipped.
fn scan_files(dir: &std::path::Path, needles: &[(String, Vec<u8>)], found: &mut Vec<String>) -> Vec<String> {
    let mut scanned = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scanned.extend(scan_files(&path, needles, found));
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else { continue };
        scanned.push(path.file_name().unwrap().to_string_lossy().into_owned());
        for (name, needle) in needles {
            if contains(&bytes, needle) {
                found.push(format!("{name} in {}", path.display()));
            }
        }
    }
    scanned
}

/// Accounts carry roles (a custom one here) and teams: a team-scoped role
/// reaches the records its teammates own and no others; what a session
/// creates is owned by the account, not by a name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_scope_through_sessions_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (admin, dpo) = (token_for(&s, "admin").await, token_for(&s, "dpo").await);
        let role = json!({"name": "team_sales", "permissions": [{"actions": ["read", "create", "update", "delete"],
            "entities": ["contacts"], "fields": ["identity", "contact_details"], "scope": "team"}]});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/roles", Some(&role)).await.0, StatusCode::CREATED);
        let (_, purposes) = send_as(&s, &dpo, Method::GET, "/api/v1/purposes", None).await;
        let mut service =
            purposes["items"].as_array().unwrap().iter().find(|p| p["key"] == "essential.service").unwrap().clone();
        service["roles"].as_array_mut().unwrap().push(json!("team_sales"));
        let (status, answer) =
            send_as(&s, &dpo, Method::PUT, "/api/v1/purposes/essential.service", Some(&service)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let mut browsers = Vec::new();
        for (who, team) in [("ann", "north"), ("bo", "north"), ("cy", "south")] {
            let email = format!("{who}@example.org");
            let body = json!({"email": email, "roles": ["team_sales"], "teams": [team], "password": PASSWORD});
            assert_eq!(send_as(&s, &admin, Method::POST, "/api/v1/users", Some(&body)).await.0, StatusCode::CREATED);
            browsers.push(login(&s, &email, PASSWORD).await);
        }
        let (ann, bo, cy) = (&browsers[0], &browsers[1], &browsers[2]);
        let (status, made) = post(&s, ann, "/api/v1/contacts", &json!({"given_name": "North lead"})).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["owner"], ann.body["user"]["id"], "owned by the account");
        let path = format!("/api/v1/contacts/{}", made["id"].as_str().unwrap());
        assert_eq!(get(&s, bo, &path).await.0, StatusCode::OK, "a teammate's record");
        assert_eq!(get(&s, cy, &path).await.0, StatusCode::NOT_FOUND, "another team's record");
        let listed = |b: &Browser| {
            let s = &s;
            let cookie = b.cookie.clone();
            async move {
                let b = Browser { cookie, csrf: String::new(), body: Value::Null };
                get(s, &b, "/api/v1/contacts").await.1["items"].as_array().unwrap().len()
            }
        };
        assert_eq!((listed(bo).await, listed(cy).await), (1, 0));
        let notes = json!({"notes": "hidden class"});
        let (status, answer) = as_browser(&s, bo, Some(&bo.csrf), Method::PATCH, &path, Some(&notes)).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_forbidden")));
        s.stop().await;
        db.cleanup().await;
    }
}

/// No account widens its own access: an admin may not give themselves a
/// role (the DPO's, say) nor change their own status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_account_changes_its_own_roles_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, settings(|_| {})).await;
        let admin = token_for(&s, "admin").await;
        let id = add_user(&s, &admin, "root@example.org", &["admin"]).await;
        let me = login(&s, "root@example.org", PASSWORD).await;
        let path = format!("/api/v1/users/{id}");
        let (status, answer) =
            as_browser(&s, &me, Some(&me.csrf), Method::PATCH, &path, Some(&json!({"roles": ["admin", "dpo"]}))).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{answer}");
        let (status, _) =
            as_browser(&s, &me, Some(&me.csrf), Method::PATCH, &path, Some(&json!({"display_name": "Root"}))).await;
        assert_eq!(status, StatusCode::OK, "the rest of one's own profile is fine");
        let (_, user) = send_as(&s, &admin, Method::GET, &path, None).await;
        assert_eq!(user["roles"], json!(["admin"]));
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_raised_while_a_password_is_checked_stops_that_login_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        // A slow hash, so that the lock lands while the right password is checked.
        let config = settings(|a| a.password = kith_crypto::PasswordParams { m_kib: 19 * 1024, t: 12, p: 1 });
        let s = Server::start_with(&db, config).await;
        let admin = token_for(&s, "admin").await;
        let id = add_user(&s, &admin, "racer@example.org", &["sales"]).await;
        let user = uuid::Uuid::parse_str(&id).unwrap();
        let login = {
            let (client, url) = (s.client.clone(), s.url("/api/v1/session"));
            tokio::spawn(async move {
                let body = json!({"email": "racer@example.org", "password": PASSWORD});
                client.post(url).json(&body).send().await.unwrap().status()
            })
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        // A concurrent wrong guess locks the account meanwhile.
        let rule = kith_store::LockoutRule { max_failures: 1, window_ms: 60_000, lock_ms: 60_000 };
        let locked = s.store.record_login_failure(user, kith_server::now_millis(), rule).await.unwrap();
        assert!(locked.is_some(), "the guess locked the account");
        assert_eq!(login.await.unwrap(), StatusCode::UNAUTHORIZED, "the login in flight met the lock");
        let (_, users) = send_as(&s, &admin, Method::GET, "/api/v1/users", None).await;
        let row = users["items"].as_array().unwrap().iter().find(|u| u["id"] == id.as_str()).cloned().unwrap();
        assert_eq!(row["status"], "locked", "the lock stands: {row}");
        let dpo = token_for(&s, "dpo").await;
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={id}"), None).await;
        let denied = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "authenticate" && e["outcome"] == "denied" && e["fields"][0] == "locked");
        assert!(denied, "the refusal names the lock: {log}");
        s.stop().await;
        db.cleanup().await;
    }
}

/// An admin holds no personal data and cannot reach it through accounts or
/// roles: accounts that reach everyone's personal data are the DPO's to
/// create, change, reset and disable, and no role grants more than its
/// author holds. Each grant of access to personal data raises an alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_reach_personal_data_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (admin, dpo) = (token_for(&s, "admin").await, token_for(&s, "dpo").await);
        let user = |email: &str, roles: &[&str]| json!({"email": email, "roles": roles, "password": PASSWORD});

        let made = send_as(&s, &admin, Method::POST, "/api/v1/users", Some(&user("x@example.org", &["dpo"]))).await;
        assert_problem(&made, 403, "forbidden");
        let (status, officer) =
            send_as(&s, &dpo, Method::POST, "/api/v1/users", Some(&user("officer@example.org", &["dpo"]))).await;
        assert_eq!(status, StatusCode::CREATED, "{officer}");
        let officer = officer["id"].as_str().unwrap().to_string();
        let seller = add_user(&s, &admin, "seller@example.org", &["sales"]).await;

        // The DPO's account is out of an admin's reach; so is making one.
        let reset = json!({"password": "another-violet-harbour-93"});
        let path = format!("/api/v1/users/{officer}/password");
        assert_problem(&send_as(&s, &admin, Method::POST, &path, Some(&reset)).await, 403, "forbidden");
        let path = format!("/api/v1/users/{officer}");
        let disable = json!({"status": "disabled"});
        assert_problem(&send_as(&s, &admin, Method::PATCH, &path, Some(&disable)).await, 403, "forbidden");
        let path = format!("/api/v1/users/{seller}");
        let promote = json!({"roles": ["dpo"]});
        assert_problem(&send_as(&s, &admin, Method::PATCH, &path, Some(&promote)).await, 403, "forbidden");
        assert_eq!(send_as(&s, &dpo, Method::PATCH, &path, Some(&promote)).await.0, StatusCode::OK);
        let path = format!("/api/v1/users/{seller}/password");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, Some(&reset)).await.0, StatusCode::NO_CONTENT);

        // Roles: none grants what its author does not hold.
        let wide = json!({"name": "insider", "permissions": [{"actions": ["read"], "entities": ["contacts"],
            "fields": ["identity", "special_category"], "scope": "all"}]});
        assert_problem(&send_as(&s, &admin, Method::POST, "/api/v1/roles", Some(&wide)).await, 403, "forbidden");
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/roles", Some(&wide)).await.0, StatusCode::CREATED);
        let third = add_user(&s, &admin, "third@example.org", &["support"]).await;
        let path = format!("/api/v1/users/{third}");
        let insider = json!({"roles": ["insider"]});
        assert_problem(&send_as(&s, &admin, Method::PATCH, &path, Some(&insider)).await, 403, "forbidden");

        // Every grant of personal data to an account raised an alert.
        let (_, alerts) = send_as(&s, &dpo, Method::GET, "/api/v1/audit/alerts", None).await;
        let granted: Vec<&Value> =
            alerts["items"].as_array().unwrap().iter().filter(|a| a["rule"] == "access_granted").collect();
        assert_eq!(granted.len(), 4, "{alerts}");
        assert!(granted.iter().any(|a| a["detail"] == format!("roles dpo given to user:{seller}")), "{alerts}");
        s.stop().await;
        db.cleanup().await;
    }
}
