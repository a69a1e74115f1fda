//! Managing accounts: the admin routes, disabled accounts, team scope,
//! nobody widening their own access, and no address or name in clear.

use super::*;

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
