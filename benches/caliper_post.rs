//! `POST /caliper` over loopback with envelopes of 100 Blackboard-shaped events, from
//! several concurrent senders, into SQLite. `BENCH_EVENTS` sets the total (default
//! 200,000), `BENCH_SENDERS` the concurrency (default 4).

#[path = "support.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use cloop::ingest::synthetic::{CourseShape, Generator, caliper_event};
use cloop::store::ingest::IngestKeyKind;
use cloop::{App, Config};

#[tokio::main]
async fn main() {
    let target: u64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let senders: usize = std::env::var("BENCH_SENDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let app = App::build(Config::for_database(&url)).await.expect("app");
    let address = app.local_addr();
    let store = app.state().store.clone();
    let (platform, _course) = support::platform_and_course(&store, 1358).await;
    let (_, key) =
        cloop::ingest::new_ingest_key(&store, platform.id, IngestKeyKind::Caliper, "bench")
            .await
            .expect("key");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));

    // Envelopes of 100 events, built before the clock starts.
    let mut generator = Generator::new(CourseShape::semester(400), 9, target);
    let envelope = |events: &[serde_json::Value]| {
        serde_json::json!({
            "sensor": "https://learn.example.edu/caliper",
            "sendTime": "2024-06-01T00:00:00.000Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
            "data": events,
        })
        .to_string()
    };
    let mut bodies: Vec<String> = Vec::new();
    let mut batch = Vec::with_capacity(100);
    let mut total = 0;
    while let Some(day) = generator.next_day() {
        for e in day.iter() {
            batch.push(caliper_event(1358, e));
            total += 1;
            if batch.len() == 100 {
                bodies.push(envelope(&batch));
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        bodies.push(envelope(&batch));
    }
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let endpoint = format!("http://{address}/caliper");

    support::reset_peak_rss();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (bodies, next, client, endpoint, key) = (
            bodies.clone(),
            next.clone(),
            client.clone(),
            endpoint.clone(),
            key.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut stored = 0u64;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let response = client
                    .post(&endpoint)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                assert_eq!(response.status(), 200);
                let report: serde_json::Value = response.json().await.expect("report");
                stored += report["new"].as_u64().unwrap_or(0);
            }
            stored
        }));
    }
    let mut stored = 0;
    for task in tasks {
        stored += task.await.expect("sender");
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(stored as usize, total, "every event stored once");
    println!(
        "caliper_post_sqlite: {total} events in {} requests of 100 from {senders} senders in {secs:.1}s = {:.0} events/s; peak RSS (server and senders) {:.0} MB",
        bodies.len(),
        total as f64 / secs,
        support::peak_rss_mb()
    );
    let _ = stop.send(());
    let _ = server.await;
}
