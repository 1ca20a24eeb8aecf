//! PostgreSQL stopped under a running `cloop serve` and started again (a cluster of the
//! test's own): meanwhile every request is answered 503, after it every acknowledged event is there once.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cloop::store::CourseId;
use cloop::store::courses::CourseCalendar;
use cloop::store::ingest::IngestKeyKind;

use crate::cli::{cloop, free_port, terminate, wait_healthy};
use crate::helpers::{TestDatabase, app_beside_process, postgres_server};
use crate::ingest_support::{envelope, event_count, key};
use crate::lti_platform::{MockPlatform, launch_with};
use crate::support::postgres_cluster::PostgresCluster;

const PK1: u64 = 6300;
const SENDERS: u64 = 4;
const PER_BATCH: u64 = 20;
/// Longer than any answer may take: the pool gives up on a database it cannot reach after
/// 10 s, and a request may wait for one such attempt before its own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);

/// What one client saw: answers by status, and requests that got no answer at all.
#[derive(Default)]
struct Seen {
    statuses: BTreeMap<u16, u64>,
    unanswered: Vec<String>,
}

impl Seen {
    fn count(
        &mut self,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Option<reqwest::Response> {
        match sent {
            Ok(answer) => {
                *self.statuses.entry(answer.status().as_u16()).or_default() += 1;
                Some(answer)
            }
            Err(e) => {
                self.unanswered.push(e.to_string());
                None
            }
        }
    }
}

/// An LMS's sender: posts its batches in turn, each until it is answered 200 (anything
/// else means "again shortly"), until told to stop. Returns what it saw, the events it
/// sent and those the replies called new.
async fn sender(
    port: u16,
    key: String,
    number: u64,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicU64>,
) -> (Seen, u64, u64) {
    let client = reqwest::Client::new();
    let (mut seen, mut sent, mut new) = (Seen::default(), 0, 0);
    for batch in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let events: Vec<(u64, u64)> = (0..PER_BATCH)
            .map(|i| (PK1, number * 1_000_000 + batch * PER_BATCH + i))
            .collect();
        let body = envelope(&events);
        loop {
            let answer = seen.count(post_batch(&client, port, &key, body.clone()).await);
            if let Some(answer) = answer
                && answer.status() == 200
            {
                let report: serde_json::Value = answer.json().await.unwrap();
                new += report["new"].as_u64().unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent += PER_BATCH;
        acknowledged.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (seen, sent, new)
}

async fn post_batch(
    client: &reqwest::Client,
    port: u16,
    key: &str,
    body: String,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("http://127.0.0.1:{port}/caliper"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
}

/// An instructor with the course page open, and a load balancer asking `/healthz`, in turn
/// until told to stop.
async fn viewer(page: String, health: String, stop: Arc<AtomicBool>) -> Seen {
    let client = reqwest::Client::new();
    let mut seen = Seen::default();
    while !stop.load(Ordering::SeqCst) {
        for url in [&page, &health] {
            seen.count(client.get(url).timeout(REQUEST_TIMEOUT).send().await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// Asserts a request made while the database is down is answered 503, says so, and says
/// when to come back.
async fn assert_unavailable(answer: reqwest::Result<reqwest::Response>, what: &str) {
    let answer = answer.unwrap_or_else(|e| panic!("{what} got no answer: {e}"));
    assert_eq!(answer.status(), 503, "{what}");
    if what != "/healthz" {
        assert_eq!(answer.headers()["retry-after"], "5", "{what}");
    }
    let body = answer.text().await.unwrap();
    let expected = if what == "/healthz" {
        "unavailable"
    } else {
        "database is not answering"
    };
    assert!(body.contains(expected), "{what}: {body}");
}

/// Waits (bounded) until the database answers through the server again.
async fn wait_until_served_again(port: u16, server: &mut Child) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let answer = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await;
        if answer.is_ok_and(|a| a.status() == 200) {
            return;
        }
        assert!(server.try_wait().unwrap().is_none(), "cloop serve exited");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until `counter` has grown by `by`.
async fn wait_for_more(counter: &AtomicU64, by: u64, what: &str) {
    let target = counter.load(Ordering::SeqCst) + by;
    let started = Instant::now();
    while counter.load(Ordering::SeqCst) < target {
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn postgres_stopped_and_started_under_load_answers_503_meanwhile_and_loses_no_event() {
    let test = "postgres_stopped_and_started_under_load";
    if postgres_server(test).is_none() {
        return;
    }
    let Some(cluster) = PostgresCluster::create(test) else {
        return;
    };
    cluster.start();
    let port = free_port();
    let app = app_beside_process(TestDatabase::at(cluster.url()), port).await;
    let (mock, platform) = MockPlatform::start(&app, "https://learn.example.edu", "learn-1").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut server = cloop(dir.path())
        .arg("serve")
        .env("CLOOP_DATABASE_URL", cluster.url())
        .env("CLOOP_LISTEN", format!("127.0.0.1:{port}"))
        .env("CLOOP_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("CLOOP_ALLOW_PRIVATE_URLS", "true")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut server).await;

    // An instructor's launch opens the course, which Learn then pushes events of.
    let launch = launch_with(&app, &mock, |_| {}).await;
    assert_eq!(launch.status(), 303);
    let landing = launch.headers()["location"].to_str().unwrap().to_string();
    let course: CourseId = CourseId(
        landing
            .trim_start_matches("/courses/")
            .split(['?', '/'])
            .next()
            .unwrap()
            .parse()
            .unwrap(),
    );
    let store = &app.store;
    store
        .set_course_lms_refs(course, Some(&format!("_{PK1}_1")), None)
        .await
        .unwrap();
    let calendar = CourseCalendar {
        start_date: time::macros::date!(2026 - 03 - 02),
        weeks: 13,
        time_zone: "UTC".into(),
    };
    store.set_course_calendar(course, &calendar).await.unwrap();
    let key = key(store, platform.id, IngestKeyKind::Caliper).await;

    let (stop, acknowledged) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let senders: Vec<_> = (0..SENDERS)
        .map(|n| {
            tokio::spawn(sender(
                port,
                key.clone(),
                n,
                stop.clone(),
                acknowledged.clone(),
            ))
        })
        .collect();
    let page = app.url(&landing);
    let health = app.url("/healthz");
    let viewer = tokio::spawn(viewer(page.clone(), health.clone(), stop.clone()));
    wait_for_more(&acknowledged, SENDERS * 3, "no batch was acknowledged").await;

    // Down: what is asked meanwhile is refused with 503, not left hanging or failed with 500.
    let down = Arc::new(cluster);
    let stopping = down.clone();
    tokio::task::spawn_blocking(move || stopping.stop_immediately())
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let probe: Vec<(u64, u64)> = (0..PER_BATCH).map(|i| (PK1, 9_000_000 + i)).collect();
    let (health_answer, page_answer, push_answer) = tokio::join!(
        client.get(&health).timeout(REQUEST_TIMEOUT).send(),
        client.get(&page).timeout(REQUEST_TIMEOUT).send(),
        post_batch(&client, port, &key, envelope(&probe)),
    );
    assert_unavailable(health_answer, "/healthz").await;
    assert_unavailable(page_answer, "the course page").await;
    assert_unavailable(push_answer, "POST /caliper").await;
    assert!(
        server.try_wait().unwrap().is_none(),
        "cloop serve lives through the outage"
    );

    // Up again: served at once, and the refused batch is taken whole.
    let starting = down.clone();
    tokio::task::spawn_blocking(move || starting.start())
        .await
        .unwrap();
    wait_until_served_again(port, &mut server).await;
    assert_eq!(client.get(&page).send().await.unwrap().status(), 200);
    let resent = post_batch(&client, port, &key, envelope(&probe))
        .await
        .unwrap();
    assert_eq!(resent.status(), 200);
    let report: serde_json::Value = resent.json().await.unwrap();
    assert_eq!(
        report["new"], PER_BATCH,
        "the refused batch had stored nothing"
    );
    wait_for_more(
        &acknowledged,
        SENDERS * 3,
        "no batch was acknowledged after the restart",
    )
    .await;

    stop.store(true, Ordering::SeqCst);
    let mut seen = vec![viewer.await.unwrap()];
    let (mut sent, mut new) = (PER_BATCH, PER_BATCH);
    for sender in senders {
        let (saw, their_sent, their_new) = sender.await.unwrap();
        seen.push(saw);
        sent += their_sent;
        new += their_new;
    }
    terminate(server);
    let log = std::fs::read_to_string(&log).unwrap();
    for saw in &seen {
        assert!(
            saw.unanswered.is_empty(),
            "every request was answered: {:?}",
            saw.unanswered
        );
        assert!(
            saw.statuses.keys().all(|s| [200, 503].contains(s)),
            "200 or 503 only: {:?}\n{log}",
            saw.statuses
        );
    }
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(
        event_count(store, course).await,
        sent,
        "every acknowledged event is stored exactly once"
    );
    // A batch committed as the database went down, whose answer was lost, counts as
    // duplicates when resent: replies never claim more new events than there are.
    assert!(new <= sent, "{new} new in replies of {sent} sent");
    store.close().await;
}
