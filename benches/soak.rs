//! A soak: one server process (SQLite, and PostgreSQL when `CLOOP_TEST_POSTGRES_URL` is set)
//! under mixed load from this process for `SOAK_SECONDS` (default 60) — 8 instructors, each
//! with the session cookie of a real launch, requesting course pages one after another in
//! rotation; 4 Caliper pushers, each posting a batch of 100 events every 100 ms; and course
//! syncs against the fake Learn server, one after another, run by the server's own job
//! worker. Reports requests and errors per kind (0 allowed), page p50/p95, events stored a
//! second, the server's CPU seconds, and its RSS (VmRSS) each second: flat when the mean of
//! the last third of the run (20 s of 60) is within 10 % of the third before.
//!
//! Run: `cargo bench --bench soak`

#[path = "../tests/api/blackboard_fake.rs"]
#[allow(dead_code)]
mod blackboard_fake;
#[path = "soak/clients.rs"]
mod clients;
#[path = "support/lti.rs"]
mod lti;
#[path = "soak/server.rs"]
mod server;
#[path = "support.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blackboard_fake::{COURSE_UUID, FakeLearn, user_uuid};
use clients::EventSource;
use server::Server;

const INSTRUCTORS: usize = 8;
/// The fake Learn course's first instructor (students come first).
const FIRST_INSTRUCTOR: usize = 300;
pub const PUSHERS: usize = 4;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => server::serve(&args[1], &args[2], &args[3]),
        // `cargo bench` passes `--bench`; anything else is the orchestrator too.
        _ => run(),
    }
}

fn run() {
    let secs: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("temp dir");
    let key = cloop::lti::keys::generate().expect("platform key");
    let key_file = dir.path().join("platform.json");
    lti::write_key(&key, &key_file);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (jwks_url, learn) =
        runtime.block_on(async { (lti::publish_jwks(&key).await, FakeLearn::start().await) });
    add_instructors(&learn);
    let mut databases = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("soak.db").display()),
    )];
    let scratch = std::env::var("CLOOP_TEST_POSTGRES_URL").ok().map(|admin| {
        let name = format!("cloop_soak_{}", std::process::id());
        runtime.block_on(support::postgres_statement(
            &admin,
            &format!("CREATE DATABASE {name}"),
        ));
        databases.push(("postgres", support::with_database(&admin, &name)));
        (admin, name)
    });
    for (engine, url) in &databases {
        let mut server = Server::start(url, &jwks_url, &learn.url());
        let window = Duration::from_secs(secs);
        let soaked = runtime.block_on(soak(&server, url, &key_file, window));
        server.stop();
        soaked.report(engine, secs);
    }
    if let Some((admin, name)) = scratch {
        runtime.block_on(support::postgres_statement(
            &admin,
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        ));
    }
}

/// Instructors of the fake Learn course past its two, so that each of the soak's is one of
/// its staff: a sync ends the sessions of people the course no longer lists.
fn add_instructors(learn: &FakeLearn) {
    learn.with(|data| {
        let template = data.memberships[FIRST_INSTRUCTOR].clone();
        for i in FIRST_INSTRUCTOR + 2..FIRST_INSTRUCTOR + INSTRUCTORS {
            let mut member = template.clone();
            let pk = format!("_{}_1", 1000 + i);
            member["id"] = format!("_{}_1", 9000 + i).into();
            member["userId"] = pk.clone().into();
            member["user"]["id"] = pk.into();
            member["user"]["uuid"] = user_uuid(i).into();
            member["user"]["userName"] = format!("s{i}").into();
            member["user"]["externalId"] = format!("EXT{i}").into();
            member["user"]["contact"]["email"] = format!("s{i}@example.edu").into();
            data.memberships.push(member);
        }
    });
}

/// What the clients saw over the window, and the server's figures.
#[derive(Default)]
struct Soaked {
    page_times: Vec<Duration>,
    page_errors: Vec<String>,
    pushes: usize,
    push_errors: Vec<String>,
    events_stored: u64,
    syncs: usize,
    sync_errors: Vec<String>,
    rss_mb: Vec<f64>,
    server_cpu: f64,
    secs: f64,
}

