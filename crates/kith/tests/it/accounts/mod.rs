//! Staff accounts and sessions on every backend: the CLI and the admin
//! routes, the password policy and its hash, TOTP enrolment with replay
//! refusal and recovery codes, lockout and its expiry, session expiry,
//! logout and revocation, CSRF, disabled accounts, indistinguishable
//! failures, admin-only management, and no e-mail or name in clear.

mod admin;
mod login;
mod sessions;

use crate::canary::{contains, scan_postgres};
use crate::harness::{assert_problem, backends, kith, send_as, token_for, Backend, Server, TestDb};
use kith_server::config::AccountSettings;
use kith_server::config::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "violet-harbour-lantern-92";

/// A browser: the session cookie and the CSRF token its login answered.
pub(super) struct Browser {
    cookie: String,
    csrf: String,
    body: Value,
}

/// The answer to a request as (status, JSON body, Set-Cookie values).
pub(super) async fn answer(resp: reqwest::Response) -> (StatusCode, Value, Vec<String>) {
    let status = resp.status();
    let cookies =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), cookies)
}

pub(super) async fn try_login(s: &Server, body: Value) -> (StatusCode, Value, Vec<String>) {
    answer(s.client.post(s.url("/api/v1/session")).json(&body).send().await.unwrap()).await
}

pub(super) async fn login_with(s: &Server, body: Value) -> Browser {
    let (status, body, cookies) = try_login(s, body).await;
    assert_eq!(status, StatusCode::OK, "login: {body}");
    let cookie = cookies.iter().find(|c| c.starts_with("kith_session=")).expect("session cookie").clone();
    let pair = cookie.split(';').next().unwrap().to_string();
    Browser { cookie: pair, csrf: body["csrf_token"].as_str().unwrap().to_string(), body }
}

pub(super) async fn login(s: &Server, email: &str, password: &str) -> Browser {
    login_with(s, json!({"email": email, "password": password})).await
}

/// A request with the session cookie, and the CSRF header when given.
pub(super) async fn as_browser(
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

pub(super) async fn get(s: &Server, b: &Browser, path: &str) -> (StatusCode, Value) {
    as_browser(s, b, None, Method::GET, path, None).await
}

pub(super) async fn post(s: &Server, b: &Browser, path: &str, body: &Value) -> (StatusCode, Value) {
    as_browser(s, b, Some(&b.csrf), Method::POST, path, Some(body)).await
}

/// Creates an account through the admin API; returns its id.
pub(super) async fn add_user(s: &Server, admin: &str, email: &str, roles: &[&str]) -> String {
    let body = json!({"email": email, "display_name": "Test Person", "roles": roles, "password": PASSWORD});
    let (status, user) = send_as(s, admin, Method::POST, "/api/v1/users", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["id"].as_str().unwrap().to_string()
}

pub(super) fn settings(f: impl FnOnce(&mut AccountSettings)) -> ServerConfig {
    let mut accounts = AccountSettings {
        login_per_client: kith_server::config::Rate { per_minute: 6000, burst: 6000 },
        ..Default::default()
    };
    f(&mut accounts);
    ServerConfig { accounts, ..Default::default() }
}

/// Runs `kith ARGS` with `stdin` as its standard input.
pub(super) async fn kith_with_stdin(args: Vec<String>, stdin: &str) -> (bool, String, String) {
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
        // A command that refuses its arguments exits without reading its
        // input; that shows in its status and output, not as a broken pipe.
        match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.unwrap(),
        }
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

pub(super) fn cli_args(db: &TestDb, args: &[&str]) -> Vec<String> {
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
