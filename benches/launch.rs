//! LTI 1.3 login + launch as an LMS and a browser drive it, without the course page: a
//! server process, and client processes (4 by default, `BENCH_CLIENTS`) that each act as
//! platform and browser — `GET /lti/login`, sign an RS256 id_token with the login's nonce,
//! `POST /lti/launch`, expect the redirect into the course — one launch after another.
//! `BENCH_LAUNCHES` sets the measured total (default 3,000), spread over 300 instructors
//! and 30 courses. This process publishes the platform's JWKS. SQLite always; PostgreSQL
//! too when `CLOOP_BENCH_POSTGRES_URL` (or `CLOOP_TEST_POSTGRES_URL`) names a server.
//!
//! The server's CPU comes from its own accounting (/proc), over the measured window only:
//! every client has made its warm-up launches before the clock starts.

#[path = "support/lti.rs"]
mod lti;
#[path = "support.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use cloop::{App, Config};
use serde_json::json;

const USERS: usize = 300;
const COURSES: usize = 30;
const WARM_UP: usize = 40;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1], &args[2]),
        Some("launch") => launch(&args[1], &args[2], &args[3], &args[4]),
        _ => run(),
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The orchestrator: the platform's key and JWKS, then for each database a server and the
/// clients.
fn run() {
    let launches = env_number("BENCH_LAUNCHES", 3_000);
    let clients = env_number("BENCH_CLIENTS", 4);
    let dir = tempfile::tempdir().expect("temp dir");
    let key = cloop::lti::keys::generate().expect("platform key");
    let key_file = dir.path().join("platform.json");
    lti::write_key(&key, &key_file);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let jwks_url = runtime.block_on(lti::publish_jwks(&key));
    let mut databases = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
    )];
    let postgres = std::env::var("CLOOP_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("CLOOP_TEST_POSTGRES_URL"))
        .ok();
    let scratch = postgres.as_deref().map(|admin| {
        let name = format!("cloop_bench_launch_{}", std::process::id());
        runtime.block_on(support::postgres_statement(
            admin,
            &format!("CREATE DATABASE {name}"),
        ));
        databases.push(("postgres", support::with_database(admin, &name)));
        (admin.to_string(), name)
    });
    for (engine, url) in &databases {
        let mut server = Server::start(url, &jwks_url);
        let round = drive(&server, &key_file, clients, launches);
        let rss = server.stop();
        let rate = launches as f64 / round.secs;
        let cpu_ms = round.server_cpu * 1e3 / launches as f64;
        let (p50, p95) = (
            percentile(&round.latencies, 0.50),
            percentile(&round.latencies, 0.95),
        );
        println!(
            "launch_{engine}: {launches} login + launch from {clients} client processes: \
             {rate:.0} launches/s ({:.1} s); login + launch p50 {p50:.1} ms, p95 {p95:.1} ms; \
             server CPU per launch {cpu_ms:.2} ms; peak server RSS {rss:.0} MB",
            round.secs,
        );
        support::table_row(
            &format!("login + launch server CPU, {engine}, {clients} clients"),
            &format!("{cpu_ms:.2} ms per launch ({rate:.0}/s)"),
            "Python PyLTI1p3: 3.5 ms",
            "≤ 0.8 ms",
            cpu_ms <= 0.8,
        );
        support::table_row(
            &format!("login + launch p95, {engine}, {clients} clients"),
            &format!("{p95:.1} ms"),
            &format!("p50 {p50:.1} ms"),
            "< 15 ms",
            p95 < 15.0,
        );
    }
    if let Some((admin, name)) = scratch {
        runtime.block_on(support::postgres_statement(
            &admin,
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        ));
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// The server process, and the address it said it listens on.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    address: String,
}

impl Server {
    fn start(url: &str, jwks_url: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("self"))
            .args(["serve", url, jwks_url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let ready = read_line(&mut stdout);
        let address = ready
            .split_whitespace()
            .nth(1)
            .expect("address")
            .to_string();
        Self {
            stdin: child.stdin.take(),
            stdout,
            address,
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

/// The measured window: latencies (ms, sorted), its length and the server's CPU seconds.
struct Round {
    latencies: Vec<f64>,
    secs: f64,
    server_cpu: f64,
}

/// Starts the clients, waits until each has warmed up, lets them go together, and
/// gathers their latencies.
fn drive(server: &Server, key_file: &std::path::Path, clients: usize, launches: usize) -> Round {
    let mut children: Vec<(Child, BufReader<ChildStdout>)> = (0..clients)
        .map(|k| {
            let share = launches / clients + usize::from(k < launches % clients);
            let mut child = Command::new(std::env::current_exe().expect("self"))
                .args([
                    "launch",
                    &server.address,
                    &key_file.display().to_string(),
                    &format!("{k}/{clients}"),
                    &share.to_string(),
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("client");
            let stdout = BufReader::new(child.stdout.take().expect("stdout"));
            (child, stdout)
        })
        .collect();
    for (_, stdout) in &mut children {
        assert_eq!(read_line(stdout).trim(), "ready");
    }
    let server_pid = server.child.id().to_string();
    let cpu_before = support::cpu_seconds_of(&server_pid);
    let started = Instant::now();
    for (child, _) in &mut children {
        let stdin = child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "go").expect("go");
        stdin.flush().expect("flush");
    }
    let mut latencies = Vec::with_capacity(launches);
    for (mut child, mut stdout) in children {
        let report = read_line(&mut stdout);
        latencies.extend(
            report
                .split_whitespace()
                .filter_map(|w| w.parse::<f64>().ok()),
        );
        child.wait().expect("client exit");
    }
    let secs = started.elapsed().as_secs_f64();
    let server_cpu = support::cpu_seconds_of(&server_pid) - cpu_before;
    assert_eq!(latencies.len(), launches, "every launch answered");
    latencies.sort_by(f64::total_cmp);
    Round {
        latencies,
        secs,
        server_cpu,
    }
}

/// The server role: cloop on `url` with the platform registered; prints `ready ADDRESS`,
/// serves until its stdin closes, then prints `rss MB` (its peak).
fn serve(url: &str, jwks_url: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let app = App::build(Config::for_database(url)).await.expect("app");
        let address = app.local_addr();
        let store = app.state().store.clone();
        let (platform, _) = support::platform_and_course(&store, 1).await;
        store
            .set_platform_endpoints(
                platform.id,
                &platform.auth_url,
                jwks_url,
                &platform.token_url,
            )
            .await
            .expect("platform keys at this bench");
        support::reset_peak_rss();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
            let _ = stop.send(());
        });
        println!("ready {address}");
        app.run(async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    println!("rss {:.1}", support::peak_rss_mb());
}

/// The client role (`k/n`, `count` launches): warms up, says `ready`, waits for `go`,
/// launches one after another and prints each login + launch's milliseconds.
fn launch(address: &str, key_file: &str, share: &str, count: &str) {
    let (k, _) = share.split_once('/').expect("k/n");
    let k: usize = k.parse().expect("k");
    let count: usize = count.parse().expect("count");
    let client = lti::Launcher::new(address, key_file);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let first = k * (count + WARM_UP);
    runtime.block_on(async {
        for i in 0..WARM_UP {
            login_and_launch(&client, first + i).await;
        }
    });
    println!("ready");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).expect("go");
    let latencies = runtime.block_on(async {
        let mut latencies = Vec::with_capacity(count);
        for i in 0..count {
            let started = Instant::now();
            login_and_launch(&client, first + WARM_UP + i).await;
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
        }
        latencies
    });
    let text: Vec<String> = latencies.iter().map(|l| format!("{l:.3}")).collect();
    println!("{}", text.join(" "));
}

/// Launch `n`: instructor `n % USERS` opens course `n % COURSES`, with the names and roles
/// service on offer.
async fn login_and_launch(client: &lti::Launcher, n: usize) {
    let course = n % COURSES;
    client
        .login_and_launch(n % USERS, &format!("ctx-{course}"), |claims| {
            claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = json!({
                "context_memberships_url": format!("{}/nrps/{course}", lti::ISSUER),
                "service_versions": ["2.0"],
            });
        })
        .await;
}
