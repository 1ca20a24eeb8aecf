//! The soak's clients in this process: instructors turning through course pages, LMS
//! senders pushing Caliper batches, and the driver that has the server sync the course.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloop::ingest::synthetic::{CourseShape, Generator, SynthEvent, caliper_event};
use cloop::store::{CourseId, Store};

use crate::PUSHERS;
use crate::blackboard_fake::COURSE_PK;

pub const EVENTS_PER_BATCH: usize = 100;
pub const PUSH_EVERY: Duration = Duration::from_millis(100);
/// The course's pages and tabs the instructors turn through.
const PAGES: &[&str] = &[
    "",
    "?week=5",
    "/students",
    "/students?week=5",
    "/content?tab=views",
    "/content?tab=students",
    "/communication?tab=posts",
    "/assessment?tab=attempts",
    "/assessment?tab=grades",
    "/outreach",
    "/events",
    "/courses",
    "/settings",
];

/// One instructor: the course's pages in turn, each as soon as the last has arrived.
pub async fn instructor(
    base: String,
    cookie: String,
    n: usize,
    deadline: tokio::time::Instant,
) -> (Vec<Duration>, Vec<String>) {
    let client = reqwest::Client::new();
    let (mut times, mut errors) = (Vec::new(), Vec::new());
    for page in PAGES.iter().cycle().skip(n) {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        let url = format!("{base}{page}");
        let asked = Instant::now();
        match client.get(&url).header("cookie", &cookie).send().await {
            Ok(answer) if answer.status() == 200 => match answer.text().await {
                Ok(body) if body.contains("</html>") => times.push(asked.elapsed()),
                other => errors.push(format!("{url}: {other:?}")),
            },
            Ok(answer) => errors.push(format!(
                "{url}: {} {:?}",
                answer.status(),
                answer.text().await
            )),
            Err(e) => errors.push(format!("{url}: {e}")),
        }
    }
    (times, errors)
}

/// One LMS sender: a batch of events, then a pause, until the deadline. Returns the
/// batches sent, the events the replies called new, and the failures.
pub async fn pusher(
    endpoint: String,
    key: String,
    source: Arc<Mutex<EventSource>>,
    deadline: tokio::time::Instant,
) -> (usize, u64, Vec<String>) {
    let client = reqwest::Client::new();
    let (mut pushes, mut stored, mut errors) = (0, 0, Vec::new());
    let mut every = tokio::time::interval(PUSH_EVERY);
    while tokio::time::Instant::now() < deadline {
        every.tick().await;
        let Some(body) = source.lock().expect("events").next_envelope() else {
            break;
        };
        pushes += 1;
        let sent = client
            .post(&endpoint)
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status() == 200 => {
                let report: serde_json::Value = answer.json().await.expect("report");
                stored += report["new"].as_u64().unwrap_or(0);
            }
            Ok(answer) => errors.push(answer.status().to_string()),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (pushes, stored, errors)
}

/// Syncs of the course by the server's job worker, one after another until the deadline
/// (the last is waited for): how many ran, and those that did not succeed.
pub async fn syncs(
    url: String,
    course: CourseId,
    deadline: tokio::time::Instant,
) -> (usize, Vec<String>) {
    let store = Store::connect(&url).await.expect("store");
    let (mut runs, mut errors) = (0, Vec::new());
    // The last run counted; one the launches queued may be running already.
    let latest = store.latest_sync_run(course).await.expect("runs");
    let mut counted = latest.filter(|r| r.finished_at.is_some()).map(|r| r.id);
    while tokio::time::Instant::now() < deadline {
        // Queued once no other sync waits (one waiting would stand for this one); it runs
        // after the sync running now, if any.
        let give_up = deadline + Duration::from_secs(120);
        while !cloop::jobs::enqueue_course_sync(&store, course)
            .await
            .expect("queue a sync")
            && tokio::time::Instant::now() < give_up
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let finished = loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let run = store.latest_sync_run(course).await.expect("runs");
            if let Some(run) = run
                && Some(run.id) != counted
                && run.finished_at.is_some()
            {
                break Some(run);
            }
            if tokio::time::Instant::now() > give_up {
                break None;
            }
        };
        let Some(finished) = finished else {
            // Said with the sync jobs as they stand (a retry waits a minute or more).
            let jobs = store
                .jobs_of_kind(cloop::jobs::COURSE_SYNC)
                .await
                .expect("jobs");
            let states: Vec<String> = jobs
                .iter()
                .map(|j| {
                    format!(
                        "{} after {} attempts: {:?}",
                        j.status, j.attempts, j.last_error
                    )
                })
                .collect();
            errors.push(format!(
                "no sync finished within 2 min of the end; jobs: {states:?}"
            ));
            break;
        };
        runs += 1;
        counted = Some(finished.id);
        if finished.status != "succeeded" {
            errors.push(format!("sync {}: {:?}", finished.status, finished.error));
        }
    }
    store.close().await;
    (runs, errors)
}

/// Envelopes of synthetic events of the course, made as the pushers ask for them.
pub struct EventSource {
    generator: Generator,
    waiting: VecDeque<SynthEvent>,
    pk1: u64,
}

impl EventSource {
    /// Enough events for the pushers over `window`, twice over.
    pub fn new(window: Duration) -> Self {
        let mut shape = CourseShape::semester(300);
        let pk1: u64 = COURSE_PK
            .split('_')
            .nth(1)
            .and_then(|pk| pk.parse().ok())
            .expect("pk1");
        shape.course_pk1 = pk1;
        let per_second = (PUSHERS * EVENTS_PER_BATCH) as f64 / PUSH_EVERY.as_secs_f64();
        let target = (2.0 * per_second * window.as_secs_f64()) as u64;
        Self {
            generator: Generator::new(shape, 7, target),
            waiting: VecDeque::new(),
            pk1,
        }
    }

    pub fn next_envelope(&mut self) -> Option<String> {
        while self.waiting.len() < EVENTS_PER_BATCH {
            self.waiting.extend(self.generator.next_day()?);
        }
        let data: Vec<serde_json::Value> = self
            .waiting
            .drain(..EVENTS_PER_BATCH)
            .map(|e| caliper_event(self.pk1, &e))
            .collect();
        Some(
            serde_json::json!({
                "sensor": "https://learn.example.edu/caliper",
                "sendTime": "2026-03-02T00:00:00.000Z",
                "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
                "data": data,
            })
            .to_string(),
        )
    }
}
