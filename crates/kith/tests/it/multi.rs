//! Several servers on one database: records written through one are read
//! through the other, and concurrent partial updates of one record from both
//! lose nothing.

use crate::harness::{backends, Backend, Server, TestDb};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_database_on_every_backend() {
    for backend in backends() {
        two_servers(backend).await;
    }
}

/// PATCHes until the server answers something other than a conflict, as a
/// client that meets `409 conflict` is told to.
async fn patch_retrying(s: &Server, path: &str, body: serde_json::Value) {
    for _ in 0..20 {
        let (status, answer) = s.patch(path, &body).await;
        match status {
            StatusCode::OK => return,
            StatusCode::CONFLICT => continue,
            other => panic!("{other}: {answer}"),
        }
    }
    panic!("still conflicting after 20 attempts");
}

async fn two_servers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let a = Arc::new(Server::start(&db).await);
    let b = Arc::new(Server::start(&db).await);

    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..15 {
                    ids.push(
                        s.create(
                            "contacts",
                            json!({"given_name": format!("S{n}P{i}"), "emails": [format!("s{n}p{i}@example.org")]}),
                        )
                        .await,
                    );
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await.unwrap());
    }
    assert_eq!(all.len(), 30);
    for id in &all {
        assert_eq!(a.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
        assert_eq!(b.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
    }
    assert_eq!(b.list_all("/api/v1/contacts?email=s0p7@example.org").await.len(), 1);
    assert_eq!(a.list_all("/api/v1/contacts?limit=7").await.len(), 30);

    let target = all[0].clone();
    let path = format!("/api/v1/contacts/{target}");
    let (pa, pb) = (path.clone(), path.clone());
    let (sa, sb) = (a.clone(), b.clone());
    let left = tokio::spawn(async move {
        for i in 0..10 {
            patch_retrying(&sa, &pa, json!({"job_title": format!("title {i}")})).await;
        }
    });
    let right = tokio::spawn(async move {
        for i in 0..10 {
            patch_retrying(&sb, &pb, json!({"notes": format!("note {i}")})).await;
        }
    });
    left.await.unwrap();
    right.await.unwrap();
    let (_, merged) = a.get(&path).await;
    assert_eq!(merged["job_title"], "title 9", "{merged}");
    assert_eq!(merged["notes"], "note 9", "{merged}");
    assert_eq!(merged["given_name"], "S0P0");

    for s in [a, b] {
        Arc::try_unwrap(s).ok().expect("sole owner").stop().await;
    }
    db.cleanup().await;
}
