//! The pages bench's baseline: the course's events copied into a plain SQLite table of raw
//! events, and for each page a straightforward `GROUP BY` computing what the page shows.

use std::path::Path;
use std::time::{Duration, Instant};

use cloop::Store;
use cloop::activity::ActivityCursor;
use cloop::store::CourseId;
use rusqlite::Connection;

use super::Course;

const DAY: i64 = 86_400_000;
const WEEK: i64 = 7 * DAY;

/// Copies the course's events, content items, first group's members and the instants of
/// its lecture's and deadline's occurrences into a new database at `raw`; the events
/// copied.
pub async fn load(url: &str, course: CourseId, raw: &Path) -> u64 {
    let store = Store::connect(url).await.expect("store");
    let Store::Sqlite(db) = &store else {
        panic!("the benchmark runs on SQLite")
    };
    let items: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, item_group FROM content_items WHERE course_id = $1")
            .bind(course)
            .fetch_all(&db.pool)
            .await
            .expect("items");
    let members: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT group_id, user_id FROM course_group_members WHERE group_id IN \
         (SELECT id FROM course_groups WHERE course_id = $1)",
    )
    .bind(course)
    .fetch_all(&db.pool)
    .await
    .expect("members");
    let (deadline,): (i64,) = sqlx::query_as(
        "SELECT starts_at FROM course_events WHERE course_id = $1 AND kind = 'submission' \
         ORDER BY id LIMIT 1",
    )
    .bind(course)
    .fetch_one(&db.pool)
    .await
    .expect("deadline");
    let mut conn = Connection::open(raw).expect("raw database");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
         CREATE TABLE raw (course INTEGER, user INTEGER, item INTEGER, kind TEXT, t INTEGER);
         CREATE TABLE items (id INTEGER PRIMARY KEY, grp TEXT);
         CREATE TABLE members (grp INTEGER, user INTEGER);
         CREATE TABLE occ (event TEXT, k INTEGER, t0 INTEGER);",
    )
    .expect("schema");
    let tx = conn.transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare("INSERT INTO items VALUES (?1, ?2)")
            .expect("insert");
        for (id, group) in &items {
            insert.execute((id, group)).expect("item");
        }
        let mut insert = tx
            .prepare("INSERT INTO members VALUES (?1, ?2)")
            .expect("insert");
        for member in &members {
            insert.execute(*member).expect("member");
        }
        let mut insert = tx
            .prepare("INSERT INTO occ VALUES (?1, ?2, ?3)")
            .expect("insert");
        insert.execute(("deadline", 0, deadline)).expect("occ");
        // The demo's first lecture event: Wednesdays 10:00, weeks 1 to 6.
        for k in 0..6 {
            insert
                .execute((
                    "lecture",
                    k,
                    start_ms() + k * WEEK + 2 * DAY + 10 * 3_600_000,
                ))
                .expect("occ");
        }
    }
    let mut copied = 0;
    {
        let mut insert = tx
            .prepare("INSERT INTO raw VALUES (?1, ?2, ?3, ?4, ?5)")
            .expect("insert");
        let mut cursor = ActivityCursor::default();
        loop {
            let page = store
                .activity_page(course, &mut cursor)
                .await
                .expect("page");
            if page.is_empty() {
                break;
            }
            for e in &page {
                insert
                    .execute((
                        course.0,
                        e.user_id.map(|u| u.0),
                        e.content_item_id.map(|i| i.0),
                        e.kind.as_str(),
                        e.occurred_at.0,
                    ))
                    .expect("event");
            }
            copied += page.len() as u64;
        }
    }
    tx.commit().expect("commit");
    conn.execute_batch("CREATE INDEX raw_course_time ON raw (course, t); ANALYZE;")
        .expect("index");
    store.close().await;
    copied
}

/// The instant the course's first teaching day begins (the demo's current offering).
fn start_ms() -> i64 {
    let (y, m, d) = cloop::demo::CURRENT.start;
    jiff::civil::date(y as i16, m as i8, d as i8)
        .at(0, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::get(cloop::demo::seed::TIME_ZONE).expect("zone"))
        .expect("instant")
        .timestamp()
        .as_millisecond()
}

