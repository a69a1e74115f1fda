//! The access and portability archive on every backend: a person with
//! every field and records of every kind, an access request verified, a
//! single-use link, the zip unpacked and each file checked by something
//! other than what wrote it (the JSON against its published schema with
//! `jsonschema`, the vCard with the `ical` parser, the CSVs with `csv`);
//! a field hidden from marketing is still in the person's archive.

use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;

/// Downloads with a link's token: the status and the raw body.
async fn download(
    s: &Server,
    token: &str,
    request: &str,
    link: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let path = format!("/api/v1/dsr/{request}/export?token={link}");
    let resp = s.client.get(s.url(&path)).bearer_auth(token).send().await.expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.bytes().await.expect("body").to_vec())
}

/// The archive's files by name.
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut files = BTreeMap::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        files.insert(file.name().to_string(), content);
    }
    files
}

/// A CSV's rows as maps from header to cell.
fn rows(csv_bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| headers.iter().zip(r.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
        .collect()
}

/// The vCard's properties by name (values as the parser gives them).
fn vcard_properties(card: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut parser = ical::VcardParser::new(std::io::BufReader::new(card));
    let contact = parser.next().expect("one vCard").expect("a valid vCard");
    assert!(parser.next().is_none(), "exactly one vCard");
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in contact.properties {
        out.entry(p.name.to_uppercase()).or_default().push(p.value.unwrap_or_default());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_is_complete_valid_and_single_use_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let marketing = token_for(&s, "marketing").await;
        let support = token_for(&s, "support").await;
        let notice = json!({"version": "1", "text": "We write to you about offers."});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let key = crate::harness::mailer_grant(&crate::harness::register_mailer(&s, &dpo).await);
        let details = json!({"controller": {"name": "Kith Shop GmbH", "email": "privacy@shop.example"},
                             "dpo": {"name": "Dora Data", "email": "dpo@shop.example"}});
        assert_eq!(send_as(&s, &dpo, Method::PUT, "/api/v1/controller", Some(&details)).await.0, StatusCode::OK);
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&key)).await.0, StatusCode::CREATED);

        let company = s.create("companies", json!({"name": "Acme Widgets"})).await;
        let person = s
            .create(
                "contacts",
                json!({"given_name": "Zoë", "family_name": "Archivist", "emails": ["zoe@example.org"],
                       "phones": ["+4930123456"], "birthday": "1985-04-12", "company_id": company,
                       "job_title": "Keeper, of records; and\\more", "notes": "Met at the fair.\nLikes tea.",
                       "addresses": [{"street": "1 Long Road", "city": "Berlin", "postal_code": "10115", "country": "DE"}],
                       "tags": ["vip"]}),
            )
            .await;
        let call = s
            .create(
                "interactions",
                json!({"contact_id": person, "kind": "call", "occurred_at": "2026-01-01T10:00:00Z", "subject": "Pricing, \"quoted\""}),
            )
            .await;
        let deal = s
            .create("deals", json!({"title": "Annual plan", "stage": "lead", "amount": "1200.50", "currency": "EUR", "contact_id": person}))
            .await;
        let purchase = s
            .create(
                "purchases",
                json!({"contact_id": person, "purchased_at": "2026-02-01T09:00:00Z", "currency": "EUR",
                       "lines": [{"sku": "TEA-1", "quantity": "2", "unit_price": "4.50"}]}),
            )
            .await;
        let consent = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "1",
                             "method": "web_form", "source": "newsletter form at the fair"});
        let path = format!("/api/v1/contacts/{person}/consents");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, Some(&consent)).await.0, StatusCode::CREATED);

        // Marketing reads the person, without the birthday.
        let (status, seen) = send_as(&s, &marketing, Method::GET, &format!("/api/v1/contacts/{person}"), None).await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        assert!(seen.get("birthday").is_none_or(Value::is_null), "birthday is hidden from marketing: {seen}");

        // An access request, verified.
        let (status, request) =
            send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&json!({"kind": "access", "contact_id": person})))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{request}");
        let id = request["id"].as_str().unwrap().to_string();
        let link_path = format!("/api/v1/dsr/{id}/export-link");
        assert_problem(&send_as(&s, &dpo, Method::POST, &link_path, None).await, 409, "not_verified");
        let attest = json!({"method": "staff_attestation", "note": "called back on the number on file"});
        let verify = format!("/api/v1/dsr/{id}/verify");
        assert_eq!(send_as(&s, &dpo, Method::POST, &verify, Some(&attest)).await.0, StatusCode::OK);
        let fulfil = format!("/api/v1/dsr/{id}/fulfil");
        assert_problem(&send_as(&s, &dpo, Method::POST, &fulfil, None).await, 409, "fulfilment_pending");

        // Only the DPO gets a link or downloads.
        assert_problem(&send_as(&s, &support, Method::POST, &link_path, None).await, 403, "forbidden");
        let (status, link) = send_as(&s, &dpo, Method::POST, &link_path, None).await;
        assert_eq!(status, StatusCode::CREATED, "{link}");
        let token = link["token"].as_str().unwrap().to_string();
        assert!(token.len() > 40 && link["expires_at"].is_string(), "{link}");
        assert_eq!(download(&s, &support, &id, &token).await.0, StatusCode::FORBIDDEN);
        assert_eq!(download(&s, &dpo, &id, "kith_export_guess").await.0, StatusCode::GONE);

        let (status, headers, body) = download(&s, &dpo, &id, &token).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "application/zip");
        assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
        // Single use.
        let (again, _, problem) = download(&s, &dpo, &id, &token).await;
        assert_eq!(again, StatusCode::GONE);
        assert_eq!(serde_json::from_slice::<Value>(&problem).unwrap()["code"], "link_expired");
        // The contract's path: the DPO's own authenticated call needs no link.
        let direct = |token: String| {
            let (s, path) = (&s, format!("/api/v1/dsr/{id}/export"));
            async move { s.client.get(s.url(&path)).bearer_auth(token).send().await.unwrap() }
        };
        let resp = direct(dpo.clone()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/zip");
        assert_eq!(direct(support.clone()).await.status(), StatusCode::FORBIDDEN);

        let files = unzip(&body);
        for name in [
            "data.json",
            "contact.csv",
            "interactions.csv",
            "deals.csv",
            "purchases.csv",
            "consents.csv",
            "contact.vcf",
            "summary.txt",
        ] {
            assert!(files.contains_key(name), "{name} in the archive: {:?}", files.keys());
        }

        // data.json against the schema the server publishes.
        let (status, schema) = s.get("/schemas/subject-export-v1.json").await;
        assert_eq!(status, StatusCode::OK, "{schema}");
        let data: Value = serde_json::from_slice(&files["data.json"]).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let errors: Vec<String> =
            validator.iter_errors(&data).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "data.json follows its schema: {errors:?}");
        let mut broken = data.clone();
        broken["contact"]["birthday"] = json!("12 April");
        assert!(!validator.is_valid(&broken), "the schema has teeth");
        assert_eq!(data["schema"], "https://kith.example/schemas/subject-export/v1");
        assert_eq!(data["contact"]["birthday"], "1985-04-12", "hidden from marketing, still the person's");
        assert_eq!(data["interactions"][0]["id"], call.as_str());
        assert_eq!(data["deals"][0]["id"], deal.as_str());
        assert_eq!(data["purchases"][0]["id"], purchase.as_str());
        assert_eq!(data["consents"][0]["source"], "newsletter form at the fair");
        assert_eq!(data["restriction"]["restricted"], false);

        // The vCard, by an independent parser.
        let card = String::from_utf8(files["contact.vcf"].clone()).unwrap();
        assert!(card.contains("\r\n") && !card.replace("\r\n", "").contains('\n'), "CRLF lines");
        let props = vcard_properties(card.as_bytes());
        assert_eq!(props["VERSION"], ["4.0"]);
        assert_eq!(props["FN"], ["Zoë Archivist"]);
        assert_eq!(props["N"], ["Archivist;Zoë;;;"]);
        assert_eq!(props["EMAIL"], ["zoe@example.org"]);
        assert_eq!(props["TEL"], ["tel:+4930123456"]);
        assert_eq!(props["BDAY"], ["19850412"]);
        assert_eq!(props["ORG"], ["Acme Widgets"]);
        assert_eq!(props["TITLE"], ["Keeper\\, of records\\; and\\\\more"], "RFC 6350 escaping");
        assert_eq!(props["NOTE"], ["Met at the fair.\\nLikes tea."]);
        assert_eq!(props["ADR"], [";;1 Long Road;Berlin;;10115;DE"]);

        // The CSVs parse and hold the values.
        let contact = rows(&files["contact.csv"]);
        assert_eq!(contact.len(), 1);
        assert_eq!(contact[0]["id"], person);
        assert_eq!(contact[0]["birthday"], "1985-04-12");
        assert_eq!(contact[0]["job_title"], "Keeper, of records; and\\more");
        assert_eq!(contact[0]["notes"], "Met at the fair.\nLikes tea.");
        assert_eq!(rows(&files["interactions.csv"])[0]["subject"], "Pricing, \"quoted\"");
        assert_eq!(rows(&files["deals.csv"])[0]["amount"], "1200.50");
        assert!(rows(&files["purchases.csv"])[0]["lines"].contains("TEA-1"));
        assert_eq!(rows(&files["consents.csv"])[0]["purpose"], "marketing.communications.email");

        // The summary: purposes, recipients, source, rights and the access log.
        let summary = String::from_utf8(files["summary.txt"].clone()).unwrap();
        for expected in [
            "marketing.communications.email",
            "lawful basis consent",
            "Mailer Ltd",
            "newsletter form at the fair",
            "Portability (Art. 20)",
            "supervisory authority",
            "Data protection officer: Dora Data, dpo@shop.example",
            "Mailer Ltd (processor, IE; purposes: marketing.communications.email)",
        ] {
            assert!(summary.contains(expected), "{expected} in the summary:\n{summary}");
        }
        let log_lines = |what: &str| summary.lines().filter(|l| l.contains(what)).count();
        assert_eq!(
            log_lines(", read contacts, company_id emails"),
            1,
            "marketing's read, without birthday:\n{summary}"
        );
        assert_eq!(log_lines(", read contacts, export addresses birthday"), 1, "the archive's own read:\n{summary}");
        assert!(!summary.contains("1985"), "the summary tells about the data, it does not repeat it");

        // The reads for the archive are audited against the person, without values.
        let (_, log) =
            send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{person}/access-log?limit=200"), None).await;
        let exports: Vec<&Value> =
            log["items"].as_array().unwrap().iter().filter(|e| e["fields"][0] == "export").collect();
        let kinds: Vec<&str> = exports.iter().filter_map(|e| e["entity"].as_str()).collect();
        for kind in ["contacts", "interactions", "deals", "purchases", "consents"] {
            assert!(kinds.contains(&kind), "an export read of {kind}: {kinds:?}");
        }
        assert!(!log.to_string().contains("1985"), "no value in the audit log");

        // Downloaded: the request may be fulfilled now.
        let (status, done) = send_as(&s, &dpo, Method::POST, &fulfil, None).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["status"], "completed");
        let (status, _) = send_as(&s, &dpo, Method::POST, &link_path, None).await;
        assert_eq!(status, StatusCode::CONFLICT, "no archive for a closed request");

        // An expired link is refused.
        let (status, second) =
            send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&json!({"kind": "portability", "contact_id": person})))
                .await;
        assert_eq!(status, StatusCode::CREATED);
        let second = second["id"].as_str().unwrap().to_string();
        let verify = format!("/api/v1/dsr/{second}/verify");
        assert_eq!(send_as(&s, &dpo, Method::POST, &verify, Some(&attest)).await.0, StatusCode::OK);
        let stale = "kith_export_stale";
        let now = kith_server::now_millis();
        let request_id = uuid::Uuid::parse_str(&second).unwrap();
        s.store
            .insert_export_link(request_id, &kith_crypto::secrets::hash_secret(stale), now - 10, now - 1)
            .await
            .unwrap();
        assert_eq!(download(&s, &dpo, &second, stale).await.0, StatusCode::GONE);
        // A link works only for its own request.
        assert_eq!(download(&s, &dpo, &second, &token).await.0, StatusCode::GONE);
        // Only access and portability requests have an archive.
        let (_, objection) =
            send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&json!({"kind": "restriction", "contact_id": person})))
                .await;
        let path = format!("/api/v1/dsr/{}/export-link", objection["id"].as_str().unwrap());
        assert_problem(&send_as(&s, &dpo, Method::POST, &path, None).await, 422, "invalid_value");

        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_public() {
    let db = TestDb::new(crate::harness::Backend::Sqlite).await;
    let s = Server::start(&db).await;
    let resp = s.client.get(s.url("/schemas/subject-export-v1.json")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/schema+json");
    let schema: Value = resp.json().await.unwrap();
    assert_eq!(schema["$id"], "https://kith.example/schemas/subject-export/v1");
    s.stop().await;
    db.cleanup().await;
}
