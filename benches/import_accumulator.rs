//! Import of an activity accumulator file shaped like a real one (1,000 students, their
//! items, 9 columns including the `data` URL, time-ordered, 2 % of rows repeated exactly),
//! end to end (parsing, resolving, inserting, rollups and sessions), beside a bare load of
//! the same file: `sqlite3 .import` into a table of text columns for SQLite, `psql \copy`
//! for PostgreSQL (when `CLOOP_BENCH_POSTGRES_URL` or `CLOOP_TEST_POSTGRES_URL` names a
//! server). Each pair runs interleaved `BENCH_ROUNDS` times (default 2) and prints the
//! ratio. `BENCH_EVENTS` sets the rows (default 2,000,000).

#[path = "support.rs"]
mod support;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use cloop::Store;
use cloop::ingest::DEFAULT_SESSION_GAP;
use cloop::ingest::import::{Format, import_file};
use cloop::ingest::synthetic::{
    CourseShape, Generator, SynthEvent, accumulator_event_type, local_text,
};

const COLUMNS: &str =
    "pk1,event_type,user_pk1,course_pk1,content_pk1,forum_pk1,data,timestamp,session_id";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let target = env_number("BENCH_EVENTS", 2_000_000);
    let rounds = env_number("BENCH_ROUNDS", 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("accumulator.csv");
    let started = Instant::now();
    let rows = write_file(&file, target);
    println!(
        "generated {rows} rows ({:.0} MB) in {:.1}s",
        std::fs::metadata(&file).expect("size").len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let mut databases = vec![("sqlite", None)];
    let admin = std::env::var("CLOOP_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("CLOOP_TEST_POSTGRES_URL"))
        .ok();
    if let Some(admin) = &admin {
        databases.push(("postgres", Some(admin.clone())));
    }
    for (engine, admin) in databases {
        let (mut ours, mut bare, mut peak_rss) = (Vec::new(), Vec::new(), 0.0_f64);
        for round in 0..rounds {
            let scratch = dir.path().join(format!("{engine}-{round}"));
            std::fs::create_dir_all(&scratch).expect("scratch");
            let name = format!("cloop_import_bench_{}_{round}", std::process::id());
            let (url, base) = match &admin {
                None => (
                    format!("sqlite://{}", scratch.join("cloop.db").display()),
                    bare_sqlite(&scratch.join("bare.db"), &file),
                ),
                Some(admin) => {
                    support::postgres_statement(admin, &format!("CREATE DATABASE {name}")).await;
                    let url = support::with_database(admin, &name);
                    (url.clone(), bare_postgres(&url, &file))
                }
            };
            bare.push(base);
            let (secs, rss) = import(engine, &url, &file).await;
            ours.push(secs);
            peak_rss = peak_rss.max(rss);
            if let Some(admin) = &admin {
                support::postgres_statement(admin, &format!("DROP DATABASE {name} WITH (FORCE)"))
                    .await;
            }
        }
        let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let ratio = best(&ours) / best(&bare);
        println!(
            "import_accumulator_{engine}: {rows} rows, best of {rounds} interleaved: cloop {:.1} s \
             ({:.0} rows/s), bare load {:.1} s; cloop / bare = {ratio:.2} (each round: {})",
            best(&ours),
            rows as f64 / best(&ours),
            best(&bare),
            ours.iter()
                .zip(&bare)
                .map(|(o, b)| format!("{:.2}", o / b))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (bare_tool, most) = match engine {
            "sqlite" => ("`sqlite3 .import`", 1.5),
            _ => ("`psql \\copy`", 3.0),
        };
        support::table_row(
            &format!("import of {rows} accumulator rows into {engine}"),
            &format!(
                "{:.1} s ({:.0} rows/s)",
                best(&ours),
                rows as f64 / best(&ours)
            ),
            &format!("{bare_tool} {:.1} s; ratio {ratio:.2}", best(&bare)),
            &format!("≤ {most}× the bare load"),
            ratio <= most,
        );
        if engine == "sqlite" && rows >= 10_000_000 {
            let rate = rows as f64 / best(&ours);
            support::table_row(
                &format!("import of {rows} rows into sqlite: rate and peak RSS"),
                &format!("{rate:.0} rows/s, {peak_rss:.0} MB"),
                &format!("`sqlite3 .import` {:.0} rows/s", rows as f64 / best(&bare)),
                "> 500,000 rows/s, < 200 MB",
                rate > 500_000.0 && peak_rss < 200.0,
            );
        }
    }
}

/// The accumulator file: one row per generated event, 2 % of them written twice.
fn write_file(path: &Path, target: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("file"));
    writeln!(out, "{COLUMNS}").expect("write");
    let mut generator = Generator::new(CourseShape::semester(1_000), 42, target);
    let course = generator.shape.course_pk1;
    let mut rows = 0;
    while let Some(day) = generator.next_day() {
        for e in day {
            let line = row(course, &e);
            let times = if e.pk1 % 50 == 0 { 2 } else { 1 };
            for _ in 0..times {
                out.write_all(line.as_bytes()).expect("write");
                rows += 1;
            }
        }
    }
    out.flush().expect("flush");
    rows
}

fn row(course: u64, e: &SynthEvent) -> String {
    let (content, forum) = match (e.item, accumulator_event_type(e)) {
        (Some(i), "DISCUSSION_RESPONSE") => (String::new(), i.to_string()),
        (Some(i), _) => (i.to_string(), String::new()),
        (None, _) => (String::new(), String::new()),
    };
    let data = match e.item {
        Some(i) => format!(
            "/webapps/blackboard/content/listContent.jsp?course_id=_{course}_1&content_id=_{i}_1"
        ),
        None => format!("/webapps/blackboard/execute/launcher?type=Course&id=_{course}_1"),
    };
    format!(
        "{},{},{},{course},{content},{forum},{data},{},{}\n",
        e.pk1,
        accumulator_event_type(e),
        e.user_pk1,
        local_text(e.local_ms),
        e.session
    )
}

/// cloop's import of `file` into a new database at `url`; seconds and peak RSS in MB.
async fn import(engine: &str, url: &str, file: &Path) -> (f64, f64) {
    let store = Store::connect(url).await.expect("store");
    store.migrate().await.expect("migrate");
    let (_, course) = support::platform_and_course(&store, 1358).await;
    support::reset_peak_rss();
    let cpu_before = support::cpu_seconds_of("self");
    let started = Instant::now();
    let report = import_file(
        &store,
        course,
        Format::BbAccumulator,
        file,
        DEFAULT_SESSION_GAP,
        &|_| {},
    )
    .await
    .expect("import");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        report.report.rejected,
        0,
        "{:?}",
        report.report.rejections.first()
    );
    println!(
        "  cloop import into {engine}: {} rows ({} new) in {secs:.1}s = {:.0} rows/s; CPU {:.1} s; peak RSS {:.0} MB",
        report.rows,
        report.report.new,
        report.rows as f64 / secs,
        support::cpu_seconds_of("self") - cpu_before,
        support::peak_rss_mb()
    );
    let bytes = database_bytes(&store, url).await;
    println!(
        "  database after the import: {:.0} MB, {:.0} MB per million events",
        bytes as f64 / 1e6,
        bytes as f64 / report.report.new as f64
    );
    store.close().await;
    (secs, support::peak_rss_mb())
}

/// The bytes the database takes: SQLite's file and its log, PostgreSQL's own count.
async fn database_bytes(store: &Store, url: &str) -> u64 {
    match store {
        Store::Sqlite(_) => {
            let path = url.trim_start_matches("sqlite://");
            [String::new(), "-wal".to_string()]
                .iter()
                .filter_map(|suffix| std::fs::metadata(format!("{path}{suffix}")).ok())
                .map(|m| m.len())
                .sum()
        }
        Store::Postgres(db) => {
            let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
                .fetch_one(&db.pool)
                .await
                .expect("database size");
            bytes as u64
        }
    }
}

/// The bare table both loads fill: the file's columns, all text.
fn bare_table() -> String {
    let columns: Vec<String> = COLUMNS.split(',').map(|c| format!("{c} TEXT")).collect();
    format!("CREATE TABLE bare ({});", columns.join(", "))
}

/// `sqlite3 .import` of `file` into the bare table; seconds.
fn bare_sqlite(db: &Path, file: &Path) -> f64 {
    let script = format!(
        "{}\n.mode csv\n.import --skip 1 {} bare\n",
        bare_table(),
        file.display()
    );
    timed(Command::new("sqlite3").arg(db), &script, "sqlite3 .import")
}

/// `psql \copy` of `file` into the bare table at `url`; seconds.
fn bare_postgres(url: &str, file: &Path) -> f64 {
    let script = format!(
        "{}\n\\copy bare FROM '{}' WITH (FORMAT csv, HEADER true)\n",
        bare_table(),
        file.display()
    );
    timed(
        Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", url]),
        &script,
        "psql \\copy",
    )
}

fn timed(command: &mut Command, script: &str, what: &str) -> f64 {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    assert!(child.wait().expect(what).success(), "{what} failed");
    let secs = started.elapsed().as_secs_f64();
    println!("  {what}: {secs:.1}s");
    secs
}
