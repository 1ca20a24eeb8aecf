//! `cloop demo`: the LMS simulator launches cloop through the real LTI 1.3 flow (login,
//! authorisation, signed id_token, launch), and the binary seeds once per data folder.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloop::Config;
use cloop::demo::{self, DemoServer};
use tokio::sync::oneshot;

use crate::helpers::{Backend, TestDatabase, count_activity, count_rows};
use crate::on_both_backends;

/// A running demo server (cloop + simulator) over a fresh database; stops when dropped.
struct Demo {
    base: String,
    store: cloop::Store,
    client: reqwest::Client,
    _database: TestDatabase,
    _stop: oneshot::Sender<()>,
}

async fn start(backend: Backend, test: &str) -> Option<Demo> {
    let database = TestDatabase::fresh(backend, test).await?;
    let server = DemoServer::build(Config::for_database(&database.url))
        .await
        .expect("build the demo server");
    let base = format!("http://{}", server.local_addr());
    assert_eq!(server.url(), format!("{base}/demo-lms"));
    let store = server.state().store.clone();
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(async move {
        server
            .run(async {
                let _ = stopped.await;
            })
            .await
            .expect("demo server runs");
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Some(Demo {
        base,
        store,
        client,
        _database: database,
        _stop: stop,
    })
}

/// The unescaped value of the first `name="…"` attribute after `after` in `html`.
fn attribute(html: &str, after: &str, name: &str) -> String {
    let from = html
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not in {html}"));
    let rest = &html[from..];
    let start = rest
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} after {after:?}"))
        + name.len()
        + 2;
    let end = start + rest[start..].find('"').unwrap();
    rest[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// What the browser holds after a launch: where it landed and the page there.
struct Landed {
    status: u16,
    location: String,
    page: String,
}

impl Demo {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Clicks a persona's button on the simulator page and follows the frame through login,
    /// platform storage, authorisation and launch, carrying the state cookie when `cookie`.
    async fn open_as(&self, persona: &str, cookie: bool) -> Landed {
        let course_page = self.client.get(self.url("/demo-lms")).send().await.unwrap();
        assert_eq!(course_page.status(), 200);
        let html = course_page.text().await.unwrap();
        assert!(html.contains("LMS simulator"), "{html}");
        let login = attribute(&html, &format!("data-persona=\"{persona}\""), "href");

        // cloop's login page puts the state into the simulator's storage frame, then goes
        // on to the platform.
        let response = self.client.get(&login).send().await.unwrap();
        assert_eq!(response.status(), 200, "login with platform storage");
        let state_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let page = response.text().await.unwrap();
        assert!(page.contains("data-mode=\"put\""), "{page}");
        let auth = attribute(&page, "id=\"lti-storage\"", "data-redirect");
        let stored_state = attribute(&page, "id=\"lti-storage\"", "data-value");
        assert!(auth.starts_with(&self.url("/demo-lms/auth?")), "{auth}");

        let response = self.client.get(&auth).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        let action = attribute(&page, "id=\"lti-autopost\"", "action");
        assert_eq!(action, self.url("/lti/launch"));
        let id_token = attribute(&page, "name=\"id_token\"", "value");
        let state = attribute(&page, "name=\"state\"", "value");
        assert_eq!(state, stored_state);

        let mut form = vec![("id_token", id_token.clone()), ("state", state.clone())];
        let mut launch = self.client.post(&action);
        if cookie {
            launch = launch.header("cookie", &state_cookie);
        } else {
            // Without the cookie, cloop reads the state back from platform storage: the
            // bridge page's script posts it again with what the storage frame answered.
            let bridge = self.client.post(&action).form(&form).send().await.unwrap();
            assert_eq!(bridge.status(), 200);
            let page = bridge.text().await.unwrap();
            assert!(page.contains("data-mode=\"get\""), "{page}");
            form.push(("platform_state", state));
        }
        let response = launch.form(&form).send().await.unwrap();
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let page = self.client.get(self.url(&location)).send().await.unwrap();
        Landed {
            status: page.status().as_u16(),
            location,
            page: page.text().await.unwrap(),
        }
    }
}

on_both_backends! {
    async fn simulator_opens_the_course_as_instructor_through_the_lti_flow(backend: Backend) {
        let Some(demo) = start(backend, module_path!()).await else { return };
        let landed = demo.open_as("instructor", true).await;
        assert!(landed.location.starts_with("/courses/") && landed.location.contains("?s="), "{}", landed.location);
        assert_eq!(landed.status, 200);
        assert!(landed.page.contains(demo::CURRENT.title), "{}", landed.page);
        assert!(!landed.page.contains("cloop is for course staff"));

        let platform = demo.store.platform_by_name(demo::PLATFORM_NAME).await.unwrap().unwrap();
        assert_eq!(platform.issuer, demo::ISSUER);
        let deployment = demo.store.deployment(platform.id, demo::DEPLOYMENT_ID).await.unwrap().unwrap();
        let course = demo.store.course_by_context(platform.id, deployment, demo::CURRENT.context_id).await.unwrap().unwrap();
        assert!(landed.location.starts_with(&format!("/courses/{}?", course.id)));
    }
}

on_both_backends! {
    async fn simulator_teaching_assistant_is_staff_and_student_sees_the_staff_only_page(backend: Backend) {
        let Some(demo) = start(backend, module_path!()).await else { return };
        let ta = demo.open_as("ta", true).await;
        assert_eq!(ta.status, 200);
        assert!(ta.page.contains(demo::CURRENT.title) && !ta.page.contains("cloop is for course staff"), "{}", ta.page);

        let student = demo.open_as("student", true).await;
        assert_eq!(student.status, 403, "the course page is staff-only");
        assert!(student.page.contains("cloop is for course staff"), "{}", student.page);
        assert_eq!(count_rows(&demo.store, "users").await, 2);
    }
}

on_both_backends! {
    async fn simulator_launch_works_without_cookies_through_platform_storage(backend: Backend) {
        let Some(demo) = start(backend, module_path!()).await else { return };
        let landed = demo.open_as("instructor", false).await;
        assert_eq!(landed.status, 200);
        assert!(landed.page.contains(demo::CURRENT.title), "{}", landed.page);
    }
}

on_both_backends! {
    async fn simulator_refuses_an_auth_request_for_another_redirect_uri(backend: Backend) {
        let Some(demo) = start(backend, module_path!()).await else { return };
        let response = demo
            .client
            .get(demo.url("/demo-lms/auth"))
            .query(&[
                ("scope", "openid"), ("response_type", "id_token"), ("response_mode", "form_post"),
                ("prompt", "none"), ("client_id", demo::CLIENT_ID),
                ("redirect_uri", "https://evil.example/steal"), ("login_hint", "instructor"),
                ("lti_message_hint", demo::CURRENT.context_id), ("state", "s"), ("nonce", "n"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let page = response.text().await.unwrap();
        assert!(page.contains("not the one registered") && !page.contains("id_token"), "{page}");

        // A well-addressed request for someone the LMS does not know is answered with an
        // OIDC error posted back to cloop, which says so.
        let response = demo
            .client
            .get(demo.url("/demo-lms/auth"))
            .query(&[
                ("scope", "openid"), ("response_type", "id_token"), ("response_mode", "form_post"),
                ("prompt", "none"), ("client_id", demo::CLIENT_ID),
                ("redirect_uri", &demo.url("/lti/launch")), ("login_hint", "nobody"),
                ("lti_message_hint", demo::CURRENT.context_id), ("state", "s"), ("nonce", "n"),
            ])
            .send()
            .await
            .unwrap();
        let page = response.text().await.unwrap();
        assert_eq!(attribute(&page, "name=\"error\"", "value"), "invalid_request");
        assert!(!page.contains("name=\"id_token\""));
    }
}

on_both_backends! {
    async fn cloop_serve_does_not_mount_the_simulator(backend: Backend) {
        let app = crate::app_on!(backend);
        for path in ["/demo-lms", "/demo-lms/jwks.json", "/demo-lms/auth"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
    }
}

/// Runs `cloop demo` on a free port over `dir`; returns the process and its stdout lines
/// up to and including the URL to open.
fn run_demo(dir: &std::path::Path) -> (Child, Vec<String>) {
    let mut child = spawn_demo(dir);
    let lines = read_until_url(&mut child);
    (child, lines)
}

fn spawn_demo(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cloop"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--students",
            "20",
            "--data-dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cloop demo")
}

fn read_until_url(child: &mut Child) -> Vec<String> {
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            let status = child.wait();
            panic!("cloop demo ended ({status:?}) before printing a URL: {lines:?}");
        }
        let line = line.trim().to_string();
        let done = line.starts_with("http://");
        lines.push(line);
        if done {
            return lines;
        }
    }
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "cloop demo exits cleanly on SIGTERM: {status}"
            );
            return;
        }
        assert!(Instant::now() < deadline, "cloop demo ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn demo_binary_prints_the_url_and_reuses_its_data_on_a_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let (child, lines) = run_demo(dir.path());
    assert!(
        lines.iter().any(|l| l.contains("seeded a demo semester")),
        "{lines:?}"
    );
    let url = lines.last().unwrap().clone();
    assert!(url.ends_with("/demo-lms"), "{url}");
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Open as instructor"));
    stop(child);

    let store = cloop::Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("cloop-demo.db").display()
    ))
    .await
    .unwrap();
    let users = count_rows(&store, "users").await;
    let courses = count_rows(&store, "courses").await;
    assert_eq!(courses, 2);
    assert_eq!(users, 2 + 20 + 18, "two staff and two cohorts of students");
    assert!(count_activity(&store).await > 1_000);
    store.close().await;

    let (child, lines) = run_demo(dir.path());
    assert!(
        lines.iter().any(|l| l.contains("reusing the demo data")),
        "{lines:?}"
    );
    stop(child);
    let store = cloop::Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("cloop-demo.db").display()
    ))
    .await
    .unwrap();
    assert_eq!(
        count_rows(&store, "users").await,
        users,
        "nothing seeded twice"
    );
    assert_eq!(count_rows(&store, "courses").await, courses);
    store.close().await;
}

