//! `POST /caliper` as an LMS pushes it: a server process, and sender processes (8 by
//! default, `BENCH_SENDERS`) each posting envelopes of 100 distinct Blackboard-shaped events
//! one after another over a keep-alive loopback connection. `BENCH_EVENTS` sets the total
//! (default 400,000). The same envelopes are then sent again (all duplicates), which costs
//! everything but the writes. SQLite always; PostgreSQL too when `CLOOP_BENCH_POSTGRES_URL`
//! (or `CLOOP_TEST_POSTGRES_URL`) names a server (a database is made and dropped there).
//!
//! The server reports its own CPU time and peak RSS; the clock runs from the moment every
//! sender has its envelopes in memory until the last reply.

#[path = "support.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use cloop::ingest::synthetic::{CourseShape, Generator, caliper_event};
use cloop::store::ingest::IngestKeyKind;
use cloop::{App, Config};

const COURSE_PK1: u64 = 1358;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1]),
        Some("send") => send(&args[1], &args[2], &args[3], &args[4]),
        _ => run(),
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The orchestrator: envelopes to a file, then for each database a server and the senders.
fn run() {
    let target = env_number("BENCH_EVENTS", 400_000);
    let senders = env_number("BENCH_SENDERS", 8);
    let dir = tempfile::tempdir().expect("temp dir");
    let bodies = dir.path().join("envelopes.jsonl");
    let (requests, target) = write_envelopes(&bodies, target as u64);
    let mut databases = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
    )];
    let postgres = std::env::var("CLOOP_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("CLOOP_TEST_POSTGRES_URL"))
        .ok();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let scratch = postgres.as_deref().map(|admin| {
        let name = format!("cloop_bench_{}", std::process::id());
        runtime.block_on(support::postgres_statement(
            admin,
            &format!("CREATE DATABASE {name}"),
        ));
        databases.push(("postgres", support::with_database(admin, &name)));
        (admin.to_string(), name)
    });
    for (engine, url) in &databases {
        let mut server = Server::start(url);
        let fresh = push(&server, &bodies, senders);
        let again = push(&server, &bodies, senders);
        let rss = server.stop();
        assert_eq!(fresh.stored as usize, target, "every event stored once");
        assert_eq!(again.stored, 0, "every event stored only once");
        println!(
            "caliper_post_{engine}: {target} events in {requests} requests of 100 from {senders} sender processes: \
             new {:.0} events/s ({:.1} s, {} answered 503), all duplicates {:.0} events/s ({:.1} s); \
             new / duplicates = {:.2}; server CPU per event {:.1} µs new, {:.1} µs duplicate; \
             peak server RSS {rss:.0} MB",
            target as f64 / fresh.secs,
            fresh.secs,
            fresh.busy,
            target as f64 / again.secs,
            again.secs,
            again.secs / fresh.secs,
            fresh.server_cpu * 1e6 / target as f64,
            again.server_cpu * 1e6 / target as f64,
        );
        let (new_rate, floor) = (
            target as f64 / fresh.secs,
            if *engine == "sqlite" {
                40_000.0
            } else {
                20_000.0
            },
        );
        support::table_row(
            &format!("`POST /caliper` new events/s, {engine}, {senders} sender processes"),
            &format!(
                "{new_rate:.0}/s ({:.1} µs server CPU each)",
                fresh.server_cpu * 1e6 / target as f64
            ),
            &format!("duplicates {:.0}/s", target as f64 / again.secs),
            &format!("≥ {floor:.0}/s"),
            new_rate >= floor,
        );
        support::table_row(
            &format!("peak server RSS while pushing, {engine}"),
            &format!("{rss:.0} MB"),
            "",
            "< 250 MB",
            rss < 250.0,
        );
    }
    if let Some((admin, name)) = scratch {
        runtime.block_on(support::postgres_statement(
            &admin,
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        ));
    }
}

/// Writes envelopes of 100 events (about `target` in all), one per line; returns how many
/// envelopes and events.
fn write_envelopes(path: &std::path::Path, target: u64) -> (usize, usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("envelopes"));
    let mut generator = Generator::new(CourseShape::semester(400), 9, target);
    let mut batch = Vec::with_capacity(100);
    let (mut written, mut events) = (0, 0);
    let mut flush = |batch: &mut Vec<serde_json::Value>| {
        let envelope = serde_json::json!({
            "sensor": "https://learn.example.edu/caliper",
            "sendTime": "2024-06-01T00:00:00.000Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
            "data": batch,
        });
        writeln!(out, "{envelope}").expect("write");
        batch.clear();
        written += 1;
    };
    while let Some(day) = generator.next_day() {
        for e in day.iter() {
            batch.push(caliper_event(COURSE_PK1, e));
            events += 1;
            if batch.len() == 100 {
                flush(&mut batch);
            }
        }
    }
    if !batch.is_empty() {
        flush(&mut batch);
    }
    out.flush().expect("flush");
    (written, events)
}

