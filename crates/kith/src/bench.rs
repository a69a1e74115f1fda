//! `kith bench import`: the encrypted storage path against plaintext rows
//! with plain indexes in the same database engine, in the same run.
//!
//! Encrypted: per contact a new data key, wrapped under the KEK; every
//! document sealed; blind-index terms for e-mail, phone, name words and
//! tags; interactions sealed under the contact's key. Plaintext: the same
//! values in clear columns with B-tree indexes on e-mail, phone and family
//! name, and a foreign key from interactions to contacts. Both write in
//! transactions of the same batch size, with multi-row inserts.

use anyhow::{Context, Result};
use clap::Args;
use kith_core::model::{Contact, Interaction, InteractionKind};
use kith_core::values::email_lookup_key;
use kith_core::{EntityBody, EntityKind, IndexField};
use kith_crypto::DataKey;
use kith_server::datadir::DataDir;
use kith_server::sealing::{to_crypto, to_store};
use kith_server::service::records::{open_record, seal_record};
use kith_store::{ListQuery, NewRecord};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Contacts to import.
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Interactions per contact.
    #[arg(long, default_value_t = 3)]
    interactions: usize,
    /// Contacts per transaction.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// E-mail lookups to time.
    #[arg(long, default_value_t = 10_000)]
    lookups: usize,
    /// Directory for the benchmark's databases (default: a new temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run against PostgreSQL instead of SQLite (each side in its own schema).
    #[arg(long, env = "KITH_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

const GIVEN: [&str; 8] = ["Olena", "Taras", "Mariam", "João", "Aiko", "Liam", "Chloé", "Wei"];
const FAMILY: [&str; 8] = ["Kovalenko", "Shevchenko", "Haddad", "Silva", "Tanaka", "Murphy", "Dubois", "Zhang"];

/// One generated person: the same values go to both sides.
pub(crate) struct Person {
    id: Uuid,
    pub(crate) contact: Contact,
    interactions: Vec<(Uuid, Interaction)>,
}

pub(crate) fn generate(n: usize, per_contact: usize, seed: u64) -> Vec<Person> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let id = Uuid::from_u128(rng.gen());
            let given = GIVEN[rng.gen_range(0..GIVEN.len())];
            let family = FAMILY[rng.gen_range(0..FAMILY.len())];
            let mut contact = Contact {
                given_name: Some(given.into()),
                family_name: Some(format!("{family}{}", i % 5000)),
                // Real addresses and numbers arrive in no particular order, so
                // neither index gets the locality of sequential keys.
                emails: vec![format!("{}.{:08x}{i}@example{}.org", given.to_lowercase(), rng.gen::<u32>(), i % 97)],
                phones: vec![format!("+3804{:08}", (i as u64 * 7_919 + 12_345) % 100_000_000)],
                job_title: Some("Buyer".into()),
                notes: Some(format!("Met at fair number {}", i % 300)),
                tags: vec!["lead".into()],
                owner: Some("bench".into()),
                ..Contact::default()
            };
            contact.validate().expect("generated contacts are valid");
            let interactions = (0..per_contact)
                .map(|j| {
                    let mut it = Interaction {
                        contact_id: id,
                        company_id: None,
                        kind: InteractionKind::Call,
                        occurred_at: format!("2026-0{}-1{}T10:00:00Z", 1 + j % 9, j % 10),
                        subject: Some(format!("Call {j} about the order")),
                        body: Some("Discussed delivery dates and the invoice address.".into()),
                        due_at: None,
                        done: None,
                        tags: vec![],
                        custom: Default::default(),
                        owner: Some("bench".into()),
                    };
                    it.validate().expect("generated interactions are valid");
                    (Uuid::from_u128(rng.gen()), it)
                })
                .collect();
            Person { id, contact, interactions }
        })
        .collect()
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) struct Figures {
    pub(crate) insert_seconds: f64,
    pub(crate) contacts_per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    fn new(contacts: usize, insert: Duration, mut lookups: Vec<Duration>) -> Self {
        lookups.sort();
        Self {
            insert_seconds: insert.as_secs_f64(),
            contacts_per_second: contacts as f64 / insert.as_secs_f64(),
            p50: percentile(&lookups, 0.5),
            p99: percentile(&lookups, 0.99),
        }
    }
}

