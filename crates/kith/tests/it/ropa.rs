//! The controller's details and the record of processing activities
//! (Art. 30): made from the catalogue, the register and the installation,
//! as JSON, Markdown, HTML and fideslang system resources that the
//! fideslang models accept; at the API path and from `kith ropa`.

use crate::harness::{assert_problem, backends, register_mailer, run_kith_async, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Validates fideslang `system` resources with the fideslang models
/// (PyPI `fideslang`); `false` when fideslang is not installed here
/// (never in CI, which installs it).
fn fideslang_accepts(systems: &Value) -> bool {
    let check = "import json, sys\nfrom fideslang.models import System\n\
                 for s in json.load(sys.stdin)['system']: System.model_validate(s)\nprint('valid')";
    let probe = std::process::Command::new("python3").args(["-c", "import fideslang"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI needs the PyPI fideslang package (.ci/run installs it)");
        eprintln!("skipped: fideslang is not installed (python3 -m pip install fideslang)");
        return false;
    }
    let mut child = std::process::Command::new("python3")
        .args(["-c", check])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(systems.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "fideslang refused the export: {}", String::from_utf8_lossy(&out.stderr));
    true
}

const DETAILS: &str = r#"{
    "controller": {"name": "Kith Shop GmbH", "email": "privacy@shop.example", "address": "Hauptstraße 1, 10115 Berlin"},
    "dpo": {"name": "Dora Data", "email": "dpo@shop.example", "phone": "+49 30 1234567"},
    "supervisory_authority": "Berliner Beauftragte für Datenschutz und Informationsfreiheit",
    "processing_for": [{"controller": {"name": "Partner AG", "email": "privacy@partner.example"},
                        "processing": ["newsletter dispatch"]}]
}"#;

async fn get_text(s: &Server, token: &str, path: &str) -> (StatusCode, String, String) {
    let resp = s.client.get(s.url(path)).bearer_auth(token).send().await.unwrap();
    let kind = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status(), kind, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_lists_every_purpose_recipient_and_transfer_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;

        // The controller's details: refused when malformed, nothing set.
        assert_problem(&send_as(&s, &dpo, Method::GET, "/api/v1/controller", None).await, 404, "not_found");
        let mut bad: Value = serde_json::from_str(DETAILS).unwrap();
        bad["dpo"]["email"] = json!("not an address");
        assert_problem(&send_as(&s, &dpo, Method::PUT, "/api/v1/controller", Some(&bad)).await, 422, "invalid_email");
        bad = serde_json::from_str(DETAILS).unwrap();
        bad["controller"]["vat"] = json!("DE1");
        assert_problem(&send_as(&s, &dpo, Method::PUT, "/api/v1/controller", Some(&bad)).await, 422, "unknown_field");
        assert_problem(&send_as(&s, &dpo, Method::GET, "/api/v1/controller", None).await, 404, "not_found");
        let details: Value = serde_json::from_str(DETAILS).unwrap();
        let admin = token_for(&s, "admin").await;
        assert_problem(&send_as(&s, &admin, Method::PUT, "/api/v1/controller", Some(&details)).await, 403, "forbidden");
        let (status, set) = send_as(&s, &dpo, Method::PUT, "/api/v1/controller", Some(&details)).await;
        assert_eq!(status, StatusCode::OK, "{set}");
        assert_eq!(send_as(&s, &admin, Method::GET, "/api/v1/controller", None).await.1["dpo"]["name"], "Dora Data");

        // Recipients: one inside the EEA, one on clauses, one refused.
        register_mailer(&s, &dpo).await;
        for entry in [
            json!({"name": "Pune Analytics", "role": "processor", "country": "IN", "contract_reference": "DPA-IN",
                   "transfer_mechanism": "scc", "scc_module": 2, "purposes": ["analytics.reporting"]}),
            json!({"name": "Acme Cloud Inc", "role": "sub_processor", "country": "US", "contract_reference": "DPA-US",
                   "processor_id": send_as(&s, &dpo, Method::GET, "/api/v1/recipients", None).await.1["items"][0]["id"]}),
        ] {
            let (status, made) = send_as(&s, &dpo, Method::POST, "/api/v1/recipients", Some(&entry)).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
        }

        let (status, ropa) = send_as(&s, &dpo, Method::GET, "/api/v1/ropa", None).await;
        assert_eq!(status, StatusCode::OK, "{ropa}");
        let (_, catalogue) = send_as(&s, &dpo, Method::GET, "/api/v1/purposes", None).await;
        let keys = |list: &Value, field: &str| -> Vec<String> {
            let mut keys: Vec<String> =
                list.as_array().unwrap().iter().map(|p| p[field].as_str().unwrap().to_string()).collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(&ropa["activities"], "purpose"), keys(&catalogue["items"], "key"), "every purpose");
        assert_eq!(keys(&ropa["recipients"], "name"), ["Acme Cloud Inc", "Mailer Ltd", "Pune Analytics"]);
        let email =
            ropa["activities"].as_array().unwrap().iter().find(|a| a["purpose"] == "marketing.communications.email");
        assert_eq!(email.unwrap()["recipients"], json!(["Mailer Ltd"]));
        let transfers = ropa["transfers"].as_array().unwrap();
        assert_eq!(transfers.len(), 2, "the two outside the EEA: {ropa}");
        let pune = transfers.iter().find(|t| t["recipient"] == "Pune Analytics").unwrap();
        assert_eq!((pune["allowed"].clone(), pune["mechanism"].clone()), (json!(true), json!("scc")));
        assert!(pune["safeguard"].as_str().unwrap().contains("module 2"), "{pune}");
        let acme = transfers.iter().find(|t| t["recipient"] == "Acme Cloud Inc").unwrap();
        assert_eq!(acme["allowed"], false, "{acme}");
        assert!(ropa["gaps"].as_array().unwrap().iter().any(|g| g.as_str().unwrap().contains("Acme Cloud Inc")));
        assert_eq!(ropa["controller"]["dpo"]["email"], "dpo@shop.example");
        assert_eq!(ropa["processor_activities"][0]["processing"], json!(["newsletter dispatch"]));
        let measures = keys(&ropa["security_measures"], "key");
        for m in ["encryption_at_rest", "encryption_in_transit", "access_control", "audit", "backups", "erasure"] {
            assert!(measures.contains(&m.to_string()), "{m}: {measures:?}");
        }

        // For people: Markdown and HTML with the same content.
        let (status, kind, md) = get_text(&s, &dpo, "/api/v1/ropa?format=md").await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/markdown; charset=utf-8"));
        for expected in ["Dora Data, dpo@shop.example", "E-mail marketing", "Pune Analytics in IN: scc", "Art. 30(2)"] {
            assert!(md.contains(expected), "{expected}:\n{md}");
        }
        let (status, kind, page) = get_text(&s, &dpo, "/api/v1/ropa?format=html").await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/html; charset=utf-8"));
        assert!(page.starts_with("<!doctype html>") && page.contains("<h3>E-mail marketing"), "{page}");
        assert_problem(&send_as(&s, &dpo, Method::GET, "/api/v1/ropa?format=xml", None).await, 400, "invalid_query");
        assert_problem(&send_as(&s, &dpo, Method::GET, "/api/v1/ropa?style=md", None).await, 400, "invalid_query");
        let sales = token_for(&s, "sales").await;
        assert_problem(&send_as(&s, &sales, Method::GET, "/api/v1/ropa", None).await, 403, "forbidden");

        // fideslang: this installation and each recipient, as the models accept them.
        let (status, systems) = send_as(&s, &dpo, Method::GET, "/api/v1/ropa/fideslang", None).await;
        assert_eq!(status, StatusCode::OK, "{systems}");
        assert_eq!(systems["system"].as_array().unwrap().len(), 4, "{systems}");
        assert_eq!(systems["system"][0]["dpo"], "Dora Data, dpo@shop.example, +49 30 1234567");
        fideslang_accepts(&systems);
        s.stop().await;

        // The command prints the same record from the data directory.
        let mut args = vec!["ropa".to_string(), "--format".into(), "md".into()];
        args.extend(["--data-dir".to_string(), db.data_dir().to_str().unwrap().into()]);
        args.extend(db.url_args());
        let (ok, out, err) = run_kith_async(args.clone()).await;
        assert!(ok, "{err}");
        assert!(
            out.contains("Dora Data") && out.contains("Pune Analytics") && out.contains("E-mail marketing"),
            "{out}"
        );
        args[2] = "fideslang".into();
        let (ok, out, err) = run_kith_async(args.clone()).await;
        assert!(ok, "{err}");
        fideslang_accepts(&serde_json::from_str(&out).unwrap());
        args[2] = "yaml".into();
        let (ok, _, err) = run_kith_async(args).await;
        assert!(!ok && err.contains("yaml"), "{err}");
        db.cleanup().await;
    }
}
