//! Sessions: expiry, logout, revocation and CSRF.

use super::*;

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