pub async fn import(args: ImportArgs) -> Result<()> {
    let temp = tempfile_dir(args.dir.clone())?;
    let root = temp.path().to_path_buf();
    eprintln!("generating {} contacts with {} interactions each", args.contacts, args.interactions);
    let people = generate(args.contacts, args.interactions, 7);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let probes: Vec<usize> = (0..args.lookups).map(|_| rng.gen_range(0..people.len())).collect();

    let engine = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    let plain = plaintext::run(&root, args.database_url.as_deref(), &people, args.batch, &probes).await?;
    let sealed = encrypted(&root, args.database_url.as_deref(), &people, args.batch, &probes).await?;

    let rows = args.contacts * (1 + args.interactions);
    println!(
        "engine: {engine}; {} contacts, {} interactions each ({rows} records), batch {}",
        args.contacts, args.interactions, args.batch
    );
    println!("| path | import s | contacts/s | lookup p50 | lookup p99 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, f) in [("plaintext", &plain), ("encrypted", &sealed)] {
        println!(
            "| {name} | {:.2} | {:.0} | {:.1} µs | {:.1} µs |",
            f.insert_seconds,
            f.contacts_per_second,
            f.p50.as_secs_f64() * 1e6,
            f.p99.as_secs_f64() * 1e6
        );
    }
    println!(
        "ratio encrypted/plaintext: throughput {:.2}, lookup p50 {:.2}x, p99 {:.2}x",
        sealed.contacts_per_second / plain.contacts_per_second,
        sealed.p50.as_secs_f64() / plain.p50.as_secs_f64(),
        sealed.p99.as_secs_f64() / plain.p99.as_secs_f64()
    );
    Ok(())
}

/// A directory the benchmark owns: the one given, or a temporary one removed afterwards.
pub(crate) enum BenchDir {
    Given(PathBuf),
    Temp(tempfile::TempDir),
}

impl BenchDir {
    pub(crate) fn path(&self) -> &std::path::Path {
        match self {
            Self::Given(p) => p,
            Self::Temp(t) => t.path(),
        }
    }
}

pub(crate) fn tempfile_dir(given: Option<PathBuf>) -> Result<BenchDir> {
    match given {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            Ok(BenchDir::Given(dir))
        }
        None => Ok(BenchDir::Temp(tempfile::tempdir()?)),
    }
}

async fn encrypted(
    root: &std::path::Path,
    url: Option<&str>,
    people: &[Person],
    batch: usize,
    probes: &[usize],
) -> Result<Figures> {
    let url = url.map(|u| with_schema(u, "kith_bench_sealed"));
    if let Some(u) = &url {
        reset_schema(u, "kith_bench_sealed").await?;
    }
    let mut dir = DataDir::new(&root.join("sealed"), None)?;
    let opened = dir.initialise(url.as_deref()).await?;
    let store = opened.store;
    let ring = opened.keys.current();

    let started = Instant::now();
    insert_sealed(&store, &opened.keys, people, batch).await?;
    let insert = started.elapsed();

    let mut latencies = Vec::with_capacity(probes.len());
    for &i in probes {
        let email = &people[i].contact.emails[0];
        let started = Instant::now();
        let query = ListQuery {
            entity: EntityKind::Contacts,
            equals: vec![],
            ranges: vec![],
            terms: vec![ring.blind_term(IndexField::Email.as_str(), &email_lookup_key(email))],
            owners: None,
            sort: "created_at",
            descending: false,
            after: None,
            limit: 2,
        };
        let rows = store.list(&query).await?;
        let row = rows.first().context("a looked-up contact is missing")?;
        let key = ring.unwrap(&to_crypto(row.key.as_ref().context("no data key")?))?;
        let found: Contact = open_record(&key, row).map_err(api)?;
        latencies.push(started.elapsed());
        anyhow::ensure!(found.emails[0] == *email, "lookup returned another contact");
    }
    Ok(Figures::new(people.len(), insert, latencies))
}

/// Stores people as the server does: a data key each, every document
/// sealed, blind-index terms, `batch` contacts per transaction.
pub(crate) async fn insert_sealed(
    store: &kith_store::DynStore,
    keys: &kith_crypto::KeyringHandle,
    people: &[Person],
    batch: usize,
) -> Result<()> {
    let ring = keys.current();
    let now = kith_server::now_millis();
    for chunk in people.chunks(batch) {
        let mut records: Vec<(NewRecord, Option<kith_store::KeyRow>)> = Vec::with_capacity(chunk.len() * 4);
        for p in chunk {
            let key = DataKey::generate();
            let wrapped = to_store(ring.wrap(p.id, &key));
            let contact = seal_record(&ring, &key, &p.contact, p.id, p.id, now).map_err(api)?;
            records.push((contact, Some(wrapped)));
            for (id, it) in &p.interactions {
                records.push((seal_record(&ring, &key, it, *id, p.id, now).map_err(api)?, None));
            }
        }
        store.insert_batch(records).await?;
    }
    Ok(())
}

fn api(e: kith_server::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", e.code, e.detail)
}

/// A PostgreSQL URL whose connections use `schema`.
pub(crate) fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

