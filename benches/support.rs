//! Shared by the benchmarks: the `cloop` binary's allocator, peak memory from /proc and a
//! course to import into.
// Each benchmark uses a part of this module.
#![allow(dead_code)]

use cloop::Store;
use cloop::store::CourseId;
use cloop::store::courses::{CourseCalendar, CourseUpsert};
use cloop::store::platforms::{NewPlatform, Platform};

/// The allocator the `cloop` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Resets the peak resident set size the kernel reports (VmHWM), where supported.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set size in MB since the last reset (VmHWM).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time (user and system) that process `pid` (or `self`) has used, in seconds: the
/// kernel's own accounting of it.
pub fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the
    // 12th and 13th, in clock ticks (100 a second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// `url` (a PostgreSQL server's) naming database `name` instead.
pub fn with_database(url: &str, name: &str) -> String {
    let mut url = url::Url::parse(url).expect("PostgreSQL URL");
    url.set_path(name);
    url.to_string()
}

/// Runs one statement (`CREATE DATABASE …`, `DROP DATABASE …`) on the server at `admin`.
pub async fn postgres_statement(admin: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect("database");
}

pub async fn platform_and_course(store: &Store, pk1: u64) -> (Platform, CourseId) {
    let platform = store
        .create_platform(&NewPlatform {
            name: "bench".into(),
            product: "blackboard".into(),
            issuer: "https://blackboard.com".into(),
            client_id: "bench".into(),
            auth_url: "https://developer.blackboard.com/api/v1/gateway/oidcauth".into(),
            jwks_url: "https://developer.blackboard.com/jwks.json".into(),
            token_url: "https://developer.blackboard.com/token".into(),
            token_audience: None,
        })
        .await
        .expect("platform");
    let course = store
        .upsert_course(
            platform.id,
            store
                .add_deployment(platform.id, "bench")
                .await
                .expect("deployment"),
            &CourseUpsert {
                lms_context_id: format!("ctx-{pk1}"),
                title: "Benchmark course".into(),
                ..Default::default()
            },
        )
        .await
        .expect("course");
    store
        .set_course_lms_refs(course.id, Some(&format!("_{pk1}_1")), None)
        .await
        .expect("refs");
    store
        .set_course_calendar(
            course.id,
            &CourseCalendar {
                start_date: time::macros::date!(2024 - 02 - 26),
                weeks: 12,
                time_zone: "Australia/Melbourne".into(),
            },
        )
        .await
        .expect("calendar");
    (platform, course.id)
}

/// Prints one row of the benchmark table that `bench/table` gathers into BENCHMARKS.md's
/// latest table: what was measured, the figure, its baseline measured in the same run, the
/// target, and whether the figure meets it.
pub fn table_row(what: &str, figure: &str, baseline: &str, target: &str, pass: bool) {
    let verdict = if pass { "pass" } else { "FAIL" };
    println!("row: | {what} | {figure} | {baseline} | {target} | {verdict} |");
}
