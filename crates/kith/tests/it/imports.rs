//! Imports: the exports of the big CRMs, phones' vCards and Windows
//! spreadsheets brought in through the API's jobs and the command line,
//! with duplicates, suppressed addresses and broken rows reported by row,
//! column and rule, consent recorded where it is claimed, nothing written
//! by a dry run or a refused file.

use crate::harness::{assert_problem, backends, run_kith_async, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;

const MARKETING: &str = "marketing.communications.email";
const MARKER: &str = "IMPORTMARKERq8z";

fn asset(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/assets/imports").join(name);
    std::fs::read(path).unwrap()
}

/// Posts a file with its content type and query; the answer and, once
/// the job is done, the job.
async fn import(s: &Server, token: &str, query: &str, kind: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = s
        .client
        .post(s.url(&format!("/api/v1/imports?{query}")))
        .bearer_auth(token)
        .header("content-type", kind)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    let started: Value = resp.json().await.unwrap();
    if status != StatusCode::ACCEPTED {
        return (status, started);
    }
    assert_eq!(location.as_deref(), Some(format!("/api/v1/imports/{}", started["id"].as_str().unwrap()).as_str()));
    (status, finished(s, token, started["id"].as_str().unwrap()).await)
}

async fn finished(s: &Server, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (status, job) = send_as(s, token, Method::GET, &format!("/api/v1/imports/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if job["status"] != "running" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import {id} did not finish");
}

async fn contacts(s: &Server, token: &str) -> Vec<Value> {
    let (status, page) = send_as(s, token, Method::GET, "/api/v1/contacts?limit=200", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

fn by_email<'a>(all: &'a [Value], email: &str) -> &'a Value {
    all.iter().find(|c| c["emails"].as_array().unwrap().iter().any(|e| e == email)).unwrap_or_else(|| {
        panic!("no contact with {email} among {all:?}");
    })
}

async fn erase(s: &Server, dpo: &str, contact: &str) {
    let body = json!({"kind": "erasure", "contact_id": contact});
    let (_, request) = send_as(s, dpo, Method::POST, "/api/v1/dsr", Some(&body)).await;
    let id = request["id"].as_str().unwrap();
    let attest = json!({"method": "staff_attestation", "note": "seen"});
    send_as(s, dpo, Method::POST, &format!("/api/v1/dsr/{id}/verify"), Some(&attest)).await;
    let (status, done) = send_as(s, dpo, Method::POST, &format!("/api/v1/dsr/{id}/fulfil"), None).await;
    assert_eq!(status, StatusCode::OK, "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_then_the_import_with_duplicates_suppression_and_broken_rows_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let notice = json!({"version": "2026-01", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        s.create("contacts", json!({"given_name": "Existing", "emails": ["existing@example.org"]})).await;
        let gone = s.create("contacts", json!({"given_name": "Gone", "emails": ["gone@example.org"]})).await;
        erase(&s, &dpo, &gone).await;
        let before = contacts(&s, &dpo).await.len();

        let file = format!(
            "First Name,Last Name,E-mail Address,Mobile Phone,Birthday,Notes,Lead Source\n\
             Olena,Kovalenko,olena@example.org,+380 44 123 4567,1990-04-12,\"{MARKER} line one\nline two\",fair\n\
             Ex,Isting,EXISTING@example.org,,,,\n\
             Gone,Again,gone@example.org,,,,\n\
             Broken,Row,{MARKER}-not-an-address,,,,\n\
             Olena,Twice,,+380441234567,,,\n\
             Young,Child,child@example.org,,{}-01-01,,\n\
             Bad,Date,bad.date@example.org,,04/12/1990,,\n",
            time::OffsetDateTime::now_utc().year() - 5
        );
        let query = format!("purpose={MARKETING}&basis=consent&source=trade%20fair%202026");
        let (status, plan) = import(&s, &dpo, &format!("{query}&dry_run=true"), "text/csv", file.clone().into()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{plan}");
        assert_eq!(plan["status"], "completed", "{plan}");
        assert_eq!(
            plan["counts"],
            json!({"rows": 7, "created": 1, "merged": 0, "duplicate": 2, "suppressed": 1, "invalid": 3, "skipped": 0})
        );
        let reasons: Vec<(u64, &str, Option<&str>)> = plan["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["row"].as_u64().unwrap(), p["code"].as_str().unwrap(), p["column"].as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (3, "duplicate", None),
                (4, "suppressed_after_erasure", None),
                (5, "invalid_email", Some("E-mail Address")),
                (6, "duplicate", None),
                (7, "guardian_required", None),
                (8, "invalid_date", Some("Birthday")),
            ]
        );
        assert!(plan["problems"][3]["rule"].as_str().unwrap().contains("row 2"), "{plan}");
        assert!(!plan.to_string().contains(MARKER), "a job names rules, never values: {plan}");
        assert_eq!(plan["columns"][6], json!({"column": "Lead Source", "field": null}));
        assert_eq!(contacts(&s, &dpo).await.len(), before, "a dry run writes nothing");

        let (_, done) = import(&s, &dpo, &query, "text/csv", file.into()).await;
        assert_eq!(
            (done["status"].as_str(), done["counts"]["created"].as_u64()),
            (Some("completed"), Some(1)),
            "{done}"
        );
        assert_eq!(done["progress"], json!({"done": 7, "total": 7}));
        let all = contacts(&s, &dpo).await;
        assert_eq!(all.len(), before + 1);
        let olena = by_email(&all, "olena@example.org");
        assert_eq!(olena["notes"], format!("{MARKER} line one\nline two"));
        assert_eq!(olena["custom"]["source"], "trade fair 2026");
        assert_eq!(olena["phones"], json!(["+380441234567"]));
        let id = olena["id"].as_str().unwrap();
        let (_, ledger) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{id}/consents"), None).await;
        let entry = &ledger["ledger"][0];
        assert_eq!((entry["method"].as_str(), entry["notice_version"].as_str()), (Some("import"), Some("2026-01")));
        assert_eq!(entry["source"], "trade fair 2026");
        assert_eq!(entry["evidence"]["import"], done["id"]);
        // The person's access log shows the import's creation; the log names the job.
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={id}"), None).await;
        assert!(log["items"].as_array().unwrap().iter().any(|e| e["action"] == "create"), "{log}");
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?limit=1000", None).await;
        let summary = log["items"].as_array().unwrap().iter().find(|e| e["entity"] == "imports").cloned();
        let fields = summary.expect("the import is audited")["fields"].to_string();
        assert!(fields.contains("created:") && !fields.contains(MARKER), "{fields}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_imports_change_nothing_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let csv = || b"Name,Email\nAnn Lee,ann@example.org\n".to_vec();
        // A consent purpose without the claim, or claiming another basis.
        assert_problem(&import(&s, &dpo, &format!("purpose={MARKETING}"), "text/csv", csv()).await, 403, "no_consent");
        assert_problem(
            &import(&s, &dpo, &format!("purpose={MARKETING}&basis=contract"), "text/csv", csv()).await,
            422,
            "invalid_value",
        );
        // Consent claimed but no notice to record it against.
        assert_problem(
            &import(&s, &dpo, &format!("purpose={MARKETING}&basis=consent"), "text/csv", csv()).await,
            422,
            "unknown_reference",
        );
        // Unknown options, a mapping to no field or to no column, bad types.
        assert_problem(&import(&s, &dpo, "sheet=1", "text/csv", csv()).await, 400, "invalid_query");
        assert_problem(&import(&s, &dpo, "mapping=Email%3Dpassword", "text/csv", csv()).await, 400, "invalid_query");
        assert_problem(&import(&s, &dpo, "dry_run=maybe", "text/csv", csv()).await, 400, "invalid_query");
        assert_problem(&import(&s, &dpo, "mapping=Mail%3Demails", "text/csv", csv()).await, 422, "invalid_value");
        assert_problem(&import(&s, &dpo, "from_row=0", "text/csv", csv()).await, 422, "invalid_value");
        // Files that cannot be read: empty, no identifying column, not the encoding named, JSON.
        assert_problem(&import(&s, &dpo, "", "text/csv", Vec::new()).await, 422, "invalid_value");
        assert_problem(&import(&s, &dpo, "", "text/csv", b"Colour,Size\nred,L\n".to_vec()).await, 422, "invalid_value");
        let latin = b"Name,Email\nJos\xe9 Ruiz,jose@example.org\n".to_vec();
        assert_problem(&import(&s, &dpo, "encoding=utf-8", "text/csv", latin.clone()).await, 422, "invalid_value");
        assert_problem(&import(&s, &dpo, "", "application/json", b"{}".to_vec()).await, 415, "unsupported_media_type");
        assert_problem(
            &import(&s, &dpo, "", "text/vcard", b"BEGIN:VCARD\nFN:x\n".to_vec()).await,
            422,
            "invalid_value",
        );
        // Roles without the right to create contacts, or a field their role may not write.
        let auditor = token_for(&s, "auditor").await;
        assert_problem(&import(&s, &auditor, "", "text/csv", csv()).await, 403, "forbidden");
        let (status, _) = send_as(&s, &auditor, Method::GET, "/api/v1/imports", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let support = token_for(&s, "support").await;
        let birthdays = b"Name,Email,Birthday\nAnn Lee,ann@example.org,1990-01-01\n".to_vec();
        let refused = import(&s, &support, "", "text/csv", birthdays).await;
        if refused.0 != StatusCode::FORBIDDEN {
            assert_eq!(refused.1["status"], "completed", "support may write birthdays: {}", refused.1);
        }
        // Another's job is not found; nothing was created by any refusal.
        let (_, mine) = import(&s, &dpo, "dry_run=true", "text/csv", csv()).await;
        let sales = token_for(&s, "sales").await;
        let path = format!("/api/v1/imports/{}", mine["id"].as_str().unwrap());
        assert_problem(&send_as(&s, &sales, Method::GET, &path, None).await, 404, "not_found");
        assert_problem(&send_as(&s, &dpo, Method::GET, "/api/v1/imports/not-an-id", None).await, 404, "not_found");
        let (_, listed) = send_as(&s, &dpo, Method::GET, "/api/v1/imports", None).await;
        assert!(listed["items"].as_array().unwrap().iter().any(|j| j["id"] == mine["id"]));
        assert!(contacts(&s, &dpo).await.iter().all(|c| c["emails"] != json!(["ann@example.org"])));
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_big_crms_exports_vcards_and_windows_spreadsheets_import_intact_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        for (file, created) in [
            ("hubspot.csv", 2),
            ("salesforce.csv", 2),
            ("pipedrive.csv", 2),
            ("zoho.csv", 2),
            ("google.csv", 2),
            ("outlook.csv", 1),
        ] {
            let (_, job) = import(&s, &dpo, "source=crm%20move", "text/csv", asset(file)).await;
            assert_eq!(job["counts"]["created"], created, "{file}: {job}");
            assert_eq!(job["counts"]["invalid"], 0, "{file}: {job}");
        }
        let all = contacts(&s, &dpo).await;
        let olena = by_email(&all, "olena.kovalenko@example.org");
        assert_eq!(olena["addresses"][0]["country"], "UA");
        assert_eq!(olena["custom"]["company"], "Acme Trading");
        let joerg = by_email(&all, "joerg.mueller@example.de");
        assert_eq!(joerg["addresses"][0]["street"], "Unter den Linden 1\nHinterhaus");
        assert_eq!(joerg["notes"], "Met at the \"Hannover Messe\"; prefers e-mail");
        assert_eq!(joerg["job_title"], "Einkaufsleiter");
        let anna = by_email(&all, "anna@firma.example");
        assert_eq!((anna["given_name"].as_str(), anna["family_name"].as_str()), (Some("Anna Maria"), Some("Kowalska")));
        let jean = by_email(&all, "jean.dupont@example.fr");
        assert_eq!((jean["birthday"].as_str(), jean["tags"].clone()), (Some("1975-07-14"), json!(["client", "vip"])));
        let taras = by_email(&all, "taras@example.ua");
        assert_eq!(taras["tags"], json!(["Poets"]));
        let john = by_email(&all, "john.public@contoso.example");
        assert_eq!((john["job_title"].as_str(), john["addresses"].as_array().unwrap().len()), (Some("Manager"), 2));

        // A phone's vCards, through a multipart form as the page sends them.
        let boundary = "kithboundary7";
        let mut form = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\naddress book\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"contacts.vcf\"\r\nContent-Type: text/vcard\r\n\r\n"
        )
        .into_bytes();
        form.extend(asset("contacts.vcf"));
        form.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let (_, job) = import(&s, &dpo, "", &format!("multipart/form-data; boundary={boundary}"), form).await;
        assert_eq!((job["format"].as_str(), job["counts"]["created"].as_u64()), (Some("vcard"), Some(3)), "{job}");
        let all = contacts(&s, &dpo).await;
        let card = by_email(&all, "olena.v@example.org");
        assert_eq!(card["emails"], json!(["olena.v@example.org", "olena.work@example.org"]));
        assert_eq!(card["addresses"][0]["street"], "вул. Хрещатик, 1");
        assert_eq!(card["addresses"][0]["country"], "UA");
        assert_eq!(
            card["notes"],
            "Likes tea; prefers calls after 10:00.\nSecond line of a long note that the phone folded at seventy-five octets."
        );
        assert_eq!(card["custom"]["source"], "address book");
        let ivan = all.iter().find(|c| c["phones"] == json!(["+380509998877"])).unwrap();
        assert_eq!((ivan["given_name"].as_str(), ivan["family_name"].as_str()), (Some("Іван"), Some("Петренко")));

        // Windows-1251 Cyrillic with semicolons and Ukrainian headers, mapped by hand.
        let mapping = ["Ім'я=given_name", "Прізвище=family_name", "Електронна пошта=emails", "Телефон=phones"]
            .iter()
            .map(|m| format!("mapping={}", urlencode(m)))
            .collect::<Vec<_>>()
            .join("&");
        let (_, job) = import(&s, &dpo, &mapping, "text/csv", asset("cp1251.csv")).await;
        assert_eq!(
            (job["encoding"].as_str(), job["counts"]["created"].as_u64()),
            (Some("windows-1251"), Some(2)),
            "{job}"
        );
        let all = contacts(&s, &dpo).await;
        assert_eq!(by_email(&all, "olena.cp@example.org")["family_name"], "Коваленко");

        // The same files again: every row a duplicate now, or merged when asked.
        let (_, again) = import(&s, &dpo, "", "text/csv", asset("hubspot.csv")).await;
        assert_eq!((again["counts"]["created"].as_u64(), again["counts"]["duplicate"].as_u64()), (Some(0), Some(2)));
        let update = "First Name,Email,Job Title,Tags\nOlena,olena.kovalenko@example.org,Head buyer,returning\n";
        let (_, merged) = import(&s, &dpo, "on_duplicate=merge", "text/csv", update.into()).await;
        assert_eq!(merged["counts"]["merged"], 1, "{merged}");
        let olena = by_email(&contacts(&s, &dpo).await, "olena.kovalenko@example.org").clone();
        assert_eq!(
            (olena["job_title"].as_str(), olena["tags"].clone()),
            (Some("Buyer"), json!(["returning"])),
            "filled, never overwritten"
        );
        db.cleanup().await;
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rows_through_the_command_line_dry_run_first_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        // Initialise the data directory through a server, then import offline.
        let s = Server::start(&db).await;
        s.stop().await;
        let mut file = String::from("First Name,Last Name,E-mail Address,Mobile Phone,Company\n");
        for i in 0..10_000 {
            match i {
                77 => file.push_str("Broken,Row,not-an-address,,\n"),
                _ => file
                    .push_str(&format!("Person{i},Family{i},person{i}@example.org,+3804412{i:05},Firm {}\n", i % 50)),
            }
        }
        let path = db.dir.path().join("people.csv");
        std::fs::write(&path, file).unwrap();
        let args = |extra: &[&str]| {
            let mut args: Vec<String> =
                ["import", "contacts", path.to_str().unwrap()].iter().map(|a| a.to_string()).collect();
            args.extend(["--data-dir".to_string(), db.data_dir().to_str().unwrap().into()]);
            args.extend(db.url_args());
            args.extend(extra.iter().map(|a| a.to_string()));
            args
        };
        let (ok, out, err) = run_kith_async(args(&["--dry-run", "--owner", "alice"])).await;
        assert!(ok, "{err}");
        assert!(out.contains("new") && out.contains("9999") && out.contains("row 79 [E-mail Address]"), "{out}");
        assert!(out.contains("dry run"), "{out}");
        let (ok, out, err) = run_kith_async(args(&["--owner", "alice", "--source", "spreadsheet"])).await;
        assert!(ok, "{err}");
        assert!(out.contains("created") && out.contains("9999"), "{out}");
        let (ok, out, err) = run_kith_async(args(&[])).await;
        assert!(ok, "{err}");
        assert!(out.contains("duplicate") && out.contains("9999"), "a second run finds everyone: {out}");
        let (ok, _, err) = run_kith_async(args(&["--purpose", MARKETING])).await;
        assert!(!ok && err.contains("consent"), "{err}");
        let (ok, _, err) = run_kith_async(args(&["--map", "Nope=emails"])).await;
        assert!(!ok && err.contains("Nope"), "{err}");

        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let (status, found) =
            send_as(&s, &dpo, Method::GET, "/api/v1/contacts?email=person9999%40example.org", None).await;
        assert_eq!(status, StatusCode::OK);
        let found = &found["items"][0];
        assert_eq!((found["owner"].as_str(), found["custom"]["source"].as_str()), (Some("alice"), Some("spreadsheet")));
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_interactions_and_purchases_import_against_their_contacts_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let olena = s.create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;
        let jean = s.create("contacts", json!({"given_name": "Jean", "emails": ["jean@example.fr"]})).await;
        let kept = s.create("contacts", json!({"given_name": "Kept", "emails": ["kept@example.org"]})).await;
        let path = format!("/api/v1/contacts/{kept}/restriction");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, None).await.0, StatusCode::OK);

        // Companies, as HubSpot exports them; the second time the one with a number is a duplicate.
        let companies = "Company name,Company Domain Name,Phone Number,City,Country/Region,Description\n\
                         Acme GmbH,https://www.acme.example/,+49 30 1234567,Berlin,Germany,Supplier\n\
                         Nordic AB,nordic.example,,Stockholm,Sweden,\n";
        let (_, job) = import(&s, &dpo, "kind=companies", "text/csv", companies.into()).await;
        assert_eq!(job["counts"]["created"], 2, "{job}");
        let (_, again) = import(&s, &dpo, "kind=companies&dry_run=true", "text/csv", companies.into()).await;
        assert_eq!(
            (again["counts"]["duplicate"].as_u64(), again["counts"]["created"].as_u64()),
            (Some(1), Some(1)),
            "{again}"
        );
        let (_, listed) = send_as(&s, &dpo, Method::GET, "/api/v1/companies", None).await;
        let acme = listed["items"].as_array().unwrap().iter().find(|c| c["name"] == "Acme GmbH").unwrap().clone();
        assert_eq!(
            (acme["domain"].as_str(), acme["addresses"][0]["country"].as_str()),
            (Some("acme.example"), Some("DE"))
        );

        // Interactions: found by their contact's address; an unknown one, a bad kind and a restricted person are rows left out.
        let interactions = "Contact Email,Activity Type,Date,Subject,Notes\n\
                            OLENA@example.org,Phone call,2026-03-01 09:30,Order,Called about the order\n\
                            nobody@example.org,Email,2026-03-02,,\n\
                            jean@example.fr,Carrier pigeon,2026-03-03,,\n\
                            kept@example.org,Meeting,2026-03-04,,\n";
        // (Sales import them: the DPO's own view reaches restricted people.)
        let sales = token_for(&s, "sales").await;
        let (_, job) = import(&s, &sales, "kind=interactions", "text/csv", interactions.into()).await;
        assert_eq!((job["counts"]["created"].as_u64(), job["counts"]["invalid"].as_u64()), (Some(1), Some(3)), "{job}");
        let codes: Vec<&str> =
            job["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["unknown_reference", "invalid_value", "processing_restricted"], "{job}");
        assert_eq!(job["problems"][1]["column"], "Activity Type");
        let (_, found) =
            send_as(&s, &dpo, Method::GET, &format!("/api/v1/interactions?contact_id={olena}"), None).await;
        let call = &found["items"][0];
        assert_eq!(
            (call["kind"].as_str(), call["occurred_at"].as_str()),
            (Some("call"), Some("2026-03-01T09:30:00Z")),
            "{found}"
        );
        assert_eq!(call["body"], "Called about the order");

        // Purchases: the lines of one order are one purchase.
        let purchases = "Order Number;Customer Email;Order Date;Currency;SKU;Product;Qty;Unit Price\n\
                         1001;jean@example.fr;14.07.2026;EUR;T-1;Tasse;2;12,50\n\
                         1001;jean@example.fr;14.07.2026;EUR;S-9;Soucoupe;1;4,00\n\
                         1002;olena@example.org;2026-07-15;UAH;K-1;Kava;3;80\n";
        let (_, job) = import(&s, &dpo, "kind=purchases", "text/csv", purchases.into()).await;
        assert_eq!(job["counts"]["created"], 2, "{job}");
        let (_, found) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/purchases?contact_id={jean}"), None).await;
        let order = &found["items"][0];
        assert_eq!((order["lines"].as_array().unwrap().len(), order["total"].as_str()), (2, Some("29.00")), "{found}");

        // Options for contacts only, and a role that may import interactions but not contacts.
        assert_problem(
            &import(&s, &dpo, "kind=companies&basis=contract", "text/csv", companies.into()).await,
            422,
            "invalid_value",
        );
        assert_problem(&import(&s, &dpo, "kind=planets", "text/csv", companies.into()).await, 400, "invalid_query");
        let support = token_for(&s, "support").await;
        assert_problem(
            &import(&s, &support, "", "text/csv", b"Name,Email\nA B,ab@example.org\n".to_vec()).await,
            403,
            "forbidden",
        );
        let note = "Contact Email,Type,Date\nolena@example.org,Note,2026-04-01\n";
        let (status, job) = import(&s, &support, "kind=interactions", "text/csv", note.into()).await;
        assert_eq!((status, job["counts"]["created"].as_u64()), (StatusCode::ACCEPTED, Some(1)), "{job}");
        s.stop().await;

        // The command line does the same.
        let file = db.dir.path().join("calls.csv");
        std::fs::write(&file, "Email,Type,Date,Subject\njean@example.fr,Call,2026-05-01 10:00,Follow-up\n").unwrap();
        let mut args: Vec<String> =
            ["import", "interactions", file.to_str().unwrap(), "--data-dir"].iter().map(|a| a.to_string()).collect();
        args.push(db.data_dir().to_str().unwrap().into());
        args.extend(db.url_args());
        let (ok, out, err) = run_kith_async(args).await;
        assert!(ok && out.contains("created") && out.contains("       1"), "{out}{err}");
        db.cleanup().await;
    }
}