/// Runs the load for `window` against `server`, sampling its RSS each second.
async fn soak(server: &Server, url: &str, key_file: &std::path::Path, window: Duration) -> Soaked {
    let launcher = lti::Launcher::new(&server.address, &key_file.display().to_string());
    let mut cookies = Vec::with_capacity(INSTRUCTORS);
    for user in 0..INSTRUCTORS {
        let landing = launcher
            .login_and_launch(user, COURSE_UUID, |claims| {
                claims["sub"] = user_uuid(FIRST_INSTRUCTOR + user).into();
            })
            .await;
        let expected = format!("/courses/{}", server.course);
        assert!(
            landing.location.starts_with(&expected),
            "{}",
            landing.location
        );
        cookies.push(landing.cookie);
    }
    let source = Arc::new(Mutex::new(EventSource::new(window)));
    let cpu_before = support::cpu_seconds_of(&server.pid());
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + window;
    let instructors: Vec<_> = cookies
        .into_iter()
        .enumerate()
        .map(|(n, cookie)| {
            tokio::spawn(clients::instructor(server.page_base(), cookie, n, deadline))
        })
        .collect();
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|_| {
            let endpoint = format!("http://{}/caliper", server.address);
            tokio::spawn(clients::pusher(
                endpoint,
                server.key.clone(),
                source.clone(),
                deadline,
            ))
        })
        .collect();
    let syncs = tokio::spawn(clients::syncs(url.to_string(), server.course, deadline));
    let mut soaked = Soaked::default();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    while tokio::time::Instant::now() < deadline {
        every.tick().await;
        soaked.rss_mb.push(rss_mb(&server.pid()));
    }
    soaked.secs = started.elapsed().as_secs_f64();
    soaked.server_cpu = support::cpu_seconds_of(&server.pid()) - cpu_before;
    for instructor in instructors {
        let (times, errors) = instructor.await.expect("instructor");
        soaked.page_times.extend(times);
        soaked.page_errors.extend(errors);
    }
    for pusher in pushers {
        let (pushes, stored, errors) = pusher.await.expect("pusher");
        soaked.pushes += pushes;
        soaked.events_stored += stored;
        soaked.push_errors.extend(errors);
    }
    (soaked.syncs, soaked.sync_errors) = syncs.await.expect("syncs");
    soaked
}

/// The resident set size of process `pid` now, in MB (VmRSS).
fn rss_mb(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

impl Soaked {
    fn report(mut self, engine: &str, secs: u64) {
        self.page_times.sort();
        let pct = |p: f64| {
            let times = &self.page_times;
            let at = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len().max(1)) - 1;
            times.get(at).map_or(f64::NAN, |t| t.as_secs_f64() * 1e3)
        };
        let (p50, p95) = (pct(0.50), pct(0.95));
        let pages = self.page_times.len() + self.page_errors.len();
        let errors = self.page_errors.len() + self.push_errors.len() + self.sync_errors.len();
        let rate = self.events_stored as f64 / self.secs;
        let third = self.rss_mb.len() / 3;
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
        let (before, last) = (
            mean(&self.rss_mb[third..2 * third]),
            mean(&self.rss_mb[self.rss_mb.len() - third..]),
        );
        let drift = (last - before) / before * 100.0;
        let flat = drift.abs() <= 10.0;
        let samples: Vec<String> = self.rss_mb.iter().map(|mb| format!("{mb:.0}")).collect();
        println!(
            "soak_{engine}: {:.1} s; pages {pages} requests, {} errors, p50 {p50:.1} ms, p95 {p95:.1} ms; \
             Caliper {} requests, {} errors, {} events stored ({rate:.0}/s); syncs {}, {} errors; \
             server CPU {:.1} s ({:.0} % of one core); RSS MB each second: {}; \
             mean of the last third {last:.1} MB, of the third before {before:.1} MB ({drift:+.1} %)",
            self.secs,
            self.page_errors.len(),
            self.pushes,
            self.push_errors.len(),
            self.events_stored,
            self.syncs,
            self.sync_errors.len(),
            self.server_cpu,
            self.server_cpu / self.secs * 100.0,
            samples.join(" "),
        );
        for error in self
            .page_errors
            .iter()
            .chain(&self.push_errors)
            .chain(&self.sync_errors)
            .take(10)
        {
            println!("  error: {error}");
        }
        support::table_row(
            &format!(
                "soak {secs} s, {engine}: {INSTRUCTORS} instructors on course pages, {PUSHERS} Caliper pushers, Learn syncs"
            ),
            &format!(
                "{errors} errors; {pages} pages (p50 {p50:.1} ms, p95 {p95:.1} ms), {} pushes ({rate:.0} events/s stored), {} syncs; server CPU {:.1} s",
                self.pushes, self.syncs, self.server_cpu
            ),
            "",
            "0 errors",
            errors == 0,
        );
        support::table_row(
            &format!("soak server RSS, {engine}"),
            &format!(
                "last {third} s {last:.1} MB, the {third} s before {before:.1} MB ({drift:+.1} %)"
            ),
            &format!(
                "{:.1} MB after the first second",
                self.rss_mb.first().copied().unwrap_or(f64::NAN)
            ),
            "flat: within 10 %",
            flat,
        );
    }
}
