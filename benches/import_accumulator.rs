//! Import of a synthetic activity accumulator file into SQLite, end to end (parsing,
//! resolving, inserting, rollups and sessions). `BENCH_EVENTS` sets the size (default
//! 10,000,000). Prints events/s and the peak resident memory of the import.

#[path = "support.rs"]
mod support;

use std::io::{BufWriter, Write};
use std::time::Instant;

use cloop::Store;
use cloop::ingest::DEFAULT_SESSION_GAP;
use cloop::ingest::import::{Format, import_file};
use cloop::ingest::synthetic::{CourseShape, Generator, write_accumulator};

#[tokio::main]
async fn main() {
    let target: u64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("accumulator.csv");

    let started = Instant::now();
    let mut generator = Generator::new(CourseShape::semester(1_500), 42, target);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&file).expect("file"));
    let events = write_accumulator(&mut generator, &mut out, false).expect("write");
    out.flush().expect("flush");
    drop(out);
    let size = std::fs::metadata(&file).expect("size").len();
    println!(
        "generated {events} events ({:.0} MB) in {:.1}s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrate");
    let (_, course) = support::platform_and_course(&store, 1358).await;

    support::reset_peak_rss();
    let cpu_before = support::cpu_seconds_of("self");
    let started = Instant::now();
    let report = import_file(
        &store,
        course,
        Format::BbAccumulator,
        &file,
        DEFAULT_SESSION_GAP,
        &|_| {},
    )
    .await
    .expect("import");
    let secs = started.elapsed().as_secs_f64();
    let peak = support::peak_rss_mb();
    let cpu = support::cpu_seconds_of("self") - cpu_before;
    assert_eq!(
        report.report.rejected,
        0,
        "{:?}",
        report.report.rejections.first()
    );
    println!(
        "import_accumulator_sqlite: {} events ({} new) in {secs:.1}s = {:.0} events/s; CPU {cpu:.1} s; peak RSS {peak:.0} MB",
        report.rows,
        report.report.new,
        report.rows as f64 / secs
    );
    let days = store.student_day_rollups(course).await.expect("rollups");
    println!(
        "rollups: {} student-days, {} sessions",
        days.len(),
        days.iter().map(|d| d.sessions).sum::<i64>()
    );
    store.close().await;
}
