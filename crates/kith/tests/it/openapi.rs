//! The OpenAPI document describes every route, and every route it
//! describes is served (and protected unless public).

use crate::harness::{Backend, Server, TestDb};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_complete_and_every_operation_is_routed() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let resp = server.client.get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for kind in ["contacts", "companies", "interactions", "deals", "purchases"] {
        let collection = &paths[&format!("/api/v1/{kind}")];
        let item = &paths[&format!("/api/v1/{kind}/{{id}}")];
        for (path, method) in
            [(collection, "get"), (collection, "post"), (item, "get"), (item, "patch"), (item, "delete")]
        {
            let op = &path[method];
            assert!(op.is_object(), "{kind} {method} undocumented");
            assert!(op["responses"].as_object().unwrap().len() >= 2, "{kind} {method} responses");
            assert!(op["operationId"].is_string());
        }
        assert!(collection["get"]["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "cursor"));
    }
    for schema in
        ["Contact", "Company", "Interaction", "Deal", "Purchase", "PurchaseLine", "Address", "Problem", "ContactRecord"]
    {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }

    let id = "00000000-0000-4000-8000-000000000000";
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(db.data_dir().join("tls/cert.pem")).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    // Public operations answer without a token: each with what an empty
    // request gets (no such form, no such confirmation).
    let public_status = |id: &str| match id {
        "healthz" | "openapi" | "gpc" | "subject_export_schema" => 200,
        "submit_form" => 404,
        "login" => 422,
        "confirm_submission" => 410,
        // Data Rights Protocol agents: no claims, no pairwise token.
        "drp_register_agent"
        | "drp_agent_information"
        | "drp_create_request"
        | "drp_create_request_slash"
        | "drp_request_status"
        | "drp_revoke_request" => 403,
        other => panic!("{other} has no security requirement but is not a known public operation"),
    };
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let url = server.url(&path.replace("{id}", id).replace("{form_key}", "form_x").replace("{token}", "t"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = anonymous
                .request(method.clone(), &url)
                .header("content-type", "application/json")
                .body("{\"email\": \"a@example.org\"}")
                .send()
                .await
                .unwrap();
            let public = op["security"].is_null();
            let expected = if public { public_status(op["operationId"].as_str().unwrap()) } else { 401 };
            assert_eq!(resp.status().as_u16(), expected, "{method} {path}");
            operations += 1;
        }
    }
    assert_eq!(
        operations, 135,
        "25 record operations, 4 audit, 3 purpose, 9 consent, 6 segment, 3 API-key, 4 role, 4 capture operations, 2 public capture operations, gpc.json, 5 session and 6 account operations, 12 data-subject request operations, 5 erasure operations, 3 agent operations, 6 Data Rights Protocol operations, 3 import operations, 4 analytics operations, the duplicates and the merge, the self-check, retention, login, health, this document and the archive schema"
    );
    server.stop().await;
}