/// Each page's `GROUP BY` (over all its tables' figures), by page name.
fn queries(c: &Course) -> Vec<(String, String)> {
    let (s, course) = (start_ms(), c.id.0);
    let all = format!("r.course = {course}");
    let week5 = format!(
        "{all} AND r.t >= {} AND r.t < {}",
        s + 4 * WEEK,
        s + 5 * WEEK
    );
    let by_week_and_group = |filter: &str| {
        format!(
            "SELECT (r.t - {s}) / {WEEK} AS wk, i.grp, count(*), count(DISTINCT r.user) \
             FROM raw r LEFT JOIN items i ON i.id = r.item WHERE {filter} GROUP BY wk, i.grp"
        )
    };
    let windows = |event: &str, group_by: &str, filter: &str| {
        format!(
            "SELECT {group_by}, sum(r.t < o.t0), sum(r.t >= o.t0), count(DISTINCT r.user) \
             FROM occ o JOIN raw r ON r.course = {course} AND r.t >= o.t0 - 2 * {DAY} \
             AND r.t < o.t0 + 2 * {DAY} LEFT JOIN items i ON i.id = r.item \
             WHERE o.event = '{event}' {filter} GROUP BY {group_by}"
        )
    };
    let per_student = |filter: &str| {
        format!(
            "SELECT r.user, count(*), count(DISTINCT (r.t - {s}) / {DAY}), max(r.t) \
             FROM raw r WHERE {filter} GROUP BY r.user"
        )
    };
    let mut q = vec![
        ("dashboard, all weeks".to_string(), by_week_and_group(&all)),
        (
            "dashboard, week 5".into(),
            by_week_and_group(&week5)
                .replace(&format!("/ {WEEK} AS wk"), &format!("/ {DAY} AS wk")),
        ),
        (
            "dashboard, one tutorial".into(),
            by_week_and_group(&format!(
                "{all} AND r.user IN (SELECT user FROM members WHERE grp = {})",
                c.group
            )),
        ),
    ];
    for group in ["content", "communication", "assessment"] {
        let of_group = format!("{all} AND i.grp = '{group}'");
        let per_item = |measure: &str, filter: &str| {
            format!(
                "SELECT r.item, (r.t - {s}) / {WEEK} AS wk, {measure} FROM raw r \
                 JOIN items i ON i.id = r.item WHERE {filter} GROUP BY r.item, wk"
            )
        };
        let views = format!("{of_group} AND r.kind = 'view'");
        q.push((format!("{group}, views"), per_item("count(*)", &views)));
        q.push((
            format!("{group}, students"),
            per_item("count(DISTINCT r.user)", &views),
        ));
        q.push((
            format!("{group}, events"),
            windows("lecture", "r.item", &format!("AND i.grp = '{group}'")),
        ));
        // Only Communication has a posts tab, only Assessment an attempts tab.
        let (tab, kinds) = match group {
            "communication" => ("posts", "('post')"),
            "assessment" => ("attempts", "('attempt', 'submission')"),
            _ => continue,
        };
        q.push((
            format!("{group}, {tab}"),
            per_item(
                "count(*), count(DISTINCT r.user)",
                &format!("{of_group} AND r.kind IN {kinds}"),
            ),
        ));
    }
    q.extend([
        ("students, all weeks".to_string(), per_student(&all)),
        ("students, week 5".into(), per_student(&week5)),
        (
            "students, lecture windows".into(),
            windows("lecture", "r.user", ""),
        ),
        (
            "outreach".into(),
            format!(
                "SELECT r.user, max(r.t), sum(r.t >= (SELECT max(t) FROM raw) - 14 * {DAY}) \
                 FROM raw r WHERE {all} GROUP BY r.user"
            ),
        ),
        (
            "student detail".into(),
            format!(
                "SELECT r.item, (r.t - {s}) / {DAY} AS d, count(*) FROM raw r \
                 WHERE {all} AND r.user = {} GROUP BY r.item, d",
                c.student
            ),
        ),
        (
            "resource detail".into(),
            format!(
                "SELECT r.user, (r.t - {s}) / {DAY} AS d, count(*) FROM raw r \
                 WHERE {all} AND r.item = {} GROUP BY r.user, d",
                c.item
            ),
        ),
        (
            "comparison, lecture ±48 h".into(),
            windows("lecture", "r.user", ""),
        ),
        (
            "comparison, deadline ±48 h".into(),
            windows("deadline", "r.user", ""),
        ),
    ]);
    q
}

/// p50 and p95 of `runs` runs of each page's `GROUP BY` (after one warm-up run), by page.
pub fn time_all(raw: &Path, c: &Course, runs: u64) -> Vec<(String, (Duration, Duration))> {
    let conn = Connection::open(raw).expect("raw database");
    queries(c)
        .into_iter()
        .map(|(page, sql)| {
            let mut statement = conn.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let mut times = Vec::new();
            for run in 0..=runs {
                let t = Instant::now();
                let mut rows = statement.query(()).expect("query");
                while rows.next().expect("row").is_some() {}
                if run > 0 {
                    times.push(t.elapsed());
                }
            }
            let (p50, p95) = super::percentiles(times);
            println!(
                "GROUP BY for {page}: p50 {:.1} ms, p95 {:.1} ms",
                super::ms(p50),
                super::ms(p95)
            );
            (page, (p50, p95))
        })
        .collect()
}
