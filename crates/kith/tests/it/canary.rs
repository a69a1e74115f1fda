//! Privacy at rest: personal values planted as unique markers never appear
//! in clear in any file of the data directory (database, WAL, shared
//! memory, anything else), in PostgreSQL's tables, in the server's log
//! output at debug level, or in error responses, before or after the
//! person is erased.

use crate::harness::{backends, client_trusting, run_kith, Backend, ServeProcess, TestDb};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;

/// A random string over `alphabet`, long enough to be unique.
fn marker(alphabet: &[char], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| *alphabet.choose(&mut rng).unwrap()).collect()
}

struct Markers {
    latin: Vec<String>,
    cyrillic: String,
    cjk: String,
    phone_digits: String,
}

impl Markers {
    fn new() -> Self {
        let latin: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
        let cyrillic: Vec<char> = "абвгґдеєжзиіїйклмнопрстуфхцчшщюя".chars().collect();
        let cjk: Vec<char> = "山田太郎花子李王張劉陳楊黃趙吳周徐孫馬朱胡郭何高林羅鄭梁".chars().collect();
        let mut rng = rand::thread_rng();
        Self {
            latin: (0..14).map(|i| format!("Mk{i}{}", marker(&latin, 12))).collect(),
            cyrillic: format!("Ґ{}", marker(&cyrillic, 10)),
            cjk: marker(&cjk, 8),
            phone_digits: format!("{}", rng.gen_range(100_000_000u64..999_999_999)),
        }
    }

