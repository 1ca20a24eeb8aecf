//! Every course page's render time on a big course (1,000 students, the demo semester's
//! items, groups and events, ~5 million events recorded through the ingestion write path,
//! on SQLite), served by a separate server process and requested from this one: 5 warm-up
//! and `BENCH_RUNS` (default 40) timed requests per page, p50/p95 and the server's CPU per
//! request. Beside each page, the same figures computed by a plain `GROUP BY` over a table
//! of the raw events (index on course and time), p50/p95 of `BENCH_BASELINE_RUNS` runs.
//!
//! Run: `cargo bench --bench pages` (`BENCH_EVENTS` sets the events, default 5,000,000).
//! While working on a page: `BENCH_DIR` keeps the seeded databases there and reuses them
//! on the next run; `BENCH_PAGES` times only the pages whose name contains it;
//! `BENCH_DUMP=DIR` writes each page's HTML there, to show two builds render the same.

#[path = "pages/baseline.rs"]
mod baseline;
#[path = "support.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use cloop::demo::{CURRENT, DemoServer};
use cloop::store::CourseId;
use cloop::web::session::CourseSession;
use cloop::{App, Config, SecretKey, Store};

const STUDENTS: u32 = 1_000;
const P50: Duration = Duration::from_millis(20);
const P95: Duration = Duration::from_millis(50);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1]),
        // `cargo bench` passes `--bench`; anything else is the orchestrator too.
        _ => run(),
    }
}

/// What the pages are about: the course and the ids its page addresses name.
pub struct Course {
    pub id: CourseId,
    pub token: String,
    pub student: i64,
    pub item: i64,
    pub lecture: i64,
    pub deadline: i64,
    pub group: i64,
}

