//! Group commit of activity, over real HTTP: concurrent pushes (and an import beside them)
//! share write transactions yet each event is stored once and each reply counts its own
//! batch truly; a full queue refuses a push with 503 and `Retry-After`, changes nothing,
//! and takes the batch once there is room again.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::time::Duration;

use cloop::ingest::DEFAULT_SESSION_GAP;
use cloop::ingest::import::{Format, import_file};
use cloop::ingest::synthetic::{CourseShape, Generator, caliper_event};
use cloop::store::CourseId;
use cloop::store::ingest::IngestKeyKind;
use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app_with};
use crate::ingest_support::{assert_rollups_match, course, envelope, key, platform, post_caliper};
use crate::on_both_backends;

const ZONE: &str = "Australia/Melbourne";

/// The advisory lock a PostgreSQL writer takes on a course's rollups: "CLOP" in the high
/// half of the key, the course id below.
fn rollup_lock(course: CourseId) -> i64 {
    (0x434C_4F50_i64 << 32) ^ course.0
}

/// Keeps the activity writer from committing: SQLite's write lock, held by a `sqlite3`
/// process, or the course's rollup lock on PostgreSQL, held by a connection of the test's.
enum WriterBlock {
    Sqlite(std::process::Child),
    Postgres(sqlx::PgConnection),
}