    /// Every form a marker could take in storage: as written, lower-cased
    /// (the blind index normalises), and as PostgreSQL prints bytes (hex).
    fn needles(&self) -> Vec<(String, Vec<u8>)> {
        let mut plain: Vec<String> = self.latin.clone();
        plain.extend([self.cyrillic.clone(), self.cjk.clone(), self.phone_digits.clone()]);
        let mut needles = Vec::new();
        for m in plain {
            for form in [m.clone(), m.to_lowercase()] {
                needles.push((form.clone(), form.as_bytes().to_vec()));
                let hex: String = form.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                needles.push((format!("hex of {form}"), hex.into_bytes()));
            }
        }
        needles
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Scans every file under `dir`; a file that goes while it is scanned (a
/// journal of a database being closed) is skipped.
pub(crate) fn scan_dir(dir: &Path, needles: &[(String, Vec<u8>)], found: &mut Vec<String>, scanned: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            scan_dir(&path, needles, found, scanned);
        } else if let Ok(bytes) = std::fs::read(&path) {
            scanned.push(path.file_name().unwrap().to_string_lossy().into_owned());
            for (name, needle) in needles {
                if contains(&bytes, needle) {
                    found.push(format!("{name} in {}", path.display()));
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_marker_in_clear_anywhere_on_every_backend() {
    for backend in backends() {
        canary(backend).await;
    }
}

async fn canary(backend: Backend) {
    let db = TestDb::new(backend).await;
    let data = db.data_dir();
    let mut init_args = vec!["init".to_string(), "--data-dir".into(), data.to_str().unwrap().into()];
    init_args.extend(db.url_args());
    let (ok, _, err) = run_kith(&init_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{err}");
    let mut token_args =
        vec!["token", "create", "--data-dir", data.to_str().unwrap(), "--name", "canary", "--role", "sales"];
    let url_args = db.url_args();
    token_args.extend(url_args.iter().map(String::as_str));
    let (ok, token, err) = run_kith(&token_args);
    assert!(ok, "{err}");
    let token = token.trim().to_string();

    let log = db.dir.path().join("server.log");
    let mut serve_args =
        vec!["--data-dir".to_string(), data.to_str().unwrap().into(), "--listen".into(), "127.0.0.1:0".into()];
    serve_args.extend(db.url_args());
    let server = ServeProcess::start(&serve_args, "debug", Stdio::from(std::fs::File::create(&log).unwrap()));
    let client = client_trusting(&data.join("tls/cert.pem"));
    let m = Markers::new();
    let l = &m.latin;
    let post = |path: &str, body: Value| {
        let req = client.post(format!("{}{path}", server.base)).bearer_auth(&token).json(&body);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let value: Value = resp.json().await.unwrap();
            (status, value)
        }
    };

    let (status, company) = post("/api/v1/companies", json!({"name": l[0], "notes": l[1]})).await;
    assert!(status.is_success(), "{company}");
    let (status, contact) = post(
        "/api/v1/contacts",
        json!({
            "given_name": m.cyrillic, "family_name": format!("{} {}", l[2], m.cjk),
            "emails": [format!("{}@example.org", l[3])], "phones": [format!("+380{}", m.phone_digits)],
            "addresses": [{"street": l[4], "city": l[5]}], "job_title": l[6], "notes": l[7],
            "tags": [l[8]], "custom": {"hobby": l[9]}, "company_id": company["id"]
        }),
    )
    .await;
    assert!(status.is_success(), "{contact}");
    let id = contact["id"].as_str().unwrap();
    let (status, v) = post("/api/v1/interactions", json!({"contact_id": id, "kind": "email", "occurred_at": "2026-01-31T10:00:00Z", "subject": l[10], "body": l[11]})).await;
    assert!(status.is_success(), "{v}");
    let (status, v) = post("/api/v1/purchases", json!({"contact_id": id, "purchased_at": "2026-01-31T10:00:00Z", "currency": "EUR", "lines": [{"sku": "S1", "description": l[12], "quantity": 1, "unit_price": "5"}]})).await;
    assert!(status.is_success(), "{v}");
    let (status, v) = post("/api/v1/deals", json!({"contact_id": id, "title": l[13], "stage": "lead"})).await;
    assert!(status.is_success(), "{v}");

    // An import of another person, with a broken row carrying a value: the
    // job keeps counts and rules, the person is sealed like any other.
    let file = format!(
        "First Name,Last Name,E-mail Address,Notes\n{},{},{}.imported@example.org,{}\nBroken,Row,{} not-an-address,\n",
        m.cyrillic, l[13], l[3], l[7], l[11]
    );
    let imports = format!("{}/api/v1/imports?source={}", server.base, l[9]);
    let resp =
        client.post(imports).bearer_auth(&token).header("content-type", "text/csv").body(file).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let job: Value = resp.json().await.unwrap();
    let job_url = format!("{}/api/v1/imports/{}", server.base, job["id"].as_str().unwrap());
    let job = loop {
        let job: Value = client.get(&job_url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if job["status"] != "running" {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!((job["counts"]["created"].as_u64(), job["counts"]["invalid"].as_u64()), (Some(1), Some(1)), "{job}");

    // Lookups by the personal values, so they pass through query strings too.
    for query in
        [format!("email={}@example.org", l[3]), format!("q={}", l[2]), format!("phone=%2B380{}", m.phone_digits)]
    {
        let resp =
            client.get(format!("{}/api/v1/contacts?{query}", server.base)).bearer_auth(&token).send().await.unwrap();
        let page: Value = resp.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{query}");
    }
    // Refused input that carries personal values: the error does not echo them.
    let (status, problem) =
        post("/api/v1/contacts", json!({"given_name": l[2], "emails": [format!("{} broken", l[3])]})).await;
    assert_eq!(status.as_u16(), 422);
    let (status, problem2) = post("/api/v1/contacts", json!({"given_name": 5, "kind": l[4], "emails": l[5]})).await;
    assert_eq!(status.as_u16(), 422);
    let needles = m.needles();
    for p in [&problem, &problem2] {
        for (name, needle) in &needles {
            assert!(!contains(p.to_string().as_bytes(), needle), "{name} echoed in {p}");
        }
    }

    // A backup taken now, while the person is there: the file in the data
    // directory is scanned with everything else, and so is its decrypted
    // content, which holds only what the database holds (sealed values).
    let backup = data.join("before-erasure.age");
    let mut backup_args = vec!["backup", "create", "--data-dir", data.to_str().unwrap(), "--quiet"];
    backup_args.extend(["--out", backup.to_str().unwrap()]);
    backup_args.extend(url_args.iter().map(String::as_str));
    let (ok, _, err) = run_kith(&backup_args);
    assert!(ok, "{err}");

    // The person is erased through a data-subject request: the erasure
    // itself leaves no value in any file, table or log line either.
    let mut dpo_args = vec!["token", "create", "--data-dir", data.to_str().unwrap(), "--name", "dpo", "--role", "dpo"];
    dpo_args.extend(url_args.iter().map(String::as_str));
    let (ok, dpo, err) = run_kith(&dpo_args);
    assert!(ok, "{err}");
    let dpo = dpo.trim().to_string();
    let as_dpo = |path: String, body: Value| {
        let req = client.post(format!("{}{path}", server.base)).bearer_auth(&dpo).json(&body);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, request) = as_dpo("/api/v1/dsr".into(), json!({"kind": "erasure", "contact_id": id})).await;
    assert!(status.is_success(), "{request}");
    let request = request["id"].as_str().unwrap();
    let attest = json!({"method": "staff_attestation", "note": "called back"});
    let (status, v) = as_dpo(format!("/api/v1/dsr/{request}/verify"), attest).await;
    assert!(status.is_success(), "{v}");
    let (status, done) = as_dpo(format!("/api/v1/dsr/{request}/fulfil"), json!({})).await;
    assert!(status.is_success(), "{done}");
    assert_eq!(done["receipt"]["categories"]["contacts"], 1, "{done}");

    // While the server runs (WAL and shared memory present), then after it stopped.
    let mut found = Vec::new();
    let mut scanned = Vec::new();
    scan_dir(&data, &needles, &mut found, &mut scanned);
    if backend == Backend::Sqlite {
        assert!(scanned.iter().any(|f| f == "kith.db-wal"), "the WAL was scanned: {scanned:?}");
    }
    assert!(server.stop(), "the server shut down cleanly");
    scan_dir(&data, &needles, &mut found, &mut scanned);
    let log_bytes = std::fs::read(&log).unwrap();
    assert!(log_bytes.len() > 200, "the server logged at debug level");
    for (name, needle) in &needles {
        if contains(&log_bytes, needle) {
            found.push(format!("{name} in the server log"));
        }
    }
    if backend == Backend::Postgres {
        scan_postgres(db.url.as_deref().unwrap(), &needles, &mut found).await;
    }
    assert!(scanned.iter().any(|f| f == "before-erasure.age"), "the backup was scanned: {scanned:?}");
    let plain = decrypted_backup(&data.join("kith.key"), &backup);
    assert!(contains(&plain, b"audit_events"), "the backup was opened: its tables are named in it");
    for (name, needle) in &needles {
        if contains(&plain, needle) {
            found.push(format!("{name} inside the decrypted backup"));
        }
    }
    assert!(found.is_empty(), "personal values in clear: {found:?}");
    db.cleanup().await;
}

/// A backup's plaintext, opened with the key file's backup keys.
fn decrypted_backup(key_file: &Path, backup: &Path) -> Vec<u8> {
    use std::io::Read;
    let keys = kith_crypto::KeyFile::load(key_file).unwrap().backup_keys;
    let file = std::fs::File::open(backup).unwrap();
    let mut plain = Vec::new();
    kith_crypto::backup_key::decrypt(&keys, file).unwrap().read_to_end(&mut plain).unwrap();
    plain
}

/// Every row of every table in the test's schema, as PostgreSQL prints it.
pub(crate) async fn scan_postgres(url: &str, needles: &[(String, Vec<u8>)], found: &mut Vec<String>) {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("t"))
    .collect();
    assert!(tables.contains(&"contacts".to_string()), "{tables:?}");
    for table in tables {
        let rows = sqlx::query(&format!("SELECT t::text AS row FROM {table} t")).fetch_all(&mut conn).await.unwrap();
        for row in rows {
            let text: String = row.get("row");
            for (name, needle) in needles {
                if contains(text.as_bytes(), needle) {
                    found.push(format!("{name} in PostgreSQL table {table}"));
                }
            }
        }
    }
}