/// The server process, and what it said when ready.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    address: String,
    key: String,
}

impl Server {
    fn start(url: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("self"))
            .args(["serve", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let ready = read_line(&mut stdout);
        let mut words = ready.split_whitespace().skip(1);
        let (address, key) = (words.next().expect("address"), words.next().expect("key"));
        Self {
            address: address.into(),
            key: key.into(),
            stdin: child.stdin.take(),
            stdout,
            child,
        }
    }

    /// Ends the server; its peak RSS (MB), from its own accounting.
    fn stop(&mut self) -> f64 {
        drop(self.stdin.take());
        let report = read_line(&mut self.stdout);
        self.child.wait().expect("server exit");
        report
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .expect("peak RSS")
    }
}

fn read_line(from: &mut impl BufRead) -> String {
    let mut line = String::new();
    from.read_line(&mut line).expect("read");
    line
}

/// What the senders of one round did, and the server's CPU seconds meanwhile.
struct Round {
    stored: u64,
    busy: u64,
    secs: f64,
    server_cpu: f64,
}

/// Starts the senders, lets them go together once all are ready, and waits for them.
fn push(server: &Server, bodies: &std::path::Path, senders: usize) -> Round {
    let mut children: Vec<(Child, BufReader<ChildStdout>)> = (0..senders)
        .map(|k| {
            let mut child = Command::new(std::env::current_exe().expect("self"))
                .args([
                    "send",
                    &server.address,
                    &server.key,
                    &bodies.display().to_string(),
                    &format!("{k}/{senders}"),
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("sender");
            let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
            assert_eq!(read_line(&mut stdout).trim(), "ready");
            (child, stdout)
        })
        .collect();
    let server_pid = server.child.id().to_string();
    let cpu_before = support::cpu_seconds_of(&server_pid);
    let started = Instant::now();
    for (child, _) in &mut children {
        let stdin = child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "go").expect("go");
        stdin.flush().expect("flush");
    }
    let mut round = Round {
        stored: 0,
        busy: 0,
        secs: 0.0,
        server_cpu: 0.0,
    };
    for (mut child, mut stdout) in children {
        let report = read_line(&mut stdout);
        let numbers: Vec<u64> = report
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        round.stored += numbers[0];
        round.busy += numbers[1];
        child.wait().expect("sender exit");
    }
    round.secs = started.elapsed().as_secs_f64();
    round.server_cpu = support::cpu_seconds_of(&server_pid) - cpu_before;
    round
}

/// The server role: an app on `url` with a platform, course and key; prints
/// `ready ADDRESS KEY`, serves until its stdin closes, then prints `rss MB` (its peak).
fn serve(url: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let app = App::build(Config::for_database(url)).await.expect("app");
        let address = app.local_addr();
        let store = app.state().store.clone();
        let (platform, _course) = support::platform_and_course(&store, COURSE_PK1).await;
        let (_, key) =
            cloop::ingest::new_ingest_key(&store, platform.id, IngestKeyKind::Caliper, "bench")
                .await
                .expect("key");
        support::reset_peak_rss();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
            let _ = stop.send(());
        });
        println!("ready {address} {key}");
        app.run(async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    println!("rss {:.1}", support::peak_rss_mb());
}

/// The sender role: reads the envelopes whose line number is `k` modulo `n` (`k/n`),
/// says `ready`, waits for `go`, posts them one at a time (resending after a 503 once its
/// `Retry-After` has passed), and prints `NEW BUSY`.
fn send(address: &str, key: &str, bodies: &str, share: &str) {
    let (k, n) = share.split_once('/').expect("k/n");
    let (k, n): (usize, usize) = (k.parse().expect("k"), n.parse().expect("n"));
    let text = std::fs::read_to_string(bodies).expect("envelopes");
    let mine: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| i % n == k)
        .map(|(_, l)| l.to_string())
        .collect();
    drop(text);
    println!("ready");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).expect("go");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (stored, busy) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let endpoint = format!("http://{address}/caliper");
        let (mut stored, mut busy) = (0u64, 0u64);
        for body in mine {
            loop {
                let response = client
                    .post(&endpoint)
                    .bearer_auth(key)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                if response.status() == 503 {
                    busy += 1;
                    let wait = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse().ok())
                        .unwrap_or(1);
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    continue;
                }
                assert_eq!(response.status(), 200);
                let report: serde_json::Value = response.json().await.expect("report");
                stored += report["new"].as_u64().unwrap_or(0);
                break;
            }
        }
        (stored, busy)
    });
    println!("{stored} {busy}");
}
