//! The command line: initialisation, tokens, and the errors an operator
//! meets (missing directory, bad URL, port in use, unreadable key file).

use crate::harness::{run_kith, ServeProcess};
use std::process::Stdio;

fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_str().unwrap().to_string()
}

#[test]
fn help_explains_every_command() {
    for (args, expect) in [
        (vec!["--help"], vec!["serve", "init", "token", "keys"]),
        (vec!["serve", "--help"], vec!["--data-dir", "--listen", "--database-url", "--http", "loopback", "--tls-cert"]),
        (vec!["init", "--help"], vec!["--data-dir", "--database-url", "never overwrites"]),
        (vec!["token", "create", "--help"], vec!["--name", "--role", "--expires", "shown only"]),
        (vec!["keys", "rotate", "--help"], vec!["--data-dir", "rewrap"]),
        (vec!["audit", "verify", "--help"], vec!["--data-dir", "Exit status"]),
        (vec!["doctor", "--help"], vec!["--data-dir", "Exit status", "high"]),
    ] {
        let (ok, out, err) = run_kith(&args);
        assert!(ok, "{args:?}: {err}");
        for word in expect {
            assert!(out.contains(word), "`kith {}` lacks {word}:\n{out}", args.join(" "));
        }
    }
}

#[test]
fn init_is_idempotent_and_never_overwrites_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let (ok, out, err) = run_kith(&["init", "--data-dir", &data]);
    assert!(ok, "{err}");
    assert!(out.contains("initialised"), "{out}");
    let key_path = dir.path().join("data/kith.key");
    let key = std::fs::read(&key_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let (ok, _, err) = run_kith(&["init", "--data-dir", &data]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(&key_path).unwrap(), key, "a second init keeps the key");

    // Without its key file the data cannot be read: init refuses to make a new one.
    std::fs::rename(&key_path, dir.path().join("elsewhere.key")).unwrap();
    let (ok, _, err) = run_kith(&["init", "--data-dir", &data]);
    assert!(!ok);
    assert!(err.contains("key file") && err.contains("missing"), "{err}");
    assert!(!key_path.exists(), "no replacement key was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_prints_the_token_alone_and_checks_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let (ok, _, err) = run_kith(&["token", "create", "--data-dir", &data, "--name", "n", "--role", "sales"]);
    assert!(!ok, "a missing data directory is an error");
    assert!(err.contains("does not exist") && err.contains("kith init"), "{err}");

    assert!(run_kith(&["init", "--data-dir", &data]).0);
    let (ok, out, err) =
        run_kith(&["token", "create", "--data-dir", &data, "--name", "crm-sync", "--role", "sales", "--expires", "30"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("kith_") && lines[0].len() > 40, "{out}");
    let (_, again, _) = run_kith(&["token", "create", "--data-dir", &data, "--name", "crm-sync", "--role", "sales"]);
    assert_ne!(again.trim(), lines[0], "every token is new");

    let (ok, _, err) = run_kith(&["token", "create", "--data-dir", &data, "--name", "x", "--role", "emperor"]);
    assert!(!ok);
    assert!(err.contains("not a role") && err.contains("sales"), "{err}");
    let (ok, _, err) =
        run_kith(&["token", "create", "--data-dir", &data, "--name", "Olena Kovalenko", "--role", "sales"]);
    assert!(!ok, "token names are identifiers, stored in clear");
    assert!(err.contains("--name") && !err.contains("Olena"), "{err}");

    // Listing shows ids and states, never a token; revoking takes effect.
    let (ok, listing, err) = run_kith(&["token", "list", "--data-dir", &data]);
    assert!(ok, "{err}");
    assert_eq!(listing.lines().count(), 3, "a header and two tokens:\n{listing}");
    assert!(!listing.contains(lines[0]) && !listing.contains("kith_"), "{listing}");
    let first_id = listing.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let (ok, out, err) = run_kith(&["token", "revoke", "--data-dir", &data, &first_id]);
    assert!(ok, "{err}");
    assert!(out.contains("revoked"), "{out}");
    let (_, listing, _) = run_kith(&["token", "list", "--data-dir", &data]);
    assert!(listing.lines().nth(1).unwrap().ends_with("revoked"), "{listing}");
    let (ok, _, err) = run_kith(&["token", "revoke", "--data-dir", &data, &first_id]);
    assert!(!ok && err.contains("no active token"), "{err}");
    let (ok, _, err) = run_kith(&["token", "revoke", "--data-dir", &data, "not-an-id"]);
    assert!(!ok && err.contains("invalid value"), "{err}");

    // Issuing and revoking are audited.
    let store = kith_store::open(&format!("sqlite://{}/kith.db", data)).await.unwrap();
    let actions: Vec<String> = store
        .audit_query(&kith_store::AuditQuery { limit: 100, ..Default::default() })
        .await
        .unwrap()
        .iter()
        .map(|e| e.action.as_str().to_string())
        .collect();
    assert_eq!(actions, ["token_issue", "token_issue", "token_revoke"]);
    let db = std::fs::read(dir.path().join("data/kith.db")).unwrap();
    assert!(!db.windows(lines[0].len()).any(|w| w == lines[0].as_bytes()), "tokens are stored hashed");
}

#[test]
fn bad_database_urls_and_key_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let (ok, _, err) = run_kith(&["init", "--data-dir", &data, "--database-url", "mysql://root@localhost/kith"]);
    assert!(!ok);
    assert!(err.contains("postgres://") && err.contains("sqlite://"), "{err}");
    let (ok, _, err) =
        run_kith(&["init", "--data-dir", &data, "--database-url", "postgres://nobody:secret@127.0.0.1:1/none"]);
    assert!(!ok);
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(!err.contains("secret"), "passwords are not printed: {err}");

    let data2 = path(&dir, "data2");
    assert!(run_kith(&["init", "--data-dir", &data2]).0);
    let key_path = dir.path().join("data2/kith.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, _, err) = run_kith(&["token", "create", "--data-dir", &data2, "--name", "n", "--role", "sales"]);
        assert!(!ok);
        assert!(err.contains("may be read by other users") && err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(&key_path, b"not json at all").unwrap();
    let (ok, _, err) = run_kith(&["token", "create", "--data-dir", &data2, "--name", "n", "--role", "sales"]);
    assert!(!ok);
    assert!(err.contains("not a Kith key file"), "{err}");
    assert!(!err.contains("not json at all"), "key file contents are never printed");
}

#[test]
fn a_port_in_use_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (ok, _, err) = run_kith(&["serve", "--data-dir", &data, "--listen", &addr]);
    assert!(!ok);
    assert!(err.contains("already in use"), "{err}");
    let (ok, _, err) = run_kith(&["serve", "--data-dir", &data, "--listen", "localhost-ish"]);
    assert!(!ok);
    assert!(err.contains("not an address"), "{err}");
    // A certificate without its key in kith.toml is a mistake, not a reason to fall back.
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/kith.toml"), "tls_cert = \"/etc/ssl/mine.pem\"\n").unwrap();
    let (ok, _, err) = run_kith(&["serve", "--data-dir", &data, "--listen", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(err.contains("certificate and its key together"), "{err}");
    // The age of digital consent is one a member state may choose: 13 to 16.
    std::fs::write(dir.path().join("data/kith.toml"), "digital_consent_age = 12\n").unwrap();
    let (ok, _, err) = run_kith(&["serve", "--data-dir", &data, "--listen", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(err.contains("digital_consent_age 12 is not between 13 and 16"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_loopback_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let args: Vec<String> = ["--data-dir", &data, "--http", "--listen", "127.0.0.1:0"].map(String::from).to_vec();
    let server = ServeProcess::start(&args, "warn", Stdio::null());
    let url = server.base.clone();
    assert!(url.starts_with("http://"), "{url}");
    let resp = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!resp.headers().contains_key("strict-transport-security"), "no HSTS without TLS");
    assert!(server.stop(), "graceful shutdown exits cleanly");
    let note = std::fs::read_to_string(dir.path().join("data/audit-checkpoint.note")).unwrap();
    assert!(note.starts_with("kith/audit/") && note.contains("\n0\n"), "a checkpoint is signed at shutdown: {note}");
}

/// `--tls-cert`/`--tls-key` serve the operator's certificate, not the generated one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_certificates_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let own = kith_server::tls::ensure_self_signed(&dir.path().join("operator")).unwrap();
    let args: Vec<String> = [
        "--data-dir",
        &data,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        own.cert.to_str().unwrap(),
        "--tls-key",
        own.key.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let server = ServeProcess::start(&args, "warn", Stdio::null());
    let url = server.base.clone();
    let operator = crate::harness::client_trusting(&own.cert);
    assert_eq!(operator.get(format!("{url}/healthz")).send().await.unwrap().status(), 200);
    let generated = crate::harness::client_trusting(&dir.path().join("data/tls/cert.pem"));
    assert!(
        generated.get(format!("{url}/healthz")).send().await.is_err(),
        "the generated certificate is not the one served"
    );
    assert!(server.stop());
}

/// A database URL given at initialisation is remembered in kith.toml, so
/// later commands on the directory reach the same database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_url_is_remembered() {
    let Some(_) = crate::harness::postgres_url() else { return };
    let db = crate::harness::TestDb::new(crate::harness::Backend::Postgres).await;
    let data = db.data_dir();
    let data = data.to_str().unwrap();
    let url = db.url.clone().unwrap();
    let (ok, out, err) = run_kith(&["init", "--data-dir", data, "--database-url", &url]);
    assert!(ok, "{err}");
    assert!(out.contains("postgres://"), "{out}");
    let config = std::fs::read_to_string(db.data_dir().join("kith.toml")).unwrap();
    assert!(config.contains("database_url"), "{config}");
    let (ok, _, err) = run_kith(&["token", "create", "--data-dir", data, "--name", "n", "--role", "sales"]);
    assert!(ok, "{err}");
    assert!(!db.data_dir().join("kith.db").exists(), "no SQLite database was created beside it");
    let other = url.replace("search_path%3D", "search_path%3Dother_");
    let (ok, _, err) = run_kith(&["init", "--data-dir", data, "--database-url", &other]);
    assert!(!ok, "a directory stays with its database");
    assert!(err.contains("names another database"), "{err}");
    db.cleanup().await;
}