on_both_backends! {
    async fn demo_seed_builds_two_offerings_with_content_events_grades_and_activity(backend: Backend) {
        let Some(demo) = start(backend, module_path!()).await else { return };
        assert!(demo::seed::seed_once(&demo.store, 24).await.unwrap());
        assert!(!demo::seed::seed_once(&demo.store, 24).await.unwrap(), "seeds once");
        let count = |what: &'static str| count_rows(&demo.store, what);
        assert_eq!(count("courses").await, 2);
        assert_eq!(count("courses WHERE previous_course_id IS NOT NULL").await, 1);
        assert_eq!(count("enrolments").await, 2 * 2 + 24 + 22);
        let items = count("content_items").await;
        assert!((280..=320).contains(&items), "about 150 items per offering: {items}");
        assert_eq!(count("forums").await, 6);
        assert_eq!(count("forums WHERE content_item_id IS NULL").await, 2, "an Ultra discussion per offering");
        assert!(count("forum_posts p JOIN forums f ON f.id = p.forum_id WHERE f.content_item_id IS NULL").await > 0);
        assert_eq!(count("assessments WHERE due_at IS NOT NULL").await, 12);
        assert_eq!(count("course_events WHERE kind = 'submission'").await, 12);
        assert_eq!(count("course_events WHERE kind = 'repeating'").await, 8);
        assert_eq!(count("course_events WHERE kind = 'single'").await, 2);
        assert!(count_activity(&demo.store).await > 10_000);
        assert!(count("rollup_student_day").await > 1_000, "rollups kept with the activity");
        assert!(count("forum_posts").await > 0);
        assert!(count("grades").await > 0);
        assert_eq!(count("course_groups").await, 2 * 17, "16 tutorials and a study group per offering");
        assert_eq!(count("course_group_members").await, 24 + 22 + 24 / 9 + 22 / 9, "study group members overlap the tutorials");
        assert_eq!(count("users WHERE name = 'Aisha Murphy'").await, 4, "two namesakes per offering");

        // The instructor opens the seeded course, not a new one, and can pick a tutorial.
        let landed = demo.open_as("instructor", true).await;
        assert!(landed.page.contains(demo::CURRENT.title), "{}", landed.page);
        assert!(
            landed.page.contains("id=\"offering-comparison\"") && landed.page.contains(demo::PREVIOUS.title),
            "the dashboard compares the two offerings out of the box"
        );
        assert!(landed.page.contains("name=\"group\"") && landed.page.contains("Tutorial 01"));
        assert_eq!(count("courses").await, 2);
        assert_eq!(count("users").await, 2 + 24 + 22);
    }
}