fn run() {
    let events = env_number("BENCH_EVENTS", 5_000_000);
    let runs = env_number("BENCH_RUNS", 40) as usize;
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = match std::env::var("BENCH_DIR") {
        Ok(kept) => {
            std::fs::create_dir_all(&kept).expect("BENCH_DIR");
            std::path::PathBuf::from(kept)
        }
        Err(_) => scratch.path().to_path_buf(),
    };
    let url = format!("sqlite://{}", dir.join("cloop.db").display());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let course = runtime.block_on(seed(&url, events / u64::from(STUDENTS)));
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    let raw = dir.join("raw.db");
    if !raw.exists() {
        let started = Instant::now();
        let copied = runtime.block_on(baseline::load(&url, course.id, &raw));
        println!(
            "{copied} raw events copied into the GROUP BY table in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    // `BENCH_BASELINE_RUNS=0` leaves the baselines out, while working on a page.
    let baseline_runs = env_number("BENCH_BASELINE_RUNS", 3);
    let baselines = match baseline_runs {
        0 => Vec::new(),
        runs => baseline::time_all(&raw, &course, runs),
    };
    let mut server = Server::start(&url);
    let client = reqwest::Client::new();
    let only = std::env::var("BENCH_PAGES").unwrap_or_default();
    for (name, path) in pages(&course)
        .into_iter()
        .filter(|(name, _)| name.contains(&only))
    {
        let query = match path.split_once('?') {
            Some((path, query)) => format!("{path}?s={}&{query}", course.token),
            None => format!("{path}?s={}", course.token),
        };
        let url = format!("http://{}/courses/{}{query}", server.address, course.id);
        let cpu_before = support::cpu_seconds_of(&server.pid());
        let (times, size) = runtime.block_on(request_times(&client, &url, runs));
        let cpu = (support::cpu_seconds_of(&server.pid()) - cpu_before) / (runs + 5) as f64;
        let (p50, p95) = percentiles(times);
        println!(
            "{name}: p50 {:.1} ms, p95 {:.1} ms, server CPU {:.1} ms a request, {} kB",
            ms(p50),
            ms(p95),
            cpu * 1e3,
            size / 1000
        );
        let base = match baselines.iter().find(|(page, _)| *page == name) {
            Some((_, (b50, b95))) => format!(
                "GROUP BY p50 {:.1} / p95 {:.1} ms; speed-up {:.1}× (p50)",
                ms(*b50),
                ms(*b95),
                b50.as_secs_f64() / p50.as_secs_f64()
            ),
            None if baseline_runs == 0 => "baseline not timed".into(),
            None => "no activity shown".into(),
        };
        support::table_row(
            &format!(
                "`/courses/{{id}}{path}` {name}, {STUDENTS} students, {events} events, SQLite"
            ),
            &format!("p50 {:.1} ms, p95 {:.1} ms", ms(p50), ms(p95)),
            &base,
            "p50 ≤ 20 ms, p95 ≤ 50 ms",
            p50 <= P50 && p95 <= P95,
        );
    }
    server.stop();
}

/// Every course page and each of its tabs and variants, by name.
fn pages(c: &Course) -> Vec<(&'static str, String)> {
    let (lecture, deadline) = (c.lecture, c.deadline);
    let mut pages = vec![
        ("dashboard, all weeks", String::new()),
        ("dashboard, week 5", "?week=5".into()),
        ("dashboard, one tutorial", format!("?group={}", c.group)),
    ];
    for (group, tabs) in [
        ("content", &["views", "students", "events"][..]),
        ("communication", &["views", "posts", "students", "events"]),
        (
            "assessment",
            &["attempts", "views", "students", "events", "grades"],
        ),
    ] {
        for tab in tabs {
            let event = if *tab == "events" {
                format!("&event={lecture}")
            } else {
                String::new()
            };
            let name: &'static str = format!("{group}, {tab}").leak();
            pages.push((name, format!("/{group}?tab={tab}{event}")));
        }
    }
    pages.extend([
        ("students, all weeks", "/students".to_string()),
        ("students, week 5", "/students?week=5".into()),
        (
            "students, lecture windows",
            format!("/students?tab=events&event={lecture}"),
        ),
        ("outreach", "/outreach".into()),
        ("student detail", format!("/students/{}", c.student)),
        ("resource detail", format!("/resources/{}", c.item)),
        (
            "comparison, lecture ±48 h",
            format!("/comparison?event={lecture}&before=48h&after=48h"),
        ),
        (
            "comparison, deadline ±48 h",
            format!("/comparison?event={deadline}&before=48h&after=48h"),
        ),
        ("events", "/events".into()),
        ("event edit", format!("/events/{lecture}")),
        ("settings", "/settings".into()),
        ("course list", "/courses".into()),
        ("help", "/help".into()),
    ]);
    pages
}

/// The demo semester with `STUDENTS` students and `per_student` events each, recorded
/// through the store; the ids the pages name, and a staff session's token.
async fn seed(url: &str, per_student: u64) -> Course {
    let mut config = Config::for_database(url);
    config.listen = "127.0.0.1:0".parse().expect("address");
    let demo = DemoServer::build(config).await.expect("demo");
    let store = demo.state().store.clone();
    cloop::demo::seed::seed_once_sized(&store, STUDENTS, per_student)
        .await
        .expect("seed");
    let Store::Sqlite(db) = &store else {
        panic!("the benchmark runs on SQLite")
    };
    let one = |sql: &'static str, course: i64| {
        let pool = db.pool.clone();
        async move {
            let (id,): (i64,) = sqlx::query_as(sql)
                .bind(course)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            id
        }
    };
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM courses WHERE lms_context_id = $1")
        .bind(CURRENT.context_id)
        .fetch_one(&db.pool)
        .await
        .expect("course");
    let staff = one(
        "SELECT user_id FROM enrolments WHERE course_id = $1 AND is_staff ORDER BY user_id LIMIT 1",
        id,
    )
    .await;
    let course = Course {
        id: CourseId(id),
        token: String::new(),
        student: one("SELECT user_id FROM rollup_student_total WHERE course_id = $1 ORDER BY views DESC LIMIT 1", id).await,
        item: one("SELECT content_item_id FROM rollup_content_day WHERE course_id = $1 GROUP BY content_item_id ORDER BY sum(views) DESC LIMIT 1", id).await,
        lecture: one("SELECT id FROM course_events WHERE course_id = $1 AND title = 'Lecture' ORDER BY id LIMIT 1", id).await,
        deadline: one("SELECT id FROM course_events WHERE course_id = $1 AND kind = 'submission' ORDER BY id LIMIT 1", id).await,
        group: one("SELECT id FROM course_groups WHERE course_id = $1 ORDER BY id LIMIT 1", id).await,
    };
    let row = store.course(course.id).await.expect("course row");
    let secret = SecretKey::load_or_create(&store, None)
        .await
        .expect("secret");
    let token = CourseSession::new(
        cloop::store::UserId(staff),
        row.platform_id,
        row.deployment_id,
        course.id,
        true,
    )
    .token(&secret);
    store.close().await;
    Course { token, ..course }
}

/// Requests `url` five times to warm up, then `runs` times; every answer must be a page.
/// The times of `runs` requests after five to warm up, and the page's size in bytes.
async fn request_times(client: &reqwest::Client, url: &str, runs: usize) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for i in 0..runs + 5 {
        let t = Instant::now();
        let res = client.get(url).send().await.expect("request");
        assert!(res.status().is_success(), "{url} answered {}", res.status());
        let body = res.text().await.expect("body");
        if i >= 5 {
            times.push(t.elapsed());
        } else if i == 0 {
            assert!(body.contains("</html>"), "{url} is a page");
            size = body.len();
            dump(url, &body);
        }
    }
    (times, size)
}

/// With `BENCH_DUMP=DIR`, writes a page's HTML there (named by its path and query, the
/// session token left out), to compare what two builds render.
fn dump(url: &str, body: &str) {
    let Ok(dir) = std::env::var("BENCH_DUMP") else {
        return;
    };
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = path.find('/').map_or(path, |i| &path[i..]);
    let name: String = path
        .split(['?', '&'])
        .filter(|part| !part.starts_with("s="))
        .collect::<Vec<_>>()
        .join("_")
        .replace(['/', '='], "_");
    std::fs::write(
        std::path::Path::new(&dir).join(format!("{name}.html")),
        body,
    )
    .expect("BENCH_DUMP");
}

/// p50 and p95 of `times`.
pub fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    (pct(0.50), pct(0.95))
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The server process.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    address: String,
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
        let mut ready = String::new();
        stdout.read_line(&mut ready).expect("ready");
        let address = ready.split_whitespace().nth(1).expect("address").into();
        Self {
            stdin: child.stdin.take(),
            child,
            address,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn stop(&mut self) {
        drop(self.stdin.take());
        self.child.wait().expect("server exit");
    }
}

/// The server role: cloop on `url`; prints `ready ADDRESS`, serves until stdin closes.
fn serve(url: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut config = Config::for_database(url);
        config.listen = "127.0.0.1:0".parse().expect("address");
        let app = App::build(config).await.expect("app");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
            let _ = stop.send(());
        });
        println!("ready {}", app.local_addr());
        std::io::stdout().flush().expect("flush");
        app.run(async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
}
