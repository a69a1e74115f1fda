//! `GET /api/v1/contacts/export`: the people the request's purpose allows,
//! the caller's fields, in CSV, vCard and JSON that independent parsers
//! read back intact, formulas escaped, the export audited.

use crate::harness::{assert_problem, backends, run_kith_async, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

async fn export(s: &Server, token: &str, format: &str, purpose: &str) -> (StatusCode, String, String) {
    let resp = s
        .client
        .get(s.url(&format!("/api/v1/contacts/export?format={format}")))
        .bearer_auth(token)
        .header("kith-purpose", purpose)
        .send()
        .await
        .unwrap();
    let kind = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status(), kind, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_whom_the_purpose_allows_intact_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let consent = |person: &str| {
            let (s, dpo, person) = (&s, dpo.clone(), person.to_string());
            async move {
                let body = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "1", "method": "api"});
                let path = format!("/api/v1/contacts/{person}/consents");
                assert_eq!(send_as(s, &dpo, Method::POST, &path, Some(&body)).await.0, StatusCode::CREATED);
            }
        };
        let ann = s
            .create(
                "contacts",
                json!({"given_name": "Ann", "family_name": "Łukasz-Kovalenko", "emails": ["ann@example.org", "ann@work.example"],
                       "phones": ["+380441234567"], "notes": "line one\nline two, with \"quotes\"; and semicolons"}),
            )
            .await;
        let dee = s.create("contacts", json!({"given_name": "Dee", "family_name": FORMULA})).await;
        let _ben = s.create("contacts", json!({"given_name": "Ben"})).await;
        let cai = s.create("contacts", json!({"given_name": "Cai"})).await;
        for person in [&ann, &dee, &cai] {
            consent(person).await;
        }
        assert_eq!(
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/contacts/{cai}/restriction"), None).await.0,
            StatusCode::OK
        );

        // CSV, read back by the csv crate: Ann and Dee only (Ben gave no consent, Cai is restricted).
        let marketing = "marketing.communications.email";
        let (status, kind, text) = export(&s, &dpo, "csv", marketing).await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"), "{text}");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(&headers[0], "id");
        let rows: Vec<std::collections::BTreeMap<String, String>> = reader
            .records()
            .map(|r| headers.iter().zip(r.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
            .collect();
        let mut names: Vec<&str> = rows.iter().map(|r| r["given_name"].as_str()).collect();
        names.sort();
        assert_eq!(names, ["Ann", "Dee"], "{text}");
        let ann_row = rows.iter().find(|r| r["given_name"] == "Ann").unwrap();
        assert_eq!(ann_row["family_name"], "Łukasz-Kovalenko");
        assert_eq!(ann_row["emails"], "ann@example.org; ann@work.example");
        assert_eq!(ann_row["notes"], "line one\nline two, with \"quotes\"; and semicolons");
        assert_eq!(ann_row["phones"], "'+380441234567", "a leading + is a formula to a spreadsheet");
        let dee_row = rows.iter().find(|r| r["given_name"] == "Dee").unwrap();
        assert_eq!(dee_row["family_name"], format!("'{FORMULA}"), "the formula is escaped");

        // vCard, read back by the ical crate.
        let (status, kind, cards) = export(&s, &dpo, "vcf", marketing).await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/vcard; charset=utf-8"));
        let parsed: Vec<_> =
            ical::VcardParser::new(std::io::BufReader::new(cards.as_bytes())).map(|c| c.unwrap()).collect();
        assert_eq!(parsed.len(), 2, "{cards}");
        let full_names: Vec<String> = parsed
            .iter()
            .flat_map(|c| c.properties.iter().filter(|p| p.name == "FN").map(|p| p.value.clone().unwrap_or_default()))
            .collect();
        assert!(full_names.contains(&"Ann Łukasz-Kovalenko".to_string()), "{full_names:?}");

        // JSON: the same contacts as the API shows them.
        let (status, _, body) = export(&s, &dpo, "json", marketing).await;
        assert_eq!(status, StatusCode::OK);
        let list: Vec<Value> = serde_json::from_str(&body).unwrap();
        assert_eq!(list.len(), 2);
        let dee_json = list.iter().find(|c| c["id"] == dee.as_str()).unwrap();
        assert_eq!(dee_json["family_name"], FORMULA, "JSON keeps the value as it is");

        // For service delivery (a contract), everyone but the restricted.
        let (_, _, body) = export(&s, &dpo, "json", "essential.service").await;
        assert_eq!(serde_json::from_str::<Vec<Value>>(&body).unwrap().len(), 3);

        // Audited: the export with its count and columns.
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?action=read&limit=200", None).await;
        let exported = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["fields"].as_array().is_some_and(|f| f.contains(&json!("export")) && f.contains(&json!("format:csv")))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no export event: {log}"));
        let fields = exported["fields"].as_array().unwrap();
        assert!(fields.contains(&json!("count:2")) && fields.contains(&json!("emails")), "{exported}");
        assert!(!log.to_string().contains("ann@example.org"), "names, never values");

        // Refused: no export permission, an unknown format, a parameter of nobody's.
        let sales = token_for(&s, "sales").await;
        assert_problem(&send_as(&s, &sales, Method::GET, "/api/v1/contacts/export", None).await, 403, "forbidden");
        assert_problem(
            &send_as(&s, &dpo, Method::GET, "/api/v1/contacts/export?format=xlsx", None).await,
            400,
            "invalid_query",
        );
        assert_problem(
            &send_as(&s, &dpo, Method::GET, "/api/v1/contacts/export?sheet=1", None).await,
            400,
            "invalid_query",
        );
        s.stop().await;

        // The command line exports the same, to a file only its owner reads.
        let file = db.dir.path().join("contacts.csv");
        let mut args: Vec<String> = ["export", "contacts", "--format", "csv", "--purpose", marketing, "--out"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.push(file.to_str().unwrap().into());
        args.extend(["--data-dir".to_string(), db.data_dir().to_str().unwrap().into()]);
        args.extend(db.url_args());
        let (ok, _, err) = run_kith_async(args.clone()).await;
        assert!(ok, "{err}");
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(written.contains("Ann") && written.contains("'=HYPERLINK") && !written.contains("Cai"), "{written}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let (ok, _, err) = run_kith_async(args.clone()).await;
        assert!(!ok && err.contains("must not exist"), "never overwrites: {err}");
        let purpose_at = args.iter().position(|a| a == marketing).unwrap();
        args[purpose_at] = "marketing.mind_reading".into();
        args[purpose_at + 2] = db.dir.path().join("other.csv").to_str().unwrap().into();
        let (ok, _, err) = run_kith_async(args).await;
        assert!(!ok && err.contains("purpose"), "{err}");
        db.cleanup().await;
    }
}
