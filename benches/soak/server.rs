//! The soak's server: a separate process running cloop with its job worker over a seeded
//! platform, course and Caliper key, and the handle the orchestrator keeps on it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use cloop::jobs::JobsOptions;
use cloop::lms::blackboard::{ClientOptions, set_rest_credentials};
use cloop::store::courses::CourseUpsert;
use cloop::store::ingest::IngestKeyKind;
use cloop::store::platforms::NewPlatform;
use cloop::store::{CourseId, Store};
use cloop::{App, Config, SecretKey};

use crate::blackboard_fake::{self, COURSE_PK, COURSE_UUID};
use crate::lti;

/// The server process, and what it said when ready.
pub struct Server {
    pub child: Child,
    stdin: Option<ChildStdin>,
    pub address: String,
    pub course: CourseId,
    pub key: String,
}

impl Server {
    pub fn start(url: &str, jwks_url: &str, learn_url: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("self"))
            .args(["serve", url, jwks_url, learn_url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut ready)
            .expect("ready");
        let words: Vec<&str> = ready.split_whitespace().collect();
        Self {
            stdin: child.stdin.take(),
            address: words[1].into(),
            course: CourseId(words[2].parse().expect("course")),
            key: words[3].into(),
            child,
        }
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub fn page_base(&self) -> String {
        format!("http://{}/courses/{}", self.address, self.course)
    }

    pub fn stop(&mut self) {
        drop(self.stdin.take());
        self.child.wait().expect("server exit");
    }
}

/// The server role: cloop on `url` with its job worker, the platform (keys at `jwks_url`,
/// REST at `learn_url`), the course and a Caliper key; prints `ready ADDRESS COURSE KEY`
/// and serves until its stdin closes.
pub fn serve(url: &str, jwks_url: &str, learn_url: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut config = Config::for_database(url);
        config.listen = "127.0.0.1:0".parse().expect("address");
        config.allow_private_urls = true;
        let mut jobs = JobsOptions::from_config(&config);
        jobs.poll = Duration::from_millis(200);
        let app = App::build(config).await.expect("app").with_jobs(jobs);
        let store = app.state().store.clone();
        let (course, key) = seed(&store, &app.state().secret, jwks_url, learn_url).await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
            let _ = stop.send(());
        });
        println!("ready {} {course} {key}", app.local_addr());
        std::io::stdout().flush().expect("flush");
        app.run(async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
}

/// The Blackboard platform the launches come from, with REST credentials for the fake
/// Learn server, and its course (known by Learn's ids, so pushes land in it); the course
/// and a Caliper key.
async fn seed(
    store: &Store,
    secret: &SecretKey,
    jwks_url: &str,
    learn_url: &str,
) -> (CourseId, String) {
    let platform = store
        .create_platform(&NewPlatform {
            name: "learn".into(),
            product: "blackboard".into(),
            issuer: lti::ISSUER.into(),
            client_id: lti::CLIENT_ID.into(),
            auth_url: "https://developer.blackboard.com/api/v1/gateway/oidcauth".into(),
            jwks_url: jwks_url.into(),
            token_url: "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken".into(),
            token_audience: None,
        })
        .await
        .expect("platform")
        .id;
    let options = ClientOptions::default();
    set_rest_credentials(
        store,
        secret,
        platform,
        learn_url,
        blackboard_fake::KEY,
        blackboard_fake::SECRET,
        &options,
    )
    .await
    .expect("REST credentials");
    let deployment = store
        .add_deployment(platform, lti::DEPLOYMENT)
        .await
        .expect("deployment");
    let course = store
        .upsert_course(
            platform,
            deployment,
            &CourseUpsert {
                lms_context_id: COURSE_UUID.into(),
                lms_course_uuid: Some(COURSE_UUID.into()),
                title: "Cell Biology".into(),
                ..Default::default()
            },
        )
        .await
        .expect("course")
        .id;
    store
        .set_course_lms_refs(course, Some(COURSE_PK), None)
        .await
        .expect("Learn ids");
    let (_, key) = cloop::ingest::new_ingest_key(store, platform, IngestKeyKind::Caliper, "soak")
        .await
        .expect("key");
    (course, key)
}