pub(crate) async fn reset_schema(url: &str, schema: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

pub(crate) mod plaintext {
    //! The baseline: the same people in clear columns.
    use super::*;

    /// Kith's tables and indexes with the values in clear: the blind index
    /// becomes plain indexes on e-mail, phone and family name.
    const SCHEMA: &str = "
        CREATE TABLE plain_contacts (
            id TEXT PRIMARY KEY, given_name TEXT, family_name TEXT, email TEXT, phone TEXT,
            job_title TEXT, notes TEXT, tags TEXT, owner TEXT, company_id TEXT,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
        CREATE INDEX plain_contacts_email ON plain_contacts (email);
        CREATE INDEX plain_contacts_phone ON plain_contacts (phone);
        CREATE INDEX plain_contacts_family ON plain_contacts (family_name);
        CREATE INDEX plain_contacts_created ON plain_contacts (created_at, id);
        CREATE INDEX plain_contacts_updated ON plain_contacts (updated_at, id);
        CREATE INDEX plain_contacts_company ON plain_contacts (company_id);
        CREATE TABLE plain_interactions (
            id TEXT PRIMARY KEY, contact_id TEXT NOT NULL REFERENCES plain_contacts (id), company_id TEXT,
            kind TEXT NOT NULL, occurred_at TEXT NOT NULL, subject TEXT, body TEXT, owner TEXT,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
        CREATE INDEX plain_interactions_contact ON plain_interactions (contact_id, occurred_at);
        CREATE INDEX plain_interactions_company ON plain_interactions (company_id);
        CREATE INDEX plain_interactions_created ON plain_interactions (created_at, id);
        CREATE INDEX plain_interactions_updated ON plain_interactions (updated_at, id);";

    const CONTACT_COLUMNS: &str =
        "id, given_name, family_name, email, phone, job_title, notes, tags, owner, created_at, updated_at";
    const INTERACTION_COLUMNS: &str = "id, contact_id, kind, occurred_at, subject, body, owner, created_at, updated_at";
    /// Rows per INSERT, as Kith's store batches them.
    const ROWS_PER_STATEMENT: usize = 500;

    const LOOKUP: &str = "SELECT id, given_name, family_name, email, phone, job_title, notes, tags, owner, created_at, updated_at FROM plain_contacts WHERE email = $1";

    macro_rules! workload {
        ($pool:expr, $db:ty, $numbered:expr, $people:expr, $batch:expr, $probes:expr) => {{
            use sqlx::Row;
            let pool = $pool;
            sqlx::raw_sql(SCHEMA).execute(&pool).await?;
            let now = kith_server::now_millis();
            let started = Instant::now();
            for chunk in $people.chunks($batch) {
                let mut tx = pool.begin().await?;
                for people in chunk.chunks(ROWS_PER_STATEMENT) {
                    let text = format!(
                        "INSERT INTO plain_contacts ({CONTACT_COLUMNS}) VALUES {}",
                        kith_store::values_placeholders(people.len(), 11, $numbered)
                    );
                    let mut q = sqlx::query::<$db>(&text);
                    for p in people {
                        let c = &p.contact;
                        q = q
                            .bind(p.id.to_string())
                            .bind(c.given_name.clone())
                            .bind(c.family_name.clone())
                            .bind(email_lookup_key(&c.emails[0]))
                            .bind(c.phones[0].clone())
                            .bind(c.job_title.clone())
                            .bind(c.notes.clone())
                            .bind(c.tags.join(","))
                            .bind(c.owner.clone())
                            .bind(now)
                            .bind(now);
                    }
                    q.execute(&mut *tx).await?;
                    let interactions: Vec<(&Person, &(Uuid, Interaction))> =
                        people.iter().flat_map(|p| p.interactions.iter().map(move |i| (p, i))).collect();
                    for rows in interactions.chunks(ROWS_PER_STATEMENT) {
                        let text = format!(
                            "INSERT INTO plain_interactions ({INTERACTION_COLUMNS}) VALUES {}",
                            kith_store::values_placeholders(rows.len(), 9, $numbered)
                        );
                        let mut q = sqlx::query::<$db>(&text);
                        for (p, (id, it)) in rows {
                            q = q
                                .bind(id.to_string())
                                .bind(p.id.to_string())
                                .bind("call")
                                .bind(it.occurred_at.clone())
                                .bind(it.subject.clone())
                                .bind(it.body.clone())
                                .bind(it.owner.clone())
                                .bind(now)
                                .bind(now);
                        }
                        q.execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
            let insert = started.elapsed();
            let mut latencies = Vec::with_capacity($probes.len());
            for &i in $probes {
                let email = email_lookup_key(&$people[i].contact.emails[0]);
                let started = Instant::now();
                let row = sqlx::query::<$db>(LOOKUP).bind(email.clone()).fetch_one(&pool).await?;
                let found: String = row.try_get("email")?;
                latencies.push(started.elapsed());
                anyhow::ensure!(found == email, "lookup returned another contact");
            }
            pool.close().await;
            Ok(Figures::new($people.len(), insert, latencies))
        }};
    }

    pub(crate) async fn run(
        root: &std::path::Path,
        url: Option<&str>,
        people: &[Person],
        batch: usize,
        probes: &[usize],
    ) -> Result<Figures> {
        match url {
            Some(url) => {
                reset_schema(url, "kith_bench_plain").await?;
                let url = with_schema(url, "kith_bench_plain");
                let pool = sqlx::postgres::PgPoolOptions::new().max_connections(16).connect(&url).await?;
                workload!(pool, sqlx::Postgres, true, people, batch, probes)
            }
            None => {
                let options = kith_store::sqlite::connect_options(&root.join("plain.db"));
                let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
                workload!(pool, sqlx::Sqlite, false, people, batch, probes)
            }
        }
    }
}