impl WriterBlock {
    async fn take(backend: Backend, url: &str, course: CourseId) -> Self {
        use sqlx::Connection;
        match backend {
            Backend::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .split('?')
                    .next()
                    .unwrap();
                let mut shell = std::process::Command::new("sqlite3")
                    .arg(path)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("the sqlite3 shell");
                let stdin = shell.stdin.as_mut().unwrap();
                stdin
                    .write_all(b"BEGIN IMMEDIATE;\nSELECT 'locked';\n")
                    .unwrap();
                stdin.flush().unwrap();
                let mut locked = String::new();
                std::io::BufReader::new(shell.stdout.as_mut().unwrap())
                    .read_line(&mut locked)
                    .unwrap();
                assert_eq!(locked.trim(), "locked");
                Self::Sqlite(shell)
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(rollup_lock(course))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(mut shell) => {
                shell
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(b"COMMIT;\n.quit\n")
                    .unwrap();
                shell.wait().unwrap();
            }
            Self::Postgres(mut conn) => {
                sqlx::query("SELECT pg_advisory_unlock_all()")
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

fn numbered(from: u64, n: u64) -> Vec<(u64, u64)> {
    (from..from + n).map(|i| (1358, i)).collect()
}

/// On a runtime of several threads, as the server runs: SQLite's writer waits for its lock
/// on a thread of its own (a single-threaded runtime would stall the whole server).
mod a_full_queue_refuses_a_push_with_503_and_takes_it_once_there_is_room {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await
    }

    async fn run(backend: Backend) {
        let Some(app) = spawn_app_with(backend, module_path!(), |c| {
            c.limits.activity_queue_events = 150
        })
        .await
        else {
            return;
        };
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 1358, ZONE).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let xapi_key =
            crate::ingest_support::key(&app.store, platform.id, IngestKeyKind::Xapi).await;
        // The user and item the events name exist once this is in.
        let first = post_caliper(&app, &key, envelope(&numbered(1, 1))).await;
        assert_eq!(first.status(), 200);

        // 100 events wait for the blocked writer, holding 100 of the queue's 150.
        let block = WriterBlock::take(backend, &app._database.url, course).await;
        let waiting = tokio::spawn({
            let (client, url, key) = (app.client.clone(), app.url("/caliper"), key.clone());
            async move {
                client
                    .post(url)
                    .bearer_auth(key)
                    .header("content-type", "application/json")
                    .body(envelope(&numbered(100, 100)))
                    .send()
                    .await
                    .unwrap()
            }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let refused = post_caliper(&app, &key, envelope(&numbered(200, 100))).await;
        assert_eq!(refused.status(), 503);
        let retry: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1, "Retry-After {retry}");
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("send this batch again"),
            "{body}"
        );
        assert!(
            !waiting.is_finished(),
            "the waiting batch is answered only once committed"
        );
        // The xAPI route meets the same queue: 60 statements do not fit in the 50 left.
        let post_xapi = || {
            app.client
                .post(app.url("/xapi/statements"))
                .basic_auth("lms", Some(&xapi_key))
                .header("X-Experience-API-Version", "1.0.3")
                .header("content-type", "application/json")
                .body(xapi_statements(60))
                .send()
        };
        let refused_xapi = post_xapi().await.unwrap();
        assert_eq!(refused_xapi.status(), 503);
        assert!(refused_xapi.headers().contains_key("retry-after"));

        block.release().await;
        let waited = waiting.await.unwrap();
        assert_eq!(waited.status(), 200);
        let report: Value = waited.json().await.unwrap();
        assert_eq!(
            (report["new"].as_u64(), report["duplicate"].as_u64()),
            (Some(100), Some(0)),
            "{report}"
        );
        assert_eq!(
            app.store.activity_of_course(course).await.unwrap().len(),
            101,
            "the refused batch changed nothing"
        );

        let resent = post_caliper(&app, &key, envelope(&numbered(200, 100))).await;
        assert_eq!(resent.status(), 200);
        let report: Value = resent.json().await.unwrap();
        assert_eq!(report["new"].as_u64(), Some(100), "{report}");
        assert_eq!(
            app.store.activity_of_course(course).await.unwrap().len(),
            201
        );
        let taken = post_xapi().await.unwrap();
        assert_eq!(
            taken.status(),
            200,
            "the refused statements are taken once there is room"
        );
        assert_rollups_match(&app.store, course, ZONE).await;
    }
}

/// `n` statements of Moodle's logstore_xapi plugin (its fixture's, with ids of their own).
fn xapi_statements(n: usize) -> String {
    let fixture: Vec<Value> = serde_json::from_str(&crate::ingest_support::fixture(
        "xapi/moodle-statements.json",
    ))
    .unwrap();
    let statements: Vec<Value> = (0..n)
        .map(|i| {
            let mut statement = fixture[i % fixture.len()].clone();
            statement["id"] = json!(format!("0f5b0d4e-2222-4c1b-8a55-{i:012}"));
            statement
        })
        .collect();
    Value::Array(statements).to_string()
}

/// Generated Learn-shaped events of course 1358: many students and items over a semester.
fn generated(n: u64) -> Vec<Value> {
    let mut generator = Generator::new(CourseShape::semester(40), 7, n);
    let mut events = Vec::new();
    while let Some(day) = generator.next_day() {
        events.extend(day.iter().map(|e| caliper_event(1358, e)));
    }
    events
}

fn caliper_envelope(events: &[Value]) -> String {
    json!({
        "sensor": "https://learn.example.edu/caliper",
        "sendTime": "2024-06-01T00:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "data": events,
    })
    .to_string()
}

on_both_backends! {
    async fn concurrent_pushers_and_an_import_store_each_event_once_and_count_it_once(backend: Backend) {
        let Some(app) = spawn_app_with(backend, module_path!(), |_| {}).await else { return };
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 1358, ZONE).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let events = generated(3_000);
        let n = events.len();
        // 16 pushers, each 6 batches of 100 from overlapping windows (a batch may repeat an
        // event within itself too), and an import of the first half beside them.
        let batches: Vec<Vec<Vec<Value>>> = (0..16)
            .map(|k| {
                (0..6)
                    .map(|j| {
                        let start = (k * 170 + j * 90) % n;
                        let mut batch: Vec<Value> = (0..95).map(|i| events[(start + i) % n].clone()).collect();
                        batch.extend(batch[..5].to_vec());
                        batch
                    })
                    .collect()
            })
            .collect();
        let id = |e: &Value| e["id"].as_str().unwrap().to_string();
        let mut truth: BTreeSet<String> = batches.iter().flatten().flatten().map(id).collect();
        let imported = &events[..n / 2];
        truth.extend(imported.iter().map(id));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.jsonl");
        std::fs::write(&file, imported.iter().map(|e| format!("{e}\n")).collect::<String>()).unwrap();

        let pushers: Vec<_> = batches
            .into_iter()
            .map(|mine| {
                let (client, url, key) = (app.client.clone(), app.url("/caliper"), key.clone());
                tokio::spawn(async move {
                    let mut new = 0;
                    for batch in mine {
                        let reply = client.post(&url).bearer_auth(&key).header("content-type", "application/json")
                            .body(caliper_envelope(&batch)).send().await.unwrap();
                        assert_eq!(reply.status(), 200);
                        let report: Value = reply.json().await.unwrap();
                        let (fresh, repeated) = (report["new"].as_u64().unwrap(), report["duplicate"].as_u64().unwrap());
                        assert_eq!(fresh + repeated, batch.len() as u64, "every event of the batch is counted: {report}");
                        assert!(repeated >= 5, "the batch's own repeats are duplicates: {report}");
                        new += fresh;
                    }
                    new
                })
            })
            .collect();
        let import = import_file(&app.store, course, Format::CaliperJsonl, &file, DEFAULT_SESSION_GAP, &|_| {});
        let import = import.await.unwrap();
        let mut new = import.report.new;
        assert_eq!(import.report.new + import.report.duplicate, imported.len() as u64);
        for pusher in pushers {
            new += pusher.await.unwrap();
        }
        assert_eq!(new as usize, truth.len(), "the replies' new events add up to the distinct events");
        assert_eq!(app.store.activity_of_course(course).await.unwrap().len(), truth.len(), "each event stored once");
        assert_rollups_match(&app.store, course, ZONE).await;
    }
}
